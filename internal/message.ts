// One gRPC message through the codec and the compressor, the same way on both sides: encode →
// compress → size check going out (the transport then frames it), and decompress (bounded by
// the receive limit) → decode coming in. grpc-go rpc_util.go: encode, compress, prepareMsg and
// the maxSendMessageSize check; recvAndDecompress, decompress.

import type { Codec } from "../codec.ts";
import type { Compressor } from "../compression.ts";
import { Code, StatusError } from "../status.ts";
import { errorText } from "./error_message.ts";

/** A message ready for the transport: its bytes and whether they are compressed. */
export type EncodedMessage = [data: Uint8Array, compressed: boolean];

/**
 * Encodes `message`, compresses it with `compressor` (if given, and if the encoded message has
 * at least `minCompressSize` bytes), and checks the result against `maxSize`.
 * @throws {StatusError} INTERNAL when encoding or compressing fails; RESOURCE_EXHAUSTED when the
 *   message is larger than `maxSize`.
 */
export function encodeMessage<T>(
  codec: Codec<T>,
  message: T,
  compressor: Compressor | undefined,
  maxSize: number,
  minCompressSize = 0,
): EncodedMessage {
  let data: Uint8Array;
  try {
    data = codec.encode(message);
  } catch (err) {
    throw new StatusError(Code.Internal, `grpc: error while marshaling: ${errorText(err)}`, {
      cause: err,
    });
  }
  let compressed = false;
  if (compressor !== undefined && data.length >= minCompressSize) {
    try {
      data = compressor.compress(data);
    } catch (err) {
      throw new StatusError(Code.Internal, `grpc: error while compressing: ${errorText(err)}`, {
        cause: err,
      });
    }
    compressed = true;
  }
  if (data.length > maxSize) {
    throw new StatusError(
      Code.ResourceExhausted,
      `trying to send message larger than max (${data.length} vs. ${maxSize})`,
    );
  }
  return [data, compressed];
}

/**
 * Decompresses a received message if it is `compressed` (with `decompressor`, stopping at
 * `maxSize`), then decodes it.
 * @throws {StatusError} INTERNAL when the compressed flag comes without an encoding, or
 *   decompressing or decoding fails; RESOURCE_EXHAUSTED when it decompresses past `maxSize`.
 */
export function decodeMessage<T>(
  codec: Codec<T>,
  raw: Uint8Array,
  compressed: boolean,
  decompressor: Compressor | undefined,
  maxSize: number,
): T {
  let bytes = raw;
  if (compressed) {
    if (decompressor === undefined) {
      // PROTOCOL-HTTP2.md: the compressed flag without grpc-encoding is a protocol error.
      throw new StatusError(
        Code.Internal,
        "grpc: compressed flag set with identity or empty encoding",
      );
    }
    try {
      bytes = decompressor.decompress(raw, maxSize);
    } catch (err) {
      if (err instanceof StatusError) throw err;
      throw new StatusError(
        Code.Internal,
        `grpc: failed to decompress the received message: ${errorText(err)}`,
        { cause: err },
      );
    }
  }
  try {
    return codec.decode(bytes);
  } catch (err) {
    throw new StatusError(
      Code.Internal,
      `grpc: failed to unmarshal the received message: ${errorText(err)}`,
      { cause: err },
    );
  }
}
