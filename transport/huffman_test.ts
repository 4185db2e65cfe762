// Tests for huffman.ts: the code table against rows of RFC 7541 Appendix B, the Huffman-coded
// strings of Appendix C.4 and C.6 both ways, and the §5.2 decoding errors.

import { assert, assertEquals, assertThrows } from "@std/assert";
import { WriteBuffer } from "./buffer.ts";
import { hex, mulberry32, toHex } from "./_bytes.ts";
import {
  HpackError,
  HUFFMAN_CODES,
  HUFFMAN_LENGTHS,
  huffmanDecode,
  huffmanDecodedLength,
  huffmanEncode,
  huffmanEncodedLength,
} from "./huffman.ts";

function encode(s: string): string {
  const out = new WriteBuffer(16);
  huffmanEncode(out, s);
  return toHex(out.view());
}

function decode(bytes: Uint8Array): string {
  return huffmanDecode(bytes, 0, bytes.length);
}

// [symbol, code as hex, length]: the first and last symbol of every code length, typed from the
// RFC 7541 Appendix B table.
const APPENDIX_B_ROWS: [number, number, number][] = [
  [48, 0x0, 5],
  [116, 0x9, 5],
  [32, 0x14, 6],
  [117, 0x2d, 6],
  [58, 0x5c, 7],
  [122, 0x7b, 7],
  [38, 0xf8, 8],
  [90, 0xfd, 8],
  [33, 0x3f8, 10],
  [63, 0x3fc, 10],
  [39, 0x7fa, 11],
  [124, 0x7fc, 11],
  [35, 0xffa, 12],
  [62, 0xffb, 12],
  [0, 0x1ff8, 13],
  [126, 0x1ffd, 13],
  [94, 0x3ffc, 14],
  [125, 0x3ffd, 14],
  [60, 0x7ffc, 15],
  [123, 0x7ffe, 15],
  [92, 0x7fff0, 19],
  [208, 0x7fff2, 19],
  [128, 0xfffe6, 20],
  [226, 0xfffed, 20],
  [153, 0x1fffdc, 21],
  [230, 0x1fffe8, 21],
  [129, 0x3fffd2, 22],
  [233, 0x3fffeb, 22],
  [1, 0x7fffd8, 23],
  [239, 0x7ffff4, 23],
  [9, 0xffffea, 24],
  [237, 0xfffff5, 24],
  [199, 0x1ffffec, 25],
  [235, 0x1ffffef, 25],
  [192, 0x3ffffe0, 26],
  [255, 0x3ffffee, 26],
  [203, 0x7ffffde, 27],
  [254, 0x7fffff0, 27],
  [2, 0xfffffe2, 28],
  [249, 0xffffffe, 28],
  [10, 0x3ffffffc, 30],
  [256, 0x3fffffff, 30],
];

// Huffman-coded literals of RFC 7541 Appendix C.4 and C.6.
const APPENDIX_C_STRINGS: [string, string][] = [
  ["www.example.com", "f1e3 c2e5 f23a 6ba0 ab90 f4ff"],
  ["no-cache", "a8eb 1064 9cbf"],
  ["custom-key", "25a8 49e9 5ba9 7d7f"],
  ["custom-value", "25a8 49e9 5bb8 e8b4 bf"],
  ["302", "6402"],
  ["307", "640e ff"],
  ["private", "aec3 771a 4b"],
  [
    "Mon, 21 Oct 2013 20:13:21 GMT",
    "d07a be94 1054 d444 a820 0595 040b 8166 e082 a62d 1bff",
  ],
  [
    "Mon, 21 Oct 2013 20:13:22 GMT",
    "d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff",
  ],
  ["https://www.example.com", "9d29 ad17 1863 c78f 0b97 c8e9 ae82 ae43 d3"],
  ["gzip", "9bd9 ab"],
  [
    "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1",
    "94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587 " +
    "3160 65c0 03ed 4ee5 b106 3d50 07",
  ],
];

Deno.test("HUFFMAN_CODES matches RFC 7541 Appendix B", () => {
  for (const [sym, code, len] of APPENDIX_B_ROWS) {
    assertEquals([HUFFMAN_CODES[sym], HUFFMAN_LENGTHS[sym]], [code, len], `symbol ${sym}`);
  }
});

Deno.test("HUFFMAN_LENGTHS form a complete prefix code", () => {
  // Kraft: the sum of 2^-len over all 257 symbols is exactly 1 (in units of 2^-30).
  let sum = 0;
  for (let sym = 0; sym <= 256; sym++) sum += 2 ** (30 - HUFFMAN_LENGTHS[sym]);
  assertEquals(sum, 2 ** 30);
  for (let sym = 0; sym <= 256; sym++) assert(HUFFMAN_LENGTHS[sym] >= 5);
});

Deno.test("huffmanEncode() produces the RFC 7541 Appendix C strings", () => {
  for (const [s, h] of APPENDIX_C_STRINGS) {
    assertEquals(encode(s), toHex(hex(h)), s);
    assertEquals(huffmanEncodedLength(s), hex(h).length, s);
  }
});

Deno.test("huffmanDecode() decodes the RFC 7541 Appendix C strings", () => {
  for (const [s, h] of APPENDIX_C_STRINGS) {
    const bytes = hex(h);
    assertEquals(decode(bytes), s);
    assertEquals(huffmanDecodedLength(bytes, 0, bytes.length), s.length);
  }
});

Deno.test("huffmanDecode() decodes a range inside a larger buffer", () => {
  const bytes = hex("00 ff 9bd9ab 00");
  assertEquals(huffmanDecode(bytes, 2, 5), "gzip");
  assertEquals(huffmanDecode(bytes, 2, 2), "");
});

Deno.test("huffmanEncode() round-trips every octet value", () => {
  let all = "";
  for (let i = 0; i < 256; i++) all += String.fromCharCode(i);
  for (const s of [all, all.split("").reverse().join(""), "", "a", "\x00", "\xff"]) {
    const out = new WriteBuffer(1);
    huffmanEncode(out, s);
    assertEquals(out.length, huffmanEncodedLength(s));
    assertEquals(decode(out.view()), s);
  }
});

Deno.test("huffmanEncode() round-trips random strings", () => {
  const rand = mulberry32(42);
  const out = new WriteBuffer(64);
  for (let i = 0; i < 2000; i++) {
    const len = Math.floor(rand() * 64);
    const ascii = rand() < 0.7;
    let s = "";
    for (let j = 0; j < len; j++) {
      s += String.fromCharCode(ascii ? 32 + Math.floor(rand() * 95) : Math.floor(rand() * 256));
    }
    out.reset();
    out.u8(0xaa); // a preceding octet must stay untouched
    huffmanEncode(out, s);
    assertEquals(out.buf[0], 0xaa);
    assertEquals(out.length, 1 + huffmanEncodedLength(s));
    assertEquals(huffmanDecode(out.buf, 1, out.length), s);
  }
});

Deno.test("huffmanDecode() decodes strings longer than its scratch buffer", () => {
  for (const n of [5000, 100_000]) {
    let s = "";
    for (let i = 0; i < n; i++) s += String.fromCharCode(i % 256);
    const out = new WriteBuffer(1024);
    huffmanEncode(out, s);
    assertEquals(decode(out.view()), s);
  }
  assertEquals(decode(hex("9bd9ab")), "gzip"); // and short ones still work afterwards
});

Deno.test("huffmanDecode() rejects the EOS symbol", () => {
  // 30 ones (EOS) + 2 ones of padding.
  assertThrows(() => decode(hex("ffffffff")), HpackError, "EOS");
  // 'a' (00011) then EOS, padded.
  assertThrows(() => decode(hex("1f ff ff ff fc")), HpackError, "EOS");
  assertThrows(() => huffmanDecodedLength(hex("ffffffff"), 0, 4), HpackError);
});

Deno.test("huffmanDecode() rejects padding longer than 7 bits", () => {
  assertThrows(() => decode(hex("ff")), HpackError, "padding");
  // 'a' (00011) + 11 ones.
  assertThrows(() => decode(hex("1f ff")), HpackError, "padding");
  // "gzip" + a whole octet of ones.
  assertThrows(() => decode(hex("9bd9ab ff")), HpackError, "padding");
});

Deno.test("huffmanDecode() rejects padding that is not all ones", () => {
  // 'a' (00011) + 000.
  assertThrows(() => decode(hex("18")), HpackError, "padding");
  // 'a' + 110.
  assertThrows(() => decode(hex("1e")), HpackError, "padding");
  // A code cut short: the first 8 of '!' (11111110|00).
  assertThrows(() => decode(hex("fe")), HpackError, "padding");
  assertThrows(() => huffmanDecodedLength(hex("18"), 0, 1), HpackError);
});

Deno.test("huffmanDecode() accepts up to 7 bits of padding", () => {
  // '0' (00000) + 111 and 'a'+'0' = 00011 00000 + 111111.
  assertEquals(decode(hex("07")), "0");
  assertEquals(decode(hex("18 3f")), "a0");
  // Eight symbols of 5 bits fill five octets exactly: no padding.
  assertEquals(decode(hex("00 00 00 00 00")), "00000000");
});
