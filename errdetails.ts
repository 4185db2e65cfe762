/**
 * The standard rich error details, `google/rpc/error_details.proto` (googleapis), as typed
 * {@linkcode DetailType}s: {@linkcode ErrorInfo}, {@linkcode RetryInfo}, {@linkcode DebugInfo},
 * {@linkcode QuotaFailure}, {@linkcode PreconditionFailure}, {@linkcode BadRequest},
 * {@linkcode RequestInfo}, {@linkcode ResourceInfo}, {@linkcode Help} and
 * {@linkcode LocalizedMessage}; and {@linkcode detailType} for any other message. grpc-go:
 * `google.golang.org/genproto/googleapis/rpc/errdetails`; tonic: `tonic-types`.
 *
 * Build a status with `packDetail(BadRequest, {...})` in `StatusError`'s `details`, read it back
 * with `err.findDetails(BadRequest)`. Field names are the proto names in lowerCamelCase, as
 * protobufjs and Connect-ES spell them; int64 fields decode as decimal strings (this module's
 * codec default), absent message fields as `null`.
 *
 * The definitions are compiled in (no `.proto` is read at run time), and encoded as grpc-go
 * encodes them: fields in number order, default values left out, map entries sorted by key (Go's
 * deterministic order) with both key and value written.
 *
 * @example Send and read rich details
 * ```ts
 * import { BadRequest, Code, ErrorInfo, packDetail, RetryInfo, StatusError } from "@seed/grpc";
 * import { assertEquals } from "@std/assert";
 *
 * const err = new StatusError(Code.ResourceExhausted, "Too many requests", {
 *   details: [
 *     packDetail(ErrorInfo, { reason: "RATE_LIMITED", domain: "example.com", metadata: { qps: "10" } }),
 *     packDetail(RetryInfo, { retryDelay: { seconds: 2, nanos: 500_000_000 } }),
 *   ],
 * });
 * assertEquals(err.findDetails(ErrorInfo)[0].metadata, { qps: "10" });
 * assertEquals(err.findDetails(RetryInfo)[0].retryDelay, { seconds: "2", nanos: 500_000_000 });
 * assertEquals(err.findDetails(BadRequest), []);
 * ```
 *
 * @module
 */

import { type Codec, protobufCodec, type ProtobufType } from "./codec.ts";
import {
  decodeMessage,
  encodeMessage,
  type FieldSpec,
  type MessageSpec,
  spec,
} from "./internal/message_schema.ts";
import type { DetailType } from "./status.ts";

/**
 * What the built-in detail types' `encode` accepts: the message with every field optional,
 * nested messages too, and int64 fields as a number, decimal string or bigint.
 *
 * @typeParam T The decoded message type, e.g. {@linkcode BadRequest}.
 *
 * @example A partial BadRequest
 * ```ts
 * import type { BadRequest, MessageInit } from "@seed/grpc";
 *
 * const init: MessageInit<BadRequest> = { fieldViolations: [{ field: "name" }] };
 * ```
 */
export type MessageInit<T> = T extends string ? string | number | bigint
  : T extends readonly (infer E)[] ? MessageInit<E>[]
  : T extends object ? { [K in keyof T]?: MessageInit<T[K]> | null }
  : T;

// --- the definitions: one schema per message, fields in number order ----------------------
// (google/rpc/error_details.proto as of 2024, google/protobuf/duration.proto)

const str = (no: number, name: string): FieldSpec => ({ no, name, kind: "string" });

// google/protobuf/duration.proto
const DURATION = spec("google.protobuf.Duration", [
  { no: 1, name: "seconds", kind: "int64" },
  { no: 2, name: "nanos", kind: "int32" },
]);
const LOCALIZED_MESSAGE = spec("google.rpc.LocalizedMessage", [
  str(1, "locale"),
  str(2, "message"),
]);
const ERROR_INFO = spec("google.rpc.ErrorInfo", [
  str(1, "reason"),
  str(2, "domain"),
  { no: 3, name: "metadata", kind: "map" },
]);
const RETRY_INFO = spec("google.rpc.RetryInfo", [
  { no: 1, name: "retryDelay", kind: "message", type: DURATION },
]);
const DEBUG_INFO = spec("google.rpc.DebugInfo", [
  { no: 1, name: "stackEntries", kind: "string", repeated: true },
  str(2, "detail"),
]);
const QUOTA_VIOLATION = spec("google.rpc.QuotaFailure.Violation", [
  str(1, "subject"),
  str(2, "description"),
  str(3, "apiService"),
  str(4, "quotaMetric"),
  str(5, "quotaId"),
  { no: 6, name: "quotaDimensions", kind: "map" },
  { no: 7, name: "quotaValue", kind: "int64" },
  { no: 8, name: "futureQuotaValue", kind: "int64", optional: true },
]);
const QUOTA_FAILURE = spec("google.rpc.QuotaFailure", [
  { no: 1, name: "violations", kind: "message", repeated: true, type: QUOTA_VIOLATION },
]);
const PRECONDITION_VIOLATION = spec("google.rpc.PreconditionFailure.Violation", [
  str(1, "type"),
  str(2, "subject"),
  str(3, "description"),
]);
const PRECONDITION_FAILURE = spec("google.rpc.PreconditionFailure", [
  { no: 1, name: "violations", kind: "message", repeated: true, type: PRECONDITION_VIOLATION },
]);
const FIELD_VIOLATION = spec("google.rpc.BadRequest.FieldViolation", [
  str(1, "field"),
  str(2, "description"),
  str(3, "reason"),
  { no: 4, name: "localizedMessage", kind: "message", type: LOCALIZED_MESSAGE },
]);
const BAD_REQUEST = spec("google.rpc.BadRequest", [
  { no: 1, name: "fieldViolations", kind: "message", repeated: true, type: FIELD_VIOLATION },
]);
const REQUEST_INFO = spec("google.rpc.RequestInfo", [str(1, "requestId"), str(2, "servingData")]);
const RESOURCE_INFO = spec("google.rpc.ResourceInfo", [
  str(1, "resourceType"),
  str(2, "resourceName"),
  str(3, "owner"),
  str(4, "description"),
]);
const HELP_LINK = spec("google.rpc.Help.Link", [str(1, "description"), str(2, "url")]);
const HELP = spec("google.rpc.Help", [
  { no: 1, name: "links", kind: "message", repeated: true, type: HELP_LINK },
]);

function builtin<T>(m: MessageSpec): DetailType<T, MessageInit<T>> {
  return Object.freeze({
    typeName: m.name,
    encode: (value: MessageInit<T>) => encodeMessage(m, value),
    decode: (bytes: Uint8Array) => decodeMessage(m, bytes) as T,
  });
}

// --- the public types ---------------------------------------------------------------------

/**
 * `google.protobuf.Duration`: a signed span of time (`seconds` as a decimal string, as int64
 * fields decode; `nanos` in -999,999,999 … 999,999,999 with the sign of `seconds`).
 *
 * @example Two and a half seconds
 * ```ts
 * import type { Duration } from "@seed/grpc";
 *
 * const d: Duration = { seconds: "2", nanos: 500_000_000 };
 * ```
 */
export interface Duration {
  /** Whole seconds (int64, decimal). */
  seconds: string;
  /** Nanoseconds (int32). */
  nanos: number;
}

/**
 * `google.rpc.ErrorInfo`: the cause of an error, as a machine-readable reason in a domain, with
 * metadata.
 *
 * @example Read an ErrorInfo
 * ```ts
 * import { Code, ErrorInfo, packDetail, StatusError } from "@seed/grpc";
 * import { assertEquals } from "@std/assert";
 *
 * const err = new StatusError(Code.PermissionDenied, "API disabled", {
 *   details: [packDetail(ErrorInfo, { reason: "API_DISABLED", domain: "example.com" })],
 * });
 * assertEquals(err.findDetails(ErrorInfo), [
 *   { reason: "API_DISABLED", domain: "example.com", metadata: {} },
 * ]);
 * ```
 */
export interface ErrorInfo {
  /** The reason, UPPER_SNAKE_CASE, unique within `domain`. */
  reason: string;
  /** The logical grouping of `reason`, e.g. a service name. */
  domain: string;
  /** Structured details, e.g. `{ resource: "projects/123" }`. */
  metadata: Record<string, string>;
}

/**
 * The {@linkcode DetailType} of `google.rpc.ErrorInfo`.
 *
 * @example Pack one
 * ```ts
 * import { ErrorInfo, packDetail } from "@seed/grpc";
 *
 * packDetail(ErrorInfo, { reason: "STOCKOUT", domain: "example.com" });
 * ```
 */
export const ErrorInfo: DetailType<ErrorInfo, MessageInit<ErrorInfo>> = builtin(ERROR_INFO);

/**
 * `google.rpc.RetryInfo`: how long to wait before retrying.
 *
 * @example Read the delay
 * ```ts
 * import { Code, packDetail, RetryInfo, StatusError } from "@seed/grpc";
 * import { assertEquals } from "@std/assert";
 *
 * const err = new StatusError(Code.Unavailable, "try later", {
 *   details: [packDetail(RetryInfo, { retryDelay: { seconds: 5 } })],
 * });
 * assertEquals(err.findDetails(RetryInfo)[0].retryDelay?.seconds, "5");
 * ```
 */
export interface RetryInfo {
  /** The least time to wait, or `null` when absent. */
  retryDelay: Duration | null;
}

/**
 * The {@linkcode DetailType} of `google.rpc.RetryInfo`.
 *
 * @example Pack one
 * ```ts
 * import { packDetail, RetryInfo } from "@seed/grpc";
 *
 * packDetail(RetryInfo, { retryDelay: { seconds: 1, nanos: 0 } });
 * ```
 */
export const RetryInfo: DetailType<RetryInfo, MessageInit<RetryInfo>> = builtin(RETRY_INFO);

/**
 * `google.rpc.DebugInfo`: a stack trace and debugging detail (for trusted clients only).
 *
 * @example Read it
 * ```ts
 * import { Code, DebugInfo, packDetail, StatusError } from "@seed/grpc";
 * import { assertEquals } from "@std/assert";
 *
 * const err = new StatusError(Code.Internal, "oops", {
 *   details: [packDetail(DebugInfo, { stackEntries: ["a.ts:1", "b.ts:2"], detail: "null" })],
 * });
 * assertEquals(err.findDetails(DebugInfo)[0].stackEntries, ["a.ts:1", "b.ts:2"]);
 * ```
 */
export interface DebugInfo {
  /** Stack trace entries. */
  stackEntries: string[];
  /** More information from the server. */
  detail: string;
}

/**
 * The {@linkcode DetailType} of `google.rpc.DebugInfo`.
 *
 * @example Pack one
 * ```ts
 * import { DebugInfo, packDetail } from "@seed/grpc";
 *
 * packDetail(DebugInfo, { detail: "cache miss" });
 * ```
 */
export const DebugInfo: DetailType<DebugInfo, MessageInit<DebugInfo>> = builtin(DEBUG_INFO);

/**
 * One violation in a {@linkcode QuotaFailure} (`google.rpc.QuotaFailure.Violation`).
 *
 * @example A violation
 * ```ts
 * import type { MessageInit, QuotaFailureViolation } from "@seed/grpc";
 *
 * const v: MessageInit<QuotaFailureViolation> = { subject: "project:7", quotaValue: 100 };
 * ```
 */
export interface QuotaFailureViolation {
  /** What the quota check failed on, e.g. `"clientip:192.0.2.1"`. */
  subject: string;
  /** How it failed, e.g. `"Daily Limit for read operations exceeded"`. */
  description: string;
  /** The API service of the quota, e.g. `"pubsub.googleapis.com"`. */
  apiService: string;
  /** The quota metric, e.g. `"compute.googleapis.com/cpus"`. */
  quotaMetric: string;
  /** The quota's id, e.g. `"CPUS-per-project-region"`. */
  quotaId: string;
  /** The dimensions of the quota, e.g. `{ region: "us-central1" }`. */
  quotaDimensions: Record<string, string>;
  /** The enforced quota value (int64, decimal). */
  quotaValue: string;
  /** A quota value being rolled out, when there is one (int64, decimal). */
  futureQuotaValue?: string;
}

/**
 * `google.rpc.QuotaFailure`: which quota checks failed.
 *
 * @example Read the violations
 * ```ts
 * import { Code, packDetail, QuotaFailure, StatusError } from "@seed/grpc";
 * import { assertEquals } from "@std/assert";
 *
 * const err = new StatusError(Code.ResourceExhausted, "quota", {
 *   details: [packDetail(QuotaFailure, { violations: [{ subject: "user:7" }] })],
 * });
 * assertEquals(err.findDetails(QuotaFailure)[0].violations[0].subject, "user:7");
 * ```
 */
export interface QuotaFailure {
  /** Every quota violation. */
  violations: QuotaFailureViolation[];
}

/**
 * The {@linkcode DetailType} of `google.rpc.QuotaFailure`.
 *
 * @example Pack one
 * ```ts
 * import { packDetail, QuotaFailure } from "@seed/grpc";
 *
 * packDetail(QuotaFailure, { violations: [{ subject: "project:7", description: "daily" }] });
 * ```
 */
export const QuotaFailure: DetailType<QuotaFailure, MessageInit<QuotaFailure>> = builtin(
  QUOTA_FAILURE,
);

/**
 * One failed precondition in a {@linkcode PreconditionFailure}
 * (`google.rpc.PreconditionFailure.Violation`).
 *
 * @example A violation
 * ```ts
 * import type { PreconditionFailureViolation } from "@seed/grpc";
 *
 * const v: PreconditionFailureViolation = { type: "TOS", subject: "example.com", description: "" };
 * ```
 */
export interface PreconditionFailureViolation {
  /** The kind of precondition, e.g. `"TOS"`. */
  type: string;
  /** What failed, relative to `type`. */
  subject: string;
  /** How it failed. */
  description: string;
}

/**
 * `google.rpc.PreconditionFailure`: which preconditions failed.
 *
 * @example Read the violations
 * ```ts
 * import { Code, packDetail, PreconditionFailure, StatusError } from "@seed/grpc";
 * import { assertEquals } from "@std/assert";
 *
 * const err = new StatusError(Code.FailedPrecondition, "terms", {
 *   details: [packDetail(PreconditionFailure, { violations: [{ type: "TOS" }] })],
 * });
 * assertEquals(err.findDetails(PreconditionFailure)[0].violations[0].type, "TOS");
 * ```
 */
export interface PreconditionFailure {
  /** Every failed precondition. */
  violations: PreconditionFailureViolation[];
}

/**
 * The {@linkcode DetailType} of `google.rpc.PreconditionFailure`.
 *
 * @example Pack one
 * ```ts
 * import { packDetail, PreconditionFailure } from "@seed/grpc";
 *
 * packDetail(PreconditionFailure, { violations: [{ type: "TOS", subject: "example.com" }] });
 * ```
 */
export const PreconditionFailure: DetailType<
  PreconditionFailure,
  MessageInit<PreconditionFailure>
> = builtin(PRECONDITION_FAILURE);

/**
 * `google.rpc.LocalizedMessage`: an error message safe to show the user, in a locale.
 *
 * @example Read it
 * ```ts
 * import { Code, LocalizedMessage, packDetail, StatusError } from "@seed/grpc";
 * import { assertEquals } from "@std/assert";
 *
 * const err = new StatusError(Code.NotFound, "no", {
 *   details: [packDetail(LocalizedMessage, { locale: "fr-CH", message: "Introuvable" })],
 * });
 * assertEquals(err.findDetails(LocalizedMessage)[0].message, "Introuvable");
 * ```
 */
export interface LocalizedMessage {
  /** A BCP 47 locale, e.g. `"en-US"`. */
  locale: string;
  /** The message in that locale. */
  message: string;
}

/**
 * The {@linkcode DetailType} of `google.rpc.LocalizedMessage`.
 *
 * @example Pack one
 * ```ts
 * import { LocalizedMessage, packDetail } from "@seed/grpc";
 *
 * packDetail(LocalizedMessage, { locale: "en-US", message: "Not found" });
 * ```
 */
export const LocalizedMessage: DetailType<LocalizedMessage, MessageInit<LocalizedMessage>> =
  builtin(LOCALIZED_MESSAGE);

/**
 * One bad field in a {@linkcode BadRequest} (`google.rpc.BadRequest.FieldViolation`).
 *
 * @example A violation
 * ```ts
 * import type { BadRequestFieldViolation, MessageInit } from "@seed/grpc";
 *
 * const v: MessageInit<BadRequestFieldViolation> = { field: "email", reason: "INVALID_EMAIL" };
 * ```
 */
export interface BadRequestFieldViolation {
  /** The path to the field, e.g. `"user.emails[1]"`. */
  field: string;
  /** Why it is bad. */
  description: string;
  /** A machine-readable reason, UPPER_SNAKE_CASE. */
  reason: string;
  /** A message for the user, or `null`. */
  localizedMessage: LocalizedMessage | null;
}

/**
 * `google.rpc.BadRequest`: which fields of a request are invalid.
 *
 * @example Read the violations
 * ```ts
 * import { BadRequest, Code, packDetail, StatusError } from "@seed/grpc";
 * import { assertEquals } from "@std/assert";
 *
 * const err = new StatusError(Code.InvalidArgument, "bad", {
 *   details: [packDetail(BadRequest, { fieldViolations: [{ field: "age", description: "< 0" }] })],
 * });
 * assertEquals(err.findDetails(BadRequest)[0].fieldViolations, [
 *   { field: "age", description: "< 0", reason: "", localizedMessage: null },
 * ]);
 * ```
 */
export interface BadRequest {
  /** Every bad field. */
  fieldViolations: BadRequestFieldViolation[];
}

/**
 * The {@linkcode DetailType} of `google.rpc.BadRequest`.
 *
 * @example Pack one
 * ```ts
 * import { BadRequest, packDetail } from "@seed/grpc";
 *
 * packDetail(BadRequest, { fieldViolations: [{ field: "name", description: "empty" }] });
 * ```
 */
export const BadRequest: DetailType<BadRequest, MessageInit<BadRequest>> = builtin(BAD_REQUEST);

/**
 * `google.rpc.RequestInfo`: identifies the request, for bug reports.
 *
 * @example Read it
 * ```ts
 * import { Code, packDetail, RequestInfo, StatusError } from "@seed/grpc";
 * import { assertEquals } from "@std/assert";
 *
 * const err = new StatusError(Code.Internal, "oops", {
 *   details: [packDetail(RequestInfo, { requestId: "req-42" })],
 * });
 * assertEquals(err.findDetails(RequestInfo)[0].requestId, "req-42");
 * ```
 */
export interface RequestInfo {
  /** An opaque id of the request, e.g. to find it in the server's logs. */
  requestId: string;
  /** Data used to serve the request, e.g. an encrypted stack trace. */
  servingData: string;
}

/**
 * The {@linkcode DetailType} of `google.rpc.RequestInfo`.
 *
 * @example Pack one
 * ```ts
 * import { packDetail, RequestInfo } from "@seed/grpc";
 *
 * packDetail(RequestInfo, { requestId: "req-42", servingData: "shard-7" });
 * ```
 */
export const RequestInfo: DetailType<RequestInfo, MessageInit<RequestInfo>> = builtin(
  REQUEST_INFO,
);

/**
 * `google.rpc.ResourceInfo`: the resource being accessed.
 *
 * @example Read it
 * ```ts
 * import { Code, packDetail, ResourceInfo, StatusError } from "@seed/grpc";
 * import { assertEquals } from "@std/assert";
 *
 * const err = new StatusError(Code.NotFound, "no such table", {
 *   details: [packDetail(ResourceInfo, { resourceType: "sql table", resourceName: "users" })],
 * });
 * assertEquals(err.findDetails(ResourceInfo)[0].resourceName, "users");
 * ```
 */
export interface ResourceInfo {
  /** The kind of resource, e.g. `"sql table"` or a type URL. */
  resourceType: string;
  /** Its name. */
  resourceName: string;
  /** Its owner, e.g. `"user:ada@example.com"`. */
  owner: string;
  /** What went wrong accessing it. */
  description: string;
}

/**
 * The {@linkcode DetailType} of `google.rpc.ResourceInfo`.
 *
 * @example Pack one
 * ```ts
 * import { packDetail, ResourceInfo } from "@seed/grpc";
 *
 * packDetail(ResourceInfo, { resourceType: "file", resourceName: "/etc/motd" });
 * ```
 */
export const ResourceInfo: DetailType<ResourceInfo, MessageInit<ResourceInfo>> = builtin(
  RESOURCE_INFO,
);

/**
 * A link in a {@linkcode Help} (`google.rpc.Help.Link`).
 *
 * @example A link
 * ```ts
 * import type { HelpLink } from "@seed/grpc";
 *
 * const link: HelpLink = { description: "Quotas", url: "https://example.com/quotas" };
 * ```
 */
export interface HelpLink {
  /** What the link offers. */
  description: string;
  /** The URL. */
  url: string;
}

/**
 * `google.rpc.Help`: links to documentation or to an action that fixes the error.
 *
 * @example Read the links
 * ```ts
 * import { Code, Help, packDetail, StatusError } from "@seed/grpc";
 * import { assertEquals } from "@std/assert";
 *
 * const err = new StatusError(Code.PermissionDenied, "enable the API first", {
 *   details: [packDetail(Help, { links: [{ url: "https://example.com/enable" }] })],
 * });
 * assertEquals(err.findDetails(Help)[0].links[0].url, "https://example.com/enable");
 * ```
 */
export interface Help {
  /** The links. */
  links: HelpLink[];
}

/**
 * The {@linkcode DetailType} of `google.rpc.Help`.
 *
 * @example Pack one
 * ```ts
 * import { Help, packDetail } from "@seed/grpc";
 *
 * packDetail(Help, { links: [{ description: "Docs", url: "https://example.com/docs" }] });
 * ```
 */
export const Help: DetailType<Help, MessageInit<Help>> = builtin(HELP);

/**
 * Makes a {@linkcode DetailType} for any message: from a protobufjs type (e.g.
 * `root.lookupType("acme.Quota")`; its name and this module's codec), or from a name and any
 * {@linkcode Codec} (e.g. a method's `responseCodec`).
 *
 * @typeParam T The decoded message.
 * @param type A protobufjs message type, or the message's fully qualified name (no leading dot).
 * @param codec The codec, when `type` is a name.
 * @returns The detail type.
 * @throws {TypeError} If `type` is a name without a codec, or not a protobufjs type.
 *
 * @example A detail of the application's own type
 * ```ts
 * import { Code, detailType, packDetail, StatusError } from "@seed/grpc";
 * import { assertEquals } from "@std/assert";
 * import protobuf from "protobufjs";
 *
 * const { root } = protobuf.parse(`syntax = "proto3"; package acme;
 *   message Conflict { string resource = 1; int32 version = 2; }`);
 * const Conflict = detailType<{ resource: string; version: number }>(
 *   root.lookupType("acme.Conflict"),
 * );
 * const err = new StatusError(Code.Aborted, "stale write", {
 *   details: [packDetail(Conflict, { resource: "doc/7", version: 3 })],
 * });
 * assertEquals(err.details[0].typeUrl, "type.googleapis.com/acme.Conflict");
 * assertEquals(err.findDetails(Conflict), [{ resource: "doc/7", version: 3 }]);
 * ```
 */
export function detailType<T>(type: ProtobufType | string, codec?: Codec<T>): DetailType<T> {
  if (typeof type === "string") {
    if (codec === undefined || typeof codec.encode !== "function") {
      throw new TypeError(`Cannot make a detail type for "${type}": a codec is required`);
    }
    return Object.freeze({
      typeName: type.startsWith(".") ? type.slice(1) : type,
      encode: (value: T) => codec.encode(value),
      decode: (bytes: Uint8Array) => codec.decode(bytes),
    });
  }
  const c = codec ?? protobufCodec<T>(type);
  return Object.freeze({
    typeName: type.fullName.slice(1),
    encode: (value: T) => c.encode(value),
    decode: (bytes: Uint8Array) => c.decode(bytes),
  });
}
