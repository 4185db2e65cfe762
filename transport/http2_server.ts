// The server role of the shared transport, after grpc-go's internal/transport/http2_server.go:
// validates each request's header block (RFC 9113 §8.2–8.3), admits or refuses streams
// (MAX_CONCURRENT_STREAMS, running handlers, GOAWAY), enforces the keepalive policy against PING
// floods, writes responses (headers, messages, trailers or trailers-only), and drains gracefully:
// on gracefulStop and, with keepalive.ts's timers, at the idle and age limits; it also pings a
// silent client and closes the connection when nothing answers (grpc-go keepalive.ServerParameters).

import { Http2Connection, type RawConn } from "./connection.ts";
import { hasInvalidFieldValue } from "../internal/headers.ts";
import type { TransportOptions } from "./options.ts";
import { Http2Stream, StreamState } from "./stream.ts";
import { ErrorCode, SettingId } from "./frame.ts";
import { ConnectionError, StreamError, unavailable } from "./errors.ts";
import * as D from "./defaults.ts";
import {
  ageWithJitter,
  type Clock,
  ConnectionLifetime,
  KeepalivePinger,
  type ServerKeepalive,
} from "./keepalive.ts";
import { Code, encodeGrpcMessage, StatusError } from "../status.ts";
import { hasPseudo, type ParsedRequest, RequestError, validateRequest } from "./request.ts";

/** Server transport settings, resolved. */
export interface ServerTransportOptions extends TransportOptions {
  /** grpc-go keepalive.EnforcementPolicy.MinTime. */
  keepaliveMinTimeMs: number;
  /** grpc-go keepalive.EnforcementPolicy.PermitWithoutStream. */
  permitKeepaliveWithoutStream: boolean;
  /** grpc-go keepalive.ServerParameters (idle and age limits, server pings), resolved. */
  keepalive: ServerKeepalive;
  /** Timers for keepalive, the age and idle limits and the drain PING (injectable for tests). */
  clock: Clock;
}

/** Why a server stream's handler should stop. */
export type CancelReason = "rst" | "closed";

/**
 * Told once when the peer resets a server stream or the connection dies. The server layer's call
 * object implements it: a closure per call capturing the call made V8's scavenger keep every
 * call's objects alive until the next full GC (bench/RESULTS.md, "GC").
 */
export interface CancelListener {
  onStreamCancel(reason: CancelReason): void;
}

const MAX_GOAWAY_ID = 2 ** 31 - 1;
// grpc-go defaultPingTimeout: with no active stream, pings closer than this are strikes.
const IDLE_PING_MIN_MS = 2 * 60 * 60 * 1000;

/** One incoming call. */
export class ServerStream extends Http2Stream {
  readonly transport: ServerTransport;
  /** `:path`, e.g. "/helloworld.Hello/SayHello". */
  readonly method: string;
  /** The request header block, flat [name, value, …]. */
  readonly headers: string[];
  /** `content-type`, or "" when absent. */
  readonly contentType: string;
  /** `grpc-timeout`, decoded; `undefined` when absent. */
  readonly timeoutMs: number | undefined;
  /** `grpc-encoding`, or "". */
  readonly encoding: string;
  /** `grpc-accept-encoding`, or "". */
  readonly acceptEncoding: string;
  /** `:authority`, or "". */
  readonly authority: string;
  /** Whether the response HEADERS went out. */
  headersSent = false;
  /** Whether trailers went out (the call is over from our side). */
  finished = false;
  /** Set by the server layer: told once when the peer resets the stream or the conn dies. */
  cancelListener: CancelListener | undefined = undefined;
  #cancelled = false;
  #handlerDone = false;

  override get side(): "server" {
    return "server";
  }

  constructor(t: ServerTransport, id: number, req: ParsedRequest) {
    super(t, id, t.peerInitialWindowSize, t.streamRecvWindow, t.opts.maxReceiveMessageSize);
    this.transport = t;
    this.method = req.path;
    this.headers = req.headers;
    this.contentType = req.contentType;
    this.timeoutMs = req.timeoutMs;
    this.encoding = req.encoding;
    this.acceptEncoding = req.acceptEncoding;
    this.authority = req.authority;
  }

  /** Whether the peer reset the stream or the connection died. */
  get cancelled(): boolean {
    return this.#cancelled;
  }

  /** Sends response headers: `:status: 200`, `content-type`, then `extra` (flat pairs). */
  sendHeaders(extra: readonly string[] = NO_HEADERS, contentType = "application/grpc"): void {
    if (this.headersSent || this.finished || this.#cancelled) return;
    this.headersSent = true;
    const h = [":status", "200", "content-type", contentType];
    for (let i = 0; i < extra.length; i++) h.push(extra[i]);
    this.transport.writeHeaderBlock(this.id, h, false);
  }

  /** Sends one message; resolves at once unless back-pressure applies. */
  sendMsg(data: Uint8Array, compressed: boolean): Promise<void> {
    if (this.#cancelled || this.finished) return Promise.resolve();
    if (!this.headersSent) this.sendHeaders();
    return this.transport.sendMessage(this, data, compressed, false);
  }

  /**
   * Ends the call: trailers with `grpc-status`, `grpc-message` (already percent-encoded) and
   * `extra`; trailers-only when nothing was sent yet. If the client is still sending, RST_STREAM
   * NO_ERROR follows (grpc-go finishStream), so it stops.
   */
  sendTrailers(code: number, message: string, extra: readonly string[] = NO_HEADERS): void {
    if (this.finished || this.#cancelled) return;
    this.finished = true;
    let h: string[];
    if (!this.headersSent) {
      h = [":status", "200", "content-type", "application/grpc", "grpc-status", statusText(code)];
    } else {
      h = ["grpc-status", statusText(code)];
    }
    if (message !== "") h.push("grpc-message", message);
    for (let i = 0; i < extra.length; i++) h.push(extra[i]);
    this.headersSent = true;
    const t = this.transport;
    t.sendTrailers(this, h);
    if (this.state !== StreamState.CLOSED && !this.remoteEnded) {
      if (this.pendingBytes === 0) t.resetStream(this, ErrorCode.NO_ERROR);
    }
  }

  /** The server layer calls this once the handler has returned (for the handler limit). */
  handlerDone(): void {
    if (this.#handlerDone) return;
    this.#handlerDone = true;
    this.transport.handlerFinished();
  }

  /** @internal */
  cancel(reason: CancelReason, err: StatusError): void {
    if (this.#cancelled) return;
    this.#cancelled = true;
    this.fail(err);
    const l = this.cancelListener;
    if (l !== undefined) l.onStreamCancel(reason);
  }
}

const NO_HEADERS: readonly string[] = [];
const STATUS_TEXT = Array.from({ length: 17 }, (_, i) => String(i));
function statusText(code: number): string {
  return code >= 0 && code < 17 ? STATUS_TEXT[code] : String(code);
}

/** The server side of one HTTP/2 connection. */
export class ServerTransport extends Http2Connection<ServerStream> {
  readonly onStream: (s: ServerStream) => void;
  #lastStreamId = 0;
  #goawayLastId = MAX_GOAWAY_ID;
  #draining = false;
  readonly #clock: Clock;
  #drainTimer = -1;
  /** GOAWAY debug data of the drain ("max_idle", "max_age", or none for gracefulStop). */
  #drainDebug = "";
  readonly #pinger: KeepalivePinger | null = null;
  readonly #lifetime: ConnectionLifetime | null = null;
  #handlers = 0;
  #lastPingAt = 0;
  #pingStrikes = 0;
  #resetPingStrikes = false;
  // The keepalive enforcement policy (grpc-go keepalive.EnforcementPolicy).
  readonly #keepaliveMinTimeMs: number;
  readonly #permitKeepaliveWithoutStream: boolean;

  constructor(conn: RawConn, opts: ServerTransportOptions, onStream: (s: ServerStream) => void) {
    super(conn, opts, true);
    this.#clock = opts.clock;
    this.#keepaliveMinTimeMs = opts.keepaliveMinTimeMs;
    this.#permitKeepaliveWithoutStream = opts.permitKeepaliveWithoutStream;
    this.onStream = onStream;
    const k = opts.keepalive;
    if (k.timeMs !== Infinity) {
      const p = new KeepalivePinger(opts.clock, k.timeMs, k.timeoutMs, {
        ping: () => this.sendKeepalivePing(),
        dead: () => this.close(unavailable("keepalive ping not acked within timeout")),
        mayPing: () => true,
      });
      this.#pinger = p;
      this.onRead = p.read;
    }
    if (k.maxConnectionIdleMs !== Infinity || k.maxConnectionAgeMs !== Infinity) {
      const limits = { ...k, maxConnectionAgeMs: ageWithJitter(k.maxConnectionAgeMs) };
      this.#lifetime = new ConnectionLifetime(opts.clock, limits, {
        drain: (debug) => this.drain(debug),
        close: () => this.close(unavailable("Connection reached its maximum age")),
      });
    }
  }

  /** Sends our SETTINGS and starts reading (the peer's preface comes first). */
  begin(): void {
    const s = this.baseSettings();
    if (this.opts.maxConcurrentStreams !== D.UNLIMITED_STREAMS) {
      s.push(SettingId.MAX_CONCURRENT_STREAMS, this.opts.maxConcurrentStreams);
    }
    this.start(s);
    this.#pinger?.start();
    this.#lifetime?.start();
  }

  /** Handlers running now (reset streams whose handler has not returned count too). */
  get runningHandlers(): number {
    return this.#handlers;
  }

  /** @internal */
  handlerFinished(): void {
    this.#handlers--;
    this.#maybeFinishDrain();
  }

  /** Whether drain() has begun (gracefulStop, or the idle or age limit). */
  get draining(): boolean {
    return this.#draining;
  }

  /**
   * Graceful stop, as grpc-go's drain: GOAWAY(2^31-1) and a PING; on the ACK (or after 5 s)
   * GOAWAY(last stream id). Streams above it are refused; the connection closes once the rest
   * are done. `debug` goes in both GOAWAYs' debug data ("max_idle", "max_age").
   */
  drain(debug = ""): void {
    if (this.#draining || this.isClosed) return;
    this.#draining = true;
    this.#drainDebug = debug;
    this.sendGoaway(MAX_GOAWAY_ID, ErrorCode.NO_ERROR, debug);
    this.sendDrainPing();
    this.#drainTimer = this.#clock.setTimeout(
      () => this.onDrainPingAck(),
      D.DRAIN_PING_TIMEOUT_MS,
    );
  }

  protected override onDrainPingAck(): void {
    if (this.#drainTimer === -1) return;
    this.#clock.clearTimeout(this.#drainTimer);
    this.#drainTimer = -1;
    this.#goawayLastId = this.#lastStreamId;
    this.sendGoaway(this.#lastStreamId, ErrorCode.NO_ERROR, this.#drainDebug);
    this.#maybeFinishDrain();
  }

  #maybeFinishDrain(): void {
    if (
      this.#draining && this.#drainTimer === -1 && this.streams.size === 0 &&
      this.#handlers === 0
    ) {
      this.closeAfterFlush(unavailable("Server stopped"));
    }
  }

  override close(reason?: StatusError): void {
    if (this.#drainTimer !== -1) {
      this.#clock.clearTimeout(this.#drainTimer);
      this.#drainTimer = -1;
    }
    this.#pinger?.stop();
    this.#lifetime?.stop();
    super.close(reason);
  }

  protected override onStreamClosed(_s: ServerStream): void {
    if (this.streams.size === 0) this.#lifetime?.idle();
    this.#maybeFinishDrain();
  }

  protected onHeaderBlock(id: number, list: string[], endStream: boolean, complete: boolean): void {
    const existing = this.streams.get(id);
    if (existing !== undefined) {
      // RFC 9113 §5.1: the client already ended its side; anything more is STREAM_CLOSED (the
      // state is checked before the trailers' shape).
      if (existing.state === StreamState.HALF_CLOSED_REMOTE) {
        this.streamError(new StreamError(id, ErrorCode.STREAM_CLOSED, "HEADERS after END_STREAM"));
        return;
      }
      // Request trailers: must end the stream and carry no pseudo-headers (RFC 9113 §8.1), no
      // NUL/CR/LF in values (§8.2.1), and the DATA must match any content-length (§8.1.1).
      if (
        !endStream || hasPseudo(list) || hasInvalidFieldValue(list) ||
        (existing.contentLength >= 0 && existing.dataLength !== existing.contentLength)
      ) {
        this.streamError(new StreamError(id, ErrorCode.PROTOCOL_ERROR, "Malformed trailers"));
        return;
      }
      this.#remoteEndFromHeaders(existing);
      return;
    }
    // Trailers still in flight after our RST_STREAM are ignored (§5.1; the block was decoded,
    // so HPACK stays in sync).
    if (id <= this.#lastStreamId && this.wasResetByUs(id)) return;
    if ((id & 1) === 0 || id <= this.#lastStreamId) {
      // RFC 9113 §5.1.1: a new stream id must be odd and larger than every earlier one.
      throw connError(ErrorCode.PROTOCOL_ERROR, `Bad stream id ${id}`);
    }
    this.#lastStreamId = id;
    if (id > this.#goawayLastId || this.isClosed) {
      this.streamError(new StreamError(id, ErrorCode.REFUSED_STREAM, "Draining"));
      return;
    }
    if (!complete) {
      this.streamError(new StreamError(id, ErrorCode.FRAME_SIZE_ERROR, "Header list too large"));
      return;
    }
    const max = this.opts.maxConcurrentStreams;
    if (this.streams.size >= max || this.#handlers >= max) {
      this.streamError(new StreamError(id, ErrorCode.REFUSED_STREAM, "Too many streams"));
      return;
    }
    const req = validateRequest(list, endStream);
    if (req instanceof RequestError) {
      this.#refuseRequest(id, req, endStream);
      return;
    }
    const s = new ServerStream(this, id, req);
    s.contentLength = req.contentLength;
    this.streams.set(id, s);
    this.#lifetime?.busy();
    this.#handlers++;
    if (endStream) this.#remoteEndFromHeaders(s);
    this.onStream(s);
  }

  // grpc-go operateHeaders: a malformed request gets RST_STREAM PROTOCOL_ERROR; a well-formed
  // one gRPC can't take gets its HTTP status with a gRPC status (trailers-only), and RST_STREAM
  // NO_ERROR if the client is still sending.
  #refuseRequest(id: number, err: RequestError, endStream: boolean): void {
    if (err.httpStatus === 0) {
      this.streamError(new StreamError(id, ErrorCode.PROTOCOL_ERROR, err.reason));
      return;
    }
    this.writeHeaderBlock(id, [
      ":status",
      String(err.httpStatus),
      "content-type",
      "application/grpc",
      "grpc-status",
      statusText(err.code),
      "grpc-message",
      encodeGrpcMessage(err.reason),
    ], true);
    if (!endStream) this.streamError(new StreamError(id, ErrorCode.NO_ERROR, err.reason));
  }

  #remoteEndFromHeaders(s: ServerStream): void {
    s.state = s.state === StreamState.HALF_CLOSED_LOCAL
      ? StreamState.CLOSED
      : StreamState.HALF_CLOSED_REMOTE;
    s.onRemoteEnd();
    if (s.state === StreamState.CLOSED) {
      this.streams.delete(s.id);
      this.onStreamClosed(s);
    }
  }

  protected onGoaway(_lastStreamId: number, _code: number, _debug: string): void {
    // A client's GOAWAY: it opens nothing new; finish what runs, then close.
    if (this.streams.size === 0) this.closeAfterFlush(unavailable("Client sent GOAWAY"));
  }

  protected isIdleStream(id: number): boolean {
    // RFC 9113 §5.1: even ids would be ours (we never push), so they are all idle; frames other
    // than HEADERS/PRIORITY on them are a connection PROTOCOL_ERROR, not RST_STREAM.
    return (id & 1) === 0 || id > this.#lastStreamId;
  }

  protected lastPeerStreamId(): number {
    return this.#lastStreamId;
  }

  protected onStreamReset(s: ServerStream, _code: number, _local?: boolean): void {
    s.cancel("rst", new StatusError(Code.Canceled, "Stream reset by client"));
  }

  protected onStreamAborted(s: ServerStream, reason: StatusError): void {
    s.cancel("closed", reason);
  }

  protected onMessageTooLarge(s: ServerStream): void {
    // The stream already failed with RESOURCE_EXHAUSTED; the handler's recvMsg sees it and the
    // server layer answers with that status. Stop the client from sending more.
    const err = s.error;
    if (err !== null) s.sendTrailers(err.code, encodeGrpcMessage(err.rawMessage));
  }

  // sendTrailers() resets a stream the client still sends on (grpc-go finishStream); when the
  // trailers had to wait for window, that RST_STREAM goes out here, after them. Without it the
  // stream stayed half-closed (local), holding its MAX_CONCURRENT_STREAMS slot.
  protected override onDeferredTrailersSent(s: ServerStream): void {
    if (s.state !== StreamState.CLOSED && !s.remoteEnded) this.resetStream(s, ErrorCode.NO_ERROR);
  }

  protected override onDataSent(): void {
    this.#resetPingStrikes = true;
  }

  // grpc-go http2Server.handlePing: pings closer together than the policy allows are strikes;
  // more than maxPingStrikes → GOAWAY ENHANCE_YOUR_CALM "too_many_pings".
  protected override onPingReceived(): void {
    const now = this.opts.now();
    const last = this.#lastPingAt;
    this.#lastPingAt = now;
    if (this.#resetPingStrikes) {
      this.#resetPingStrikes = false;
      this.#pingStrikes = 0;
      return;
    }
    const min = this.streams.size < 1 && !this.#permitKeepaliveWithoutStream
      ? IDLE_PING_MIN_MS
      : this.#keepaliveMinTimeMs;
    if (last !== 0 && last + min > now) this.#pingStrikes++;
    if (this.#pingStrikes > D.MAX_PING_STRIKES) {
      throw connError(ErrorCode.ENHANCE_YOUR_CALM, "too_many_pings");
    }
  }
}

// Thrown inside the read loop, which turns it into GOAWAY(code) + close.
function connError(code: number, message: string): ConnectionError {
  return new ConnectionError(code, message);
}
