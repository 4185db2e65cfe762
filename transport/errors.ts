// Transport faults (RFC 9113 §5.4). They never reach users as such: a ConnectionError goes out as
// GOAWAY and closes the connection, a StreamError goes out as RST_STREAM; callers then see a
// StatusError (status.ts).

import { Code, StatusError } from "../status.ts";

/** A connection error (RFC 9113 §5.4.1): answered with GOAWAY(code), then the connection closes. */
export class ConnectionError extends Error {
  /** HTTP/2 error code (frame.ts `ErrorCode`). */
  readonly code: number;
  constructor(code: number, message: string) {
    super(message);
    this.name = "ConnectionError";
    this.code = code;
  }
}

/** A stream error (RFC 9113 §5.4.2): answered with RST_STREAM(code) on that stream only. */
export class StreamError extends Error {
  /** The stream the error is about. */
  readonly streamId: number;
  /** HTTP/2 error code (frame.ts `ErrorCode`). */
  readonly code: number;
  constructor(streamId: number, code: number, message: string) {
    super(message);
    this.name = "StreamError";
    this.streamId = streamId;
    this.code = code;
  }
}

/** An UNAVAILABLE status for connection loss. */
export function unavailable(message: string): StatusError {
  return new StatusError(Code.Unavailable, message);
}
