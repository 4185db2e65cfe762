// What a service implementation is made of: the four handler kinds and the context every
// handler gets (grpc-go server.go's methodHandler / StreamHandler, and the handler's ctx).

import type { EsMessageInit, EsMessageShape } from "../codec/protobuf_es.ts";
import type { MethodDefinition, ServiceDefinition } from "../codec.ts";
import type { Metadata, MetadataInit } from "../metadata.ts";
import type { Peer } from "../peer.ts";

/**
 * The context every handler and interceptor gets: metadata, cancellation, response metadata.
 *
 * @example Read metadata, honour cancellation, send headers and trailers
 * ```ts
 * import { Code, loadProto, Metadata, Server, type ServerContext, StatusError } from "@seed/grpc";
 *
 * const services = await loadProto({
 *   source: `syntax = "proto3"; package kv;
 *     service KV { rpc Get (Key) returns (Value); } message Key { string key = 1; }
 *     message Value { string value = 1; }`,
 * });
 * const server = new Server();
 * server.addService(services["kv.KV"], {
 *   async get(req: { key: string }, ctx: ServerContext) {
 *     const token = ctx.metadata.get("authorization"); // request metadata
 *     if (token === undefined) throw new StatusError(Code.Unauthenticated, "no token");
 *     ctx.setHeader(new Metadata({ "x-served-by": "kv-1" })); // sent with the response
 *     // ctx.signal aborts when the client cancels, the deadline passes or the server stops:
 *     // pass it on to whatever the handler waits for.
 *     const res = await fetchValue(req.key, ctx.signal);
 *     ctx.setTrailer(new Metadata({ "x-cache": "miss" }));
 *     return { value: res };
 *   },
 * });
 * async function fetchValue(key: string, signal: AbortSignal): Promise<string> {
 *   signal.throwIfAborted();
 *   return await Promise.resolve(key.toUpperCase());
 * }
 * ```
 */
export interface ServerContext {
  /** The full method path, e.g. `/helloworld.Hello/SayHello`. */
  readonly method: string;
  /** The request metadata (headers). */
  readonly metadata: Metadata;
  /** Aborts when the client cancels, the deadline passes, or the server stops. */
  readonly signal: AbortSignal;
  /** The call's deadline (epoch ms), when the client sent `grpc-timeout`. */
  readonly deadline: number | undefined;
  /**
   * The client: its address and what the connection's security handshake established (under
   * mutual TLS, its verified certificate's subject and SANs). grpc-go: `peer.FromContext`.
   */
  readonly peer: Peer | undefined;
  /** Whether the request message most recently received was compressed. */
  readonly requestCompressed: boolean;
  /**
   * Adds metadata to the response headers (sent with the first message, or at the end): a
   * `Metadata`, or what its constructor takes (`{ "x-key": "value" }`, pairs). grpc-go:
   * grpc.SetHeader.
   */
  setHeader(metadata: Metadata | MetadataInit): void;
  /** Sends the response headers now, with `metadata` added. grpc-go: grpc.SendHeader. */
  sendHeader(metadata?: Metadata | MetadataInit): void;
  /** Adds metadata to the trailers (as setHeader takes it). grpc-go: grpc.SetTrailer. */
  setTrailer(metadata: Metadata | MetadataInit): void;
  /** Compresses responses with this encoding (before headers are sent); `"identity"` for none. */
  setCompression(encoding: string): void;
  /** Turns compression of the following response messages on or off (encoding stays). */
  setMessageCompression(enabled: boolean): void;
}

/**
 * A unary handler: `async (request, ctx) => response`. Throw a {@linkcode StatusError} to
 * answer with another status (any other error is UNKNOWN).
 *
 * @example A unary handler with a typed request and response
 * ```ts
 * import { Code, StatusError, type UnaryHandler } from "@seed/grpc";
 *
 * const getFeature: UnaryHandler<{ latitude: number }, { name: string }> = (point) => {
 *   if (point.latitude > 900_000_000) {
 *     throw new StatusError(Code.InvalidArgument, "latitude out of range");
 *   }
 *   return { name: "somewhere" };
 * };
 * // server.addService(services["routeguide.RouteGuide"], { getFeature });
 * ```
 */
export type UnaryHandler<Req = unknown, Res = unknown> = (
  request: Req,
  ctx: ServerContext,
) => Res | Promise<Res>;
/**
 * A server-streaming handler: an async generator `async function* (request, ctx)` that yields
 * the responses (an `async` function returning an array is not one: it must be a generator).
 * Returning ends the call OK; throwing a {@linkcode StatusError} ends it with that status.
 *
 * @example Stream until done or cancelled
 * ```ts
 * import type { ServerStreamingHandler } from "@seed/grpc";
 *
 * const watch: ServerStreamingHandler<{ key: string }, { revision: number }> = async function* (
 *   req,
 *   ctx,
 * ) {
 *   for (let revision = 1; revision <= 3 && !ctx.signal.aborted; revision++) {
 *     yield { revision };
 *   }
 * };
 * // server.addService(services["kv.KV"], { watch });
 * ```
 */
export type ServerStreamingHandler<Req = unknown, Res = unknown> = (
  request: Req,
  ctx: ServerContext,
) => AsyncIterable<Res> | Iterable<Res>;
/**
 * A client-streaming handler: `async (requests, ctx) => response`; `requests` ends when the
 * client half-closes.
 *
 * @example Sum the requests
 * ```ts
 * import type { ClientStreamingHandler } from "@seed/grpc";
 *
 * const sum: ClientStreamingHandler<{ n: number }, { total: number }> = async (requests) => {
 *   let total = 0;
 *   for await (const { n } of requests) total += n;
 *   return { total };
 * };
 * // server.addService(services["calc.Calc"], { sum });
 * ```
 */
export type ClientStreamingHandler<Req = unknown, Res = unknown> = (
  requests: AsyncIterable<Req>,
  ctx: ServerContext,
) => Res | Promise<Res>;
/**
 * A bidi-streaming handler: `(requests, ctx) => AsyncIterable<response>`, usually an async
 * generator that reads `requests` and yields as it goes.
 *
 * @example Echo each request
 * ```ts
 * import type { BidiStreamingHandler } from "@seed/grpc";
 *
 * const chat: BidiStreamingHandler<{ text: string }, { text: string }> = async function* (
 *   requests,
 * ) {
 *   for await (const note of requests) yield { text: `echo: ${note.text}` };
 * };
 * // server.addService(services["chat.Chat"], { chat });
 * ```
 */
export type BidiStreamingHandler<Req = unknown, Res = unknown> = (
  requests: AsyncIterable<Req>,
  ctx: ServerContext,
) => AsyncIterable<Res> | Iterable<Res>;

/**
 * Any of the four handler kinds (what a {@linkcode ServiceImplementation} holds).
 *
 * @example A handler chosen at run time
 * ```ts
 * import type { Handler } from "@seed/grpc";
 *
 * const notYet: Handler = () => {
 *   throw new Error("not implemented yet");
 * };
 * ```
 */
export type Handler = (
  // One signature for the four kinds, so handler parameters are inferred in an implementation
  // object literal (a union of function types would leave them implicitly `any`): the first
  // argument is the request (unary, server streaming) or an AsyncIterable of requests.
  // deno-lint-ignore no-explicit-any
  requestOrRequests: any,
  ctx: ServerContext,
  // deno-lint-ignore no-explicit-any
) => any;

/**
 * A service implementation: handlers keyed by lowerCamelCase method name (`sayHello`), each one
 * of {@linkcode UnaryHandler}, {@linkcode ServerStreamingHandler},
 * {@linkcode ClientStreamingHandler} or {@linkcode BidiStreamingHandler} by the method's kind.
 * Methods left out answer UNIMPLEMENTED.
 *
 * @example One implementation object for a service
 * ```ts
 * import { loadProto, Server, type ServiceImplementation } from "@seed/grpc";
 *
 * const services = await loadProto({
 *   source: `syntax = "proto3"; package echo;
 *     service Echo { rpc Say (M) returns (M); rpc Many (M) returns (stream M); }
 *     message M { string text = 1; }`,
 * });
 * const impl: ServiceImplementation = {
 *   say: (m: { text: string }) => m,
 *   many: async function* (m: { text: string }) {
 *     yield m;
 *     yield m;
 *   },
 * };
 * new Server().addService(services["echo.Echo"], impl);
 * ```
 */
export type ServiceImplementation = Record<string, Handler>;

/**
 * The handler a method definition takes, by its kind: {@linkcode UnaryHandler},
 * {@linkcode ServerStreamingHandler}, {@linkcode ClientStreamingHandler} or
 * {@linkcode BidiStreamingHandler}; {@linkcode Handler} when the kind is not known at compile
 * time (a definition from `loadProto`).
 *
 * @typeParam M A {@linkcode MethodDefinition}.
 */
export type HandlerFor<M> = M extends // deno-lint-ignore no-explicit-any
MethodDefinition<infer Req, any, infer ReqStream, infer ResStream, any, infer ResIn>
  ? boolean extends ReqStream ? Handler
  : boolean extends ResStream ? Handler
  : ReqStream extends true
    ? ResStream extends true ? BidiStreamingHandler<Req, ResIn> : ClientStreamingHandler<Req, ResIn>
  : ResStream extends true ? ServerStreamingHandler<Req, ResIn>
  : UnaryHandler<Req, ResIn>
  : Handler;

/**
 * The implementation `Server.addService` takes for `S`: for a typed definition (generated, or
 * a protobuf-es `GenService`), one optional, precisely typed handler per method; for an untyped
 * one (from `loadProto`), {@linkcode ServiceImplementation}. A class instance works too: its
 * prototype methods are found and called with the instance as `this`.
 *
 * @typeParam S A {@linkcode ServiceDefinition} or a protobuf-es `GenService`.
 */
export type ImplementationOf<S> = S extends ServiceDefinition<infer Methods>
  ? string extends keyof Methods ? ServiceImplementation
  : { [K in keyof Methods]?: HandlerFor<Methods[K]> }
  : S extends { readonly kind: "service"; readonly method: infer Shape }
    ? string extends keyof Shape ? ServiceImplementation
    : { [K in keyof Shape]?: EsHandler<Shape[K]> }
  : ServiceImplementation;

/**
 * The handler for one method of a protobuf-es `GenService` (its `methodKind`, `input` and
 * `output`): requests are protobuf-es messages, responses messages or init objects.
 */
export type EsHandler<M> = M extends { methodKind: infer Kind; input: infer I; output: infer O }
  ? Kind extends "unary" ? UnaryHandler<EsMessageShape<I>, EsMessageInit<O>>
  : Kind extends "server_streaming" ? ServerStreamingHandler<EsMessageShape<I>, EsMessageInit<O>>
  : Kind extends "client_streaming" ? ClientStreamingHandler<EsMessageShape<I>, EsMessageInit<O>>
  : BidiStreamingHandler<EsMessageShape<I>, EsMessageInit<O>>
  : Handler;
