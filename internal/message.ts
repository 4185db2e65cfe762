// One gRPC message through the codec and the compressor, the same way on both sides: encode →
// compress → size check going out (the transport then frames it), and decompress (bounded by
// the receive limit) → decode coming in. grpc-go rpc_util.go: encode, compress, prepareMsg and
// the maxSendMessageSize check; recvAndDecompress, decompress.

import type { Codec } from "../codec.ts";
import type { Compressor } from "../compression.ts";
import { Code, StatusError } from "../status.ts";
import { errorText } from "./error_message.ts";
import { MessageShapeError } from "../codec/verify.ts";

/** A message ready for the transport: its bytes and whether they are compressed. */
export type EncodedMessage = [data: Uint8Array, compressed: boolean];

/**
 * Encodes `message`, compresses it with `compressor` (if given, and if the encoded message has
 * at least `minCompressSize` bytes), and checks the result against `maxSize` (the `side`'s
 * maxSendMessageSize, named in the error).
 * @throws {StatusError} INTERNAL when encoding or compressing fails; INVALID_ARGUMENT on the
 *   client when the request does not fit its type (CodecOptions.verify); RESOURCE_EXHAUSTED
 *   when the message is larger than `maxSize`.
 */
export function encodeMessage<T>(
  codec: Codec<T>,
  message: T,
  compressor: Compressor | undefined,
  maxSize: number,
  minCompressSize = 0,
  side: "client" | "server" = "server",
): EncodedMessage {
  let data: Uint8Array;
  try {
    data = codec.encode(message);
  } catch (err) {
    if (err instanceof MessageShapeError) {
      // The codec's check (CodecOptions.verify) named the field: a bad request is the caller's
      // argument; a bad response, the server's fault.
      const code = side === "client" ? Code.InvalidArgument : Code.Internal;
      const what = side === "client" ? "request" : "response";
      throw new StatusError(code, `Cannot send ${what}: ${err.message}`, { cause: err });
    }
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
      `Cannot send message: size ${data.length} exceeds the ${side}'s maxSendMessageSize ${maxSize}`,
    );
  }
  return [data, compressed];
}

/**
 * Decompresses a received message if it is `compressed` (with `decompressor`, stopping at
 * `maxSize`), then decodes it.
 * @throws {StatusError} INTERNAL when the compressed flag comes without an encoding, or
 *   decompressing or decoding fails; RESOURCE_EXHAUSTED when it decompresses past `maxSize`
 *   (the `side`'s maxReceiveMessageSize, named in the error).
 */
export function decodeMessage<T>(
  codec: Codec<T>,
  raw: Uint8Array,
  compressed: boolean,
  decompressor: Compressor | undefined,
  maxSize: number,
  side: "client" | "server" = "server",
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
      if (err instanceof StatusError && err.code === Code.ResourceExhausted) {
        // Say whose limit it was: the peer reads this text too, in the status we answer with.
        throw new StatusError(
          Code.ResourceExhausted,
          `Cannot decompress message: size exceeds the ${side}'s maxReceiveMessageSize ${maxSize}`,
          { cause: err },
        );
      }
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
