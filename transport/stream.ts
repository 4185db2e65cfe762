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
import { StreamRecvFlow } from "./flow_control.ts";

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
  /** Announces `n` more bytes of this stream's receive window (WINDOW_UPDATE). */
  sendStreamWindowUpdate(stream: Http2Stream, n: number): void;
}

interface Reader {
  resolve: (m: Uint8Array | null) => void;
  reject: (e: unknown) => void;
}

/** State shared by server and client streams. */
export class Http2Stream {
  readonly id: number;
  state: number = StreamState.OPEN;

  /** What the peer lets us send; may go negative after a SETTINGS change (RFC 9113 §6.9.2). */
  sendWindow: number;
  /**
   * Our receive window (flow_control.ts): bytes stay charged to it until the application reads
   * the message they belong to. The connection checks arrivals against it.
   */
  readonly recvFlow: StreamRecvFlow;

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

  /** The peer's content-length, or -1 (RFC 9113 §8.1.1: DATA must add up to it). */
  contentLength = -1;
  /** DATA payload bytes received (padding excluded), counted when contentLength is set. */
  dataLength = 0;

  // Deframer state.
  readonly maxReceiveMessageSize: number;
  #hdr = 0; // bytes of the 5-byte prefix seen so far
  #flag = 0;
  #len = 0;
  #msg: Uint8Array | null = null;
  #msgOff = 0;
  // Bytes of the message in assembly (prefix included) already credited to the peer because a
  // reader was waiting for them (grpc-go credits as its parser reads the body off the stream).
  #credited = 0;

  // Received messages, waiting for recvMsg().
  #queue: Uint8Array[] = [];
  // Messages that had the compressed flag set; created with the first one (a WeakSet per stream
  // made V8's scavenger keep every stream alive until a full GC: see bench/RESULTS.md).
  #compressed: WeakSet<Uint8Array> | null = null;
  #head = 0;
  #remoteEnded = false;
  #error: StatusError | null = null;
  #endError: StatusError | null = null;
  // recvMsg() calls waiting for a message, served in call order (only when #queue is empty).
  #readers: Reader[] = [];
  /**
   * Whether the message last returned by recvMsg() had the compressed flag set. With concurrent
   * recvMsg() calls, ask `wasCompressed(message)` instead.
   */
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
    this.recvFlow = new StreamRecvFlow(recvWindow);
    this.maxReceiveMessageSize = maxReceiveMessageSize;
  }

  /** Bytes received on this stream that the application has not read (queued + in assembly). */
  get unreadBytes(): number {
    return this.recvFlow.pendingData;
  }

  /**
   * Deframes `buf[start, end)` from a DATA frame whose bytes the connection already charged to
   * `recvFlow`. Returns false when a message is larger than maxReceiveMessageSize (the stream has
   * then failed with RESOURCE_EXHAUSTED).
   */
  onData(buf: Uint8Array, start: number, end: number): boolean {
    const ok = this.#deframe(buf, start, end);
    // A reader waits and nothing is queued: the application is reading this very message, as
    // grpc-go's parser does in ReadFull, so its bytes are credited as they arrive (without this,
    // credit lagged a whole message behind and a window close to the message size never grew:
    // the BDP samples stayed below 2/3 of the window; tests/net BDP, grpc-go server → our client).
    if (this.#readers.length > 0 && this.#head === this.#queue.length) {
      const part = this.#msg === null ? this.#hdr : 5 + this.#msgOff;
      if (part > this.#credited) {
        this.#read(part - this.#credited);
        this.#credited = part;
      }
    }
    return ok;
  }

  #deframe(buf: Uint8Array, start: number, end: number): boolean {
    let i = start;
    while (i < end) {
      if (this.#msg === null) {
        // Reading the 5-byte prefix, possibly across frames.
        while (this.#hdr < 5 && i < end) {
          const b = buf[i++];
          if (this.#hdr === 0) this.#flag = b;
          else this.#len = this.#len * 256 + b;
          this.#hdr++;
        }
        if (this.#hdr < 5) break;
        if (this.#len > this.maxReceiveMessageSize) {
          this.fail(
            new StatusError(
              Code.ResourceExhausted,
              `Cannot receive message: size ${this.#len} exceeds the ${this.side}'s maxReceiveMessageSize ${this.maxReceiveMessageSize}`,
            ),
          );
          return false;
        }
        if (this.#len === 0) {
          this.#push(new Uint8Array(0), this.#flag !== 0);
          this.#hdr = 0;
          continue;
        }
        // Whole message inside this frame: one copy.
        if (end - i >= this.#len) {
          const m = buf.slice(i, i + this.#len);
          i += this.#len;
          this.#push(m, this.#flag !== 0);
          this.#hdr = 0;
          this.#len = 0;
          continue;
        }
        this.#msg = new Uint8Array(this.#len);
        this.#msgOff = 0;
        // The message is larger than what this frame holds: if nothing else waits unread, make
        // sure the peer's window lets the rest of it in (a message larger than the window).
        if (this.#head === this.#queue.length) this.#ensureWindow(this.#len - (end - i));
      }
      const n = Math.min(end - i, this.#len - this.#msgOff);
      this.#msg.set(buf.subarray(i, i + n), this.#msgOff);
      this.#msgOff += n;
      i += n;
      if (this.#msgOff === this.#len) {
        const m = this.#msg;
        this.#msg = null;
        this.#hdr = 0;
        this.#len = 0;
        this.#push(m, this.#flag !== 0);
      }
    }
    return true;
  }

  /** Padding (or other bytes that carry no message) arrived: credit it at once. */
  onPadding(n: number): void {
    this.#read(n);
  }

  #read(n: number): void {
    const inc = this.recvFlow.onRead(n);
    if (inc > 0) this.#owner.sendStreamWindowUpdate(this, inc);
  }

  #ensureWindow(toCome: number): void {
    const inc = this.recvFlow.ensureWindow(toCome);
    if (inc > 0) this.#owner.sendStreamWindowUpdate(this, inc);
  }

  #push(m: Uint8Array, compressed: boolean): void {
    const credited = this.#credited;
    this.#credited = 0;
    if (this.#error !== null) return;
    if (compressed) (this.#compressed ??= new WeakSet()).add(m);
    const r = this.#readers.shift();
    if (r !== undefined) {
      this.recvCompressed = compressed;
      this.#read(m.length + 5 - credited);
      r.resolve(m);
      return;
    }
    // Readers leave only with a message or on failure, so a message credited in part always
    // finds its reader here; a queued message has had no credit yet.
    this.#queue.push(m);
  }

  /** Whether message `m` (returned by recvMsg()) had the compressed flag set. */
  wasCompressed(m: Uint8Array): boolean {
    return this.#compressed !== null && this.#compressed.has(m);
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
    if (this.#readers.length > 0) {
      // Readers wait only while nothing is queued: every one of them sees the end.
      const readers = this.#readers;
      this.#readers = [];
      for (const r of readers) {
        if (err !== undefined) r.reject(err);
        else r.resolve(null);
      }
    }
  }

  /** Fails pending and future recvMsg() calls with `err` (first error wins). */
  fail(err: StatusError): void {
    if (this.#error !== null) return;
    this.#error = err;
    this.#queue.length = 0;
    this.#head = 0;
    const readers = this.#readers;
    this.#readers = [];
    for (const r of readers) r.reject(err);
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
   * Concurrent calls are served in call order, each with its own message.
   */
  recvMsg(): Promise<Uint8Array | null> {
    if (this.#head < this.#queue.length) {
      const m = this.#queue[this.#head];
      this.recvCompressed = this.#compressed !== null && this.#compressed.has(m);
      this.#head++;
      const drained = this.#head === this.#queue.length;
      if (drained) {
        this.#queue.length = 0;
        this.#head = 0;
      }
      this.#read(m.length + 5);
      // Nothing else unread now: the message in assembly, if any, may need more window.
      if (drained && this.#msg !== null) this.#ensureWindow(this.#len - this.#msgOff);
      return Promise.resolve(m);
    }
    if (this.#error !== null) return Promise.reject(this.#error);
    if (this.#remoteEnded) {
      return this.#endError !== null ? Promise.reject(this.#endError) : Promise.resolve(null);
    }
    return new Promise((resolve, reject) => {
      this.#readers.push({ resolve, reject });
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
