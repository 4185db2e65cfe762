// Bounded, verified decompression for zstd and brotli on node:zlib's native handles: stops at a
// byte budget (zip bombs) and refuses truncated, corrupt or trailing input.
//
// Why not `zstdDecompressSync` / `brotliDecompressSync` with `maxOutputLength`: they do stop at the
// budget, but on Deno 2.9.6 they also return whatever was decoded from a truncated or corrupt
// stream without an error (node reports "unexpected end of file"), and zstd stops after the first
// frame of several (RFC 8878 §3.1: data is one or more frames). So we drive the handle the sync
// functions use ourselves, and check completeness on our side:
//
// - zstd: before decoding, walk the frames' structure (headers, block sizes, last-block flags,
//   checksums; RFC 8878 §3.1), so truncated or trailing bytes are refused up front. The decoder
//   then reports corrupt block contents itself, and stops at each frame's end; we go on with the
//   next frame until all input is consumed.
// - brotli is one bit stream we cannot walk cheaply. The input is copied with one sentinel byte
//   after it: a decoder that reaches the end of a complete stream stops there and leaves the
//   sentinel; one still inside the stream (truncated) swallows it and asks for more. Input left
//   besides the sentinel is trailing garbage, or where a corrupt stream stopped (Deno reports no
//   brotli decoder error either).
import { constants, createBrotliDecompress, createZstdDecompress } from "node:zlib";
import { Code, StatusError } from "../status.ts";

/** The part of node:zlib's native handle (`stream._handle`) we use. */
interface NativeHandle {
  writeSync(
    flush: number,
    input: Uint8Array,
    inOff: number,
    inLen: number,
    out: Uint8Array,
    outOff: number,
    outLen: number,
  ): void;
  reset(): void;
  close(): void;
  onerror?: (message: string, errno: number) => void;
}

interface NativeStream {
  _handle: NativeHandle;
  // [avail_out, avail_in] after the last writeSync.
  _writeState: Uint32Array;
}

/** The algorithms decoded here. */
export type BoundedAlgorithm = "zstd" | "br";

// First output chunk; each next one doubles (up to MAX_CHUNK), so a large message takes few
// native calls and at most twice its size in chunks before the one final copy.
const FIRST_CHUNK = 16 * 1024;
const MAX_CHUNK = 4 * 1024 * 1024;

/**
 * Decompresses a whole zstd stream (one or more frames) or brotli stream into at most `maxSize`
 * bytes. Output chunks never add up to more than `maxSize` + 1 bytes (then one copy joins them);
 * the decoders' own windows are bounded by their formats (zstd: 128 MiB, touched only as far as
 * the output goes; brotli: 16 MiB).
 *
 * @throws {StatusError} RESOURCE_EXHAUSTED past `maxSize`; INTERNAL for a truncated or corrupt
 * stream, or bytes after its end.
 */
export function decompressBounded(
  algorithm: BoundedAlgorithm,
  data: Uint8Array,
  maxSize: number,
): Uint8Array {
  const isZstd = algorithm === "zstd";
  let input = data;
  let sizeHint = 0;
  if (isZstd) {
    const frames = walkZstdFrames(data);
    if (typeof frames === "string") throw corrupt(algorithm, new Error(frames));
    // The frames' declared sizes (a lie ends as corrupt data): one exact chunk when they fit the
    // budget and could come from this input, else the doubling chunks.
    if (frames <= maxSize && frames <= data.length * MAX_ZSTD_RATIO) sizeHint = frames;
  } else {
    input = new Uint8Array(data.length + 1); // + the sentinel, 0
    input.set(data);
  }
  const stream = isZstd ? takeZstdStream() : createBrotliDecompress() as unknown as NativeStream;
  const handle = stream._handle;
  const state = stream._writeState;
  const flush = isZstd ? constants.ZSTD_e_end : constants.BROTLI_OPERATION_FINISH;
  let failure: string | undefined;
  handle.onerror = (message) => {
    failure = message;
  };
  const chunks: Uint8Array[] = [];
  let total = 0;
  let inOff = 0;
  let inLen = input.length;
  // + 1: a chunk filled exactly would take one more call to see the end.
  let chunkSize = sizeHint > 0 ? sizeHint + 1 : FIRST_CHUNK;
  let ok = false;
  try {
    for (;;) {
      // Never more room than one byte past the budget: that byte is how we see it overflow.
      const room = Math.min(chunkSize, maxSize - total + 1);
      const out = new Uint8Array(room);
      try {
        handle.writeSync(flush, input, inOff, inLen, out, 0, room);
      } catch (err) {
        throw corrupt(algorithm, err);
      }
      if (failure !== undefined) throw corrupt(algorithm, new Error(failure));
      const produced = room - state[0];
      const left = state[1];
      const consumed = inLen - left;
      if (produced > 0) {
        total += produced;
        if (total > maxSize) throw tooLarge(maxSize);
        chunks.push(produced === room ? out : out.subarray(0, produced));
      }
      inOff += consumed;
      inLen = left;
      if (produced === room) {
        chunkSize = Math.min(chunkSize * 2, MAX_CHUNK);
        continue; // the output was full: there may be more
      }
      // The decoder stopped with output room to spare: at the end of a stream or zstd frame, or
      // out of input.
      if (isZstd) {
        if (left === 0) break; // every frame was checked complete
        if (produced === 0 && consumed === 0) {
          throw corrupt(algorithm, new Error("the decoder made no progress"));
        }
        continue; // the next frame
      }
      if (left === 1) break; // exactly the sentinel: complete
      if (left === 0) throw corrupt(algorithm, new Error("truncated stream"));
      throw corrupt(algorithm, new Error(`${left - 1} bytes after the end of the stream`));
    }
    ok = true;
  } finally {
    // A zstd decoder that finished cleanly is kept for the next message (creating one costs
    // ~25 µs, resetting ~1 µs); Deno's brotli handle does not decode again after reset().
    if (isZstd && ok && idleZstd === undefined) {
      idleZstd = stream;
    } else {
      handle.close();
    }
  }
  return join(chunks, total);
}

// One idle zstd decoder, reused: decompress() is synchronous, so one is enough per isolate.
let idleZstd: NativeStream | undefined;

function takeZstdStream(): NativeStream {
  const stream = idleZstd;
  if (stream === undefined) return createZstdDecompress() as unknown as NativeStream;
  idleZstd = undefined;
  stream._handle.reset();
  return stream;
}

// The most a zstd frame can expand: an RLE block is 4 bytes for 128 KiB.
const MAX_ZSTD_RATIO = 32768;

// RFC 8878 §3.1: magic numbers, frame header sizes and block headers.
const ZSTD_MAGIC = 0xfd2fb528;
const SKIPPABLE_MAGIC = 0x184d2a50; // the low 4 bits are free
const DICT_ID_SIZES = [0, 1, 2, 4];
const CONTENT_SIZE_SIZES = [0, 2, 4, 8]; // flag 0 means 1 byte in a single-segment frame
const BLOCK_TYPE_RESERVED = 3;
const BLOCK_TYPE_RLE = 1;

/**
 * Walks a zstd stream's frames without decoding them: returns why it is not a sequence of whole
 * zstd and skippable frames, or else the sum of the frames' declared content sizes (0 when a
 * frame declares none). One pass over the block headers.
 */
export function walkZstdFrames(data: Uint8Array): string | number {
  const n = data.length;
  if (n === 0) return "no frame";
  let pos = 0;
  let declared = 0;
  let allDeclared = true;
  while (pos < n) {
    if (n - pos < 8) return "truncated frame header";
    const magic = u32(data, pos);
    if ((magic & 0xfffffff0) >>> 0 === SKIPPABLE_MAGIC) {
      const size = u32(data, pos + 4);
      if (size > n - pos - 8) return "truncated skippable frame";
      pos += 8 + size;
      continue;
    }
    if (magic !== ZSTD_MAGIC) return "not a zstd frame";
    const descriptor = data[pos + 4];
    if ((descriptor & 0x08) !== 0) return "reserved bit set in the frame header";
    const singleSegment = (descriptor & 0x20) !== 0;
    const contentSizeFlag = descriptor >> 6;
    const sizeAt = pos + 5 + (singleSegment ? 0 : 1) + DICT_ID_SIZES[descriptor & 3];
    const sizeBytes = contentSizeFlag === 0 && singleSegment
      ? 1
      : CONTENT_SIZE_SIZES[contentSizeFlag];
    if (sizeBytes === 0) allDeclared = false;
    else declared += contentSize(data, sizeAt, sizeBytes);
    let at = sizeAt + sizeBytes;
    for (;;) {
      if (n - at < 3) return "truncated block";
      const header = data[at] | (data[at + 1] << 8) | (data[at + 2] << 16);
      const type = (header >> 1) & 3;
      if (type === BLOCK_TYPE_RESERVED) return "reserved block type";
      const size = type === BLOCK_TYPE_RLE ? 1 : header >>> 3;
      if (size > n - at - 3) return "truncated block";
      at += 3 + size;
      if ((header & 1) !== 0) break; // Last_Block
    }
    if ((descriptor & 0x04) !== 0) { // Content_Checksum_flag: 4 bytes follow the last block
      if (n - at < 4) return "truncated checksum";
      at += 4;
    }
    pos = at;
  }
  return allDeclared ? declared : 0;
}

// Frame_Content_Size (RFC 8878 §3.1.1.1.4): little endian; the 2-byte form is offset by 256.
// Past 2^53 precision does not matter: such a size is never under a message limit.
function contentSize(b: Uint8Array, at: number, bytes: number): number {
  if (at + bytes > b.length) return Infinity; // the block walk reports the truncation
  if (bytes === 1) return b[at];
  if (bytes === 2) return (b[at] | (b[at + 1] << 8)) + 256;
  if (bytes === 4) return u32(b, at);
  return u32(b, at) + u32(b, at + 4) * 2 ** 32;
}

function u32(b: Uint8Array, at: number): number {
  return (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24)) >>> 0;
}

function join(chunks: readonly Uint8Array[], total: number): Uint8Array {
  if (chunks.length === 1) {
    const only = chunks[0];
    // A view pinning a buffer over twice its size is copied (the message may be kept).
    return only.byteLength < only.buffer.byteLength / 2 ? only.slice() : only;
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

function corrupt(algorithm: BoundedAlgorithm, cause: unknown): StatusError {
  const why = cause instanceof Error ? cause.message : String(cause);
  return new StatusError(
    Code.Internal,
    `Cannot decompress message: invalid ${algorithm} data (${why})`,
    { cause },
  );
}

/** The RESOURCE_EXHAUSTED error every built-in compressor throws past `maxSize`. */
export function tooLarge(maxSize: number, cause?: unknown): StatusError {
  return new StatusError(
    Code.ResourceExhausted,
    `Cannot decompress message: size exceeds maxReceiveMessageSize ${maxSize}`,
    cause === undefined ? undefined : { cause },
  );
}

/** Throws TypeError unless `data` is a Uint8Array (every built-in's first check). */
export function checkData(data: Uint8Array): void {
  if (!(data instanceof Uint8Array)) {
    throw new TypeError(
      `Cannot compress or decompress: data must be a Uint8Array, current value is ${typeof data}`,
    );
  }
}

/** Throws RangeError unless `maxSize` is a non-negative integer or Infinity. */
export function checkMaxSize(maxSize: number): void {
  if (!(maxSize >= 0) || (!Number.isInteger(maxSize) && maxSize !== Infinity)) {
    throw new RangeError(
      "Cannot decompress message: maxSize must be a non-negative integer or Infinity, " +
        `current value is ${maxSize}`,
    );
  }
}
