// Tests for frame.ts: constants, FrameParser on streams of frames and partial input, and every
// malformed-input rule (golden frames both ways are in frame_writer_test.ts).

import { assertEquals, assertThrows } from "@std/assert";
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
  writeData,
  writeGoaway,
  writeHeaders,
  writePing,
  writeRstStream,
  writeSettings,
  writeSettingsAck,
  writeWindowUpdate,
} from "./frame_writer.ts";
import { BLOCK, parseOne, payload, raw, u8, written } from "./_frame_testing.ts";

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

function assertConnError(bytes: Uint8Array, code: number, parser = new FrameParser()): void {
  const e = assertThrows(() => parser.next(bytes, 0, bytes.length), ConnectionError);
  assertEquals(errorCodeName(e.code), errorCodeName(code), e.message);
}

function assertStreamError(bytes: Uint8Array, code: number): FrameParser {
  const p = parseOne(bytes);
  assertEquals(errorCodeName(p.streamError), errorCodeName(code));
  return p;
}

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
