// A node:tls socket seen as the transport's RawConn (read / write / close), so one HTTP/2
// transport runs over Deno conns and node:tls sockets alike. Reads copy from the socket's
// 'data' chunks into the transport's buffer; the socket is paused while more than
// PAUSE_BYTES wait unread (the transport is slower than the network), so memory stays bounded.
// A write resolves once the socket has taken the bytes (its callback), because the transport's
// writer reuses its buffer as soon as the write resolves.

import type { Socket } from "node:net";
import type { RawConn } from "../transport/writer.ts";

const PAUSE_BYTES = 1024 * 1024;

/** A connected node socket (TLS or TCP) as a RawConn. */
export class SocketConn implements RawConn {
  readonly #sock: Socket;
  #chunks: Uint8Array[] = [];
  #head = 0; // offset into #chunks[0]
  #buffered = 0;
  #ended = false;
  #error: Error | undefined;
  #wake: (() => void) | undefined;
  #paused = false;

  constructor(sock: Socket) {
    this.#sock = sock;
    sock.on("data", (b: Uint8Array) => {
      this.#chunks.push(b);
      this.#buffered += b.length;
      if (this.#buffered > PAUSE_BYTES && !this.#paused) {
        this.#paused = true;
        sock.pause();
      }
      this.#notify();
    });
    sock.on("end", () => {
      this.#ended = true;
      this.#notify();
    });
    sock.on("close", () => {
      this.#ended = true;
      this.#notify();
    });
    sock.on("error", (err: Error) => {
      this.#error ??= err;
      this.#notify();
    });
  }

  #notify(): void {
    const w = this.#wake;
    if (w !== undefined) {
      this.#wake = undefined;
      w();
    }
  }

  async read(p: Uint8Array): Promise<number | null> {
    while (this.#chunks.length === 0) {
      if (this.#error !== undefined) throw this.#error;
      if (this.#ended) return null;
      await new Promise<void>((resolve) => this.#wake = resolve);
    }
    let n = 0;
    while (n < p.length && this.#chunks.length > 0) {
      const c = this.#chunks[0];
      const take = Math.min(c.length - this.#head, p.length - n);
      p.set(c.subarray(this.#head, this.#head + take), n);
      n += take;
      this.#head += take;
      if (this.#head === c.length) {
        this.#chunks.shift();
        this.#head = 0;
      }
    }
    this.#buffered -= n;
    if (this.#paused && this.#buffered <= PAUSE_BYTES / 2) {
      this.#paused = false;
      this.#sock.resume();
    }
    return n;
  }

  write(p: Uint8Array): Promise<number> {
    const sock = this.#sock;
    if (sock.destroyed || this.#error !== undefined) {
      return Promise.reject(this.#error ?? new Deno.errors.BrokenPipe("Socket is closed"));
    }
    return new Promise((resolve, reject) => {
      sock.write(p, (err?: Error | null) => err ? reject(err) : resolve(p.length));
    });
  }

  /** Lets the process exit while the connection is open (client channels without calls). */
  unref(): void {
    this.#sock.unref();
  }

  /** Undoes {@linkcode SocketConn.unref}. */
  ref(): void {
    this.#sock.ref();
  }

  close(): void {
    this.#ended = true;
    this.#sock.destroy();
    this.#notify();
  }
}
