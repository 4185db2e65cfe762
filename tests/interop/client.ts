// The gRPC interop test client (grpc/grpc doc/interop-test-descriptions.md, "Client"), written
// with the public API:
//
//   deno run -A tests/interop/client.ts --server_host=127.0.0.1 --server_port=N --test_case=NAME
//     [--use_tls=true [--use_test_ca=true --ca_file=PATH] [--server_host_override=NAME]
//      [--client_cert_file=PATH --client_key_file=PATH]]
//
// TLS flags are grpc-go's interop client's: --use_test_ca trusts --ca_file instead of the default
// roots; --server_host_override is the name checked, sent as SNI and used as :authority.
// Exit 0 when the case passes; exit 1 with the reason as the last stdout line; 2 for an unknown
// case. Server-side compression is checked by the payloads it returns (as grpc-go's client does):
// the per-message compressed flag of responses is not exposed by the public API.

import { assertEquals } from "@std/assert";
import {
  type ChannelCredentials,
  type ClientConn,
  Code,
  createClient,
  dial,
  insecure,
  Metadata,
  type ServiceDefinition,
  StatusError,
  tls,
} from "@seed/grpc";
import { parseGoFlags } from "../../internal/flags.ts";
import { loadInteropServices } from "./server.ts";

interface Payload {
  body: Uint8Array;
}
interface SimpleResponse {
  payload: Payload | null;
}
interface StreamingOutputCallResponse {
  payload: Payload | null;
}

// deno-lint-ignore no-explicit-any
type AnyClient = Record<string, (...args: any[]) => any>;

const zeros = (n: number): Payload => ({ body: new Uint8Array(n) });

async function expectStatus(code: Code, fn: () => Promise<unknown>, message?: string) {
  try {
    await fn();
  } catch (err) {
    if (!(err instanceof StatusError)) throw new Error(`expected StatusError, got ${err}`);
    assertEquals(err.code, code, `status: ${err.message}`);
    if (message !== undefined) assertEquals(err.rawMessage, message);
    return err;
  }
  throw new Error(`expected status ${code}, the call succeeded`);
}

async function* items<T>(list: T[]): AsyncGenerator<T> {
  for (const x of list) yield x;
}

/** One interop case: runs it against `conn`; throws on failure. */
type Case = (ctx: {
  conn: ClientConn;
  test: AnyClient;
  services: Record<string, ServiceDefinition>;
}) => Promise<void>;

const SIZES = { req: [27182, 8, 1828, 45904], res: [31415, 9, 2653, 58979] };
const SPECIAL = "\t\ntest with whitespace\r\nand Unicode BMP ☺ and non-BMP 😈\t\n";

/** The cases, by their standard names. */
export const CASES: Record<string, Case> = {
  empty_unary: async ({ test }) => {
    assertEquals(await test.emptyCall({}), {});
  },
  large_unary: async ({ test }) => {
    const r: SimpleResponse = await test.unaryCall({
      responseSize: 314159,
      payload: zeros(271828),
    });
    assertEquals(r.payload?.body.length, 314159);
  },
  client_compressed_unary: async ({ test }) => {
    // Probe: the server must reject an uncompressed request that claims to be compressed.
    await expectStatus(Code.InvalidArgument, () =>
      test.unaryCall({
        expectCompressed: { value: true },
        responseSize: 314159,
        payload: zeros(271828),
      }));
    const c: SimpleResponse = await test.unaryCall(
      { expectCompressed: { value: true }, responseSize: 314159, payload: zeros(271828) },
      { compression: "gzip" },
    );
    assertEquals(c.payload?.body.length, 314159);
    const u: SimpleResponse = await test.unaryCall({
      expectCompressed: { value: false },
      responseSize: 314159,
      payload: zeros(271828),
    });
    assertEquals(u.payload?.body.length, 314159);
  },
  server_compressed_unary: async ({ test }) => {
    for (const value of [true, false]) {
      const r: SimpleResponse = await test.unaryCall({
        responseCompressed: { value },
        responseSize: 314159,
        payload: zeros(271828),
      });
      assertEquals(r.payload?.body.length, 314159);
    }
  },
  client_streaming: async ({ test }) => {
    const r = await test.streamingInputCall(items(SIZES.req.map((n) => ({ payload: zeros(n) }))));
    assertEquals(r.aggregatedPayloadSize, 74922);
  },
  client_compressed_streaming: async ({ conn, services }) => {
    const m = services["grpc.testing.TestService"].methods.streamingInputCall;
    // Probe: an uncompressed message that expects compression is INVALID_ARGUMENT.
    const probe = conn.newStream(m);
    await probe.sendMsg({ expectCompressed: { value: true }, payload: zeros(27182) });
    probe.closeSend();
    await expectStatus(Code.InvalidArgument, () => probe.recvMsg());
    // First message compressed, second not (per-message compressed flag).
    const s = conn.newStream(m, { compression: "gzip" });
    await s.sendMsg({ expectCompressed: { value: true }, payload: zeros(27182) });
    await s.sendMsg({ expectCompressed: { value: false }, payload: zeros(45904) }, {
      compress: false,
    });
    s.closeSend();
    const r = await s.recvMsg() as { aggregatedPayloadSize: number };
    assertEquals(r.aggregatedPayloadSize, 73086);
  },
  server_streaming: async ({ test }) => {
    const got: number[] = [];
    const stream = test.streamingOutputCall({
      responseParameters: SIZES.res.map((size) => ({ size })),
    });
    for await (const r of stream as AsyncIterable<StreamingOutputCallResponse>) {
      got.push(r.payload?.body.length ?? 0);
    }
    assertEquals(got, SIZES.res);
  },
  server_compressed_streaming: async ({ test }) => {
    const got: number[] = [];
    const stream = test.streamingOutputCall({
      responseParameters: [
        { compressed: { value: true }, size: 31415 },
        { compressed: { value: false }, size: 92653 },
      ],
    });
    for await (const r of stream as AsyncIterable<StreamingOutputCallResponse>) {
      got.push(r.payload?.body.length ?? 0);
    }
    assertEquals(got, [31415, 92653]);
  },
  ping_pong: async ({ conn, services }) => {
    const s = conn.newStream(services["grpc.testing.TestService"].methods.fullDuplexCall);
    for (let i = 0; i < 4; i++) {
      await s.sendMsg({
        responseParameters: [{ size: SIZES.res[i] }],
        payload: zeros(SIZES.req[i]),
      });
      const r = await s.recvMsg() as StreamingOutputCallResponse;
      assertEquals(r?.payload?.body.length, SIZES.res[i]);
    }
    s.closeSend();
    assertEquals(await s.recvMsg(), null);
  },
  empty_stream: async ({ conn, services }) => {
    const s = conn.newStream(services["grpc.testing.TestService"].methods.fullDuplexCall);
    s.closeSend();
    assertEquals(await s.recvMsg(), null);
  },
  timeout_on_sleeping_server: async ({ conn, services }) => {
    const s = conn.newStream(services["grpc.testing.TestService"].methods.fullDuplexCall, {
      timeoutMs: 1,
    });
    await s.sendMsg({ payload: zeros(27182) }).catch(() => {});
    await expectStatus(Code.DeadlineExceeded, () => s.recvMsg());
  },
  cancel_after_begin: async ({ conn, services }) => {
    const ac = new AbortController();
    const s = conn.newStream(services["grpc.testing.TestService"].methods.streamingInputCall, {
      signal: ac.signal,
    });
    ac.abort();
    await expectStatus(Code.Canceled, () => s.recvMsg());
  },
  cancel_after_first_response: async ({ conn, services }) => {
    const ac = new AbortController();
    const s = conn.newStream(services["grpc.testing.TestService"].methods.fullDuplexCall, {
      signal: ac.signal,
    });
    await s.sendMsg({ responseParameters: [{ size: 31415 }], payload: zeros(27182) });
    const r = await s.recvMsg() as StreamingOutputCallResponse;
    assertEquals(r?.payload?.body.length, 31415);
    ac.abort();
    await expectStatus(Code.Canceled, () => s.recvMsg());
  },
  status_code_and_message: async ({ test }) => {
    const status = { code: 2, message: "test status message" };
    await expectStatus(
      Code.Unknown,
      () => test.unaryCall({ responseStatus: status }),
      status.message,
    );
    await expectStatus(Code.Unknown, async () => {
      for await (const _ of test.fullDuplexCall(items([{ responseStatus: status }]))) { /* none */ }
    }, status.message);
  },
  special_status_message: async ({ test }) => {
    await expectStatus(
      Code.Unknown,
      () => test.unaryCall({ responseStatus: { code: 2, message: SPECIAL } }),
      SPECIAL,
    );
  },
  custom_metadata: async ({ conn, test, services }) => {
    const trailingValue = new Uint8Array([0xab, 0xab, 0xab]);
    const metadata = new Metadata({
      "x-grpc-test-echo-initial": "test_initial_metadata_value",
      "x-grpc-test-echo-trailing-bin": trailingValue,
    });
    let headers: Metadata | undefined, trailers: Metadata | undefined;
    await test.unaryCall({ responseSize: 314159, payload: zeros(271828) }, {
      metadata,
      onHeader: (md: Metadata) => (headers = md),
      onTrailer: (md: Metadata) => (trailers = md),
    });
    assertEquals(headers?.get("x-grpc-test-echo-initial"), "test_initial_metadata_value");
    assertEquals(trailers?.get("x-grpc-test-echo-trailing-bin"), trailingValue);
    const s = conn.newStream(services["grpc.testing.TestService"].methods.fullDuplexCall, {
      metadata,
    });
    await s.sendMsg({ responseParameters: [{ size: 314159 }], payload: zeros(271828) });
    s.closeSend();
    while ((await s.recvMsg()) !== null) { /* drain */ }
    assertEquals((await s.headers).get("x-grpc-test-echo-initial"), "test_initial_metadata_value");
    assertEquals((await s.trailers).get("x-grpc-test-echo-trailing-bin"), trailingValue);
  },
  unimplemented_method: async ({ test }) => {
    await expectStatus(Code.Unimplemented, () => test.unimplementedCall({}));
  },
  unimplemented_service: async ({ conn, services }) => {
    const other = createClient(services["grpc.testing.UnimplementedService"], conn) as AnyClient;
    await expectStatus(Code.Unimplemented, () => other.unimplementedCall({}));
  },
};

/** Runs one case against host:port; resolves with "" on success, else the reason. */
export async function runCase(
  host: string,
  port: number,
  name: string,
  credentials: ChannelCredentials = insecure(),
): Promise<string> {
  const run = CASES[name];
  if (run === undefined) throw new RangeError(`unknown test case "${name}"`);
  const services = await loadInteropServices();
  let conn: ClientConn;
  try {
    conn = await dial(`${host}:${port}`, { credentials, block: true });
  } catch (err) {
    return `cannot connect: ${err instanceof Error ? err.message : String(err)}`;
  }
  try {
    const test = createClient(services["grpc.testing.TestService"], conn) as AnyClient;
    await run({ conn, test, services });
    return "";
  } catch (err) {
    return err instanceof Error ? err.message.replaceAll("\n", " ") : String(err);
  } finally {
    await conn.close();
  }
}

if (import.meta.main) {
  const flags = parseGoFlags(Deno.args);
  const name = flags.get("test_case") ?? "";
  if (!(name in CASES)) {
    console.log(`FAIL ${name}: unknown test case`);
    Deno.exit(2);
  }
  let credentials = insecure();
  if (flags.get("use_tls") === "true") {
    const read = (flag: string) => {
      const path = flags.get(flag);
      return path === undefined ? undefined : Deno.readTextFileSync(path);
    };
    const ca = flags.get("use_test_ca") === "true" ? read("ca_file") : undefined;
    if (flags.get("use_test_ca") === "true" && ca === undefined) {
      console.log(`FAIL ${name}: --use_test_ca=true needs --ca_file`);
      Deno.exit(2);
    }
    credentials = tls({
      caCerts: ca === undefined ? undefined : [ca],
      serverName: flags.get("server_host_override"),
      cert: read("client_cert_file"),
      key: read("client_key_file"),
    });
  }
  const reason = await runCase(
    flags.get("server_host") ?? "127.0.0.1",
    Number(flags.get("server_port") ?? "10000"),
    name,
    credentials,
  );
  if (reason === "") {
    console.log(`PASS ${name}`);
    Deno.exit(0);
  }
  console.log(`FAIL ${name}: ${reason}`);
  Deno.exit(1);
}
