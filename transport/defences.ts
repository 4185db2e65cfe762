// Per-connection counters behind the flood defences (connection.ts decides what to do when one
// trips): the rapid-reset budget (CVE-2023-44487, and MadeYouReset CVE-2025-8671), the empty-DATA
// bucket (CVE-2019-9518), and the streams we reset recently (RFC 9113 §5.1: frames the peer sent
// before it saw our RST_STREAM are ignored, not answered). Each takes the connection's clock, so
// tests drive them with an injected one.

import {
  EMPTY_DATA_FRAMES_PER_SECOND,
  MAX_EMPTY_DATA_FRAMES,
  MAX_RESETS_PER_SECOND,
} from "./defaults.ts";

/** Stream resets per one-second window; `add()` is false once the budget is exceeded. */
export class ResetBudget {
  readonly #now: () => number;
  #windowStart = 0;
  #count = 0;

  constructor(now: () => number) {
    this.#now = now;
  }

  /** Counts one reset. False: more than MAX_RESETS_PER_SECOND in the current second. */
  add(): boolean {
    const now = this.#now();
    if (now - this.#windowStart >= 1000) {
      this.#windowStart = now;
      this.#count = 0;
    }
    return ++this.#count <= MAX_RESETS_PER_SECOND;
  }
}

/**
 * Empty DATA frames (without END_STREAM) as a leaky bucket: a burst of MAX_EMPTY_DATA_FRAMES is
 * tolerated and the allowance comes back at EMPTY_DATA_FRAMES_PER_SECOND, so a healthy long-lived
 * connection that sends the odd empty frame is never killed, and a flood is.
 */
export class EmptyDataBucket {
  readonly #now: () => number;
  #level = 0;
  #at = 0;

  constructor(now: () => number) {
    this.#now = now;
  }

  /** Counts one empty frame. False: the bucket overflowed (a flood). */
  add(): boolean {
    const now = this.#now();
    const drained = Math.max(0, now - this.#at) * EMPTY_DATA_FRAMES_PER_SECOND / 1000;
    this.#at = now;
    this.#level = Math.max(0, this.#level - drained) + 1;
    return this.#level <= MAX_EMPTY_DATA_FRAMES;
  }
}

/** The ids of the last `capacity` streams we sent RST_STREAM on. */
export class RecentResets {
  readonly #ids = new Set<number>();
  readonly #order: number[] = [];
  readonly #capacity: number;

  constructor(capacity = 1024) {
    this.#capacity = capacity;
  }

  add(id: number): void {
    if (this.#ids.has(id)) return;
    this.#ids.add(id);
    this.#order.push(id);
    if (this.#order.length > this.#capacity) this.#ids.delete(this.#order.shift()!);
  }

  has(id: number): boolean {
    return this.#ids.has(id);
  }
}
