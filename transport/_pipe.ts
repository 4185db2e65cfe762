// An in-memory, full-duplex byte pipe (grpc-go's test/bufconn): two RawConns whose writes land
// in each other's reads. Transport unit tests run both roles, or a role against hand-written
// frames, without sockets.
//
// By default writes complete at once, however much the reader has left unread. With `capacity`
// a write completes only once the unread bytes in that direction are at most `capacity`, like a
// socket whose kernel buffer is full: a peer that stops reading then stops the writer too (flood
// tests use it to check that queued answers stay bounded).

import type { RawConn } from "./writer.ts";

/** Options of {@linkcode pipe}. */
export interface PipeOptions {
  /** Unread bytes per direction past which writes wait for the reader. @default {Infinity} */
  capacity?: number;
}

interface BlockedWrite {
  resolve: () => void;
  reject: (err: Error) => void;
}

class Half {
  chunks: Uint8Array[] = [];
  /** Bytes in `chunks` (written or injected, not yet read). */
  unread = 0;
  closed = false;
  waiter: (() => void) | null = null;
  blocked: BlockedWrite[] = [];
  readonly capacity: number;
  constructor(capacity: number) {
    this.capacity = capacity;
  }
  wake(): void {
    const w = this.waiter;
    this.waiter = null;
    if (w !== null) w();
  }
  // Completes waiting writes once the reader brought the unread bytes down to the capacity.
  release(): void {
    if (this.blocked.length === 0 || this.unread > this.capacity) return;
    const bs = this.blocked;
    this.blocked = [];
    for (const b of bs) b.resolve();
  }
  fail(): void {
    const bs = this.blocked;
    this.blocked = [];
    for (const b of bs) b.reject(new Error("Pipe closed"));
  }
}

/** One end of a pipe; also records every byte it wrote (for assertions). */
export class PipeConn implements RawConn {
  #in: Half;
  #out: Half;
  /** Bytes written through this end, in order (recorded when `write` is called). */
  written: Uint8Array[] = [];
  /** Set when close() was called on this end. */
  closedLocally = false;
  /** Number of `write` calls made on this end. */
  writeCalls = 0;

  constructor(inbound: Half, outbound: Half) {
    this.#in = inbound;
    this.#out = outbound;
  }

  async read(p: Uint8Array): Promise<number | null> {
    while (this.#in.chunks.length === 0) {
      if (this.#in.closed || this.closedLocally) return null;
      await new Promise<void>((r) => (this.#in.waiter = r));
    }
    const c = this.#in.chunks[0];
    const n = Math.min(p.length, c.length);
    p.set(c.subarray(0, n));
    if (n === c.length) this.#in.chunks.shift();
    else this.#in.chunks[0] = c.subarray(n);
    this.#in.unread -= n;
    this.#in.release();
    return n;
  }

  write(p: Uint8Array): Promise<number> {
    if (this.closedLocally || this.#out.closed) {
      return Promise.reject(new Error("Pipe closed"));
    }
    this.writeCalls++;
    const copy = p.slice();
    this.written.push(copy);
    const out = this.#out;
    out.chunks.push(copy);
    out.unread += copy.length;
    out.wake();
    if (out.unread <= out.capacity) return Promise.resolve(p.length);
    return new Promise<number>((resolve, reject) => {
      out.blocked.push({ resolve: () => resolve(p.length), reject });
    });
  }

  /** Injects raw bytes as if the peer had written them. */
  inject(bytes: Uint8Array): void {
    this.#in.chunks.push(bytes.slice());
    this.#in.unread += bytes.length;
    this.#in.wake();
  }

  /** Bytes that reached this end (written by the peer or injected) and were not read yet. */
  get unread(): number {
    return this.#in.unread;
  }

  close(): void {
    if (this.closedLocally) return;
    this.closedLocally = true;
    // Like a socket: the peer reads EOF, and its writes fail from now on.
    this.#out.closed = true;
    this.#in.closed = true;
    this.#out.wake();
    this.#in.wake();
    // Writes waiting on either direction can never complete now.
    this.#out.fail();
    this.#in.fail();
  }

  /** Every byte written so far, concatenated. */
  allWritten(): Uint8Array {
    let n = 0;
    for (const c of this.written) n += c.length;
    const out = new Uint8Array(n);
    let o = 0;
    for (const c of this.written) {
      out.set(c, o);
      o += c.length;
    }
    return out;
  }
}

/** Two connected ends: what `a` writes, `b` reads, and back. */
export function pipe(opts: PipeOptions = {}): [PipeConn, PipeConn] {
  const capacity = opts.capacity ?? Infinity;
  const ab = new Half(capacity);
  const ba = new Half(capacity);
  return [new PipeConn(ba, ab), new PipeConn(ab, ba)];
}
