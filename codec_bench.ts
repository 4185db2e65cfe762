// Codec micro-benchmarks: `deno bench -A codec_bench.ts`.
// The message is shared/bench's bench.Payload (bench/bench.proto), inlined so this file stands
// alone; HelloReq is the helloworld example's request.
import { loadProtoSync } from "./codec.ts";

const BENCH_PROTO = `syntax = "proto3";
package bench;
message Payload { bytes body = 1; }
message StreamRequest { int32 count = 1; int32 size = 2; }
service Bench {
  rpc Unary(Payload) returns (Payload);
  rpc ServerStream(StreamRequest) returns (stream Payload);
  rpc ClientStream(stream Payload) returns (Payload);
  rpc Bidi(stream Payload) returns (stream Payload);
}`;
const HELLO_PROTO = `syntax = "proto3";
package helloworld;
service Hello { rpc SayHello (HelloReq) returns (HelloRep); }
message HelloReq { string name = 1; }
message HelloRep { string message = 1; }`;

const payload = loadProtoSync({ source: BENCH_PROTO })["bench.Bench"].methods.unary.requestCodec;
const hello = loadProtoSync({ source: HELLO_PROTO })["helloworld.Hello"].methods.sayHello
  .requestCodec;

const body100 = new Uint8Array(100).map((_, i) => i);
const payload100 = { body: body100 };
// The transport decodes plain Uint8Array copies, so decode one too.
const payload100Bytes = new Uint8Array(payload.encode(payload100));
const body64k = new Uint8Array(65536).map((_, i) => i & 0xff);
const payload64kBytes = new Uint8Array(payload.encode({ body: body64k }));
const helloBytes = new Uint8Array(hello.encode({ name: "world" }));

Deno.bench("encode bench.Payload, 100 B body", { group: "payload 100 B", baseline: true }, () => {
  payload.encode(payload100);
});
Deno.bench("decode bench.Payload, 100 B body", { group: "payload 100 B" }, () => {
  payload.decode(payload100Bytes);
});
Deno.bench("encode bench.Payload, 64 KiB body", { group: "payload 64 KiB", baseline: true }, () => {
  payload.encode({ body: body64k });
});
Deno.bench("decode bench.Payload, 64 KiB body", { group: "payload 64 KiB" }, () => {
  payload.decode(payload64kBytes);
});
Deno.bench("encode helloworld.HelloReq", { group: "hello", baseline: true }, () => {
  hello.encode({ name: "world" });
});
Deno.bench("decode helloworld.HelloReq", { group: "hello" }, () => {
  hello.decode(helloBytes);
});
