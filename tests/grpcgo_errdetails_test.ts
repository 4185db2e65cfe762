// Rich error details against grpc-go (1.33 with Debian's genproto errdetails), byte for byte:
// a grpc-go server's status.WithDetails(...) reads back typed on our client with the bytes we
// would write, and our server's details read back on grpc-go's client equal to its own
// deterministic marshaling (tests/go/errdetails/main.go, built by tests/go/build.sh).
// `deno task test:peers`; fails, never skips, when Go or the Debian packages are missing.

import { assertEquals } from "@std/assert";
import {
  BadRequest,
  Code,
  createClient,
  DebugInfo,
  type DetailType,
  dial,
  ErrorInfo,
  Help,
  insecure,
  loadProto,
  LocalizedMessage,
  packDetail,
  PreconditionFailure,
  QuotaFailure,
  RequestInfo,
  ResourceInfo,
  RetryInfo,
  Server,
  StatusError,
} from "@seed/grpc";
import { ROOT, run, startReady } from "./_procs.ts";

const GO_PROGRAM = `${ROOT}tests/go/bin/errdetails`;

// The same list, in the same order, as fixture() in tests/go/errdetails/main.go.
// deno-lint-ignore no-explicit-any
const FIXTURE: [DetailType<any, any>, Record<string, unknown>][] = [
  [ErrorInfo, {
    reason: "STOCKOUT",
    domain: "spanner.example.com",
    metadata: { availableRegions: "us-central1,us-east2" },
  }],
  [RetryInfo, { retryDelay: { seconds: 3, nanos: 500000000 } }],
  [DebugInfo, { stackEntries: ["main.go:42", "server.go:7"], detail: "nil map" }],
  [QuotaFailure, {
    violations: [
      { subject: "clientip:192.0.2.1", description: "Daily Limit exceeded" },
      { subject: "project:7" },
    ],
  }],
  [PreconditionFailure, {
    violations: [{ type: "TOS", subject: "example.com/terms", description: "Terms not accepted" }],
  }],
  [BadRequest, {
    fieldViolations: [
      { field: "email", description: "not an email address" },
      { field: "age", description: "must be ≥ 0" },
    ],
  }],
  [RequestInfo, { requestId: "req-0042", servingData: "shard=7" }],
  [ResourceInfo, {
    resourceType: "sql table",
    resourceName: "users",
    owner: "user:ada@example.com",
    description: "needs writer",
  }],
  [Help, { links: [{ description: "Quotas", url: "https://example.com/quotas" }] }],
  [LocalizedMessage, { locale: "fr-CH", message: "Requête invalide ☺" }],
];

const services = await loadProto({
  source: `syntax = "proto3"; package errdet; import "google/protobuf/empty.proto";
    service Details { rpc Fail (google.protobuf.Empty) returns (google.protobuf.Empty); }`,
});
const Details = services["errdet.Details"];

async function build(): Promise<void> {
  const r = await run(`${ROOT}tests/go/build.sh`, []);
  assertEquals(r.code, 0, `tests/go/build.sh failed:\n${r.stdout}${r.stderr}`);
}

Deno.test("grpc-go server's status.WithDetails reads back typed on our client, byte for byte", async () => {
  await build();
  await using peer = await startReady(GO_PROGRAM, ["-mode", "server"]);
  const conn = await dial(`127.0.0.1:${peer.port}`, { credentials: insecure() });
  try {
    const client = createClient(Details, conn);
    const err = await client.fail({}).then(() => null, (e: unknown) => e);
    if (!(err instanceof StatusError)) throw new Error(`expected a StatusError, got ${err}`);
    assertEquals([err.code, err.rawMessage], [Code.InvalidArgument, "bad request"]);
    assertEquals(err.details.length, FIXTURE.length);
    FIXTURE.forEach(([type, value], i) => {
      const d = err.details[i];
      assertEquals(d.typeUrl, `type.googleapis.com/${type.typeName}`);
      // Byte-exact: grpc-go wrote what we write for the same message.
      assertEquals(d.value, type.encode(value), type.typeName);
      // Typed: what the Go server meant, read back; it is also our own decoding of the value.
      const found = err.findDetails(type);
      assertEquals(found.length, 1, type.typeName);
      assertEquals(found[0], type.decode(type.encode(value)));
    });
    assertEquals(err.findDetails(BadRequest)[0].fieldViolations[1].description, "must be ≥ 0");
    assertEquals(err.findDetails(RetryInfo)[0].retryDelay, { seconds: "3", nanos: 500000000 });
  } finally {
    await conn.close();
  }
});

Deno.test("our server's details read back on grpc-go's client, equal to Go's own marshaling", async () => {
  await build();
  const server = new Server();
  server.addService(Details, {
    fail: () => {
      throw new StatusError(Code.InvalidArgument, "bad request", {
        details: FIXTURE.map(([type, value]) => packDetail(type, value)),
      });
    },
  });
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const serving = server.serve(listener);
  try {
    const r = await run(GO_PROGRAM, [
      "-mode",
      "client",
      "-addr",
      `127.0.0.1:${listener.addr.port}`,
    ]);
    assertEquals(r.stdout.trim().split("\n").at(-1), "PASS errdetails", r.stdout + r.stderr);
    assertEquals(r.code, 0);
  } finally {
    await server.stop();
    await serving;
  }
});
