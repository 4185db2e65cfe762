// Tests for hpack.ts. The examples of RFC 7541 Appendix C are typed in from the RFC and checked
// both ways: the decoder must read each block (and leave the dynamic table the RFC shows), and
// the encoder must produce the same octets where its choices match the RFC's.

import { assert, assertEquals, assertThrows } from "@std/assert";
import { WriteBuffer } from "./buffer.ts";
import { hex, mulberry32, toHex } from "./_bytes.ts";
import { HpackDecoder, HpackEncoder, HpackError } from "./hpack.ts";

function decodeAll(dec: HpackDecoder, bytes: Uint8Array): string[] {
  const out: string[] = [];
  assert(dec.decode(bytes, 0, bytes.length, out));
  return out;
}

function encodeHex(enc: HpackEncoder, headers: string[]): string {
  const out = new WriteBuffer(16);
  enc.encode(out, headers);
  return toHex(out.view());
}

/**
 * An encoder and a decoder whose tables start at `size`, as after the decoder's side sent
 * SETTINGS_HEADER_TABLE_SIZE = size and the encoder announced it in a first (empty) block.
 */
function pair(size: number): { enc: HpackEncoder; dec: HpackDecoder } {
  const enc = new HpackEncoder();
  const dec = new HpackDecoder({ maxTableSize: size });
  enc.setMaxTableSize(size);
  const out = new WriteBuffer(16);
  enc.encode(out, []);
  assertEquals(decodeAll(dec, out.view()), []);
  return { enc, dec };
}

/** One step of an Appendix C sequence. */
interface Step {
  headers: string[];
  wire: string;
  /** Dynamic table after the block, newest first. */
  table: string[];
  tableSize: number;
}

// C.3 and C.4: three requests; the same lists, table states and sizes, with and without Huffman.
const REQ1 = [":method", "GET", ":scheme", "http", ":path", "/", ":authority", "www.example.com"];
const REQ2 = [...REQ1, "cache-control", "no-cache"];
const REQ3 = [
  ":method",
  "GET",
  ":scheme",
  "https",
  ":path",
  "/index.html",
  ":authority",
  "www.example.com",
  "custom-key",
  "custom-value",
];
const REQ_TABLE1 = [":authority", "www.example.com"];
const REQ_TABLE2 = ["cache-control", "no-cache", ...REQ_TABLE1];
const REQ_TABLE3 = ["custom-key", "custom-value", ...REQ_TABLE2];

const C3: Step[] = [
  {
    headers: REQ1,
    wire: "8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d",
    table: REQ_TABLE1,
    tableSize: 57,
  },
  {
    headers: REQ2,
    wire: "8286 84be 5808 6e6f 2d63 6163 6865",
    table: REQ_TABLE2,
    tableSize: 110,
  },
  {
    headers: REQ3,
    wire: "8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65",
    table: REQ_TABLE3,
    tableSize: 164,
  },
];

const C4: Step[] = [
  {
    headers: REQ1,
    wire: "8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff",
    table: REQ_TABLE1,
    tableSize: 57,
  },
  {
    headers: REQ2,
    wire: "8286 84be 5886 a8eb 1064 9cbf",
    table: REQ_TABLE2,
    tableSize: 110,
  },
  {
    headers: REQ3,
    wire: "8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf",
    table: REQ_TABLE3,
    tableSize: 164,
  },
];

// C.5 and C.6: three responses with SETTINGS_HEADER_TABLE_SIZE = 256, causing evictions.
const DATE1 = "Mon, 21 Oct 2013 20:13:21 GMT";
const DATE2 = "Mon, 21 Oct 2013 20:13:22 GMT";
const LOCATION = "https://www.example.com";
const COOKIE = "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1";
const RESP1 = [
  ":status",
  "302",
  "cache-control",
  "private",
  "date",
  DATE1,
  "location",
  LOCATION,
];
const RESP2 = [":status", "307", ...RESP1.slice(2)];
const RESP3 = [
  ":status",
  "200",
  "cache-control",
  "private",
  "date",
  DATE2,
  "location",
  LOCATION,
  "content-encoding",
  "gzip",
  "set-cookie",
  COOKIE,
];
const RESP_TABLE1 = [
  "location",
  LOCATION,
  "date",
  DATE1,
  "cache-control",
  "private",
  ":status",
  "302",
];
const RESP_TABLE2 = [
  ":status",
  "307",
  "location",
  LOCATION,
  "date",
  DATE1,
  "cache-control",
  "private",
];
const RESP_TABLE3 = ["set-cookie", COOKIE, "content-encoding", "gzip", "date", DATE2];

const C5: Step[] = [
  {
    headers: RESP1,
    wire: "4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 " +
      "2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70 " +
      "6c65 2e63 6f6d",
    table: RESP_TABLE1,
    tableSize: 222,
  },
  {
    headers: RESP2,
    wire: "4803 3330 37c1 c0bf",
    table: RESP_TABLE2,
    tableSize: 222,
  },
  {
    headers: RESP3,
    wire: "88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d " +
      "54c0 5a04 677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049 " +
      "5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e " +
      "3d31",
    table: RESP_TABLE3,
    tableSize: 215,
  },
];

const C6: Step[] = [
  {
    headers: RESP1,
    wire: "4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6 " +
      "2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3",
    table: RESP_TABLE1,
    tableSize: 222,
  },
  {
    headers: RESP2,
    wire: "4883 640e ffc1 c0bf",
    table: RESP_TABLE2,
    tableSize: 222,
  },
  {
    headers: RESP3,
    wire: "88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab " +
      "77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f " +
      "9587 3160 65c0 03ed 4ee5 b106 3d50 07",
    table: RESP_TABLE3,
    tableSize: 215,
  },
];

function checkDecode(steps: Step[], maxTableSize: number): void {
  const dec = new HpackDecoder({ maxTableSize });
  // The decoder's table starts at HTTP/2's 4096; the RFC's examples start at the setting, which
  // a real peer announces with a size update: feed that update alone first.
  if (maxTableSize !== 4096) {
    const update = new WriteBuffer();
    const enc = new HpackEncoder();
    enc.setMaxTableSize(maxTableSize);
    enc.encode(update, []);
    assertEquals(decodeAll(dec, update.view()), []);
  }
  for (const [i, step] of steps.entries()) {
    assertEquals(decodeAll(dec, hex(step.wire)), step.headers, `block ${i + 1}`);
    assertEquals(dec.dynamicTableEntries(), step.table, `table after block ${i + 1}`);
    assertEquals(dec.dynamicTableSize, step.tableSize, `table size after block ${i + 1}`);
  }
}

function checkEncode(steps: Step[], enc: HpackEncoder, wires: string[]): void {
  for (const [i, step] of steps.entries()) {
    assertEquals(encodeHex(enc, step.headers), toHex(hex(wires[i])), `block ${i + 1}`);
    assertEquals(enc.dynamicTableEntries(), step.table, `table after block ${i + 1}`);
    assertEquals(enc.dynamicTableSize, step.tableSize, `table size after block ${i + 1}`);
  }
}

// --- RFC 7541 Appendix C: decoding -------------------------------------------------------------

Deno.test("HpackDecoder.decode() reads C.1 integers (1337 on a 5-bit prefix)", () => {
  // A table size update of 1337: 001 11111, 1 0011010, 0 0001010 (C.1.2).
  const update = hex("3f 9a 0a");
  assertEquals(decodeAll(new HpackDecoder({ maxTableSize: 1337 }), update), []);
  assertThrows(
    () => new HpackDecoder({ maxTableSize: 1336 }).decode(update, 0, 3, []),
    HpackError,
    "1337",
  );
});

Deno.test("HpackDecoder.decode() reads C.2.1 literal with indexing", () => {
  const dec = new HpackDecoder();
  const wire = hex("400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572");
  assertEquals(decodeAll(dec, wire), ["custom-key", "custom-header"]);
  assertEquals(dec.dynamicTableEntries(), ["custom-key", "custom-header"]);
  assertEquals(dec.dynamicTableSize, 55);
});

Deno.test("HpackDecoder.decode() reads C.2.2 literal without indexing", () => {
  const dec = new HpackDecoder();
  const wire = hex("040c 2f73 616d 706c 652f 7061 7468");
  assertEquals(decodeAll(dec, wire), [":path", "/sample/path"]);
  assertEquals(dec.dynamicTableEntries(), []);
  assertEquals(dec.dynamicTableSize, 0);
});

Deno.test("HpackDecoder.decode() reads C.2.3 literal never indexed", () => {
  const dec = new HpackDecoder();
  const wire = hex("1008 7061 7373 776f 7264 0673 6563 7265 74");
  assertEquals(decodeAll(dec, wire), ["password", "secret"]);
  assertEquals(dec.dynamicTableEntries(), []);
});

Deno.test("HpackDecoder.decode() reads C.2.4 indexed field", () => {
  const dec = new HpackDecoder();
  assertEquals(decodeAll(dec, hex("82")), [":method", "GET"]);
  assertEquals(dec.dynamicTableEntries(), []);
});

Deno.test("HpackDecoder.decode() reads C.3 requests without Huffman", () => {
  checkDecode(C3, 4096);
});

Deno.test("HpackDecoder.decode() reads C.4 requests with Huffman", () => {
  checkDecode(C4, 4096);
});

Deno.test("HpackDecoder.decode() reads C.5 responses with evictions", () => {
  checkDecode(C5, 256);
});

Deno.test("HpackDecoder.decode() reads C.6 responses with Huffman and evictions", () => {
  checkDecode(C6, 256);
});

Deno.test("HpackDecoder.decode() returns table strings without copying them", () => {
  const dec = new HpackDecoder();
  const a: string[] = [], b: string[] = [];
  dec.decode(hex(C3[0].wire), 0, hex(C3[0].wire).length, a);
  dec.decode(hex(C3[1].wire), 0, hex(C3[1].wire).length, b);
  // ":authority: www.example.com" came back from the dynamic table (index 62).
  assert(Object.is(a[7], b[7]));
  assertEquals(b[6], ":authority");
});

Deno.test("HpackDecoder.decode() reads a block inside a larger buffer", () => {
  const wire = hex("ffff " + C4[0].wire + " ffff");
  const out: string[] = ["x", "y"];
  assert(new HpackDecoder().decode(wire, 2, wire.length - 2, out));
  assertEquals(out, ["x", "y", ...REQ1]);
});

// --- RFC 7541 Appendix C: encoding -------------------------------------------------------------

Deno.test("HpackEncoder.encode() produces C.2.1 and C.2.4", () => {
  const enc = new HpackEncoder();
  enc.huffman = false;
  assertEquals(
    encodeHex(enc, ["custom-key", "custom-header"]),
    "400a637573746f6d2d6b65790d637573746f6d2d686561646572",
  );
  assertEquals(encodeHex(enc, [":method", "GET"]), "82");
});

Deno.test("HpackEncoder.encode() produces C.3 requests without Huffman", () => {
  const enc = new HpackEncoder();
  enc.huffman = false;
  checkEncode(C3, enc, C3.map((s) => s.wire));
});

Deno.test("HpackEncoder.encode() produces C.4 requests with Huffman", () => {
  checkEncode(C4, new HpackEncoder(), C4.map((s) => s.wire));
});

Deno.test("HpackEncoder.encode() produces C.5 responses with evictions", () => {
  const enc = new HpackEncoder(256);
  enc.huffman = false;
  checkEncode(C5, enc, C5.map((s) => s.wire));
});

Deno.test("HpackEncoder.encode() produces C.6 responses, except raw '307'", () => {
  // Huffman-coded "307" (640eff) is no shorter than "307", so we send it raw: the C.5.2 block.
  checkEncode(C6, new HpackEncoder(256), [C6[0].wire, C5[1].wire, C6[2].wire]);
});

// --- Malformed input ---------------------------------------------------------------------------

function decodeThrows(bytes: Uint8Array, includes: string, dec = new HpackDecoder()): void {
  assertThrows(() => dec.decode(bytes, 0, bytes.length, []), HpackError, includes);
}

Deno.test("HpackDecoder.decode() rejects index 0", () => {
  decodeThrows(hex("80"), "index 0");
});

Deno.test("HpackDecoder.decode() rejects an index past the table", () => {
  decodeThrows(hex("be"), "index 62"); // empty dynamic table
  decodeThrows(hex("ff 00"), "index 127");
  // As a literal's name: incremental indexing with name index 62.
  decodeThrows(hex("7e 01 61"), "index 62");
  // Without indexing, name index 15 + 47 = 62.
  decodeThrows(hex("0f 2f 01 61"), "index 62");
  // One entry: 62 is fine, 63 is not.
  const dec = new HpackDecoder();
  assertEquals(decodeAll(dec, hex("40 01 61 01 62 be")), ["a", "b", "a", "b"]);
  decodeThrows(hex("bf"), "index 63", dec);
});

Deno.test("HpackDecoder.decode() rejects a truncated integer", () => {
  decodeThrows(hex("ff"), "truncated integer");
  decodeThrows(hex("ff 80"), "truncated integer");
  decodeThrows(hex("3f ff"), "truncated integer"); // size update
  decodeThrows(hex("40 7f"), "truncated integer"); // string length
});

Deno.test("HpackDecoder.decode() rejects integer overflow", () => {
  decodeThrows(hex("ff ff ff ff ff 0f"), "overflow"); // > 2^31 - 1
  decodeThrows(hex("ff 80 80 80 80 80 00"), "overflow"); // six continuation octets
  decodeThrows(hex("40 7f ff ff ff ff 0f"), "overflow"); // string length
});

Deno.test("HpackDecoder.decode() rejects a string past the end of the block", () => {
  decodeThrows(hex("40 05 61 62"), "past the end");
  decodeThrows(hex("40 01 61 05 62"), "past the end");
  decodeThrows(hex("40"), "truncated string");
  decodeThrows(hex("40 01 61"), "truncated string");
  decodeThrows(hex("04"), "truncated string");
});

Deno.test("HpackDecoder.decode() rejects bad Huffman strings", () => {
  decodeThrows(hex("40 84 ffffffff 00"), "EOS");
  decodeThrows(hex("40 82 1fff 00"), "padding"); // 11 bits of padding
  decodeThrows(hex("40 81 18 00"), "padding"); // padding 000
  decodeThrows(hex("04 81 1e"), "padding"); // in a value, padding 110
});

Deno.test("HpackDecoder.decode() rejects a table size update above the limit", () => {
  // 4096 = 31 + 97 + 31 * 128: accepted; 4097 is not.
  assertEquals(decodeAll(new HpackDecoder(), hex("3f e1 1f 82")), [":method", "GET"]);
  decodeThrows(hex("3f e2 1f"), "exceeds 4096");
  decodeThrows(hex("3f e1 01"), "exceeds 255", new HpackDecoder({ maxTableSize: 255 }));
  const dec = new HpackDecoder();
  dec.maxTableSize = 100;
  decodeThrows(hex("3f 46"), "exceeds 100", dec); // 101
});

Deno.test("HpackDecoder.decode() rejects a table size update after a field", () => {
  decodeThrows(hex("82 20"), "after a field");
  decodeThrows(hex("40 01 61 01 62 3f e1 1f"), "after a field");
  // Two updates at the start are fine (RFC 7541 §4.2).
  assertEquals(decodeAll(new HpackDecoder(), hex("20 3f e1 1f 82")), [":method", "GET"]);
});

Deno.test("HpackDecoder.decode() applies table size updates", () => {
  const dec = new HpackDecoder();
  decodeAll(dec, hex(C3[0].wire));
  assertEquals(dec.dynamicTableSize, 57);
  assertEquals(decodeAll(dec, hex("20")), []); // size 0 empties the table
  assertEquals(dec.dynamicTableEntries(), []);
  decodeThrows(hex("be"), "index 62", dec);
  // Size 60 holds one small entry at a time.
  assertEquals(decodeAll(dec, hex("3f 1d 40 01 61 01 62 40 01 63 01 64")), ["a", "b", "c", "d"]);
  assertEquals(dec.dynamicTableEntries(), ["c", "d"]);
});

Deno.test("HpackDecoder starts at 4096 octets until the peer announces our smaller size", () => {
  // We advertise 0, but the peer's first request went out before it saw our SETTINGS.
  const dec = new HpackDecoder({ maxTableSize: 0 });
  const enc = new HpackEncoder(); // the peer, still at the initial 4096
  const out = new WriteBuffer();
  enc.encode(out, REQ1);
  enc.encode(out, REQ1); // a second block in the same read, :authority now indexed
  const list: string[] = [];
  assert(dec.decode(out.buf, 0, out.length, list));
  assertEquals(list, [...REQ1, ...REQ1]);
  // Then it sees our SETTINGS and announces 0 at the start of its next block.
  enc.setMaxTableSize(0);
  out.reset();
  enc.encode(out, REQ1);
  assertEquals(out.buf[0], 0x20);
  assertEquals(decodeAll(dec, out.view()), REQ1);
  assertEquals(dec.dynamicTableEntries(), []);
  decodeThrows(hex("3f 45"), "exceeds 0", dec); // an update to 100 is refused
});

Deno.test("HpackDecoder.maxTableSize shrinks the table when lowered", () => {
  const dec = new HpackDecoder();
  decodeAll(dec, hex("40 01 61 01 62 40 01 63 01 64"));
  assertEquals(dec.dynamicTableSize, 68);
  dec.maxTableSize = 40;
  assertEquals(dec.dynamicTableEntries(), ["c", "d"]);
  dec.maxTableSize = 8192;
  assertEquals(decodeAll(dec, hex("3f e1 3f")), []); // 8192 = 31 + 97 + 63 * 128
});

Deno.test("HpackDecoder.decode() holds as many entries as the table size allows", () => {
  // Entries of "k" + 1 char take 34 octets: 120 fit in 4096, 240 in 8192; the ring starts
  // with fewer slots and must grow.
  const enc = new HpackEncoder();
  enc.setMaxTableSize(8192); // we cap our encoder at 4096: no change, no update
  const dec = new HpackDecoder({ maxTableSize: 8192 });
  const headers: string[] = [];
  for (let i = 0; i < 240; i++) headers.push("k", String.fromCharCode(i + 10));
  const out = new WriteBuffer();
  enc.encode(out, headers);
  assertEquals(decodeAll(dec, out.view()), headers);
  assertEquals(dec.dynamicTableEntries().length, 2 * 120);
  assertEquals(dec.dynamicTableEntries(), enc.dynamicTableEntries());
  // A peer encoder allowed the full 8192 fills 240 entries; the oldest is index 61 + 240.
  const wire = new WriteBuffer();
  wire.bytes(hex("3f e1 3f")); // size update 8192
  for (let i = 0; i < 240; i++) {
    wire.bytes(hex("40 01 6b 01")); // literal with indexing, name "k", 1-octet value
    wire.u8(i);
  }
  wire.bytes(hex("ff ae 01")); // index 127 + 46 + 128 = 301
  const list: string[] = [];
  assert(dec.decode(wire.buf, 0, wire.length, list));
  assertEquals(list.slice(-2), ["k", "\x00"]);
  assertEquals(dec.dynamicTableSize, 240 * 34);
});

// --- Header list size ----------------------------------------------------------------------------

Deno.test("HpackDecoder.decode() returns false past maxHeaderListSize, keeping the table", () => {
  const enc = new HpackEncoder();
  const dec = new HpackDecoder({ maxHeaderListSize: 100 });
  const a = ["a", "x".repeat(50)], b = ["b", "y".repeat(50)]; // 83 octets each
  const out = new WriteBuffer();
  enc.encode(out, [...a, ...b]);
  const list: string[] = [];
  assertEquals(dec.decode(out.buf, 0, out.length, list), false);
  assertEquals(list, a); // stops appending at the field that crosses the limit
  assertEquals(dec.dynamicTableEntries(), [...b, ...a]); // but indexed both
  // The next block refers to both entries and decodes.
  out.reset();
  enc.encode(out, b);
  assertEquals(toHex(out.view()), "be");
  assertEquals(decodeAll(dec, out.view()), b);
  out.reset();
  enc.encode(out, a);
  assertEquals(decodeAll(dec, out.view()), a);
  // Exactly at the limit is fine: 100 = 1 + 67 + 32.
  out.reset();
  enc.encode(out, ["c", "z".repeat(67)]);
  assert(dec.decode(out.buf, 0, out.length, []));
});

Deno.test("HpackDecoder.decode() skips oversized literals but keeps the table in sync", () => {
  const dec = new HpackDecoder({ maxHeaderListSize: 1000 });
  const enc = new HpackEncoder();
  enc.huffman = false;
  const out = new WriteBuffer();
  // A 1 MiB value without indexing (raw), then a 1 MiB Huffman value, then a normal field that
  // is indexed: the table must still get it.
  const big = "v".repeat(1 << 20);
  enc.encode(out, ["big", big]); // longer than a quarter of the table: not indexed
  enc.huffman = true;
  enc.encode(out, ["huge", big, "after", "ok"]);
  const list: string[] = [];
  assertEquals(dec.decode(out.buf, 0, out.length, list), false);
  assertEquals(list, []);
  assertEquals(dec.dynamicTableEntries(), ["after", "ok"]);
  assertEquals(dec.dynamicTableEntries(), enc.dynamicTableEntries());
  // An indexed literal larger than the table empties it (RFC 7541 §4.4), even when skipped.
  const wire = new WriteBuffer();
  wire.bytes(hex("40 03 6b65 79 7f e1 3f")); // "key", value length 127 + 8161 = 8288
  wire.ascii("w".repeat(8288));
  assertEquals(dec.decode(wire.buf, 0, wire.length, []), false);
  assertEquals(dec.dynamicTableEntries(), []);
});

Deno.test("HpackDecoder.decode() stops appending on a repeated-reference bomb", () => {
  // One 4000-octet entry referenced 100,000 times: 400 MB of headers from a 100 KB block.
  const dec = new HpackDecoder({ maxHeaderListSize: 65536 });
  const wire = new WriteBuffer();
  wire.bytes(hex("40 01 61 7f a1 1e")); // "a", value length 127 + 33 + 30 * 128 = 4000
  wire.ascii("x".repeat(4000));
  for (let i = 0; i < 100_000; i++) wire.u8(0xbe);
  const list: string[] = [];
  assertEquals(dec.decode(wire.buf, 0, wire.length, list), false);
  assertEquals(list.length, 2 * 16); // 16 * 4033 < 65536 < 17 * 4033
  assertEquals(dec.dynamicTableSize, 4033);
});

// --- Encoder -----------------------------------------------------------------------------------

Deno.test("HpackEncoder.encode() never indexes authorization, cookie, proxy-authorization", () => {
  const enc = new HpackEncoder();
  const dec = new HpackDecoder();
  const headers = [
    "authorization",
    "Bearer abc",
    "cookie",
    "a=b",
    "proxy-authorization",
    "Basic xyz",
  ];
  for (let round = 0; round < 2; round++) {
    const out = new WriteBuffer();
    enc.encode(out, headers);
    const b = out.view();
    // 0001 xxxx with the static name index: 23 = 15 + 8, 32 = 15 + 17, 49 = 15 + 34.
    assertEquals(toHex(b.subarray(0, 2)), "1f08");
    assertEquals(enc.dynamicTableEntries(), []);
    assertEquals(decodeAll(dec, b), headers);
    assertEquals(dec.dynamicTableEntries(), []);
  }
  // A new sensitive header name is never indexed either: its literal name goes inline.
  const out = new WriteBuffer();
  enc.huffman = false;
  enc.encode(out, ["cookie", "x"]);
  assertEquals(toHex(out.view()), "1f110178");
});

Deno.test("HpackEncoder.encode() does not index values longer than a quarter of the table", () => {
  const { enc, dec } = pair(256);
  enc.huffman = false;
  const out = new WriteBuffer();
  enc.encode(out, ["x-long", "v".repeat(65)]);
  assertEquals(out.buf[0], 0x00); // without indexing, new name
  assertEquals(enc.dynamicTableEntries(), []);
  out.reset();
  enc.encode(out, ["x-long", "v".repeat(64)]);
  assertEquals(out.buf[0], 0x40);
  assertEquals(enc.dynamicTableEntries(), ["x-long", "v".repeat(64)]);
  // Known name, long value: name by index, not indexed.
  out.reset();
  enc.encode(out, ["x-long", "w".repeat(65), "user-agent", "u".repeat(65)]);
  assertEquals(out.buf[0], 0x0f);
  assertEquals(out.buf[1], 62 - 15);
  assertEquals(decodeAll(dec, hex("40 06 782d6c6f6e67 40" + "76".repeat(64))), [
    "x-long",
    "v".repeat(64),
  ]);
  assertEquals(decodeAll(dec, out.view()), [
    "x-long",
    "w".repeat(65),
    "user-agent",
    "u".repeat(65),
  ]);
});

Deno.test("HpackEncoder.encode() names by index from either table", () => {
  const enc = new HpackEncoder();
  enc.huffman = false;
  assertEquals(
    encodeHex(enc, ["content-type", "application/grpc"]),
    "5f10" +
      toHex(new TextEncoder().encode("application/grpc")),
  );
  assertEquals(encodeHex(enc, ["content-type", "application/grpc"]), "be");
  assertEquals(encodeHex(enc, ["x-a", "1"]), "4003782d610131");
  // Same name, new value: name index 62 (x-a, newest), then x-a:2 becomes 62.
  assertEquals(encodeHex(enc, ["x-a", "2"]), "7e0132");
  assertEquals(
    encodeHex(enc, ["x-a", "1", "x-a", "2", "content-type", "application/grpc"]),
    "bfbec0",
  );
});

Deno.test("HpackEncoder.encode() keeps the newest entry of a name across evictions", () => {
  const { enc, dec } = pair(100); // room for two entries of 34 octets
  enc.huffman = false;
  const run = (headers: string[]) => {
    const out = new WriteBuffer();
    enc.encode(out, headers);
    assertEquals(decodeAll(dec, out.view()), headers);
    assertEquals(dec.dynamicTableEntries(), enc.dynamicTableEntries());
    return toHex(out.view());
  };
  assertEquals(run(["a", "1"]), "4001610131"); // [a:1]
  assertEquals(run(["a", "2"]), "7e0132"); // name from 62: [a:2, a:1]
  assertEquals(run(["b", "3"]), "4001620133"); // evicts a:1: [b:3, a:2]
  // Evicting a:1 must not forget that a:2 (now 63) still has the name.
  assertEquals(run(["a", "9"]), "7f000139"); // [a:9, b:3]
  assertEquals(run(["a", "2"]), "7e0132"); // a:2 is gone: literal again, name from a:9
  assertEquals(run(["a", "2", "a", "9"]), "bebf");
});

Deno.test("HpackEncoder.setMaxTableSize() emits size updates at the next block", () => {
  const enc = new HpackEncoder();
  const dec = new HpackDecoder();
  const block = (headers: string[]) => {
    const out = new WriteBuffer();
    enc.encode(out, headers);
    const list: string[] = [];
    assert(dec.decode(out.buf, 0, out.length, list));
    assertEquals(list, headers);
    assertEquals(dec.dynamicTableEntries(), enc.dynamicTableEntries());
    return toHex(out.view());
  };
  block(["x-a", "1", "x-b", "2"]);
  enc.setMaxTableSize(4096); // unchanged: nothing to send
  assertEquals(block([":method", "GET"]), "82");
  enc.setMaxTableSize(65536); // capped at 4096: unchanged
  assertEquals(block([":method", "GET"]), "82");
  enc.setMaxTableSize(256);
  assertEquals(block([":method", "GET"]), "3fe101" + "82"); // 256 = 31 + 225
  assertEquals(block([":method", "GET"]), "82"); // only once
  // Shrink then grow before a block: the minimum first, then the final size.
  enc.setMaxTableSize(0);
  enc.setMaxTableSize(4096);
  assertEquals(enc.dynamicTableEntries(), []); // the shrink evicted everything
  assertEquals(block([":method", "GET"]), "20" + "3fe11f" + "82");
  // Shrink below, then back up to the size the decoder already has: both still go out.
  block(["x-c", "3"]);
  enc.setMaxTableSize(10);
  enc.setMaxTableSize(4096);
  assertEquals(block([":method", "GET"]), "2a" + "3fe11f" + "82");
  assertEquals(dec.dynamicTableEntries(), []);
  // Two shrinks: only the last (smallest) goes out.
  enc.setMaxTableSize(1000);
  enc.setMaxTableSize(500);
  assertEquals(block([":method", "GET"]).slice(0, 6), "3fd503"); // 500 = 31 + 85 + 3 * 128
});

Deno.test("HpackEncoder.encode() evicts correctly under many inserts", () => {
  const { enc, dec } = pair(200);
  for (let i = 0; i < 5000; i++) {
    const headers = ["k" + (i % 7), "v" + (i % 13), "k" + (i % 3), "v" + (i % 5)];
    const out = new WriteBuffer();
    enc.encode(out, headers);
    assertEquals(decodeAll(dec, out.view()), headers);
    assertEquals(dec.dynamicTableEntries(), enc.dynamicTableEntries());
    assert(enc.dynamicTableSize <= 200);
  }
});

Deno.test("HpackEncoder and HpackDecoder agree on 10,000 random header lists", () => {
  const rand = mulberry32(7);
  const pick = <T>(a: readonly T[]): T => a[Math.floor(rand() * a.length)];
  const names = [
    ":path",
    ":authority",
    "content-type",
    "grpc-timeout",
    "user-agent",
    "x-a",
    "x-b",
    "x-c",
    "cookie",
    "authorization",
    "accept-encoding",
  ];
  const values = ["", "1", "gzip, deflate", "application/grpc", "/a.B/C", "abcdefghij"];
  const randomString = (max: number) => {
    let s = "";
    const n = Math.floor(rand() * max);
    const binary = rand() < 0.2;
    for (let i = 0; i < n; i++) {
      s += String.fromCharCode(binary ? Math.floor(rand() * 256) : 33 + Math.floor(rand() * 94));
    }
    return s;
  };
  for (const tableSize of [0, 64, 150, 256, 4096]) {
    const { enc, dec } = pair(tableSize);
    const out = new WriteBuffer(256);
    for (let n = 0; n < 2000; n++) {
      // Now and then the decoder's side changes SETTINGS_HEADER_TABLE_SIZE, sometimes twice
      // between two blocks (the encoder then sends the smallest size, then the final one).
      for (let k = rand() < 0.02 ? 1 + Math.floor(rand() * 3) : 0; k > 0; k--) {
        const s = pick([0, 32, 100, 200, tableSize, 4096]);
        dec.maxTableSize = s;
        enc.setMaxTableSize(s);
      }
      const headers: string[] = [];
      const count = Math.floor(rand() * 8);
      for (let i = 0; i < count; i++) {
        headers.push(rand() < 0.8 ? pick(names) : "x-" + randomString(10).toLowerCase());
        headers.push(rand() < 0.5 ? pick(values) : randomString(rand() < 0.1 ? 300 : 20));
      }
      out.reset();
      enc.encode(out, headers);
      const list: string[] = [];
      assert(dec.decode(out.buf, 0, out.length, list));
      assertEquals(list, headers);
      assertEquals(dec.dynamicTableEntries(), enc.dynamicTableEntries());
      assertEquals(dec.dynamicTableSize, enc.dynamicTableSize);
    }
  }
});
