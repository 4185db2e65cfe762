/**
 * The brotli compressor (RFC 7932), `grpc-encoding: br`: {@linkcode brotli} and
 * {@linkcode createBrotli}. Connect-ES speaks it (gRPC and Connect protocols); grpc-go and
 * grpc-js do not.
 *
 * @module
 */
import { brotliCompressSync, type BrotliOptions, constants } from "node:zlib";
import type { Compressor } from "../compression.ts";
import { checkData, checkMaxSize, decompressBounded } from "./_bounded.ts";

/**
 * The default brotli quality, 5. Brotli's own default, 11, is meant for static content compressed
 * once: measured on Deno 2.9.6 on realistic protobuf messages (bench/compression_levels.ts,
 * medians of 7 runs), it takes 100-400× longer than quality 5 for ~10% less size. Quality 5 is
 * as fast as gzip level 6 or faster, and smaller than gzip level 9; quality 4 and below lose
 * ratio faster than they gain speed.
 */
export const DEFAULT_BROTLI_LEVEL = 5;

/**
 * Options for {@linkcode createBrotli}.
 *
 * @example Options
 * ```ts
 * import { type BrotliCompressorOptions, createBrotli } from "@seed/grpc";
 *
 * const options: BrotliCompressorOptions = { level: 4 };
 * createBrotli(options);
 * ```
 */
export interface BrotliCompressorOptions {
  /**
   * The brotli quality, 0 (fastest) … 11 (smallest, and very slow). Decoding speed barely depends
   * on it.
   * @default {5}
   */
  level?: number;
}

/**
 * Creates a `"br"` compressor with a chosen quality. Register it to replace the built-in
 * {@linkcode brotli} for the whole process.
 *
 * Decompression stops at `maxSize` without allocating past it, and refuses truncated, corrupt or
 * trailing data.
 *
 * @param options The compression quality.
 * @returns A compressor named `"br"`.
 * @throws {RangeError} If `options.level` is not an integer in 0 … 11.
 *
 * @example Smallest output, for rare large messages
 * ```ts
 * import { brotli, createBrotli } from "@seed/grpc";
 * import { assertEquals } from "@std/assert";
 *
 * const best = createBrotli({ level: 11 });
 * const data = new TextEncoder().encode("a gRPC message ".repeat(100));
 * assertEquals(brotli.decompress(best.compress(data), 1 << 20), data);
 * ```
 */
export function createBrotli(options?: BrotliCompressorOptions): Compressor {
  const level = options?.level ?? DEFAULT_BROTLI_LEVEL;
  if (
    !Number.isInteger(level) || level < constants.BROTLI_MIN_QUALITY ||
    level > constants.BROTLI_MAX_QUALITY
  ) {
    throw new RangeError(
      `Cannot create compressor: brotli level must be an integer in 0…11, current value is ${level}`,
    );
  }
  return Object.freeze({
    name: "br",
    compress(data: Uint8Array): Uint8Array {
      checkData(data);
      const options: BrotliOptions = {
        params: {
          [constants.BROTLI_PARAM_QUALITY]: level,
          // Lets the encoder size its window and tables to the message.
          [constants.BROTLI_PARAM_SIZE_HINT]: data.length,
        },
      };
      const out = brotliCompressSync(data, options);
      return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
    },
    decompress(data: Uint8Array, maxSize: number): Uint8Array {
      checkData(data);
      checkMaxSize(maxSize);
      return decompressBounded("br", data, maxSize);
    },
  });
}

/**
 * The brotli compressor (RFC 7932), `grpc-encoding: br`, quality 5. Registered by default.
 *
 * @example Round trip
 * ```ts
 * import { brotli } from "@seed/grpc";
 * import { assertEquals } from "@std/assert";
 *
 * const data = new TextEncoder().encode("hello ".repeat(1000));
 * const packed = brotli.compress(data);
 * assertEquals(packed.length < 40, true);
 * assertEquals(brotli.decompress(packed, 1 << 20), data);
 * ```
 */
export const brotli: Compressor = createBrotli();
