// Benchmarks for hpack.ts and huffman.ts on gRPC's typical header lists.
// Run: deno bench -A transport/hpack_bench.ts

import { WriteBuffer } from "./buffer.ts";
import { HpackDecoder, HpackEncoder } from "./hpack.ts";
import { huffmanDecode, huffmanEncode } from "./huffman.ts";

const REQUEST = [
  ":method",
  "POST",
  ":scheme",
  "http",
  ":path",
  "/bench.Bench/Unary",
  ":authority",
  "127.0.0.1:50051",
  "content-type",
  "application/grpc",
  "te",
  "trailers",
  "user-agent",
  "grpc-deno/0.1.0",
  "grpc-timeout",
  "1S",
];
const RESPONSE_HEADERS = [":status", "200", "content-type", "application/grpc"];
const TRAILERS = ["grpc-status", "0"];

const out = new WriteBuffer(4096);

/** A warm encoder/decoder pair: the list has been sent once, so it sits in the dynamic table. */
function warm(headers: string[]) {
  const enc = new HpackEncoder();
  const dec = new HpackDecoder();
  out.reset();
  enc.encode(out, headers);
  dec.decode(out.buf, 0, out.length, []);
  out.reset();
  enc.encode(out, headers);
  const block = out.view().slice();
  return { enc, dec, block };
}

/** The first block of a connection: every field a literal (Huffman-coded where shorter). */
function cold(headers: string[]): Uint8Array {
  const o = new WriteBuffer(1024);
  new HpackEncoder().encode(o, headers);
  return o.view().slice();
}

const req = warm(REQUEST);
const trl = warm(TRAILERS);
const rsp = warm(RESPONSE_HEADERS);
const coldRequest = cold(REQUEST);
const list: string[] = [];

Deno.bench("HpackEncoder.encode() request, warm", { group: "encode", baseline: true }, () => {
  out.reset();
  req.enc.encode(out, REQUEST);
});

Deno.bench("HpackEncoder.encode() response headers, warm", { group: "encode" }, () => {
  out.reset();
  rsp.enc.encode(out, RESPONSE_HEADERS);
});

Deno.bench("HpackEncoder.encode() trailers grpc-status 0, warm", { group: "encode" }, () => {
  out.reset();
  trl.enc.encode(out, TRAILERS);
});

Deno.bench("HpackEncoder.encode() request, cold (new encoder)", { group: "encode" }, () => {
  out.reset();
  new HpackEncoder().encode(out, REQUEST);
});

Deno.bench("HpackDecoder.decode() request, warm", { group: "decode", baseline: true }, () => {
  list.length = 0;
  req.dec.decode(req.block, 0, req.block.length, list);
});

Deno.bench("HpackDecoder.decode() response headers, warm", { group: "decode" }, () => {
  list.length = 0;
  rsp.dec.decode(rsp.block, 0, rsp.block.length, list);
});

Deno.bench("HpackDecoder.decode() trailers grpc-status 0, warm", { group: "decode" }, () => {
  list.length = 0;
  trl.dec.decode(trl.block, 0, trl.block.length, list);
});

Deno.bench("HpackDecoder.decode() request, cold (new decoder)", { group: "decode" }, () => {
  list.length = 0;
  new HpackDecoder().decode(coldRequest, 0, coldRequest.length, list);
});

const PATH = "/bench.Bench/Unary";
const pathOut = new WriteBuffer(64);
huffmanEncode(pathOut, PATH);
const pathHuffman = pathOut.view().slice();

Deno.bench("huffmanEncode() 18-char :path", { group: "huffman" }, () => {
  pathOut.reset();
  huffmanEncode(pathOut, PATH);
});

Deno.bench("huffmanDecode() 18-char :path", { group: "huffman" }, () => {
  huffmanDecode(pathHuffman, 0, pathHuffman.length);
});
