// CodecOptions.verify: outgoing plain objects are checked against the message type, so a wrong
// type or an unknown field fails on the sender, naming the field, instead of going out empty.
// What decoding produces, under every option, passes.
//
//   deno test -A codec/verify_test.ts

import { assertEquals, assertRejects, assertStringIncludes, assertThrows } from "@std/assert";
import {
  Code,
  type CodecOptions,
  createClient,
  dial,
  insecure,
  loadProto,
  loadProtoSync,
  Server,
  StatusError,
  type UntypedClient,
} from "@seed/grpc";

const SOURCE = `syntax = "proto3"; package kv;
  import "google/protobuf/timestamp.proto";
  import "google/protobuf/any.proto";
  service KV { rpc Put (Entry) returns (Entry); }
  message Entry {
    string key = 1; int64 revision = 2; uint64 size = 3; bytes value = 4;
    repeated Item items = 5; map<string, int32> counts = 6; map<int32, string> names = 7;
    Kind kind = 8; google.protobuf.Timestamp at = 9; oneof o { string a = 10; int32 b = 11; }
    string user_name = 12; bool deleted = 13; double score = 14; uint32 n = 15;
    google.protobuf.Any extra = 16; repeated int64 revisions = 17;
  }
  message Item { uint32 n = 1; Entry child = 2; }
  enum Kind { NONE = 0; PUT = 1; }`;

function codec(options?: CodecOptions) {
  return loadProtoSync({ source: SOURCE }, options)["kv.KV"].methods.put.requestCodec;
}

Deno.test("verify refuses wrong types and unknown fields, naming the field", () => {
  const c = codec();
  const cases: [unknown, string][] = [
    [
      { revision: "abc" },
      `field revision: expected an int64 (a number, bigint or decimal string), got string "abc"`,
    ],
    [{ kee: "x" }, "field kee: unknown field (kv.Entry has fields key, revision,"],
    [{ user_name: "x" }, "did you mean userName?"],
    [{ key: 5 }, "field key: expected a string, got number 5"],
    [{ deleted: "yes" }, "field deleted: expected a boolean"],
    [{ n: 1.5 }, "field n: expected an uint32 (a number), got number 1.5"],
    [{ n: -1 }, "field n: -1 is out of range for uint32"],
    [{ size: "-1" }, "field size: -1 is out of range for uint64"],
    [{ revision: 2n ** 63n }, "is out of range for int64"],
    [{ revision: "9223372036854775808" }, "is out of range for int64"],
    [
      { value: "hello" },
      `field value: expected a Uint8Array (or base64 text), got a string that is not base64 "hello"`,
    ],
    [{ value: [256] }, "field value: expected a Uint8Array"],
    [{ items: { n: 1 } }, "field items: expected an array (repeated field), got an object"],
    [{ items: [{ n: 1 }, { n: "x" }] }, "field items[1].n: expected an uint32"],
    [
      { items: [{ child: { items: [{ kee: 1 }] } }] },
      "field items[0].child.items[0].kee: unknown field",
    ],
    [
      { counts: new Map([["a", 1]]) },
      "field counts: expected a plain object (map field), got a Map: use Object.fromEntries(map)",
    ],
    [{ counts: { a: "1" } }, `field counts["a"]: expected an int32`],
    [{ names: { x: "a" } }, `field names["x"]: expected an int32 (a number), got string "x"`],
    [{ kind: "GONE" }, `field kind: "GONE" is not a value of kv.Kind (NONE, PUT)`],
    [{ at: new Date() }, "field at: expected an object (google.protobuf.Timestamp), got a Date"],
    [{ o: "c" }, `field o: oneof o names the member that is set, one of a, b; got string "c"`],
    [{ score: "0.5" }, "field score: expected a number"],
    [{ revisions: ["1", "x"] }, "field revisions[1]: expected an int64"],
    [undefined, "Cannot encode kv.Entry: expected an object (kv.Entry), got undefined"],
    [[], "expected an object (kv.Entry), got an array"],
  ];
  for (const [value, message] of cases) {
    const err = assertThrows(() => c.encode(value), TypeError, undefined, Deno.inspect(value));
    assertStringIncludes(err.message, message);
    assertStringIncludes(err.message, "Cannot encode kv.Entry: ");
  }
  // A cycle is reported, not a stack overflow.
  const cyclic: Record<string, unknown> = {};
  cyclic.items = [{ child: cyclic }];
  assertThrows(() => c.encode(cyclic), TypeError, "(a cycle?)");
});

Deno.test("verify accepts every representation encoding takes without loss", () => {
  const c = codec();
  const ok: unknown[] = [
    {},
    { key: null, revision: undefined, items: null },
    { revision: 5, size: "18446744073709551615", revisions: [1, "2", 3n] },
    { revision: { low: 1, high: 0, unsigned: false } }, // long.js Long
    { revision: -9007199254740991, size: 2n ** 64n - 1n },
    { value: new Uint8Array([1, 2]), kind: 1 },
    { value: "AQI=", kind: "PUT" }, // base64, as proto3 JSON
    { value: [1, 2, 255], kind: 7 }, // open enum: an unnamed number
    { counts: { a: 1 }, names: { "-3": "x", 4: "y" } },
    { score: "NaN" }, // json: true decodes non-finite doubles so
    { score: -Infinity },
    { a: "x", o: "a" }, // the virtual oneof property
    { o: undefined },
    { at: { seconds: "1", nanos: 2 } },
    { extra: { "@type": "type.googleapis.com/google.protobuf.Timestamp", seconds: "1" } },
    { extra: { type_url: "x/y", value: new Uint8Array() } }, // bundled files keep snake_case
    Object.assign(Object.create(null), { key: "no prototype" }),
  ];
  for (const value of ok) c.encode(value);
});

Deno.test("verify passes whatever decoding produces, under every option", () => {
  const full = {
    key: "k",
    revision: "-12",
    size: "18446744073709551615",
    value: new Uint8Array([1, 2, 3]),
    items: [{ n: 3, child: { key: "c", kind: "PUT" } }],
    counts: { a: 1 },
    names: { 7: "seven" },
    kind: "PUT",
    at: { seconds: "5", nanos: 1 },
    a: "x",
    userName: "u",
    deleted: true,
    score: NaN,
    n: 4294967295,
    extra: { type_url: "type.googleapis.com/kv.Item", value: new Uint8Array([8, 1]) },
    revisions: ["1", "-2"],
  };
  const variants: CodecOptions[] = [
    {},
    { longs: "number" },
    { longs: "bigint" },
    { enums: "number" },
    { defaults: false },
    { defaults: false, arrays: true, objects: true },
    { oneofs: false },
    { json: true },
    { json: true, longs: "bigint", enums: "number", defaults: false },
  ];
  const lenient = codec({ verify: false });
  for (const options of variants) {
    const c = codec(options);
    const decoded = c.decode(lenient.encode(full));
    // Checked, and re-encoded to the same bytes.
    assertEquals(c.decode(c.encode(decoded)), decoded, JSON.stringify(options));
  }
});

Deno.test("verify: false skips the check (protobufjs's lenient fromObject)", () => {
  const c = codec({ verify: false });
  assertEquals(c.decode(c.encode({ kee: "x", revision: "abc" })), codec().decode(new Uint8Array()));
});

Deno.test("A request that fails the check fails on the client, INVALID_ARGUMENT, and is never sent", async () => {
  const services = await loadProto({ source: SOURCE });
  let calls = 0;
  const server = new Server();
  server.addService(services["kv.KV"], {
    put: (e: { key: string }) => {
      calls++;
      return e.key === "bad-response" ? { revision: "not a number" } : e;
    },
  });
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const serving = server.serve(listener);
  const conn = await dial(`127.0.0.1:${listener.addr.port}`, { credentials: insecure() });
  try {
    const client: UntypedClient = createClient(services["kv.KV"], conn);
    const err = await assertRejects(() => client.put({ kee: "x" }), StatusError);
    assertEquals(err.code, Code.InvalidArgument);
    assertStringIncludes(
      err.rawMessage,
      "Cannot send request: Cannot encode kv.Entry: field kee: unknown field",
    );
    assertEquals(calls, 0);
    // A response that fails the check: the server's fault, INTERNAL, with the field named.
    const err2 = await assertRejects(() => client.put({ key: "bad-response" }), StatusError);
    assertEquals(err2.code, Code.Internal);
    assertStringIncludes(
      err2.rawMessage,
      "Cannot send response: Cannot encode kv.Entry: field revision: expected an int64",
    );
    assertEquals(calls, 1);
  } finally {
    await conn.close();
    await server.stop();
    await serving;
  }
});
