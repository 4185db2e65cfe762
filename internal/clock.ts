// Time and timers behind one interface, so code that waits (backoff, re-resolution, idleness)
// can be driven by a fake clock in tests (STYLE.md §9: inject now() and delay()).

/** A clock: the time in ms and one-shot timers. */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): number;
  clearTimeout(id: number): void;
}

// setTimeout with Infinity or >= 2^31 ms fires after 1 ms (STYLE.md §7): clamp.
const MAX_TIMER_MS = 2 ** 31 - 1;

/** The real clock: Date.now and the global timers. */
export const REAL_CLOCK: Clock = Object.freeze({
  now: () => Date.now(),
  setTimeout: (fn: () => void, ms: number): number =>
    setTimeout(fn, Math.min(Math.max(ms, 0), MAX_TIMER_MS)) as unknown as number,
  clearTimeout: (id: number): void => clearTimeout(id),
});
