// Client options: DialOptions and CallOptions, their defaults, checks and resolving, and the
// merging of default and per-call options (grpc-go dialoptions.go, rpc_util.go's CallOptions).

import type { ClientKeepalive } from "../transport/keepalive.ts";
import { Metadata, type MetadataInit } from "../metadata.ts";
import type { Compressor } from "../compression.ts";
import { ChannelCredentials, insecure } from "../credentials.ts";
import { CallCredentials } from "../credentials/call.ts";
import { defaultLogger, type Logger } from "../logger.ts";
import {
  type BackoffConfig,
  DEFAULT_BACKOFF,
  MIN_CONNECT_TIMEOUT_MS,
} from "../internal/backoff.ts";
import { DEFAULT_TRANSPORT_OPTIONS, type TransportOptions } from "../transport/options.ts";
import * as D from "../transport/defaults.ts";
import {
  checkCompression,
  checkInt,
  checkNonNegative,
  checkPositiveMs,
  checkWindows,
} from "../internal/option_checks.ts";
import type { StreamClientInterceptor, UnaryClientInterceptor } from "./interceptors.ts";
import { DEFAULT_PER_RPC_RETRY_BUFFER_SIZE, DEFAULT_RETRY_BUFFER_SIZE } from "./retry.ts";
import { type Clock, REAL_CLOCK } from "../internal/clock.ts";
import type { ResolverFactory } from "../resolver/resolver.ts";
import { parseProxyUrl } from "./proxy.ts";
import {
  MAX_CALL_ATTEMPTS,
  parseServiceConfig,
  type ServiceConfig,
  type ServiceConfigJson,
} from "./service_config.ts";

/** This library's version, as sent in `user-agent`. */
const VERSION = "0.1.0";
/** The `user-agent` product token of this library (grpc-go: "grpc-go/" + Version). */
const USER_AGENT = `grpc-deno-seed/${VERSION}`;

/** grpc-go defaultClientMaxReceiveMessageSize: 4 MiB. */
const DEFAULT_MAX_RECEIVE_MESSAGE_SIZE = D.DEFAULT_MAX_RECEIVE_MESSAGE_SIZE;
/** grpc-go defaultClientMaxSendMessageSize: math.MaxInt32. */
const DEFAULT_MAX_SEND_MESSAGE_SIZE = D.DEFAULT_MAX_SEND_MESSAGE_SIZE;

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
   * Time allowed for the call, in ms from its start: sent as `grpc-timeout` (what is left of it
   * when the request headers are written, also after waiting for a stream slot), and the call
   * fails locally with DEADLINE_EXCEEDED (RST_STREAM CANCEL) when it runs out. With `deadline` too,
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
   * When the channel is in TRANSIENT_FAILURE, wait for a READY backend (until the deadline)
   * instead of failing at once with UNAVAILABLE. Overrides the service config's
   * `waitForReady`. grpc-go: `WaitForReady`.
   * @default {false} (or the service config's `waitForReady` for the method)
   */
  waitForReady?: boolean;
  /**
   * Per-call credentials for this call, applied after the channel's
   * ({@linkcode DialOptions.callCredentials}). grpc-go: `grpc.PerRPCCredentials`.
   * @default {undefined}
   */
  callCredentials?: CallCredentials;
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
   * Per-call credentials for every call on the channel (made with {@linkcode callCredentials}):
   * metadata computed for each attempt of a call (retries and hedges get fresh metadata), once
   * it has a connection. Refused on insecure channels unless they allow it. grpc-go:
   * `WithPerRPCCredentials`.
   * @default {undefined}
   */
  callCredentials?: CallCredentials;
  /**
   * Where the channel reports what it does not tell a call: failed connection attempts and
   * connections lost or closed by the server (info; the calls themselves fail UNAVAILABLE with
   * the cause), a server that breaks the protocol (warning). grpc-go: grpclog.
   * @default {defaultLogger} (warnings and errors to stderr)
   */
  logger?: Logger;
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
   * @default {baseDelayMs: 1000, multiplier: 1.6, jitter: 0.2, maxDelayMs: 120000}
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
  /**
   * The most attempts a call may make under a retry or hedging policy of the service config:
   * a policy's larger `maxAttempts` is lowered to this (gRFC A6 "Limits on Retries and
   * Hedges"). Values below 2 mean the default. grpc-go: `WithMaxCallAttempts`.
   * @default {5}
   */
  maxCallAttempts?: number;
  /**
   * Turns off retries and hedging from the service config (transparent retries of streams the
   * server never processed still happen). grpc-go: `WithDisableRetry`.
   * @default {false}
   */
  disableRetry?: boolean;
  /**
   * Request bytes one call keeps for replay on a retry or hedge; a call sending more commits
   * to its current attempt (no more retries). grpc-go: `MaxRetryRPCBufferSize`.
   * @default {262144}
   */
  maxRetryRPCBufferSize?: number;
  /**
   * Request bytes all calls of this client together keep for replay; a call whose next
   * message does not fit commits. grpc-js: `grpc.retry_buffer_size` (grpc-go has no such
   * limit).
   * @default {16777216}
   */
  retryBufferSize?: number;
  /**
   * Keepalive pings (gRFC A8); off unless set. Same field names as the server's
   * `keepaliveParams`. grpc-go: `WithKeepaliveParams` (keepalive.ClientParameters).
   */
  keepalive?: {
    /**
     * After this long without reading anything, the client PINGs the server; values below
     * 10000 become 10000. Servers allow one PING per 5 min by default (grpc-go's and ours:
     * `keepaliveEnforcementPolicy.minTimeMs`); the time is doubled for new connections each
     * time the server answers GOAWAY ENHANCE_YOUR_CALM "too_many_pings". grpc-go: Time.
     * @default {Infinity} (grpc-go: infinity, keepalive off)
     */
    timeMs?: number;
    /**
     * When nothing is read within this long after that PING, the connection is closed: its
     * calls fail UNAVAILABLE and the channel reconnects. grpc-go: Timeout.
     * @default {20000} (grpc-go: 20 s)
     */
    timeoutMs?: number;
    /**
     * Ping even while no call is open. grpc-go: PermitWithoutStream.
     * @default {false} (grpc-go: false)
     */
    permitWithoutStream?: boolean;
  };
  /**
   * The service config used until (and unless) the resolver supplies one: JSON text or the
   * object it encodes (gRFC A2: `loadBalancingConfig`, `methodConfig` with its `retryPolicy` or
   * `hedgingPolicy`, `retryThrottling` (gRFC A6), `healthCheckConfig`…). Checked at once.
   * grpc-go: `WithDefaultServiceConfig`.
   * @default {undefined} (pick_first, no per-method settings)
   */
  defaultServiceConfig?: string | ServiceConfigJson;
  /**
   * Ignore service configs from the resolver; use `defaultServiceConfig` only. grpc-go:
   * `WithDisableServiceConfig`.
   * @default {false}
   */
  disableServiceConfig?: boolean;
  /**
   * Let the `dns` resolver look up a service config in the TXT record
   * `_grpc_config.<host>` (gRFC A2). grpc-go does this by default; we do not, since it costs
   * a lookup per resolution and hands the DNS operator control of the client.
   * @default {false}
   */
  serviceConfigLookup?: boolean;
  /**
   * Resolvers for this channel only, by scheme (checked before the global registry of
   * {@linkcode registerResolver}). grpc-go: `WithResolvers`.
   * @default {undefined}
   */
  resolvers?: Readonly<Record<string, ResolverFactory>>;
  /**
   * After this many ms without calls the channel goes IDLE: its connections close, its
   * resolver stops, and the next call (or `connect()`) wakes it up. 0 never goes idle.
   * grpc-go: `WithIdleTimeout`.
   * @default {1800000} (30 minutes)
   */
  idleTimeoutMs?: number;
  /**
   * An HTTP CONNECT proxy for TCP targets (`"http://[user:pass@]host:port"`), or `false` for
   * none. When unset, `grpc_proxy`, `https_proxy`, `http_proxy` (then `no_grpc_proxy`,
   * `no_proxy`) from the environment apply (needs `--allow-env`; without it, no proxy). With
   * a proxy, the target name is not resolved here; the proxy resolves it (gRFC A1). grpc-go:
   * `WithNoProxy` / `HTTPS_PROXY`.
   * @default {undefined} (from the environment)
   */
  proxy?: string | false;
}

/** Dial options after defaults and checks. */
export interface ResolvedDialOptions {
  readonly credentials: ChannelCredentials;
  readonly callCredentials: CallCredentials | undefined;
  readonly logger: Logger;
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
  readonly maxCallAttempts: number;
  readonly disableRetry: boolean;
  readonly maxRetryRPCBufferSize: number;
  readonly retryBufferSize: number;
  /** Keepalive; `timeMs` is `Infinity` when off. */
  readonly keepalive: Readonly<ClientKeepalive>;
  readonly defaultServiceConfig: ServiceConfig | undefined;
  readonly disableServiceConfig: boolean;
  readonly serviceConfigLookup: boolean;
  readonly resolvers: Readonly<Record<string, ResolverFactory>> | undefined;
  readonly idleTimeoutMs: number;
  readonly proxy: string | false | undefined;
  /** Time for idleness (tests inject a fake one through `InternalDialOptions`). */
  readonly clock: Clock;
}

/** DialOptions plus what only tests set. */
export interface InternalDialOptions extends DialOptions {
  clock?: Clock;
}

/** grpc-go defaultIdleTimeout: 30 minutes. */
export const DEFAULT_IDLE_TIMEOUT_MS = 30 * 60 * 1000;

/** The context of option errors thrown by newClient / dial. */
const DIAL = "Cannot create client";
/** The context of per-call option errors. */
export const CALL = "Cannot start call";

export function resolveDialOptions(o: InternalDialOptions = {}): ResolvedDialOptions {
  if (o.credentials !== undefined && !(o.credentials instanceof ChannelCredentials)) {
    throw new TypeError(`${DIAL}: credentials must be insecure() or tls()`);
  }
  const maxAttempts = maxCallAttempts(o.maxCallAttempts);
  if (o.callCredentials !== undefined && !(o.callCredentials instanceof CallCredentials)) {
    throw new TypeError(`${DIAL}: callCredentials must be callCredentials()`);
  }
  const b = o.backoff ?? {};
  const backoff: BackoffConfig = Object.freeze({
    baseDelayMs: checkNonNegative(
      DIAL,
      "backoff.baseDelayMs",
      b.baseDelayMs,
      DEFAULT_BACKOFF.baseDelayMs,
    ),
    multiplier: checkNonNegative(
      DIAL,
      "backoff.multiplier",
      b.multiplier,
      DEFAULT_BACKOFF.multiplier,
    ),
    jitter: checkNonNegative(DIAL, "backoff.jitter", b.jitter, DEFAULT_BACKOFF.jitter),
    maxDelayMs: checkNonNegative(
      DIAL,
      "backoff.maxDelayMs",
      b.maxDelayMs,
      DEFAULT_BACKOFF.maxDelayMs,
    ),
  });
  if (backoff.jitter > 1) {
    throw new RangeError(`${DIAL}: backoff.jitter must be <= 1, got ${backoff.jitter}`);
  }
  const maxRecv = checkInt(
    DIAL,
    "maxReceiveMessageSize",
    o.maxReceiveMessageSize,
    DEFAULT_MAX_RECEIVE_MESSAGE_SIZE,
  );
  const transport: TransportOptions = Object.freeze({
    ...DEFAULT_TRANSPORT_OPTIONS,
    ...checkWindows(DIAL, o.initialWindowSize, o.initialConnWindowSize),
    maxHeaderListSize: checkInt(
      DIAL,
      "maxHeaderListSize",
      o.maxHeaderListSize,
      D.DEFAULT_MAX_HEADER_LIST_SIZE,
      1,
    ),
    maxReceiveMessageSize: maxRecv,
  });
  const ua = o.userAgent;
  if (ua !== undefined && (typeof ua !== "string" || !/^[\x20-\x7e]*$/.test(ua))) {
    throw new TypeError(`${DIAL}: userAgent ${JSON.stringify(ua)} is not printable ASCII`);
  }
  return Object.freeze({
    credentials: o.credentials ?? insecure(),
    callCredentials: o.callCredentials,
    logger: o.logger ?? defaultLogger,
    unaryInterceptors: Object.freeze([...(o.unaryInterceptors ?? [])]),
    streamInterceptors: Object.freeze([...(o.streamInterceptors ?? [])]),
    defaultCallOptions: o.defaultCallOptions,
    maxReceiveMessageSize: maxRecv,
    maxSendMessageSize: checkInt(
      DIAL,
      "maxSendMessageSize",
      o.maxSendMessageSize,
      DEFAULT_MAX_SEND_MESSAGE_SIZE,
    ),
    userAgent: ua ? `${ua} ${USER_AGENT}` : USER_AGENT,
    backoff,
    minConnectTimeoutMs: checkNonNegative(
      DIAL,
      "minConnectTimeoutMs",
      o.minConnectTimeoutMs,
      MIN_CONNECT_TIMEOUT_MS,
    ),
    transport,
    compressor: checkCompression(DIAL, o.compression),
    maxCallAttempts: maxAttempts,
    disableRetry: o.disableRetry === true,
    maxRetryRPCBufferSize: checkInt(
      DIAL,
      "maxRetryRPCBufferSize",
      o.maxRetryRPCBufferSize,
      DEFAULT_PER_RPC_RETRY_BUFFER_SIZE,
    ),
    retryBufferSize: checkInt(
      DIAL,
      "retryBufferSize",
      o.retryBufferSize,
      DEFAULT_RETRY_BUFFER_SIZE,
    ),
    defaultServiceConfig: o.defaultServiceConfig === undefined
      ? undefined
      : parseServiceConfig(o.defaultServiceConfig, maxAttempts),
    disableServiceConfig: o.disableServiceConfig === true,
    serviceConfigLookup: o.serviceConfigLookup === true,
    resolvers: o.resolvers === undefined ? undefined : Object.freeze({ ...o.resolvers }),
    idleTimeoutMs: checkNonNegative(
      DIAL,
      "idleTimeoutMs",
      o.idleTimeoutMs,
      DEFAULT_IDLE_TIMEOUT_MS,
    ),
    proxy: checkProxy(o.proxy),
    clock: o.clock ?? REAL_CLOCK,
    keepalive: resolveKeepalive(o.keepalive ?? {}),
  });
}

// grpc-go dialoptions/http2_client: Time below 10 s becomes 10 s (gRFC A8), Timeout defaults to
// 20 s; keepalive is off while Time is infinity.
function resolveKeepalive(k: NonNullable<DialOptions["keepalive"]>): ClientKeepalive {
  return Object.freeze({
    timeMs: Math.max(
      D.CLIENT_KEEPALIVE_MIN_TIME_MS,
      checkPositiveMs(DIAL, "keepalive.timeMs", k.timeMs, Infinity),
    ),
    timeoutMs: checkPositiveMs(DIAL, "keepalive.timeoutMs", k.timeoutMs, D.KEEPALIVE_TIMEOUT_MS),
    permitWithoutStream: k.permitWithoutStream === true,
  });
}

// grpc-go WithMaxCallAttempts: values below 2 mean the default.
function maxCallAttempts(n: number | undefined): number {
  if (n === undefined) return MAX_CALL_ATTEMPTS;
  const v = checkInt(DIAL, "maxCallAttempts", n, MAX_CALL_ATTEMPTS, -(2 ** 31));
  return v < 2 ? MAX_CALL_ATTEMPTS : v;
}

function checkProxy(p: string | false | undefined): string | false | undefined {
  if (p === undefined || p === false) return p;
  if (typeof p !== "string") throw new TypeError(`${DIAL}: proxy ${String(p)} is not a URL`);
  parseProxyUrl(p); // throws TypeError naming the problem
  return p;
}

export function toMetadata(md: Metadata | MetadataInit | undefined): Metadata | undefined {
  if (md === undefined || md === null) return undefined;
  return md instanceof Metadata ? md : new Metadata(md);
}

// grpc-go combine(cc.dopts.callOptions, opts): per-call values win; metadata, callbacks and
// signals of both apply.
export function mergeCallOptions(d: CallOptions, o: CallOptions | undefined): CallOptions {
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
  if (
    d.callCredentials !== undefined && o.callCredentials !== undefined &&
    d.callCredentials !== o.callCredentials
  ) {
    out.callCredentials = d.callCredentials.compose(o.callCredentials);
  }
  if (d.signal !== undefined && o.signal !== undefined && d.signal !== o.signal) {
    (out as InternalCallOptions).defaultSignal = d.signal;
  }
  if (d.timeoutMs !== undefined && o.deadline !== undefined && o.timeoutMs === undefined) {
    // Both bound the call; the per-call deadline does not lift the default timeout.
    out.timeoutMs = d.timeoutMs;
  }
  return out;
}

export interface InternalCallOptions extends CallOptions {
  /** The default call options' signal, when the call has its own too: both cancel the call. */
  defaultSignal?: AbortSignal;
}

// Interceptors get options whose metadata is a Metadata they may change.
export function forInterceptors(o: CallOptions | undefined): CallOptions & { metadata: Metadata } {
  const md = o?.metadata;
  return { ...o, metadata: md instanceof Metadata ? md.clone() : new Metadata(md ?? undefined) };
}
