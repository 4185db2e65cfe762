import { assert, assertEquals, assertThrows } from "@std/assert";
import { decodeMessage, encodeMessage } from "./message.ts";
import type { Codec } from "../codec.ts";
import { type Compressor, getCompressor } from "../compression.ts";
import { Code, StatusError } from "../status.ts";

const text: Codec<string> = {
  encode: (s) => new TextEncoder().encode(s),
  decode: (b) => new TextDecoder("utf-8", { fatal: true }).decode(b),
};
const gzip = getCompressor("gzip")!;
const failing: Compressor = {
  name: "failing",
  compress: () => {
    throw new Error("no room");
  },
  decompress: () => {
    throw new Error("bad bytes");
  },
};

function statusOf(f: () => unknown): StatusError {
  const err = assertThrows(f, StatusError);
  return err as StatusError;
}

Deno.test("encodeMessage() encodes, compresses from minCompressSize on, and says which", () => {
  assertEquals(encodeMessage(text, "hi", undefined, 100), [new Uint8Array([104, 105]), false]);
  const big = "x".repeat(1000);
  const [data, compressed] = encodeMessage(text, big, gzip, 1 << 20);
  assert(compressed && data.length < 1000);
  assertEquals(decodeMessage(text, data, true, gzip, 1 << 20), big);
  assertEquals(encodeMessage(text, "hi", gzip, 100, 3)[1], false); // under minCompressSize
});

Deno.test("encodeMessage() checks maxSize after compression, as grpc-go does", () => {
  const big = "x".repeat(1000);
  assertEquals(encodeMessage(text, big, gzip, 500)[1], true); // 1000 bytes compress to < 500
  const err = statusOf(() => encodeMessage(text, big, undefined, 500));
  assertEquals(err.code, Code.ResourceExhausted);
  assertEquals(
    err.rawMessage,
    "Cannot send message: size 1000 exceeds the server's maxSendMessageSize 500",
  );
});

Deno.test("encodeMessage() fails INTERNAL when encoding or compressing fails", () => {
  const broken: Codec<string> = {
    encode: () => {
      throw new TypeError("not a string");
    },
    decode: text.decode,
  };
  const e1 = statusOf(() => encodeMessage(broken, "x", undefined, 100));
  assertEquals([e1.code, e1.rawMessage], [
    Code.Internal,
    "grpc: error while marshaling: not a string",
  ]);
  const e2 = statusOf(() => encodeMessage(text, "x", failing, 100));
  assertEquals([e2.code, e2.rawMessage], [Code.Internal, "grpc: error while compressing: no room"]);
});

Deno.test("decodeMessage() fails INTERNAL without a decompressor, on bad bytes, on a bad message", () => {
  const e1 = statusOf(() => decodeMessage(text, new Uint8Array([1]), true, undefined, 100));
  assertEquals(e1.code, Code.Internal);
  assertEquals(e1.rawMessage, "grpc: compressed flag set with identity or empty encoding");
  const e2 = statusOf(() => decodeMessage(text, new Uint8Array([1]), true, failing, 100));
  assertEquals(e2.rawMessage, "grpc: failed to decompress the received message: bad bytes");
  const e3 = statusOf(() => decodeMessage(text, new Uint8Array([0xff]), false, undefined, 100));
  assertEquals(e3.code, Code.Internal);
  assert(e3.rawMessage.startsWith("grpc: failed to unmarshal the received message: "));
});

Deno.test("decodeMessage() stops decompressing at maxSize: RESOURCE_EXHAUSTED", () => {
  const [data] = encodeMessage(text, "x".repeat(1000), gzip, 1 << 20);
  assertEquals(
    statusOf(() => decodeMessage(text, data, true, gzip, 999)).code,
    Code.ResourceExhausted,
  );
  assertEquals(decodeMessage(text, data, true, gzip, 1000).length, 1000);
});
