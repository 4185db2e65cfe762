/**
 * Message compression (grpc/grpc doc/compression.md): the {@linkcode Compressor} interface, the
 * built-in {@linkcode gzip}, {@linkcode deflate}, {@linkcode zstd} and {@linkcode brotli} (`br`),
 * the process-wide registry the server and the client look encodings up in, and
 * `grpc-accept-encoding` negotiation. No other gRPC implementation ships all four: grpc-go has
 * gzip, grpc-js gzip and deflate, Connect-ES gzip and br, tonic gzip, deflate and zstd.
 *
 * Wire contract (PROTOCOL-HTTP2.md): a message whose Compressed-Flag is 1 was compressed with the
 * coding named by the stream's `grpc-encoding` header; each message is compressed on its own, with
 * a fresh context. `grpc-accept-encoding` lists the codings a peer can decode, comma separated.
 *
 * @module
 */

// Sync node:zlib calls, measured in DENO-PLATFORM.md §6: as fast as the async ones on 1 MiB and far
// faster than CompressionStream, and gunzipSync/inflateSync take `maxOutputLength`, which stops
// inflating as soon as the output passes it (a 1 GiB bomb fails in ~4 ms, +5 MiB RSS).
import { deflateSync, gunzipSync, gzipSync, inflateSync, type ZlibOptions } from "node:zlib";
import { kMaxLength } from "node:buffer";
import { Code, StatusError } from "./status.ts";
import { checkData, checkMaxSize, tooLarge } from "./compression/_bounded.ts";
import { brotli } from "./compression/brotli.ts";
import { zstd } from "./compression/zstd.ts";

export {
  brotli,
  type BrotliCompressorOptions,
  createBrotli,
  DEFAULT_BROTLI_LEVEL,
} from "./compression/brotli.ts";
export {
  createZstd,
  DEFAULT_ZSTD_LEVEL,
  zstd,
  type ZstdCompressorOptions,
} from "./compression/zstd.ts";

/**
 * A message compression algorithm, registered under its `grpc-encoding` name with
 * {@linkcode registerCompressor}. grpc-go: `encoding.Compressor`, made synchronous: messages are
 * whole `Uint8Array`s, and node:zlib's sync functions are as fast as its async ones.
 *
 * `compress` and `decompress` may return a view into a larger `ArrayBuffer` (at any `byteOffset`);
 * callers must not transfer or detach `result.buffer`. The built-in compressors return plain
 * `Uint8Array`s, never node `Buffer`s (whose `slice()` aliases instead of copying).
 *
 * @example A custom compressor (raw deflate via node:zlib)
 * ```ts
 * import { Code, type Compressor, StatusError } from "@seed/grpc";
 * import { assertEquals, assertThrows } from "@std/assert";
 * import { deflateRawSync, inflateRawSync } from "node:zlib";
 *
 * const deflateRaw: Compressor = {
 *   name: "x-deflate-raw",
 *   compress(data) {
 *     const out = deflateRawSync(data);
 *     return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
 *   },
 *   decompress(data, maxSize) {
 *     let out: Uint8Array;
 *     try {
 *       // Throws as soon as the output passes maxOutputLength (1 at least).
 *       const limit = Math.max(1, Math.min(maxSize, Number.MAX_SAFE_INTEGER));
 *       out = inflateRawSync(data, { maxOutputLength: limit });
 *     } catch (cause) {
 *       const tooLarge = (cause as { code?: unknown }).code === "ERR_BUFFER_TOO_LARGE";
 *       const code = tooLarge ? Code.ResourceExhausted : Code.Internal;
 *       throw new StatusError(code, "Cannot decompress message", { cause });
 *     }
 *     if (out.byteLength > maxSize) {
 *       throw new StatusError(Code.ResourceExhausted, "Cannot decompress message");
 *     }
 *     return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
 *   },
 * };
 *
 * const data = new TextEncoder().encode("hello ".repeat(100));
 * assertEquals(deflateRaw.decompress(deflateRaw.compress(data), 4096), data);
 * const err = assertThrows(() => deflateRaw.decompress(deflateRaw.compress(data), 10), StatusError);
 * assertEquals(err.code, Code.ResourceExhausted);
 * ```
 */
export interface Compressor {
  /**
   * The `grpc-encoding` token, e.g. `"gzip"`: an HTTP token (RFC 9110 §5.6.2), matched
   * case-sensitively, never `"identity"`.
   */
  readonly name: string;
  /**
   * Compresses one whole message with a fresh context.
   *
   * @param data The serialized message.
   * @returns The compressed bytes.
   */
  compress(data: Uint8Array): Uint8Array;
  /**
   * Decompresses one whole message, never producing more than `maxSize` bytes.
   *
   * Implementations must stop as soon as the output would pass `maxSize`, without allocating
   * much more than `maxSize` bytes first, so that a small "zip bomb" cannot exhaust memory.
   *
   * @param data The compressed bytes.
   * @param maxSize The largest allowed output in bytes, e.g. the receiver's
   * `maxReceiveMessageSize`; `Infinity` for no limit.
   * @returns The decompressed message.
   * @throws {StatusError} RESOURCE_EXHAUSTED when the output would exceed `maxSize`, INTERNAL when
   * `data` is corrupt or truncated.
   */
  decompress(data: Uint8Array, maxSize: number): Uint8Array;
}

/**
 * Messages shorter than this many bytes are sent uncompressed even when compression is on: the
 * default of the senders' minimum-size option. It is 0, grpc-go's behaviour: when compression is
 * asked for, every message is compressed, even an empty one (gzip adds at least 20 bytes, so a
 * sender may want a higher minimum for small messages).
 *
 * @example Decide whether to compress a message
 * ```ts
 * import { DEFAULT_COMPRESSION_MIN_SIZE } from "@seed/grpc";
 * import { assertEquals } from "@std/assert";
 *
 * const message = new Uint8Array(10);
 * assertEquals(message.length >= DEFAULT_COMPRESSION_MIN_SIZE, true);
 * ```
 */
export const DEFAULT_COMPRESSION_MIN_SIZE = 0;

// grpc-go (encoding/gzip) uses gzip.DefaultCompression, zlib's level 6; so does node:zlib.
const DEFAULT_LEVEL = 6;

/** Options for {@linkcode createGzip} and {@linkcode createDeflate}. */
export interface CompressorOptions {
  /**
   * The zlib compression level, 0 (store only) … 9 (smallest). Level 1 compresses 1 MiB about 6×
   * faster than level 6 (DENO-PLATFORM.md §6), but its output is larger: by 69% for JSON-like
   * text (ratio 3.4 against 5.7) and by 31% for protobuf-like bytes (2.1 against 2.8), measured
   * on Deno 2.9.6. Decoding speed and interoperability do not depend on it. grpc-go: the level
   * of `gzip.NewWriterLevel`.
   * @default {6}
   */
  level?: number;
}

/**
 * Creates a gzip compressor (RFC 1952) named `"gzip"` with a chosen level. Register it to replace
 * the built-in {@linkcode gzip} for the whole process.
 *
 * @param options The compression level.
 * @returns A compressor named `"gzip"`.
 * @throws {RangeError} If `options.level` is not an integer in 0…9.
 *
 * @example Trade ratio for speed
 * ```ts
 * import { createGzip, getCompressor, gzip, registerCompressor } from "@seed/grpc";
 * import { assertEquals } from "@std/assert";
 *
 * const fast = createGzip({ level: 1 });
 * const data = new TextEncoder().encode("a gRPC message ".repeat(100));
 * assertEquals(gzip.decompress(fast.compress(data), 1 << 20), data);
 *
 * registerCompressor(fast); // every "gzip" message from now on, sent or received
 * assertEquals(getCompressor("gzip"), fast);
 * registerCompressor(gzip); // back to the default level
 * ```
 */
export function createGzip(options?: CompressorOptions): Compressor {
  return zlibCompressor("gzip", resolveLevel(options));
}

/**
 * Creates a `"deflate"` compressor with a chosen level. gRPC's `deflate` is the zlib format
 * (RFC 1950: a 2-byte header, raw deflate, an Adler-32), as in grpc-core and HTTP, not raw
 * deflate (RFC 1951).
 *
 * @param options The compression level.
 * @returns A compressor named `"deflate"`.
 * @throws {RangeError} If `options.level` is not an integer in 0…9.
 *
 * @example Compress at the highest level
 * ```ts
 * import { createDeflate } from "@seed/grpc";
 * import { assertEquals } from "@std/assert";
 *
 * const best = createDeflate({ level: 9 });
 * const data = new TextEncoder().encode("a gRPC message ".repeat(100));
 * const packed = best.compress(data);
 * assertEquals(packed[0], 0x78); // zlib header: deflate, 32 KiB window
 * assertEquals(best.decompress(packed, 1 << 20), data);
 * ```
 */
export function createDeflate(options?: CompressorOptions): Compressor {
  return zlibCompressor("deflate", resolveLevel(options));
}

function resolveLevel(options: CompressorOptions | undefined): number {
  const level = options?.level ?? DEFAULT_LEVEL;
  if (!Number.isInteger(level) || level < 0 || level > 9) {
    throw new RangeError(
      `Cannot create compressor: level must be an integer in 0…9, current value is ${level}`,
    );
  }
  return level;
}

// zlib's default output chunk in node:zlib's sync loop.
const DEFAULT_CHUNK = 16 * 1024;
// Deflate cannot expand data more than ~1032:1 (a 258-byte match per 2 bits), so a gzip ISIZE
// larger than this times the input is a lie and not worth allocating for.
const MAX_DEFLATE_RATIO = 1032;

// Closures rather than a class, so that `const { decompress } = gzip` and passing `gzip.compress`
// as a callback work. One frozen options object per compressor, shared by every call.
function zlibCompressor(name: "gzip" | "deflate", level: number): Compressor {
  const isGzip = name === "gzip";
  const compressOptions: ZlibOptions = Object.freeze({ level });
  return Object.freeze({
    name,
    compress(data: Uint8Array): Uint8Array {
      checkData(data);
      const out = isGzip ? gzipSync(data, compressOptions) : deflateSync(data, compressOptions);
      // The output is short-lived (framed and written), so a view is fine even when it sits in a
      // 16 KiB zlib chunk.
      return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
    },
    decompress(data: Uint8Array, maxSize: number): Uint8Array {
      checkData(data);
      checkMaxSize(maxSize);
      // node:zlib throws once the output passes maxOutputLength (an output of exactly that size
      // is fine), checking after each chunk, so it allocates at most one chunk past the limit.
      // maxOutputLength must be at least 1: maxSize 0 is enforced by the length check below.
      const options: ZlibOptions = {
        maxOutputLength: maxSize < 1 ? 1 : maxSize > kMaxLength ? kMaxLength : maxSize,
      };
      let out: Uint8Array;
      try {
        if (isGzip) {
          const hint = gzipSizeHint(data, maxSize);
          // + 1: a chunk filled exactly would make zlib allocate another one.
          if (hint !== 0) options.chunkSize = hint + 1;
          out = gunzipSync(data, options);
        } else {
          out = inflateSync(data, options);
        }
      } catch (err) {
        if ((err as { code?: unknown }).code === "ERR_BUFFER_TOO_LARGE") {
          throw tooLarge(maxSize, err);
        }
        throw new StatusError(
          Code.Internal,
          `Cannot decompress message: invalid ${name} data (${(err as Error).message})`,
          { cause: err },
        );
      }
      if (out.byteLength > maxSize) throw tooLarge(maxSize);
      // A small output sits in a 16 KiB zlib chunk (or a shared 8 KiB Buffer pool slab), and the
      // message may be kept (protobufjs decodes `bytes` as views): copy when over half is waste.
      if (out.byteLength < out.buffer.byteLength / 2) return new Uint8Array(out);
      return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
    },
  });
}

// The output size to allocate in one chunk, or 0 for node:zlib's 16 KiB chunks plus a concat.
// One exact chunk is 1.3-1.4x faster from 64 KiB up (1 MiB of JSON: 1.1 ms → 0.82 ms). ISIZE
// (RFC 1952 §2.3.1: the last member's length mod 2^32) is only a hint: below 16 KiB it gains
// nothing, and whatever it claims, chunks never get smaller than the default nor larger than
// maxSize + 1, or than the input could inflate to.
function gzipSizeHint(data: Uint8Array, maxSize: number): number {
  const n = data.length;
  if (n < 18) return 0; // 10-byte header + 8-byte trailer
  const isize = (data[n - 4] | data[n - 3] << 8 | data[n - 2] << 16 | data[n - 1] << 24) >>> 0;
  return isize >= DEFAULT_CHUNK && isize <= maxSize && isize <= n * MAX_DEFLATE_RATIO ? isize : 0;
}

/**
 * The gzip compressor (RFC 1952), `grpc-encoding: gzip`, level 6 as in grpc-go. Concatenated
 * gzip members decode as one message (like Go's `gzip.Reader`); bytes after the last member are an
 * error. Registered by default. grpc-go: `encoding/gzip`.
 *
 * @example Round trip
 * ```ts
 * import { gzip } from "@seed/grpc";
 * import { assertEquals } from "@std/assert";
 *
 * const data = new TextEncoder().encode("hello ".repeat(1000));
 * const packed = gzip.compress(data);
 * assertEquals(packed.length < 100, true);
 * assertEquals(gzip.decompress(packed, 4 * 1024 * 1024), data);
 * ```
 *
 * @example Refuse a message over the limit
 * ```ts
 * import { Code, gzip, StatusError } from "@seed/grpc";
 * import { assertEquals, assertThrows } from "@std/assert";
 *
 * const packed = gzip.compress(new Uint8Array(1 << 20)); // 1 KiB on the wire
 * const err = assertThrows(() => gzip.decompress(packed, 1024), StatusError);
 * assertEquals(err.code, Code.ResourceExhausted);
 * ```
 */
export const gzip: Compressor = createGzip();

/**
 * The deflate compressor, `grpc-encoding: deflate`: the zlib format (RFC 1950), as grpc-core
 * sends it; raw deflate (RFC 1951) is refused as corrupt. Registered by default (grpc-go ships
 * only gzip; grpc-core, C++, Python and others also send deflate).
 *
 * @example Round trip
 * ```ts
 * import { deflate } from "@seed/grpc";
 * import { assertEquals } from "@std/assert";
 *
 * const data = new TextEncoder().encode("hello ".repeat(1000));
 * assertEquals(deflate.decompress(deflate.compress(data), 1 << 20), data);
 * ```
 */
export const deflate: Compressor = createDeflate();

// --- registry (grpc-go: encoding.RegisterCompressor / GetCompressor) ---

// Insertion order is the order of supportedEncodings(); re-registering keeps a name's place.
const registry = new Map<string, Compressor>();
let acceptEncoding = "";

// token = 1*tchar (RFC 9110 §5.6.2): no comma, space or other separator, so a name can never break
// the grpc-accept-encoding list.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * Registers a compressor for the whole process under `c.name`, for both directions: received
 * messages with that `grpc-encoding` decode with it, it can be chosen for sending, and its name
 * joins {@linkcode supportedEncodings}. A compressor with the same name is replaced (the last
 * registration wins, as in grpc-go); {@linkcode gzip}, {@linkcode deflate}, {@linkcode zstd}
 * and {@linkcode brotli} are registered at start-up. Register before serving or dialing. grpc-go: `encoding.RegisterCompressor`.
 *
 * @param c The compressor.
 * @throws {TypeError} If `c` lacks `compress` or `decompress`, or `c.name` is not an HTTP token
 * (RFC 9110 §5.6.2: letters, digits and ``!#$%&'*+-.^_`|~``) or is `"identity"`.
 *
 * @example Register a compressor
 * ```ts
 * import {
 *   type Compressor,
 *   createGzip,
 *   getCompressor,
 *   registerCompressor,
 *   supportedEncodings,
 * } from "@seed/grpc";
 * import { assertEquals, assertThrows } from "@std/assert";
 *
 * const fast = createGzip({ level: 1 });
 * const custom: Compressor = {
 *   name: "x-fast-gzip",
 *   compress: fast.compress,
 *   decompress: fast.decompress,
 * };
 * registerCompressor(custom);
 * assertEquals(getCompressor("x-fast-gzip"), custom);
 * assertEquals(supportedEncodings().split(",").includes("x-fast-gzip"), true);
 *
 * assertThrows(() => registerCompressor({ ...custom, name: "gzip, br" }), TypeError);
 * assertThrows(() => registerCompressor({ ...custom, name: "identity" }), TypeError);
 * ```
 */
export function registerCompressor(c: Compressor): void {
  if (c === null || typeof c !== "object") {
    throw new TypeError(`Cannot register compressor: expected an object, current value is ${c}`);
  }
  const name: unknown = c.name;
  if (typeof name !== "string" || !TOKEN.test(name)) {
    throw new TypeError(
      `Cannot register compressor: name must be an HTTP token, current value is ${
        JSON.stringify(name) ?? String(name)
      }`,
    );
  }
  if (name === "identity") {
    throw new TypeError(
      'Cannot register compressor: "identity" means uncompressed and is always supported',
    );
  }
  if (typeof c.compress !== "function" || typeof c.decompress !== "function") {
    throw new TypeError(
      `Cannot register compressor "${name}": compress and decompress must be functions`,
    );
  }
  registry.set(name, c);
  acceptEncoding = [...registry.keys()].join(",");
}

/**
 * Looks up a registered compressor by its `grpc-encoding` name (exact, case-sensitive match).
 * grpc-go: `encoding.GetCompressor`.
 *
 * @param name A `grpc-encoding` value.
 * @returns The compressor, or `undefined` for `"identity"` (no compression) and for unknown names.
 * A received message compressed with an unknown name fails UNIMPLEMENTED on a server and INTERNAL
 * on a client (compression.md).
 *
 * @example Look up encodings
 * ```ts
 * import { getCompressor, gzip } from "@seed/grpc";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(getCompressor("gzip"), gzip);
 * assertEquals(getCompressor("identity"), undefined);
 * assertEquals(getCompressor("snappy"), undefined);
 * ```
 */
export function getCompressor(name: string): Compressor | undefined {
  return registry.get(name);
}

/**
 * The `grpc-accept-encoding` value to send: the registered names joined by `","` in registration
 * order, `"gzip,deflate,zstd,br"` by default. `"identity"` is not listed: it is always accepted, and
 * grpc-go and grpc-java leave it out too. Cached; changes only on {@linkcode registerCompressor}.
 *
 * @returns The comma-separated encodings this process can decode.
 *
 * @example The default list
 * ```ts
 * import { supportedEncodings } from "@seed/grpc";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(supportedEncodings().startsWith("gzip,deflate,zstd,br"), true);
 * ```
 */
export function supportedEncodings(): string {
  return acceptEncoding;
}

/**
 * Chooses the encoding for messages to a peer: `preferred` if the peer's `grpc-accept-encoding`
 * lists it, else `undefined`, meaning "send uncompressed" (compression.md: a message the peer
 * cannot decode SHALL be sent uncompressed). Entries are split on `","`, spaces and tabs around
 * them are ignored, and names compare case-sensitively. `preferred` `"identity"` gives
 * `undefined`, as does a missing or empty header. When a peer sends several
 * `grpc-accept-encoding` headers, pass their values joined with `","`.
 *
 * A server may also answer in the encoding of the request itself even if it was not advertised
 * (compression.md); that check is the caller's.
 *
 * @param acceptEncoding The peer's `grpc-accept-encoding` value, or `undefined` if absent.
 * @param preferred The encoding we would like to use, e.g. `"gzip"`.
 * @returns `preferred`, or `undefined` to send uncompressed.
 *
 * @example Negotiate gzip
 * ```ts
 * import { negotiateEncoding } from "@seed/grpc";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(negotiateEncoding("identity, deflate, gzip", "gzip"), "gzip");
 * assertEquals(negotiateEncoding("identity", "gzip"), undefined);
 * assertEquals(negotiateEncoding(undefined, "gzip"), undefined);
 * ```
 */
export function negotiateEncoding(
  acceptEncoding: string | undefined,
  preferred: string,
): string | undefined {
  if (acceptEncoding === undefined || preferred === "identity" || preferred === "") {
    return undefined;
  }
  // Scan in place: runs once per call, so no split() arrays.
  const s = acceptEncoding;
  const len = preferred.length;
  let start = 0;
  while (start <= s.length) {
    let end = s.indexOf(",", start);
    if (end < 0) end = s.length;
    let a = start;
    let b = end;
    while (a < b && isOws(s.charCodeAt(a))) a++;
    while (b > a && isOws(s.charCodeAt(b - 1))) b--;
    if (b - a === len && s.startsWith(preferred, a)) return preferred;
    start = end + 1;
  }
  return undefined;
}

// OWS (RFC 9110 §5.6.3): space or horizontal tab.
function isOws(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

registerCompressor(gzip);
registerCompressor(deflate);
registerCompressor(zstd);
registerCompressor(brotli);
