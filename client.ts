/**
 * The gRPC client: {@linkcode newClient} / {@linkcode dial} give a {@linkcode ClientConn} (grpc-go
 * `ClientConn`), whose `invoke()` and `newStream()` carry every call, and
 * {@linkcode createClient} turns a service definition into `await client.sayHello(req)`.
 *
 * Shape, after grpc-go (clientconn.go, call.go, stream.go, dialoptions.go, rpc_util.go):
 * - One connection per `ClientConn`, made lazily on the first call (or by `dial({ block })`):
 *   `Deno.connect` + `setNoDelay(true)`, the HTTP/2 preface and SETTINGS, READY once the server's
 *   SETTINGS arrived. A failed attempt puts the channel in TRANSIENT_FAILURE for grpc-go's
 *   backoff delay; calls fail fast with UNAVAILABLE then, unless `waitForReady`.
 * - GOAWAY (or a connection that closes) sends new calls to a new connection; streams the server
 *   never processed are retried there transparently (grpc-go csAttempt + transparent retry).
 * - A unary call is a stream: newStream → sendMsg (with END_STREAM on the same frame) → recvMsg.
 *
 * @module
 */

import type { MethodDefinition, ServiceDefinition } from "./codec.ts";
import { Code, StatusError } from "./status.ts";
import { Metadata, type MetadataInit } from "./metadata.ts";
import { type Compressor, getCompressor, supportedEncodings } from "./compression.ts";
import {
  type BackoffConfig,
  backoffDelay,
  DEFAULT_BACKOFF,
  MIN_CONNECT_TIMEOUT_MS,
} from "./internal/backoff.ts";
import { encodeTimeout } from "./internal/timeout.ts";
import { type DeadlineEntry, DeadlineTimers } from "./internal/deadline_timers.ts";
import { errorMessage } from "./internal/wire.ts";
import {
  ClientStream as TransportStream,
  ClientTransport,
  TransportDrainingError,
} from "./transport/http2_client.ts";
import { DEFAULT_TRANSPORT_OPTIONS, type TransportOptions } from "./transport/connection.ts";
import { ErrorCode } from "./transport/frame.ts";
import * as D from "./transport/defaults.ts";

/** This library's version, as sent in `user-agent`. */
const VERSION = "0.1.0";
/** The `user-agent` product token of this library (grpc-go: "grpc-go/" + Version). */
const USER_AGENT = `grpc-deno-seed/${VERSION}`;

/** grpc-go defaultClientMaxReceiveMessageSize: 4 MiB. */
const DEFAULT_MAX_RECEIVE_MESSAGE_SIZE = D.DEFAULT_MAX_RECEIVE_MESSAGE_SIZE;
/** grpc-go defaultClientMaxSendMessageSize: math.MaxInt32. */
const DEFAULT_MAX_SEND_MESSAGE_SIZE = D.DEFAULT_MAX_SEND_MESSAGE_SIZE;
/** grpc-go defaultMaxCallAttempts: transparent retries of one call stop after this many. */
const MAX_CALL_ATTEMPTS = 5;
/** grpc-go defaultRetryBufferSize (WithMaxRetryRPCBufferSize): bytes kept per call for retries. */
const RETRY_BUFFER_SIZE = 256 * 1024;
/** setTimeout fires at once for delays of 2^31 ms or more (STYLE.md §7): no timer then. */
const MAX_TIMER_MS = 2 ** 31 - 1;

const RESOLVED: Promise<void> = Promise.resolve();

function noop(): void {}

// ---------------------------------------------------------------------------------------------
// Public types

/**
 * The state of a {@linkcode ClientConn}'s connection. grpc-go: `connectivity.State`.
 *
 * @example Read the state of a new client
 * ```ts
 * import { ConnectivityState, newClient } from "@seed/grpc";
 * import { assertEquals } from "@std/assert";
 *
 * const conn = newClient("127.0.0.1:50051");
 * assertEquals(conn.getState(), ConnectivityState.Idle); // lazy: nothing dialled yet
 * await conn.close();
 * assertEquals(conn.getState(), ConnectivityState.Shutdown);
 * ```
 */
export const ConnectivityState = {
  /** No connection; the next call (or `connect()`) starts one. */
  Idle: "IDLE",
  /** A connection attempt is in progress; calls wait for it. */
  Connecting: "CONNECTING",
  /** Connected; calls go out at once. */
  Ready: "READY",
  /** The last attempt failed; calls fail fast with UNAVAILABLE until the backoff delay passed. */
  TransientFailure: "TRANSIENT_FAILURE",
  /** `close()` was called. */
  Shutdown: "SHUTDOWN",
} as const;

/** One of the values of {@linkcode ConnectivityState}. */
export type ConnectivityState = (typeof ConnectivityState)[keyof typeof ConnectivityState];

/**
 * How a {@linkcode ClientConn} secures its connection. Only {@linkcode insecure} (plaintext h2c)
 * exists for now. grpc-go: `credentials.TransportCredentials`.
 *
 * @example Plaintext credentials
 * ```ts
 * import { insecure } from "@seed/grpc";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(insecure().protocol, "insecure");
 * ```
 */
export class ChannelCredentials {
  readonly #protocol: "insecure";

  /**
   * Use {@linkcode insecure} to get one.
   *
   * @param protocol The security protocol.
   */
  constructor(protocol: "insecure") {
    if (protocol !== "insecure") {
      throw new TypeError(
        `Cannot create credentials: unknown protocol ${JSON.stringify(protocol)}`,
      );
    }
    this.#protocol = protocol;
  }

  /**
   * The security protocol: `"insecure"` (grpc-go: `ProtocolInfo().SecurityProtocol`).
   *
   * @returns The protocol name.
   */
  get protocol(): "insecure" {
    return this.#protocol;
  }
}

const INSECURE = new ChannelCredentials("insecure");

/**
 * Plaintext credentials: HTTP/2 over TCP without TLS (h2c with prior knowledge). grpc-go:
 * `insecure.NewCredentials()`.
 *
 * @returns The insecure credentials.
 *
 * @example Dial without TLS
 * ```ts
 * import { insecure, newClient } from "@seed/grpc";
 *
 * const conn = newClient("127.0.0.1:50051", { credentials: insecure() });
 * await conn.close();
 * ```
 */
export function insecure(): ChannelCredentials {
  return INSECURE;
}

/**
 * Exponential backoff between connection attempts (gRPC connection-backoff.md). grpc-go:
 * `backoff.Config`. Unset fields take grpc-go's `backoff.DefaultConfig`.
 */
export interface BackoffOptions {
  /**
   * Delay after the first failed attempt, in ms. grpc-go: BaseDelay.
   * @default {1000}
   */
  baseDelayMs?: number;
  /**
   * Factor applied to the delay after each further failure. grpc-go: Multiplier.
   * @default {1.6}
   */
  multiplier?: number;
  /**
   * Randomization factor: the delay is scaled by a random value in [1 - jitter, 1 + jitter].
   * grpc-go: Jitter.
   * @default {0.2}
   */
  jitter?: number;
  /**
   * Upper bound of the delay, in ms. grpc-go: MaxDelay.
   * @default {120000}
   */
  maxDelayMs?: number;
}

/**
 * Options of one call (grpc-go: `CallOption`s plus the call's `context`). Given per call, and
 * as {@linkcode DialOptions.defaultCallOptions} for every call of a connection; per-call values
 * win, metadata and callbacks of both apply (grpc-go `combine`).
 *
 * @example Call with a timeout and metadata, and read the response headers
 * ```ts ignore
 * const reply = await client.sayHello({ name: "world" }, {
 *   timeoutMs: 1000,
 *   metadata: { "x-request-id": "42" },
 *   onHeader: (md) => console.log(md.get("x-served-by")),
 * });
 * ```
 */
export interface CallOptions {
  /**
   * Time allowed for the call, in ms from its start: sent as `grpc-timeout`, and the call fails
   * locally with DEADLINE_EXCEEDED (RST_STREAM CANCEL) when it runs out. With `deadline` too,
   * the earlier wins. grpc-go: `context.WithTimeout`.
   * @default {undefined} (no deadline)
   */
  timeoutMs?: number;
  /**
   * When the call must be over: a `Date` or epoch ms. A deadline already past fails the call
   * with DEADLINE_EXCEEDED before anything is sent. grpc-go: `context.WithDeadline`.
   * @default {undefined} (no deadline)
   */
  deadline?: Date | number;
  /**
   * Aborting it cancels the call: RST_STREAM CANCEL, and the call fails CANCELLED (or
   * DEADLINE_EXCEEDED when the reason is a `TimeoutError`). An aborted signal fails the call
   * before anything is sent. grpc-go: the call's `context`.
   * @default {undefined}
   */
  signal?: AbortSignal;
  /**
   * Request metadata (custom headers). grpc-go: `metadata.NewOutgoingContext`.
   * @default {undefined}
   */
  metadata?: Metadata | MetadataInit;
  /**
   * Called with the response headers once they arrive (with empty metadata for a
   * Trailers-Only response). grpc-go: `grpc.Header(&md)`.
   * @default {undefined}
   */
  onHeader?: (headers: Metadata) => void;
  /**
   * Called with the trailers when the server ended the call (OK or not). Not called for a call
   * that ended locally (cancel, deadline, lost connection). grpc-go: `grpc.Trailer(&md)`.
   * @default {undefined}
   */
  onTrailer?: (trailers: Metadata) => void;
  /**
   * Largest response message in bytes (after decompression); larger fails RESOURCE_EXHAUSTED.
   * grpc-go: `MaxCallRecvMsgSize`.
   * @default {4194304} (or the connection's {@linkcode DialOptions.maxReceiveMessageSize})
   */
  maxReceiveMessageSize?: number;
  /**
   * Largest request message in bytes (after compression); larger fails RESOURCE_EXHAUSTED
   * without being sent. grpc-go: `MaxCallSendMsgSize`.
   * @default {2147483647} (or the connection's {@linkcode DialOptions.maxSendMessageSize})
   */
  maxSendMessageSize?: number;
  /**
   * Compress request messages with this encoding (`"gzip"`…; `"identity"` for none), sent as
   * `grpc-encoding`. grpc-go: `UseCompressor`.
   * @default {undefined} (the connection's {@linkcode DialOptions.compression}, else none)
   */
  compression?: string;
  /**
   * When the connection is in TRANSIENT_FAILURE, wait for it to become READY (until the
   * deadline) instead of failing at once with UNAVAILABLE. grpc-go: `WaitForReady`.
   * @default {false}
   */
  waitForReady?: boolean;
}

/**
 * Options of {@linkcode newClient} and {@linkcode dial}. grpc-go: `DialOption`s.
 *
 * @example Dial with interceptors and default call options
 * ```ts
 * import { insecure, newClient } from "@seed/grpc";
 *
 * const conn = newClient("127.0.0.1:50051", {
 *   credentials: insecure(),
 *   defaultCallOptions: { timeoutMs: 5000, metadata: { "x-client": "docs" } },
 *   unaryInterceptors: [async (call, invoker) => {
 *     const started = performance.now();
 *     try {
 *       return await invoker(call);
 *     } finally {
 *       console.log(call.method.path, performance.now() - started);
 *     }
 *   }],
 * });
 * await conn.close();
 * ```
 */
export interface DialOptions {
  /**
   * Transport security. grpc-go: `WithTransportCredentials`.
   * @default {insecure()}
   */
  credentials?: ChannelCredentials;
  /**
   * `dial()` only: resolve once the connection is READY instead of at once. Without `signal`
   * the first failed attempt rejects (UNAVAILABLE); with one, attempts go on (with backoff)
   * until it aborts (DEADLINE_EXCEEDED for a `TimeoutError` reason, else CANCELLED). grpc-go:
   * `WithBlock`.
   * @default {false}
   */
  block?: boolean;
  /**
   * `dial()` with `block` only: gives up waiting when aborted. grpc-go: `DialContext`'s ctx.
   * @default {undefined}
   */
  signal?: AbortSignal;
  /**
   * Unary interceptors, the first outermost. grpc-go: `WithChainUnaryInterceptor`.
   * @default {[]}
   */
  unaryInterceptors?: readonly UnaryClientInterceptor[];
  /**
   * Stream interceptors (for `newStream` and every streaming method), the first outermost.
   * grpc-go: `WithChainStreamInterceptor`.
   * @default {[]}
   */
  streamInterceptors?: readonly StreamClientInterceptor[];
  /**
   * Call options applied under every call's own. grpc-go: `WithDefaultCallOptions`.
   * @default {undefined}
   */
  defaultCallOptions?: CallOptions;
  /**
   * Largest response message in bytes for every call. grpc-go: `MaxCallRecvMsgSize` default
   * (defaultClientMaxReceiveMessageSize).
   * @default {4194304}
   */
  maxReceiveMessageSize?: number;
  /**
   * Largest request message in bytes for every call. grpc-go: `MaxCallSendMsgSize` default
   * (defaultClientMaxSendMessageSize).
   * @default {2147483647}
   */
  maxSendMessageSize?: number;
  /**
   * Prepended to this library's `user-agent` (`"my-app/1.2 grpc-deno-seed/0.1.0"`). grpc-go:
   * `WithUserAgent`.
   * @default {undefined}
   */
  userAgent?: string;
  /**
   * Backoff between failed connection attempts. grpc-go: `WithConnectParams` (Backoff).
   * @default {{ baseDelayMs: 1000, multiplier: 1.6, jitter: 0.2, maxDelayMs: 120000 }}
   */
  backoff?: BackoffOptions;
  /**
   * The least time, in ms, a connection attempt (TCP connect and HTTP/2 handshake) is given;
   * an attempt gets max(this, the current backoff delay). grpc-go: `WithConnectParams`
   * (MinConnectTimeout).
   * @default {20000}
   */
  minConnectTimeoutMs?: number;
  /**
   * Our HTTP/2 stream receive window in bytes; setting it (or `initialConnWindowSize`) turns
   * off the BDP estimator that otherwise grows windows. Values below 65535 are ignored, as in
   * grpc-go. grpc-go: `WithInitialWindowSize`.
   * @default {65535} (grown dynamically by BDP estimation)
   */
  initialWindowSize?: number;
  /**
   * Our HTTP/2 connection receive window in bytes; see `initialWindowSize`. grpc-go:
   * `WithInitialConnWindowSize`.
   * @default {65535} (grown dynamically by BDP estimation)
   */
  initialConnWindowSize?: number;
  /**
   * Largest response header list we accept (SETTINGS_MAX_HEADER_LIST_SIZE), in bytes.
   * grpc-go: `WithMaxHeaderListSize`.
   * @default {16777216}
   */
  maxHeaderListSize?: number;
  /**
   * Compress requests of every call with this encoding (`"gzip"`…). grpc-go:
   * `WithDefaultCallOptions(UseCompressor(name))`.
   * @default {undefined} (no compression)
   */
  compression?: string;
}

/**
 * One call's stream, as {@linkcode ClientConn.newStream} returns it (grpc-go: `ClientStream`).
 * It is also an async iterable of the responses.
 *
 * @typeParam Req The request message type.
 * @typeParam Res The response message type.
 *
 * @example Drive a bidi stream by hand
 * ```ts ignore
 * const stream = conn.newStream(service.methods.routeChat);
 * await stream.sendMsg({ message: "hi" });
 * stream.closeSend();
 * for await (const note of stream) console.log(note);
 * console.log(await stream.trailers);
 * ```
 */
export interface ClientStream<Req = unknown, Res = unknown> extends ResponseStream<Res> {
  /** The method being called. */
  readonly method: MethodDefinition<Req, Res>;
  /**
   * Sends one request message. Resolves once it is queued (waits while flow control or the
   * writer push back); sending after the server ended the call OK is a silent no-op, as in
   * grpc-go (the status comes from `recvMsg`).
   *
   * @param message The request.
   * @param options `compress: false` sends this message uncompressed even when the call has an
   *   encoding (grpc-java: `setMessageCompression`); the default follows the call's
   *   `compression`.
   * @returns A promise resolved when the message is on its way.
   * @throws {StatusError} The call failed; RESOURCE_EXHAUSTED if larger than
   *   `maxSendMessageSize`; INTERNAL after `closeSend()` or if the message cannot be encoded.
   */
  sendMsg(message: Req, options?: SendOptions): Promise<void>;
  /** Half-closes the call: no more requests (END_STREAM). Idempotent. */
  closeSend(): void;
  /**
   * Receives the next response.
   *
   * @returns The response, or `null` once the server ended the call with OK.
   * @throws {StatusError} The call's status, when not OK.
   */
  recvMsg(): Promise<Res | null>;
}

/** Per-message options of {@linkcode ClientStream.sendMsg}. */
export interface SendOptions {
  /**
   * Compress this message with the call's encoding; `false` sends it uncompressed.
   * @default {true}
   */
  compress?: boolean;
}

/**
 * The responses of a streaming call: iterate with `for await`; `headers`, `trailers` and
 * `cancel()` as on {@linkcode ClientStream}.
 *
 * @typeParam Res The response message type.
 */
export interface ResponseStream<Res> extends AsyncIterable<Res> {
  /**
   * The response headers. Resolves with empty metadata for a Trailers-Only response; rejects
   * with the call's error if it failed before any response.
   */
  readonly headers: Promise<Metadata>;
  /**
   * The trailers, once the call has ended (after the last response was read), also when the
   * server ended it with an error status (the error's `metadata` holds them too). Rejects with
   * the call's error if it ended without trailers (cancelled, deadline, lost connection).
   */
  readonly trailers: Promise<Metadata>;
  /**
   * Cancels the call (RST_STREAM CANCEL); pending and later reads fail CANCELLED.
   *
   * @param reason Kept as the `cause` of the CANCELLED error.
   */
  cancel(reason?: unknown): void;
}

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

// ---------------------------------------------------------------------------------------------
// Options

interface ResolvedDialOptions {
  readonly credentials: ChannelCredentials;
  readonly unaryInterceptors: readonly UnaryClientInterceptor[];
  readonly streamInterceptors: readonly StreamClientInterceptor[];
  readonly defaultCallOptions: CallOptions | undefined;
  readonly maxReceiveMessageSize: number;
  readonly maxSendMessageSize: number;
  readonly userAgent: string;
  readonly backoff: Readonly<BackoffConfig>;
  readonly minConnectTimeoutMs: number;
  readonly transport: Readonly<TransportOptions>;
  readonly compressor: Compressor | undefined;
}

function checkSize(name: string, v: number | undefined, def: number, min = 0): number {
  if (v === undefined) return def;
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > 2 ** 31 - 1) {
    throw new RangeError(
      `Cannot use ${name}: value is ${v}, expected an integer in [${min}, 2147483647]`,
    );
  }
  return v;
}

function checkMs(name: string, v: number | undefined, def: number): number {
  if (v === undefined) return def;
  if (typeof v !== "number" || !(v >= 0) || v === Infinity) {
    throw new RangeError(`Cannot use ${name}: value is ${v}, expected a finite number >= 0`);
  }
  return v;
}

function resolveCompressor(name: string | undefined, what: string): Compressor | undefined {
  if (name === undefined || name === "identity") return undefined;
  const c = getCompressor(name);
  if (c === undefined) {
    throw new RangeError(`Cannot use ${what}: unknown encoding ${JSON.stringify(name)}`);
  }
  return c;
}

function resolveDialOptions(o: DialOptions = {}): ResolvedDialOptions {
  if (o.credentials !== undefined && !(o.credentials instanceof ChannelCredentials)) {
    throw new TypeError("Cannot use credentials: expected insecure()");
  }
  const b = o.backoff ?? {};
  const backoff: BackoffConfig = Object.freeze({
    baseDelayMs: checkMs("backoff.baseDelayMs", b.baseDelayMs, DEFAULT_BACKOFF.baseDelayMs),
    multiplier: checkMs("backoff.multiplier", b.multiplier, DEFAULT_BACKOFF.multiplier),
    jitter: checkMs("backoff.jitter", b.jitter, DEFAULT_BACKOFF.jitter),
    maxDelayMs: checkMs("backoff.maxDelayMs", b.maxDelayMs, DEFAULT_BACKOFF.maxDelayMs),
  });
  if (backoff.jitter > 1) {
    throw new RangeError(`Cannot use backoff.jitter: value is ${backoff.jitter}, expected <= 1`);
  }
  // grpc-go WithInitialWindowSize: "any value smaller than [64K] will be ignored".
  let win = checkSize("initialWindowSize", o.initialWindowSize, 0);
  let connWin = checkSize("initialConnWindowSize", o.initialConnWindowSize, 0);
  if (win < D.DEFAULT_WINDOW_SIZE) win = 0;
  if (connWin < D.DEFAULT_WINDOW_SIZE) connWin = 0;
  const maxRecv = checkSize(
    "maxReceiveMessageSize",
    o.maxReceiveMessageSize,
    DEFAULT_MAX_RECEIVE_MESSAGE_SIZE,
  );
  const transport: TransportOptions = Object.freeze({
    ...DEFAULT_TRANSPORT_OPTIONS,
    initialWindowSize: win || D.DEFAULT_WINDOW_SIZE,
    initialConnWindowSize: connWin || D.DEFAULT_WINDOW_SIZE,
    dynamicWindow: win === 0 && connWin === 0,
    maxHeaderListSize: checkSize(
      "maxHeaderListSize",
      o.maxHeaderListSize,
      D.DEFAULT_MAX_HEADER_LIST_SIZE,
      1,
    ),
    maxReceiveMessageSize: maxRecv,
  });
  const ua = o.userAgent;
  if (ua !== undefined && (typeof ua !== "string" || !/^[\x20-\x7e]*$/.test(ua))) {
    throw new TypeError(`Cannot use userAgent: ${JSON.stringify(ua)} is not printable ASCII`);
  }
  return Object.freeze({
    credentials: o.credentials ?? INSECURE,
    unaryInterceptors: Object.freeze([...(o.unaryInterceptors ?? [])]),
    streamInterceptors: Object.freeze([...(o.streamInterceptors ?? [])]),
    defaultCallOptions: o.defaultCallOptions,
    maxReceiveMessageSize: maxRecv,
    maxSendMessageSize: checkSize(
      "maxSendMessageSize",
      o.maxSendMessageSize,
      DEFAULT_MAX_SEND_MESSAGE_SIZE,
    ),
    userAgent: ua ? `${ua} ${USER_AGENT}` : USER_AGENT,
    backoff,
    minConnectTimeoutMs: checkMs(
      "minConnectTimeoutMs",
      o.minConnectTimeoutMs,
      MIN_CONNECT_TIMEOUT_MS,
    ),
    transport,
    compressor: resolveCompressor(o.compression, "compression"),
  });
}

function toMetadata(md: Metadata | MetadataInit | undefined): Metadata | undefined {
  if (md === undefined || md === null) return undefined;
  return md instanceof Metadata ? md : new Metadata(md);
}

// grpc-go combine(cc.dopts.callOptions, opts): per-call values win; metadata, callbacks and
// signals of both apply.
function mergeCallOptions(d: CallOptions, o: CallOptions | undefined): CallOptions {
  if (o === undefined) return d;
  const out: CallOptions = { ...d, ...o };
  for (const k of Object.keys(o) as (keyof CallOptions)[]) {
    if (o[k] === undefined) (out as Record<string, unknown>)[k] = d[k];
  }
  const dm = toMetadata(d.metadata);
  const om = toMetadata(o.metadata);
  if (dm !== undefined && om !== undefined) out.metadata = dm.clone().merge(om);
  if (d.onHeader !== undefined && o.onHeader !== undefined && d.onHeader !== o.onHeader) {
    const a = d.onHeader, b = o.onHeader;
    out.onHeader = (md) => {
      a(md);
      b(md);
    };
  }
  if (d.onTrailer !== undefined && o.onTrailer !== undefined && d.onTrailer !== o.onTrailer) {
    const a = d.onTrailer, b = o.onTrailer;
    out.onTrailer = (md) => {
      a(md);
      b(md);
    };
  }
  if (d.signal !== undefined && o.signal !== undefined && d.signal !== o.signal) {
    (out as InternalCallOptions).extraSignal = d.signal;
  }
  if (d.timeoutMs !== undefined && o.deadline !== undefined && o.timeoutMs === undefined) {
    // Both bound the call; the per-call deadline does not lift the default timeout.
    out.timeoutMs = d.timeoutMs;
  }
  return out;
}

interface InternalCallOptions extends CallOptions {
  /** A second signal (the default call options' one) when both are given. */
  extraSignal?: AbortSignal;
}

// Interceptors get options whose metadata is a Metadata they may change.
function forInterceptors(o: CallOptions | undefined): CallOptions & { metadata: Metadata } {
  const md = o?.metadata;
  return { ...o, metadata: md instanceof Metadata ? md.clone() : new Metadata(md ?? undefined) };
}

// ---------------------------------------------------------------------------------------------
// Targets

interface Target {
  readonly kind: "tcp" | "unix";
  readonly hostname: string;
  readonly port: number;
  readonly path: string;
  /** `:authority`: host:port as written in the target; "localhost" for unix sockets. */
  readonly authority: string;
}

/**
 * Parses a target as grpc-go's default resolvers read it: `host:port`, `[v6]:port`,
 * `dns:///host:port` (also `dns://server/host:port`, the server ignored), `passthrough:///…`,
 * `unix:path`, `unix:///abs/path`. A missing port is 443 (grpc-go's DNS resolver default).
 */
function parseTarget(target: string): Target {
  if (typeof target !== "string" || target === "") {
    throw new TypeError(`Cannot parse target ${JSON.stringify(target)}: expected "host:port"`);
  }
  if (target.startsWith("unix:")) {
    let path = target.slice(5);
    if (path.startsWith("//")) {
      // unix://[authority]/abs/path: only an empty authority is allowed (grpc-go).
      path = path.slice(2);
      if (!path.startsWith("/")) {
        throw new TypeError(`Cannot parse target ${JSON.stringify(target)}: expected unix:///path`);
      }
    }
    if (path === "") throw new TypeError(`Cannot parse target ${JSON.stringify(target)}: no path`);
    return { kind: "unix", hostname: "", port: 0, path, authority: "localhost" };
  }
  let rest = target;
  const scheme = /^(dns|passthrough):/.exec(rest);
  if (scheme !== null) {
    rest = rest.slice(scheme[0].length);
    if (rest.startsWith("//")) {
      const slash = rest.indexOf("/", 2);
      rest = slash < 0 ? "" : rest.slice(slash + 1);
    }
  }
  let host: string;
  let portText = "";
  if (rest.startsWith("[")) {
    const close = rest.indexOf("]");
    if (close < 0) {
      throw new TypeError(`Cannot parse target ${JSON.stringify(target)}: missing "]"`);
    }
    host = rest.slice(1, close);
    const after = rest.slice(close + 1);
    if (after.startsWith(":")) portText = after.slice(1);
    else if (after !== "") {
      throw new TypeError(`Cannot parse target ${JSON.stringify(target)}: junk after "]"`);
    }
  } else {
    const colon = rest.lastIndexOf(":");
    if (colon >= 0 && rest.indexOf(":") !== colon) {
      throw new TypeError(
        `Cannot parse target ${JSON.stringify(target)}: IPv6 addresses need brackets, [::1]:port`,
      );
    }
    host = colon < 0 ? rest : rest.slice(0, colon);
    if (colon >= 0) portText = rest.slice(colon + 1);
  }
  if (host === "") host = "localhost"; // grpc-go: ":50051" dials localhost
  let port = 443;
  if (portText !== "") {
    port = /^[0-9]{1,5}$/.test(portText) ? Number(portText) : -1;
    if (port < 1 || port > 65535) {
      throw new TypeError(`Cannot parse target ${JSON.stringify(target)}: bad port "${portText}"`);
    }
  }
  const hostPart = host.includes(":") ? `[${host}]` : host;
  return {
    kind: "tcp",
    hostname: host,
    port,
    path: "",
    authority: portText === "" ? hostPart : `${hostPart}:${port}`,
  };
}

async function connectRaw(t: Target, signal: AbortSignal): Promise<Deno.Conn> {
  if (t.kind === "unix") {
    // Deno.connect takes no signal for unix sockets; the attempt's timer closes a late conn.
    return await Deno.connect({ transport: "unix", path: t.path });
  }
  const conn = await Deno.connect({ hostname: t.hostname, port: t.port, signal });
  // Nagle is on by default in Deno (DENO-PLATFORM.md §0); grpc-go sets TCP_NODELAY too.
  conn.setNoDelay(true);
  // grpc-go dials with SO_KEEPALIVE on and the OS's intervals (NetDialerWithTCPKeepalive).
  conn.setKeepAlive(true);
  return conn;
}

// ---------------------------------------------------------------------------------------------
// The channel: one target, one connection at a time (grpc-go addrConn with pick_first).

interface Waiter {
  readonly waitForReady: boolean;
  readonly promise: Promise<ClientTransport>;
  resolve(t: ClientTransport): void;
  reject(e: StatusError): void;
}

function newWaiter(waitForReady: boolean): Waiter {
  let resolve!: (t: ClientTransport) => void;
  let reject!: (e: StatusError) => void;
  const promise = new Promise<ClientTransport>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(noop);
  return { waitForReady, promise, resolve, reject };
}

function refConn(conn: unknown, on: boolean): void {
  const c = conn as Partial<Deno.Conn>;
  if (on) c.ref?.();
  else c.unref?.();
}

function closingError(): StatusError {
  return new StatusError(Code.Canceled, "grpc: the client connection is closing");
}

function errorText(err: unknown): string {
  return err instanceof StatusError ? err.rawMessage : errorMessage(err);
}

class Channel {
  readonly target: Target;
  readonly opts: ResolvedDialOptions;
  readonly acceptEncoding: string;
  readonly #prefixes = new Map<string, string[]>();
  #state: ConnectivityState = ConnectivityState.Idle;
  #transport: ClientTransport | null = null;
  readonly #transports = new Set<ClientTransport>();
  readonly #waiters = new Set<Waiter>();
  #backoffIdx = 0;
  #retryAt = 0;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  /** One timer for every call's deadline (internal/deadline_timers.ts explains why). */
  readonly deadlines: DeadlineTimers = new DeadlineTimers();
  #lastError: StatusError | null = null;
  #attempt: AbortController | null = null;
  #attemptDone: Promise<void> = RESOLVED;
  #closed = false;
  // Calls in progress. Sockets are unref'd while there are none, so an idle ClientConn that was
  // never closed does not keep the process alive (grpc-go programs exit when main returns).
  #active = 0;

  constructor(target: Target, opts: ResolvedDialOptions) {
    this.target = target;
    this.opts = opts;
    this.acceptEncoding = supportedEncodings();
  }

  get closed(): boolean {
    return this.#closed;
  }

  get state(): ConnectivityState {
    const s = this.#state;
    if (s === ConnectivityState.Ready && this.#transport?.draining !== false) {
      return ConnectivityState.Idle;
    }
    // grpc-go: after the backoff delay, a failed addrConn goes back to IDLE.
    if (
      s === ConnectivityState.TransientFailure && this.#retryTimer === undefined &&
      Date.now() >= this.#retryAt
    ) {
      return ConnectivityState.Idle;
    }
    return s;
  }

  callStarted(): void {
    if (this.#active++ === 0) this.#setRef(true);
  }

  callEnded(): void {
    if (--this.#active === 0) this.#setRef(false);
  }

  #setRef(on: boolean): void {
    for (const t of this.#transports) refConn(t.conn, on);
  }

  /** The constant request headers of a method (cached; never mutated). */
  headerPrefix(path: string): string[] {
    let p = this.#prefixes.get(path);
    if (p === undefined) {
      p = [
        ":method",
        "POST",
        ":scheme",
        "http",
        ":path",
        path,
        ":authority",
        this.target.authority,
        "content-type",
        "application/grpc",
        "te",
        "trailers",
        "user-agent",
        this.opts.userAgent,
        "grpc-accept-encoding",
        this.acceptEncoding,
      ];
      if (this.#prefixes.size < 10_000) this.#prefixes.set(path, p);
    }
    return p;
  }

  /** The READY transport, or null (hot path: no promise). */
  readyTransport(): ClientTransport | null {
    const t = this.#transport;
    return t !== null && !t.draining ? t : null;
  }

  /**
   * A transport for a new stream: the READY one, or a waiter for the next one. Throws
   * UNAVAILABLE in TRANSIENT_FAILURE unless `waitForReady` (grpc-go pick fail-fast).
   */
  pick(waitForReady: boolean): ClientTransport | Waiter {
    if (this.#closed) throw closingError();
    const t = this.#transport;
    if (t !== null) {
      if (!t.draining) return t;
      this.#lost(t);
    }
    switch (this.#state) {
      case ConnectivityState.Idle:
        this.#startConnect();
        break;
      case ConnectivityState.TransientFailure:
        if (this.#retryTimer === undefined && Date.now() >= this.#retryAt) {
          this.#startConnect();
        } else if (!waitForReady) {
          throw new StatusError(
            Code.Unavailable,
            this.#lastError?.rawMessage ?? "Connection in TRANSIENT_FAILURE",
            { cause: this.#lastError ?? undefined },
          );
        }
        break;
    }
    const w = newWaiter(waitForReady);
    this.#waiters.add(w);
    if (this.#state === ConnectivityState.TransientFailure) this.#scheduleRetry();
    return w;
  }

  dropWaiter(w: Waiter): void {
    this.#waiters.delete(w);
    if (this.#waiters.size === 0 && this.#retryTimer !== undefined) {
      clearTimeout(this.#retryTimer);
      this.#retryTimer = undefined;
    }
  }

  /** grpc-go ClientConn.Connect: leave IDLE now. */
  connect(): void {
    if (this.#closed) return;
    const t = this.#transport;
    if (t !== null && t.draining) this.#lost(t);
    if (
      this.#state === ConnectivityState.Idle ||
      (this.#state === ConnectivityState.TransientFailure && this.#retryTimer === undefined &&
        Date.now() >= this.#retryAt)
    ) {
      this.#startConnect();
    }
  }

  #startConnect(): void {
    if (this.#closed || this.#state === ConnectivityState.Connecting) return;
    if (this.#retryTimer !== undefined) {
      clearTimeout(this.#retryTimer);
      this.#retryTimer = undefined;
    }
    this.#state = ConnectivityState.Connecting;
    this.#attemptDone = this.#tryConnect();
  }

  // grpc-go addrConn.resetTransport / tryAllAddrs / createTransport, for one address.
  async #tryConnect(): Promise<void> {
    const backoffMs = backoffDelay(this.#backoffIdx, this.opts.backoff);
    const timeoutMs = Math.max(this.opts.minConnectTimeoutMs, backoffMs);
    const ac = new AbortController();
    this.#attempt = ac;
    const where = this.target.kind === "unix" ? this.target.path : this.target.authority;
    const timer = setTimeout(() => {
      ac.abort(
        new StatusError(
          Code.Unavailable,
          `Cannot connect to ${where}: no handshake within ${timeoutMs} ms`,
        ),
      );
    }, Math.min(timeoutMs, MAX_TIMER_MS));
    let t: ClientTransport | null = null;
    try {
      let conn: Deno.Conn;
      try {
        conn = await connectRaw(this.target, ac.signal);
      } catch (err) {
        if (ac.signal.aborted) throw ac.signal.reason;
        throw new StatusError(Code.Unavailable, `Cannot connect to ${where}: ${errorText(err)}`, {
          cause: err,
        });
      }
      if (ac.signal.aborted) {
        try {
          conn.close();
        } catch {
          // Already closed.
        }
        throw ac.signal.reason;
      }
      const tt = new ClientTransport(conn, this.opts.transport);
      t = tt;
      tt.onDrain = () => this.#lost(tt);
      tt.onClose = () => {
        this.#transports.delete(tt);
        this.#lost(tt);
      };
      this.#transports.add(tt);
      if (this.#active === 0) refConn(conn, false);
      tt.begin();
      const onAbort = () => tt.close(ac.signal.reason);
      ac.signal.addEventListener("abort", onAbort, { once: true });
      try {
        await tt.handshaked;
      } finally {
        ac.signal.removeEventListener("abort", onAbort);
      }
      if (tt.draining) throw tt.closeReason ?? new StatusError(Code.Unavailable, "GOAWAY at once");
    } catch (err) {
      clearTimeout(timer);
      this.#attempt = null;
      t?.close(StatusError.from(err));
      if (this.#closed) return;
      const e = err instanceof StatusError && err.code === Code.Unavailable
        ? err
        : new StatusError(Code.Unavailable, `Cannot connect to ${where}: ${errorText(err)}`, {
          cause: err,
        });
      this.#lastError = e;
      this.#backoffIdx++;
      this.#state = ConnectivityState.TransientFailure;
      // grpc-go: the backoff timer starts when the attempt has failed.
      this.#retryAt = Date.now() + backoffMs;
      for (const w of [...this.#waiters]) {
        if (!w.waitForReady) {
          this.#waiters.delete(w);
          w.reject(new StatusError(Code.Unavailable, e.rawMessage, { cause: e }));
        }
      }
      if (this.#waiters.size > 0) this.#scheduleRetry();
      return;
    }
    clearTimeout(timer);
    this.#attempt = null;
    if (this.#closed) {
      t.close(closingError());
      return;
    }
    this.#transport = t;
    this.#state = ConnectivityState.Ready;
    this.#backoffIdx = 0;
    this.#lastError = null;
    const ws = [...this.#waiters];
    this.#waiters.clear();
    for (const w of ws) w.resolve(t);
  }

  #scheduleRetry(): void {
    if (this.#retryTimer !== undefined || this.#closed) return;
    const ms = Math.max(0, this.#retryAt - Date.now());
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      if (this.#waiters.size > 0 && this.#state === ConnectivityState.TransientFailure) {
        this.#startConnect();
      }
    }, Math.min(ms, MAX_TIMER_MS));
  }

  // The READY transport stopped taking streams (GOAWAY, closed): the next call connects anew
  // (grpc-go: the addrConn goes IDLE; backoff was reset when it became READY).
  #lost(t: ClientTransport): void {
    if (t !== this.#transport) return;
    this.#transport = null;
    if (this.#state === ConnectivityState.Ready) this.#state = ConnectivityState.Idle;
  }

  /** The transport `t` refused a new stream (draining): forget it. */
  transportDraining(t: ClientTransport): void {
    this.#lost(t);
  }

  /** Rejects `w` with `err` and stops waiting. */
  waitForReadyState(signal: AbortSignal | undefined, failFast: boolean): Promise<void> {
    if (this.#closed) return Promise.reject(closingError());
    if (this.readyTransport() !== null) return RESOLVED;
    let w: Waiter;
    try {
      const p = this.pick(!failFast);
      if (p instanceof ClientTransport) return RESOLVED;
      w = p;
    } catch (err) {
      return Promise.reject(err);
    }
    if (signal === undefined) return w.promise.then(noop);
    const onAbort = () => {
      this.dropWaiter(w);
      const reason = signal.reason;
      const last = this.#lastError ? `; last error: ${this.#lastError.rawMessage}` : "";
      const timeout = reason instanceof DOMException && reason.name === "TimeoutError";
      w.reject(
        new StatusError(
          timeout ? Code.DeadlineExceeded : Code.Canceled,
          `${timeout ? "Deadline exceeded" : "Cancelled"} while connecting${last}`,
          { cause: reason },
        ),
      );
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
    return w.promise.then(
      () => signal.removeEventListener("abort", onAbort),
      (err) => {
        signal.removeEventListener("abort", onAbort);
        throw err;
      },
    );
  }

  async close(): Promise<void> {
    if (this.#closed) {
      await this.#attemptDone;
      return;
    }
    this.#closed = true;
    this.#state = ConnectivityState.Shutdown;
    this.deadlines.clear();
    if (this.#retryTimer !== undefined) {
      clearTimeout(this.#retryTimer);
      this.#retryTimer = undefined;
    }
    const err = closingError();
    this.#attempt?.abort(err);
    const ws = [...this.#waiters];
    this.#waiters.clear();
    for (const w of ws) w.reject(err);
    this.#transport = null;
    const ts = [...this.#transports];
    for (const t of ts) t.close(err);
    await this.#attemptDone;
    await Promise.all(ts.map((t) => t.closed));
  }
}

// ---------------------------------------------------------------------------------------------
// One call (grpc-go clientStream + csAttempt)

/** A message sent (or to send) on the call: data and whether it is compressed. */
type Sent = [Uint8Array, boolean];

interface Deferred<T> {
  promise: Promise<T>;
  resolve(v: T): void;
  reject(e: unknown): void;
  settled: boolean;
}

function deferred<T>(): Deferred<T> {
  const d = { settled: false } as Deferred<T>;
  d.promise = new Promise<T>((resolve, reject) => {
    d.resolve = (v) => {
      d.settled = true;
      resolve(v);
    };
    d.reject = (e) => {
      d.settled = true;
      reject(e);
    };
  });
  d.promise.catch(noop);
  return d;
}

function abortStatus(reason: unknown): StatusError {
  if (reason instanceof DOMException && reason.name === "TimeoutError") {
    return new StatusError(Code.DeadlineExceeded, "Deadline exceeded (signal timed out)", {
      cause: reason,
    });
  }
  return new StatusError(Code.Canceled, "Call cancelled (signal aborted)", { cause: reason });
}

function headerValue(list: readonly string[] | null, name: string): string | undefined {
  if (list === null) return undefined;
  for (let i = 0; i < list.length; i += 2) if (list[i] === name) return list[i + 1];
  return undefined;
}

class Call<Req, Res> implements ClientStream<Req, Res> {
  readonly method: MethodDefinition<Req, Res>;
  readonly #ch: Channel;
  readonly #deadline: number; // epoch ms; Infinity for none
  readonly #metadata: Metadata | undefined;
  readonly #onHeader: ((md: Metadata) => void) | undefined;
  readonly #onTrailer: ((md: Metadata) => void) | undefined;
  readonly #maxRecv: number;
  readonly #maxSend: number;
  readonly #compressor: Compressor | undefined;
  readonly #waitForReady: boolean;
  #signal: AbortSignal | undefined;
  #signal2: AbortSignal | undefined;
  #onAbort: (() => void) | undefined;
  #onAbort2: (() => void) | undefined;
  #deadlineEntry: DeadlineEntry | undefined;

  // The current attempt.
  #ts: TransportStream | null = null;
  #opening: Promise<TransportStream> | null = null;
  #abortHook: ((err: StatusError) => void) | null = null;
  #attempts = 0;

  // Sending: messages kept for replay on a transparent retry, until the call is committed (a
  // response arrived, or more than RETRY_BUFFER_SIZE bytes were sent). Before the first attempt
  // is attached they are simply the queue.
  #buf: Sent[] | null = [];
  #bufBytes = 0;
  #halfClosed = false;

  // Result.
  #done = false;
  #error: StatusError | null = null;
  #headers: Deferred<Metadata> | null = null;
  #trailers: Deferred<Metadata> | null = null;
  #decompressor: Compressor | null | undefined;

  constructor(ch: Channel, method: MethodDefinition<Req, Res>, o: InternalCallOptions | undefined) {
    this.method = method;
    this.#ch = ch;
    const opts = ch.opts;
    let deadline = Infinity;
    if (o !== undefined) {
      if (o.timeoutMs !== undefined) {
        if (typeof o.timeoutMs !== "number" || Number.isNaN(o.timeoutMs)) {
          throw new RangeError(`Cannot use timeoutMs: value is ${o.timeoutMs}`);
        }
        deadline = Date.now() + o.timeoutMs;
      }
      if (o.deadline !== undefined) {
        const d = o.deadline instanceof Date ? o.deadline.getTime() : o.deadline;
        if (typeof d !== "number" || Number.isNaN(d)) {
          throw new RangeError(`Cannot use deadline: value is ${o.deadline}`);
        }
        if (d < deadline) deadline = d;
      }
      this.#metadata = toMetadata(o.metadata);
      this.#onHeader = o.onHeader;
      this.#onTrailer = o.onTrailer;
      this.#maxRecv = o.maxReceiveMessageSize === undefined
        ? opts.maxReceiveMessageSize
        : checkSize("maxReceiveMessageSize", o.maxReceiveMessageSize, 0);
      this.#maxSend = o.maxSendMessageSize === undefined
        ? opts.maxSendMessageSize
        : checkSize("maxSendMessageSize", o.maxSendMessageSize, 0);
      this.#compressor = o.compression === undefined
        ? opts.compressor
        : resolveCompressor(o.compression, "compression");
      this.#waitForReady = o.waitForReady === true;
      this.#signal = o.signal;
      this.#signal2 = o.extraSignal;
    } else {
      this.#maxRecv = opts.maxReceiveMessageSize;
      this.#maxSend = opts.maxSendMessageSize;
      this.#compressor = opts.compressor;
      this.#waitForReady = false;
    }
    this.#deadline = deadline;
    if (this.#onHeader !== undefined) this.#headers = deferred();
    ch.callStarted(); // #finish ends it

    // Fail before sending anything when already cancelled or past the deadline.
    const s1 = this.#signal, s2 = this.#signal2;
    if (s1?.aborted || s2?.aborted) {
      this.#finish(abortStatus(s1?.aborted ? s1.reason : s2!.reason));
      return;
    }
    if (deadline !== Infinity) {
      const ms = deadline - Date.now();
      if (ms <= 0) {
        this.#finish(new StatusError(Code.DeadlineExceeded, "Deadline exceeded before the call"));
        return;
      }
      if (ms < MAX_TIMER_MS) {
        this.#deadlineEntry = { deadlineBucket: 0, onDeadline: () => this.#deadlineExceeded() };
        ch.deadlines.add(this.#deadlineEntry, deadline);
      }
    }
    if (s1 !== undefined) {
      this.#onAbort = () => this.#abort(abortStatus(s1.reason));
      s1.addEventListener("abort", this.#onAbort, { once: true });
    }
    if (s2 !== undefined) {
      this.#onAbort2 = () => this.#abort(abortStatus(s2.reason));
      s2.addEventListener("abort", this.#onAbort2, { once: true });
    }
    this.#begin();
  }

  // ---- opening an attempt ------------------------------------------------------------------

  #begin(): void {
    // Hot path: a READY transport with a free stream slot gives the stream synchronously.
    const t = this.#ch.readyTransport();
    if (t !== null) {
      let r: TransportStream | Promise<TransportStream> | undefined;
      try {
        r = t.newStream(this.#requestHeaders(), this.#maxRecv);
      } catch {
        // Draining or closed since: the slow path below picks another transport.
      }
      if (r instanceof TransportStream) {
        this.#attach(r);
        return;
      }
      if (r !== undefined) {
        this.#startOpen(r);
        return;
      }
    }
    this.#startOpen(undefined);
  }

  #startOpen(pending: Promise<TransportStream> | undefined): void {
    const p = this.#openAsync(pending);
    // Failures reach the caller through sendMsg/recvMsg; this copy must not go unhandled.
    p.catch(noop);
    // #openAsync may have attached synchronously (and cleared #opening) before returning.
    if (this.#ts === null) this.#opening = p;
  }

  #requestHeaders(): string[] {
    const prefix = this.#ch.headerPrefix(this.method.path);
    const c = this.#compressor;
    if (c === undefined && this.#metadata === undefined && this.#deadline === Infinity) {
      return prefix;
    }
    const h = prefix.slice();
    if (c !== undefined) h.push("grpc-encoding", c.name);
    // grpc-go: the timeout is what is left of the deadline when the stream is created.
    if (this.#deadline !== Infinity) {
      h.push("grpc-timeout", encodeTimeout(this.#deadline - Date.now()));
    }
    this.#metadata?.appendTo(h);
    return h;
  }

  /** Opens the attempt's stream, waiting for a connection or a stream slot when needed. */
  async #openAsync(
    pending: Promise<TransportStream> | undefined,
  ): Promise<TransportStream> {
    try {
      for (;;) {
        if (this.#done) throw this.#error!;
        let r = pending;
        pending = undefined;
        let t: ClientTransport | undefined;
        if (r === undefined) {
          const picked = this.#ch.pick(this.#waitForReady);
          if (picked instanceof ClientTransport) {
            t = picked;
          } else {
            const w = picked;
            this.#abortHook = (err) => {
              this.#ch.dropWaiter(w);
              w.reject(err);
            };
            t = await w.promise;
            this.#abortHook = null;
          }
          if (this.#done) throw this.#error!;
          try {
            const s = t.newStream(this.#requestHeaders(), this.#maxRecv);
            if (s instanceof TransportStream) {
              this.#attach(s);
              return s;
            }
            r = s;
          } catch (err) {
            if (this.#retryOpen(t, err)) continue;
            throw err;
          }
        }
        // Waiting for a MAX_CONCURRENT_STREAMS slot: the wait can't be withdrawn, so race it
        // with the call's cancellation and cancel a stream that comes too late.
        const late = r;
        let s: TransportStream;
        try {
          s = await new Promise<TransportStream>((resolve, reject) => {
            this.#abortHook = reject;
            late.then(resolve, reject);
          });
        } catch (err) {
          if (this.#done) {
            late.then((s) => s.cancel(this.#error!, ErrorCode.CANCEL), noop);
            throw this.#error!;
          }
          // The transport went away (GOAWAY, closed) before the stream existed: nothing was
          // sent, so try again elsewhere.
          if (++this.#attempts < MAX_CALL_ATTEMPTS * 2) continue;
          throw err;
        } finally {
          this.#abortHook = null;
        }
        if (this.#done) {
          s.cancel(this.#error!, ErrorCode.CANCEL);
          throw this.#error!;
        }
        this.#attach(s);
        return s;
      }
    } catch (err) {
      const e = this.#fail(err);
      throw e;
    }
  }

  // newStream failed before anything was sent: retry elsewhere if the transport is going away.
  #retryOpen(t: ClientTransport, err: unknown): boolean {
    if (!(err instanceof TransportDrainingError) && !t.isClosed) return false;
    this.#ch.transportDraining(t);
    return ++this.#attempts < MAX_CALL_ATTEMPTS * 2;
  }

  #attach(s: TransportStream): void {
    this.#ts = s;
    this.#opening = null;
    if (this.#headers !== null) this.#watchHeaders(s);
    const buf = this.#buf;
    if (buf !== null && buf.length > 0) {
      const last = buf.length - 1;
      for (let i = 0; i < last; i++) s.sendMsg(buf[i][0], buf[i][1], false).catch(noop);
      s.sendMsg(buf[last][0], buf[last][1], this.#halfClosed).catch(noop);
      if (this.#bufBytes > RETRY_BUFFER_SIZE) this.#buf = null;
    } else if (this.#halfClosed) {
      s.closeSend();
    }
  }

  // A transparent retry is possible when the server never processed the stream (GOAWAY above
  // its id, REFUSED_STREAM) and nothing was received yet (grpc-go csAttempt.shouldRetry).
  #retryable(s: TransportStream): boolean {
    return s.refused && this.#buf !== null && !this.#done &&
      this.#attempts + 1 < MAX_CALL_ATTEMPTS && s === this.#ts;
  }

  #retry(): void {
    this.#attempts++;
    this.#ts = null;
    this.#startOpen(undefined);
  }

  // ---- sending -----------------------------------------------------------------------------

  #encode(message: Req, compress: boolean): Sent {
    let data: Uint8Array;
    try {
      data = this.method.requestCodec.encode(message);
    } catch (err) {
      throw new StatusError(Code.Internal, `grpc: error while marshaling: ${errorText(err)}`, {
        cause: err,
      });
    }
    let compressed = false;
    const c = this.#compressor;
    if (c !== undefined && compress) {
      try {
        data = c.compress(data);
      } catch (err) {
        throw new StatusError(Code.Internal, `grpc: error while compressing: ${errorText(err)}`, {
          cause: err,
        });
      }
      compressed = true;
    }
    if (data.length > this.#maxSend) {
      throw new StatusError(
        Code.ResourceExhausted,
        `trying to send message larger than max (${data.length} vs. ${this.#maxSend})`,
      );
    }
    return [data, compressed];
  }

  sendMsg(message: Req, options?: SendOptions): Promise<void> {
    if (this.#halfClosed) {
      return Promise.reject(new StatusError(Code.Internal, "sendMsg called after closeSend"));
    }
    return this.#sendMsg(message, false, options?.compress ?? true);
  }

  /** Sends the last request with END_STREAM on the same frame (unary, server streaming). */
  sendLast(message: Req): Promise<void> {
    if (this.#halfClosed) {
      return Promise.reject(new StatusError(Code.Internal, "sendMsg called after closeSend"));
    }
    return this.#sendMsg(message, true, true);
  }

  #sendMsg(message: Req, end: boolean, compress: boolean): Promise<void> {
    if (this.#done) return this.#error !== null ? Promise.reject(this.#error) : RESOLVED;
    let m: Sent;
    try {
      m = this.#encode(message, compress);
    } catch (err) {
      // grpc-go SendMsg: an error other than io.EOF finishes the call.
      const e = err as StatusError;
      this.#abort(e);
      return Promise.reject(e);
    }
    if (end) this.#halfClosed = true;
    const s = this.#ts;
    const buf = this.#buf;
    if (s === null) {
      // Not attached yet: queue; #attach sends it.
      buf!.push(m);
      this.#bufBytes += m[0].length;
      return this.#opening!.then(noop);
    }
    if (buf !== null) {
      buf.push(m);
      this.#bufBytes += m[0].length;
      if (this.#bufBytes > RETRY_BUFFER_SIZE) this.#buf = null;
    }
    if (s.error !== null) {
      if (this.#retryable(s)) {
        this.#retry();
        return this.#opening!.then(noop);
      }
      return Promise.reject(this.#fail(s.error));
    }
    return s.sendMsg(m[0], m[1], end);
  }

  closeSend(): void {
    if (this.#halfClosed) return;
    this.#halfClosed = true;
    if (this.#done) return;
    this.#ts?.closeSend();
  }

  // ---- receiving ---------------------------------------------------------------------------

  async #recvRaw(): Promise<[TransportStream, Uint8Array | null]> {
    for (;;) {
      if (this.#done && this.#error !== null) throw this.#error;
      const s = this.#ts ?? await this.#opening!;
      try {
        return [s, await s.recvMsg()];
      } catch (err) {
        if (this.#retryable(s)) {
          this.#retry();
          continue;
        }
        throw this.#fail(err);
      }
    }
  }

  async recvMsg(): Promise<Res | null> {
    if (this.#done) {
      if (this.#error !== null) throw this.#error;
      return null;
    }
    const [s, raw] = await this.#recvRaw();
    if (raw === null) {
      this.#finish(null);
      return null;
    }
    this.#buf = null; // committed: a response arrived
    return this.#decode(s, raw);
  }

  /** grpc-go invoke's recvMsg: exactly one response, then the status. */
  async recvUnary(): Promise<Res> {
    const [s, raw] = await this.#recvRaw();
    if (raw === null) {
      const err = new StatusError(
        Code.Internal,
        "cardinality violation: received no response message from non-streaming RPC",
      );
      this.#finish(err);
      throw err;
    }
    this.#buf = null;
    const compressed = s.recvCompressed;
    const [, end] = await this.#recvRaw();
    if (end !== null) {
      const err = new StatusError(
        Code.Internal,
        "cardinality violation: expected <EOF> for non-streaming RPCs, but received another message",
      );
      this.#abort(err);
      throw err;
    }
    s.recvCompressed = compressed;
    const res = this.#decode(s, raw);
    this.#finish(null);
    return res;
  }

  #decode(s: TransportStream, raw: Uint8Array): Res {
    let bytes = raw;
    try {
      if (s.recvCompressed) {
        let d = this.#decompressor;
        if (d === undefined) {
          const enc = headerValue(s.responseHeaders, "grpc-encoding");
          if (enc === undefined || enc === "identity") {
            throw new StatusError(
              Code.Internal,
              "grpc: compressed flag set with identity or empty encoding",
            );
          }
          d = getCompressor(enc) ?? null;
          if (d === null) {
            throw new StatusError(
              Code.Internal,
              `grpc: Decompressor is not installed for grpc-encoding "${enc}"`,
            );
          }
          this.#decompressor = d;
        }
        if (d === null) throw new StatusError(Code.Internal, "grpc: no decompressor");
        try {
          bytes = d.decompress(raw, this.#maxRecv);
        } catch (err) {
          if (err instanceof StatusError) throw err;
          throw new StatusError(
            Code.Internal,
            `grpc: failed to decompress the received message: ${errorText(err)}`,
            { cause: err },
          );
        }
      }
      try {
        return this.method.responseCodec.decode(bytes);
      } catch (err) {
        throw new StatusError(
          Code.Internal,
          `grpc: failed to unmarshal the received message: ${errorText(err)}`,
          { cause: err },
        );
      }
    } catch (err) {
      const e = err as StatusError;
      this.#abort(e);
      throw this.#error ?? e;
    }
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Res, void, undefined> {
    try {
      for (;;) {
        const m = await this.recvMsg();
        if (m === null) return;
        yield m;
      }
    } finally {
      // Leaving the loop early (break, throw) cancels the call, as connect-es does.
      if (!this.#done) this.cancel();
    }
  }

  // ---- headers and trailers ----------------------------------------------------------------

  get headers(): Promise<Metadata> {
    if (this.#headers === null) {
      const d = this.#headers = deferred();
      const s = this.#ts;
      if (s !== null) this.#watchHeaders(s);
      else if (this.#done) this.#settleHeadersAtEnd();
      return d.promise;
    }
    return this.#headers.promise;
  }

  #watchHeaders(s: TransportStream): void {
    s.headers().then((h) => {
      if (s === this.#ts) this.#gotHeaders(Metadata.fromHeaders(h));
    }, (err) => {
      if (s !== this.#ts || this.#headers?.settled !== false) return;
      if (s.trailers !== null) this.#gotHeaders(new Metadata()); // Trailers-Only
      else if (!(s.refused && this.#buf !== null)) this.#headers.reject(this.#error ?? err);
      // else: a transparent retry may follow; #finish settles it otherwise.
    });
  }

  #gotHeaders(md: Metadata): void {
    const d = this.#headers;
    if (d === null || d.settled) return;
    d.resolve(md);
    const cb = this.#onHeader;
    if (cb !== undefined) {
      try {
        cb(md);
      } catch {
        // A throwing callback must not break the call.
      }
    }
  }

  #settleHeadersAtEnd(): void {
    const d = this.#headers;
    if (d === null || d.settled) return;
    const s = this.#ts;
    if (s !== null && s.responseHeaders !== null) {
      this.#gotHeaders(Metadata.fromHeaders(s.responseHeaders));
    } else if (s !== null && s.trailers !== null) this.#gotHeaders(new Metadata());
    else if (this.#error !== null) d.reject(this.#error);
    else this.#gotHeaders(new Metadata());
  }

  get trailers(): Promise<Metadata> {
    if (this.#trailers === null) {
      const d = this.#trailers = deferred();
      if (this.#done) this.#settleTrailers();
      return d.promise;
    }
    return this.#trailers.promise;
  }

  #settleTrailers(): void {
    const d = this.#trailers;
    if (d === null || d.settled) return;
    const t = this.#ts?.trailers ?? null;
    if (t !== null) d.resolve(Metadata.fromHeaders(t));
    else if (this.#error !== null) d.reject(this.#error);
    else d.resolve(new Metadata());
  }

  // ---- ending --------------------------------------------------------------------------------

  cancel(reason?: unknown): void {
    if (this.#done) return;
    this.#abort(
      reason === undefined
        ? new StatusError(Code.Canceled, "Call cancelled")
        : new StatusError(Code.Canceled, `Call cancelled: ${errorText(reason)}`, { cause: reason }),
    );
  }

  #deadlineExceeded(): void {
    this.#deadlineEntry = undefined;
    this.#abort(new StatusError(Code.DeadlineExceeded, "Deadline exceeded"));
  }

  /** Ends the call locally with `err`: RST_STREAM CANCEL if a stream is open. */
  #abort(err: StatusError): void {
    if (this.#done) return;
    const s = this.#ts;
    this.#finish(err);
    if (s !== null) s.cancel(err, ErrorCode.CANCEL);
    const h = this.#abortHook;
    if (h !== null) {
      this.#abortHook = null;
      h(err);
    }
  }

  /** Ends the call with `err` (if it has not ended yet) and returns the call's error. */
  #fail(err: unknown): StatusError {
    if (!this.#done) {
      let e = StatusError.from(err);
      if (this.#ch.closed && e.code === Code.Unavailable) {
        e = new StatusError(Code.Canceled, "grpc: the client connection is closing", { cause: e });
      }
      this.#finish(e);
    }
    return this.#error ?? StatusError.from(err);
  }

  #finish(err: StatusError | null): void {
    if (this.#done) return;
    this.#done = true;
    this.#error = err;
    this.#buf = null;
    this.#ch.callEnded();
    if (this.#deadlineEntry !== undefined) {
      this.#ch.deadlines.remove(this.#deadlineEntry);
      this.#deadlineEntry = undefined;
    }
    if (this.#onAbort !== undefined) {
      this.#signal!.removeEventListener("abort", this.#onAbort);
      this.#onAbort = undefined;
    }
    if (this.#onAbort2 !== undefined) {
      this.#signal2!.removeEventListener("abort", this.#onAbort2);
      this.#onAbort2 = undefined;
    }
    this.#settleHeadersAtEnd();
    const t = this.#ts?.trailers ?? null;
    if (t !== null && this.#onTrailer !== undefined) {
      try {
        this.#onTrailer(Metadata.fromHeaders(t));
      } catch {
        // A throwing callback must not break the call.
      }
    }
    this.#settleTrailers();
  }
}

// ---------------------------------------------------------------------------------------------
// ClientConn

// dial() reaches a ClientConn's channel through this (set by ClientConn's static block).
let channelOf: (conn: ClientConn) => Channel;

async function invokeCore<Req, Res>(
  ch: Channel,
  method: MethodDefinition<Req, Res>,
  request: Req,
  options: CallOptions | undefined,
): Promise<Res> {
  const call = new Call(ch, method, options);
  try {
    await call.sendLast(request);
  } catch {
    // The call's status comes from receiving (grpc-go invoke ignores SendMsg's io.EOF).
  }
  return await call.recvUnary();
}

/**
 * A virtual connection to one target (grpc-go: `ClientConn`): it connects lazily, reconnects
 * with backoff, and carries every call. Make one with {@linkcode newClient} or
 * {@linkcode dial}; close it with `close()` or `await using`.
 *
 * @example Unary call with the low-level API
 * ```ts
 * import { dial, loadProto, Server } from "@seed/grpc";
 * import { assertEquals } from "@std/assert";
 *
 * const services = await loadProto({
 *   source: `syntax = "proto3"; package demo;
 *     service Echo { rpc Say (Msg) returns (Msg); } message Msg { string text = 1; }`,
 * });
 * const echo = services["demo.Echo"];
 * const server = new Server();
 * server.addService(echo, { say: (req: { text: string }) => req });
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const serving = server.serve(listener);
 *
 * await using conn = await dial(`127.0.0.1:${listener.addr.port}`, { block: true });
 * assertEquals(await conn.invoke(echo.methods.say, { text: "hi" }), { text: "hi" });
 *
 * await conn.close();
 * await server.gracefulStop();
 * await serving;
 * ```
 */
export class ClientConn implements AsyncDisposable {
  readonly #target: string;
  readonly #ch: Channel;
  readonly #defaults: CallOptions | undefined;
  readonly #unary: UnaryInvoker | null;
  readonly #streamer: Streamer | null;

  /**
   * Creates a connection object without connecting; prefer {@linkcode newClient}.
   *
   * @param target `host:port`, `dns:///host:port`, `[::1]:port`, `unix:/path`, `unix:///path`.
   * @param options Dial options.
   * @throws {TypeError} The target can't be parsed, or an option has the wrong type.
   * @throws {RangeError} An option is out of range, or names an unknown compression.
   */
  constructor(target: string, options?: DialOptions) {
    const opts = resolveDialOptions(options);
    this.#target = target;
    this.#ch = new Channel(parseTarget(target), opts);
    this.#defaults = opts.defaultCallOptions;
    const ch = this.#ch;
    const ui = opts.unaryInterceptors;
    if (ui.length === 0) {
      this.#unary = null;
    } else {
      let next: UnaryInvoker = (c) => invokeCore(ch, c.method, c.request, c.options);
      for (let i = ui.length - 1; i >= 0; i--) {
        const int = ui[i], after = next;
        next = (c) => int(c, after);
      }
      this.#unary = next;
    }
    const si = opts.streamInterceptors;
    if (si.length === 0) {
      this.#streamer = null;
    } else {
      let next: Streamer = (c) => new Call(ch, c.method, c.options);
      for (let i = si.length - 1; i >= 0; i--) {
        const int = si[i], after = next;
        next = (c) => int(c, after);
      }
      this.#streamer = next;
    }
  }

  /**
   * The target this connection was made for, as given.
   *
   * @returns The target string.
   */
  get target(): string {
    return this.#target;
  }

  /**
   * The connection's state. grpc-go: `ClientConn.GetState`.
   *
   * @returns One of {@linkcode ConnectivityState}.
   *
   * @example A closed connection
   * ```ts
   * import { ConnectivityState, newClient } from "@seed/grpc";
   * import { assertEquals } from "@std/assert";
   *
   * const conn = newClient("localhost:50051");
   * await conn.close();
   * assertEquals(conn.getState(), ConnectivityState.Shutdown);
   * ```
   */
  getState(): ConnectivityState {
    return this.#ch.state;
  }

  /**
   * Starts connecting if IDLE (calls do this by themselves). grpc-go: `ClientConn.Connect`.
   *
   * @example Connect early
   * ```ts
   * import { newClient } from "@seed/grpc";
   *
   * const conn = newClient("127.0.0.1:1"); // nothing listens there: the attempt fails
   * conn.connect();
   * await conn.close();
   * ```
   */
  connect(): void {
    this.#ch.connect();
  }

  /**
   * Makes a unary call: newStream → sendMsg (with END_STREAM) → recvMsg. grpc-go:
   * `ClientConn.Invoke`.
   *
   * @typeParam Req The request type.
   * @typeParam Res The response type.
   * @param method The method (from {@linkcode loadProto}).
   * @param request The request message.
   * @param options Call options, merged over the default call options.
   * @returns The response.
   * @throws {StatusError} The call's status when not OK: UNAVAILABLE (no connection),
   *   DEADLINE_EXCEEDED, CANCELLED, RESOURCE_EXHAUSTED (size limits), INTERNAL (bad response)…
   *
   * @example See {@linkcode ClientConn}
   * ```ts ignore
   * const reply = await conn.invoke(service.methods.sayHello, { name: "world" });
   * ```
   */
  invoke<Req, Res>(
    method: MethodDefinition<Req, Res>,
    request: Req,
    options?: CallOptions,
  ): Promise<Res> {
    const d = this.#defaults;
    const o = d === undefined ? options : mergeCallOptions(d, options);
    const u = this.#unary;
    if (u === null) return invokeCore(this.#ch, method, request, o);
    return u({
      method: method as MethodDefinition,
      request,
      options: forInterceptors(o),
    }) as Promise<
      Res
    >;
  }

  /**
   * Opens a stream for any kind of method. grpc-go: `ClientConn.NewStream`. The stream opens in
   * the background; errors (UNAVAILABLE, DEADLINE_EXCEEDED…) come from `sendMsg` / `recvMsg`.
   *
   * @typeParam Req The request type.
   * @typeParam Res The response type.
   * @param method The method.
   * @param options Call options, merged over the default call options.
   * @returns The stream.
   * @throws {RangeError} An option is out of range.
   *
   * @example Client streaming by hand
   * ```ts ignore
   * const stream = conn.newStream(service.methods.recordRoute);
   * for (const point of points) await stream.sendMsg(point);
   * stream.closeSend();
   * const summary = await stream.recvMsg();
   * ```
   */
  newStream<Req, Res>(method: MethodDefinition<Req, Res>, options?: CallOptions): ClientStream<
    Req,
    Res
  > {
    const d = this.#defaults;
    const o = d === undefined ? options : mergeCallOptions(d, options);
    const s = this.#streamer;
    if (s === null) return new Call(this.#ch, method, o);
    return s({ method: method as MethodDefinition, options: forInterceptors(o) }) as ClientStream<
      Req,
      Res
    >;
  }

  /**
   * Closes the connection: calls in flight fail CANCELLED, later calls too. grpc-go:
   * `ClientConn.Close`.
   *
   * @returns A promise resolved once the socket is closed.
   *
   * @example Close twice
   * ```ts
   * import { newClient } from "@seed/grpc";
   *
   * const conn = newClient("127.0.0.1:50051");
   * await conn.close();
   * await conn.close(); // no-op
   * ```
   */
  close(): Promise<void> {
    return this.#ch.close();
  }

  /**
   * Closes the connection (`await using conn = …`).
   *
   * @returns A promise resolved once closed.
   */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  static {
    channelOf = (conn) => conn.#ch;
  }
}

/**
 * Creates a {@linkcode ClientConn} that connects on its first call. grpc-go: `grpc.NewClient`.
 *
 * @param target `host:port`, `dns:///host:port`, `[::1]:port`, `localhost:port`,
 *   `unix:/path` or `unix:///abs/path`.
 * @param options Dial options.
 * @returns The connection.
 * @throws {TypeError} The target can't be parsed, or an option has the wrong type.
 * @throws {RangeError} An option is out of range.
 *
 * @example Make a client without connecting
 * ```ts
 * import { ConnectivityState, newClient } from "@seed/grpc";
 * import { assertEquals } from "@std/assert";
 *
 * await using conn = newClient("dns:///localhost:50051");
 * assertEquals(conn.getState(), ConnectivityState.Idle);
 * ```
 */
export function newClient(target: string, options?: DialOptions): ClientConn {
  return new ClientConn(target, options);
}

/**
 * Creates a {@linkcode ClientConn}; with `block: true`, resolves once it is READY (grpc-go:
 * `grpc.DialContext` with `WithBlock`).
 *
 * @param target As for {@linkcode newClient}.
 * @param options Dial options; `block` and `signal` apply here.
 * @returns The connection.
 * @throws {StatusError} With `block`: UNAVAILABLE when the attempt fails (no `signal`), else
 *   DEADLINE_EXCEEDED or CANCELLED when `signal` aborts first.
 * @throws {TypeError} The target can't be parsed.
 *
 * @example Dial and wait for the connection
 * ```ts
 * import { Code, dial, StatusError } from "@seed/grpc";
 * import { assertEquals, assertRejects } from "@std/assert";
 *
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const port = listener.addr.port;
 * listener.close(); // nothing listens: the attempt fails
 * const err = await assertRejects(() => dial(`127.0.0.1:${port}`, { block: true }), StatusError);
 * assertEquals(err.code, Code.Unavailable);
 * ```
 */
export async function dial(target: string, options?: DialOptions): Promise<ClientConn> {
  const conn = new ClientConn(target, options);
  if (options?.block !== true) return conn;
  try {
    const signal = options.signal;
    await channelOf(conn).waitForReadyState(signal, signal === undefined);
  } catch (err) {
    await conn.close();
    throw err;
  }
  return conn;
}

// ---------------------------------------------------------------------------------------------
// Clients made from service definitions

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
 * @typeParam C The client's type (defaults to {@linkcode UntypedClient}).
 * @param service The service (from {@linkcode loadProto}).
 * @param conn The connection its calls use.
 * @returns The client.
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
export function createClient<C extends object = UntypedClient>(
  service: ServiceDefinition,
  conn: ClientConn,
): C {
  if (!(conn instanceof ClientConn)) {
    throw new TypeError("Cannot create client: conn is not a ClientConn");
  }
  const client: Record<string, unknown> = {};
  // Without stream interceptors, streams are our own Call: use its unary fast paths.
  const direct = channelOf(conn).opts.streamInterceptors.length === 0;
  for (const [name, m] of Object.entries(service.methods)) {
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
  return client as C;
}

// Sends every request, then half-closes. An error from the iterable cancels the call (the
// receiving side then fails CANCELLED, with the error as cause); an error from sending means the
// call failed, and the receiving side reports its status. Never rejects.
async function pump<Req>(
  stream: ClientStream<Req, unknown>,
  requests: AsyncIterable<Req> | Iterable<Req>,
): Promise<void> {
  try {
    for await (const r of requests) {
      try {
        await stream.sendMsg(r);
      } catch {
        return;
      }
    }
  } catch (err) {
    try {
      stream.cancel(err);
    } catch {
      // An intercepted stream's cancel() failed: nothing more to do.
    }
    return;
  }
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
  if (direct) return await (stream as Call<Req, Res>).recvUnary();
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
