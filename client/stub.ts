// The stub factory: createClient turns a service definition into an object with one method per
// RPC, and the helpers that drive streaming calls for it (grpc-go's generated NewXxxClient).

import type { EsMessageInit, EsMessageShape, EsService } from "../codec/protobuf_es.ts";
import { withCallerFrames } from "../internal/caller_frames.ts";
import type { MethodDefinition, ServiceDefinition } from "../codec.ts";
import { definitionFromDescService, isDescService } from "../codec/protobuf_es.ts";
import { Code, StatusError } from "../status.ts";
import type { Call } from "./call.ts";
import { channelOf, ClientConn } from "./client_conn.ts";
import { isServiceDefinition, notAServiceError } from "../codec/services.ts";
import type { CallOptions } from "./options.ts";
import type { ClientStream, ResponseStream } from "./stream.ts";

function noop(): void {}

/** A unary method of a client made by {@linkcode createClient}. */
export type UnaryMethod<Req, Res> = (request: Req, options?: CallOptions) => Promise<Res>;
/** A server-streaming method: iterate the responses with `for await`. */
export type ServerStreamingMethod<Req, Res> = (
  request: Req,
  options?: CallOptions,
) => ResponseStream<Res>;
/** A client-streaming method: sends every request of the iterable, resolves with the response. */
export type ClientStreamingMethod<Req, Res> = (
  requests: AsyncIterable<Req> | Iterable<Req>,
  options?: CallOptions,
) => Promise<Res>;
/** A bidi-streaming method: requests are sent as the iterable yields them; iterate responses. */
export type BidiStreamingMethod<Req, Res> = (
  requests: AsyncIterable<Req> | Iterable<Req>,
  options?: CallOptions,
) => ResponseStream<Res>;

/**
 * The type of a client made by {@linkcode createClient} when no type is given: one method per
 * `localName`, typed loosely (the service is only known at run time). Give `createClient` a
 * type argument built from {@linkcode UnaryMethod} and friends for precise types.
 */
export interface UntypedClient {
  /** The method named `localName`: unary and client-streaming ones return a promise. */
  // deno-lint-ignore no-explicit-any
  [localName: string]: (requestOrRequests: any, options?: CallOptions) => any;
}

/**
 * The client method for a method definition, by its kind: {@linkcode UnaryMethod},
 * {@linkcode ServerStreamingMethod}, {@linkcode ClientStreamingMethod} or
 * {@linkcode BidiStreamingMethod}.
 *
 * @typeParam M A {@linkcode MethodDefinition} whose stream flags are literal types.
 */
export type ClientMethodFor<M> = M extends // deno-lint-ignore no-explicit-any
MethodDefinition<any, infer Res, infer ReqStream, infer ResStream, infer ReqIn, any>
  ? ReqStream extends true
    ? ResStream extends true ? BidiStreamingMethod<ReqIn, Res> : ClientStreamingMethod<ReqIn, Res>
  : ResStream extends true ? ServerStreamingMethod<ReqIn, Res>
  : UnaryMethod<ReqIn, Res>
  : never;

/**
 * The client {@linkcode createClient} makes for `S`: one precisely typed method per RPC for a
 * typed definition (generated, or a protobuf-es `GenService`), {@linkcode UntypedClient} for
 * one from `loadProto`.
 *
 * @typeParam S A {@linkcode ServiceDefinition} or a protobuf-es `GenService`.
 */
export type ClientOf<S> = S extends ServiceDefinition<infer Methods>
  ? string extends keyof Methods ? UntypedClient
  : { readonly [K in keyof Methods]: ClientMethodFor<Methods[K]> }
  : S extends { readonly kind: "service"; readonly method: infer Shape }
    ? string extends keyof Shape ? UntypedClient
    : { readonly [K in keyof Shape]: EsClientMethod<Shape[K]> }
  : UntypedClient;

/**
 * The client method for one method of a protobuf-es `GenService`: requests are protobuf-es
 * messages or init objects, responses messages.
 */
export type EsClientMethod<M> = M extends
  { methodKind: infer Kind; input: infer I; output: infer O }
  ? Kind extends "unary" ? UnaryMethod<EsMessageInit<I>, EsMessageShape<O>>
  : Kind extends "server_streaming" ? ServerStreamingMethod<EsMessageInit<I>, EsMessageShape<O>>
  : Kind extends "client_streaming" ? ClientStreamingMethod<EsMessageInit<I>, EsMessageShape<O>>
  : BidiStreamingMethod<EsMessageInit<I>, EsMessageShape<O>>
  : never;

/**
 * Makes a client object from a service definition: one method per RPC, named by its
 * `localName` (`SayHello` → `sayHello`). grpc-go: the generated `NewXxxClient`.
 *
 * - unary: `await client.sayHello(request, options)`
 * - server streaming: `for await (const r of client.listFeatures(request, options))`; the
 *   returned stream also has `headers`, `trailers` and `cancel()`
 * - client streaming: `await client.recordRoute(requests, options)`; `requests` is any
 *   (async) iterable; if it throws, the call is cancelled and rejects with that error's status
 * - bidi: `for await (const r of client.routeChat(requests, options))`; requests are sent
 *   concurrently as the iterable yields them, then the call is half-closed; an error in the
 *   iterable cancels the call
 *
 * The service is a definition from generated code (the client is then fully typed,
 * {@linkcode ClientOf}), from {@linkcode loadProto} (typed loosely, or by the interface given
 * as type argument), or a protobuf-es v2 `GenService` from `protoc-gen-es` (requests are
 * protobuf-es messages or their init objects, responses protobuf-es messages).
 *
 * @typeParam S The service's type, inferred.
 * @param service The service.
 * @param conn The connection its calls use.
 * @returns The client.
 * @throws {TypeError} When `service` is not a definition (a lookup such as
 *   `services["Greeter"]` that missed: the message names the keys there are) or `conn` is not a
 *   {@linkcode ClientConn}.
 *
 * @example Greet with the helloworld service
 * ```ts
 * import { createClient, loadProto, newClient, type UnaryMethod } from "@seed/grpc";
 *
 * const services = await loadProto({
 *   source: `syntax = "proto3"; package helloworld;
 *     service Greeter { rpc SayHello (HelloRequest) returns (HelloReply); }
 *     message HelloRequest { string name = 1; } message HelloReply { string message = 1; }`,
 * });
 * interface Greeter {
 *   sayHello: UnaryMethod<{ name: string }, { message: string }>;
 * }
 * await using conn = newClient("127.0.0.1:50051");
 * const greeter = createClient<Greeter>(services["helloworld.Greeter"], conn);
 * // const { message } = await greeter.sayHello({ name: "world" });
 * ```
 */
// deno-lint-ignore no-explicit-any
export function createClient<S extends ServiceDefinition<any> | EsService>(
  service: S,
  conn: ClientConn,
): ClientOf<S>;
/**
 * Makes a client typed by the interface `C` (for a definition from {@linkcode loadProto}, which
 * carries no types).
 *
 * @typeParam C The client's type.
 * @param service The service.
 * @param conn The connection its calls use.
 * @returns The client.
 */
export function createClient<C extends object>(
  service: ServiceDefinition | EsService,
  conn: ClientConn,
): C;
export function createClient(
  service: ServiceDefinition | EsService,
  conn: ClientConn,
): unknown {
  if (!isDescService(service) && !isServiceDefinition(service)) {
    throw notAServiceError("Cannot create client", service);
  }
  const definition = isDescService(service) ? definitionFromDescService(service) : service;
  if (!(conn instanceof ClientConn)) {
    throw new TypeError("Cannot create client: conn is not a ClientConn");
  }
  const client: Record<string, unknown> = {};
  // Without stream interceptors, streams are our own Call: use its unary fast paths.
  const direct = channelOf(conn).opts.streamInterceptors.length === 0;
  for (const [name, m] of Object.entries(definition.methods)) {
    const method = m as MethodDefinition<unknown, unknown>;
    if (!method.requestStream && !method.responseStream) {
      client[name] = (request: unknown, options?: CallOptions) =>
        conn.invoke(method, request, options);
    } else if (!method.requestStream) {
      client[name] = (request: unknown, options?: CallOptions) =>
        serverStreaming(conn, direct, method, request, options);
    } else if (!method.responseStream) {
      client[name] = (
        requests: AsyncIterable<unknown> | Iterable<unknown>,
        options?: CallOptions,
      ) => clientStreaming(conn.newStream(method, options), direct, requests);
    } else {
      client[name] = (
        requests: AsyncIterable<unknown> | Iterable<unknown>,
        options?: CallOptions,
      ) => {
        const stream = conn.newStream(method, options);
        pump(stream, requests);
        return stream;
      };
    }
  }
  return client;
}

// Sends every request, then half-closes. An error from the iterable cancels the call (the
// receiving side then fails CANCELLED, with the error as cause); an error from sending means the
// call failed or is over, and the receiving side reports its status. Never rejects.
//
// Once the call has ended (the server may end it before the requests do) the pump stops and
// closes the iterable with return(), as `for await` would on `break`: at the next send, which
// rejects, or at once when the call ends while the iterable is producing its next request.
// Before, sends after the end resolved and the pump drained the iterable, for ever when it was
// infinite (a sync one starved the event loop).
async function pump<Req>(
  stream: ClientStream<Req, unknown>,
  requests: AsyncIterable<Req> | Iterable<Req>,
): Promise<void> {
  let it: AsyncIterator<Req> | Iterator<Req> | undefined;
  let over = false;
  const close = () => {
    if (over) return;
    over = true;
    try {
      const r = it?.return?.();
      if (r instanceof Promise) r.catch(noop);
    } catch {
      // The iterable's own return() failed: nothing more to do.
    }
  };
  try {
    const isAsync = typeof (requests as AsyncIterable<Req>)[Symbol.asyncIterator] === "function";
    it = isAsync
      ? (requests as AsyncIterable<Req>)[Symbol.asyncIterator]()
      : (requests as Iterable<Req>)[Symbol.iterator]();
    stream.trailers.then(close, close);
    for (;;) {
      const r = await it.next();
      if (over) return; // the call ended meanwhile; close() ran
      if (r.done) break;
      // `for await` awaits what a sync iterable yields.
      const value = isAsync ? r.value : await r.value;
      if (over) return;
      try {
        await stream.sendMsg(value);
      } catch {
        close();
        return;
      }
    }
  } catch (err) {
    over = true; // the iterable failed: it is done, no return()
    try {
      stream.cancel(err);
    } catch {
      // An intercepted stream's cancel() failed: nothing more to do.
    }
    return;
  }
  over = true;
  try {
    stream.closeSend();
  } catch {
    // As above.
  }
}

async function clientStreaming<Req, Res>(
  stream: ClientStream<Req, Res>,
  direct: boolean,
  requests: AsyncIterable<Req> | Iterable<Req>,
): Promise<Res> {
  pump(stream, requests);
  if (direct) {
    try {
      return await (stream as Call<Req, Res>).recvUnary();
    } catch (err) {
      throw withCallerFrames(err); // so the caller's line is in the stack
    }
  }
  const res = await stream.recvMsg();
  if (res === null) {
    throw new StatusError(
      Code.Internal,
      "cardinality violation: received no response message from non-streaming RPC",
    );
  }
  if (await stream.recvMsg() !== null) {
    const err = new StatusError(
      Code.Internal,
      "cardinality violation: expected <EOF> for non-streaming RPCs, but received another message",
    );
    stream.cancel(err);
    throw err;
  }
  return res;
}

function serverStreaming<Req, Res>(
  conn: ClientConn,
  direct: boolean,
  method: MethodDefinition<Req, Res>,
  request: Req,
  options: CallOptions | undefined,
): ClientStream<Req, Res> {
  const stream = conn.newStream(method, options);
  if (direct) {
    // END_STREAM rides on the request's DATA frame.
    (stream as Call<Req, Res>).sendLast(request).catch(noop);
  } else {
    stream.sendMsg(request).catch(noop);
    stream.closeSend();
  }
  return stream;
}
