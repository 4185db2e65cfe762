// The client role of the shared transport, after grpc-go's internal/transport/http2_client.go:
// opens streams (waiting for a MAX_CONCURRENT_STREAMS slot), reads responses (headers, messages,
// trailers or trailers-only), maps HTTP/2 and HTTP failures to gRPC statuses, and handles GOAWAY:
// streams the server never processed are marked `refused`, so the channel can retry them on a
// new connection without the application noticing.

import { codeFromHttpStatus } from "../internal/http_status.ts";
import { Http2Connection, type RawConn } from "./connection.ts";
import { unavailable } from "./errors.ts";
import type { TransportOptions } from "./options.ts";
import { Http2Stream, StreamState } from "./stream.ts";
import { ErrorCode, SettingId } from "./frame.ts";
import * as D from "./defaults.ts";
import { type ClientKeepalive, type Clock, KeepalivePinger, SYSTEM_CLOCK } from "./keepalive.ts";
import { Code, decodeGrpcMessage, decodeStatusDetails, StatusError } from "../status.ts";
import { Metadata } from "../metadata.ts";
import {
  decodeBinaryHeader,
  hasInvalidFieldValue,
  headerValue,
  isGrpcContentType,
} from "../internal/headers.ts";
import { encodeTimeout } from "../internal/timeout.ts";

/** Thrown by newStream() when this connection takes no new streams (GOAWAY, ids exhausted). */
export class TransportDrainingError extends Error {
  constructor() {
    super("Connection is draining");
    this.name = "TransportDrainingError";
  }
}

/**
 * What sending on a call that already ended rejects with, when it ended OK: grpc-go's SendMsg
 * returns io.EOF there, and the status is what the receiving side reports.
 */
export function callEnded(): StatusError {
  return new StatusError(Code.FailedPrecondition, "Cannot send message: the call has ended");
}

/** One outgoing call. */
export class ClientTransportStream extends Http2Stream {
  readonly transport: ClientTransport;
  /** Response headers (flat), once they arrived. */
  responseHeaders: string[] | null = null;
  /** Trailers (flat) once the call ended with them (also set for trailers-only). */
  trailers: string[] | null = null;
  /** True when the server never processed the stream: safe to retry elsewhere. */
  refused = false;
  /** True once any response bytes arrived (then a retry is no longer transparent). */
  gotResponse = false;
  /** The HTTP/2 code of the server's RST_STREAM, when it reset the stream (ARCHITECTURE.md). */
  rstCode: number | null = null;
  #headersWaiters: [(h: string[]) => void, (e: unknown) => void][] | null = null;

  constructor(t: ClientTransport, id: number, maxReceiveMessageSize: number) {
    super(t, id, t.peerInitialWindowSize, t.streamRecvWindow, maxReceiveMessageSize);
    this.transport = t;
  }

  /** Resolves with the response headers; rejects if the call fails before they arrive. */
  headers(): Promise<string[]> {
    if (this.responseHeaders !== null) return Promise.resolve(this.responseHeaders);
    const err = this.error;
    if (err !== null) return Promise.reject(err);
    return new Promise((resolve, reject) => {
      (this.#headersWaiters ??= []).push([resolve, reject]);
    });
  }

  /**
   * Sends one message (and END_STREAM with it when `endStream`). Once our side is over (the
   * call ended, or we sent END_STREAM) it rejects: with the call's error, or with
   * {@linkcode callEnded} when it ended OK (grpc-go SendMsg: io.EOF).
   */
  sendMsg(data: Uint8Array, compressed: boolean, endStream = false): Promise<void> {
    if (this.state === StreamState.CLOSED || this.state === StreamState.HALF_CLOSED_LOCAL) {
      return Promise.reject(this.error ?? callEnded());
    }
    return this.transport.sendMessage(this, data, compressed, endStream);
  }

  /** Half-closes: no more messages from us. */
  closeSend(): void {
    if (this.state === StreamState.OPEN || this.state === StreamState.HALF_CLOSED_REMOTE) {
      this.transport.sendEndStream(this);
    }
  }

  /** Cancels the call: RST_STREAM(code) and fails reads with `err`. */
  cancel(err: StatusError, code: number = ErrorCode.CANCEL): void {
    this.fail(err);
    this.settleHeaders();
    this.transport.resetStream(this, code);
  }

  /** @internal Resolves or rejects headers() waiters. */
  settleHeaders(): void {
    const ws = this.#headersWaiters;
    if (ws === null) return;
    this.#headersWaiters = null;
    const h = this.responseHeaders;
    if (h !== null) {
      for (const [resolve] of ws) resolve(h);
      return;
    }
    // Only a call that ended without headers pays for an error (and its stack trace): this
    // runs once per call on the hot path, where the headers are there.
    const err = this.error ?? new StatusError(Code.Internal, "Call ended without headers");
    for (const [, reject] of ws) reject(err);
  }
}

/** Per-connection extras of a client transport. */
export interface ClientTransportExtras {
  /** Keepalive pings (gRFC A8); absent or `timeMs: Infinity`: off. */
  keepalive?: ClientKeepalive;
  /** Timers for keepalive (injectable for tests). */
  clock?: Clock;
}

// A newStream() waiting for a MAX_CONCURRENT_STREAMS slot.
interface SlotWaiter {
  readonly headers: readonly string[];
  readonly maxReceiveMessageSize: number;
  readonly deadline: number;
  readonly resolve: (s: ClientTransportStream) => void;
  readonly reject: (err: unknown) => void;
}

/** The client side of one HTTP/2 connection. */
export class ClientTransport extends Http2Connection<ClientTransportStream> {
  #nextId = 1;
  #draining = false;
  // In arrival order (a Map keeps it), keyed by the promise newStream() returned, so withdraw()
  // finds a waiter in O(1).
  #slotWaiters = new Map<Promise<ClientTransportStream>, SlotWaiter>();
  /** The clock `grpc-timeout` is computed with (epoch ms); tests replace it. */
  now: () => number = Date.now;
  readonly #pinger: KeepalivePinger | null = null;
  /** Called once when the connection stops taking new streams (GOAWAY, ids used up, closed). */
  onDrain: (() => void) | undefined;
  /**
   * The server sent GOAWAY ENHANCE_YOUR_CALM "too_many_pings": the channel doubles its keepalive
   * time for new connections (gRFC A8).
   */
  tooManyPings = false;

  constructor(conn: RawConn, opts: TransportOptions, extras: ClientTransportExtras = {}) {
    super(conn, opts, false);
    const k = extras.keepalive;
    if (k !== undefined && k.timeMs !== Infinity) {
      const p = new KeepalivePinger(extras.clock ?? SYSTEM_CLOCK, k.timeMs, k.timeoutMs, {
        ping: () => this.sendKeepalivePing(),
        dead: () => this.close(unavailable("keepalive ping failed to receive ACK within timeout")),
        mayPing: () => this.streams.size > 0 || k.permitWithoutStream,
      });
      this.#pinger = p;
      this.onRead = p.read;
    }
  }

  /** Sends the preface and SETTINGS, and starts reading. */
  begin(): void {
    const s = this.baseSettings();
    s.unshift(SettingId.ENABLE_PUSH, 0);
    this.start(s);
    this.#pinger?.start();
  }

  /** Whether a keepalive PING is out with nothing read since (for tests and diagnostics). */
  get keepalivePingOutstanding(): boolean {
    return this.#pinger?.outstanding ?? false;
  }

  /** Whether new streams may be opened here. */
  get draining(): boolean {
    return this.#draining || this.isClosed;
  }

  /**
   * Opens a stream and sends its request headers, or, when the server's MAX_CONCURRENT_STREAMS
   * is reached, returns a promise of the stream that waits for a slot (behind earlier waiters);
   * {@linkcode withdraw} takes a wait back. Throws TransportDrainingError after GOAWAY; a wait
   * rejects with it when GOAWAY comes first, so the caller can go to another connection.
   *
   * `maxReceiveMessageSize` is the call's limit (default: the connection's). With a `deadline`
   * (epoch ms), `grpc-timeout` is appended to `headers` with what is left of it when the HEADERS
   * frame is written, not when the wait began; a deadline already past by then fails with
   * DEADLINE_EXCEEDED and opens nothing (grpc-go createHeaderFields).
   */
  newStream(
    headers: readonly string[],
    maxReceiveMessageSize: number = this.opts.maxReceiveMessageSize,
    deadline = Infinity,
  ): ClientTransportStream | Promise<ClientTransportStream> {
    if (this.isClosed) throw this.closeReason ?? unavailable("Connection closed");
    if (this.#draining) throw new TransportDrainingError();
    if (this.#slotWaiters.size > 0 || this.streams.size >= this.peerMaxConcurrentStreams) {
      let resolve!: (s: ClientTransportStream) => void, reject!: (err: unknown) => void;
      const p = new Promise<ClientTransportStream>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      this.#slotWaiters.set(p, { headers, maxReceiveMessageSize, deadline, resolve, reject });
      return p;
    }
    return this.#open(headers, maxReceiveMessageSize, deadline);
  }

  /**
   * Takes back a wait for a slot that newStream() returned (its call was cancelled or ran out
   * of time): it rejects with `reason` and will never open a stream. Returns false when the wait
   * was already over (the stream exists, or the wait failed).
   */
  withdraw(wait: Promise<ClientTransportStream>, reason: unknown): boolean {
    const w = this.#slotWaiters.get(wait);
    if (w === undefined) return false;
    this.#slotWaiters.delete(wait);
    w.reject(reason);
    return true;
  }

  #open(headers: readonly string[], maxRecv: number, deadline: number): ClientTransportStream {
    if (deadline !== Infinity) {
      const ms = deadline - this.now();
      if (ms <= 0) throw new StatusError(Code.DeadlineExceeded, "context deadline exceeded");
      headers = [...headers, "grpc-timeout", encodeTimeout(ms)];
    }
    const id = this.#nextId;
    this.#nextId += 2;
    if (this.#nextId > D.MAX_STREAM_ID) this.#startDraining();
    const s = new ClientTransportStream(this, id, maxRecv);
    this.streams.set(id, s);
    this.writeHeaderBlock(id, headers, false);
    this.#pinger?.wake();
    return s;
  }

  // Gives free slots to waiters, oldest first.
  #grantSlots(): void {
    for (const [p, w] of this.#slotWaiters) {
      if (this.#draining || this.streams.size >= this.peerMaxConcurrentStreams) return;
      this.#slotWaiters.delete(p);
      let s: ClientTransportStream;
      try {
        s = this.#open(w.headers, w.maxReceiveMessageSize, w.deadline);
      } catch (err) {
        w.reject(err);
        continue;
      }
      w.resolve(s);
    }
  }

  /**
   * Takes no new streams and closes once the open ones end (a subchannel the balancer removed,
   * or a channel going idle; grpc-go tearDown with errConnDrain).
   */
  drain(): void {
    this.#startDraining();
  }

  #startDraining(): void {
    if (this.#draining) return;
    this.#draining = true;
    this.onDrain?.();
    // Waiters for a slot go elsewhere.
    this.#failWaiters(new TransportDrainingError());
    if (this.streams.size === 0) this.closeAfterFlush(unavailable("Connection drained"));
  }

  #failWaiters(err: unknown): void {
    const ws = [...this.#slotWaiters.values()];
    this.#slotWaiters.clear();
    for (const w of ws) w.reject(err);
  }

  protected override onMaxConcurrentStreams(): void {
    this.#grantSlots();
  }

  protected override onStreamClosed(_s: ClientTransportStream): void {
    if (this.#slotWaiters.size > 0) this.#grantSlots();
    else if (this.#draining && this.streams.size === 0 && !this.isClosed) {
      this.closeAfterFlush(unavailable("Connection drained"));
    }
  }

  override close(reason?: StatusError): void {
    const first = !this.isClosed;
    this.#pinger?.stop();
    super.close(reason);
    if (first) {
      this.#draining = true;
      this.#failWaiters(this.closeReason ?? unavailable("Connection closed"));
      this.onDrain?.();
    }
  }

  protected onHeaderBlock(id: number, list: string[], endStream: boolean, complete: boolean): void {
    const s = this.streams.get(id);
    if (s === undefined) return; // cancelled or unknown: the block was decoded, nothing to do
    s.gotResponse = true;
    if (!complete) {
      this.#failStream(s, new StatusError(Code.Internal, "Response header list too large"));
      this.resetStream(s, ErrorCode.FRAME_SIZE_ERROR);
      return;
    }
    if (hasInvalidFieldValue(list)) {
      // RFC 9113 §8.2.1: a malformed response is a stream error PROTOCOL_ERROR.
      this.#failStream(
        s,
        new StatusError(Code.Internal, "Malformed response: NUL, CR or LF in a header value"),
      );
      this.resetStream(s, ErrorCode.PROTOCOL_ERROR);
      return;
    }
    if (s.responseHeaders === null) {
      const status = httpStatusOf(list);
      if (status >= 100 && status < 200 && !endStream) return; // informational (RFC 9113 §8.1)
      if (endStream) {
        this.#finish(s, list, status);
        return;
      }
      const contentType = headerValue(list, "content-type") ?? "";
      if (status !== 200 || !isGrpcContentType(contentType)) {
        const code = status === 200 ? Code.Unknown : codeFromHttpStatus(status);
        this.#failStream(
          s,
          new StatusError(
            code,
            status === 200
              ? `Unexpected content-type "${contentType}"`
              : `Unexpected HTTP status ${status}`,
          ),
        );
        this.resetStream(s, ErrorCode.CANCEL);
        return;
      }
      s.responseHeaders = list.slice();
      s.settleHeaders();
      return;
    }
    if (!endStream) {
      this.#failStream(s, new StatusError(Code.Internal, "Trailers without END_STREAM"));
      this.resetStream(s, ErrorCode.PROTOCOL_ERROR);
      return;
    }
    this.#finish(s, list, 200);
  }

  // Trailers (or trailers-only headers) end the call with their status.
  #finish(s: ClientTransportStream, list: string[], httpStatus: number): void {
    const trailers = list.slice();
    s.trailers = trailers;
    const err = statusFromTrailers(trailers, httpStatus, s.responseHeaders === null);
    const wasOpen = s.state === StreamState.OPEN;
    s.state = wasOpen ? StreamState.HALF_CLOSED_REMOTE : StreamState.CLOSED;
    s.onRemoteEnd(err ?? undefined);
    s.settleHeaders();
    if (wasOpen) {
      // grpc-go closeStream: the server is done; tell it we are too.
      this.resetStream(s, ErrorCode.NO_ERROR);
    } else {
      this.streams.delete(s.id);
      this.onStreamClosed(s);
    }
  }

  #failStream(s: ClientTransportStream, err: StatusError): void {
    s.fail(err);
    s.settleHeaders();
  }

  protected onGoaway(lastStreamId: number, code: number, debug: string): void {
    // Streams above lastStreamId were never processed (RFC 9113 §6.8): fail them as refused.
    for (const s of [...this.streams.values()]) {
      if (s.id > lastStreamId) {
        s.refused = true;
        this.#failStream(s, unavailable("Stream refused by GOAWAY"));
        this.resetStream(s, ErrorCode.CANCEL);
      }
    }
    if (code === ErrorCode.ENHANCE_YOUR_CALM && debug === "too_many_pings") {
      // gRFC A8: the channel doubles its keepalive time for the connections it makes next.
      this.tooManyPings = true;
    }
    this.#startDraining();
  }

  protected isIdleStream(id: number): boolean {
    return (id & 1) === 0 || id >= this.#nextId;
  }

  protected lastPeerStreamId(): number {
    return 0;
  }

  protected onStreamReset(s: ClientTransportStream, code: number, local?: boolean): void {
    if (!local) {
      s.rstCode = code;
      if (code === ErrorCode.REFUSED_STREAM) s.refused = true;
    }
    this.#failStream(s, statusFromRstCode(code, local === true));
  }

  protected onStreamAborted(s: ClientTransportStream, reason: StatusError): void {
    this.#failStream(s, reason.code === Code.Unavailable ? reason : unavailable(reason.rawMessage));
  }

  protected onMessageTooLarge(s: ClientTransportStream): void {
    s.settleHeaders();
    this.resetStream(s, ErrorCode.CANCEL);
  }
}

// gRPC's HTTP/2 error code mapping (PROTOCOL-HTTP2.md "Errors"; grpc-go http2ErrConvTab).
function statusFromRstCode(code: number, local: boolean): StatusError {
  let c: Code;
  switch (code) {
    case ErrorCode.REFUSED_STREAM:
      c = Code.Unavailable;
      break;
    case ErrorCode.CANCEL:
      c = Code.Canceled;
      break;
    case ErrorCode.ENHANCE_YOUR_CALM:
      c = Code.ResourceExhausted;
      break;
    case ErrorCode.INADEQUATE_SECURITY:
      c = Code.PermissionDenied;
      break;
    default:
      c = Code.Internal;
  }
  const who = local ? "Stream error" : "Stream reset by server";
  return new StatusError(c, `${who}: HTTP/2 error code ${code}`);
}

/** Turns a trailer block into null (OK) or the StatusError it carries. */
export function statusFromTrailers(
  list: readonly string[],
  httpStatus: number,
  trailersOnly: boolean,
): StatusError | null {
  let status = "", message = "", details = "";
  for (let i = 0; i < list.length; i += 2) {
    const n = list[i];
    if (n === "grpc-status") status = list[i + 1];
    else if (n === "grpc-message") message = list[i + 1];
    else if (n === "grpc-status-details-bin") details = list[i + 1];
  }
  if (status === "") {
    if (trailersOnly && httpStatus !== 200) {
      return new StatusError(
        codeFromHttpStatus(httpStatus),
        `Unexpected HTTP status ${httpStatus}`,
      );
    }
    return new StatusError(Code.Unknown, "Response has no grpc-status");
  }
  const code = parseStatusCode(status);
  if (code === 0) return null;
  const metadata = Metadata.fromHeaders(list as string[]);
  let detailList: { typeUrl: string; value: Uint8Array }[] = [];
  if (details !== "") {
    const bin = decodeBinaryHeader(details);
    if (bin !== undefined) {
      try {
        detailList = decodeStatusDetails(bin).details;
      } catch {
        // Malformed details don't hide the status.
      }
    }
  }
  return new StatusError(
    code < 0 ? Code.Unknown : code as Code,
    code < 0 ? `Bad grpc-status "${status}"` : decodeGrpcMessage(message),
    { metadata, details: detailList },
  );
}

function parseStatusCode(s: string): number {
  if (s.length === 0 || s.length > 3) return -1;
  let v = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  // Codes outside 0–16 are passed through as UNKNOWN by grpc-go.
  return v > 16 ? -1 : v;
}

function httpStatusOf(list: readonly string[]): number {
  for (let i = 0; i < list.length; i += 2) {
    if (list[i] === ":status") {
      const n = Number(list[i + 1]);
      return Number.isInteger(n) ? n : 0;
    }
  }
  return 0;
}
