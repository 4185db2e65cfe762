// Server interceptors: the unary and stream interceptor types and how a chain of them is run
// around the handler (grpc-go interceptor.go, chainUnaryInterceptors, chainStreamInterceptors).

import type { MethodDefinition } from "../codec.ts";
import type { ServerContext, UnaryHandler } from "./handler.ts";
import { chainInterceptors } from "../internal/chain.ts";

/**
 * What a unary interceptor knows about the call. grpc-go: UnaryServerInfo.
 *
 * @example Skip the health service in a logging interceptor
 * ```ts
 * import type { UnaryServerInterceptor } from "@seed/grpc";
 *
 * const log: UnaryServerInterceptor = async (req, ctx, info, handler) => {
 *   if (!info.method.path.startsWith("/grpc.health.")) console.log(info.method.name);
 *   return await handler(req, ctx);
 * };
 * ```
 */
export interface UnaryServerInfo {
  /** The method being called. */
  readonly method: MethodDefinition;
}

/**
 * Wraps unary handlers: call `handler(request, ctx)` to continue, or answer / throw instead.
 * Pass them in {@linkcode ServerOptions.unaryInterceptors}; the first is the outermost.
 * grpc-go: UnaryServerInterceptor.
 *
 * @example Require a token
 * ```ts
 * import { Code, Server, StatusError, type UnaryServerInterceptor } from "@seed/grpc";
 *
 * const auth: UnaryServerInterceptor = async (request, ctx, _info, handler) => {
 *   if (ctx.metadata.get("authorization") !== "Bearer secret") {
 *     throw new StatusError(Code.Unauthenticated, "missing or wrong token");
 *   }
 *   return await handler(request, ctx);
 * };
 * await using _server = new Server({ unaryInterceptors: [auth] });
 * ```
 */
export type UnaryServerInterceptor = (
  request: unknown,
  ctx: ServerContext,
  info: UnaryServerInfo,
  handler: (request: unknown, ctx: ServerContext) => Promise<unknown>,
) => Promise<unknown>;

/**
 * The message-level view of a streaming call that stream interceptors can wrap: a wrapper may
 * change what `recvMsg` returns or what `sendMsg` sends.
 *
 * @example Count the responses of every streaming call
 * ```ts
 * import type { ServerCallStream, StreamServerInterceptor } from "@seed/grpc";
 *
 * const countSent: StreamServerInterceptor = async (stream, info, handler) => {
 *   let sent = 0;
 *   const counting: ServerCallStream = {
 *     context: stream.context,
 *     recvMsg: () => stream.recvMsg(),
 *     sendMsg: (m) => {
 *       sent++;
 *       return stream.sendMsg(m);
 *     },
 *   };
 *   try {
 *     await handler(counting);
 *   } finally {
 *     console.log(info.method.name, "sent", sent);
 *   }
 * };
 * ```
 */
export interface ServerCallStream {
  /** The call's context. */
  readonly context: ServerContext;
  /** The next request, or `null` when the client is done sending. */
  recvMsg(): Promise<unknown | null>;
  /** Sends one response. */
  sendMsg(message: unknown): Promise<void>;
}

/**
 * What a stream interceptor knows about the call. grpc-go: StreamServerInfo.
 *
 * @example Tell the streaming kinds apart
 * ```ts
 * import type { StreamServerInterceptor } from "@seed/grpc";
 *
 * const kinds: StreamServerInterceptor = async (stream, info, handler) => {
 *   const m = info.method;
 *   const kind = m.requestStream && m.responseStream
 *     ? "bidi"
 *     : m.requestStream
 *     ? "client streaming"
 *     : "server streaming";
 *   console.log(m.path, kind);
 *   await handler(stream);
 * };
 * ```
 */
export interface StreamServerInfo {
  /** The method being called. */
  readonly method: MethodDefinition;
}

/**
 * Wraps streaming handlers (client, server and bidi streaming): call `handler(stream)` to
 * continue, possibly with a wrapped stream (see {@linkcode ServerCallStream}). Pass them in
 * {@linkcode ServerOptions.streamInterceptors}; the first is the outermost. grpc-go:
 * StreamServerInterceptor.
 *
 * @example Time every streaming call
 * ```ts
 * import { Server, type StreamServerInterceptor } from "@seed/grpc";
 *
 * const timing: StreamServerInterceptor = async (stream, info, handler) => {
 *   const started = performance.now();
 *   try {
 *     await handler(stream);
 *   } finally {
 *     console.log(info.method.path, performance.now() - started, "ms");
 *   }
 * };
 * await using _server = new Server({ streamInterceptors: [timing] });
 * ```
 */
export type StreamServerInterceptor = (
  stream: ServerCallStream,
  info: StreamServerInfo,
  handler: (stream: ServerCallStream) => Promise<void>,
) => Promise<void>;

/** The unary chain around `handler`, the first interceptor outermost. */
export function chainUnary(
  ics: readonly UnaryServerInterceptor[],
  info: UnaryServerInfo,
  handler: UnaryHandler,
): (req: unknown, ctx: ServerContext) => Promise<unknown> {
  return chainInterceptors(
    ics,
    async (req: unknown, ctx: ServerContext) => await handler(req, ctx),
    (ic, next) => (req, ctx) => ic(req, ctx, info, next),
  );
}

/** The stream chain around `handler`, the first interceptor outermost. */
export function chainStream(
  ics: readonly StreamServerInterceptor[],
  info: StreamServerInfo,
  handler: (stream: ServerCallStream) => Promise<void>,
): (stream: ServerCallStream) => Promise<void> {
  return chainInterceptors(ics, handler, (ic, next) => (stream) => ic(stream, info, next));
}
