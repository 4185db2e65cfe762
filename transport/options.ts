// The transport settings both roles share, resolved, and their defaults (grpc-go's); the server's
// additions are ServerTransportOptions (http2_server.ts).

import * as D from "./defaults.ts";

/** Transport settings shared by both roles, resolved (no field is optional). */
export interface TransportOptions {
  /** Our stream receive window (SETTINGS_INITIAL_WINDOW_SIZE). */
  initialWindowSize: number;
  /** Our connection receive window. */
  initialConnWindowSize: number;
  /** Whether the BDP estimator may grow the windows (off when windows are set explicitly). */
  dynamicWindow: boolean;
  /** Largest frame we accept (SETTINGS_MAX_FRAME_SIZE). */
  maxFrameSize: number;
  /** Largest decoded header list we accept (SETTINGS_MAX_HEADER_LIST_SIZE). */
  maxHeaderListSize: number;
  /** Largest raw HEADERS+CONTINUATION block we buffer. */
  maxHeaderBlockSize: number;
  /** Our HPACK decoder's table size (SETTINGS_HEADER_TABLE_SIZE). */
  headerTableSize: number;
  /** Largest gRPC message accepted on a stream. */
  maxReceiveMessageSize: number;
  /** Streams the peer may open at once (server: advertised; client: ignored). */
  maxConcurrentStreams: number;
  /** Clock, injectable for tests. */
  now: () => number;
}

/** Default transport options (grpc-go's). */
export const DEFAULT_TRANSPORT_OPTIONS: Readonly<TransportOptions> = Object.freeze({
  initialWindowSize: D.DEFAULT_WINDOW_SIZE,
  initialConnWindowSize: D.DEFAULT_WINDOW_SIZE,
  dynamicWindow: true,
  maxFrameSize: D.DEFAULT_MAX_FRAME_SIZE,
  maxHeaderListSize: D.DEFAULT_MAX_HEADER_LIST_SIZE,
  maxHeaderBlockSize: D.DEFAULT_MAX_HEADER_BLOCK_SIZE,
  headerTableSize: D.DEFAULT_HEADER_TABLE_SIZE,
  maxReceiveMessageSize: D.DEFAULT_MAX_RECEIVE_MESSAGE_SIZE,
  maxConcurrentStreams: D.UNLIMITED_STREAMS,
  now: Date.now,
});
