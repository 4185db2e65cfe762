// The one writer per connection, after grpc-go's loopyWriter (internal/transport/controlbuf.go):
// producers append encoded frames to `out` and call `flushSoon()`; once per turn (queueMicrotask)
// everything queued goes out in one `conn.write`, looping on short writes. While a write is in
// flight new frames collect in a second buffer, so a batch is never split across writes except
// by the kernel (DENO-PLATFORM.md §0: one write ≈ 7–8 µs; gathered frames ≈ 1.3 µs each).

import { WriteBuffer } from "./buffer.ts";
import { WRITE_HIGH_WATER_MARK } from "./defaults.ts";

/** The byte sink a transport writes to: a `Deno.Conn` or an in-memory pipe in tests. */
export interface RawConn {
  read(p: Uint8Array): Promise<number | null>;
  write(p: Uint8Array): Promise<number>;
  close(): void;
}

const RESOLVED: Promise<void> = Promise.resolve();
/** A batch this large is written at once, without waiting for more frames. */
const MAX_BATCH = 256 * 1024;
/** Hops with nothing appended after which a batch is written. */
const MAX_IDLE_HOPS = 16;
/** Hops a batch waits at most in all. */
const MAX_TOTAL_HOPS = 1024;

/** Gathers frames and flushes them once per turn. */
export class ConnWriter {
  /** Frames are encoded straight into this buffer. */
  out: WriteBuffer;
  #spare: WriteBuffer;
  #conn: RawConn;
  #scheduled = false;
  #writing = false;
  #closed = false;
  #inFlight = 0;
  #drainWaiters: (() => void)[] = [];
  #idleWaiters: (() => void)[] = [];
  /** Called once when a write fails (the peer is gone); the connection closes. */
  onError: (err: unknown) => void = () => {};

  constructor(conn: RawConn, initialSize = 4 * 1024) {
    this.#conn = conn;
    this.out = new WriteBuffer(initialSize);
    this.#spare = new WriteBuffer(initialSize);
  }

  /** Bytes appended but not yet handed to the kernel. */
  get buffered(): number {
    return this.out.length + this.#inFlight;
  }

  /** Schedules a flush once this turn's producers are done (see #tick). */
  flushSoon(): void {
    if (this.#scheduled || this.#writing || this.#closed) return;
    this.#scheduled = true;
    this.#idleHops = 0;
    this.#totalHops = 0;
    this.#lastLength = this.out.length;
    queueMicrotask(this.#tick);
  }

  // grpc-go's loopyWriter yields before flushing a small batch, so that work the current read
  // caused (a handler's response) joins what is already queued (a PING ACK) in one write. Our
  // equivalent is microtask hops (~0.1 µs each, against ≈ 7–8 µs for a write syscall): keep
  // hopping while producers still append (a response is typically a handful of promise hops
  // behind the read that caused it; a streaming handler appends a message every few hops), and
  // write once MAX_IDLE_HOPS pass with nothing new, the batch reaches MAX_BATCH, or the hop
  // budget runs out.
  #idleHops = 0;
  #totalHops = 0;
  #lastLength = 0;
  readonly #tick = (): void => {
    if (this.#closed) return;
    const len = this.out.length;
    if (len < MAX_BATCH && this.#totalHops < MAX_TOTAL_HOPS) {
      if (len !== this.#lastLength) {
        this.#lastLength = len;
        this.#idleHops = 0;
      } else {
        this.#idleHops++;
      }
      if (this.#idleHops < MAX_IDLE_HOPS) {
        this.#totalHops++;
        queueMicrotask(this.#tick);
        return;
      }
    }
    this.#flush();
  };

  /** Resolves once buffered bytes are below the high-water mark (a shared promise when they are). */
  ready(): Promise<void> {
    if (this.buffered < WRITE_HIGH_WATER_MARK || this.#closed) return RESOLVED;
    return new Promise((resolve) => this.#drainWaiters.push(resolve));
  }

  /** Resolves once everything queued so far has been written (or the writer closed). */
  idle(): Promise<void> {
    if ((this.out.length === 0 && !this.#writing) || this.#closed) return RESOLVED;
    this.flushSoon();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Stops writing; wakes every waiter. Queued bytes are dropped. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.out.reset();
    this.#wake();
  }

  get closed(): boolean {
    return this.#closed;
  }

  // Writes the current batch (one conn.write, looping only on short writes); frames appended
  // meanwhile collect in the other buffer and go out through flushSoon() again.
  async #flush(): Promise<void> {
    this.#scheduled = false;
    if (this.out.length === 0) return;
    this.#writing = true;
    try {
      const batch = this.out;
      this.out = this.#spare;
      this.#spare = batch;
      this.#inFlight = batch.length;
      const bytes = batch.buf;
      const n = batch.length;
      let off = 0;
      while (off < n) {
        off += await this.#conn.write(off === 0 ? batch.view() : bytes.subarray(off, n));
      }
      batch.reset();
      this.#inFlight = 0;
    } catch (err) {
      this.#inFlight = 0;
      this.#closed = true;
      this.out.reset();
      this.onError(err);
    } finally {
      this.#writing = false;
      this.#wake();
      if (this.out.length > 0) this.flushSoon();
    }
  }

  #wake(): void {
    if (this.#closed || this.buffered < WRITE_HIGH_WATER_MARK) {
      const ws = this.#drainWaiters;
      this.#drainWaiters = [];
      for (const w of ws) w();
    }
    if (this.#closed || (this.out.length === 0 && !this.#writing)) {
      const ws = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const w of ws) w();
    }
  }
}
