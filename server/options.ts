// Server options: ServerOptions, their defaults and checks, and the transport's view of them
// (grpc-go server.go's serverOptions and defaultServerOptions).

import {
  checkCompression,
  checkInt,
  checkPositiveMs,
  checkWindows,
  MAX_INT32,
} from "../internal/option_checks.ts";
import type { ServerTransportOptions } from "../transport/http2_server.ts";
import { DEFAULT_TRANSPORT_OPTIONS } from "../transport/connection.ts";
import * as D from "../transport/defaults.ts";
import { SYSTEM_CLOCK } from "../transport/keepalive.ts";
import { defaultLogger, type Logger } from "../logger.ts";
import type { StreamServerInterceptor, UnaryServerInterceptor } from "./interceptors.ts";

/**
 * Options of {@linkcode Server}. Every field is optional; defaults are grpc-go's.
 *
 * @example Limits, keepalive enforcement, compression and an interceptor
 * ```ts
 * import { Server, type ServerOptions } from "@seed/grpc";
 *
 * const options: ServerOptions = {
 *   maxReceiveMessageSize: 16 * 1024 * 1024, // accept requests up to 16 MiB
 *   maxConcurrentStreams: 1000,
 *   keepaliveEnforcementPolicy: { minTimeMs: 60_000, permitWithoutStream: true },
 *   compression: "gzip", // when the client accepts it
 *   unaryInterceptors: [async (request, ctx, _info, handler) => {
 *     const started = performance.now();
 *     try {
 *       return await handler(request, ctx);
 *     } finally {
 *       console.log(ctx.method, performance.now() - started);
 *     }
 *   }],
 * };
 * await using _server = new Server(options);
 * ```
 */
export interface ServerOptions {
  /**
   * Largest request message in bytes (after decompression); larger fails RESOURCE_EXHAUSTED.
   * grpc-go: MaxRecvMsgSize.
   * @default {4194304}
   */
  maxReceiveMessageSize?: number;
  /**
   * Largest response message in bytes, as sent (after compression); larger fails
   * RESOURCE_EXHAUSTED. grpc-go: MaxSendMsgSize.
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
   * BDP estimator. Values below 65535 are ignored, as in grpc-go. grpc-go: InitialWindowSize.
   * @default {65535}, grown by BDP estimation up to 16 MiB
   */
  initialWindowSize?: number;
  /**
   * Connection flow-control window in bytes; see `initialWindowSize`. grpc-go:
   * InitialConnWindowSize.
   * @default {65535}, grown by BDP estimation up to 16 MiB
   */
  initialConnWindowSize?: number;
  /**
   * Largest request header list accepted (SETTINGS_MAX_HEADER_LIST_SIZE). grpc-go:
   * MaxHeaderListSize.
   * @default {16777216}
   */
  maxHeaderListSize?: number;
  /**
   * Keepalive enforcement against PING floods. grpc-go: KeepaliveEnforcementPolicy.
   * @default {minTimeMs: 300000, permitWithoutStream: false}
   */
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
  /**
   * Unary interceptors; the first is the outermost. grpc-go: ChainUnaryInterceptor.
   * @default {[]}
   */
  unaryInterceptors?: UnaryServerInterceptor[];
  /**
   * Stream interceptors (client, server and bidi streaming); the first is the outermost.
   * grpc-go: ChainStreamInterceptor.
   * @default {[]}
   */
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
  /**
   * Where the server reports what it cannot tell a caller. Warnings: failed TLS handshakes,
   * clients that did not negotiate `h2`, temporary accept errors (with the retry delay),
   * connections that fail to set up (bad preface, handshake deadline) or break the protocol
   * (GOAWAY with an error), a handler's error after its call ended (with its stack), a failing
   * `onGracefulStop` hook. Info: connections lost or closed by the client, a status a handler
   * threw after its call ended. grpc-go: grpclog.
   * @default {defaultLogger} (warnings and errors to stderr)
   */
  logger?: Logger;
}

/** Server options after defaults and checks, as resolveServerOptions returns them. */
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
  /** See {@linkcode ServerOptions.logger}. */
  readonly logger: Logger;
}

/** The context of option errors. */
const SERVER = "Cannot create server";

/**
 * Resolves and checks server options once, filling in grpc-go's defaults (the Server
 * constructor's first step; not exported from mod.ts).
 * @param o The options as given.
 * @returns A frozen object with every option set.
 * @throws {RangeError} When a value is out of range.
 */
export function resolveServerOptions(o: ServerOptions = {}): ResolvedServerOptions {
  const size = (name: string, v: number | undefined, def: number, min = 0, max = MAX_INT32) =>
    checkInt(SERVER, name, v, def, min, max);
  checkCompression(SERVER, o.compression);
  const kp = o.keepaliveEnforcementPolicy ?? {};
  const windows = checkWindows(SERVER, o.initialWindowSize, o.initialConnWindowSize);
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
    ...windows,
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
    logger: o.logger ?? defaultLogger,
  });
}

// grpc-go keepalive.ServerParameters: unset limits are infinity, Time below 1 s becomes 1 s.
function resolveKeepaliveParams(
  k: NonNullable<ServerOptions["keepaliveParams"]>,
): ResolvedServerOptions["keepaliveParams"] {
  const ms = (name: string, v: number | undefined, def: number) =>
    checkPositiveMs(SERVER, `keepaliveParams.${name}`, v, def);
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

/** The transport's view of the options. */
export function transportOptions(o: ResolvedServerOptions): ServerTransportOptions {
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
