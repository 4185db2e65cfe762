// Tests for frame_writer.ts. Golden frames are typed by hand from the RFC 9113 §6 layouts and checked
// both ways: the writer must produce them byte for byte and the parser must read every field back.

import { assert, assertEquals, assertThrows } from "@std/assert";
import { WriteBuffer } from "./buffer.ts";
import {
  ErrorCode,
  Flag,
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
import { BLOCK, parseOne, payload, raw, u8, written } from "./_frame_testing.ts";

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

function ascii(s: string): number[] {
  return Array.from(s, (c) => c.charCodeAt(0));
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
