// Receive-side flow control (RFC 9113 §6.9) and the BDP estimator, after grpc-go
// internal/transport/flowcontrol.go (trInFlow, inFlow) and bdp_estimator.go. The send side (what
// the peer lets us send) is two counters the connection keeps next to its writer.
//
// The two receive levels do different jobs:
//
// - The connection window (ConnRecvFlow) is credited as DATA arrives, whether or not anybody
//   reads it, so one stream whose reader stalls never holds the whole connection hostage.
// - A stream window (StreamRecvFlow) is credited when the application consumes a message, or, while
//   it waits for the next one with nothing queued, as that message's bytes arrive (Http2Stream
//   onData; grpc-go's parser reads the body off the stream). A stream holds at most its window
//   unread. A message larger than the window gets exactly the
//   extra window it needs (`ensureWindow`, grpc-go maybeAdjust), once nothing else is unread.
//
// Bytes a connection may hold unread are therefore bounded by the sum over its open streams of
// (stream window + one message in assembly, ≤ maxReceiveMessageSize). ARCHITECTURE.md has the
// numbers.

import { MAX_BDP_WINDOW, MAX_WINDOW } from "./defaults.ts";

/**
 * The connection receive window (grpc-go trInFlow): every received byte is credited back at
 * once, in one WINDOW_UPDATE per quarter window.
 */
export class ConnRecvFlow {
  /** The window we advertise (the initial one, raised by BDP). */
  limit: number;
  /** Received, not yet announced back. */
  #unacked = 0;
  /** Received since the peer last saw a credit: may never exceed `limit`. */
  #inFlight = 0;

  constructor(limit: number) {
    this.limit = limit;
  }

  /**
   * Accounts `n` received bytes (a whole DATA frame, padding included). Returns -1 when the peer
   * overran the window (FLOW_CONTROL_ERROR), else the WINDOW_UPDATE increment to send now (0:
   * none yet).
   */
  onData(n: number): number {
    this.#inFlight += n;
    if (this.#inFlight > this.limit) return -1;
    this.#unacked += n;
    if (this.#unacked < this.limit / 4) return 0;
    const inc = this.#unacked;
    this.#unacked = 0;
    this.#inFlight -= inc;
    return inc;
  }

  /** Raises the window to `n`; returns the WINDOW_UPDATE increment that announces it (or 0). */
  newLimit(n: number): number {
    const d = n - this.limit;
    if (d <= 0) return 0;
    this.limit = n;
    return d;
  }
}

/**
 * One stream's receive window (grpc-go inFlow). Received bytes stay charged to the window until
 * the application reads the message they belong to (`onRead`).
 */
export class StreamRecvFlow {
  /** The window we advertise for this stream (SETTINGS_INITIAL_WINDOW_SIZE, raised by BDP). */
  limit: number;
  /** Received and not yet read by the application (queued messages + the one in assembly). */
  pendingData = 0;
  /** Read by the application and not yet announced to the peer. */
  pendingUpdate = 0;
  /** Window granted beyond `limit` for a message larger than the window; read bytes repay it. */
  delta = 0;

  constructor(limit: number) {
    this.limit = limit;
  }

  /** Accounts `n` received bytes. False when the peer overran the window (FLOW_CONTROL_ERROR). */
  onData(n: number): boolean {
    this.pendingData += n;
    return this.pendingData + this.pendingUpdate <= this.limit + this.delta;
  }

  /**
   * The application consumed `n` received bytes (a message with its 5-byte prefix, or padding).
   * Returns the WINDOW_UPDATE increment to send now: credit is batched to a quarter window, and
   * bytes covered by `delta` were granted already.
   */
  onRead(n: number): number {
    if (this.pendingData === 0) return 0;
    this.pendingData -= n;
    if (n > this.delta) {
      n -= this.delta;
      this.delta = 0;
    } else {
      this.delta -= n;
      n = 0;
    }
    this.pendingUpdate += n;
    if (this.pendingUpdate < this.limit / 4) return 0;
    const inc = this.pendingUpdate;
    this.pendingUpdate = 0;
    return inc;
  }

  /** What the peer may still send on this stream, as far as we know. */
  get peerQuota(): number {
    return this.limit + this.delta - this.pendingData - this.pendingUpdate;
  }

  /**
   * grpc-go maybeAdjust: `toCome` more bytes of the message in assembly must arrive before the
   * application can have it. If the peer's quota is short of that, grant exactly the shortfall
   * (never past 2^31-1) and return it as the WINDOW_UPDATE increment to send now; else 0.
   */
  ensureWindow(toCome: number): number {
    const short = toCome - this.peerQuota;
    if (short <= 0) return 0;
    const add = Math.min(short, MAX_WINDOW - (this.limit + this.delta));
    if (add <= 0) return 0;
    this.delta += add;
    return add;
  }
}

// grpc-go bdp_estimator.go constants: alpha (RTT smoothing), beta (a sample must reach this share
// of the current estimate), gamma (window = gamma × sample).
const BDP_ALPHA = 0.9;
const BDP_BETA = 0.66;
const BDP_GAMMA = 2;

/**
 * Bandwidth-delay product estimator (grpc-go bdpEstimator). A PING goes out with the first DATA
 * after the last one was acknowledged; the bytes received until its ACK are one sample. When a
 * sample nearly fills the current estimate at the highest bandwidth seen, both receive windows
 * grow to gamma × sample, up to MAX_BDP_WINDOW (16 MiB).
 */
export class BdpEstimator {
  /** The current estimate: the window size in force. */
  bdp: number;
  #sample = 0;
  #sentAt = 0;
  #pingOut = false;
  #rtt = 0;
  #samples = 0;
  #bwMax = 0;
  readonly #now: () => number;

  /** `now` is a millisecond clock (performance.now; injectable for tests). */
  constructor(initial: number, now: () => number = () => performance.now()) {
    this.bdp = initial;
    this.#now = now;
  }

  /** Adds `n` received DATA bytes to the sample. True: send a BDP PING now. */
  add(n: number): boolean {
    if (this.bdp >= MAX_BDP_WINDOW) return false;
    this.#sample += n;
    if (this.#pingOut) return false;
    this.#pingOut = true;
    this.#sample = n;
    this.#sentAt = this.#now();
    return true;
  }

  /** The BDP PING was acknowledged. Returns the new window size, or 0 to keep the current one. */
  onAck(): number {
    if (!this.#pingOut) return 0;
    this.#pingOut = false;
    const rtt = (this.#now() - this.#sentAt) / 1000;
    this.#samples++;
    if (this.#samples < 10) this.#rtt += (rtt - this.#rtt) / this.#samples;
    else this.#rtt += (rtt - this.#rtt) * BDP_ALPHA;
    const bw = this.#sample / (Math.max(this.#rtt, 1e-6) * 1.5);
    if (bw > this.#bwMax) this.#bwMax = bw;
    if (this.#sample < BDP_BETA * this.bdp || bw !== this.#bwMax) return 0;
    const next = Math.min(MAX_BDP_WINDOW, Math.floor(BDP_GAMMA * this.#sample));
    if (next <= this.bdp) return 0;
    this.bdp = next;
    return next;
  }
}
