// Request validation for the server role, in one place as grpc-go's http2Server.operateHeaders
// has it: a malformed header block (RFC 9113 §8.2–8.3) is reset; a well-formed request gRPC can't
// take is answered with an HTTP status (405, 415, 400) and a gRPC status.

import { Code } from "../status.ts";
import { hasInvalidFieldValue, isGrpcContentType } from "../internal/headers.ts";
import { decodeTimeout } from "../internal/timeout.ts";

/** What validateRequest extracts from a request gRPC can take. */
export interface ParsedRequest {
  /** `:method`; gRPC needs POST. */
  method: string;
  path: string;
  authority: string;
  contentType: string;
  /** `grpc-timeout` as sent, or "". */
  timeout: string;
  /** `grpc-timeout`, decoded; `undefined` when absent. */
  timeoutMs: number | undefined;
  encoding: string;
  acceptEncoding: string;
  /** `content-length`, or -1 when absent. */
  contentLength: number;
  headers: string[];
}

/**
 * Why a request is refused. A malformed one (`httpStatus` 0) is reset with RST_STREAM
 * PROTOCOL_ERROR; a well-formed one gRPC can't take is answered, trailers-only, with
 * `httpStatus` and the gRPC status `code`, as grpc-go does.
 */
export class RequestError {
  /** What is wrong, for the RST_STREAM debug or `grpc-message` (not yet percent-encoded). */
  readonly reason: string;
  /** The HTTP status of the answer; 0 for a malformed request. */
  readonly httpStatus: number;
  /** The gRPC status code of the answer (with `httpStatus`). */
  readonly code: number;

  constructor(reason: string, httpStatus = 0, code = 0) {
    this.reason = reason;
    this.httpStatus = httpStatus;
    this.code = code;
  }
}

/**
 * Checks a request header block as grpc-go's operateHeaders does: malformed HTTP/2 (RFC 9113
 * §8.2–8.3) first; then a method other than POST is answered 405 INTERNAL, a content-type that
 * is not gRPC's 415 INVALID_ARGUMENT (PROTOCOL-HTTP2.md), a malformed `grpc-timeout` 400
 * INTERNAL. A request that ends with its headers (`endStream`) but declares a content-length is
 * malformed (RFC 9113 §8.1.1).
 */
export function validateRequest(list: string[], endStream = false): ParsedRequest | RequestError {
  const req = parseRequest(list);
  if (typeof req === "string") return new RequestError(req);
  // §8.1.1: a content-length that the (absent) DATA cannot match.
  if (endStream && req.contentLength > 0) return new RequestError("content-length mismatch");
  const { method, contentType, timeout } = req;
  if (method !== "POST") {
    // A non-POST request is not malformed, so no PROTOCOL_ERROR.
    return new RequestError(`invalid method "${method}"`, 405, Code.Internal);
  }
  if (!isGrpcContentType(contentType)) {
    return new RequestError(
      `invalid gRPC request content-type "${contentType}"`,
      415,
      Code.InvalidArgument,
    );
  }
  if (timeout !== "") {
    req.timeoutMs = decodeTimeout(timeout);
    if (req.timeoutMs === undefined) {
      // Fails the request before routing.
      return new RequestError(`malformed grpc-timeout: ${timeout}`, 400, Code.Internal);
    }
  }
  return req;
}

// RFC 9113 §8.2.2: connection-specific header fields make a request malformed.
const CONNECTION_HEADERS = new Set([
  "connection",
  "proxy-connection",
  "keep-alive",
  "transfer-encoding",
  "upgrade",
]);

// Validates a request header block (RFC 9113 §8.2–8.3) and extracts what gRPC needs; returns a
// reason string when the request is malformed (answered with RST_STREAM PROTOCOL_ERROR).
function parseRequest(list: string[]): ParsedRequest | string {
  let method = "", scheme = "", path = "", authority = "";
  let contentType = "", timeout = "", encoding = "", acceptEncoding = "";
  let contentLength = -1;
  let regular = false;
  if (hasInvalidFieldValue(list)) return "NUL, CR or LF in a header value";
  for (let i = 0; i < list.length; i += 2) {
    const name = list[i];
    const value = list[i + 1];
    if (name.charCodeAt(0) === 58 /* : */) {
      if (regular) return "Pseudo-header after a regular header";
      switch (name) {
        case ":method":
          if (method !== "") return "Duplicate :method";
          method = value;
          break;
        case ":scheme":
          if (scheme !== "") return "Duplicate :scheme";
          scheme = value;
          break;
        case ":path":
          if (path !== "") return "Duplicate :path";
          path = value;
          break;
        case ":authority":
          if (authority !== "") return "Duplicate :authority";
          authority = value;
          break;
        default:
          return `Unknown pseudo-header ${name}`;
      }
      continue;
    }
    regular = true;
    if (!isLowerToken(name)) return "Invalid header name";
    switch (name) {
      case "content-type":
        contentType = value;
        break;
      case "grpc-timeout":
        timeout = value;
        break;
      case "grpc-encoding":
        encoding = value;
        break;
      case "grpc-accept-encoding":
        acceptEncoding = value;
        break;
      case "te":
        if (value !== "trailers") return "te other than trailers";
        break;
      case "content-length":
        // RFC 9110 §8.6: digits only; one value (a repeat must agree).
        if (!/^[0-9]{1,15}$/.test(value)) return "Invalid content-length";
        if (contentLength >= 0 && Number(value) !== contentLength) {
          return "Conflicting content-length";
        }
        contentLength = Number(value);
        break;
      default:
        if (CONNECTION_HEADERS.has(name)) return `Connection-specific header ${name}`;
    }
  }
  if (method === "" || scheme === "" || path === "") return "Missing pseudo-header";
  // A method other than POST is well-formed HTTP/2 (RFC 9113 §8.1.1): validateRequest answers 405.
  return {
    method,
    path,
    authority,
    contentType,
    timeout,
    timeoutMs: undefined,
    encoding,
    acceptEncoding,
    contentLength,
    headers: list.slice(),
  };
}

/** Whether a header list holds a pseudo-header (request trailers must not). */
export function hasPseudo(list: string[]): boolean {
  for (let i = 0; i < list.length; i += 2) if (list[i].charCodeAt(0) === 58) return true;
  return false;
}

// RFC 9113 §8.2.1: names are lower case tokens; no control chars, no upper case.
function isLowerToken(name: string): boolean {
  if (name.length === 0) return false;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f || (c >= 0x41 && c <= 0x5a) || c === 0x3a) return false;
  }
  return true;
}
