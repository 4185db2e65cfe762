// A growable byte buffer that frame and HPACK encoders write into.
//
// The connection writer keeps one (two, double-buffered) per connection and flushes it with one
// `conn.write` per turn (DESIGN.md hot-path rules). Allocation happens only when the buffer must
// grow; appending never allocates.

/** A growable output buffer; `buf.subarray(0, length)` holds the bytes written so far. */
export class WriteBuffer {
  /** Backing store; replaced (never shrunk) when it must grow. */
  buf: Uint8Array;
  /** Number of bytes written. */
  length = 0;

  constructor(initialCapacity = 64 * 1024) {
    this.buf = new Uint8Array(initialCapacity);
  }

  /** Makes room for `n` more bytes. */
  ensure(n: number): void {
    const need = this.length + n;
    if (need <= this.buf.length) return;
    // Start from at least 64 bytes: doubling a zero capacity would never reach `need`.
    let cap = Math.max(this.buf.length * 2, 64);
    while (cap < need) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
  }

  /** Appends one byte. */
  u8(v: number): void {
    if (this.length >= this.buf.length) this.ensure(1);
    this.buf[this.length++] = v;
  }

  /** Appends a 16-bit big-endian integer. */
  u16(v: number): void {
    this.ensure(2);
    const b = this.buf, i = this.length;
    b[i] = v >>> 8;
    b[i + 1] = v;
    this.length = i + 2;
  }

  /** Appends a 24-bit big-endian integer. */
  u24(v: number): void {
    this.ensure(3);
    const b = this.buf, i = this.length;
    b[i] = v >>> 16;
    b[i + 1] = v >>> 8;
    b[i + 2] = v;
    this.length = i + 3;
  }

  /** Appends a 32-bit big-endian integer. */
  u32(v: number): void {
    this.ensure(4);
    const b = this.buf, i = this.length;
    b[i] = v >>> 24;
    b[i + 1] = v >>> 16;
    b[i + 2] = v >>> 8;
    b[i + 3] = v;
    this.length = i + 4;
  }

  /** Appends `src[start, end)`. */
  bytes(src: Uint8Array, start = 0, end: number = src.length): void {
    const n = end - start;
    this.ensure(n);
    if (n < 64) {
      // Short copies are cheaper as a loop than as a subarray + set (DENO-PLATFORM.md §10).
      const b = this.buf;
      let j = this.length;
      for (let i = start; i < end; i++) b[j++] = src[i];
    } else {
      this.buf.set(start === 0 && end === src.length ? src : src.subarray(start, end), this.length);
    }
    this.length += n;
  }

  /** Appends an ASCII (Latin-1) string, one byte per char code. */
  ascii(s: string): void {
    const n = s.length;
    this.ensure(n);
    const b = this.buf;
    let j = this.length;
    for (let i = 0; i < n; i++) b[j++] = s.charCodeAt(i);
    this.length = j;
  }

  /** Writes a 24-bit big-endian integer at `offset` (for back-patching lengths). */
  setU24(offset: number, v: number): void {
    const b = this.buf;
    b[offset] = v >>> 16;
    b[offset + 1] = v >>> 8;
    b[offset + 2] = v;
  }

  /** Writes a 32-bit big-endian integer at `offset` (for back-patching lengths). */
  setU32(offset: number, v: number): void {
    const b = this.buf;
    b[offset] = v >>> 24;
    b[offset + 1] = v >>> 16;
    b[offset + 2] = v >>> 8;
    b[offset + 3] = v;
  }

  /** The bytes written so far, as a view (valid until the next write or reset). */
  view(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }

  /** How many times the content was forgotten (reset): a position recorded earlier is stale. */
  generation = 0;

  /** Forgets the content, keeping the capacity. */
  reset(): void {
    this.length = 0;
    this.generation++;
  }
}
