/**
 * Message compression for gRPC (`grpc-encoding`, PROTOCOL-HTTP2.md and grpc/grpc
 * doc/compression.md): a registry of compressors with gzip and deflate built in, on the
 * synchronous `node:zlib` functions (DENO-PLATFORM.md §6: faster than CompressionStream here).
 *
 * Decompression is bounded: it stops as soon as the output would pass the receive limit, so a
 * zip bomb costs at most that many bytes, and fails RESOURCE_EXHAUSTED.
 *
 * @module
 */

import * as zlib from "node:zlib";
import { Code, StatusError } from "./status.ts";

/** A message compressor, named by its `grpc-encoding` token. */
export interface Compressor {
  /** The `grpc-encoding` token, e.g. `"gzip"`. */
  readonly name: string;
  /** Compresses one message. */
  compress(data: Uint8Array): Uint8Array;
  /**
   * Decompresses one message. Throws {@linkcode StatusError} RESOURCE_EXHAUSTED as soon as the
   * output would exceed `maxSize` bytes, and INTERNAL when the input is corrupt.
   */
  decompress(data: Uint8Array, maxSize: number): Uint8Array;
}

type ZlibSync = (buf: Uint8Array, options?: zlib.ZlibOptions) => Uint8Array;

function zlibCompressor(
  name: string,
  compress: ZlibSync,
  decompress: ZlibSync,
  level: number,
): Compressor {
  return {
    name,
    compress(data: Uint8Array): Uint8Array {
      return compress(data, { level });
    },
    decompress(data: Uint8Array, maxSize: number): Uint8Array {
      try {
        // maxOutputLength makes zlib stop (ERR_BUFFER_TOO_LARGE) instead of inflating it all.
        return decompress(data, { maxOutputLength: Math.max(1, maxSize) });
      } catch (err) {
        const code = (err as { code?: string }).code;
        if (code === "ERR_BUFFER_TOO_LARGE" || err instanceof RangeError) {
          throw new StatusError(
            Code.ResourceExhausted,
            `Cannot decompress message: size exceeds maxReceiveMessageSize ${maxSize}`,
            { cause: err },
          );
        }
        throw new StatusError(
          Code.Internal,
          `Cannot decompress message: ${(err as Error).message}`,
          { cause: err },
        );
      }
    },
  };
}

/**
 * gzip (RFC 1952), at level 1: on 1 MiB it is ~6× faster than level 6 for a slightly larger
 * output (DENO-PLATFORM.md §6).
 *
 * @example Round trip
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { gzip } from "@seed/grpc";
 * const data = new TextEncoder().encode("hello hello hello");
 * assertEquals(new Uint8Array(gzip.decompress(gzip.compress(data), 1024)), data);
 * ```
 */
export const gzip: Compressor = zlibCompressor("gzip", zlib.gzipSync, zlib.gunzipSync, 1);

/**
 * deflate: the zlib format (RFC 1950), which is what gRPC's "deflate" means.
 *
 * @example Round trip
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { deflate } from "@seed/grpc";
 * const data = new Uint8Array(100);
 * assertEquals(new Uint8Array(deflate.decompress(deflate.compress(data), 1024)), data);
 * ```
 */
export const deflate: Compressor = zlibCompressor("deflate", zlib.deflateSync, zlib.inflateSync, 1);

const registry = new Map<string, Compressor>([["gzip", gzip], ["deflate", deflate]]);
let acceptHeader = "gzip,deflate";

// RFC 9110 token characters: the grpc-encoding grammar is a token.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * Registers a compressor (e.g. brotli or zstd from `node:zlib`) for both directions; it is then
 * advertised in `grpc-accept-encoding`. A compressor with the same name is replaced.
 * @param compressor The compressor.
 * @throws {TypeError} When the name is not a token or is `identity`.
 * @example Register a custom encoding
 * ```ts
 * import { getCompressor, registerCompressor } from "@seed/grpc";
 * registerCompressor({
 *   name: "x-noop",
 *   compress: (d) => d,
 *   decompress: (d) => d,
 * });
 * console.assert(getCompressor("x-noop") !== undefined);
 * ```
 */
export function registerCompressor(compressor: Compressor): void {
  const name = compressor.name;
  if (typeof name !== "string" || !TOKEN.test(name) || name === "identity") {
    throw new TypeError(`Cannot register compressor: invalid name "${name}"`);
  }
  registry.set(name, compressor);
  acceptHeader = [...registry.keys()].join(",");
}

/**
 * The compressor for an encoding name, or `undefined` (also for `"identity"`).
 * @param name A `grpc-encoding` token.
 * @returns The registered compressor, if any.
 * @example Look up gzip
 * ```ts
 * import { getCompressor } from "@seed/grpc";
 * console.assert(getCompressor("gzip")?.name === "gzip");
 * console.assert(getCompressor("identity") === undefined);
 * ```
 */
export function getCompressor(name: string): Compressor | undefined {
  return registry.get(name);
}

/**
 * The value of `grpc-accept-encoding`: every registered encoding, comma-separated (`identity`
 * is always implied, as grpc-go leaves it out).
 * @returns E.g. `"gzip,deflate"`.
 * @example The default list
 * ```ts
 * import { supportedEncodings } from "@seed/grpc";
 * console.assert(supportedEncodings().includes("gzip"));
 * ```
 */
export function supportedEncodings(): string {
  return acceptHeader;
}

/**
 * Returns `preferred` when the peer's `grpc-accept-encoding` list contains it, else undefined.
 * @param acceptEncoding The peer's comma-separated list (may be empty).
 * @param preferred The encoding we would like to use.
 * @returns `preferred`, or `undefined` when the peer does not accept it.
 * @example Negotiate gzip
 * ```ts
 * import { negotiateEncoding } from "@seed/grpc";
 * console.assert(negotiateEncoding("identity, gzip", "gzip") === "gzip");
 * console.assert(negotiateEncoding("deflate", "gzip") === undefined);
 * ```
 */
export function negotiateEncoding(acceptEncoding: string, preferred: string): string | undefined {
  if (acceptEncoding === "") return undefined;
  for (const part of acceptEncoding.split(",")) {
    if (part.trim() === preferred) return preferred;
  }
  return undefined;
}
