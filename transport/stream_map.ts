// The connection's table of open streams, by id: an open-addressing hash table instead of a Map.
//
// Why not a Map: V8 rehashes a Map's table once deletions have filled it, and the obsolete table
// keeps its entries and a link to its successor (for live iterators). With one stream added and
// removed per call, that is a new table every few dozen calls. Once a full GC has moved the
// current table to the old generation, each obsolete table (old, dead) points at the young next
// one, which points at the next: the scavenger must treat them all as live, so every call's
// objects (through the streams the tables hold) survived each scavenge and were promoted until
// the next full GC, which restarted the chain (bench/RESULTS.md, "GC": 0 → 3.6 MB promoted per
// scavenge after the first full GC at unary 1×64). Here a rehash copies the live entries into new
// arrays and clears the old ones: nothing links the generations of the table.

const EMPTY = 0;
const DELETED = -1;

/** Streams by id (ids are positive 31-bit integers). The subset of Map the transport uses. */
export class StreamMap<S> {
  #keys: Int32Array;
  #vals: (S | undefined)[];
  #size = 0;
  /** Live entries plus tombstones: what probing has to walk past. */
  #used = 0;

  constructor(capacity = 16) {
    this.#keys = new Int32Array(capacity);
    this.#vals = new Array(capacity).fill(undefined);
  }

  /** Number of streams. */
  get size(): number {
    return this.#size;
  }

  /** The stream with `id`, or undefined. */
  get(id: number): S | undefined {
    const keys = this.#keys;
    const mask = keys.length - 1;
    for (let i = hash(id) & mask;; i = (i + 1) & mask) {
      const k = keys[i];
      if (k === id) return this.#vals[i];
      if (k === EMPTY) return undefined;
    }
  }

  /** Whether a stream with `id` is in the table. */
  has(id: number): boolean {
    return this.get(id) !== undefined;
  }

  /** Adds or replaces the stream with `id`. */
  set(id: number, s: S): this {
    if ((this.#used + 1) * 2 > this.#keys.length) this.#rehash();
    const keys = this.#keys;
    const mask = keys.length - 1;
    let tomb = -1;
    for (let i = hash(id) & mask;; i = (i + 1) & mask) {
      const k = keys[i];
      if (k === id) {
        this.#vals[i] = s;
        return this;
      }
      if (k === DELETED && tomb < 0) tomb = i;
      if (k === EMPTY) {
        if (tomb >= 0) i = tomb;
        else this.#used++;
        keys[i] = id;
        this.#vals[i] = s;
        this.#size++;
        return this;
      }
    }
  }

  /** Removes the stream with `id`; false when there was none. */
  delete(id: number): boolean {
    const keys = this.#keys;
    const mask = keys.length - 1;
    for (let i = hash(id) & mask;; i = (i + 1) & mask) {
      const k = keys[i];
      if (k === id) {
        keys[i] = DELETED;
        this.#vals[i] = undefined;
        this.#size--;
        return true;
      }
      if (k === EMPTY) return false;
    }
  }

  /** The streams, in no particular order (a snapshot: safe to delete while iterating). */
  values(): S[] {
    const out: S[] = [];
    const keys = this.#keys;
    for (let i = 0; i < keys.length; i++) {
      if (keys[i] > 0) out.push(this.#vals[i] as S);
    }
    return out;
  }

  // Re-inserts the live entries into fresh arrays (larger when more than a quarter full), then
  // clears the old value array so that it references nothing.
  #rehash(): void {
    const oldKeys = this.#keys;
    const oldVals = this.#vals;
    let cap = oldKeys.length;
    while (this.#size * 4 >= cap) cap *= 2;
    this.#keys = new Int32Array(cap);
    this.#vals = new Array(cap).fill(undefined);
    this.#size = 0;
    this.#used = 0;
    for (let i = 0; i < oldKeys.length; i++) {
      if (oldKeys[i] > 0) this.set(oldKeys[i], oldVals[i] as S);
    }
    oldVals.fill(undefined);
  }
}

// Ids are odd (client streams) or even (server streams) and mostly consecutive: mix the bits so
// that neighbours do not cluster.
function hash(id: number): number {
  const h = Math.imul(id, 0x9e3779b1);
  return (h ^ (h >>> 15)) >>> 0;
}
