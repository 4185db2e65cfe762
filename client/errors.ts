// Client errors the channel and the call share: grpc-go's ErrClientConnClosing, and the text of
// a cause inside a status message.

import { Code, StatusError } from "../status.ts";
import { errorMessage } from "../internal/wire.ts";

/** The error of calls on a closed ClientConn (grpc-go ErrClientConnClosing). */
export function closingError(): StatusError {
  return new StatusError(Code.Canceled, "grpc: the client connection is closing");
}

/** A cause as text for a status message: a StatusError's own message, else the error's. */
export function errorText(err: unknown): string {
  return err instanceof StatusError ? err.rawMessage : errorMessage(err);
}
