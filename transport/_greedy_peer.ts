// A hand-written HTTP/2 endpoint that sends as fast as the receiver's windows allow and never
// one byte more: the "slow reader" attack of issue #13 (a peer honouring flow control while the
// application at the other end stopped reading). It opens one stream (client mode) or answers
// one (server mode), then sends gRPC messages of `messageSize` bytes, each split over DATA frames
// of `frameSize` bytes, counting the bytes the receiver's windows let through (`accepted`).
//
// A receiver whose memory is bounded by flow control stops crediting: `stalled()` tells when the
// windows stayed shut across PING round trips. Used by transport/slow_reader_test.ts (over the
// in-memory pipe) and tests/flow_attack.ts (over TCP, against the interop server and our client).

import { WriteBuffer } from "./buffer.ts";
import {
  CONNECTION_PREFACE,
  DEFAULT_MAX_FRAME_SIZE,
  Flag,
  FrameParser,
  FrameType,
  MAX_ALLOWED_FRAME_SIZE,
  SettingId,
} from "./frame.ts";
import {
  writeData,
  writeFrameHeader,
  writePing,
  writeSettings,
  writeSettingsAck,
  writeWindowUpdate,
} from "./frame_writer.ts";
import type { RawConn } from "./writer.ts";
import { hpackLiterals } from "./_testing.ts";

/** Options of {@linkcode GreedyPeer}. */
export interface GreedyOptions {
  /** Client: write the preface and open stream 1 with these headers. Server: answer these. */
  role: "client" | "server";
  /** Request headers (client) or response headers (server), flat. */
  headers: string[];
  /** The first message, sent whole before the flood (a client's request). */
  first?: Uint8Array;
  /** The body of every flood message (its size is the message size). */
  body: Uint8Array;
  /** DATA payload size per frame. @default {16384} */
  frameSize?: number;
  /** Stop once this many bytes were accepted (a receiver without a bound never stalls). */
  cap: number;
}

/** See the module comment. */
export class GreedyPeer {
  readonly #conn: RawConn;
  readonly #o: Required<GreedyOptions>;
  /** DATA payload bytes the receiver's windows let us send on the stream. */
  accepted = 0;
  /** Whole flood messages sent. */
  messages = 0;
  streamWindow = 65535;
  connWindow = 65535;
  #peerInitial = 65535;
  #peerMaxFrame = DEFAULT_MAX_FRAME_SIZE;
  streamId = 0;
  /** RST_STREAM code received on the stream, or -1. */
  rstCode = -1;
  /** GOAWAY code received, or -1. */
  goawayCode = -1;
  /** Set when the stream or connection ended (reset, GOAWAY, END_STREAM, EOF). */
  ended = false;
  /** Credit (WINDOW_UPDATE or SETTINGS increments) received on the stream, in total. */
  credited = 0;

  #pending: Uint8Array | null = null; // the message being sent (prefix + body)
  #pendingOff = 0;
  #pumping = false;
  #ackWaiters: (() => void)[] = [];
  #closed = false;
  #initialAcked = false;
  #writing: Promise<void> = Promise.resolve();
  readonly #out = new WriteBuffer(64 * 1024);

  constructor(conn: RawConn, opts: GreedyOptions) {
    this.#conn = conn;
    this.#o = { frameSize: 16384, first: new Uint8Array(0), ...opts };
  }

  /** Starts reading, and (client) opens the stream. */
  start(): void {
    const out = this.#out;
    if (this.#o.role === "client") out.bytes(CONNECTION_PREFACE);
    // Large windows for what comes back: we never read responses slowly.
    writeSettings(out, [SettingId.INITIAL_WINDOW_SIZE, 1 << 30]);
    writeWindowUpdate(out, 0, (1 << 30) - 65535);
    if (this.#o.role === "client") {
      this.streamId = 1;
      this.#headers(1, this.#o.headers, false);
      this.#queueFirst();
    }
    this.#flush();
    this.#readLoop();
  }

  #queueFirst(): void {
    if (this.#o.first.length > 0 || this.#o.role === "client") {
      this.#pending = frameMessage(this.#o.first);
      this.#pendingOff = 0;
    }
  }

  #headers(id: number, list: string[], endStream: boolean): void {
    const block = new Uint8Array(hpackLiterals(list));
    writeFrameHeader(
      this.#out,
      block.length,
      FrameType.HEADERS,
      Flag.END_HEADERS | (endStream ? Flag.END_STREAM : 0),
      id,
    );
    this.#out.bytes(block);
  }

  // Writes are chained, each written whole (a socket write may take only part of a buffer).
  #flush(): void {
    if (this.#out.length === 0 || this.#closed) return;
    const b = this.#out.view().slice();
    this.#out.reset();
    this.#writing = this.#writing.then(async () => {
      for (let off = 0; off < b.length && !this.#closed;) {
        off += await this.#conn.write(b.subarray(off));
      }
    }).catch(() => this.#end());
  }

  #end(): void {
    this.ended = true;
    for (const w of this.#ackWaiters) w();
    this.#ackWaiters = [];
  }

  // Sends as much of the flood as the windows allow.
  #pump(): void {
    if (this.#pumping || this.ended || this.streamId === 0) return;
    this.#pumping = true;
    try {
      const max = Math.min(this.#o.frameSize, this.#peerMaxFrame);
      while (!this.ended && this.accepted < this.#o.cap) {
        if (this.#pending === null) {
          this.#pending = frameMessage(this.#o.body);
          this.#pendingOff = 0;
        }
        const left = this.#pending.length - this.#pendingOff;
        const n = Math.min(left, max, this.streamWindow, this.connWindow);
        if (n <= 0) break;
        writeData(
          this.#out,
          this.streamId,
          this.#pending,
          this.#pendingOff,
          this.#pendingOff + n,
          false,
        );
        this.#pendingOff += n;
        this.streamWindow -= n;
        this.connWindow -= n;
        this.accepted += n;
        if (this.#pendingOff === this.#pending.length) {
          this.#pending = null;
          this.messages++;
        }
        if (this.#out.length > 256 * 1024) this.#flush();
      }
    } finally {
      this.#pumping = false;
    }
    this.#flush();
  }

  /**
   * Whether the receiver keeps its windows shut: `rounds` round trips, `pauseMs` apart
   * (time for its application to run), with no new credit while we had nothing left to send.
   */
  async stalled(rounds = 3, pauseMs = 50): Promise<boolean> {
    for (let i = 0; i < rounds; i++) {
      const before = this.credited;
      await new Promise((r) => setTimeout(r, pauseMs));
      await this.roundTrip();
      if (this.ended || this.accepted >= this.#o.cap) return false;
      if (this.credited !== before) return false;
    }
    return true;
  }

  /**
   * One round trip: an empty SETTINGS frame, answered once the receiver processed everything
   * before it (not a PING, which a server's keepalive policy would count as a strike).
   */
  roundTrip(): Promise<void> {
    if (this.ended) return Promise.resolve();
    const p = new Promise<void>((r) => this.#ackWaiters.push(r));
    writeSettings(this.#out, []);
    this.#flush();
    return p;
  }

  /** Runs until the receiver stalls us, ends the stream, or the cap is reached. */
  async untilStalled(): Promise<void> {
    while (!this.ended && this.accepted < this.#o.cap) {
      if (await this.stalled()) return;
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#end();
    try {
      this.#conn.close();
    } catch {
      // already closed
    }
  }

  async #readLoop(): Promise<void> {
    const parser = new FrameParser();
    parser.maxFrameSize = MAX_ALLOWED_FRAME_SIZE;
    let buf = new Uint8Array(1 << 20);
    let start = 0;
    let end = 0;
    let preface = this.#o.role === "server" ? CONNECTION_PREFACE.length : 0;
    try {
      for (;;) {
        if (end === buf.length) {
          if (start > 0) {
            buf.copyWithin(0, start, end);
            end -= start;
            start = 0;
          } else {
            const next = new Uint8Array(buf.length * 2);
            next.set(buf);
            buf = next;
          }
        }
        const n = await this.#conn.read(buf.subarray(end));
        if (n === null) break;
        end += n;
        if (preface > 0) {
          const k = Math.min(preface, end - start);
          start += k;
          preface -= k;
          if (preface > 0) continue;
        }
        for (;;) {
          const next = parser.next(buf, start, end);
          if (next < 0) break;
          this.#onFrame(parser);
          start = next;
        }
        if (start === end) start = end = 0;
        this.#pump();
      }
    } catch {
      // The connection broke or sent something we can't parse: the attack is over.
    }
    this.#end();
  }

  #onFrame(f: FrameParser): void {
    switch (f.type) {
      case FrameType.SETTINGS: {
        if ((f.flags & Flag.ACK) !== 0) {
          // The first ACK answers the SETTINGS of start().
          if (this.#initialAcked) this.#ackWaiters.shift()?.();
          this.#initialAcked = true;
          break;
        }
        for (let i = 0; i < f.settingsCount; i++) {
          const id = f.readSettingId(i);
          const v = f.readSettingValue(i);
          if (id === SettingId.INITIAL_WINDOW_SIZE) {
            const d = v - this.#peerInitial;
            this.#peerInitial = v;
            this.streamWindow += d;
            if (d > 0) this.credited += d;
          } else if (id === SettingId.MAX_FRAME_SIZE) {
            this.#peerMaxFrame = v;
          }
        }
        writeSettingsAck(this.#out);
        this.#flush();
        break;
      }
      case FrameType.WINDOW_UPDATE:
        if (f.streamId === 0) this.connWindow += f.windowIncrement;
        else if (f.streamId === this.streamId) {
          this.streamWindow += f.windowIncrement;
          this.credited += f.windowIncrement;
        }
        break;
      case FrameType.PING: {
        const p = f.buf.subarray(f.payloadStart, f.payloadStart + 8);
        if ((f.flags & Flag.ACK) === 0) {
          writePing(this.#out, true, p);
          this.#flush();
        }
        break;
      }
      case FrameType.HEADERS:
        if (this.#o.role === "server" && this.streamId === 0) {
          this.streamId = f.streamId;
          this.streamWindow = this.#peerInitial;
          this.#headers(f.streamId, this.#o.headers, false);
          this.#flush();
        } else if (f.streamId === this.streamId && (f.flags & Flag.END_STREAM) !== 0) {
          this.#end(); // the client got its status
        }
        break;
      case FrameType.DATA:
        // What the other side sends us (the request, responses) is credited at once.
        if (f.length > 0) {
          writeWindowUpdate(this.#out, 0, f.length);
          if (f.streamId === this.streamId && (f.flags & Flag.END_STREAM) === 0) {
            writeWindowUpdate(this.#out, f.streamId, f.length);
          }
          this.#flush();
        }
        break;
      case FrameType.RST_STREAM:
        if (f.streamId === this.streamId) {
          this.rstCode = f.errorCode;
          this.#end();
        }
        break;
      case FrameType.GOAWAY:
        this.goawayCode = f.errorCode;
        this.#end();
        break;
    }
  }
}

/** A gRPC length-prefixed message. */
function frameMessage(body: Uint8Array): Uint8Array {
  const b = new Uint8Array(5 + body.length);
  new DataView(b.buffer).setUint32(1, body.length);
  b.set(body, 5);
  return b;
}
