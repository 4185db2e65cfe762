// One client call (grpc-go stream.go: clientStream): its attempts (client/attempt.ts) and the
// buffer of requests replayed on each; the commit to one attempt (first response headers, or the
// buffer limits); transparent retries, retries with backoff and hedging as client/retry.ts
// decides (gRFC A6); receiving and decoding from the committed attempt, headers and trailers,
// cancellation and the deadline over all attempts.

import type { MethodDefinition } from "../codec.ts";
import { Code, StatusError } from "../status.ts";
import { Metadata } from "../metadata.ts";
import { type Compressor, getCompressor } from "../compression.ts";
import { headerValue } from "../internal/headers.ts";
import { isDeadlineReason } from "../internal/abort.ts";
import type { DeadlineEntry } from "../internal/deadline_timers.ts";
import { callEnded, type ClientTransportStream } from "../transport/http2_client.ts";
import type { Channel } from "./channel.ts";
import { errorText } from "../internal/error_message.ts";
import { decodeMessage, type EncodedMessage, encodeMessage } from "../internal/message.ts";
import { withCallerFrames } from "../internal/caller_frames.ts";
import { CALL, type InternalCallOptions, toMetadata } from "./options.ts";
import { checkCompression, checkInt } from "../internal/option_checks.ts";
import type { ClientStream, SendOptions } from "./stream.ts";
import type { CallCredentials } from "../credentials/call.ts";
import { Attempt, type AttemptHost } from "./attempt.ts";
import {
  type CallRetryState,
  HedgeVerdict,
  MAX_TRANSPARENT_RETRIES,
  PREVIOUS_ATTEMPTS_HEADER,
  pushback,
} from "./retry.ts";

/** setTimeout fires at once for delays of 2^31 ms or more (STYLE.md §7): no timer then. */
const MAX_TIMER_MS = 2 ** 31 - 1;

const RESOLVED: Promise<void> = Promise.resolve();

/** Why a hedged attempt that lost the race was cancelled (grpc-js's words). */
const DISCARDED = new StatusError(Code.Canceled, "Discarded in favor of other hedged attempt");

// The call ended OK and an attempt still asks (it stops).
function callOver(): StatusError {
  return new StatusError(Code.Canceled, "Call already ended");
}

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

/** One call (grpc-go clientStream): its attempts, the replay buffer, retries and hedging. */
export class Call<Req, Res> implements ClientStream<Req, Res>, AttemptHost {
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

  // Attempts (grpc-go csAttempt). Before the call commits there may be several (hedging) or a
  // next one waiting for its backoff (#timer); once committed, only #committed matters.
  readonly #retry: CallRetryState;
  #active: Attempt[] = [];
  /** The attempt whose outcome is the call's: first response headers, or the final failure. */
  #committed: Attempt | null = null;
  #commitWait: Deferred<void> | null = null;
  /** Non-fatal failure of a hedged attempt, reported if no other attempt succeeds. */
  #lastFailed: Attempt | null = null;
  #timer: unknown = undefined;
  #transparentRetries = 0;

  // Sending: request messages kept for replay on a new attempt until the call commits (every
  // attached attempt has been sent all of them); after the commit, only those the committed
  // attempt has not been sent yet (it was still opening).
  #buffer: EncodedMessage[] = [];
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
    this.#retry = ch.newRetryState(mc);
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
    this.#startAttempt(0);
    if (this.#retry.hedgingPolicy !== undefined) this.#armHedge(this.#retry.nextHedgeDelayMs);
  }

  // ---- attempts (AttemptHost: internal, not part of ClientStream) ----------------------------

  get channel(): Channel {
    return this.#ch;
  }

  /** The call's deadline (epoch ms; Infinity for none): the transport writes grpc-timeout. */
  get deadline(): number {
    return this.#deadline;
  }

  get waitForReady(): boolean {
    return this.#waitForReady;
  }

  get maxReceiveMessageSize(): number {
    return this.#maxRecv;
  }

  get path(): string {
    return this.method.path;
  }

  get metadata(): Metadata | undefined {
    return this.#metadata;
  }

  get hasCallCredentials(): boolean {
    return this.#callCreds !== undefined;
  }

  // Per attempt (grpc-go createHeaderFields): a failure fails the attempt with its status (A54
  // restricted codes become INTERNAL), which the retry policy then judges; an insecure channel
  // refuses them (UNAUTHENTICATED) unless they allow it.
  callCredentialHeaders(signal: AbortSignal): Promise<string[]> {
    const path = this.method.path;
    return this.#callCreds!.headersFor(
      {
        serviceUrl: `https://${this.#ch.authority}${path.slice(0, path.lastIndexOf("/"))}`,
        methodName: path.slice(path.lastIndexOf("/") + 1),
        signal,
      },
      this.#ch.opts.credentials.protocol !== "insecure",
    );
  }

  get endedWith(): StatusError | null {
    return this.#done ? this.#error ?? callOver() : null;
  }

  #startAttempt(previous: number): void {
    const a = new Attempt(this, previous);
    this.#active.push(a);
    a.start();
  }

  requestHeaders(a: Attempt): string[] {
    const prefix = this.#ch.headerPrefix(this.method.path);
    const c = this.#compressor;
    if (
      c === undefined && this.#metadata === undefined && a.previous === 0 &&
      a.credHeaders === undefined
    ) {
      return prefix;
    }
    const h = prefix.slice();
    if (c !== undefined) h.push("grpc-encoding", c.name);
    if (a.previous > 0) h.push(PREVIOUS_ATTEMPTS_HEADER, String(a.previous));
    const ch = a.credHeaders;
    if (ch !== undefined) h.push(...ch);
    this.#metadata?.appendTo(h);
    // grpc-timeout: the transport adds what is left of the deadline when it writes the HEADERS.
    return h;
  }

  attached(a: Attempt, s: ClientTransportStream): void {
    // Replay: the attempt gets every request kept so far, and END_STREAM if sent.
    const buf = this.#buffer;
    if (buf.length > 0) {
      const last = buf.length - 1;
      for (let i = 0; i < last; i++) s.sendMsg(buf[i][0], buf[i][1], false).catch(noop);
      s.sendMsg(buf[last][0], buf[last][1], this.#halfClosed).catch(noop);
    } else if (this.#halfClosed) {
      s.closeSend();
    }
    if (a === this.#committed) {
      this.#buffer = []; // all sent: nothing more to keep
      if (this.#headers !== null || this.#onHeader !== undefined) this.#watchCommitted(s);
      return;
    }
    // Until the call commits, the attempt's first response headers (commit) or its end without
    // them (retry, hedge, or the call's status) decide what follows.
    s.headers().then(() => this.#gotResponse(a), () => this.#attemptEnded(a));
  }

  openFailed(a: Attempt): void {
    this.#attemptEnded(a);
  }

  // The attempt's response headers arrived: it wins (gRFC A6 "When Retries are Valid").
  #gotResponse(a: Attempt): void {
    if (this.#done || a.ended || (this.#committed !== null && this.#committed !== a)) return;
    this.#commit(a);
    const h = a.stream!.responseHeaders;
    if (h !== null) this.#gotHeaders(Metadata.fromHeaders(h));
  }

  /** The attempt ended before the call committed: retry, hedge, or end the call with it. */
  #attemptEnded(a: Attempt): void {
    if (this.#done || this.#committed !== null) return;
    const i = this.#active.indexOf(a);
    if (i < 0) return; // discarded
    this.#active.splice(i, 1);
    a.ended = true;
    const s = a.stream;
    const st = this.#retry;
    // Never processed by the server (REFUSED_STREAM, GOAWAY above its id): retry at once,
    // outside the policy (gRFC A6 "Transparent Retries").
    if (
      s !== null && s.refused && !st.committed && this.#transparentRetries < MAX_TRANSPARENT_RETRIES
    ) {
      this.#transparentRetries++;
      this.#startAttempt(a.previous);
      return;
    }
    // A dropped pick ends the call as it is (gRFC A6 "Transparent Retries": DROP).
    if (a.dropped) return this.#commit(a);
    const err = s === null ? a.openError : s.error;
    // A Trailers-Only OK (no headers, no messages) is the call's result.
    if (err === null) return this.#commit(a);
    const code = err.code;
    const pb = pushback(s?.trailers ?? null);
    if (st.hedgingPolicy !== undefined) {
      const v = st.hedgeAfterFailure(code, pb);
      if (v === HedgeVerdict.Fatal) return this.#commit(a);
      this.#lastFailed = a;
      if (v === HedgeVerdict.Continue) this.#armHedge(st.nextHedgeDelayMs);
      else this.#clearTimer(); // pushback said stop: no more attempts
      if (this.#active.length === 0 && this.#timer === undefined) this.#commit(a);
      return;
    }
    const delay = st.retryDelay(code, pb);
    if (delay < 0) return this.#commit(a);
    this.#clearTimer();
    this.#timer = this.#ch.retryClock.setTimer(() => {
      this.#timer = undefined;
      if (this.#done || this.#committed !== null) return;
      this.#startAttempt(st.attempts - 1);
    }, delay);
  }

  // Hedging: the next attempt after `delayMs` (at once for 0), and so on every hedgingDelay.
  #armHedge(delayMs: number): void {
    this.#clearTimer();
    if (delayMs <= 0) return this.#hedge();
    this.#timer = this.#ch.retryClock.setTimer(() => {
      this.#timer = undefined;
      this.#hedge();
    }, delayMs);
  }

  #hedge(): void {
    if (this.#done || this.#committed !== null) return;
    const st = this.#retry;
    if (!st.takeHedge()) {
      // No attempt may start (maxAttempts, pushback stop, throttled): the last failure is the
      // call's status once no attempt is left.
      if (this.#active.length === 0 && this.#lastFailed !== null) this.#commit(this.#lastFailed);
      return;
    }
    this.#startAttempt(st.attempts - 1);
    if (st.attempts < st.maxAttempts) this.#armHedge(st.hedgingPolicy!.hedgingDelayMs);
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) {
      this.#ch.retryClock.clearTimer(this.#timer);
      this.#timer = undefined;
    }
  }

  /** Chooses `a` for good: the others are cancelled, nothing more is kept for replay. */
  #commit(a: Attempt): void {
    if (this.#committed !== null) return;
    this.#committed = a;
    this.#retry.commit();
    this.#clearTimer();
    const others = this.#active;
    this.#active = [];
    for (const o of others) {
      if (o !== a) o.cancel(DISCARDED);
    }
    if (a.stream !== null) this.#buffer = [];
    const w = this.#commitWait;
    if (w !== null) {
      this.#commitWait = null;
      w.resolve();
    }
  }

  // Under the buffer limit no more: commit to the attempt that got the most requests (any
  // attached one has been sent all), else the newest (gRFC A6 "Memory Management").
  #commitForBuffer(): void {
    const act = this.#active;
    let a = act.find((x) => x.stream !== null) ?? act[act.length - 1];
    if (a === undefined) {
      // Between attempts (backoff): no retry any more; the next attempt is committed.
      this.#clearTimer();
      a = new Attempt(this, this.#retry.attempts - 1);
      this.#active.push(a);
      this.#commit(a);
      a.start();
      return;
    }
    this.#commit(a);
  }

  /** The committed attempt's stream, waiting for the commit (and the stream) if needed. */
  async #committedStream(): Promise<ClientTransportStream> {
    for (;;) {
      const c = this.#committed;
      if (c !== null) {
        const s = c.stream ?? await c.opening;
        if (s == null) throw this.#error ?? callOver();
        return s;
      }
      if (this.#done) throw this.#error ?? callOver();
      await (this.#commitWait ??= deferred()).promise;
    }
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
    if (this.#committed === null) {
      if (this.#retry.buffer(m[0].length)) {
        // Kept for replay, and sent on every open attempt; the newest one paces the sender.
        this.#buffer.push(m);
        let p: Promise<void> | null = null;
        for (const a of this.#active) {
          const s = a.stream;
          if (s !== null) p = s.sendMsg(m[0], m[1], end);
          else p = a.opening!.then(noop);
        }
        return p === null ? RESOLVED : p.catch(this.#sendFailed);
      }
      // Over the per-call or channel limit: commit, and send this one unkept (gRFC A6).
      this.#commitForBuffer();
    }
    const c = this.#committed!;
    const s = c.stream;
    if (s === null) {
      // Still opening: queued; `attached` sends it.
      this.#buffer.push(m);
      return c.opening!.then(noop, this.#sendFailed);
    }
    return s.sendMsg(m[0], m[1], end);
  }

  // A send on an attempt failed: only the call's own failure is the sender's business (a
  // failed attempt may be retried; its status comes from recvMsg). Made once per call, on use.
  #sendFailedFn: (() => Promise<void>) | undefined;
  get #sendFailed(): () => Promise<void> {
    return this.#sendFailedFn ??= () =>
      this.#done && this.#error !== null ? Promise.reject(this.#error) : RESOLVED;
  }

  closeSend(): void {
    if (this.#halfClosed) return;
    this.#halfClosed = true;
    if (this.#done) return;
    const c = this.#committed;
    if (c !== null) {
      c.stream?.closeSend();
      return;
    }
    for (const a of this.#active) a.stream?.closeSend();
  }

  // ---- receiving ---------------------------------------------------------------------------

  // One message (or null at the end) from the committed attempt; its failures end the call.
  async #recvRaw(): Promise<[ClientTransportStream, Uint8Array | null]> {
    if (this.#done && this.#error !== null) throw this.#error;
    let s: ClientTransportStream;
    try {
      s = this.#committed?.stream ?? await this.#committedStream();
      return [s, await s.recvMsg()];
    } catch (err) {
      throw this.#fail(err);
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
      const s = this.#committed?.stream ?? null;
      if (this.#done) this.#settleHeadersAtEnd();
      else if (s !== null) this.#watchCommitted(s);
      return d.promise;
    }
    return this.#headers.promise;
  }

  // Headers asked for after the commit (or committed while opening): from the stream itself.
  #watchCommitted(s: ClientTransportStream): void {
    s.headers().then((h) => this.#gotHeaders(Metadata.fromHeaders(h)), (err) => {
      if (this.#headers?.settled !== false) return;
      if (s.trailers !== null) this.#gotHeaders(new Metadata()); // Trailers-Only
      else this.#headers.reject(this.#error ?? err);
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
    const s = this.#committed?.stream ?? null;
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
    const t = this.#committed?.stream?.trailers ?? null;
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

  /** Ends the call locally with `err`: RST_STREAM CANCEL on every open attempt. */
  #abort(err: StatusError): void {
    if (this.#done) return;
    const act = this.#active;
    const c = this.#committed;
    this.#active = [];
    this.#finish(err);
    for (const a of act) a.cancel(err);
    if (c !== null && !act.includes(c)) c.cancel(err);
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
    this.#buffer = [];
    this.#clearTimer();
    this.#retry.commit();
    if (err === null) this.#retry.succeeded();
    this.#active = [];
    const w = this.#commitWait;
    if (w !== null) {
      this.#commitWait = null;
      w.resolve(); // #committedStream sees #done
    }
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
    const t = this.#committed?.stream?.trailers ?? null;
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
