// Client interceptor types: what a unary or stream interceptor sees and calls next (grpc-go
// interceptor.go). ClientConn chains them with internal/chain.ts.

import type { MethodDefinition } from "../codec.ts";
import type { Metadata } from "../metadata.ts";
import type { CallOptions } from "./options.ts";
import type { ClientStream } from "./stream.ts";

/** What a {@linkcode UnaryClientInterceptor} sees and may change. */
export interface UnaryCall {
  /** The method. */
  method: MethodDefinition;
  /** The request message. */
  request: unknown;
  /** The call options, default call options already merged in; `metadata` is a `Metadata`. */
  options: CallOptions & { metadata: Metadata };
}

/** Runs the rest of the chain for a unary call: the next interceptor or the call itself. */
export type UnaryInvoker = (call: UnaryCall) => Promise<unknown>;

/**
 * Wraps unary calls: read or change the method, request and options (metadata included), call
 * `invoker`, observe the response or error. grpc-go: `UnaryClientInterceptor`.
 *
 * @example Add a header to every call
 * ```ts
 * import type { UnaryClientInterceptor } from "@seed/grpc";
 *
 * const auth: UnaryClientInterceptor = (call, invoker) => {
 *   call.options.metadata.set("authorization", "Bearer t0k3n");
 *   return invoker(call);
 * };
 * ```
 */
export type UnaryClientInterceptor = (call: UnaryCall, invoker: UnaryInvoker) => Promise<unknown>;

/** What a {@linkcode StreamClientInterceptor} sees and may change. */
export interface StreamCall {
  /** The method. */
  method: MethodDefinition;
  /** The call options, default call options already merged in; `metadata` is a `Metadata`. */
  options: CallOptions & { metadata: Metadata };
}

/** Opens the stream through the rest of the chain: the next interceptor or the call itself. */
export type Streamer = (call: StreamCall) => ClientStream;

/**
 * Wraps streams (every method kind but unary, and `newStream`): change the method or options,
 * call `streamer`, and return its stream or a wrapper of it. grpc-go: `StreamClientInterceptor`.
 *
 * @example Count received messages
 * ```ts
 * import type { StreamClientInterceptor } from "@seed/grpc";
 *
 * let received = 0;
 * const counting: StreamClientInterceptor = (call, streamer) => {
 *   const stream = streamer(call);
 *   const recvMsg = stream.recvMsg.bind(stream);
 *   stream.recvMsg = async () => {
 *     const m = await recvMsg();
 *     if (m !== null) received++;
 *     return m;
 *   };
 *   return stream;
 * };
 * ```
 */
export type StreamClientInterceptor = (call: StreamCall, streamer: Streamer) => ClientStream;
