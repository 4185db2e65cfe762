// One client call and its attempts: opening the stream (waiting for a connection or a stream
// slot), sending with the transparent-retry replay buffer, receiving and decoding, headers and
// trailers, cancellation and the deadline (grpc-go stream.go: clientStream, csAttempt).

import type { MethodDefinition } from "../codec.ts";
import { Code, StatusError } from "../status.ts";
import { Metadata } from "../metadata.ts";
import { type Compressor, getCompressor } from "../compression.ts";
import type { DeadlineEntry } from "../internal/deadline_timers.ts";
import {
  callEnded,
  ClientStream as TransportStream,
  ClientTransport,
  TransportDrainingError,
} from "../transport/http2_client.ts";
import { ErrorCode } from "../transport/frame.ts";
import type { Channel } from "./channel.ts";
import { errorText } from "./errors.ts";
import { checkSize, type InternalCallOptions, resolveCompressor, toMetadata } from "./options.ts";
import type { ClientStream, SendOptions } from "./stream.ts";

/** grpc-go defaultMaxCallAttempts: transparent retries of one call stop after this many. */
const MAX_CALL_ATTEMPTS = 5;
/** grpc-go defaultRetryBufferSize (WithMaxRetryRPCBufferSize): bytes kept per call for retries. */
const RETRY_BUFFER_SIZE = 256 * 1024;
/** setTimeout fires at once for delays of 2^31 ms or more (STYLE.md §7): no timer then. */
const MAX_TIMER_MS = 2 ** 31 - 1;

function noop(): void {}

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
        r = t.newStream(this.#requestHeaders(), this.#maxRecv, this.#deadline);
      } catch {
        // Draining or closed since: the slow path below picks another transport.
      }
      if (r instanceof TransportStream) {
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

  #startOpen(t: ClientTransport | undefined, wait: Promise<TransportStream> | undefined): void {
    const p = this.#openAsync(t, wait);
    // Failures reach the caller through sendMsg/recvMsg; this copy must not go unhandled.
    p.catch(noop);
    // #openAsync may have attached synchronously (and cleared #opening) before returning.
    if (this.#ts === null) this.#opening = p;
  }

  #requestHeaders(): string[] {
    const prefix = this.#ch.headerPrefix(this.method.path);
    const c = this.#compressor;
    if (c === undefined && this.#metadata === undefined) return prefix;
    const h = prefix.slice();
    if (c !== undefined) h.push("grpc-encoding", c.name);
    this.#metadata?.appendTo(h);
    // grpc-timeout: the transport adds what is left of #deadline when it writes the HEADERS.
    return h;
  }

  /**
   * Opens the attempt's stream, waiting for a connection or a stream slot when needed. `wait`
   * is a slot wait `pendingOn` already gave.
   */
  async #openAsync(
    pendingOn: ClientTransport | undefined,
    wait: Promise<TransportStream> | undefined,
  ): Promise<TransportStream> {
    try {
      for (;;) {
        if (this.#done) throw this.#error!;
        let r = wait;
        let t = pendingOn;
        wait = pendingOn = undefined;
        if (r === undefined || t === undefined) {
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
            const s = t.newStream(this.#requestHeaders(), this.#maxRecv, this.#deadline);
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
        // Waiting for a MAX_CONCURRENT_STREAMS slot. Cancelling the call withdraws the wait,
        // so no stream is ever opened for it (opening and resetting it would count against
        // the server's rapid-reset budget).
        const slot = r, on = t;
        let s: TransportStream;
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
    this.#startOpen(undefined, undefined);
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
    // Sending after the end is reported, not dropped in silence (grpc-go SendMsg: io.EOF).
    if (this.#done) return Promise.reject(this.#error ?? callEnded());
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
