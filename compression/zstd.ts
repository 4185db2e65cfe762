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
 * The default zstd level, 3: zstd's own default (`ZSTD_CLEVEL_DEFAULT`). Measured with
 * `bench/compression_levels.ts` on Deno 2.9.6 (realistic protobuf messages of 1 KiB, 64 KiB and
 * 1 MiB; medians of 7 runs on a shared 2-core machine, so times are rough):
 *
 * - level 3 compresses 64 KiB and 1 MiB 3.5-4× faster than gzip level 6 (204 µs against 873 µs;
 *   4.2 ms against 14.9 ms), for output 1-4% larger (ratio 2.44 against 2.55; 2.68 against 2.71);
 * - level 1 is 25-40% faster again but 5-9% larger; levels 6-9 match gzip level 9's ratio at
 *   gzip level 6's speed or better; 19 gains another 5-10% for 20-70× the time;
 * - decoding does not depend on the level, and is as fast as gzip's or faster (1 KiB: ~7 µs
 *   against ~10 µs; 1 MiB: ~1 ms against ~1.3 ms).
 *
 * @example The default
 * ```ts
 * import { DEFAULT_ZSTD_LEVEL } from "@seed/grpc";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(DEFAULT_ZSTD_LEVEL, 3);
 * ```
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
 * sizes its window to the message; no content checksum is added (libzstd's default, as tonic
 * sends; TCP and TLS already protect the bytes). Decompression accepts any RFC 8878 stream
 * (several frames, skippable frames, checksums, which are verified), stops at `maxSize` without
 * allocating past it, and refuses truncated or trailing data.
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
