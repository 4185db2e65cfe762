// Rich error details between our own server and client (grpc-go in tests/grpcgo_errdetails_test.ts):
// typed details thrown by a handler arrive typed, after the trailers' base64 and the
// google.rpc.Status round trip, on unary and streaming calls; a detail of the application's own
// type travels through its codec.

import { assertEquals, assertRejects } from "@std/assert";
import {
  BadRequest,
  Code,
  createClient,
  detailType,
  dial,
  ErrorInfo,
  insecure,
  loadProto,
  packDetail,
  RetryInfo,
  Server,
  StatusError,
} from "@seed/grpc";
import protobuf from "protobufjs";

const services = await loadProto({
  source: `syntax = "proto3"; package d;
    service D { rpc One (M) returns (M); rpc Many (M) returns (stream M); }
    message M { string text = 1; }`,
});
const D = services["d.D"];
const { root } = protobuf.parse(`syntax = "proto3"; package acme;
  message Conflict { string resource = 1; int64 version = 2; }`);
const Conflict = detailType<{ resource: string; version: string }>(
  root.lookupType("acme.Conflict"),
);

function failure(): StatusError {
  return new StatusError(Code.InvalidArgument, "Cannot create user", {
    details: [
      packDetail(BadRequest, { fieldViolations: [{ field: "email", description: "no @" }] }),
      packDetail(ErrorInfo, {
        reason: "INVALID",
        domain: "users.example.com",
        metadata: { a: "1" },
      }),
      packDetail(RetryInfo, { retryDelay: { seconds: 1 } }),
      packDetail(Conflict, { resource: "user/7", version: "9007199254740993" }),
    ],
  });
}

Deno.test("details thrown by a handler read back typed on our client (unary and stream)", async () => {
  const server = new Server();
  server.addService(D, {
    one: () => {
      throw failure();
    },
    many: async function* () {
      yield { text: "first" };
      throw failure();
    },
  });
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const serving = server.serve(listener);
  const conn = await dial(`127.0.0.1:${listener.addr.port}`, { credentials: insecure() });
  try {
    const client = createClient(D, conn);
    const unary = await assertRejects(() => client.one({ text: "x" }), StatusError);
    const stream = await assertRejects(async () => {
      for await (const _ of client.many({ text: "x" })) { /* the first message, then the error */ }
    }, StatusError);
    for (const err of [unary, stream]) {
      assertEquals(err.code, Code.InvalidArgument);
      assertEquals(err.findDetails(BadRequest)[0].fieldViolations[0].field, "email");
      assertEquals(err.findDetails(ErrorInfo)[0].metadata, { a: "1" });
      assertEquals(err.findDetails(RetryInfo)[0].retryDelay, { seconds: "1", nanos: 0 });
      assertEquals(err.findDetails(Conflict), [{
        resource: "user/7",
        version: "9007199254740993",
      }]);
    }
  } finally {
    await conn.close();
    await server.stop();
    await serving;
  }
});
