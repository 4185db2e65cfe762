// One client call and its attempts: opening the stream (waiting for a connection or a stream
// slot), sending with the transparent-retry replay buffer, receiving and decoding, headers and
// trailers, cancellation and the deadline (grpc-go stream.go: clientStream, csAttempt).

import type { MethodDefinition } from "../codec.ts";
import { Code, StatusError } from "../status.ts";
import { Metadata } from "../metadata.ts";
import { type Compressor, getCompressor } from "../compression.ts";
import { headerValue } from "../internal/headers.ts";
import { isDeadlineReason } from "../internal/abort.ts";
import type { DeadlineEntry } from "../internal/deadline_timers.ts";
import {
  callEnded,
  ClientTransport,
  ClientTransportStream,
  TransportDrainingError,
} from "../transport/http2_client.ts";
import { ErrorCode } from "../transport/frame.ts";
import type { Channel } from "./channel.ts";
import { MAX_CALL_ATTEMPTS } from "./service_config.ts";
import { errorText } from "../internal/error_message.ts";
import { decodeMessage, type EncodedMessage, encodeMessage } from "../internal/message.ts";
import { withCallerFrames } from "../internal/caller_frames.ts";
import { CALL, type InternalCallOptions, toMetadata } from "./options.ts";
import { checkCompression, checkInt } from "../internal/option_checks.ts";
import type { ClientStream, SendOptions } from "./stream.ts";
import type { CallCredentials } from "../credentials/call.ts";

/** grpc-go defaultRetryBufferSize (WithMaxRetryRPCBufferSize): bytes kept per call for retries. */
const RETRY_BUFFER_SIZE = 256 * 1024;
/** setTimeout fires at once for delays of 2^31 ms or more (STYLE.md §7): no timer then. */
const MAX_TIMER_MS = 2 ** 31 - 1;

function noop(): void {}

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
  if (isDeadlineReason(reason)) {
    return new StatusError(Code.DeadlineExceeded, "Deadline exceeded (signal timed out)", {
      cause: reason,
    });
  }
  return new StatusError(Code.Canceled, "Call cancelled (signal aborted)", { cause: reason });
}

/** One call (grpc-go clientStream); each attempt is one transport stream. */
export class Call<Req, Res> implements ClientStream<Req, Res> {
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
  #defaultSignal: AbortSignal | undefined;
  #onAbort: (() => void) | undefined;
  #onDefaultAbort: (() => void) | undefined;
  #deadlineEntry: DeadlineEntry | undefined;
  readonly #callCreds: CallCredentials | undefined;
  // The call credentials' metadata (flat pairs), once computed.
  #credHeaders: string[] | undefined;

  // The current attempt.
  #stream: ClientTransportStream | null = null;
  #opening: Promise<ClientTransportStream> | null = null;
  #abortHook: ((err: StatusError) => void) | null = null;
  #attempts = 0;

  // Sending: messages kept for replay on a transparent retry, until the call is committed (a
  // response arrived, or more than RETRY_BUFFER_SIZE bytes were sent). Before the first attempt
  // is attached they are simply the queue.
  #replay: EncodedMessage[] | null = [];
  #replayBytes = 0;
  #halfClosed = false;

  // Result.
  #done = false;
  #error: StatusError | null = null;
  #headers: Deferred<Metadata> | null = null;
  #trailers: Deferred<Metadata> | null = null;
  #decompressor: Compressor | undefined;

  constructor(ch: Channel, method: MethodDefinition<Req, Res>, o: InternalCallOptions | undefined) {
    this.method = method;
    this.#ch = ch;
    const opts = ch.opts;
    // The service config's settings for this method; call options override them where grpc-go's
    // do: waitForReady is replaced, the timeout and size limits take the smaller value
    // (service_config.proto MethodConfig).
    const mc = ch.methodConfig(method.path);
    let deadline = mc?.timeoutMs === undefined ? Infinity : Date.now() + mc.timeoutMs;
    let maxRecv = opts.maxReceiveMessageSize;
    let maxSend = opts.maxSendMessageSize;
    if (o !== undefined) {
      if (o.timeoutMs !== undefined) {
        if (typeof o.timeoutMs !== "number" || Number.isNaN(o.timeoutMs)) {
          throw new RangeError(`Cannot use timeoutMs: value is ${o.timeoutMs}`);
        }
        const d = Date.now() + o.timeoutMs;
        if (d < deadline) deadline = d;
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
      if (o.maxReceiveMessageSize !== undefined) {
        maxRecv = checkInt(CALL, "maxReceiveMessageSize", o.maxReceiveMessageSize, 0);
      }
      if (o.maxSendMessageSize !== undefined) {
        maxSend = checkInt(CALL, "maxSendMessageSize", o.maxSendMessageSize, 0);
      }
      this.#compressor = o.compression === undefined
        ? opts.compressor
        : checkCompression(CALL, o.compression);
      this.#waitForReady = o.waitForReady ?? mc?.waitForReady ?? false;
      this.#signal = o.signal;
      this.#defaultSignal = o.defaultSignal;
    } else {
      this.#compressor = opts.compressor;
      this.#waitForReady = mc?.waitForReady ?? false;
    }
    if (mc !== undefined) {
      const r = mc.maxResponseMessageBytes, q = mc.maxRequestMessageBytes;
      if (r !== undefined && r < maxRecv) maxRecv = r;
      if (q !== undefined && q < maxSend) maxSend = q;
    }
    this.#maxRecv = maxRecv;
    this.#maxSend = maxSend;
    this.#deadline = deadline;
    // grpc-go: the channel's PerRPCCredentials, then the call's.
    const cc = opts.callCredentials, oc = o?.callCredentials;
    this.#callCreds = oc === undefined || oc === cc ? cc : cc === undefined ? oc : cc.compose(oc);
    if (this.#onHeader !== undefined) this.#headers = deferred();
    ch.callStarted(); // #finish ends it

    // Fail before sending anything when already cancelled or past the deadline.
    const s1 = this.#signal, s2 = this.#defaultSignal;
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
      this.#onDefaultAbort = () => this.#abort(abortStatus(s2.reason));
      s2.addEventListener("abort", this.#onDefaultAbort, { once: true });
    }
    this.#begin();
  }

  // ---- opening an attempt ------------------------------------------------------------------

  #begin(): void {
    // Call credentials first run (asynchronously) in #openAsync.
    if (this.#callCreds !== undefined) {
      this.#startOpen(undefined, undefined);
      return;
    }
    // Hot path: a READY transport with a free stream slot gives the stream synchronously.
    const t = this.#ch.readyTransport(this.method.path, this.#metadata);
    if (t !== null) {
      let r: ClientTransportStream | Promise<ClientTransportStream> | undefined;
      try {
        r = t.newStream(this.#requestHeaders(), this.#maxRecv, this.#deadline);
      } catch {
        // Draining or closed since: the slow path below picks another transport.
      }
      if (r instanceof ClientTransportStream) {
        this.#attach(r);
        return;
      }
      if (r !== undefined) {
        this.#startOpen(t, r);
        return;
      }
    }
    this.#startOpen(undefined, undefined);
  }

  #startOpen(
    t: ClientTransport | undefined,
    wait: Promise<ClientTransportStream> | undefined,
  ): void {
    const p = this.#openAsync(t, wait);
    // Failures reach the caller through sendMsg/recvMsg; this copy must not go unhandled.
    p.catch(noop);
    // #openAsync may have attached synchronously (and cleared #opening) before returning.
    if (this.#stream === null) this.#opening = p;
  }

  #requestHeaders(): string[] {
    const prefix = this.#ch.headerPrefix(this.method.path);
    const c = this.#compressor;
    if (c === undefined && this.#metadata === undefined && this.#credHeaders === undefined) {
      return prefix;
    }
    const h = prefix.slice();
    if (c !== undefined) h.push("grpc-encoding", c.name);
    const ch = this.#credHeaders;
    if (ch !== undefined) h.push(...ch);
    this.#metadata?.appendTo(h);
    // grpc-timeout: the transport adds what is left of #deadline when it writes the HEADERS.
    return h;
  }

  // The call credentials' metadata, before the first attempt (grpc-go: per attempt, in
  // createHeaderFields; here once per call, so a transparent retry sends the same token).
  async #runCallCredentials(creds: CallCredentials): Promise<string[]> {
    const path = this.method.path;
    const ac = new AbortController();
    const p = creds.headersFor(
      {
        serviceUrl: `https://${this.#ch.authority}${path.slice(0, path.lastIndexOf("/"))}`,
        methodName: path.slice(path.lastIndexOf("/") + 1),
        signal: ac.signal,
      },
      this.#ch.opts.credentials.protocol !== "insecure",
    );
    try {
      return await new Promise<string[]>((resolve, reject) => {
        this.#abortHook = (err) => {
          ac.abort(err);
          reject(err);
        };
        p.then(resolve, reject);
      });
    } finally {
      this.#abortHook = null;
    }
  }

  /**
   * Opens the attempt's stream, waiting for a connection or a stream slot when needed. `wait`
   * is a slot wait `pendingOn` already gave.
   */
  async #openAsync(
    pendingOn: ClientTransport | undefined,
    wait: Promise<ClientTransportStream> | undefined,
  ): Promise<ClientTransportStream> {
    try {
      if (this.#callCreds !== undefined && this.#credHeaders === undefined) {
        if (this.#done) throw this.#error!;
        this.#credHeaders = await this.#runCallCredentials(this.#callCreds);
      }
      for (;;) {
        if (this.#done) throw this.#error!;
        let r = wait;
        let t = pendingOn;
        wait = pendingOn = undefined;
        if (r === undefined || t === undefined) {
          const picked = this.#ch.pick(this.#waitForReady, this.method.path, this.#metadata);
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
            const s = t.newStream(this.#requestHeaders(), this.#maxRecv, this.#deadline);
            if (s instanceof ClientTransportStream) {
              this.#attach(s);
              return s;
            }
            r = s;
          } catch (err) {
            if (this.#retryOpen(t, err)) continue;
            throw err;
          }
        }
        // Waiting for a MAX_CONCURRENT_STREAMS slot. Cancelling the call withdraws the wait,
        // so no stream is ever opened for it (opening and resetting it would count against
        // the server's rapid-reset budget).
        const slot = r, on = t;
        let s: ClientTransportStream;
        try {
          this.#abortHook = (err) => void on.withdraw(slot, err);
          s = await slot;
        } catch (err) {
          if (this.#done) throw this.#error!;
          // The transport went away (GOAWAY, closed) before the stream existed: nothing was
          // sent, so try again elsewhere. (Otherwise the deadline passed while waiting.)
          if (this.#retryOpen(on, err)) continue;
          throw err;
        } finally {
          this.#abortHook = null;
        }
        if (this.#done) {
          // Granted just before the call ended (the wait was already over).
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
    this.#ch.forgetTransport(t);
    return ++this.#attempts < MAX_CALL_ATTEMPTS * 2;
  }

  #attach(s: ClientTransportStream): void {
    this.#stream = s;
    this.#opening = null;
    if (this.#headers !== null) this.#watchHeaders(s);
    const buf = this.#replay;
    if (buf !== null && buf.length > 0) {
      const last = buf.length - 1;
      for (let i = 0; i < last; i++) s.sendMsg(buf[i][0], buf[i][1], false).catch(noop);
      s.sendMsg(buf[last][0], buf[last][1], this.#halfClosed).catch(noop);
      if (this.#replayBytes > RETRY_BUFFER_SIZE) this.#replay = null;
    } else if (this.#halfClosed) {
      s.closeSend();
    }
  }

  // A transparent retry is possible when the server never processed the stream (GOAWAY above
  // its id, REFUSED_STREAM) and nothing was received yet (grpc-go csAttempt.shouldRetry).
  #retryable(s: ClientTransportStream): boolean {
    return s.refused && this.#replay !== null && !this.#done &&
      this.#attempts + 1 < MAX_CALL_ATTEMPTS && s === this.#stream;
  }

  #retry(): void {
    this.#attempts++;
    this.#stream = null;
    this.#startOpen(undefined, undefined);
  }

  // ---- sending -----------------------------------------------------------------------------

  #encode(message: Req, compress: boolean): EncodedMessage {
    const c = compress ? this.#compressor : undefined;
    return encodeMessage(this.method.requestCodec, message, c, this.#maxSend, 0, "client");
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
    // Sending after the end is reported, not dropped in silence (grpc-go SendMsg: io.EOF).
    if (this.#done) return Promise.reject(this.#error ?? callEnded());
    let m: EncodedMessage;
    try {
      m = this.#encode(message, compress);
    } catch (err) {
      // grpc-go SendMsg: an error other than io.EOF finishes the call.
      const e = err as StatusError;
      this.#abort(e);
      return Promise.reject(e);
    }
    if (end) this.#halfClosed = true;
    const s = this.#stream;
    const buf = this.#replay;
    if (s === null) {
      // Not attached yet: queue; #attach sends it.
      buf!.push(m);
      this.#replayBytes += m[0].length;
      return this.#opening!.then(noop);
    }
    if (buf !== null) {
      buf.push(m);
      this.#replayBytes += m[0].length;
      if (this.#replayBytes > RETRY_BUFFER_SIZE) this.#replay = null;
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
    this.#stream?.closeSend();
  }

  // ---- receiving ---------------------------------------------------------------------------

  async #recvRaw(): Promise<[ClientTransportStream, Uint8Array | null]> {
    for (;;) {
      if (this.#done && this.#error !== null) throw this.#error;
      const s = this.#stream ?? await this.#opening!;
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
    this.#replay = null; // committed: a response arrived
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
    this.#replay = null;
    const [, end] = await this.#recvRaw();
    if (end !== null) {
      const err = new StatusError(
        Code.Internal,
        "cardinality violation: expected <EOF> for non-streaming RPCs, but received another message",
      );
      this.#abort(err);
      throw err;
    }
    const res = this.#decode(s, raw);
    this.#finish(null);
    return res;
  }

  #decode(s: ClientTransportStream, raw: Uint8Array): Res {
    try {
      const compressed = s.wasCompressed(raw);
      const d = compressed ? this.#responseDecompressor(s) : undefined;
      return decodeMessage(this.method.responseCodec, raw, compressed, d, this.#maxRecv, "client");
    } catch (err) {
      const e = err as StatusError;
      this.#abort(e);
      throw this.#error ?? e;
    }
  }

  // The decompressor of the response's grpc-encoding, looked up at the first compressed
  // message; undefined for none ("identity" or absent: decodeMessage fails the message).
  #responseDecompressor(s: ClientTransportStream): Compressor | undefined {
    let d = this.#decompressor;
    if (d === undefined) {
      const enc = headerValue(s.responseHeaders, "grpc-encoding");
      if (enc === undefined || enc === "identity") return undefined;
      d = getCompressor(enc);
      if (d === undefined) {
        throw new StatusError(
          Code.Internal,
          `grpc: Decompressor is not installed for grpc-encoding "${enc}"`,
        );
      }
      this.#decompressor = d;
    }
    return d;
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Res, void, undefined> {
    try {
      for (;;) {
        let m;
        try {
          m = await this.recvMsg();
        } catch (err) {
          throw withCallerFrames(err); // so the caller's for-await line is in the stack
        }
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
      const s = this.#stream;
      if (s !== null) this.#watchHeaders(s);
      else if (this.#done) this.#settleHeadersAtEnd();
      return d.promise;
    }
    return this.#headers.promise;
  }

  #watchHeaders(s: ClientTransportStream): void {
    s.headers().then((h) => {
      if (s === this.#stream) this.#gotHeaders(Metadata.fromHeaders(h));
    }, (err) => {
      if (s !== this.#stream || this.#headers?.settled !== false) return;
      if (s.trailers !== null) this.#gotHeaders(new Metadata()); // Trailers-Only
      else if (!(s.refused && this.#replay !== null)) this.#headers.reject(this.#error ?? err);
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
    const s = this.#stream;
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
    const t = this.#stream?.trailers ?? null;
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
    const s = this.#stream;
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
    this.#replay = null;
    this.#ch.callEnded();
    if (this.#deadlineEntry !== undefined) {
      this.#ch.deadlines.remove(this.#deadlineEntry);
      this.#deadlineEntry = undefined;
    }
    if (this.#onAbort !== undefined) {
      this.#signal!.removeEventListener("abort", this.#onAbort);
      this.#onAbort = undefined;
    }
    if (this.#onDefaultAbort !== undefined) {
      this.#defaultSignal!.removeEventListener("abort", this.#onDefaultAbort);
      this.#onDefaultAbort = undefined;
    }
    this.#settleHeadersAtEnd();
    const t = this.#stream?.trailers ?? null;
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
