// The error of calls on a closed ClientConn (grpc-go ErrClientConnClosing), shared by the
// channel, its subchannel and picker.

import { Code, StatusError } from "../status.ts";

/** The error of calls on a closed ClientConn (grpc-go ErrClientConnClosing). */
export function closingError(): StatusError {
  return new StatusError(Code.Canceled, "grpc: the client connection is closing");
}
