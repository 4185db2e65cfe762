/**
 * The gRPC server, after grpc-go's server.go: `serve(listener)` runs the accept loop,
 * each connection goes through `handleRawConn` (handshake deadline, HTTP/2 server transport,
 * addConn, serveStreams), and each stream through `handleStream` (routing, deadline,
 * decompression, the handler, status and trailers).
 *
 * @module
 */

import type { MethodDefinition, ServiceDefinition } from "./codec.ts";
import { Code, encodeGrpcMessage, encodeStatusDetails, StatusError } from "./status.ts";
import { Metadata } from "./metadata.ts";
import {
  type Compressor,
  getCompressor,
  negotiateEncoding,
  supportedEncodings,
} from "./compression.ts";
import { OnceEvent } from "./internal/event.ts";
import { decodeTimeout } from "./internal/timeout.ts";
import { acceptLoop } from "./internal/accept_loop.ts";
import { encodeBinaryHeader, errorMessage, isGrpcContentType } from "./internal/wire.ts";
import { type DeadlineEntry, DeadlineTimers } from "./internal/deadline_timers.ts";
import {
  type ServerStream,
  ServerTransport,
  type ServerTransportOptions,
} from "./transport/http2_server.ts";
import { DEFAULT_TRANSPORT_OPTIONS, unavailable } from "./transport/connection.ts";
import { SYSTEM_CLOCK } from "./transport/keepalive.ts";
import * as D from "./transport/defaults.ts";

/** Options of {@linkcode Server}. Every field is optional; defaults are grpc-go's. */
export interface ServerOptions {
  /**
   * Largest request message in bytes (after decompression); larger fails RESOURCE_EXHAUSTED.
   * grpc-go: MaxRecvMsgSize.
   * @default {4194304}
   */
  maxReceiveMessageSize?: number;
  /**
   * Largest response message in bytes; larger fails RESOURCE_EXHAUSTED. grpc-go: MaxSendMsgSize.
   * @default {2147483647}
   */
  maxSendMessageSize?: number;
  /**
   * Time a new connection has to send the HTTP/2 preface and SETTINGS before it is closed, in
   * ms. grpc-go: ConnectionTimeout.
   * @default {120000}
   */
  connectionTimeoutMs?: number;
  /**
   * SETTINGS_MAX_CONCURRENT_STREAMS, and the cap on running handlers per connection. grpc-go:
   * MaxConcurrentStreams.
   * @default {4294967295} (unlimited)
   */
  maxConcurrentStreams?: number;
  /**
   * Stream flow-control window in bytes; setting it (or `initialConnWindowSize`) turns off the
   * BDP estimator. grpc-go: InitialWindowSize.
   * @default {65535}, grown by BDP estimation up to 16 MiB
   */
  initialWindowSize?: number;
  /**
   * Connection flow-control window in bytes. grpc-go: InitialConnWindowSize.
   * @default {65535}, grown by BDP estimation up to 16 MiB
   */
  initialConnWindowSize?: number;
  /**
   * Largest request header list accepted (SETTINGS_MAX_HEADER_LIST_SIZE). grpc-go:
   * MaxHeaderListSize.
   * @default {16777216}
   */
  maxHeaderListSize?: number;
  /** Keepalive enforcement against PING floods. grpc-go: KeepaliveEnforcementPolicy. */
  keepaliveEnforcementPolicy?: {
    /**
     * Minimum time between client pings, in ms; closer pings are strikes, and the third strike
     * closes the connection with GOAWAY ENHANCE_YOUR_CALM "too_many_pings".
     * @default {300000}
     */
    minTimeMs?: number;
    /**
     * Allow pings when no call is active.
     * @default {false}
     */
    permitWithoutStream?: boolean;
  };
  /**
   * Connection lifetime and server pings. grpc-go: KeepaliveParams (keepalive.ServerParameters);
   * same field names as the client's `keepalive`. Durations in ms; `Infinity` means none.
   */
  keepaliveParams?: {
    /**
     * A connection with no call for this long is ended gracefully (GOAWAY "max_idle", drain).
     * grpc-go: MaxConnectionIdle.
     * @default {Infinity} (grpc-go: infinity)
     */
    maxConnectionIdleMs?: number;
    /**
     * A connection this old (±10% random jitter) is ended gracefully (GOAWAY "max_age", drain),
     * so clients reconnect and spread over new servers. grpc-go: MaxConnectionAge.
     * @default {Infinity} (grpc-go: infinity)
     */
    maxConnectionAgeMs?: number;
    /**
     * After `maxConnectionAgeMs`, calls still running get this long, then the connection is
     * closed. grpc-go: MaxConnectionAgeGrace.
     * @default {Infinity} (grpc-go: infinity)
     */
    maxConnectionAgeGraceMs?: number;
    /**
     * After this long without reading anything from a client, the server PINGs it; values
     * below 1000 become 1000. grpc-go: Time.
     * @default {7200000} (2 h; grpc-go: 2 h)
     */
    timeMs?: number;
    /**
     * When nothing is read within this long after that PING, the connection is closed (a dead
     * or silent client is freed). grpc-go: Timeout.
     * @default {20000} (grpc-go: 20 s)
     */
    timeoutMs?: number;
  };
  /** Unary interceptors; the first is the outermost. grpc-go: ChainUnaryInterceptor. */
  unaryInterceptors?: UnaryServerInterceptor[];
  /** Stream interceptors; the first is the outermost. grpc-go: ChainStreamInterceptor. */
  streamInterceptors?: StreamServerInterceptor[];
  /**
   * Encoding for responses (e.g. `"gzip"`), used when the client accepts it. Without it, a
   * response uses the request's encoding, as grpc-go does. Handlers can override per call.
   * @default {undefined}
   */
  compression?: string;
  /**
   * Responses smaller than this many bytes are sent uncompressed.
   * @default {0}
   */
  compressionMinSize?: number;
}

/** The context every handler and interceptor gets: metadata, cancellation, response metadata. */
export interface ServerContext {
  /** The full method path, e.g. `/helloworld.Hello/SayHello`. */
  readonly method: string;
  /** The request metadata (headers). */
  readonly metadata: Metadata;
  /** Aborts when the client cancels, the deadline passes, or the server stops. */
  readonly signal: AbortSignal;
  /** The call's deadline (epoch ms), when the client sent `grpc-timeout`. */
  readonly deadline: number | undefined;
  /** The client's address. */
  readonly peer: Deno.Addr | undefined;
  /** Whether the request message most recently received was compressed. */
  readonly requestCompressed: boolean;
  /** Adds metadata to the response headers (sent with the first message, or at the end). */
  setHeader(metadata: Metadata): void;
  /** Sends the response headers now, with `metadata` added. grpc-go: grpc.SendHeader. */
  sendHeader(metadata?: Metadata): void;
  /** Adds metadata to the trailers. grpc-go: grpc.SetTrailer. */
  setTrailer(metadata: Metadata): void;
  /** Compresses responses with this encoding (before headers are sent); `"identity"` for none. */
  setCompression(encoding: string): void;
  /** Turns compression of the following response messages on or off (encoding stays). */
  setMessageCompression(enabled: boolean): void;
}

/** A unary handler: `async (request, ctx) => response`. */
export type UnaryHandler<Req = unknown, Res = unknown> = (
  request: Req,
  ctx: ServerContext,
) => Res | Promise<Res>;
/** A server-streaming handler: an async generator `async function* (request, ctx)`. */
export type ServerStreamingHandler<Req = unknown, Res = unknown> = (
  request: Req,
  ctx: ServerContext,
) => AsyncIterable<Res> | Iterable<Res>;
/** A client-streaming handler: `async (requests, ctx) => response`. */
export type ClientStreamingHandler<Req = unknown, Res = unknown> = (
  requests: AsyncIterable<Req>,
  ctx: ServerContext,
) => Res | Promise<Res>;
/** A bidi-streaming handler: `(requests, ctx) => AsyncIterable<response>`. */
export type BidiStreamingHandler<Req = unknown, Res = unknown> = (
  requests: AsyncIterable<Req>,
  ctx: ServerContext,
) => AsyncIterable<Res> | Iterable<Res>;

/** Any of the four handler kinds. */
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
 */
export type ServiceImplementation = Record<string, Handler>;

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

/** Server options after defaults and checks, as {@linkcode resolveServerOptions} returns them. */
export interface ResolvedServerOptions {
  /** See {@linkcode ServerOptions.maxReceiveMessageSize}. */
  readonly maxReceiveMessageSize: number;
  /** See {@linkcode ServerOptions.maxSendMessageSize}. */
  readonly maxSendMessageSize: number;
  /** See {@linkcode ServerOptions.connectionTimeoutMs}. */
  readonly connectionTimeoutMs: number;
  /** See {@linkcode ServerOptions.compression}; `undefined` for none. */
  readonly compression: string | undefined;
  /** See {@linkcode ServerOptions.compressionMinSize}. */
  readonly compressionMinSize: number;
  /** See {@linkcode ServerOptions.maxConcurrentStreams}. */
  readonly maxConcurrentStreams: number;
  /** See {@linkcode ServerOptions.initialWindowSize}. */
  readonly initialWindowSize: number;
  /** See {@linkcode ServerOptions.initialConnWindowSize}. */
  readonly initialConnWindowSize: number;
  /** Whether BDP estimation may grow the windows (false once a window option is set). */
  readonly dynamicWindow: boolean;
  /** See {@linkcode ServerOptions.maxHeaderListSize}. */
  readonly maxHeaderListSize: number;
  /** See `keepaliveEnforcementPolicy.minTimeMs` in {@linkcode ServerOptions}. */
  readonly keepaliveMinTimeMs: number;
  /** See `keepaliveEnforcementPolicy.permitWithoutStream` in {@linkcode ServerOptions}. */
  readonly permitKeepaliveWithoutStream: boolean;
  /** See `keepaliveParams` in {@linkcode ServerOptions}; every field set (`Infinity`: none). */
  readonly keepaliveParams: Readonly<{
    maxConnectionIdleMs: number;
    maxConnectionAgeMs: number;
    maxConnectionAgeGraceMs: number;
    timeMs: number;
    timeoutMs: number;
  }>;
  /** See {@linkcode ServerOptions.unaryInterceptors}. */
  readonly unaryInterceptors: readonly UnaryServerInterceptor[];
  /** See {@linkcode ServerOptions.streamInterceptors}. */
  readonly streamInterceptors: readonly StreamServerInterceptor[];
}

/**
 * Resolves and checks server options once, filling in grpc-go's defaults.
 * @param o The options as given.
 * @returns A frozen object with every option set.
 * @throws {RangeError} When a value is out of range.
 * @example The defaults
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { resolveServerOptions } from "@seed/grpc";
 * const o = resolveServerOptions({});
 * assertEquals(o.maxReceiveMessageSize, 4 * 1024 * 1024);
 * assertEquals(o.connectionTimeoutMs, 120_000);
 * ```
 */
export function resolveServerOptions(o: ServerOptions = {}): ResolvedServerOptions {
  const size = (name: string, v: number | undefined, def: number, min = 0, max = 2 ** 31 - 1) => {
    if (v === undefined) return def;
    if (!Number.isInteger(v) || v < min || v > max) {
      throw new RangeError(
        `Cannot create server: ${name} must be an integer in [${min}, ${max}], got ${v}`,
      );
    }
    return v;
  };
  if (
    o.compression !== undefined && o.compression !== "identity" && !getCompressor(o.compression)
  ) {
    throw new RangeError(`Cannot create server: unknown compression "${o.compression}"`);
  }
  const kp = o.keepaliveEnforcementPolicy ?? {};
  const W = D.DEFAULT_WINDOW_SIZE;
  return Object.freeze({
    maxReceiveMessageSize: size(
      "maxReceiveMessageSize",
      o.maxReceiveMessageSize,
      D.DEFAULT_MAX_RECEIVE_MESSAGE_SIZE,
    ),
    maxSendMessageSize: size(
      "maxSendMessageSize",
      o.maxSendMessageSize,
      D.DEFAULT_MAX_SEND_MESSAGE_SIZE,
    ),
    connectionTimeoutMs: size("connectionTimeoutMs", o.connectionTimeoutMs, 120_000, 1),
    compression: o.compression === "identity" ? undefined : o.compression,
    compressionMinSize: size("compressionMinSize", o.compressionMinSize, 0),
    maxConcurrentStreams: size(
      "maxConcurrentStreams",
      o.maxConcurrentStreams,
      D.UNLIMITED_STREAMS,
      1,
      2 ** 32 - 1,
    ),
    initialWindowSize: size("initialWindowSize", o.initialWindowSize, W, W),
    initialConnWindowSize: size("initialConnWindowSize", o.initialConnWindowSize, W, W),
    dynamicWindow: o.initialWindowSize === undefined && o.initialConnWindowSize === undefined,
    maxHeaderListSize: size(
      "maxHeaderListSize",
      o.maxHeaderListSize,
      D.DEFAULT_MAX_HEADER_LIST_SIZE,
      1024,
      2 ** 32 - 1,
    ),
    keepaliveMinTimeMs: size(
      "keepaliveEnforcementPolicy.minTimeMs",
      kp.minTimeMs,
      D.KEEPALIVE_MIN_TIME_MS,
    ),
    permitKeepaliveWithoutStream: kp.permitWithoutStream ?? false,
    keepaliveParams: resolveKeepaliveParams(o.keepaliveParams ?? {}),
    unaryInterceptors: Object.freeze([...(o.unaryInterceptors ?? [])]),
    streamInterceptors: Object.freeze([...(o.streamInterceptors ?? [])]),
  });
}

function resolveKeepaliveParams(
  k: NonNullable<ServerOptions["keepaliveParams"]>,
): ResolvedServerOptions["keepaliveParams"] {
  const ms = (name: string, v: number | undefined, def: number) => {
    if (v === undefined) return def;
    if (v !== Infinity && (!Number.isInteger(v) || v <= 0)) {
      throw new RangeError(
        `Cannot create server: keepaliveParams.${name} must be a positive integer or Infinity, got ${v}`,
      );
    }
    return v;
  };
  return Object.freeze({
    maxConnectionIdleMs: ms("maxConnectionIdleMs", k.maxConnectionIdleMs, Infinity),
    maxConnectionAgeMs: ms("maxConnectionAgeMs", k.maxConnectionAgeMs, Infinity),
    maxConnectionAgeGraceMs: ms("maxConnectionAgeGraceMs", k.maxConnectionAgeGraceMs, Infinity),
    timeMs: Math.max(
      D.SERVER_KEEPALIVE_MIN_TIME_MS,
      ms("timeMs", k.timeMs, D.SERVER_KEEPALIVE_TIME_MS),
    ),
    timeoutMs: ms("timeoutMs", k.timeoutMs, D.KEEPALIVE_TIMEOUT_MS),
  });
}

// The transport's view of the options.
function transportOptions(o: ResolvedServerOptions): ServerTransportOptions {
  return Object.freeze({
    ...DEFAULT_TRANSPORT_OPTIONS,
    initialWindowSize: o.initialWindowSize,
    initialConnWindowSize: o.initialConnWindowSize,
    dynamicWindow: o.dynamicWindow,
    maxHeaderListSize: o.maxHeaderListSize,
    maxConcurrentStreams: o.maxConcurrentStreams,
    maxReceiveMessageSize: o.maxReceiveMessageSize,
    keepaliveMinTimeMs: o.keepaliveMinTimeMs,
    permitKeepaliveWithoutStream: o.permitKeepaliveWithoutStream,
    keepalive: o.keepaliveParams,
    clock: SYSTEM_CLOCK,
  });
}

interface Route {
  readonly method: MethodDefinition;
  readonly handler: Handler | undefined;
  readonly service: string;
}

/**
 * A gRPC server over HTTP/2 cleartext (h2c) on `Deno.listen`.
 *
 * @example Serve the helloworld service and stop
 * ```ts
 * import { loadProto, Server } from "@seed/grpc";
 * const services = await loadProto({
 *   source: `syntax = "proto3"; package helloworld;
 *     service Hello { rpc SayHello (HelloReq) returns (HelloRep); }
 *     message HelloReq { string name = 1; } message HelloRep { string message = 1; }`,
 * });
 * const server = new Server();
 * server.addService(services["helloworld.Hello"], {
 *   sayHello: (req: { name: string }) => ({ message: `Hello ${req.name}` }),
 * });
 * const serving = server.serve(Deno.listen({ hostname: "127.0.0.1", port: 0 }));
 * await server.gracefulStop();
 * await serving;
 * ```
 */
export class Server {
  readonly #opts: ResolvedServerOptions;
  readonly #transportOpts: ServerTransportOptions;
  readonly #routes = new Map<string, Route>();
  readonly #services = new Set<string>();
  readonly #quit = new OnceEvent();
  readonly #done = new OnceEvent();
  readonly #listeners = new Set<Deno.Listener>();
  readonly #conns = new Set<ServerTransport>();
  readonly #serving = new Set<Promise<void>>();
  #draining = false;
  #started = false;
  // One timer for every call's deadline (internal/deadline_timers.ts explains why).
  readonly #deadlines = new DeadlineTimers();

  /**
   * Creates a server; options are checked and resolved now.
   * @param options Server options; see {@linkcode ServerOptions} for defaults.
   * @throws {RangeError} When an option is out of range.
   */
  constructor(options: ServerOptions = {}) {
    this.#opts = resolveServerOptions(options);
    this.#transportOpts = transportOptions(this.#opts);
  }

  /**
   * Registers a service. Implementation keys are lowerCamelCase method names (`sayHello`);
   * methods left out answer UNIMPLEMENTED.
   * @param service A service definition from {@linkcode loadProto}.
   * @param implementation Handlers keyed by method name.
   * @throws {TypeError} When the service is already registered, `serve` has started, or the
   * implementation names a method the service does not have.
   * @example Add a service
   * ```ts
   * import { loadProto, Server } from "@seed/grpc";
   * const s = await loadProto({ source: `syntax = "proto3"; package p;
   *   service S { rpc Do (M) returns (M); } message M { string v = 1; }` });
   * const server = new Server();
   * server.addService(s["p.S"], { do: (m: { v: string }) => m });
   * ```
   */
  addService(service: ServiceDefinition, implementation: ServiceImplementation): void {
    if (this.#started) throw new TypeError("Cannot add service: the server is already serving");
    if (this.#services.has(service.name)) {
      throw new TypeError(`Cannot add service: ${service.name} is already registered`);
    }
    for (const key of Object.keys(implementation)) {
      if (!(key in service.methods)) {
        throw new TypeError(`Cannot add service: ${service.name} has no method "${key}"`);
      }
      if (typeof implementation[key] !== "function") {
        throw new TypeError(`Cannot add service: handler "${key}" is not a function`);
      }
    }
    this.#services.add(service.name);
    for (const m of Object.values(service.methods)) {
      this.#routes.set(m.path, {
        method: m,
        handler: implementation[m.localName],
        service: service.name,
      });
    }
  }

  /**
   * Accepts connections on `listener` and serves them until {@linkcode Server.stop} or
   * {@linkcode Server.gracefulStop}; resolves once the server has stopped. Temporary accept
   * errors are retried after 5 ms, doubling to 1 s.
   * @param listener A listener from `Deno.listen` (TCP or unix).
   * @returns Resolves when the server stops; rejects on a fatal accept error.
   * @example Serve on a free port
   * ```ts
   * import { Server } from "@seed/grpc";
   * const server = new Server();
   * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
   * const serving = server.serve(listener);
   * await server.stop();
   * await serving;
   * ```
   */
  async serve(listener: Deno.Listener): Promise<void> {
    if (this.#quit.hasFired()) {
      listener.close();
      throw new Error("Cannot serve: the server has stopped");
    }
    this.#started = true;
    this.#listeners.add(listener);
    const loop = acceptLoop(listener, (c) => this.#handleRawConn(c), this.#quit);
    this.#serving.add(loop.catch(() => {}));
    try {
      await loop;
    } finally {
      this.#listeners.delete(listener);
      try {
        listener.close();
      } catch {
        // closed by stop()
      }
    }
    // Stopped: resolve once the stop has finished tearing down.
    await this.#done.done;
  }

  // grpc-go handleRawConn: deadline for the handshake, then the transport, addConn, serveStreams.
  #handleRawConn(conn: Deno.Conn): void {
    if (this.#quit.hasFired()) {
      conn.close();
      return;
    }
    try {
      (conn as Deno.TcpConn).setNoDelay?.(true);
      // TCP keepalive with the OS's intervals, as Go's net.Listen sets on accepted conns (grpc-go
      // serves on them); Deno exposes only on/off (no TCP_KEEPIDLE, no TCP_USER_TIMEOUT).
      (conn as Deno.TcpConn).setKeepAlive?.(true);
    } catch {
      // unix sockets have no Nagle and no keepalive
    }
    const t = new ServerTransport(conn, this.#transportOpts, (s) => this.#handleStream(s, conn));
    this.#conns.add(t);
    const timer = setTimeout(
      () => t.close(unavailable("Connection handshake timed out")),
      this.#opts.connectionTimeoutMs,
    );
    t.handshaked.then(() => {
      clearTimeout(timer);
      if (this.#draining) t.drain();
    }, () => clearTimeout(timer));
    t.closed.then(() => {
      clearTimeout(timer);
      this.#conns.delete(t);
    });
    t.begin();
  }

  #handleStream(s: ServerStream, conn: Deno.Conn): void {
    if (!isGrpcContentType(s.contentType)) {
      // PROTOCOL-HTTP2.md: a non-gRPC content-type is answered 415 Unsupported Media Type;
      // grpc-go operateHeaders sends it with INVALID_ARGUMENT.
      s.sendHttpError(
        415,
        Code.InvalidArgument,
        encodeGrpcMessage(`invalid gRPC request content-type "${s.contentType}"`),
      );
      s.handlerDone();
      return;
    }
    let deadline: number | undefined;
    if (s.timeout !== "") {
      const ms = decodeTimeout(s.timeout);
      if (ms === undefined) {
        // grpc-go operateHeaders: a malformed header fails the request before routing, with
        // HTTP 400 and INTERNAL.
        s.sendHttpError(
          400,
          Code.Internal,
          encodeGrpcMessage(`malformed grpc-timeout: ${s.timeout}`),
        );
        s.handlerDone();
        return;
      }
      deadline = Date.now() + ms;
    }
    const route = this.#routes.get(s.method);
    if (route === undefined || route.handler === undefined) {
      const msg = route === undefined
        ? unknownMethodMessage(s.method, this.#services)
        : `unknown method ${route.method.name} for service ${route.service}`;
      s.sendTrailers(Code.Unimplemented, encodeGrpcMessage(msg));
      s.handlerDone();
      return;
    }
    let decompressor: Compressor | undefined;
    if (s.encoding !== "" && s.encoding !== "identity") {
      decompressor = getCompressor(s.encoding);
      if (decompressor === undefined) {
        s.sendTrailers(
          Code.Unimplemented,
          encodeGrpcMessage(
            `grpc: Decompressor is not installed for grpc-encoding "${s.encoding}"`,
          ),
          ["grpc-accept-encoding", supportedEncodings()],
        );
        s.handlerDone();
        return;
      }
    }
    const call = new ServerCall(
      this.#opts,
      this.#deadlines,
      s,
      route.method,
      conn,
      decompressor,
      deadline,
    );
    const m = route.method;
    // Neither run method rejects; each ends the call (trailers, handler slot) itself.
    if (!m.requestStream && !m.responseStream) void call.runUnary(route.handler as UnaryHandler);
    else void call.runStreaming(route.handler);
  }

  /**
   * Stops gracefully: stops accepting, sends GOAWAY and a PING on every connection, then a
   * second GOAWAY with the last stream id; running calls finish, new ones are refused. Resolves
   * when every connection has closed.
   * @example Drain and stop
   * ```ts
   * import { Server } from "@seed/grpc";
   * const server = new Server();
   * const serving = server.serve(Deno.listen({ hostname: "127.0.0.1", port: 0 }));
   * await server.gracefulStop();
   * await serving;
   * ```
   */
  async gracefulStop(): Promise<void> {
    this.#draining = true;
    this.#quit.fire();
    this.#closeListeners();
    await Promise.all(this.#serving);
    const conns = [...this.#conns];
    for (const t of conns) t.drain();
    await Promise.all(conns.map((t) => t.closed));
    // Connections accepted while we waited were drained by handleRawConn.
    while (this.#conns.size > 0) await Promise.all([...this.#conns].map((t) => t.closed));
    this.#deadlines.clear();
    this.#done.fire();
  }

  /**
   * Stops now: closes listeners and connections; running handlers see `ctx.signal` abort and
   * clients get UNAVAILABLE.
   * @example Stop a serving server
   * ```ts
   * import { Server } from "@seed/grpc";
   * const server = new Server();
   * const serving = server.serve(Deno.listen({ hostname: "127.0.0.1", port: 0 }));
   * await server.stop();
   * await serving; // serve() resolves once stopped
   * ```
   */
  async stop(): Promise<void> {
    this.#quit.fire();
    this.#closeListeners();
    await Promise.all(this.#serving);
    const conns = [...this.#conns];
    for (const t of conns) t.close(unavailable("Server stopped"));
    await Promise.all(conns.map((t) => t.closed));
    this.#deadlines.clear();
    this.#done.fire();
  }

  /** Stops the server now (`await using server = new Server()`); see {@linkcode Server.stop}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }

  #closeListeners(): void {
    for (const l of this.#listeners) {
      try {
        l.close();
      } catch {
        // already closed
      }
    }
  }
}

function unknownMethodMessage(path: string, services: Set<string>): string {
  // grpc-go handleStream: "unknown service X" or "unknown method M for service X"; a :path
  // that is not /service/method is a "malformed method name".
  const slash = path.lastIndexOf("/");
  if (path.charCodeAt(0) !== 47 /* / */ || slash === 0) {
    return `malformed method name: ${JSON.stringify(path)}`;
  }
  const service = path.slice(1, slash);
  if (!services.has(service)) return `unknown service ${service}`;
  return `unknown method ${path.slice(slash + 1)} for service ${service}`;
}

const CANCELLED_REASON = new DOMException("The call was cancelled", "AbortError");
const DEADLINE_REASON = new DOMException("The call's deadline passed", "TimeoutError");

// One call on the server: implements the handler context and the message stream.
class ServerCall implements ServerContext, ServerCallStream, DeadlineEntry {
  readonly #opts: ResolvedServerOptions;
  readonly #s: ServerStream;
  readonly #m: MethodDefinition;
  readonly #conn: Deno.Conn;
  readonly #decompressor: Compressor | undefined;
  readonly deadline: number | undefined;
  #metadata: Metadata | undefined;
  #controller: AbortController | undefined;
  #abortReason: unknown;
  readonly #deadlines: DeadlineTimers;
  /** @internal DeadlineEntry bookkeeping. */
  deadlineBucket = 0;
  #headerMd: Metadata | undefined;
  #trailerMd: Metadata | undefined;
  #encoding: string | undefined;
  #compressor: Compressor | undefined;
  #compressMessages = true;
  #done = false;
  requestCompressed = false;

  constructor(
    opts: ResolvedServerOptions,
    deadlines: DeadlineTimers,
    s: ServerStream,
    m: MethodDefinition,
    conn: Deno.Conn,
    decompressor: Compressor | undefined,
    deadline: number | undefined,
  ) {
    this.#opts = opts;
    this.#deadlines = deadlines;
    this.#s = s;
    this.#m = m;
    this.#conn = conn;
    this.#decompressor = decompressor;
    this.deadline = deadline;
    s.onCancel = () => this.#abort(CANCELLED_REASON);
    if (deadline !== undefined) deadlines.add(this, deadline);
    // Response encoding: the server's choice, else the request's (grpc-go), if the client takes it.
    const want = opts.compression ?? (decompressor !== undefined ? decompressor.name : undefined);
    if (want !== undefined) this.#chooseEncoding(want);
  }

  get method(): string {
    return this.#m.path;
  }

  get context(): ServerContext {
    return this;
  }

  get metadata(): Metadata {
    return this.#metadata ??= Metadata.fromHeaders(this.#s.headers);
  }

  get peer(): Deno.Addr | undefined {
    try {
      return this.#conn.remoteAddr;
    } catch {
      return undefined;
    }
  }

  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#abortReason !== undefined) this.#controller.abort(this.#abortReason);
    }
    return this.#controller.signal;
  }

  #abort(reason: unknown): void {
    if (this.#abortReason !== undefined) return;
    this.#abortReason = reason;
    this.#controller?.abort(reason);
  }

  /** @internal The shared deadline timer calls this once the call's deadline has passed. */
  onDeadline(): void {
    if (this.#done) return;
    this.#abort(DEADLINE_REASON);
    // The client is told now, whatever the handler does next.
    this.#finish(new StatusError(Code.DeadlineExceeded, "context deadline exceeded"));
  }

  #chooseEncoding(name: string): void {
    const accept = this.#s.acceptEncoding;
    const c = getCompressor(name);
    if (c === undefined) return;
    // The request's own encoding is acceptable even without grpc-accept-encoding.
    if (negotiateEncoding(accept, name) !== undefined || name === this.#s.encoding) {
      this.#encoding = name;
      this.#compressor = c;
    }
  }

  setHeader(md: Metadata): void {
    if (this.#s.headersSent) return;
    if (this.#headerMd === undefined) this.#headerMd = md.clone();
    else for (const [k, v] of md) this.#headerMd.append(k, v);
  }

  sendHeader(md?: Metadata): void {
    if (md !== undefined) this.setHeader(md);
    this.#sendHeaders();
  }

  setTrailer(md: Metadata): void {
    if (this.#trailerMd === undefined) this.#trailerMd = md.clone();
    else for (const [k, v] of md) this.#trailerMd.append(k, v);
  }

  setCompression(encoding: string): void {
    if (this.#s.headersSent) return;
    if (encoding === "identity") {
      this.#encoding = undefined;
      this.#compressor = undefined;
      return;
    }
    if (getCompressor(encoding) === undefined) {
      throw new RangeError(`Cannot set compression: unknown encoding "${encoding}"`);
    }
    this.#chooseEncoding(encoding);
  }

  setMessageCompression(enabled: boolean): void {
    this.#compressMessages = enabled;
  }

  #sendHeaders(): void {
    const s = this.#s;
    if (s.headersSent) return;
    const extra: string[] = [];
    if (this.#encoding !== undefined) extra.push("grpc-encoding", this.#encoding);
    extra.push("grpc-accept-encoding", supportedEncodings());
    this.#headerMd?.appendTo(extra);
    s.sendHeaders(extra);
  }

  async recvMsg(): Promise<unknown | null> {
    const s = this.#s;
    const received = await s.recvMsg();
    if (received === null) return null;
    let bytes: Uint8Array = received;
    const compressed = s.recvCompressed;
    this.requestCompressed = compressed;
    if (compressed) {
      if (this.#decompressor === undefined) {
        // PROTOCOL-HTTP2.md: the compressed flag without grpc-encoding is a protocol error.
        throw new StatusError(
          Code.Internal,
          "grpc: compressed flag set with identity or empty encoding",
        );
      }
      bytes = this.#decompressor.decompress(bytes, this.#opts.maxReceiveMessageSize);
    }
    try {
      return this.#m.requestCodec.decode(bytes);
    } catch (err) {
      throw new StatusError(Code.Internal, `Cannot decode request: ${errorMessage(err)}`, {
        cause: err,
      });
    }
  }

  async sendMsg(message: unknown): Promise<void> {
    if (this.#done) throw this.#abortStatus();
    let data: Uint8Array;
    try {
      data = this.#m.responseCodec.encode(message);
    } catch (err) {
      throw new StatusError(Code.Internal, `Cannot encode response: ${errorMessage(err)}`, {
        cause: err,
      });
    }
    if (data.length > this.#opts.maxSendMessageSize) {
      throw new StatusError(
        Code.ResourceExhausted,
        `Cannot send message: size ${data.length} exceeds maxSendMessageSize ${this.#opts.maxSendMessageSize}`,
      );
    }
    let compressed = false;
    if (
      this.#compressor !== undefined && this.#compressMessages &&
      data.length >= this.#opts.compressionMinSize
    ) {
      data = this.#compressor.compress(data);
      compressed = true;
    }
    if (!this.#s.headersSent) this.#sendHeaders();
    await this.#s.sendMsg(data, compressed);
  }

  #abortStatus(): StatusError {
    return this.#abortReason === DEADLINE_REASON
      ? new StatusError(Code.DeadlineExceeded, "context deadline exceeded")
      : new StatusError(Code.Canceled, "context canceled");
  }

  // Sends trailers with the call's status (once).
  #finish(err: StatusError | null): void {
    if (this.#done) return;
    this.#done = true;
    this.#deadlines.remove(this);
    const s = this.#s;
    if (s.cancelled) return;
    const extra: string[] = [];
    if (!s.headersSent) {
      // Trailers-only: response metadata goes into the one block.
      if (this.#encoding !== undefined && err === null) extra.push("grpc-encoding", this.#encoding);
      this.#headerMd?.appendTo(extra);
    }
    this.#trailerMd?.appendTo(extra);
    if (err === null) {
      s.sendTrailers(Code.OK, "", extra);
      return;
    }
    err.metadata.appendTo(extra);
    if (err.details.length > 0) {
      const bin = encodeStatusDetails(err.code, err.rawMessage, err.details);
      extra.push("grpc-status-details-bin", encodeBinaryHeader(bin));
    }
    s.sendTrailers(err.code, encodeGrpcMessage(err.rawMessage), extra);
  }

  /** Runs a unary handler through the interceptor chain. */
  async runUnary(handler: UnaryHandler): Promise<void> {
    try {
      const req = await this.recvMsg();
      if (req === null) {
        throw new StatusError(Code.Internal, "grpc: server received no request message");
      }
      const ics = this.#opts.unaryInterceptors;
      let res: unknown;
      if (ics.length === 0) res = await handler(req, this);
      else res = await chainUnary(ics, 0, { method: this.#m }, handler)(req, this);
      if (this.#done) return;
      await this.sendMsg(res);
      this.#finish(null);
    } catch (err) {
      this.#fail(err);
    } finally {
      this.#end();
    }
  }

  /** Runs a streaming handler (any of the three kinds) through the interceptor chain. */
  async runStreaming(handler: Handler): Promise<void> {
    const m = this.#m;
    const inner = (stream: ServerCallStream) => runStreamHandler(m, handler, stream);
    try {
      const ics = this.#opts.streamInterceptors;
      if (ics.length === 0) await inner(this);
      else await chainStream(ics, 0, { method: m }, inner)(this);
      this.#finish(null);
    } catch (err) {
      this.#fail(err);
    } finally {
      this.#end();
    }
  }

  // Ends the call with the handler's error. Never throws: a status that cannot be sent (say, a
  // code that cannot be encoded) must not become an unhandled rejection.
  #fail(err: unknown): void {
    try {
      this.#finish(toStatusError(err));
    } catch {
      // #end() below still releases the handler slot.
    }
  }

  // The handler has returned: release its slot (after an INTERNAL status if it sent none).
  #end(): void {
    if (!this.#done) this.#finish(new StatusError(Code.Internal, "Handler ended without status"));
    this.#deadlines.remove(this);
    this.#s.handlerDone();
  }
}

async function runStreamHandler(
  m: MethodDefinition,
  handler: Handler,
  stream: ServerCallStream,
): Promise<void> {
  const ctx = stream.context;
  if (!m.requestStream) {
    // Server streaming: one request, then the handler's responses.
    const req = await stream.recvMsg();
    if (req === null) {
      throw new StatusError(Code.Internal, "grpc: server received no request message");
    }
    const out = (handler as ServerStreamingHandler)(req, ctx);
    await sendAll(out, stream);
    return;
  }
  const requests = requestIterable(stream);
  if (!m.responseStream) {
    const res = await (handler as ClientStreamingHandler)(requests, ctx);
    await stream.sendMsg(res);
    return;
  }
  await sendAll((handler as BidiStreamingHandler)(requests, ctx), stream);
}

async function sendAll(out: AsyncIterable<unknown> | Iterable<unknown>, stream: ServerCallStream) {
  const signal = stream.context.signal;
  for await (const res of out) {
    if (signal.aborted) break;
    await stream.sendMsg(res);
  }
}

async function* requestIterable(stream: ServerCallStream): AsyncGenerator<unknown> {
  while (true) {
    const m = await stream.recvMsg();
    if (m === null) return;
    yield m;
  }
}

function chainUnary(
  ics: readonly UnaryServerInterceptor[],
  i: number,
  info: UnaryServerInfo,
  handler: UnaryHandler,
): (req: unknown, ctx: ServerContext) => Promise<unknown> {
  if (i === ics.length) return async (req, ctx) => await handler(req, ctx);
  const next = chainUnary(ics, i + 1, info, handler);
  return (req, ctx) => ics[i](req, ctx, info, next);
}

function chainStream(
  ics: readonly StreamServerInterceptor[],
  i: number,
  info: StreamServerInfo,
  handler: (stream: ServerCallStream) => Promise<void>,
): (stream: ServerCallStream) => Promise<void> {
  if (i === ics.length) return handler;
  const next = chainStream(ics, i + 1, info, handler);
  return (stream) => ics[i](stream, info, next);
}

function toStatusError(err: unknown): StatusError {
  if (err instanceof StatusError) return err;
  // Any other error is UNKNOWN (the message of a plain Error is passed on, as grpc-go does).
  return StatusError.from(err);
}
