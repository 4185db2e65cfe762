/**
 * The zstd compressor (RFC 8878), `grpc-encoding: zstd`: {@linkcode zstd} and
 * {@linkcode createZstd}. tonic (Rust) and grpc-java (via a plugin) speak it; grpc-go, grpc-js
 * and Connect-ES do not.
 *
 * @module
 */
import { constants, zstdCompressSync, type ZstdOptions } from "node:zlib";
import type { Compressor } from "../compression.ts";
import { checkData, checkMaxSize, decompressBounded } from "./_bounded.ts";

/**
 * The default zstd level, 3: zstd's own default (`ZSTD_CLEVEL_DEFAULT`). Measured on Deno 2.9.6
 * on realistic protobuf messages (bench/compression_levels.ts, medians of 7 runs), level 3
 * compresses a 64 KiB message about as fast as gzip level 1 while being smaller than gzip level 9,
 * and decodes 3-4× faster than gzip; higher levels gain a few percent of size for 2-10× the time.
 */
export const DEFAULT_ZSTD_LEVEL = 3;

// zstd's accepted range: ZSTD_minCLevel() (-131072, "fast" levels trading ratio for speed) to
// ZSTD_maxCLevel() (22).
const MIN_ZSTD_LEVEL = -131072;
const MAX_ZSTD_LEVEL = 22;

/**
 * Options for {@linkcode createZstd}.
 *
 * @example Options
 * ```ts
 * import { createZstd, type ZstdCompressorOptions } from "@seed/grpc";
 *
 * const options: ZstdCompressorOptions = { level: 1 };
 * createZstd(options);
 * ```
 */
export interface ZstdCompressorOptions {
  /**
   * The zstd compression level: -131072 … 22; negative levels are faster and larger, 1 … 19 the
   * usual range, 20 … 22 ("ultra") use large windows. Decoding speed barely depends on it.
   * @default {3}
   */
  level?: number;
}

/**
 * Creates a `"zstd"` compressor with a chosen level. Register it to replace the built-in
 * {@linkcode zstd} for the whole process.
 *
 * Each message is one frame that records its size (`pledgedSrcSize`), so a receiver's decoder
 * sizes its window to the message. Decompression accepts any RFC 8878 stream (several frames,
 * skippable frames, checksums), stops at `maxSize` without allocating past it, and refuses
 * truncated or trailing data.
 *
 * @param options The compression level.
 * @returns A compressor named `"zstd"`.
 * @throws {RangeError} If `options.level` is not an integer in -131072 … 22.
 *
 * @example Trade ratio for speed
 * ```ts
 * import { createZstd, zstd } from "@seed/grpc";
 * import { assertEquals } from "@std/assert";
 *
 * const fast = createZstd({ level: 1 });
 * const data = new TextEncoder().encode("a gRPC message ".repeat(100));
 * assertEquals(zstd.decompress(fast.compress(data), 1 << 20), data);
 * ```
 */
export function createZstd(options?: ZstdCompressorOptions): Compressor {
  const level = options?.level ?? DEFAULT_ZSTD_LEVEL;
  if (!Number.isInteger(level) || level < MIN_ZSTD_LEVEL || level > MAX_ZSTD_LEVEL) {
    throw new RangeError(
      `Cannot create compressor: zstd level must be an integer in ${MIN_ZSTD_LEVEL}…` +
        `${MAX_ZSTD_LEVEL}, current value is ${level}`,
    );
  }
  const params = Object.freeze({ [constants.ZSTD_c_compressionLevel]: level });
  return Object.freeze({
    name: "zstd",
    compress(data: Uint8Array): Uint8Array {
      checkData(data);
      const options: ZstdOptions = { params, pledgedSrcSize: data.length } as ZstdOptions;
      const out = zstdCompressSync(data, options);
      return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
    },
    decompress(data: Uint8Array, maxSize: number): Uint8Array {
      checkData(data);
      checkMaxSize(maxSize);
      return decompressBounded("zstd", data, maxSize);
    },
  });
}

/**
 * The zstd compressor (RFC 8878), `grpc-encoding: zstd`, level 3. Registered by default.
 *
 * @example Round trip
 * ```ts
 * import { zstd } from "@seed/grpc";
 * import { assertEquals } from "@std/assert";
 *
 * const data = new TextEncoder().encode("hello ".repeat(1000));
 * const packed = zstd.compress(data);
 * assertEquals(packed.length < 40, true);
 * assertEquals(zstd.decompress(packed, 1 << 20), data);
 * ```
 *
 * @example Refuse a message over the limit
 * ```ts
 * import { Code, StatusError, zstd } from "@seed/grpc";
 * import { assertEquals, assertThrows } from "@std/assert";
 *
 * const packed = zstd.compress(new Uint8Array(1 << 20));
 * const err = assertThrows(() => zstd.decompress(packed, 1024), StatusError);
 * assertEquals(err.code, Code.ResourceExhausted);
 * ```
 */
export const zstd: Compressor = createZstd();
