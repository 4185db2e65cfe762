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
 * The default brotli quality, 5. Brotli's own default, 11 (node:zlib's, and what Connect-ES
 * sends), is meant for static content compressed once. Measured with
 * `bench/compression_levels.ts` on Deno 2.9.6 (realistic protobuf messages of 1 KiB, 64 KiB and
 * 1 MiB; medians of 7 runs on a shared 2-core machine, so times are rough):
 *
 * - quality 5 is the lowest whose output is smaller than gzip level 9's (ratio 2.68 against 2.58
 *   at 64 KiB, 2.94 against 2.74 at 1 MiB), at 2-3× gzip level 6's time (2.9 ms against 0.9 ms
 *   at 64 KiB; 28 ms against 15 ms at 1 MiB);
 * - quality 4 and below are slower than gzip level 6 without being smaller, so gzip is the
 *   better choice there; 6 gains 1-3% for 1.2-2× the time; 11 gains 7-14% for 25-50× the time;
 * - decoding does not depend on the quality, and is 2-4× slower than gzip's here.
 *
 * For speed, prefer `zstd`; brotli is for peers that only speak it (Connect-ES) or
 * when size matters most.
 *
 * @example The default
 * ```ts
 * import { DEFAULT_BROTLI_LEVEL } from "@seed/grpc";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(DEFAULT_BROTLI_LEVEL, 5);
 * ```
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
 * Decompression stops at `maxSize` without allocating past it, and refuses truncated or trailing
 * data and what the decoder finds corrupt. The format has no checksum (gzip has a CRC-32), so a
 * changed byte inside a stream may decode to different bytes; TCP and TLS protect them in transit.
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
