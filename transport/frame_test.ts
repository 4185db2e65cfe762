// Tests for frame.ts. Golden frames are typed by hand from the RFC 9113 §6 layouts and checked
// both ways: the writer must produce them byte for byte and the parser must read every field back.

import { assert, assertEquals, assertThrows } from "@std/assert";
import { WriteBuffer } from "./buffer.ts";
import { ConnectionError } from "./errors.ts";
import {
  CONNECTION_PREFACE,
  DEFAULT_INITIAL_WINDOW_SIZE,
  DEFAULT_MAX_FRAME_SIZE,
  ErrorCode,
  errorCodeName,
  Flag,
  FRAME_HEADER_LENGTH,
  FrameParser,
  FrameType,
  MAX_ALLOWED_FRAME_SIZE,
  MAX_WINDOW,
  SettingId,
} from "./frame.ts";
import {
  writeContinuation,
  writeData,
  writeFrameHeader,
  writeGoaway,
  writeHeaders,
  writePing,
  writePriority,
  writePushPromise,
  writeRstStream,
  writeSettings,
  writeSettingsAck,
  writeWindowUpdate,
} from "./frame_writer.ts";

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

function u8(...bytes: number[]): Uint8Array {
  return new Uint8Array(bytes);
}

function ascii(s: string): number[] {
  return Array.from(s, (c) => c.charCodeAt(0));
}

/** Runs a writer against a fresh buffer (pre-filled with 0xee to catch unwritten octets). */
function written(write: (out: WriteBuffer) => void): Uint8Array {
  const out = new WriteBuffer(16);
  out.buf.fill(0xee);
  write(out);
  return out.view().slice();
}

/** A raw frame for malformed-input tests: header fields as given, payload as given. */
function raw(
  type: number,
  flags: number,
  streamId: number,
  payload: number[],
  length: number = payload.length,
): Uint8Array {
  return u8(
    length >>> 16 & 0xff,
    length >>> 8 & 0xff,
    length & 0xff,
    type,
    flags,
    streamId >>> 24 & 0xff,
    streamId >>> 16 & 0xff,
    streamId >>> 8 & 0xff,
    streamId & 0xff,
    ...payload,
  );
}

/** Parses the single frame in `bytes`, asserting it is consumed entirely. */
function parseOne(bytes: Uint8Array, parser: FrameParser = new FrameParser()): FrameParser {
  assertEquals(parser.next(bytes, 0, bytes.length), bytes.length);
  assert(parser.buf === bytes);
  return parser;
}

function payload(p: FrameParser): number[] {
  return Array.from(p.buf.subarray(p.payloadStart, p.payloadEnd));
}

function assertConnError(bytes: Uint8Array, code: number, parser = new FrameParser()): void {
  const e = assertThrows(() => parser.next(bytes, 0, bytes.length), ConnectionError);
  assertEquals(errorCodeName(e.code), errorCodeName(code), e.message);
}

function assertStreamError(bytes: Uint8Array, code: number): FrameParser {
  const p = parseOne(bytes);
  assertEquals(errorCodeName(p.streamError), errorCodeName(code));
  return p;
}

function assertDecoded(
  p: FrameParser,
  want: {
    type: number;
    flags: number;
    streamId: number;
    length: number;
    payloadStart: number;
    payloadEnd: number;
    streamError?: number;
    errorCode?: number;
    lastStreamId?: number;
    windowIncrement?: number;
    promisedStreamId?: number;
    settingsCount?: number;
  },
): void {
  assertEquals({
    type: p.type,
    flags: p.flags,
    streamId: p.streamId,
    length: p.length,
    payloadStart: p.payloadStart,
    payloadEnd: p.payloadEnd,
    streamError: p.streamError,
    errorCode: p.errorCode,
    lastStreamId: p.lastStreamId,
    windowIncrement: p.windowIncrement,
    promisedStreamId: p.promisedStreamId,
    settingsCount: p.settingsCount,
  }, {
    streamError: 0,
    errorCode: 0,
    lastStreamId: 0,
    windowIncrement: 0,
    promisedStreamId: 0,
    settingsCount: 0,
    ...want,
  });
}

const BLOCK = u8(0x82, 0x86, 0x84); // :method GET, :scheme http, :path / (RFC 7541 C.2.4)

// ---------------------------------------------------------------------------------------------
// Constants
// ---------------------------------------------------------------------------------------------

Deno.test("frame constants match RFC 9113", () => {
  assertEquals(FRAME_HEADER_LENGTH, 9);
  assertEquals(DEFAULT_MAX_FRAME_SIZE, 2 ** 14);
  assertEquals(MAX_ALLOWED_FRAME_SIZE, 2 ** 24 - 1);
  assertEquals(MAX_WINDOW, 2 ** 31 - 1);
  assertEquals(DEFAULT_INITIAL_WINDOW_SIZE, 65535);
  assertEquals(Object.values(FrameType), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assertEquals(FrameType.WINDOW_UPDATE, 8);
  assertEquals(Flag, { END_STREAM: 1, ACK: 1, END_HEADERS: 4, PADDED: 8, PRIORITY: 0x20 });
  assertEquals(Object.values(ErrorCode), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]);
  assertEquals(ErrorCode.HTTP_1_1_REQUIRED, 0xd);
  assertEquals(Object.values(SettingId), [1, 2, 3, 4, 5, 6]);
  assertEquals(SettingId.MAX_HEADER_LIST_SIZE, 6);
});

Deno.test("CONNECTION_PREFACE is the 24 octets of RFC 9113 §3.4", () => {
  assertEquals(
    CONNECTION_PREFACE,
    u8(
      ...[0x50, 0x52, 0x49, 0x20, 0x2a, 0x20, 0x48, 0x54, 0x54, 0x50, 0x2f, 0x32], // PRI * HTTP/2
      ...[0x2e, 0x30, 0x0d, 0x0a, 0x0d, 0x0a, 0x53, 0x4d, 0x0d, 0x0a, 0x0d, 0x0a], // .0␍␊␍␊SM␍␊␍␊
    ),
  );
});

Deno.test("errorCodeName() names every RFC 9113 §7 code and unknown ones", () => {
  for (const [name, code] of Object.entries(ErrorCode)) assertEquals(errorCodeName(code), name);
  assertEquals(errorCodeName(0xe), "UNKNOWN_0xe");
  assertEquals(errorCodeName(0xdeadbeef), "UNKNOWN_0xdeadbeef");
});

Deno.test("new FrameParser() checks maxFrameSize", () => {
  assertEquals(new FrameParser().maxFrameSize, 16384);
  assertEquals(new FrameParser(MAX_ALLOWED_FRAME_SIZE).maxFrameSize, MAX_ALLOWED_FRAME_SIZE);
  assertThrows(() => new FrameParser(16383), RangeError);
  assertThrows(() => new FrameParser(2 ** 24), RangeError);
});

// ---------------------------------------------------------------------------------------------
// Golden frames, both ways
// ---------------------------------------------------------------------------------------------

Deno.test("writeFrameHeader() writes the §4.1 layout and clears the R bit", () => {
  const got = written((out) => writeFrameHeader(out, 0x123456, 0xfa, 0xa5, 0xffffffff));
  assertEquals(got, u8(0x12, 0x34, 0x56, 0xfa, 0xa5, 0x7f, 0xff, 0xff, 0xff));
});

Deno.test("DATA round trip (§6.1)", () => {
  const golden = u8(0, 0, 5, 0x0, 0x1, 0, 0, 0, 1, ...ascii("hello"));
  const src = u8(0, ...ascii("hello"), 0);
  assertEquals(written((out) => writeData(out, 1, src, 1, 6, true)), golden);
  const p = parseOne(golden);
  assertDecoded(p, {
    type: FrameType.DATA,
    flags: Flag.END_STREAM,
    streamId: 1,
    length: 5,
    payloadStart: 9,
    payloadEnd: 14,
  });
  assertEquals(payload(p), ascii("hello"));
});

Deno.test("DATA round trip with 100 octets (copy by set)", () => {
  const data = new Uint8Array(100).map((_, i) => i);
  const golden = u8(0, 0, 100, 0x0, 0x0, 0x7f, 0xff, 0xff, 0xff, ...data);
  assertEquals(written((out) => writeData(out, MAX_WINDOW, data, 0, 100, false)), golden);
  const p = parseOne(golden);
  assertEquals(p.streamId, MAX_WINDOW);
  assertEquals(payload(p), Array.from(data));
});

Deno.test("DATA round trip with padding (§6.1)", () => {
  // Pad Length 4, data 01 02 03, four zero octets; PADDED = 0x8.
  const golden = u8(0, 0, 8, 0x0, 0x8, 0, 0, 0, 3, 4, 1, 2, 3, 0, 0, 0, 0);
  assertEquals(written((out) => writeData(out, 3, u8(1, 2, 3), 0, 3, false, 4)), golden);
  const p = parseOne(golden);
  assertDecoded(p, {
    type: FrameType.DATA,
    flags: Flag.PADDED,
    streamId: 3,
    length: 8,
    payloadStart: 10,
    payloadEnd: 13,
  });
  assertEquals(payload(p), [1, 2, 3]);
});

Deno.test("FrameParser.next() accepts padded DATA that is all padding", () => {
  // Pad Length 0 in a 1-octet payload, and Pad Length 4 in a 5-octet payload: both empty data.
  let p = parseOne(raw(FrameType.DATA, Flag.PADDED | Flag.END_STREAM, 1, [0]));
  assertEquals([p.payloadStart, p.payloadEnd], [10, 10]);
  p = parseOne(raw(FrameType.DATA, Flag.PADDED, 1, [4, 0, 0, 0, 0]));
  assertEquals([p.payloadStart, p.payloadEnd], [10, 10]);
});

Deno.test("HEADERS round trip (§6.2)", () => {
  const golden = u8(0, 0, 3, 0x1, 0x4, 0, 0, 0, 1, 0x82, 0x86, 0x84);
  assertEquals(written((out) => writeHeaders(out, 1, BLOCK, 0, 3, false, 16384)), golden);
  const p = parseOne(golden);
  assertDecoded(p, {
    type: FrameType.HEADERS,
    flags: Flag.END_HEADERS,
    streamId: 1,
    length: 3,
    payloadStart: 9,
    payloadEnd: 12,
  });
  assertEquals(payload(p), [0x82, 0x86, 0x84]);
});

Deno.test("HEADERS round trip with padding and END_STREAM (§6.2)", () => {
  // END_STREAM | END_HEADERS | PADDED = 0x0d; Pad Length 2, fragment, two zero octets.
  const golden = u8(0, 0, 6, 0x1, 0x0d, 0, 0, 0, 5, 2, 0x82, 0x86, 0x84, 0, 0);
  assertEquals(written((out) => writeHeaders(out, 5, BLOCK, 0, 3, true, 16384, 2)), golden);
  const p = parseOne(golden);
  assertDecoded(p, {
    type: FrameType.HEADERS,
    flags: 0x0d,
    streamId: 5,
    length: 6,
    payloadStart: 10,
    payloadEnd: 13,
  });
  assertEquals(payload(p), [0x82, 0x86, 0x84]);
});

Deno.test("FrameParser.next() skips HEADERS priority fields (§6.2)", () => {
  // END_HEADERS | PRIORITY = 0x24; E=1 dependency 1, weight 15, fragment.
  const golden = u8(0, 0, 8, 0x1, 0x24, 0, 0, 0, 3, 0x80, 0, 0, 1, 15, 0x82, 0x86, 0x84);
  const p = parseOne(golden);
  assertDecoded(p, {
    type: FrameType.HEADERS,
    flags: 0x24,
    streamId: 3,
    length: 8,
    payloadStart: 14,
    payloadEnd: 17,
  });
  assertEquals(payload(p), [0x82, 0x86, 0x84]);
});

Deno.test("FrameParser.next() skips HEADERS padding and priority fields together (§6.2)", () => {
  // END_HEADERS | PADDED | PRIORITY = 0x2c; Pad Length 3, dependency 0, weight 255, fragment, pad.
  const golden = u8(
    ...[0, 0, 12, 0x1, 0x2c, 0, 0, 0, 7],
    ...[3, 0, 0, 0, 0, 0xff, 0x82, 0x86, 0x84, 0, 0, 0],
  );
  const p = parseOne(golden);
  assertDecoded(p, {
    type: FrameType.HEADERS,
    flags: 0x2c,
    streamId: 7,
    length: 12,
    payloadStart: 15,
    payloadEnd: 18,
  });
  assertEquals(payload(p), [0x82, 0x86, 0x84]);
});

Deno.test("PRIORITY round trip (§6.3)", () => {
  // E=1, dependency 1, weight octet 255.
  const golden = u8(0, 0, 5, 0x2, 0x0, 0, 0, 0, 3, 0x80, 0, 0, 1, 0xff);
  assertEquals(written((out) => writePriority(out, 3, 1, true, 255)), golden);
  assertDecoded(parseOne(golden), {
    type: FrameType.PRIORITY,
    flags: 0,
    streamId: 3,
    length: 5,
    payloadStart: 9,
    payloadEnd: 14,
  });
  assertEquals(
    written((out) => writePriority(out, 5, 3, false, 15)),
    u8(0, 0, 5, 0x2, 0x0, 0, 0, 0, 5, 0, 0, 0, 3, 15),
  );
});

Deno.test("RST_STREAM round trip (§6.4)", () => {
  const golden = u8(0, 0, 4, 0x3, 0x0, 0, 0, 0, 5, 0, 0, 0, 8);
  assertEquals(written((out) => writeRstStream(out, 5, ErrorCode.CANCEL)), golden);
  assertDecoded(parseOne(golden), {
    type: FrameType.RST_STREAM,
    flags: 0,
    streamId: 5,
    length: 4,
    payloadStart: 9,
    payloadEnd: 13,
    errorCode: ErrorCode.CANCEL,
  });
  // Unknown codes are read back as unsigned 32-bit values (§7).
  const odd = u8(0, 0, 4, 0x3, 0x0, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff);
  assertEquals(written((out) => writeRstStream(out, 1, 0xffffffff)), odd);
  assertEquals(parseOne(odd).errorCode, 0xffffffff);
});

Deno.test("SETTINGS round trip (§6.5)", () => {
  const golden = u8(
    ...[0, 0, 18, 0x4, 0x0, 0, 0, 0, 0],
    ...[0x00, 0x03, 0x00, 0x00, 0x00, 0x64], // MAX_CONCURRENT_STREAMS 100
    ...[0x00, 0x04, 0x7f, 0xff, 0xff, 0xff], // INITIAL_WINDOW_SIZE 2^31-1
    ...[0x00, 0x05, 0x00, 0xff, 0xff, 0xff], // MAX_FRAME_SIZE 2^24-1
  );
  const settings = [
    SettingId.MAX_CONCURRENT_STREAMS,
    100,
    SettingId.INITIAL_WINDOW_SIZE,
    MAX_WINDOW,
    SettingId.MAX_FRAME_SIZE,
    MAX_ALLOWED_FRAME_SIZE,
  ];
  assertEquals(written((out) => writeSettings(out, settings)), golden);
  const p = parseOne(golden);
  assertDecoded(p, {
    type: FrameType.SETTINGS,
    flags: 0,
    streamId: 0,
    length: 18,
    payloadStart: 9,
    payloadEnd: 27,
    settingsCount: 3,
  });
  const got: number[] = [];
  for (let i = 0; i < p.settingsCount; i++) got.push(p.readSettingId(i), p.readSettingValue(i));
  assertEquals(got, settings);
});

Deno.test("SETTINGS with no pairs, unknown ids and the boundary values round trip (§6.5.2)", () => {
  assertEquals(written((out) => writeSettings(out, [])), u8(0, 0, 0, 0x4, 0x0, 0, 0, 0, 0));
  assertEquals(parseOne(u8(0, 0, 0, 0x4, 0x0, 0, 0, 0, 0)).settingsCount, 0);
  const settings = [
    SettingId.HEADER_TABLE_SIZE,
    0xffffffff,
    SettingId.ENABLE_PUSH,
    0,
    SettingId.ENABLE_PUSH,
    1,
    SettingId.INITIAL_WINDOW_SIZE,
    0,
    SettingId.MAX_FRAME_SIZE,
    16384,
    SettingId.MAX_HEADER_LIST_SIZE,
    0xffffffff,
    0xabcd, // unknown: ignored (§6.5.2)
    0xffffffff,
  ];
  const bytes = written((out) => writeSettings(out, settings));
  assertEquals(
    Array.from(bytes.subarray(0, 15)),
    [0, 0, 42, 0x4, 0x0, 0, 0, 0, 0, 0x00, 0x01, 0xff, 0xff, 0xff, 0xff],
  );
  const p = parseOne(bytes);
  assertEquals(p.settingsCount, 7);
  const got: number[] = [];
  for (let i = 0; i < p.settingsCount; i++) got.push(p.readSettingId(i), p.readSettingValue(i));
  assertEquals(got, settings);
});

Deno.test("SETTINGS ACK round trip (§6.5)", () => {
  const golden = u8(0, 0, 0, 0x4, 0x1, 0, 0, 0, 0);
  assertEquals(written((out) => writeSettingsAck(out)), golden);
  assertDecoded(parseOne(golden), {
    type: FrameType.SETTINGS,
    flags: Flag.ACK,
    streamId: 0,
    length: 0,
    payloadStart: 9,
    payloadEnd: 9,
  });
});

Deno.test("PUSH_PROMISE round trip (§6.6)", () => {
  // END_HEADERS; promised stream 2; fragment 0x82.
  const golden = u8(0, 0, 5, 0x5, 0x4, 0, 0, 0, 1, 0, 0, 0, 2, 0x82);
  assertEquals(written((out) => writePushPromise(out, 1, 2, BLOCK, 0, 1, 16384)), golden);
  const p = parseOne(golden);
  assertDecoded(p, {
    type: FrameType.PUSH_PROMISE,
    flags: Flag.END_HEADERS,
    streamId: 1,
    length: 5,
    payloadStart: 13,
    payloadEnd: 14,
    promisedStreamId: 2,
  });
  assertEquals(payload(p), [0x82]);
});

Deno.test("FrameParser.next() reads a padded PUSH_PROMISE and clears the R bit (§6.6)", () => {
  // END_HEADERS | PADDED = 0x0c; Pad Length 2, R=1 promised 4, fragment 0x82, two zero octets.
  const golden = u8(0, 0, 8, 0x5, 0x0c, 0, 0, 0, 1, 2, 0x80, 0, 0, 4, 0x82, 0, 0);
  const p = parseOne(golden);
  assertDecoded(p, {
    type: FrameType.PUSH_PROMISE,
    flags: 0x0c,
    streamId: 1,
    length: 8,
    payloadStart: 14,
    payloadEnd: 15,
    promisedStreamId: 4,
  });
});

Deno.test("PING round trip (§6.7)", () => {
  const data = u8(1, 2, 3, 4, 5, 6, 7, 8);
  const golden = u8(0, 0, 8, 0x6, 0x0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8);
  assertEquals(written((out) => writePing(out, false, data)), golden);
  const p = parseOne(golden);
  assertDecoded(p, {
    type: FrameType.PING,
    flags: 0,
    streamId: 0,
    length: 8,
    payloadStart: 9,
    payloadEnd: 17,
  });
  assertEquals(payload(p), Array.from(data));
  const ack = u8(0, 0, 8, 0x6, 0x1, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8);
  assertEquals(written((out) => writePing(out, true, data)), ack);
  assertEquals(parseOne(ack).flags, Flag.ACK);
});

Deno.test("GOAWAY round trip (§6.8)", () => {
  // Last-Stream-ID 7, INTERNAL_ERROR, debug "hi".
  const golden = u8(0, 0, 10, 0x7, 0x0, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 2, 0x68, 0x69);
  assertEquals(
    written((out) => writeGoaway(out, 7, ErrorCode.INTERNAL_ERROR, u8(0x68, 0x69))),
    golden,
  );
  const p = parseOne(golden);
  assertDecoded(p, {
    type: FrameType.GOAWAY,
    flags: 0,
    streamId: 0,
    length: 10,
    payloadStart: 9,
    payloadEnd: 19,
    lastStreamId: 7,
    errorCode: ErrorCode.INTERNAL_ERROR,
  });
  assertEquals(Array.from(p.buf.subarray(p.payloadStart + 8, p.payloadEnd)), ascii("hi"));

  const plain = u8(0, 0, 8, 0x7, 0x0, 0, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0);
  assertEquals(written((out) => writeGoaway(out, MAX_WINDOW, ErrorCode.NO_ERROR)), plain);
  assertDecoded(parseOne(plain), {
    type: FrameType.GOAWAY,
    flags: 0,
    streamId: 0,
    length: 8,
    payloadStart: 9,
    payloadEnd: 17,
    lastStreamId: MAX_WINDOW,
  });
});

Deno.test("WINDOW_UPDATE round trip (§6.9)", () => {
  const conn = u8(0, 0, 4, 0x8, 0x0, 0, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff);
  assertEquals(written((out) => writeWindowUpdate(out, 0, MAX_WINDOW)), conn);
  assertDecoded(parseOne(conn), {
    type: FrameType.WINDOW_UPDATE,
    flags: 0,
    streamId: 0,
    length: 4,
    payloadStart: 9,
    payloadEnd: 13,
    windowIncrement: MAX_WINDOW,
  });
  const stream = u8(0, 0, 4, 0x8, 0x0, 0, 0, 0, 1, 0, 0, 0x03, 0xe8);
  assertEquals(written((out) => writeWindowUpdate(out, 1, 1000)), stream);
  assertEquals(parseOne(stream).windowIncrement, 1000);
  // The R bit is ignored on receipt (§6.9).
  assertEquals(
    parseOne(u8(0, 0, 4, 0x8, 0x0, 0, 0, 0, 1, 0x80, 0, 0x03, 0xe8)).windowIncrement,
    1000,
  );
});

Deno.test("CONTINUATION round trip (§6.10)", () => {
  const golden = u8(0, 0, 3, 0x9, 0x4, 0, 0, 0, 1, 0x82, 0x86, 0x84);
  assertEquals(written((out) => writeContinuation(out, 1, BLOCK, 0, 3, true)), golden);
  const p = parseOne(golden);
  assertDecoded(p, {
    type: FrameType.CONTINUATION,
    flags: Flag.END_HEADERS,
    streamId: 1,
    length: 3,
    payloadStart: 9,
    payloadEnd: 12,
  });
  assertEquals(
    written((out) => writeContinuation(out, 3, BLOCK, 1, 2, false)),
    u8(0, 0, 1, 0x9, 0x0, 0, 0, 0, 3, 0x86),
  );
});

Deno.test("FrameParser.next() returns an unknown frame type as it is (§4.1, §5.5)", () => {
  // Type 0xfa, all flags, stream 0, any payload: no validation beyond the size limit.
  const p = parseOne(raw(0xfa, 0xff, 0, [1, 2, 3]));
  assertDecoded(p, {
    type: 0xfa,
    flags: 0xff,
    streamId: 0,
    length: 3,
    payloadStart: 9,
    payloadEnd: 12,
  });
  assertEquals(parseOne(raw(0x0a, 0, 1, [])).type, 0x0a);
});

Deno.test("FrameParser.next() clears the reserved bit of the stream id (§4.1)", () => {
  assertEquals(parseOne(raw(FrameType.DATA, 0, 0x80000001, [9])).streamId, 1);
});

Deno.test("FrameParser.next() keeps flags undefined for the type (§4.1)", () => {
  // 0xf2 on DATA sets none of PADDED/END_STREAM but has undefined bits: kept, not acted on.
  const p = parseOne(raw(FrameType.DATA, 0xf2, 1, [7, 7]));
  assertEquals(p.flags, 0xf2);
  assertEquals(payload(p), [7, 7]);
});

// ---------------------------------------------------------------------------------------------
// Field blocks split over CONTINUATION
// ---------------------------------------------------------------------------------------------

/** Parses all frames in `bytes`; returns them as [type, flags, streamId, fragment]. */
function parseAll(bytes: Uint8Array): [number, number, number, Uint8Array][] {
  const p = new FrameParser();
  const frames: [number, number, number, Uint8Array][] = [];
  let pos = 0;
  while (pos < bytes.length) {
    const next = p.next(bytes, pos, bytes.length);
    assert(next > pos);
    frames.push([p.type, p.flags, p.streamId, bytes.slice(p.payloadStart, p.payloadEnd)]);
    pos = next;
  }
  return frames;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new WriteBuffer(16);
  for (const part of parts) out.bytes(part);
  return out.view().slice();
}

Deno.test("writeHeaders() splits 40000 octets into HEADERS + 2 CONTINUATION (§6.10)", () => {
  const block = new Uint8Array(40000).map((_, i) => i * 7);
  const bytes = written((out) => writeHeaders(out, 3, block, 0, block.length, true, 16384));
  assertEquals(bytes.length, 40000 + 3 * 9);
  // Headers by hand: 16384 = 0x004000, 7232 = 0x001c40.
  assertEquals(Array.from(bytes.subarray(0, 9)), [0, 0x40, 0, 0x1, 0x1, 0, 0, 0, 3]);
  assertEquals(
    Array.from(bytes.subarray(9 + 16384, 18 + 16384)),
    [0, 0x40, 0, 0x9, 0x0, 0, 0, 0, 3],
  );
  assertEquals(
    Array.from(bytes.subarray(18 + 32768, 27 + 32768)),
    [0, 0x1c, 0x40, 0x9, 0x4, 0, 0, 0, 3],
  );
  const frames = parseAll(bytes);
  assertEquals(frames.map(([t, f, s, b]) => [t, f, s, b.length]), [
    [FrameType.HEADERS, Flag.END_STREAM, 3, 16384],
    [FrameType.CONTINUATION, 0, 3, 16384],
    [FrameType.CONTINUATION, Flag.END_HEADERS, 3, 7232],
  ]);
  assertEquals(concat(frames.map((f) => f[3])), block);
});

Deno.test("writeHeaders() puts the padding in the HEADERS frame of a split block", () => {
  const block = new Uint8Array(20000).map((_, i) => i);
  const bytes = written((out) => writeHeaders(out, 1, block, 0, block.length, false, 16384, 10));
  const frames = parseAll(bytes);
  // HEADERS: 1 + 16373 + 10 = 16384 octets on the wire.
  assertEquals(Array.from(bytes.subarray(0, 10)), [0, 0x40, 0, 0x1, 0x8, 0, 0, 0, 1, 10]);
  assertEquals(Array.from(bytes.subarray(16383, 16393)), new Array(10).fill(0));
  assertEquals(frames.map(([t, f, , b]) => [t, f, b.length]), [
    [FrameType.HEADERS, Flag.PADDED, 16373],
    [FrameType.CONTINUATION, Flag.END_HEADERS, 20000 - 16373],
  ]);
  assertEquals(concat(frames.map((f) => f[3])), block);
});

Deno.test("writeHeaders() sends no empty CONTINUATION at an exact multiple", () => {
  const block = new Uint8Array(32768);
  let frames = parseAll(written((out) => writeHeaders(out, 1, block, 0, 16384, false, 16384)));
  assertEquals(frames.map(([t, f, , b]) => [t, f, b.length]), [
    [FrameType.HEADERS, Flag.END_HEADERS, 16384],
  ]);
  frames = parseAll(written((out) => writeHeaders(out, 1, block, 0, 32768, false, 16384)));
  assertEquals(frames.map(([t, f, , b]) => [t, f, b.length]), [
    [FrameType.HEADERS, 0, 16384],
    [FrameType.CONTINUATION, Flag.END_HEADERS, 16384],
  ]);
  // An empty block is one empty HEADERS frame with END_HEADERS.
  assertEquals(
    written((out) => writeHeaders(out, 1, block, 0, 0, true, 16384)),
    u8(0, 0, 0, 0x1, 0x5, 0, 0, 0, 1),
  );
});

Deno.test("writePushPromise() splits a large block over CONTINUATION", () => {
  const block = new Uint8Array(16384).map((_, i) => i);
  const bytes = written((out) => writePushPromise(out, 1, 2, block, 0, block.length, 16384));
  const p = new FrameParser();
  assertEquals(p.next(bytes, 0, bytes.length), 9 + 16384);
  assertEquals([p.type, p.flags, p.promisedStreamId, p.payloadEnd - p.payloadStart], [
    FrameType.PUSH_PROMISE,
    0,
    2,
    16380,
  ]);
  assertEquals(p.next(bytes, 9 + 16384, bytes.length), bytes.length);
  assertEquals([p.type, p.flags, p.length], [FrameType.CONTINUATION, Flag.END_HEADERS, 4]);
});

// ---------------------------------------------------------------------------------------------
// Streams of frames and partial input
// ---------------------------------------------------------------------------------------------

function sampleStream(): { bytes: Uint8Array; ends: number[] } {
  const out = new WriteBuffer(64);
  const ends: number[] = [];
  const mark = () => ends.push(out.length);
  writeSettings(out, [SettingId.MAX_CONCURRENT_STREAMS, 100]);
  mark();
  writeSettingsAck(out);
  mark();
  writeHeaders(out, 1, BLOCK, 0, 3, false, 16384, 3);
  mark();
  writeData(out, 1, u8(1, 2, 3, 4, 5), 0, 5, false, 2);
  mark();
  writeData(out, 1, u8(), 0, 0, true);
  mark();
  writeWindowUpdate(out, 0, 5);
  mark();
  writePing(out, false, u8(1, 2, 3, 4, 5, 6, 7, 8));
  mark();
  writeRstStream(out, 1, ErrorCode.CANCEL);
  mark();
  writeGoaway(out, 1, ErrorCode.NO_ERROR, u8(1));
  mark();
  return { bytes: out.view().slice(), ends };
}

Deno.test("FrameParser.next() parses several frames in one buffer in a loop", () => {
  const { bytes, ends } = sampleStream();
  const p = new FrameParser();
  const types: number[] = [];
  const got: number[] = [];
  let pos = 0;
  for (let next; (next = p.next(bytes, pos, bytes.length)) !== -1; pos = next) {
    types.push(p.type);
    got.push(next);
  }
  assertEquals(got, ends);
  assertEquals(pos, bytes.length);
  assertEquals(types, [
    FrameType.SETTINGS,
    FrameType.SETTINGS,
    FrameType.HEADERS,
    FrameType.DATA,
    FrameType.DATA,
    FrameType.WINDOW_UPDATE,
    FrameType.PING,
    FrameType.RST_STREAM,
    FrameType.GOAWAY,
  ]);
});

Deno.test("FrameParser.next() returns -1 or the right offset for every prefix", () => {
  const { bytes, ends } = sampleStream();
  const p = new FrameParser();
  // Place the frames at an offset in a larger buffer with junk around them: next() must only
  // look at buf[pos, end).
  const base = 5;
  const buf = new Uint8Array(base + bytes.length + 5).fill(0xff);
  buf.set(bytes, base);
  for (let n = 0; n <= bytes.length; n++) {
    const end = base + n;
    const got: number[] = [];
    let pos = base;
    for (let next; (next = p.next(buf, pos, end)) !== -1; pos = next) got.push(next - base);
    assertEquals(got, ends.filter((e) => e <= n), `prefix of ${n} octets`);
  }
});

Deno.test("FrameParser.next() resets streamError and decoded fields on every call", () => {
  const p = new FrameParser();
  const selfDep = raw(FrameType.PRIORITY, 0, 3, [0, 0, 0, 3, 16]);
  assertEquals(p.next(selfDep, 0, selfDep.length), selfDep.length);
  assertEquals(p.streamError, ErrorCode.PROTOCOL_ERROR);
  const goaway = raw(FrameType.GOAWAY, 0, 0, [0, 0, 0, 9, 0, 0, 0, 2]);
  p.next(goaway, 0, goaway.length);
  assertEquals([p.streamError, p.lastStreamId, p.errorCode], [0, 9, 2]);
  const ping = raw(FrameType.PING, 0, 0, [0, 0, 0, 0, 0, 0, 0, 0]);
  p.next(ping, 0, ping.length);
  assertEquals([p.streamError, p.lastStreamId, p.errorCode], [0, 0, 0]);
});

// ---------------------------------------------------------------------------------------------
// Malformed input: frame size
// ---------------------------------------------------------------------------------------------

Deno.test("FrameParser.next() rejects an oversized frame from its header alone (§4.2)", () => {
  // 9 header octets declaring 16385 octets, no payload present yet.
  assertConnError(raw(FrameType.DATA, 0, 1, [], 16385), ErrorCode.FRAME_SIZE_ERROR);
  assertConnError(raw(0xfa, 0, 0, [], MAX_ALLOWED_FRAME_SIZE), ErrorCode.FRAME_SIZE_ERROR);
});

Deno.test("FrameParser.next() waits for a frame within a raised maxFrameSize", () => {
  const p = new FrameParser();
  p.maxFrameSize = 16385;
  const header = raw(FrameType.DATA, 0, 1, [], 16385);
  assertEquals(p.next(header, 0, header.length), -1);
  assertConnError(raw(FrameType.DATA, 0, 1, [], 16386), ErrorCode.FRAME_SIZE_ERROR, p);
});

Deno.test("FrameParser.next() accepts a frame of exactly maxFrameSize", () => {
  const bytes = written((out) => writeData(out, 1, new Uint8Array(16384), 0, 16384, false));
  assertEquals(parseOne(bytes).length, 16384);
});

// ---------------------------------------------------------------------------------------------
// Malformed input: stream 0 rules
// ---------------------------------------------------------------------------------------------

Deno.test("FrameParser.next() rejects DATA on stream 0 (§6.1)", () => {
  assertConnError(raw(FrameType.DATA, 0, 0, [1]), ErrorCode.PROTOCOL_ERROR);
});

Deno.test("FrameParser.next() rejects HEADERS on stream 0 (§6.2)", () => {
  assertConnError(raw(FrameType.HEADERS, 0x4, 0, [0x82]), ErrorCode.PROTOCOL_ERROR);
});

Deno.test("FrameParser.next() rejects PRIORITY on stream 0 (§6.3)", () => {
  assertConnError(raw(FrameType.PRIORITY, 0, 0, [0, 0, 0, 1, 16]), ErrorCode.PROTOCOL_ERROR);
});

Deno.test("FrameParser.next() rejects RST_STREAM on stream 0 (§6.4)", () => {
  assertConnError(raw(FrameType.RST_STREAM, 0, 0, [0, 0, 0, 8]), ErrorCode.PROTOCOL_ERROR);
});

Deno.test("FrameParser.next() rejects PUSH_PROMISE on stream 0 (§6.6)", () => {
  assertConnError(raw(FrameType.PUSH_PROMISE, 0x4, 0, [0, 0, 0, 2]), ErrorCode.PROTOCOL_ERROR);
});

Deno.test("FrameParser.next() rejects CONTINUATION on stream 0 (§6.10)", () => {
  assertConnError(raw(FrameType.CONTINUATION, 0x4, 0, [0x82]), ErrorCode.PROTOCOL_ERROR);
});

Deno.test("FrameParser.next() rejects SETTINGS on stream 1 (§6.5)", () => {
  assertConnError(raw(FrameType.SETTINGS, 0, 1, []), ErrorCode.PROTOCOL_ERROR);
});

Deno.test("FrameParser.next() rejects PING on stream 1 (§6.7)", () => {
  assertConnError(raw(FrameType.PING, 0, 1, [0, 0, 0, 0, 0, 0, 0, 0]), ErrorCode.PROTOCOL_ERROR);
});

Deno.test("FrameParser.next() rejects GOAWAY on stream 1 (§6.8)", () => {
  assertConnError(raw(FrameType.GOAWAY, 0, 1, [0, 0, 0, 0, 0, 0, 0, 0]), ErrorCode.PROTOCOL_ERROR);
});

// ---------------------------------------------------------------------------------------------
// Malformed input: length rules
// ---------------------------------------------------------------------------------------------

Deno.test("FrameParser.next() rejects a SETTINGS ACK with a payload (§6.5)", () => {
  assertConnError(
    raw(FrameType.SETTINGS, Flag.ACK, 0, [0, 3, 0, 0, 0, 1]),
    ErrorCode.FRAME_SIZE_ERROR,
  );
});

Deno.test("FrameParser.next() rejects a SETTINGS of 5 bytes (§6.5)", () => {
  assertConnError(raw(FrameType.SETTINGS, 0, 0, [0, 3, 0, 0, 0]), ErrorCode.FRAME_SIZE_ERROR);
});

Deno.test("FrameParser.next() rejects a SETTINGS of 13 bytes (§6.5)", () => {
  assertConnError(raw(FrameType.SETTINGS, 0, 0, new Array(13).fill(0)), ErrorCode.FRAME_SIZE_ERROR);
});

Deno.test("FrameParser.next() rejects a PING of 7 bytes (§6.7)", () => {
  assertConnError(raw(FrameType.PING, 0, 0, [0, 0, 0, 0, 0, 0, 0]), ErrorCode.FRAME_SIZE_ERROR);
});

Deno.test("FrameParser.next() rejects a PING of 9 bytes (§6.7)", () => {
  assertConnError(
    raw(FrameType.PING, Flag.ACK, 0, new Array(9).fill(0)),
    ErrorCode.FRAME_SIZE_ERROR,
  );
});

Deno.test("FrameParser.next() rejects a RST_STREAM of 3 bytes (§6.4)", () => {
  assertConnError(raw(FrameType.RST_STREAM, 0, 1, [0, 0, 8]), ErrorCode.FRAME_SIZE_ERROR);
});

Deno.test("FrameParser.next() rejects a RST_STREAM of 5 bytes (§6.4)", () => {
  assertConnError(raw(FrameType.RST_STREAM, 0, 1, [0, 0, 0, 8, 0]), ErrorCode.FRAME_SIZE_ERROR);
});

Deno.test("FrameParser.next() rejects a WINDOW_UPDATE of 3 bytes (§6.9)", () => {
  assertConnError(raw(FrameType.WINDOW_UPDATE, 0, 0, [0, 0, 1]), ErrorCode.FRAME_SIZE_ERROR);
});

Deno.test("FrameParser.next() rejects a WINDOW_UPDATE of 5 bytes on a stream (§6.9)", () => {
  assertConnError(raw(FrameType.WINDOW_UPDATE, 0, 1, [0, 0, 0, 1, 0]), ErrorCode.FRAME_SIZE_ERROR);
});

Deno.test("FrameParser.next() rejects a GOAWAY of 7 bytes (§6.8)", () => {
  assertConnError(raw(FrameType.GOAWAY, 0, 0, [0, 0, 0, 1, 0, 0, 0]), ErrorCode.FRAME_SIZE_ERROR);
});

Deno.test("FrameParser.next() rejects a PRIORITY HEADERS of 4 bytes (§6.2, §4.2)", () => {
  assertConnError(raw(FrameType.HEADERS, 0x24, 1, [0, 0, 0, 3]), ErrorCode.FRAME_SIZE_ERROR);
});

Deno.test("FrameParser.next() rejects a PUSH_PROMISE of 3 bytes (§6.6, §4.2)", () => {
  assertConnError(raw(FrameType.PUSH_PROMISE, 0x4, 1, [0, 0, 2]), ErrorCode.FRAME_SIZE_ERROR);
});

// ---------------------------------------------------------------------------------------------
// Malformed input: padding
// ---------------------------------------------------------------------------------------------

Deno.test("FrameParser.next() rejects a PADDED DATA of 0 bytes (§6.1, §4.2)", () => {
  assertConnError(raw(FrameType.DATA, Flag.PADDED, 1, []), ErrorCode.FRAME_SIZE_ERROR);
});

Deno.test("FrameParser.next() rejects DATA padding as long as the payload (§6.1)", () => {
  assertConnError(raw(FrameType.DATA, Flag.PADDED, 1, [5, 0, 0, 0, 0]), ErrorCode.PROTOCOL_ERROR);
  assertConnError(raw(FrameType.DATA, Flag.PADDED, 1, [1]), ErrorCode.PROTOCOL_ERROR);
  assertConnError(raw(FrameType.DATA, Flag.PADDED, 1, [255, 1, 2]), ErrorCode.PROTOCOL_ERROR);
});

Deno.test("FrameParser.next() rejects a PADDED HEADERS of 0 bytes (§6.2, §4.2)", () => {
  assertConnError(raw(FrameType.HEADERS, 0x0c, 1, []), ErrorCode.FRAME_SIZE_ERROR);
});

Deno.test("FrameParser.next() rejects HEADERS padding longer than the fragment (§6.2)", () => {
  // Pad Length 4 with 3 octets after it; Pad Length 3 would fit (empty fragment).
  assertConnError(raw(FrameType.HEADERS, 0x0c, 1, [4, 0x82, 0, 0]), ErrorCode.PROTOCOL_ERROR);
  assertEquals(payload(parseOne(raw(FrameType.HEADERS, 0x0c, 1, [3, 0x82, 0, 0]))), []);
});

Deno.test("FrameParser.next() rejects a PADDED PRIORITY HEADERS of 5 bytes (§6.2, §4.2)", () => {
  assertConnError(raw(FrameType.HEADERS, 0x2c, 1, [0, 0, 0, 0, 3]), ErrorCode.FRAME_SIZE_ERROR);
});

Deno.test("FrameParser.next() rejects HEADERS padding eating the priority fields (§6.2)", () => {
  // Pad Length 2, then 5 priority octets and one more: only 1 octet left for 2 of padding.
  assertConnError(
    raw(FrameType.HEADERS, 0x2c, 1, [2, 0, 0, 0, 0, 15, 0]),
    ErrorCode.PROTOCOL_ERROR,
  );
  // Pad Length 1 fits exactly: empty fragment.
  const p = parseOne(raw(FrameType.HEADERS, 0x2c, 1, [1, 0, 0, 0, 0, 15, 0]));
  assertEquals([p.payloadStart, p.payloadEnd], [15, 15]);
});

Deno.test("FrameParser.next() rejects a PADDED PUSH_PROMISE of 4 bytes (§6.6, §4.2)", () => {
  assertConnError(raw(FrameType.PUSH_PROMISE, 0x0c, 1, [0, 0, 0, 2]), ErrorCode.FRAME_SIZE_ERROR);
});

Deno.test("FrameParser.next() rejects PUSH_PROMISE padding longer than the fragment (§6.6)", () => {
  assertConnError(
    raw(FrameType.PUSH_PROMISE, 0x0c, 1, [2, 0, 0, 0, 2, 0]),
    ErrorCode.PROTOCOL_ERROR,
  );
});

// ---------------------------------------------------------------------------------------------
// Malformed input: SETTINGS values (§6.5.2)
// ---------------------------------------------------------------------------------------------

function settingsFrame(id: number, value: number): Uint8Array {
  return written((out) => writeSettings(out, [SettingId.HEADER_TABLE_SIZE, 4096, id, value]));
}

Deno.test("FrameParser.next() rejects SETTINGS_ENABLE_PUSH 2", () => {
  assertConnError(settingsFrame(SettingId.ENABLE_PUSH, 2), ErrorCode.PROTOCOL_ERROR);
  assertConnError(settingsFrame(SettingId.ENABLE_PUSH, 0xffffffff), ErrorCode.PROTOCOL_ERROR);
});

Deno.test("FrameParser.next() rejects SETTINGS_INITIAL_WINDOW_SIZE 2^31", () => {
  assertConnError(
    settingsFrame(SettingId.INITIAL_WINDOW_SIZE, 2 ** 31),
    ErrorCode.FLOW_CONTROL_ERROR,
  );
  assertEquals(
    parseOne(settingsFrame(SettingId.INITIAL_WINDOW_SIZE, 2 ** 31 - 1)).settingsCount,
    2,
  );
});

Deno.test("FrameParser.next() rejects SETTINGS_MAX_FRAME_SIZE 16383", () => {
  assertConnError(settingsFrame(SettingId.MAX_FRAME_SIZE, 16383), ErrorCode.PROTOCOL_ERROR);
  assertEquals(parseOne(settingsFrame(SettingId.MAX_FRAME_SIZE, 16384)).settingsCount, 2);
});

Deno.test("FrameParser.next() rejects SETTINGS_MAX_FRAME_SIZE 2^24", () => {
  assertConnError(settingsFrame(SettingId.MAX_FRAME_SIZE, 2 ** 24), ErrorCode.PROTOCOL_ERROR);
  assertEquals(parseOne(settingsFrame(SettingId.MAX_FRAME_SIZE, 2 ** 24 - 1)).settingsCount, 2);
});

// ---------------------------------------------------------------------------------------------
// Malformed input: WINDOW_UPDATE and PRIORITY rules
// ---------------------------------------------------------------------------------------------

Deno.test("FrameParser.next() rejects WINDOW_UPDATE increment 0 on stream 0 (§6.9)", () => {
  assertConnError(raw(FrameType.WINDOW_UPDATE, 0, 0, [0, 0, 0, 0]), ErrorCode.PROTOCOL_ERROR);
  // Only the R bit set: still an increment of 0.
  assertConnError(raw(FrameType.WINDOW_UPDATE, 0, 0, [0x80, 0, 0, 0]), ErrorCode.PROTOCOL_ERROR);
});

Deno.test("FrameParser.next() flags WINDOW_UPDATE increment 0 on stream 1 as a stream error", () => {
  const p = assertStreamError(
    raw(FrameType.WINDOW_UPDATE, 0, 1, [0, 0, 0, 0]),
    ErrorCode.PROTOCOL_ERROR,
  );
  assertEquals([p.type, p.streamId, p.windowIncrement], [FrameType.WINDOW_UPDATE, 1, 0]);
});

Deno.test("FrameParser.next() flags a PRIORITY depending on itself as a stream error (§5.3.1)", () => {
  // E bit set, dependency 3 on stream 3.
  const p = assertStreamError(
    raw(FrameType.PRIORITY, 0, 3, [0x80, 0, 0, 3, 16]),
    ErrorCode.PROTOCOL_ERROR,
  );
  assertEquals(p.streamId, 3);
});

Deno.test("FrameParser.next() flags a PRIORITY of 4 bytes as a stream error (§6.3)", () => {
  assertStreamError(raw(FrameType.PRIORITY, 0, 3, [0, 0, 0, 1]), ErrorCode.FRAME_SIZE_ERROR);
  assertStreamError(raw(FrameType.PRIORITY, 0, 3, [0, 0, 0, 3, 16, 0]), ErrorCode.FRAME_SIZE_ERROR);
});

Deno.test("FrameParser.next() flags HEADERS depending on itself as a stream error (§5.3.1)", () => {
  const p = assertStreamError(
    raw(FrameType.HEADERS, 0x24, 5, [0, 0, 0, 5, 15, 0x82]),
    ErrorCode.PROTOCOL_ERROR,
  );
  assertEquals(payload(p), [0x82]);
});

// ---------------------------------------------------------------------------------------------
// Writer argument checks
// ---------------------------------------------------------------------------------------------

Deno.test("writers reject arguments that would corrupt the wire", () => {
  const out = new WriteBuffer(16);
  assertThrows(() => writePing(out, false, u8(1, 2, 3, 4, 5, 6, 7)), RangeError);
  assertThrows(() => writeSettings(out, [1]), RangeError);
  assertThrows(() => writeWindowUpdate(out, 0, 0), RangeError);
  assertThrows(() => writeWindowUpdate(out, 0, 2 ** 31), RangeError);
  assertThrows(() => writeData(out, 1, u8(), 0, 0, false, 256), RangeError);
  assertThrows(() => writeHeaders(out, 1, BLOCK, 0, 3, false, 0), RangeError);
  assertThrows(() => writeHeaders(out, 1, BLOCK, 0, 3, false, 10, 10), RangeError);
  assertThrows(() => writePushPromise(out, 1, 2, BLOCK, 0, 3, 3), RangeError);
  assertThrows(() => writeFrameHeader(out, 2 ** 24, 0, 0, 1), RangeError);
  assertEquals(out.length, 0);
});

Deno.test("writers append after existing content and zero the padding of a reused buffer", () => {
  const out = new WriteBuffer(16);
  writeSettingsAck(out);
  out.buf.fill(0xee, out.length);
  writeData(out, 1, u8(9), 0, 1, false, 3);
  assertEquals(
    out.view(),
    u8(0, 0, 0, 0x4, 0x1, 0, 0, 0, 0, 0, 0, 5, 0x0, 0x8, 0, 0, 0, 1, 3, 9, 0, 0, 0),
  );
});
