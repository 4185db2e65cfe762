// The gRPC code of a response without grpc-status, from its HTTP status (the client transport's
// concern, not the public API's).

import { Code } from "../status.ts";

/**
 * Maps the HTTP status of a response that has no `grpc-status` to a gRPC code
 * (grpc/grpc doc/http-grpc-status-mapping.md). Only for that case: a `grpc-status`, when
 * present, always wins.
 *
 * @param status The HTTP `:status`.
 * @returns 400 and 431 → INTERNAL, 401 → UNAUTHENTICATED, 403 → PERMISSION_DENIED,
 * 404 → UNIMPLEMENTED, 429/502/503/504 → UNAVAILABLE, anything else (200 too) → UNKNOWN.
 */
export function codeFromHttpStatus(status: number): Code {
  switch (status) {
    case 400:
    case 431:
      return Code.Internal;
    case 401:
      return Code.Unauthenticated;
    case 403:
      return Code.PermissionDenied;
    case 404:
      return Code.Unimplemented;
    case 429:
    case 502:
    case 503:
    case 504:
      return Code.Unavailable;
    default:
      return Code.Unknown;
  }
}
