// The cost of CodecOptions.verify: encode with and without the check, for a one-string message,
// the bench payload and a message with a nested message, an int64, an enum, a repeated and a
// map field.  `deno bench -A codec/verify_bench.ts`
import { loadProtoSync } from "../codec.ts";

const SOURCE = `syntax = "proto3";
package vb;
service S {
  rpc Hello (HelloReq) returns (HelloReq);
  rpc Payload (Payload) returns (Payload);
  rpc Rich (Rich) returns (Rich);
}
message HelloReq { string name = 1; }
message Payload { bytes body = 1; }
message Point { int32 latitude = 1; int32 longitude = 2; }
enum Kind { NONE = 0; PUT = 1; DELETE = 2; }
message Rich {
  string key = 1; int64 revision = 2; Kind kind = 3; Point at = 4; repeated string tags = 5;
  map<string, int32> counts = 6; bool deleted = 7; double score = 8;
}`;

function codecs(verify: boolean) {
  const m = loadProtoSync({ source: SOURCE }, { verify })["vb.S"].methods;
  return {
    hello: m.hello.requestCodec,
    payload: m.payload.requestCodec,
    rich: m.rich.requestCodec,
  };
}
const on = codecs(true);
const off = codecs(false);

const hello = { name: "world" };
const payload = { body: new Uint8Array(100).map((_, i) => i) };
const rich = {
  key: "config/feature-flags",
  revision: "1234567890123",
  kind: "PUT",
  at: { latitude: 409146138, longitude: -746188906 },
  tags: ["a", "b", "c"],
  counts: { x: 1, y: 2 },
  deleted: false,
  score: 0.5,
};

for (
  const [name, value, c] of [["hello", hello, "hello"], ["payload 100 B", payload, "payload"], [
    "rich",
    rich,
    "rich",
  ]] as const
) {
  Deno.bench(`encode ${name}, verify off`, { group: name, baseline: true }, () => {
    off[c].encode(value);
  });
  Deno.bench(`encode ${name}, verify on`, { group: name }, () => {
    on[c].encode(value);
  });
}
