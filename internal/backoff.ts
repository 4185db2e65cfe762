// Exponential connection backoff. grpc-go: internal/backoff/backoff.go (Exponential.Backoff) and
// backoff/backoff.go (Config, DefaultConfig), after grpc/grpc doc/connection-backoff.md.

/** Backoff parameters. grpc-go: backoff.Config. */
export interface BackoffConfig {
  /** Delay after the first failure, in ms. grpc-go: BaseDelay. */
  baseDelayMs: number;
  /** Factor applied to the delay after each further failure; ideally > 1. grpc-go: Multiplier. */
  multiplier: number;
  /** Randomization: the delay is scaled by a factor in [1 - jitter, 1 + jitter]. grpc-go: Jitter. */
  jitter: number;
  /** Upper bound of the delay before jitter, in ms. grpc-go: MaxDelay. */
  maxDelayMs: number;
}

/** grpc-go's backoff.DefaultConfig: 1 s, ×1.6, jitter 0.2, at most 120 s. */
export const DEFAULT_BACKOFF: Readonly<BackoffConfig> = Object.freeze({
  baseDelayMs: 1_000,
  multiplier: 1.6,
  jitter: 0.2,
  maxDelayMs: 120_000,
});

/**
 * The least time a connection attempt is given, in ms (connection-backoff.md MIN_CONNECT_TIMEOUT;
 * grpc-go: minConnectTimeout in clientconn.go).
 */
export const MIN_CONNECT_TIMEOUT_MS = 20_000;

/**
 * The delay before the next attempt after `retries` consecutive failures, in ms.
 * grpc-go: Exponential.Backoff: retries 0 gives the base delay as it is (no jitter; we treat a
 * negative count the same); otherwise
 * the base delay grows by `multiplier` per retry, capped at `maxDelayMs`, then is scaled by
 * 1 + jitter * (random * 2 - 1). Never negative.
 *
 * `random` returns a number in [0, 1); inject it in tests.
 */
export function backoffDelay(
  retries: number,
  config: Readonly<BackoffConfig> = DEFAULT_BACKOFF,
  random: () => number = Math.random,
): number {
  if (retries <= 0) return config.baseDelayMs;
  let delay = config.baseDelayMs;
  const max = config.maxDelayMs;
  while (delay < max && retries > 0) {
    delay *= config.multiplier;
    retries--;
  }
  if (delay > max) delay = max;
  // Randomize so that clients that failed together do not retry in lockstep.
  delay *= 1 + config.jitter * (random() * 2 - 1);
  return delay < 0 ? 0 : delay;
}
