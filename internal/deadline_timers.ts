// Per-call deadlines on one shared timer.
//
// Why: a call with `grpc-timeout` needs a timer, and most calls finish long before it fires.
// Deno deletes a cleared setTimeout lazily: the record lives until its due time. At 60k calls/s
// with 5 s deadlines that is ~300k live timer records, promoted out of the young generation, and
// every scavenge paid for them (measured: 7 ms scavenge pauses, p99 9–14 ms at unary 1×64 under
// the Go load generator, whose calls carry a deadline). DENO-PLATFORM.md §2 suggests one shared
// timer; this is that: entries sit in buckets of `granularityMs`, keyed by their rounded-up due
// time, so adding and removing are O(1) Map/Set operations; one real timer is armed for the
// earliest bucket.

/** Something with a deadline: `onDeadline()` runs once it has passed (unless removed first). */
export interface DeadlineEntry {
  /** Called when the deadline has passed. */
  onDeadline(): void;
  /** @internal The bucket the entry sits in (0 when none). */
  deadlineBucket: number;
}

/** A set of deadlines served by one timer. */
export class DeadlineTimers {
  readonly #granularity: number;
  readonly #now: () => number;
  readonly #onError: (err: unknown) => void;
  readonly #buckets = new Map<number, Set<DeadlineEntry>>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #armedFor = Infinity;

  /**
   * @param granularityMs Deadlines are rounded up to a multiple of this (they fire late by at
   *   most this much, never early).
   * @param now The clock (epoch ms), injectable for tests.
   * @param onError Gets what an `onDeadline()` threw; the other entries due still run.
   */
  constructor(
    granularityMs = 4,
    now: () => number = Date.now,
    onError: (err: unknown) => void = logError,
  ) {
    this.#granularity = granularityMs;
    this.#now = now;
    this.#onError = onError;
  }

  /** Number of entries waiting. */
  get size(): number {
    let n = 0;
    for (const s of this.#buckets.values()) n += s.size;
    return n;
  }

  /** Registers `entry` to run at `deadline` (epoch ms). */
  add(entry: DeadlineEntry, deadline: number): void {
    const g = this.#granularity;
    const bucket = Math.ceil(deadline / g) * g;
    entry.deadlineBucket = bucket;
    let set = this.#buckets.get(bucket);
    if (set === undefined) {
      set = new Set();
      this.#buckets.set(bucket, set);
    }
    set.add(entry);
    if (bucket < this.#armedFor) this.#arm(bucket);
  }

  /** Unregisters `entry` (no-op when it is not registered). */
  remove(entry: DeadlineEntry): void {
    const bucket = entry.deadlineBucket;
    if (bucket === 0) return;
    entry.deadlineBucket = 0;
    const set = this.#buckets.get(bucket);
    if (set === undefined) return;
    set.delete(entry);
    // The armed timer stays: it fires once, finds nothing due, and re-arms for what is left.
    // Clearing and re-arming here would bring back one Deno timer per call.
    if (set.size === 0) this.#buckets.delete(bucket);
  }

  /** Cancels the timer and forgets every entry (server or channel shutdown). */
  clear(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#armedFor = Infinity;
    for (const set of this.#buckets.values()) for (const e of set) e.deadlineBucket = 0;
    this.#buckets.clear();
  }

  #arm(at: number): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#armedFor = at;
    // setTimeout fires at once for ≥ 2^31 ms (STYLE.md §7); such a deadline is re-armed later.
    const ms = Math.min(Math.max(0, at - this.#now()), 2 ** 31 - 1);
    this.#timer = setTimeout(this.#fire, ms);
  }

  readonly #fire = (): void => {
    this.#timer = undefined;
    this.#armedFor = Infinity;
    const now = this.#now();
    const due: Set<DeadlineEntry>[] = [];
    let next = Infinity;
    for (const [bucket, set] of this.#buckets) {
      if (bucket <= now) {
        this.#buckets.delete(bucket);
        due.push(set);
      } else if (bucket < next) {
        next = bucket;
      }
    }
    if (next !== Infinity) this.#arm(next);
    for (const set of due) {
      for (const e of set) {
        e.deadlineBucket = 0;
        try {
          e.onDeadline();
        } catch (err) {
          // One broken entry must not leave the rest of its bucket (other calls) without their
          // deadline.
          this.#onError(err);
        }
      }
    }
  };
}

function logError(err: unknown): void {
  console.error("A deadline callback threw:", err);
}
