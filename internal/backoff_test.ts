import { assertAlmostEquals, assertEquals } from "@std/assert";
import {
  type BackoffConfig,
  backoffDelay,
  DEFAULT_BACKOFF,
  MIN_CONNECT_TIMEOUT_MS,
} from "./backoff.ts";

const NO_JITTER = () => 0.5; // random 0.5 makes the jitter factor exactly 1

Deno.test("DEFAULT_BACKOFF is grpc-go's DefaultConfig", () => {
  assertEquals(DEFAULT_BACKOFF, {
    baseDelayMs: 1_000,
    multiplier: 1.6,
    jitter: 0.2,
    maxDelayMs: 120_000,
  });
  assertEquals(Object.isFrozen(DEFAULT_BACKOFF), true);
  assertEquals(MIN_CONNECT_TIMEOUT_MS, 20_000);
});

Deno.test("backoffDelay() returns the base delay for retry 0, without jitter", () => {
  assertEquals(backoffDelay(0, DEFAULT_BACKOFF, () => 0), 1_000);
  assertEquals(backoffDelay(0, DEFAULT_BACKOFF, () => 0.999), 1_000);
});

Deno.test("backoffDelay() grows by the multiplier", () => {
  assertAlmostEquals(backoffDelay(1, DEFAULT_BACKOFF, NO_JITTER), 1_600, 1e-6);
  assertAlmostEquals(backoffDelay(2, DEFAULT_BACKOFF, NO_JITTER), 2_560, 1e-6);
  assertAlmostEquals(backoffDelay(3, DEFAULT_BACKOFF, NO_JITTER), 4_096, 1e-6);
  assertAlmostEquals(backoffDelay(10, DEFAULT_BACKOFF, NO_JITTER), 1_000 * 1.6 ** 10, 1e-6);
});

Deno.test("backoffDelay() caps at maxDelayMs", () => {
  // 1.6^11 = 175.9 s > 120 s.
  assertEquals(backoffDelay(11, DEFAULT_BACKOFF, NO_JITTER), 120_000);
  assertEquals(backoffDelay(1_000_000, DEFAULT_BACKOFF, NO_JITTER), 120_000);
});

Deno.test("backoffDelay() applies jitter within ±jitter", () => {
  assertAlmostEquals(backoffDelay(11, DEFAULT_BACKOFF, () => 0), 96_000, 1e-6);
  assertAlmostEquals(backoffDelay(11, DEFAULT_BACKOFF, () => 1), 144_000, 1e-6);
  assertAlmostEquals(backoffDelay(1, DEFAULT_BACKOFF, () => 0.25), 1_600 * 0.9, 1e-6);
  for (let i = 0; i < 1_000; i++) {
    const d = backoffDelay(5);
    const mid = 1_000 * 1.6 ** 5;
    if (d < mid * 0.8 || d > mid * 1.2) throw new Error(`out of range: ${d}`);
  }
});

Deno.test("backoffDelay() is never negative", () => {
  const config: BackoffConfig = { baseDelayMs: 10, multiplier: 2, jitter: 3, maxDelayMs: 100 };
  assertEquals(backoffDelay(1, config, () => 0), 0);
  assertEquals(backoffDelay(1, config, NO_JITTER), 20);
});

Deno.test("backoffDelay() uses a custom config", () => {
  const config: BackoffConfig = { baseDelayMs: 100, multiplier: 2, jitter: 0, maxDelayMs: 1_000 };
  assertEquals([0, 1, 2, 3, 4, 5].map((r) => backoffDelay(r, config)), [
    100,
    200,
    400,
    800,
    1_000,
    1_000,
  ]);
});
