// One HTTP/2 stream (RFC 9113 §5.1) carrying one gRPC call: its state, its flow-control windows,
// and gRPC message framing (PROTOCOL-HTTP2.md "Length-Prefixed-Message"):
//
//   +------------------+-------------------------------+---------------------+
//   | Compressed-Flag  | Message-Length (32 bits, BE)  | Message (N bytes)   |
//   |     (8 bits)     |                               |                     |
//   +------------------+-------------------------------+---------------------+
//
// Inbound DATA is deframed here; each complete message is copied out of the connection's reused
// read buffer exactly once (DESIGN.md: protobufjs decodes `bytes` fields as views of its input).

import { Code, StatusError } from "../status.ts";

/** RFC 9113 §5.1 states that matter once a stream exists. */
export const StreamState = {
  OPEN: 0,
  HALF_CLOSED_LOCAL: 1,
  HALF_CLOSED_REMOTE: 2,
  CLOSED: 3,
} as const;

const RESOLVED: Promise<void> = Promise.resolve();

/** The part of a connection a stream talks back to. */
export interface StreamOwner {
  /** Credits `n` bytes of this stream's receive window (WINDOW_UPDATE when due). */
  creditStream(stream: Http2Stream, n: number): void;
}

/** State shared by server and client streams. */
export class Http2Stream {
  readonly id: number;
  state: number = StreamState.OPEN;

  // Flow control. sendWindow: what the peer lets us send; may go negative after a SETTINGS change
  // (RFC 9113 §6.9.2). recvWindow accounting lives here; the connection sends the updates.
  sendWindow: number;
  /** Receive window advertised for this stream (the limit the peer must respect). */
  recvLimit: number;
  /** Bytes received and not yet credited back by WINDOW_UPDATE. */
  recvUnacked = 0;
  /** Bytes received beyond the advertised window are a FLOW_CONTROL_ERROR; tracks the window. */
  recvInFlight = 0;
  /** Message bytes received whose credit waits until the application reads them. */
  #deferredCredit = 0;
  #queuedBytes = 0;

  // Outbound data blocked on flow control: segments sent in order, then optional END_STREAM or
  // trailers. Only the connection touches these.
  pendingOut: Uint8Array[] = [];
  pendingOffset = 0;
  pendingBytes = 0;
  pendingEndStream = false;
  pendingTrailers: string[] | null = null;
  /** Resolved when pendingOut drains (a sendMsg blocked on flow control awaits it). */
  pendingDrained: (() => void) | null = null;
  /** Set while the stream sits in the connection's list of streams blocked on windows. */
  blocked = false;

  // Deframer state.
  readonly maxReceiveMessageSize: number;
  #hdr = 0; // bytes of the 5-byte prefix seen so far
  #flag = 0;
  #len = 0;
  #msg: Uint8Array | null = null;
  #msgOff = 0;

  // Received messages, waiting for recvMsg().
  #queue: Uint8Array[] = [];
  #flags: boolean[] = [];
  #head = 0;
  #remoteEnded = false;
  #error: StatusError | null = null;
  #endError: StatusError | null = null;
  #resolve: ((m: Uint8Array | null) => void) | null = null;
  #reject: ((e: unknown) => void) | null = null;
  /** Whether the message last returned by recvMsg() had the compressed flag set. */
  recvCompressed = false;

  #owner: StreamOwner;
  /** Which end this is, for error messages that say whose limit was hit. */
  get side(): "server" | "client" {
    return "client";
  }

  constructor(
    owner: StreamOwner,
    id: number,
    sendWindow: number,
    recvWindow: number,
    maxReceiveMessageSize: number,
  ) {
    this.#owner = owner;
    this.id = id;
    this.sendWindow = sendWindow;
    this.recvLimit = recvWindow;
    this.maxReceiveMessageSize = maxReceiveMessageSize;
  }

  /**
   * Deframes `buf[start, end)` from a DATA frame. Returns false when a message is larger than
   * maxReceiveMessageSize (the stream has then failed with RESOURCE_EXHAUSTED).
   */
  onData(buf: Uint8Array, start: number, end: number): boolean {
    let i = start;
    // Bytes that only complete prefixes or partial messages are credited at once; a whole message
    // is credited when the application reads it, which gives the peer back-pressure.
    let immediate = 0;
    while (i < end) {
      if (this.#msg === null) {
        // Reading the 5-byte prefix, possibly across frames. Prefix bytes of an earlier frame
        // were credited with it; only `fresh` ones (this frame's) move to the message's credit.
        const fresh = 5 - this.#hdr;
        while (this.#hdr < 5 && i < end) {
          const b = buf[i++];
          if (this.#hdr === 0) this.#flag = b;
          else this.#len = this.#len * 256 + b;
          this.#hdr++;
          immediate++;
        }
        if (this.#hdr < 5) break;
        if (this.#len > this.maxReceiveMessageSize) {
          this.fail(
            new StatusError(
              Code.ResourceExhausted,
              `Cannot receive message: size ${this.#len} exceeds the ${this.side}'s maxReceiveMessageSize ${this.maxReceiveMessageSize}`,
            ),
          );
          this.#owner.creditStream(this, end - start);
          return false;
        }
        if (this.#len === 0) {
          this.#push(new Uint8Array(0), this.#flag !== 0, fresh);
          immediate -= fresh;
          this.#hdr = 0;
          this.#len = 0;
          continue;
        }
        // Whole message inside this frame: one copy.
        if (end - i >= this.#len) {
          const m = buf.slice(i, i + this.#len);
          i += this.#len;
          this.#push(m, this.#flag !== 0, this.#len + fresh);
          immediate -= fresh;
          this.#hdr = 0;
          this.#len = 0;
          continue;
        }
        this.#msg = new Uint8Array(this.#len);
        this.#msgOff = 0;
      }
      const n = Math.min(end - i, this.#len - this.#msgOff);
      this.#msg.set(buf.subarray(i, i + n), this.#msgOff);
      this.#msgOff += n;
      i += n;
      immediate += n;
      if (this.#msgOff === this.#len) {
        const m = this.#msg;
        this.#msg = null;
        this.#hdr = 0;
        this.#len = 0;
        // Its bytes were credited as they arrived.
        this.#push(m, this.#flag !== 0, 0);
      }
    }
    if (immediate > 0) this.#owner.creditStream(this, immediate);
    return true;
  }

  #push(m: Uint8Array, compressed: boolean, credit: number): void {
    if (this.#error !== null) return;
    if (this.#resolve !== null) {
      const r = this.#resolve;
      this.#resolve = this.#reject = null;
      this.recvCompressed = compressed;
      if (credit > 0) this.#owner.creditStream(this, credit);
      r(m);
      return;
    }
    this.#queue.push(m);
    this.#flags.push(compressed);
    this.#queuedBytes += m.length;
    this.#deferredCredit += credit;
    // Don't hold back more than one window of credit: a peer must always be able to progress.
    if (this.#queuedBytes > this.recvLimit) {
      const c = this.#deferredCredit;
      this.#deferredCredit = 0;
      if (c > 0) this.#owner.creditStream(this, c);
    }
  }

  /**
   * The peer ended its side (END_STREAM). With `err` (a client receiving a non-OK status), reads
   * return the queued messages first, then reject with `err`.
   */
  onRemoteEnd(err?: StatusError): void {
    if (this.#remoteEnded) return;
    this.#remoteEnded = true;
    if (this.#msg !== null || this.#hdr !== 0) {
      this.fail(new StatusError(Code.Internal, "Cannot receive message: stream ended mid-message"));
      return;
    }
    if (err !== undefined) this.#endError = err;
    if (this.#resolve !== null && this.#head === this.#queue.length) {
      const resolve = this.#resolve;
      const reject = this.#reject!;
      this.#resolve = this.#reject = null;
      if (err !== undefined) reject(err);
      else resolve(null);
    }
  }

  /** Fails pending and future recvMsg() calls with `err` (first error wins). */
  fail(err: StatusError): void {
    if (this.#error !== null) return;
    this.#error = err;
    this.#queue.length = 0;
    this.#flags.length = 0;
    this.#head = 0;
    if (this.#reject !== null) {
      const r = this.#reject;
      this.#resolve = this.#reject = null;
      r(err);
    }
  }

  /** The error the stream failed with, if any. */
  get error(): StatusError | null {
    return this.#error ?? this.#endError;
  }

  /** Whether the peer has ended its side and every message was read. */
  get remoteEnded(): boolean {
    return this.#remoteEnded;
  }

  /**
   * The next message, or null once the peer has ended its side; rejects with a StatusError if
   * the stream failed. `recvCompressed` then tells whether the message was compressed.
   */
  recvMsg(): Promise<Uint8Array | null> {
    if (this.#head < this.#queue.length) {
      const m = this.#queue[this.#head];
      this.recvCompressed = this.#flags[this.#head];
      this.#head++;
      if (this.#head === this.#queue.length) {
        this.#queue.length = 0;
        this.#flags.length = 0;
        this.#head = 0;
      }
      this.#queuedBytes -= m.length;
      if (this.#deferredCredit > 0) {
        const c = Math.min(this.#deferredCredit, m.length + 5);
        this.#deferredCredit -= c;
        this.#owner.creditStream(this, c);
      }
      return Promise.resolve(m);
    }
    if (this.#error !== null) return Promise.reject(this.#error);
    if (this.#remoteEnded) {
      return this.#endError !== null ? Promise.reject(this.#endError) : Promise.resolve(null);
    }
    return new Promise((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
  }

  /** Resolves when outbound data blocked on flow control has been written. */
  waitPending(): Promise<void> {
    if (this.pendingBytes === 0) return RESOLVED;
    return new Promise((resolve) => {
      const prev = this.pendingDrained;
      this.pendingDrained = prev === null ? resolve : () => {
        prev();
        resolve();
      };
    });
  }
}
