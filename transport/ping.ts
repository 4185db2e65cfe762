// Our PINGs (RFC 9113 §6.7): what each one is for (BDP, drain, ping(), keepalive), told apart by
// its payload when the ACK comes back, and the ping() callers waiting for their ACK.

import type { WriteBuffer } from "./buffer.ts";
import { writePing } from "./frame_writer.ts";

/** A BDP sample's PING (flow_control.ts BdpEstimator). */
export const PING_BDP = 1;
/** The drain PING of a graceful shutdown (server). */
export const PING_DRAIN = 2;
/** A ping() call's PING (a liveness check: tests, tools). */
export const PING_USER = 3;
/** A keepalive PING (keepalive.ts). */
export const PING_KEEPALIVE = 4;

// Our payload: "BD", five zero octets, then the kind. Written synchronously (writePing copies it).
const OUR_PING = new Uint8Array([0x42, 0x44, 0, 0, 0, 0, 0, 0]);

/** Appends one of our PINGs of `kind` (PING_BDP …) to `out`. */
export function writeOurPing(out: WriteBuffer, kind: number): void {
  OUR_PING[7] = kind;
  writePing(out, false, OUR_PING);
}

/** The kind of our PING that the ACK payload at `buf[p, p + 8)` answers, or 0 if it is not ours. */
export function ourPingKind(buf: Uint8Array, p: number): number {
  return buf[p] === 0x42 && buf[p + 1] === 0x44 ? buf[p + 7] : 0;
}

/** ping() calls waiting for their ACK, oldest first (PING ACKs come back in order). */
export class PingWaiters {
  #waiting: { resolve: () => void; reject: (e: unknown) => void }[] = [];

  /** A promise for the next PING_USER ACK. */
  add(): Promise<void> {
    return new Promise((resolve, reject) => this.#waiting.push({ resolve, reject }));
  }

  /** A PING_USER ACK arrived: the oldest waiter resolves. */
  acked(): void {
    this.#waiting.shift()?.resolve();
  }

  /** The connection closed: every waiter rejects with `reason`. */
  failAll(reason: unknown): void {
    const waiting = this.#waiting;
    this.#waiting = [];
    for (const p of waiting) p.reject(reason);
  }
}
