// Protocol Buffers for gRPC: `.proto` loading and message codecs, on protobufjs reflection.
//
// What it does, and where the semantics come from:
// - `loadProto` / `loadProtoSync` parse a `.proto` file and its imports into one protobufjs
//   `Root`, then `servicesFromRoot` turns every `service` in it into a `ServiceDefinition` (the
//   shape grpc-js's `@grpc/proto-loader` produces, keyed by fully qualified name).
// - Import lookup follows @grpc/proto-loader: Google's well-known types bundled with protobufjs
//   (plus descriptor/api/type/source_context, which proto-loader adds) first, then each of
//   `includeDirs` in order, then the importing file's own directory.
// - Codec options are protobufjs `IConversionOptions` spelled as strings ("string" rather than the
//   `String` constructor). The defaults are the combination grpc-js's examples pass to
//   proto-loader, not proto-loader's own defaults (see `CodecOptions`).
// - Encoding is `Type.fromObject` then `Type.encode().finish()`, exactly what proto-loader's
//   serializers do, so objects are coerced the same way grpc-js users are used to.
//
// This file holds the shapes the rest of the library uses (Codec, MethodDefinition,
// ServiceDefinition) and re-exports the rest: codec/protobuf.ts (message codecs and their
// options), codec/services.ts (service definitions from a protobufjs root) and
// codec/proto_loader.ts (`.proto` files and their imports).

export { type CodecOptions, protobufCodec, type ProtobufType } from "./codec/protobuf.ts";
export { type ProtobufRoot, servicesFromRoot } from "./codec/services.ts";
export {
  loadProto,
  type LoadProtoOptions,
  loadProtoSync,
  type ProtoInput,
} from "./codec/proto_loader.ts";
export type {
  EsFieldInit,
  EsMessageInit,
  EsMessageShape,
  EsMethod,
  EsService,
} from "./codec/protobuf_es.ts";
export { defineProtoFile, type GeneratedCodecOptions, ProtoFile } from "./codec/generated.ts";

/**
 * Turns messages into bytes and back. `server.ts` and `client.ts` use one per request and
 * response type.
 *
 * @typeParam T The message as the application sees it (for protobuf codecs, a plain object).
 * @typeParam In What `encode` accepts (defaults to `T`; generated codecs accept more, e.g. a
 *   number or `bigint` for a 64-bit field that decodes as a string).
 *
 * @example A hand-written codec for UTF-8 strings
 * ```ts
 * import type { Codec } from "@seed/grpc";
 * import { assertEquals } from "@std/assert";
 *
 * const text: Codec<string> = {
 *   encode: (value) => new TextEncoder().encode(value),
 *   decode: (bytes) => new TextDecoder().decode(bytes),
 * };
 * assertEquals(text.decode(text.encode("hi")), "hi");
 * ```
 */
export interface Codec<T, In = T> {
  /**
   * Serializes one message.
   *
   * @param value The message, or anything the codec accepts for it (`In`).
   * @returns Its wire bytes.
   */
  encode(value: In): Uint8Array;
  /**
   * Parses one message.
   *
   * @param bytes Exactly one message's wire bytes.
   * @returns The message.
   */
  decode(bytes: Uint8Array): T;
}

/**
 * One RPC of a service: its HTTP/2 path, whether each side streams, and the codecs for its
 * messages. The stream flags are literal types in a definition typed once (generated code, or
 * one written by hand), so handlers and clients get their kinds and message types from it.
 *
 * @typeParam Req The request message as decoded (what a handler receives).
 * @typeParam Res The response message as decoded (what a client receives).
 * @typeParam ReqStream `true` or `false` when the kind is known, `boolean` when not.
 * @typeParam ResStream As `ReqStream`, for responses.
 * @typeParam ReqIn What a client may send (defaults to `Req`).
 * @typeParam ResIn What a handler may return (defaults to `Res`).
 *
 * @example Read a method definition
 * ```ts
 * import { loadProto } from "@seed/grpc";
 * import { assertEquals } from "@std/assert";
 *
 * const services = await loadProto({
 *   source: `syntax = "proto3";
 *     package demo;
 *     service Echo { rpc Chat (stream Msg) returns (stream Msg); }
 *     message Msg { string text = 1; }`,
 * });
 * const chat = services["demo.Echo"].methods.chat;
 * assertEquals(chat.name, "Chat");
 * assertEquals(chat.path, "/demo.Echo/Chat");
 * assertEquals([chat.requestStream, chat.responseStream], [true, true]);
 * assertEquals(chat.requestCodec.decode(chat.requestCodec.encode({ text: "hi" })), { text: "hi" });
 * ```
 */
export interface MethodDefinition<
  Req = unknown,
  Res = unknown,
  ReqStream extends boolean = boolean,
  ResStream extends boolean = boolean,
  ReqIn = Req,
  ResIn = Res,
> {
  /** The method's name as written in the `.proto` file, e.g. `"SayHello"`. */
  readonly name: string;
  /** `name` with its first letter lower-cased, e.g. `"sayHello"` (protobufjs `util.lcFirst`). */
  readonly localName: string;
  /** The HTTP/2 `:path`: `/` fully qualified service name `/` method name. */
  readonly path: string;
  /** Whether the client sends a stream of requests (`rpc M (stream Req)`). */
  readonly requestStream: ReqStream;
  /** Whether the server sends a stream of responses (`returns (stream Res)`). */
  readonly responseStream: ResStream;
  /** Encodes and decodes requests. */
  readonly requestCodec: Codec<Req, ReqIn>;
  /** Encodes and decodes responses. */
  readonly responseCodec: Codec<Res, ResIn>;
}

/**
 * Any method definition, whatever its message types: the constraint of
 * {@linkcode ServiceDefinition}'s methods.
 */
// deno-lint-ignore no-explicit-any
export type AnyMethodDefinition = MethodDefinition<any, any, boolean, boolean, any, any>;

/**
 * A gRPC service: its fully qualified name and its methods.
 *
 * Generated code types `Methods` exactly (one property per method, each with its message types
 * and literal stream flags); {@linkcode loadProto} returns the untyped default, whose handlers
 * and clients are typed loosely.
 *
 * @typeParam Methods The methods, keyed by local name.
 *
 * @example List the methods of a service
 * ```ts
 * import { loadProto } from "@seed/grpc";
 * import { assertEquals } from "@std/assert";
 *
 * const services = await loadProto({
 *   source: `syntax = "proto3";
 *     package helloworld;
 *     service Hello { rpc SayHello (HelloReq) returns (HelloRep); }
 *     message HelloReq { string name = 1; }
 *     message HelloRep { string message = 1; }`,
 * });
 * const hello = services["helloworld.Hello"];
 * assertEquals(hello.name, "helloworld.Hello");
 * assertEquals(Object.keys(hello.methods), ["sayHello"]);
 * ```
 *
 * @example A definition typed by hand
 * ```ts
 * import type { MethodDefinition, ServiceDefinition } from "@seed/grpc";
 *
 * type Greeter = ServiceDefinition<{
 *   sayHello: MethodDefinition<{ name: string }, { message: string }, false, false>;
 * }>;
 * ```
 */
export interface ServiceDefinition<
  Methods extends Readonly<Record<string, AnyMethodDefinition>> = Readonly<
    Record<string, MethodDefinition>
  >,
> {
  /** Fully qualified name, package included, e.g. `"helloworld.Hello"`. */
  readonly name: string;
  /** The methods, keyed by {@linkcode MethodDefinition.localName}, in `.proto` order. */
  readonly methods: Readonly<Methods>;
}
