// Server interceptors: the unary and stream interceptor types and how a chain of them is run
// around the handler (grpc-go interceptor.go, chainUnaryInterceptors, chainStreamInterceptors).

import type { MethodDefinition } from "../codec.ts";
import type { ServerContext, UnaryHandler } from "./handler.ts";
import { chainInterceptors } from "../internal/chain.ts";

/** What a unary interceptor knows about the call. grpc-go: UnaryServerInfo. */
export interface UnaryServerInfo {
  /** The method being called. */
  readonly method: MethodDefinition;
}

/**
 * Wraps unary handlers: call `handler(request, ctx)` to continue, or answer / throw instead.
 * grpc-go: UnaryServerInterceptor.
 */
export type UnaryServerInterceptor = (
  request: unknown,
  ctx: ServerContext,
  info: UnaryServerInfo,
  handler: (request: unknown, ctx: ServerContext) => Promise<unknown>,
) => Promise<unknown>;

/** The message-level view of a streaming call that stream interceptors can wrap. */
export interface ServerCallStream {
  /** The call's context. */
  readonly context: ServerContext;
  /** The next request, or `null` when the client is done sending. */
  recvMsg(): Promise<unknown | null>;
  /** Sends one response. */
  sendMsg(message: unknown): Promise<void>;
}

/** What a stream interceptor knows about the call. grpc-go: StreamServerInfo. */
export interface StreamServerInfo {
  /** The method being called. */
  readonly method: MethodDefinition;
}

/**
 * Wraps streaming handlers (client, server and bidi streaming): call `handler(stream)` to
 * continue, possibly with a wrapped stream. grpc-go: StreamServerInterceptor.
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
