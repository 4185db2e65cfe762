// Retries and hedging (gRFC A6): one call's attempt bookkeeping (attempt counts, backoff with
// jitter, server pushback, commit at the retry-buffer limits) and the per-channel retry throttle
// and retry-buffer pool. The call (client/call.ts) owns the attempts and timers; this file only
// decides. grpc-go: stream.go (csAttempt.shouldRetry, clientStream.bufferForRetryLocked) and
// clientconn.go (retryThrottler); hedging and the channel-wide buffer after grpc-js
// retrying-call.ts (grpc-go has neither). The policies come from the service config
// (client/service_config.ts).

import type { HedgingPolicy, RetryPolicy } from "./service_config.ts";

export type { HedgingPolicy, RetryPolicy };

/** grpc-go defaultRetryBufferSize (MaxRetryRPCBufferSize): request bytes kept per call. */
export const DEFAULT_PER_RPC_RETRY_BUFFER_SIZE = 256 * 1024;
/** grpc-js `grpc.retry_buffer_size`: request bytes kept for retries by all calls of a channel. */
export const DEFAULT_RETRY_BUFFER_SIZE = 16 * 1024 * 1024;
/** The trailer by which a server asks for a retry delay, or for none (gRFC A6 "Pushback"). */
export const PUSHBACK_HEADER = "grpc-retry-pushback-ms";
/** The request header that counts the attempts before this one (gRFC A6). */
export const PREVIOUS_ATTEMPTS_HEADER = "grpc-previous-rpc-attempts";
/**
 * How often a call is retried transparently when the server never processed its stream
 * (REFUSED_STREAM, GOAWAY above its id): once, as gRFC A6 "Transparent Retries", grpc-go
 * (firstAttempt) and grpc-js (transparentRetryUsed) do; then the policy decides.
 */
export const MAX_TRANSPARENT_RETRIES = 1;

/** The timers and randomness retries use; tests inject their own. */
export interface RetryClock {
  /** A number in [0, 1), for the backoff jitter. */
  random(): number;
  /** Runs `fn` after `ms`; returns a handle for clearTimer. */
  setTimer(fn: () => void, ms: number): unknown;
  /** Stops a timer set by setTimer (a no-op once it ran). */
  clearTimer(handle: unknown): void;
}

/** setTimeout fires at once for delays of 2^31 ms or more (STYLE.md §7): longer ones wait this. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** The real clock: Math.random and setTimeout (delays capped at ~24.8 days). */
export const SYSTEM_RETRY_CLOCK: RetryClock = Object.freeze({
  random: Math.random,
  setTimer: (fn: () => void, ms: number): unknown => setTimeout(fn, Math.min(ms, MAX_TIMER_MS)),
  clearTimer: (handle: unknown): void => clearTimeout(handle as number),
});

/**
 * The per-channel token bucket of gRFC A6 "retryThrottling". Starts full (`maxTokens`); a
 * failed attempt (a retryable or non-fatal code, or pushback saying stop) takes one token, a
 * successful call gives back `tokenRatio`; while the tokens are at or below half of
 * `maxTokens`, nothing is retried or hedged. grpc-go: retryThrottler.
 */
export class RetryThrottler {
  readonly maxTokens: number;
  readonly tokenRatio: number;
  #tokens: number;

  constructor(maxTokens: number, tokenRatio: number) {
    this.maxTokens = maxTokens;
    this.tokenRatio = tokenRatio;
    this.#tokens = maxTokens;
  }

  /** The tokens left, in [0, maxTokens]. */
  get tokens(): number {
    return this.#tokens;
  }

  /** True while retries and hedges may go out: more than half the tokens are left. */
  get allowsRetry(): boolean {
    return this.#tokens > this.maxTokens / 2;
  }

  /** A failed attempt: takes a token. Returns whether retries are still allowed. */
  failure(): boolean {
    this.#tokens = Math.max(0, this.#tokens - 1);
    return this.allowsRetry;
  }

  /** A call that succeeded: gives back `tokenRatio`. */
  success(): void {
    this.#tokens = Math.min(this.maxTokens, this.#tokens + this.tokenRatio);
  }
}

/**
 * Request bytes kept for retries by all calls of one channel (gRFC A6 "Memory Management"). A
 * call whose next message does not fit commits to its attempt. grpc-js: MessageBufferTracker.
 */
export class RetryBufferPool {
  readonly limit: number;
  #used = 0;

  constructor(limit: number) {
    this.limit = limit;
  }

  /** Bytes held now. */
  get used(): number {
    return this.#used;
  }

  /** Takes `n` bytes if they fit; false (nothing taken) if not. */
  allocate(n: number): boolean {
    if (this.#used + n > this.limit) return false;
    this.#used += n;
    return true;
  }

  /** Gives back `n` bytes taken by allocate. */
  release(n: number): void {
    this.#used = Math.max(0, this.#used - n);
  }
}

/** `pushback()` result: the server asked not to retry (negative, malformed or repeated). */
export const PUSHBACK_STOP = -1;

/**
 * The server's pushback in the trailers (flat `[name, value, …]`): undefined when there is
 * none, else the delay in ms, or {@linkcode PUSHBACK_STOP}. gRFC A6: the value is a signed
 * 32-bit decimal integer; negative or unparseable means "do not retry"; grpc-go also stops on
 * more than one value.
 */
export function pushback(trailers: readonly string[] | null): number | undefined {
  if (trailers === null) return undefined;
  let found: number | undefined;
  for (let i = 0; i < trailers.length; i += 2) {
    if (trailers[i] !== PUSHBACK_HEADER) continue;
    if (found !== undefined) return PUSHBACK_STOP;
    const v = trailers[i + 1];
    const n = /^-?[0-9]{1,10}$/.test(v) ? Number(v) : NaN;
    found = n >= 0 && n <= 0x7fffffff ? n : PUSHBACK_STOP;
  }
  return found;
}

/** What a hedged call does after one of its attempts failed. */
export const HedgeVerdict = Object.freeze({
  /** A fatal code: end the call with it, cancelling the other attempts. */
  Fatal: 0,
  /** Non-fatal: start the next attempt after `nextHedgeDelayMs` (if any may start). */
  Continue: 1,
  /** Non-fatal, but no further attempt may start (pushback said stop): wait for the others. */
  NoMore: 2,
});
/** One of {@linkcode HedgeVerdict}'s values. */
export type HedgeVerdict = typeof HedgeVerdict[keyof typeof HedgeVerdict];

/** The options a call's retry state is made from (the channel's resolved retry settings). */
export interface RetrySettings {
  /** `maxAttempts` of policies is capped at this. grpc-go: WithMaxCallAttempts. */
  readonly maxCallAttempts: number;
  /** Request bytes kept per call before it commits. grpc-go: MaxRetryRPCBufferSize. */
  readonly perRpcBufferSize: number;
  /** The channel's pool for the bytes kept by all its calls. */
  readonly pool: RetryBufferPool;
  /** The channel's throttle, or undefined when the service config sets none. */
  readonly throttler: RetryThrottler | undefined;
  /** Random numbers for the jitter. */
  readonly random: () => number;
}

/**
 * One call's retry or hedging state (grpc-go: clientStream's numRetries,
 * numRetriesSincePushback, committed, replayBufferSize). With neither policy it still tracks the
 * buffer (for transparent retries) and commits.
 */
export class CallRetryState {
  readonly retryPolicy: RetryPolicy | undefined;
  readonly hedgingPolicy: HedgingPolicy | undefined;
  /** maxAttempts of the policy after the cap; 1 without a policy. */
  readonly maxAttempts: number;
  readonly #s: RetrySettings;
  /** Attempts started (transparent retries not counted). */
  attempts = 1;
  /** Retries since the last pushback (resets the backoff). */
  #sincePushback = 0;
  /** Pushback said stop: no more attempts of any kind under the policy. */
  #stopped = false;
  /** Bytes of request messages kept; -1 once committed. */
  #buffered = 0;
  /** For hedging: the delay before the next attempt, in ms (pushback changes it once). */
  nextHedgeDelayMs = 0;

  constructor(
    settings: RetrySettings,
    retryPolicy: RetryPolicy | undefined,
    hedgingPolicy: HedgingPolicy | undefined,
  ) {
    this.#s = settings;
    if (retryPolicy !== undefined) {
      this.retryPolicy = retryPolicy;
      this.maxAttempts = Math.min(retryPolicy.maxAttempts, settings.maxCallAttempts);
    } else if (hedgingPolicy !== undefined) {
      this.hedgingPolicy = hedgingPolicy;
      this.maxAttempts = Math.min(hedgingPolicy.maxAttempts, settings.maxCallAttempts);
      this.nextHedgeDelayMs = hedgingPolicy.hedgingDelayMs;
    } else {
      this.maxAttempts = 1;
    }
  }

  /** True once the call chose its attempt: no more retries or hedges, nothing kept. */
  get committed(): boolean {
    return this.#buffered < 0;
  }

  /** Bytes kept for replay now. */
  get bufferedBytes(): number {
    return this.#buffered < 0 ? 0 : this.#buffered;
  }

  /**
   * Keeps `n` more request bytes for replay. False when they do not fit the per-call or the
   * channel limit: the call must commit now (and the message is not kept). grpc-go:
   * bufferForRetryLocked.
   */
  buffer(n: number): boolean {
    if (this.#buffered < 0) return false;
    if (this.#buffered + n > this.#s.perRpcBufferSize || !this.#s.pool.allocate(n)) return false;
    this.#buffered += n;
    return true;
  }

  /** Commits: gives the kept bytes back to the channel's pool. Idempotent. */
  commit(): void {
    if (this.#buffered < 0) return;
    this.#s.pool.release(this.#buffered);
    this.#buffered = -1;
  }

  /** The call ended OK: the throttle gets `tokenRatio` back. */
  succeeded(): void {
    this.#s.throttler?.success();
  }

  /**
   * An attempt of a call under a retry policy ended with `code` before the call committed.
   * Returns the delay in ms before the next attempt, or -1 to end the call with this status.
   * In grpc-go's order (csAttempt.shouldRetry): pushback saying stop counts as a throttle
   * failure and stops; a code outside retryableStatusCodes stops; a retryable code takes a
   * throttle token (and stops when that leaves half or less); then maxAttempts; then the delay:
   * the pushback exactly, else min(initialBackoff × multiplier^n, maxBackoff) × [0.8, 1.2)
   * where n counts retries since the last pushback.
   */
  retryDelay(code: number, pushbackMs: number | undefined): number {
    const rp = this.retryPolicy;
    if (rp === undefined || this.#buffered < 0) return -1;
    const t = this.#s.throttler;
    if (pushbackMs === PUSHBACK_STOP) {
      t?.failure();
      return -1;
    }
    if (!rp.retryableStatusCodes.has(code)) return -1;
    if (t !== undefined && !t.failure()) return -1;
    if (this.attempts >= this.maxAttempts) return -1;
    let delay: number;
    if (pushbackMs !== undefined) {
      delay = pushbackMs;
      this.#sincePushback = 0;
    } else {
      delay = backoffMs(rp, this.#sincePushback, this.#s.random());
      this.#sincePushback++;
    }
    this.attempts++;
    return delay;
  }

  /**
   * An attempt of a hedged call ended with `code` before the call committed. Fatal codes end
   * the call; a non-fatal one takes a throttle token, and pushback sets the delay before the
   * next attempt (`nextHedgeDelayMs`; 0 without pushback: the next attempt starts at once) or
   * stops further attempts (gRFC A6 "Summary of Retry and Hedging Logic").
   */
  hedgeAfterFailure(code: number, pushbackMs: number | undefined): HedgeVerdict {
    const hp = this.hedgingPolicy;
    if (hp === undefined || this.#buffered < 0) return HedgeVerdict.Fatal;
    if (pushbackMs === PUSHBACK_STOP) {
      this.#s.throttler?.failure();
      this.#stopped = true;
    }
    if (!hp.nonFatalStatusCodes.has(code)) return HedgeVerdict.Fatal;
    if (this.#stopped) return HedgeVerdict.NoMore;
    this.#s.throttler?.failure();
    this.nextHedgeDelayMs = pushbackMs ?? 0;
    return HedgeVerdict.Continue;
  }

  /**
   * Whether another hedged attempt may start now: attempts left, no pushback stop, not
   * committed, and the throttle allows it. Counts the attempt when it returns true.
   */
  takeHedge(): boolean {
    if (this.hedgingPolicy === undefined || this.#buffered < 0 || this.#stopped) return false;
    if (this.attempts >= this.maxAttempts) return false;
    const t = this.#s.throttler;
    if (t !== undefined && !t.allowsRetry) return false;
    this.attempts++;
    return true;
  }
}

/**
 * The backoff before retry `n` (0 for the first retry, counted since the last pushback), in ms:
 * min(initialBackoff × multiplier^n, maxBackoff) × (0.8 + 0.4 × random), as gRFC A6 (updated
 * 2024), grpc-go and grpc-js compute it.
 */
export function backoffMs(rp: RetryPolicy, n: number, random: number): number {
  const base = Math.min(rp.initialBackoffMs * rp.backoffMultiplier ** n, rp.maxBackoffMs);
  return base * (0.8 + 0.4 * random);
}
