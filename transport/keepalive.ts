// Connection lifetime timers, after grpc-go's http2Server.keepalive / http2Client.keepalive
// (internal/transport) and gRFC A8 (client-side keepalive):
//
// - `KeepalivePinger` (both roles): after `timeMs` without reading anything, send a PING; when
//   nothing at all is read within `timeoutMs` after it, the peer is gone: close. Any byte read
//   counts as a sign of life (grpc-go's lastRead), not only the PING's ACK. A client without
//   calls and without `permitWithoutStream` goes dormant and pings again as soon as a call opens.
// - `ConnectionLifetime` (server): `maxConnectionIdleMs` since the last call ended (or since the
//   connection started) and `maxConnectionAgeMs` (±10% jitter) end the connection gracefully
//   (GOAWAY, drain); `maxConnectionAgeGraceMs` after the age limit it is closed whatever runs.
//
// Time comes from a `Clock` (internal/clock.ts) so tests drive every timer by hand (`FakeClock`),
// with no wall-clock waits.

import type { Clock } from "../internal/clock.ts";

export type { Clock };

/**
 * The clock of the keepalive and lifetime timers: monotonic (`performance.now()`), and its timers
 * are unref'd, so they never keep a process alive on their own (the sockets do while calls run),
 * as grpc-go programs exit when main returns. Tests pass a `FakeClock` (internal/_fake_clock.ts).
 */
export const SYSTEM_CLOCK: Clock = Object.freeze({
  now: () => performance.now(),
  setTimeout: (fn: () => void, ms: number): number => {
    const id = setTimeout(fn, ms) as unknown as number;
    Deno.unrefTimer(id);
    return id;
  },
  clearTimeout: (id: number): void => clearTimeout(id),
});

/** setTimeout's largest delay (2^31-1 ms, ~24.8 days); longer ones are chained. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** One re-armable timer on a `Clock` that also takes delays longer than setTimeout allows. */
export class LongTimer {
  readonly #clock: Clock;
  readonly #fn: () => void;
  #handle = -1;
  #due = 0;

  constructor(clock: Clock, fn: () => void) {
    this.#clock = clock;
    this.#fn = fn;
  }

  /** Whether the timer is armed. */
  get armed(): boolean {
    return this.#handle !== -1;
  }

  /** (Re)arms the timer to fire `ms` from now; `Infinity` disarms it. */
  set(ms: number): void {
    this.clear();
    if (ms === Infinity) return;
    this.#due = this.#clock.now() + Math.max(0, ms);
    this.#arm(Math.max(0, ms));
  }

  /** Disarms the timer. */
  clear(): void {
    if (this.#handle === -1) return;
    this.#clock.clearTimeout(this.#handle);
    this.#handle = -1;
  }

  #arm(ms: number): void {
    this.#handle = this.#clock.setTimeout(() => {
      this.#handle = -1;
      // Chained past setTimeout's limit: re-arm for what is left.
      const left = this.#due - this.#clock.now();
      if (left > 0 && ms > MAX_TIMER_MS) this.#arm(left);
      else this.#fn();
    }, Math.min(ms, MAX_TIMER_MS));
  }
}

/** What a `KeepalivePinger` does to its connection. */
export interface PingerHooks {
  /** Sends a keepalive PING. */
  ping(): void;
  /** Nothing was read within the timeout after a PING: close the connection. */
  dead(): void;
  /** Whether pinging is allowed now (client: a call is open, or `permitWithoutStream`). */
  mayPing(): boolean;
}

/**
 * Keepalive pings on one connection (grpc-go `keepalive()` in http2_client.go and
 * http2_server.go). Call `read()` whenever bytes arrive, `wake()` when a client opens a call.
 */
export class KeepalivePinger {
  readonly #clock: Clock;
  readonly #timeMs: number;
  readonly #timeoutMs: number;
  readonly #hooks: PingerHooks;
  readonly #timer: LongTimer;
  #lastRead = 0;
  #readSinceCheck = false;
  #outstanding = false;
  #timeoutLeft = 0;
  #dormant = false;
  #stopped = false;

  /**
   * @param timeMs Read inactivity before a PING (grpc-go Time).
   * @param timeoutMs How long to wait for any read after the PING (grpc-go Timeout).
   */
  constructor(clock: Clock, timeMs: number, timeoutMs: number, hooks: PingerHooks) {
    this.#clock = clock;
    this.#timeMs = timeMs;
    this.#timeoutMs = timeoutMs;
    this.#hooks = hooks;
    this.#timer = new LongTimer(clock, () => this.#check());
  }

  /** Whether the pinger waits for a call to open before it pings (client without calls). */
  get dormant(): boolean {
    return this.#dormant;
  }

  /** Whether a PING is out and nothing was read since. */
  get outstanding(): boolean {
    return this.#outstanding;
  }

  /** Starts the first `timeMs` period. */
  start(): void {
    this.#timer.set(this.#timeMs);
  }

  /** Bytes arrived from the peer. Bound, so a connection can call it without a closure. */
  readonly read = (): void => {
    this.#lastRead = this.#clock.now();
    this.#readSinceCheck = true;
  };

  /** A call opened: a dormant pinger pings at once (grpc-go kpDormancyCond.Signal). */
  wake(): void {
    if (!this.#dormant || this.#stopped) return;
    this.#dormant = false;
    this.#sendPing();
  }

  /** Stops every timer (the connection closed). */
  stop(): void {
    this.#stopped = true;
    this.#timer.clear();
  }

  #check(): void {
    if (this.#stopped) return;
    if (this.#readSinceCheck) {
      // Activity since the last look: next look `timeMs` after the last read.
      this.#readSinceCheck = false;
      this.#outstanding = false;
      this.#timer.set(this.#lastRead + this.#timeMs - this.#clock.now());
      return;
    }
    if (this.#outstanding && this.#timeoutLeft <= 0) {
      this.#stopped = true;
      this.#hooks.dead();
      return;
    }
    if (!this.#hooks.mayPing()) {
      // grpc-go: a ping sent before going dormant is forgotten; one goes out on waking.
      this.#outstanding = false;
      this.#dormant = true;
      return;
    }
    this.#sendPing();
  }

  #sendPing(): void {
    if (!this.#outstanding) {
      this.#hooks.ping();
      this.#timeoutLeft = this.#timeoutMs;
      this.#outstanding = true;
    }
    // Sleep min(time, timeoutLeft): with a timeout longer than the time, keep pinging every
    // `timeMs` until the timeout runs out.
    const sleep = Math.min(this.#timeMs, this.#timeoutLeft);
    this.#timeoutLeft -= sleep;
    this.#timer.set(sleep);
  }
}

/** What a `ConnectionLifetime` does to its server connection. */
export interface LifetimeHooks {
  /** Graceful end: GOAWAY with this debug text ("max_idle", "max_age"), then drain. */
  drain(debug: string): void;
  /** The age grace ran out: close now. */
  close(): void;
}

/** Server connection limits, in ms (`Infinity` for none). grpc-go keepalive.ServerParameters. */
export interface LifetimeLimits {
  maxConnectionIdleMs: number;
  /** Already jittered (see `ageWithJitter`). */
  maxConnectionAgeMs: number;
  maxConnectionAgeGraceMs: number;
}

/**
 * grpc-go getJitter: the age limit ±10%, uniformly, so connections made together do not all
 * reconnect together.
 */
export function ageWithJitter(ageMs: number, random: () => number = Math.random): number {
  if (ageMs === Infinity) return Infinity;
  return ageMs + (random() * 2 - 1) * ageMs * 0.1;
}

/** Server keepalive, resolved (grpc-go keepalive.ServerParameters); `Infinity` for none. */
export interface ServerKeepalive extends LifetimeLimits {
  /** Read inactivity before the server pings. */
  timeMs: number;
  /** Wait for any read after that PING before closing. */
  timeoutMs: number;
}

/** Client keepalive, resolved (grpc-go keepalive.ClientParameters). */
export interface ClientKeepalive {
  /** Read inactivity before the client pings; `Infinity`: keepalive off. */
  timeMs: number;
  /** Wait for any read after that PING before closing. */
  timeoutMs: number;
  /** Ping even with no call open. */
  permitWithoutStream: boolean;
}

/** A server connection's idle and age limits (grpc-go http2Server.keepalive's idle/age timers). */
export class ConnectionLifetime {
  readonly #clock: Clock;
  readonly #limits: LifetimeLimits;
  readonly #hooks: LifetimeHooks;
  readonly #idleTimer: LongTimer;
  readonly #ageTimer: LongTimer;
  /** When the last call ended (or the connection started); -1 while calls run. */
  #idleSince: number;
  #agePassed = false;
  #stopped = false;

  constructor(clock: Clock, limits: LifetimeLimits, hooks: LifetimeHooks) {
    this.#clock = clock;
    this.#limits = limits;
    this.#hooks = hooks;
    this.#idleSince = clock.now();
    this.#idleTimer = new LongTimer(clock, () => this.#idleCheck());
    this.#ageTimer = new LongTimer(clock, () => this.#ageCheck());
  }

  /** Starts the idle and age timers (from now). */
  start(): void {
    this.#idleSince = this.#clock.now();
    this.#idleTimer.set(this.#limits.maxConnectionIdleMs);
    this.#ageTimer.set(this.#limits.maxConnectionAgeMs);
  }

  /** A call opened: the connection is not idle. */
  busy(): void {
    this.#idleSince = -1;
  }

  /** The last call ended: the idle period starts now. */
  idle(): void {
    this.#idleSince = this.#clock.now();
  }

  /** Stops every timer (the connection closed). */
  stop(): void {
    this.#stopped = true;
    this.#idleTimer.clear();
    this.#ageTimer.clear();
  }

  #idleCheck(): void {
    if (this.#stopped) return;
    const max = this.#limits.maxConnectionIdleMs;
    if (this.#idleSince < 0) {
      this.#idleTimer.set(max);
      return;
    }
    const left = max - (this.#clock.now() - this.#idleSince);
    if (left > 0) {
      this.#idleTimer.set(left);
      return;
    }
    this.#hooks.drain("max_idle");
  }

  #ageCheck(): void {
    if (this.#stopped) return;
    if (!this.#agePassed) {
      this.#agePassed = true;
      this.#idleTimer.clear();
      this.#hooks.drain("max_age");
      this.#ageTimer.set(this.#limits.maxConnectionAgeGraceMs);
      return;
    }
    this.#stopped = true;
    this.#hooks.close();
  }
}
