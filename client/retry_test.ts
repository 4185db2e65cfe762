// Unit tests of the retry decisions (client/retry.ts): throttle, buffer pool, pushback parsing,
// the backoff schedule with an injected random, attempt counting, hedging verdicts, commits.

import { assert, assertAlmostEquals, assertEquals, assertFalse } from "@std/assert";
import { Code } from "../status.ts";
import {
  backoffMs,
  CallRetryState,
  HedgeVerdict,
  type HedgingPolicy,
  pushback,
  PUSHBACK_STOP,
  RetryBufferPool,
  type RetryPolicy,
  type RetrySettings,
  RetryThrottler,
  SYSTEM_RETRY_CLOCK,
} from "./retry.ts";

const RP: RetryPolicy = {
  maxAttempts: 5,
  initialBackoffMs: 100,
  maxBackoffMs: 1000,
  backoffMultiplier: 2,
  retryableStatusCodes: new Set([Code.Unavailable]),
};

const HP: HedgingPolicy = {
  maxAttempts: 3,
  hedgingDelayMs: 50,
  nonFatalStatusCodes: new Set([Code.Unavailable]),
};

function settings(o: Partial<RetrySettings> = {}): RetrySettings {
  return {
    maxCallAttempts: 5,
    perRpcBufferSize: 256 * 1024,
    pool: new RetryBufferPool(16 * 1024 * 1024),
    throttler: undefined,
    random: () => 0.5,
    ...o,
  };
}

Deno.test("RetryThrottler: failures take a token, successes add tokenRatio, half or less stops", () => {
  const t = new RetryThrottler(10, 0.5);
  assertEquals(t.tokens, 10);
  for (let i = 0; i < 4; i++) assert(t.failure()); // 9, 8, 7, 6
  assertFalse(t.failure()); // 5 = half: throttled
  assertFalse(t.allowsRetry);
  t.success(); // 5.5
  assert(t.allowsRetry);
  for (let i = 0; i < 20; i++) t.failure();
  assertEquals(t.tokens, 0); // never below 0
  for (let i = 0; i < 100; i++) t.success();
  assertEquals(t.tokens, 10); // never above maxTokens
});

Deno.test("RetryBufferPool: allocations beyond the limit fail and take nothing", () => {
  const p = new RetryBufferPool(100);
  assert(p.allocate(60));
  assertFalse(p.allocate(41));
  assertEquals(p.used, 60);
  assert(p.allocate(40));
  p.release(100);
  assertEquals(p.used, 0);
});

Deno.test("pushback(): none, a delay, and stop for negative, malformed or repeated values", () => {
  assertEquals(pushback(null), undefined);
  assertEquals(pushback(["grpc-status", "14"]), undefined);
  assertEquals(pushback(["grpc-retry-pushback-ms", "250"]), 250);
  assertEquals(pushback(["grpc-retry-pushback-ms", "0"]), 0);
  assertEquals(pushback(["grpc-retry-pushback-ms", "-1"]), PUSHBACK_STOP);
  assertEquals(pushback(["grpc-retry-pushback-ms", "12ms"]), PUSHBACK_STOP);
  assertEquals(pushback(["grpc-retry-pushback-ms", ""]), PUSHBACK_STOP);
  assertEquals(pushback(["grpc-retry-pushback-ms", "2147483648"]), PUSHBACK_STOP);
  assertEquals(
    pushback(["grpc-retry-pushback-ms", "10", "grpc-retry-pushback-ms", "10"]),
    PUSHBACK_STOP,
  );
});

Deno.test("backoffMs(): initial × multiplier^n capped at maxBackoff, jitter in [0.8, 1.2)", () => {
  assertEquals(backoffMs(RP, 0, 0.5), 100);
  assertEquals(backoffMs(RP, 1, 0.5), 200);
  assertEquals(backoffMs(RP, 3, 0.5), 800);
  assertEquals(backoffMs(RP, 4, 0.5), 1000);
  assertEquals(backoffMs(RP, 10, 0.5), 1000);
  assertAlmostEquals(backoffMs(RP, 0, 0), 80);
  assertAlmostEquals(backoffMs(RP, 4, 0.999999), 1200, 1e-3);
});

Deno.test("CallRetryState.retryDelay(): the schedule, then maxAttempts ends it", () => {
  const randoms = [0, 0.25, 0.5, 0.75];
  let i = 0;
  const st = new CallRetryState(settings({ random: () => randoms[i++] }), RP, undefined);
  assertEquals(st.maxAttempts, 5);
  const delays = [];
  for (;;) {
    const d = st.retryDelay(Code.Unavailable, undefined);
    if (d < 0) break;
    delays.push(Math.round(d));
  }
  // 100×0.8, 200×0.9, 400×1.0, 800×1.1; then 5 attempts were made.
  assertEquals(delays, [80, 180, 400, 880]);
  assertEquals(st.attempts, 5);
});

Deno.test("CallRetryState: maxAttempts is capped by maxCallAttempts", () => {
  const st = new CallRetryState(settings({ maxCallAttempts: 2 }), RP, undefined);
  assertEquals(st.maxAttempts, 2);
  assert(st.retryDelay(Code.Unavailable, undefined) >= 0);
  assertEquals(st.retryDelay(Code.Unavailable, undefined), -1);
});

Deno.test("CallRetryState.retryDelay(): codes outside retryableStatusCodes are not retried", () => {
  const st = new CallRetryState(settings(), RP, undefined);
  assertEquals(st.retryDelay(Code.Internal, undefined), -1);
  assertEquals(st.attempts, 1);
});

Deno.test("CallRetryState.retryDelay(): pushback sets the delay and resets the backoff", () => {
  const st = new CallRetryState(settings(), RP, undefined);
  assertEquals(st.retryDelay(Code.Unavailable, undefined), 100);
  assertEquals(st.retryDelay(Code.Unavailable, undefined), 200);
  assertEquals(st.retryDelay(Code.Unavailable, 7), 7);
  assertEquals(st.retryDelay(Code.Unavailable, undefined), 100); // back to initialBackoff
});

Deno.test("CallRetryState.retryDelay(): pushback stop ends retries and counts as a failure", () => {
  const t = new RetryThrottler(10, 1);
  const st = new CallRetryState(settings({ throttler: t }), RP, undefined);
  assertEquals(st.retryDelay(Code.Internal, PUSHBACK_STOP), -1); // even for a fatal code
  assertEquals(t.tokens, 9);
});

Deno.test("CallRetryState.retryDelay(): the throttle stops retries at half its tokens", () => {
  const t = new RetryThrottler(4, 1);
  const a = new CallRetryState(settings({ throttler: t }), RP, undefined);
  assert(a.retryDelay(Code.Unavailable, undefined) >= 0); // 3 tokens
  assertEquals(a.retryDelay(Code.Unavailable, undefined), -1); // 2 = half: stop
  assertEquals(t.tokens, 2);
  // A non-retryable code takes no token.
  const b = new CallRetryState(settings({ throttler: t }), RP, undefined);
  assertEquals(b.retryDelay(Code.NotFound, undefined), -1);
  assertEquals(t.tokens, 2);
  b.succeeded();
  assertEquals(t.tokens, 3);
  const c = new CallRetryState(settings({ throttler: t }), RP, undefined);
  assertEquals(c.retryDelay(Code.Unavailable, undefined), -1); // 2 again
});

Deno.test("CallRetryState.buffer(): commits past the per-call limit", () => {
  const pool = new RetryBufferPool(1000);
  const st = new CallRetryState(settings({ perRpcBufferSize: 100, pool }), RP, undefined);
  assert(st.buffer(60));
  assert(st.buffer(40));
  assertFalse(st.buffer(1));
  assertEquals(pool.used, 100);
  st.commit();
  assert(st.committed);
  assertEquals(pool.used, 0);
  assertFalse(st.buffer(1));
  assertEquals(st.retryDelay(Code.Unavailable, undefined), -1); // committed: no retry
});

Deno.test("CallRetryState.buffer(): commits when the channel's pool is full", () => {
  const pool = new RetryBufferPool(100);
  const a = new CallRetryState(settings({ pool }), RP, undefined);
  const b = new CallRetryState(settings({ pool }), RP, undefined);
  assert(a.buffer(80));
  assertFalse(b.buffer(30));
  a.commit();
  assert(b.buffer(30));
  assertEquals(pool.used, 30);
});

Deno.test("CallRetryState hedging: non-fatal continues, fatal ends, pushback delays or stops", () => {
  const st = new CallRetryState(settings(), undefined, HP);
  assertEquals(st.maxAttempts, 3);
  assertEquals(st.nextHedgeDelayMs, 50);
  assert(st.takeHedge()); // attempt 2
  assertEquals(st.hedgeAfterFailure(Code.Unavailable, undefined), HedgeVerdict.Continue);
  assertEquals(st.nextHedgeDelayMs, 0);
  assertEquals(st.hedgeAfterFailure(Code.Unavailable, 30), HedgeVerdict.Continue);
  assertEquals(st.nextHedgeDelayMs, 30);
  assertEquals(st.hedgeAfterFailure(Code.Internal, undefined), HedgeVerdict.Fatal);
  assert(st.takeHedge()); // attempt 3
  assertFalse(st.takeHedge()); // maxAttempts
  const s2 = new CallRetryState(settings(), undefined, HP);
  assertEquals(s2.hedgeAfterFailure(Code.Unavailable, PUSHBACK_STOP), HedgeVerdict.NoMore);
  assertFalse(s2.takeHedge());
});

Deno.test("CallRetryState hedging: the throttle stops new hedges", () => {
  const t = new RetryThrottler(2, 1);
  const st = new CallRetryState(settings({ throttler: t }), undefined, HP);
  assertEquals(st.hedgeAfterFailure(Code.Unavailable, undefined), HedgeVerdict.Continue);
  assertEquals(t.tokens, 1);
  assertFalse(st.takeHedge());
  t.success();
  assert(st.takeHedge());
});

Deno.test("CallRetryState without a policy: one attempt, buffers for transparent retries", () => {
  const st = new CallRetryState(settings(), undefined, undefined);
  assertEquals(st.maxAttempts, 1);
  assertEquals(st.retryDelay(Code.Unavailable, undefined), -1);
  assertFalse(st.takeHedge());
  assert(st.buffer(10));
  assertEquals(st.bufferedBytes, 10);
});

Deno.test("SYSTEM_RETRY_CLOCK.setTimer(): a delay of 2^31 ms or more does not fire at once", async () => {
  let fired = false;
  const h = SYSTEM_RETRY_CLOCK.setTimer(() => fired = true, 2 ** 40);
  await new Promise((r) => setTimeout(r, 20));
  SYSTEM_RETRY_CLOCK.clearTimer(h);
  assertFalse(fired);
});
