/**
 * gRPC status: codes, the {@linkcode StatusError} every failed call ends with, typed rich error
 * details ({@linkcode DetailType}, {@linkcode packDetail}, `findDetails`), and the wire forms of
 * a status (`grpc-message` percent-encoding, `grpc-status-details-bin`).
 *
 * @module
 */

import { Metadata, type MetadataInit } from "./metadata.ts";
import { isDeadlineReason } from "./internal/abort.ts";
import {
  lenFieldSize,
  ProtoReader,
  varintSize,
  WIRE_LEN,
  WIRE_VARINT,
  writeVarint,
} from "./internal/protowire.ts";

/**
 * The gRPC status codes (grpc/grpc doc/statuscodes.md), named as in grpc-go. They print in the
 * canonical upper-case form with {@linkcode codeName}.
 *
 * @example Compare a code
 * ```ts
 * import { Code, StatusError } from "@seed/grpc";
 * import { assertEquals } from "@std/assert";
 *
 * const err = new StatusError(Code.NotFound, "Cannot find feature");
 * assertEquals(err.code, Code.NotFound);
 * assertEquals(Code.NotFound, 5);
 * ```
 */
export const Code = {
  /** Not an error; returned on success. Never the code of a {@linkcode StatusError}. */
  OK: 0,
  /** The operation was cancelled, typically by the caller. Canonical name `CANCELLED`. */
  Canceled: 1,
  /** Unknown error, e.g. a handler threw something that is not a {@linkcode StatusError}. */
  Unknown: 2,
  /** The client specified an invalid argument. */
  InvalidArgument: 3,
  /** The deadline expired before the operation could complete. */
  DeadlineExceeded: 4,
  /** Some requested entity was not found. */
  NotFound: 5,
  /** The entity that a client attempted to create already exists. */
  AlreadyExists: 6,
  /** The caller does not have permission to execute the operation. */
  PermissionDenied: 7,
  /** Some resource has been exhausted, or a message exceeded a size limit. */
  ResourceExhausted: 8,
  /** The system is not in a state required for the operation's execution. */
  FailedPrecondition: 9,
  /** The operation was aborted, typically due to a concurrency issue. */
  Aborted: 10,
  /** The operation was attempted past the valid range. */
  OutOfRange: 11,
  /** The operation is not implemented or not supported, e.g. an unknown method. */
  Unimplemented: 12,
  /** Internal error: some invariant expected by the system has been broken. */
  Internal: 13,
  /** The service is currently unavailable; usually transient, the call may be retried. */
  Unavailable: 14,
  /** Unrecoverable data loss or corruption. */
  DataLoss: 15,
  /** The request does not have valid authentication credentials. */
  Unauthenticated: 16,
} as const;

/**
 * A gRPC status code: one of the values of {@linkcode Code}.
 *
 * @example Switch on a code
 * ```ts
 * import { Code } from "@seed/grpc";
 * import { assertEquals } from "@std/assert";
 *
 * function retryable(code: Code): boolean {
 *   return code === Code.Unavailable || code === Code.ResourceExhausted;
 * }
 * assertEquals(retryable(Code.Unavailable), true);
 * ```
 */
export type Code = (typeof Code)[keyof typeof Code];

const CODE_NAMES: readonly string[] = [
  "OK",
  "CANCELLED",
  "UNKNOWN",
  "INVALID_ARGUMENT",
  "DEADLINE_EXCEEDED",
  "NOT_FOUND",
  "ALREADY_EXISTS",
  "PERMISSION_DENIED",
  "RESOURCE_EXHAUSTED",
  "FAILED_PRECONDITION",
  "ABORTED",
  "OUT_OF_RANGE",
  "UNIMPLEMENTED",
  "INTERNAL",
  "UNAVAILABLE",
  "DATA_LOSS",
  "UNAUTHENTICATED",
];

/**
 * Returns the canonical name of a status code, as in grpc/grpc doc/statuscodes.md.
 *
 * @param code A status code.
 * @returns `"NOT_FOUND"`, `"CANCELLED"`…; `"CODE(42)"` for a code outside {@linkcode Code}.
 *
 * @example Name codes
 * ```ts
 * import { Code, codeName } from "@seed/grpc";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(codeName(Code.NotFound), "NOT_FOUND");
 * assertEquals(codeName(Code.Canceled), "CANCELLED");
 * assertEquals(codeName(42), "CODE(42)");
 * ```
 */
export function codeName(code: number): string {
  return Number.isInteger(code) && code >= 0 && code < CODE_NAMES.length
    ? CODE_NAMES[code]
    : `CODE(${code})`;
}

/**
 * One entry of a status's details: a `google.protobuf.Any`, i.e. a serialized message and the URL
 * of its type (e.g. `type.googleapis.com/google.rpc.BadRequest`).
 *
 * @example A detail
 * ```ts
 * import type { StatusDetail } from "@seed/grpc";
 *
 * const detail: StatusDetail = {
 *   typeUrl: "type.googleapis.com/google.rpc.RetryInfo",
 *   value: new Uint8Array([0x0a, 0x02, 0x08, 0x01]),
 * };
 * ```
 */
export interface StatusDetail {
  /** The type URL of the message, e.g. `type.googleapis.com/google.rpc.ErrorInfo`. */
  typeUrl: string;
  /** The serialized message. */
  value: Uint8Array;
}

/**
 * A message type that can travel as a status detail: its fully qualified protobuf name and a
 * codec. The `google.rpc` types ({@linkcode BadRequest}, {@linkcode ErrorInfo}…) are built in;
 * {@linkcode detailType} makes one from any codec or protobufjs type. Connect-ES: a `DescMessage`
 * passed to `findDetails`; grpc-go: a generated message in `status.WithDetails`.
 *
 * @typeParam T The decoded message.
 * @typeParam I What `encode` accepts (for the built-ins, `T` with every field optional).
 *
 * @example A detail type written by hand
 * ```ts
 * import { Code, type DetailType, packDetail, StatusError } from "@seed/grpc";
 * import { assertEquals } from "@std/assert";
 *
 * const Text: DetailType<string> = {
 *   typeName: "example.Text",
 *   encode: (value) => new TextEncoder().encode(value),
 *   decode: (bytes) => new TextDecoder().decode(bytes),
 * };
 * const err = new StatusError(Code.Internal, "no", { details: [packDetail(Text, "why")] });
 * assertEquals(err.details[0].typeUrl, "type.googleapis.com/example.Text");
 * assertEquals(err.findDetails(Text), ["why"]);
 * ```
 */
export interface DetailType<T, I = T> {
  /** The fully qualified message name, without a leading dot: `"google.rpc.BadRequest"`. */
  readonly typeName: string;
  /**
   * Serializes one message.
   *
   * @param value The message.
   * @returns Its wire bytes.
   */
  encode(value: I): Uint8Array;
  /**
   * Parses one message.
   *
   * @param bytes Its wire bytes.
   * @returns The message.
   * @throws {Error} If the bytes are not a valid message of this type.
   */
  decode(bytes: Uint8Array): T;
}

/** The type URL prefix of `google.protobuf.Any` as grpc-go, Connect-ES and others write it. */
const TYPE_URL_PREFIX = "type.googleapis.com/";

/**
 * Packs a message into a status detail (a `google.protobuf.Any`): its type URL is
 * `type.googleapis.com/` + the type's name. grpc-go: `anypb.New` (what `status.WithDetails`
 * does for each message).
 *
 * @typeParam I What the type encodes.
 * @param type The detail's type, e.g. {@linkcode BadRequest}.
 * @param value The message.
 * @returns The detail, for {@linkcode StatusErrorOptions.details}.
 * @throws {TypeError} If the type cannot encode `value`.
 *
 * @example Fail a call with a BadRequest
 * ```ts
 * import { BadRequest, Code, packDetail, StatusError } from "@seed/grpc";
 * import { assertEquals } from "@std/assert";
 *
 * const err = new StatusError(Code.InvalidArgument, "Cannot create user", {
 *   details: [packDetail(BadRequest, {
 *     fieldViolations: [{ field: "email", description: "not an email address" }],
 *   })],
 * });
 * assertEquals(err.details[0].typeUrl, "type.googleapis.com/google.rpc.BadRequest");
 * ```
 */
export function packDetail<I>(type: DetailType<unknown, I>, value: I): StatusDetail {
  return { typeUrl: TYPE_URL_PREFIX + type.typeName, value: type.encode(value) };
}

// The message name in a type URL: what follows the last "/" (protobuf's Any rules).
function typeNameOf(typeUrl: string): string {
  return typeUrl.slice(typeUrl.lastIndexOf("/") + 1);
}

/**
 * Options for {@linkcode StatusError}.
 *
 * @example Trailers and a cause
 * ```ts
 * import { Code, Metadata, StatusError, type StatusErrorOptions } from "@seed/grpc";
 * import { assertEquals } from "@std/assert";
 *
 * const options: StatusErrorOptions = {
 *   metadata: new Metadata({ "retry-after": "5" }),
 *   cause: new Error("pool exhausted"),
 * };
 * const err = new StatusError(Code.ResourceExhausted, "busy", options);
 * assertEquals(err.metadata.get("retry-after"), "5");
 * ```
 */
export interface StatusErrorOptions {
  /**
   * Trailers sent (server) or received (client) with the status: a `Metadata`, or anything its
   * constructor takes (`{ "x-key": "value" }`, pairs), copied into one.
   * @default {new Metadata()}
   */
  metadata?: Metadata | MetadataInit;
  /**
   * Rich error details, sent as `grpc-status-details-bin` (a `google.rpc.Status`).
   * @default {[]}
   */
  details?: StatusDetail[];
  /** The underlying error, kept for local diagnosis; never sent to the peer. */
  cause?: unknown;
}

/**
 * A failed gRPC call: a non-OK status {@linkcode Code}, a message, trailers and details. It is the
 * only error a call rejects with, and the error a handler throws to choose its status.
 *
 * `message` reads `[NOT_FOUND] Cannot find feature`; `rawMessage` is the bare message, the one
 * sent as `grpc-message`.
 *
 * @example Fail a call with a status
 * ```ts
 * import { Code, StatusError } from "@seed/grpc";
 * import { assertEquals, assertThrows } from "@std/assert";
 *
 * const err = new StatusError(Code.NotFound, "Cannot find feature");
 * assertEquals(err.message, "[NOT_FOUND] Cannot find feature");
 * assertEquals(err.rawMessage, "Cannot find feature");
 * assertEquals(err.name, "StatusError");
 * assertThrows(() => new StatusError(Code.OK), RangeError);
 * ```
 */
export class StatusError extends Error {
  /** The status code; never {@linkcode Code.OK}. */
  readonly code: Code;
  /** The message without the `[CODE]` prefix: what travels as `grpc-message`. */
  readonly rawMessage: string;
  /** Trailers that came, or go, with the status. */
  readonly metadata: Metadata;
  /** Rich error details (`google.rpc.Status.details`). */
  readonly details: StatusDetail[];

  /**
   * Creates a status error.
   *
   * @param code A status code other than OK. Codes outside {@linkcode Code} (received from a
   * peer) are accepted if they are integers in 1…2^32-1.
   * @param message The status message.
   * @param options Trailers, details and cause.
   * @throws {RangeError} If `code` is `Code.OK` or not a valid code number.
   *
   * @example With details and a cause
   * ```ts
   * import { Code, Metadata, StatusError } from "@seed/grpc";
   * import { assertEquals } from "@std/assert";
   *
   * const cause = new Error("row missing");
   * const err = new StatusError(Code.NotFound, "Cannot find feature", {
   *   metadata: new Metadata({ "x-shard": "7" }),
   *   details: [{ typeUrl: "type.googleapis.com/x.Y", value: new Uint8Array([1]) }],
   *   cause,
   * });
   * assertEquals(err.cause, cause);
   * assertEquals(err.metadata.get("x-shard"), "7");
   * assertEquals(err.details.length, 1);
   * ```
   */
  constructor(code: Code, message = "", options?: StatusErrorOptions) {
    if (!Number.isInteger(code) || code <= 0 || code > 0xffffffff) {
      throw new RangeError(
        code === Code.OK
          ? "Cannot create StatusError: code is OK"
          : `Cannot create StatusError: invalid code ${code}`,
      );
    }
    const text = String(message);
    const prefix = `[${codeName(code)}]`;
    super(
      text === "" ? prefix : `${prefix} ${text}`,
      options !== undefined && "cause" in options ? { cause: options.cause } : undefined,
    );
    this.name = "StatusError";
    this.code = code;
    this.rawMessage = text;
    const md = options?.metadata;
    // A plain object (easy to pass where types are not checked) becomes a Metadata here, so the
    // server can always send it.
    this.metadata = md instanceof Metadata ? md : new Metadata(md);
    this.details = options?.details ?? [];
  }

  /**
   * Decodes the details of one type: every detail whose type URL names `type.typeName` (any
   * URL prefix), in order. A detail that does not decode as that type is skipped, as Connect-ES
   * does (grpc-go's `Details()` returns the error in its place). grpc-go: `status.Details`.
   *
   * @typeParam T The decoded message.
   * @param type The detail's type, e.g. {@linkcode BadRequest} or one from
   * {@linkcode detailType}.
   * @returns The decoded details; empty when there are none.
   *
   * @example Read a BadRequest back
   * ```ts
   * import { BadRequest, Code, packDetail, RetryInfo, StatusError } from "@seed/grpc";
   * import { assertEquals } from "@std/assert";
   *
   * const err = new StatusError(Code.InvalidArgument, "Cannot create user", {
   *   details: [packDetail(BadRequest, {
   *     fieldViolations: [{ field: "email", description: "not an email address" }],
   *   })],
   * });
   * const [bad] = err.findDetails(BadRequest);
   * assertEquals(bad.fieldViolations[0].field, "email");
   * assertEquals(err.findDetails(RetryInfo), []);
   * ```
   */
  findDetails<T>(type: DetailType<T, never>): T[] {
    const out: T[] = [];
    for (const d of this.details) {
      if (typeNameOf(d.typeUrl) !== type.typeName) continue;
      try {
        out.push(type.decode(d.value));
      } catch {
        // Not a valid message of this type: skipped (see above).
      }
    }
    return out;
  }

  /**
   * Converts anything thrown into a `StatusError`: a `StatusError` passes through; an
   * `AbortError` (an aborted signal's default reason) becomes CANCELLED; a `TimeoutError`
   * (`AbortSignal.timeout`) or `Deno.errors.TimedOut` becomes DEADLINE_EXCEEDED; anything else
   * becomes UNKNOWN. The original is kept as `cause`, and its message as the message.
   *
   * @param x The thrown value.
   * @returns A `StatusError`.
   *
   * @example Map errors to statuses
   * ```ts
   * import { Code, StatusError } from "@seed/grpc";
   * import { assertEquals } from "@std/assert";
   *
   * const ac = new AbortController();
   * ac.abort();
   * assertEquals(StatusError.from(ac.signal.reason).code, Code.Canceled);
   *
   * const err = StatusError.from(new Error("boom"));
   * assertEquals(err.code, Code.Unknown);
   * assertEquals(err.rawMessage, "boom");
   * assertEquals(StatusError.from(err), err);
   * ```
   */
  static from(x: unknown): StatusError {
    if (x instanceof StatusError) return x;
    let code: Code = Code.Unknown;
    let message: string;
    if (x instanceof Error || x instanceof DOMException) {
      message = x.message;
      if (isDeadlineReason(x)) code = Code.DeadlineExceeded;
      else if (x.name === "AbortError") code = Code.Canceled;
    } else {
      message = safeString(x);
    }
    return new StatusError(code, message, { cause: x });
  }
}

function safeString(x: unknown): string {
  if (typeof x === "string") return x;
  try {
    return String(x);
  } catch {
    return typeof x;
  }
}

// --- grpc-message percent-encoding (PROTOCOL-HTTP2.md "Status-Message") ---

// "%XX" for every byte value, upper-case hex as the grammar's 2HEXDIGIT (0-9 A-F) demands.
const PERCENT: readonly string[] = Array.from(
  { length: 256 },
  (_, b) => "%" + b.toString(16).toUpperCase().padStart(2, "0"),
);

// Percent-Byte-Unencoded → %x20-%x24 / %x26-%x7E: printable ASCII except "%".
function isUnencoded(c: number): boolean {
  return c >= 0x20 && c <= 0x7e && c !== 0x25;
}

/**
 * Percent-encodes a status message for the `grpc-message` header (PROTOCOL-HTTP2.md): every
 * byte of its UTF-8 encoding outside 0x20–0x7E, and `%` itself, becomes `%XX`. Returns `s`
 * itself when nothing needs encoding. A lone surrogate is encoded as U+FFFD.
 *
 * @param s The status message.
 * @returns The header value.
 *
 * @example Encode a message
 * ```ts
 * import { encodeGrpcMessage } from "@seed/grpc";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(encodeGrpcMessage("plain text"), "plain text");
 * assertEquals(encodeGrpcMessage("100%\n☺"), "100%25%0A%E2%98%BA");
 * ```
 */
export function encodeGrpcMessage(s: string): string {
  const n = s.length;
  let i = 0;
  while (i < n && isUnencoded(s.charCodeAt(i))) i++;
  if (i === n) return s;
  let out = s.slice(0, i);
  while (i < n) {
    // Copy a run of characters that need no encoding in one slice.
    const runStart = i;
    while (i < n && isUnencoded(s.charCodeAt(i))) i++;
    if (i > runStart) out += s.slice(runStart, i);
    if (i === n) break;
    let cp = s.charCodeAt(i++);
    if (cp >= 0xd800 && cp <= 0xdfff) {
      const next = i < n ? s.charCodeAt(i) : 0;
      if (cp <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        cp = 0x10000 + ((cp - 0xd800) << 10) + (next - 0xdc00);
        i++;
      } else {
        cp = 0xfffd; // lone surrogate: what TextEncoder would write
      }
    }
    if (cp < 0x80) {
      out += PERCENT[cp];
    } else if (cp < 0x800) {
      out += PERCENT[0xc0 | (cp >> 6)] + PERCENT[0x80 | (cp & 0x3f)];
    } else if (cp < 0x10000) {
      out += PERCENT[0xe0 | (cp >> 12)] + PERCENT[0x80 | ((cp >> 6) & 0x3f)] +
        PERCENT[0x80 | (cp & 0x3f)];
    } else {
      out += PERCENT[0xf0 | (cp >> 18)] + PERCENT[0x80 | ((cp >> 12) & 0x3f)] +
        PERCENT[0x80 | ((cp >> 6) & 0x3f)] + PERCENT[0x80 | (cp & 0x3f)];
    }
  }
  return out;
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

// Non-fatal: invalid UTF-8 becomes U+FFFD. ignoreBOM keeps a leading U+FEFF the sender meant.
const utf8Decoder = new TextDecoder("utf-8", { ignoreBOM: true });
const utf8Encoder = new TextEncoder();

/**
 * Decodes a `grpc-message` header value (PROTOCOL-HTTP2.md). Never throws: a `%` not followed
 * by two hex digits is kept as it is, and bytes that are not valid UTF-8 become U+FFFD.
 * Characters U+0080–U+00FF are taken as the raw octets of the header value (how a header
 * decoder maps octets to a string), so unencoded UTF-8 from a lax peer decodes too.
 *
 * @param s The header value.
 * @returns The status message.
 *
 * @example Decode a message
 * ```ts
 * import { decodeGrpcMessage } from "@seed/grpc";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(decodeGrpcMessage("100%25%0A%E2%98%BA"), "100%\n☺");
 * assertEquals(decodeGrpcMessage("50% off %zz"), "50% off %zz"); // invalid: kept as is
 * assertEquals(decodeGrpcMessage("%FF"), "\uFFFD"); // not UTF-8: replaced
 * ```
 */
export function decodeGrpcMessage(s: string): string {
  const n = s.length;
  let i = 0;
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x25 || c >= 0x80) break;
  }
  if (i === n) return s;
  // Worst case 3 bytes per UTF-16 unit (a surrogate pair: 4 bytes for 2 units).
  const bytes = new Uint8Array(n * 3);
  let len = 0;
  for (let j = 0; j < i; j++) bytes[len++] = s.charCodeAt(j);
  while (i < n) {
    const c = s.charCodeAt(i);
    if (c === 0x25 && i + 2 < n) {
      const hi = hexValue(s.charCodeAt(i + 1));
      const lo = hi < 0 ? -1 : hexValue(s.charCodeAt(i + 2));
      if (lo >= 0) {
        bytes[len++] = (hi << 4) | lo;
        i += 3;
        continue;
      }
    }
    if (c < 0x100) {
      bytes[len++] = c;
      i++;
      continue;
    }
    // A character that cannot be an octet: keep it, as UTF-8.
    let end = i + 1;
    if (c >= 0xd800 && c <= 0xdbff && end < n) {
      const next = s.charCodeAt(end);
      if (next >= 0xdc00 && next <= 0xdfff) end++;
    }
    len += utf8Encoder.encodeInto(s.slice(i, end), bytes.subarray(len)).written;
    i = end;
  }
  return utf8Decoder.decode(bytes.subarray(0, len));
}

// --- grpc-status-details-bin: google.rpc.Status (google/rpc/status.proto) ---
//
//   message Status { int32 code = 1; string message = 2; repeated google.protobuf.Any details = 3; }
//   message Any    { string type_url = 1; bytes value = 2; }
//
// The wire format helpers are internal/protowire.ts.

const TAG_STATUS_CODE = (1 << 3) | WIRE_VARINT; // 0x08
const TAG_STATUS_MESSAGE = (2 << 3) | WIRE_LEN; // 0x12
const TAG_STATUS_DETAILS = (3 << 3) | WIRE_LEN; // 0x1a
const TAG_ANY_TYPE_URL = (1 << 3) | WIRE_LEN; // 0x0a
const TAG_ANY_VALUE = (2 << 3) | WIRE_LEN; // 0x12

const EMPTY = new Uint8Array(0);

/**
 * Encodes a `google.rpc.Status` message, the value of the `grpc-status-details-bin` trailer
 * (before base64).
 *
 * @param code The status code (an int32).
 * @param message The status message.
 * @param details The details, each a `google.protobuf.Any`.
 * @returns The serialized message.
 * @throws {RangeError} If `code` is not an int32.
 *
 * @example Encode and decode a status
 * ```ts
 * import { Code, decodeStatusDetails, encodeStatusDetails } from "@seed/grpc";
 * import { assertEquals } from "@std/assert";
 *
 * const details = [{ typeUrl: "type.googleapis.com/x.Y", value: new Uint8Array([1, 2]) }];
 * const bytes = encodeStatusDetails(Code.NotFound, "no", details);
 * assertEquals(decodeStatusDetails(bytes), { code: Code.NotFound, message: "no", details });
 * ```
 */
export function encodeStatusDetails(
  code: number,
  message: string,
  details: readonly StatusDetail[],
): Uint8Array {
  if (!Number.isInteger(code) || code < -0x80000000 || code > 0x7fffffff) {
    throw new RangeError(`Cannot encode google.rpc.Status: code ${code} is not an int32`);
  }
  const messageBytes = message === "" ? EMPTY : utf8Encoder.encode(message);
  const urls: Uint8Array[] = [];
  const anySizes: number[] = [];
  // A negative int32 is sign-extended to 64 bits, so it takes 10 bytes.
  let size = code === 0 ? 0 : 1 + (code < 0 ? 10 : varintSize(code));
  if (messageBytes.length > 0) size += lenFieldSize(messageBytes.length);
  for (const d of details) {
    const url = d.typeUrl === "" ? EMPTY : utf8Encoder.encode(d.typeUrl);
    let anySize = 0;
    if (url.length > 0) anySize += lenFieldSize(url.length);
    if (d.value.length > 0) anySize += lenFieldSize(d.value.length);
    urls.push(url);
    anySizes.push(anySize);
    size += lenFieldSize(anySize);
  }
  const out = new Uint8Array(size);
  let pos = 0;
  if (code > 0) {
    out[pos++] = TAG_STATUS_CODE;
    pos = writeVarint(out, pos, code);
  } else if (code < 0) {
    out[pos++] = TAG_STATUS_CODE;
    // Two's complement over 64 bits: the low 32 bits, then all ones.
    let lo = code >>> 0;
    let hi = 0xffffffff;
    while (hi !== 0 || lo >= 128) {
      out[pos++] = (lo & 0x7f) | 0x80;
      lo = ((lo >>> 7) | (hi << 25)) >>> 0;
      hi = hi >>> 7;
    }
    out[pos++] = lo;
  }
  if (messageBytes.length > 0) {
    out[pos++] = TAG_STATUS_MESSAGE;
    pos = writeVarint(out, pos, messageBytes.length);
    out.set(messageBytes, pos);
    pos += messageBytes.length;
  }
  for (let i = 0; i < details.length; i++) {
    out[pos++] = TAG_STATUS_DETAILS;
    pos = writeVarint(out, pos, anySizes[i]);
    const url = urls[i];
    if (url.length > 0) {
      out[pos++] = TAG_ANY_TYPE_URL;
      pos = writeVarint(out, pos, url.length);
      out.set(url, pos);
      pos += url.length;
    }
    const value = details[i].value;
    if (value.length > 0) {
      out[pos++] = TAG_ANY_VALUE;
      pos = writeVarint(out, pos, value.length);
      out.set(value, pos);
      pos += value.length;
    }
  }
  return out;
}

/**
 * Decodes a `google.rpc.Status` message, e.g. a `grpc-status-details-bin` trailer after base64
 * decoding. Unknown fields are skipped; missing fields take their defaults (0, "", []). Detail
 * values are copies, independent of `bytes`.
 *
 * @param bytes The serialized message.
 * @returns The code, message and details.
 * @throws {TypeError} If the bytes are truncated or malformed.
 *
 * @example Decode a status
 * ```ts
 * import { decodeStatusDetails } from "@seed/grpc";
 * import { assertEquals, assertThrows } from "@std/assert";
 *
 * const bytes = new Uint8Array([0x08, 0x05, 0x12, 0x02, 0x6e, 0x6f]); // code 5, message "no"
 * assertEquals(decodeStatusDetails(bytes), { code: 5, message: "no", details: [] });
 * assertThrows(() => decodeStatusDetails(bytes.subarray(0, 4)), TypeError);
 * ```
 */
export function decodeStatusDetails(
  bytes: Uint8Array,
): { code: number; message: string; details: StatusDetail[] } {
  const r = new ProtoReader(bytes, 0, bytes.length);
  let code = 0;
  let message = "";
  const details: StatusDetail[] = [];
  while (r.pos < r.end) {
    const tag = r.tag();
    if (tag === TAG_STATUS_CODE) {
      code = r.uint32() | 0;
    } else if (tag === TAG_STATUS_MESSAGE) {
      const n = r.length();
      message = utf8Decoder.decode(bytes.subarray(r.pos, r.pos + n));
      r.pos += n;
    } else if (tag === TAG_STATUS_DETAILS) {
      const n = r.length();
      details.push(decodeAny(bytes, r.pos, r.pos + n));
      r.pos += n;
    } else {
      r.skip(tag);
    }
  }
  return { code, message, details };
}

function decodeAny(bytes: Uint8Array, start: number, end: number): StatusDetail {
  const r = new ProtoReader(bytes, start, end);
  let typeUrl = "";
  let value = EMPTY;
  while (r.pos < r.end) {
    const tag = r.tag();
    if (tag === TAG_ANY_TYPE_URL) {
      const n = r.length();
      typeUrl = utf8Decoder.decode(bytes.subarray(r.pos, r.pos + n));
      r.pos += n;
    } else if (tag === TAG_ANY_VALUE) {
      const n = r.length();
      value = bytes.slice(r.pos, r.pos + n);
      r.pos += n;
    } else {
      r.skip(tag);
    }
  }
  return { typeUrl, value: value === EMPTY ? new Uint8Array(0) : value };
}
