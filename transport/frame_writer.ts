// HTTP/2 frame writers (RFC 9113 §6): each appends one complete frame to a WriteBuffer.
//
// Frame layout, constants and the parser: frame.ts. Hot path (DENO-PLATFORM.md §0, §10): no
// allocation per frame; errors are the exception, they build a message only when thrown.

import type { WriteBuffer } from "./buffer.ts";

// Local copies of frame.ts's numbers the writers use (plain module constants, as in frame.ts, so
// the per-frame checks compare with a literal, not an imported binding).
const MAX_ALLOWED_FRAME_SIZE = 16777215, MAX_WINDOW = 2147483647;
const DATA = 0x0, HEADERS = 0x1, PRIORITY = 0x2, RST_STREAM = 0x3, SETTINGS = 0x4;
const PUSH_PROMISE = 0x5, PING = 0x6, GOAWAY = 0x7, WINDOW_UPDATE = 0x8, CONTINUATION = 0x9;
const FLAG_ACK = 0x1, FLAG_END_STREAM = 0x1, FLAG_END_HEADERS = 0x4, FLAG_PADDED = 0x8;

// Each writer reserves the whole frame with one `out.ensure()`, then stores octets into `out.buf`
// at a local index and advances `out.length` once. Arguments are trusted (transport-internal);
// only what would corrupt the wire (a length over 24 bits, pad length over 8 bits, a
// non-terminating split) is checked, with a RangeError.

/** Stores a frame header at `b[i]`; returns `i + 9`. */
function putHeader(
  b: Uint8Array,
  i: number,
  length: number,
  type: number,
  flags: number,
  streamId: number,
): number {
  b[i] = length >>> 16;
  b[i + 1] = length >>> 8;
  b[i + 2] = length;
  b[i + 3] = type;
  b[i + 4] = flags;
  b[i + 5] = (streamId >>> 24) & 0x7f; // R bit sent as 0 (§4.1)
  b[i + 6] = streamId >>> 16;
  b[i + 7] = streamId >>> 8;
  b[i + 8] = streamId;
  return i + 9;
}

/** Stores a 32-bit big-endian value at `b[i]`; returns `i + 4`. */
function putU32(b: Uint8Array, i: number, v: number): number {
  b[i] = v >>> 24;
  b[i + 1] = v >>> 16;
  b[i + 2] = v >>> 8;
  b[i + 3] = v;
  return i + 4;
}

/** Copies `src[start, end)` to `dst[at]`; returns the index after it. */
function putBytes(
  dst: Uint8Array,
  at: number,
  src: Uint8Array,
  start: number,
  end: number,
): number {
  const n = end - start;
  if (n < 64) {
    // Short copies are cheaper as a loop than as a subarray + set (DENO-PLATFORM.md §10).
    for (let i = start; i < end; i++) dst[at++] = src[i];
    return at;
  }
  dst.set(start === 0 && end === src.length ? src : src.subarray(start, end), at);
  return at + n;
}

function checkLength(what: string, length: number): void {
  if (length > MAX_ALLOWED_FRAME_SIZE) {
    throw new RangeError(`Cannot write ${what}: payload length ${length} exceeds 16777215`);
  }
}

function checkPad(what: string, padLength: number): void {
  if (!(padLength >= 0 && padLength <= 255)) {
    throw new RangeError(`Cannot write ${what}: pad length ${padLength} is outside [0, 255]`);
  }
}

/**
 * Appends a frame header (§4.1); the caller appends `length` payload octets after it.
 * @param out the output buffer
 * @param length payload length, at most 2^24 - 1
 * @param type frame type
 * @param flags frame flags
 * @param streamId stream identifier (reserved bit sent as 0)
 */
export function writeFrameHeader(
  out: WriteBuffer,
  length: number,
  type: number,
  flags: number,
  streamId: number,
): void {
  checkLength("frame header", length);
  out.ensure(9);
  out.length = putHeader(out.buf, out.length, length, type, flags, streamId);
}

/**
 * Appends a DATA frame (§6.1) carrying `src[start, end)`. The caller keeps the data within the
 * peer's SETTINGS_MAX_FRAME_SIZE and flow-control windows.
 * @param padLength 0 (no PADDED flag) or 1–255 zero octets of padding, which sets PADDED
 */
export function writeData(
  out: WriteBuffer,
  streamId: number,
  src: Uint8Array,
  start: number,
  end: number,
  endStream: boolean,
  padLength = 0,
): void {
  const n = end - start;
  let flags = endStream ? FLAG_END_STREAM : 0;
  if (padLength === 0) {
    checkLength("DATA", n);
    out.ensure(9 + n);
    const i = putHeader(out.buf, out.length, n, DATA, flags, streamId);
    out.length = putBytes(out.buf, i, src, start, end);
    return;
  }
  checkPad("DATA", padLength);
  const length = 1 + n + padLength;
  checkLength("DATA", length);
  flags |= FLAG_PADDED;
  out.ensure(9 + length);
  const b = out.buf;
  let i = putHeader(b, out.length, length, DATA, flags, streamId);
  b[i++] = padLength;
  i = putBytes(b, i, src, start, end);
  b.fill(0, i, i + padLength); // §6.1: padding octets MUST be zero (the buffer is reused)
  out.length = i + padLength;
}

/**
 * Appends a field block as HEADERS (§6.2) plus as many CONTINUATION frames (§6.10) as needed so
 * that no frame exceeds `maxFrameSize`; END_HEADERS goes on the last one, END_STREAM on the
 * HEADERS frame.
 * @param maxFrameSize the peer's SETTINGS_MAX_FRAME_SIZE
 * @param padLength 0, or 1–255 zero octets of padding in the HEADERS frame (sets PADDED)
 * @throws {RangeError} when `maxFrameSize` is not in [1, 2^24 - 1] or the padding does not fit
 */
export function writeHeaders(
  out: WriteBuffer,
  streamId: number,
  block: Uint8Array,
  start: number,
  end: number,
  endStream: boolean,
  maxFrameSize: number,
  padLength = 0,
): void {
  checkPad("HEADERS", padLength);
  const extra = padLength === 0 ? 0 : 1 + padLength;
  checkSplit("HEADERS", maxFrameSize, extra);
  let flags = endStream ? FLAG_END_STREAM : 0;
  if (padLength !== 0) flags |= FLAG_PADDED;
  writeFieldBlock(out, HEADERS, flags, streamId, -1, block, start, end, maxFrameSize, padLength);
}

/**
 * Appends a PUSH_PROMISE (§6.6) for `promisedId` plus CONTINUATION frames as needed (no padding).
 * @param maxFrameSize the peer's SETTINGS_MAX_FRAME_SIZE
 * @throws {RangeError} when `maxFrameSize` is not in [4, 2^24 - 1]
 */
export function writePushPromise(
  out: WriteBuffer,
  streamId: number,
  promisedId: number,
  block: Uint8Array,
  start: number,
  end: number,
  maxFrameSize: number,
): void {
  checkSplit("PUSH_PROMISE", maxFrameSize, 4);
  writeFieldBlock(out, PUSH_PROMISE, 0, streamId, promisedId, block, start, end, maxFrameSize, 0);
}

function checkSplit(what: string, maxFrameSize: number, extra: number): void {
  if (!(maxFrameSize >= 1 && maxFrameSize <= MAX_ALLOWED_FRAME_SIZE && extra <= maxFrameSize)) {
    throw new RangeError(
      `Cannot write ${what}: maxFrameSize ${maxFrameSize} is outside [${
        Math.max(1, extra)
      }, 16777215]`,
    );
  }
}

// HEADERS or PUSH_PROMISE (when promisedId >= 0) + CONTINUATIONs.
function writeFieldBlock(
  out: WriteBuffer,
  type: number,
  flags: number,
  streamId: number,
  promisedId: number,
  block: Uint8Array,
  start: number,
  end: number,
  maxFrameSize: number,
  padLength: number,
): void {
  const n = end - start;
  // Octets before the fragment in the first frame, and after it.
  const pre = (padLength !== 0 ? 1 : 0) + (promisedId >= 0 ? 4 : 0);
  const firstRoom = maxFrameSize - pre - padLength;
  const firstN = n <= firstRoom ? n : firstRoom;
  const rest = n - firstN;
  const continuations = rest === 0 ? 0 : Math.ceil(rest / maxFrameSize);
  out.ensure(9 * (1 + continuations) + pre + n + padLength);
  const b = out.buf;

  let p = start + firstN;
  if (continuations === 0) flags |= FLAG_END_HEADERS;
  let i = putHeader(b, out.length, pre + firstN + padLength, type, flags, streamId);
  if (padLength !== 0) b[i++] = padLength;
  if (promisedId >= 0) i = putU32(b, i, promisedId & 0x7fffffff);
  i = putBytes(b, i, block, start, p);
  if (padLength !== 0) {
    b.fill(0, i, i + padLength); // §6.2: padding octets MUST be zero
    i += padLength;
  }
  for (let c = 1; c <= continuations; c++) {
    const q = c === continuations ? end : p + maxFrameSize;
    i = putHeader(b, i, q - p, CONTINUATION, c === continuations ? FLAG_END_HEADERS : 0, streamId);
    i = putBytes(b, i, block, p, q);
    p = q;
  }
  out.length = i;
}

/**
 * Appends one CONTINUATION frame (§6.10) carrying `block[start, end)`.
 * @param endHeaders set END_HEADERS (the last frame of the field block)
 */
export function writeContinuation(
  out: WriteBuffer,
  streamId: number,
  block: Uint8Array,
  start: number,
  end: number,
  endHeaders: boolean,
): void {
  const n = end - start;
  checkLength("CONTINUATION", n);
  out.ensure(9 + n);
  const i = putHeader(
    out.buf,
    out.length,
    n,
    CONTINUATION,
    endHeaders ? FLAG_END_HEADERS : 0,
    streamId,
  );
  out.length = putBytes(out.buf, i, block, start, end);
}

/**
 * Appends a PRIORITY frame (§6.3): E + Stream Dependency (31), Weight (8).
 * @param weight the Weight octet as on the wire, 0–255 (the priority weight minus one, §6.3)
 */
export function writePriority(
  out: WriteBuffer,
  streamId: number,
  dependency: number,
  exclusive: boolean,
  weight: number,
): void {
  out.ensure(14);
  const b = out.buf;
  let i = putHeader(b, out.length, 5, PRIORITY, 0, streamId);
  i = putU32(b, i, (dependency & 0x7fffffff) | (exclusive ? 0x80000000 : 0));
  b[i] = weight;
  out.length = i + 1;
}

/** Appends a RST_STREAM frame (§6.4) with error `code`. */
export function writeRstStream(out: WriteBuffer, streamId: number, code: number): void {
  out.ensure(13);
  const i = putHeader(out.buf, out.length, 4, RST_STREAM, 0, streamId);
  out.length = putU32(out.buf, i, code);
}

/**
 * Appends a SETTINGS frame (§6.5) from flat pairs.
 * @param settings `[id, value, id, value, …]`
 * @throws {RangeError} when `settings` has an odd length
 */
export function writeSettings(out: WriteBuffer, settings: readonly number[]): void {
  const n = settings.length;
  if (n % 2 !== 0) {
    throw new RangeError(`Cannot write SETTINGS: ${n} numbers do not make (id, value) pairs`);
  }
  const length = n * 3; // 6 octets per pair
  out.ensure(9 + length);
  const b = out.buf;
  let i = putHeader(b, out.length, length, SETTINGS, 0, 0);
  for (let k = 0; k < n; k += 2) {
    const id = settings[k];
    b[i] = id >>> 8;
    b[i + 1] = id;
    i = putU32(b, i + 2, settings[k + 1]);
  }
  out.length = i;
}

/** Appends an empty SETTINGS frame with ACK (§6.5.3). */
export function writeSettingsAck(out: WriteBuffer): void {
  out.ensure(9);
  out.length = putHeader(out.buf, out.length, 0, SETTINGS, FLAG_ACK, 0);
}

/**
 * Appends a PING frame (§6.7).
 * @param ack set ACK (a response, echoing the received data)
 * @param data exactly 8 opaque octets
 * @throws {RangeError} when `data` is not 8 octets
 */
export function writePing(out: WriteBuffer, ack: boolean, data: Uint8Array): void {
  if (data.length !== 8) {
    throw new RangeError(`Cannot write PING: data has ${data.length} octets, want 8`);
  }
  out.ensure(17);
  const b = out.buf;
  let i = putHeader(b, out.length, 8, PING, ack ? FLAG_ACK : 0, 0);
  for (let k = 0; k < 8; k++) b[i++] = data[k];
  out.length = i;
}

/**
 * Appends a GOAWAY frame (§6.8): Last-Stream-ID (31), Error Code (32), Additional Debug Data.
 * @param debug optional opaque debug data
 */
export function writeGoaway(
  out: WriteBuffer,
  lastStreamId: number,
  code: number,
  debug?: Uint8Array,
): void {
  const d = debug === undefined ? 0 : debug.length;
  checkLength("GOAWAY", 8 + d);
  out.ensure(17 + d);
  const b = out.buf;
  let i = putHeader(b, out.length, 8 + d, GOAWAY, 0, 0);
  i = putU32(b, i, lastStreamId & 0x7fffffff);
  i = putU32(b, i, code);
  if (debug !== undefined) i = putBytes(b, i, debug, 0, d);
  out.length = i;
}

/**
 * Appends a WINDOW_UPDATE frame (§6.9).
 * @param streamId 0 for the connection window
 * @param increment 1 to 2^31 - 1
 * @throws {RangeError} when `increment` is out of range (0 would be a PROTOCOL_ERROR, §6.9)
 */
export function writeWindowUpdate(out: WriteBuffer, streamId: number, increment: number): void {
  if (!(increment >= 1 && increment <= MAX_WINDOW)) {
    throw new RangeError(
      `Cannot write WINDOW_UPDATE: increment ${increment} is outside [1, 2147483647]`,
    );
  }
  out.ensure(13);
  const i = putHeader(out.buf, out.length, 4, WINDOW_UPDATE, 0, streamId);
  out.length = putU32(out.buf, i, increment);
}
