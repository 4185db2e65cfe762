// An in-memory, full-duplex byte pipe (grpc-go's test/bufconn): two RawConns whose writes land
// in each other's reads. Transport unit tests run both roles, or a role against hand-written
// frames, without sockets.

import type { RawConn } from "./writer.ts";

class Half {
  chunks: Uint8Array[] = [];
  closed = false;
  waiter: (() => void) | null = null;
  wake(): void {
    const w = this.waiter;
    this.waiter = null;
    if (w !== null) w();
  }
}

/** One end of a pipe; also records every byte it wrote (for assertions). */
export class PipeConn implements RawConn {
  #in: Half;
  #out: Half;
  /** Bytes written through this end, in order. */
  written: Uint8Array[] = [];
  /** Set when close() was called on this end. */
  closedLocally = false;

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
    return n;
  }

  write(p: Uint8Array): Promise<number> {
    if (this.closedLocally || this.#out.closed) {
      return Promise.reject(new Error("Pipe closed"));
    }
    const copy = p.slice();
    this.written.push(copy);
    this.#out.chunks.push(copy);
    this.#out.wake();
    return Promise.resolve(p.length);
  }

  /** Injects raw bytes as if the peer had written them. */
  inject(bytes: Uint8Array): void {
    this.#in.chunks.push(bytes.slice());
    this.#in.wake();
  }

  close(): void {
    if (this.closedLocally) return;
    this.closedLocally = true;
    this.#out.closed = true;
    this.#out.wake();
    this.#in.wake();
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
export function pipe(): [PipeConn, PipeConn] {
  const ab = new Half();
  const ba = new Half();
  return [new PipeConn(ba, ab), new PipeConn(ab, ba)];
}
