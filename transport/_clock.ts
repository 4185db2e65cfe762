// A hand-moved Clock for the transport tests: timers run only when a test advances time.

import type { Clock } from "./keepalive.ts";

/** A `Clock` moved by hand, for tests: timers run when `advance` passes their due time. */
export class ManualClock implements Clock {
  #now: number;
  #next = 1;
  readonly #timers = new Map<number, { due: number; fn: () => void }>();

  constructor(start = 1_000_000) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimer(fn: () => void, ms: number): number {
    const id = this.#next++;
    this.#timers.set(id, { due: this.#now + ms, fn });
    return id;
  }

  clearTimer(handle: number): void {
    this.#timers.delete(handle);
  }

  /** Timers armed now. */
  get pending(): number {
    return this.#timers.size;
  }

  /** Moves time forward by `ms`, running each timer that comes due, in due order. */
  advance(ms: number): void {
    const end = this.#now + ms;
    for (;;) {
      let id = -1;
      let due = Infinity;
      for (const [k, t] of this.#timers) {
        if (t.due < due) {
          due = t.due;
          id = k;
        }
      }
      if (id === -1 || due > end) break;
      const t = this.#timers.get(id)!;
      this.#timers.delete(id);
      this.#now = Math.max(this.#now, due);
      t.fn();
    }
    this.#now = end;
  }
}
