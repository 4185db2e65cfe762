// One subchannel: the connection to one address — connection attempts, backoff between failed
// ones, and its connectivity state (grpc-go addrConn in clientconn.go: connect, resetTransport,
// tryAllAddrs, createTransport).

import { Code, StatusError } from "../status.ts";
import { backoffDelay } from "../internal/backoff.ts";
import { ClientTransport } from "../transport/http2_client.ts";
import { ConnectivityState } from "./connectivity.ts";
import { connectRaw, type Target } from "./dialer.ts";
import { closingError } from "./errors.ts";
import { errorText } from "../internal/error_message.ts";
import type { ResolvedDialOptions } from "./options.ts";

/** setTimeout fires at once for delays of 2^31 ms or more (STYLE.md §7): no timer then. */
const MAX_TIMER_MS = 2 ** 31 - 1;

const RESOLVED: Promise<void> = Promise.resolve();

/** What a subchannel tells the one who waits on it (the picker). */
export interface SubchannelListener {
  /** An attempt succeeded: `t` is READY. */
  onReady(t: ClientTransport): void;
  /** An attempt failed with `err` (UNAVAILABLE); the subchannel is in TRANSIENT_FAILURE. */
  onFailure(err: StatusError): void;
  /** Whether calls wait for a connection: the end of the backoff delay reconnects only then. */
  hasWaiting(): boolean;
}

const NO_LISTENER: SubchannelListener = {
  onReady() {},
  onFailure() {},
  hasWaiting: () => false,
};

function refConn(conn: unknown, on: boolean): void {
  const c = conn as Partial<Deno.Conn>;
  if (on) c.ref?.();
  else c.unref?.();
}

/** The connection to one address: one transport at a time. */
export class Subchannel {
  readonly target: Target;
  readonly #opts: ResolvedDialOptions;
  /** Told about attempts that end; set by the picker. */
  listener: SubchannelListener = NO_LISTENER;
  #state: ConnectivityState = ConnectivityState.Idle;
  #transport: ClientTransport | null = null;
  readonly #transports = new Set<ClientTransport>();
  #backoffIdx = 0;
  #retryAt = 0;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #lastError: StatusError | null = null;
  #attempt: AbortController | null = null;
  #attemptDone: Promise<void> = RESOLVED;
  #closed = false;
  // Sockets are unref'd while no call is in progress, so an idle ClientConn that was never
  // closed does not keep the process alive (grpc-go programs exit when main returns).
  #referenced = false;

  constructor(target: Target, opts: ResolvedDialOptions) {
    this.target = target;
    this.#opts = opts;
  }

  /** The state as the channel reports it. */
  get state(): ConnectivityState {
    const s = this.#state;
    if (s === ConnectivityState.Ready && this.#transport?.draining !== false) {
      return ConnectivityState.Idle;
    }
    // grpc-go: after the backoff delay, a failed addrConn goes back to IDLE.
    if (s === ConnectivityState.TransientFailure && this.#backoffOver()) {
      return ConnectivityState.Idle;
    }
    return s;
  }

  /** Whether the last attempt failed and its backoff delay has not passed yet. */
  get inTransientFailure(): boolean {
    return this.#state === ConnectivityState.TransientFailure;
  }

  /** The error of the last failed attempt (null once READY). */
  get lastError(): StatusError | null {
    return this.#lastError;
  }

  #backoffOver(): boolean {
    return this.#retryTimer === undefined && Date.now() >= this.#retryAt;
  }

  /** Refs the sockets while calls are in progress (`on`), unrefs them otherwise. */
  setReferenced(on: boolean): void {
    this.#referenced = on;
    for (const t of this.#transports) refConn(t.conn, on);
  }

  /** The READY transport, or null (hot path: no promise). */
  readyTransport(): ClientTransport | null {
    const t = this.#transport;
    return t !== null && !t.draining ? t : null;
  }

  /** The transport that takes new streams, or null; forgets one that stopped taking them. */
  currentTransport(): ClientTransport | null {
    const t = this.#transport;
    if (t !== null) {
      if (!t.draining) return t;
      this.lost(t);
    }
    return null;
  }

  /**
   * Starts an attempt when IDLE, or in TRANSIENT_FAILURE once the backoff delay has passed
   * (grpc-go addrConn.connect; what pick_first's ExitIdle asks for).
   */
  exitIdle(): void {
    if (
      this.#state === ConnectivityState.Idle ||
      (this.#state === ConnectivityState.TransientFailure && this.#backoffOver())
    ) {
      this.#startConnect();
    }
  }

  /** grpc-go ClientConn.Connect: leave IDLE now. */
  connect(): void {
    if (this.#closed) return;
    const t = this.#transport;
    if (t !== null && t.draining) this.lost(t);
    this.exitIdle();
  }

  #startConnect(): void {
    if (this.#closed || this.#state === ConnectivityState.Connecting) return;
    this.cancelRetry();
    this.#state = ConnectivityState.Connecting;
    this.#attemptDone = this.#tryConnect();
  }

  // grpc-go addrConn.resetTransport / tryAllAddrs / createTransport, for one address.
  async #tryConnect(): Promise<void> {
    const backoffMs = backoffDelay(this.#backoffIdx, this.#opts.backoff);
    const timeoutMs = Math.max(this.#opts.minConnectTimeoutMs, backoffMs);
    const ac = new AbortController();
    this.#attempt = ac;
    const where = this.target.kind === "unix" ? this.target.path : this.target.authority;
    const timer = setTimeout(() => {
      ac.abort(
        new StatusError(
          Code.Unavailable,
          `Cannot connect to ${where}: no handshake within ${timeoutMs} ms`,
        ),
      );
    }, Math.min(timeoutMs, MAX_TIMER_MS));
    let t: ClientTransport | null = null;
    try {
      let conn: Deno.Conn;
      try {
        conn = await connectRaw(this.target, ac.signal);
      } catch (err) {
        if (ac.signal.aborted) throw ac.signal.reason;
        throw new StatusError(Code.Unavailable, `Cannot connect to ${where}: ${errorText(err)}`, {
          cause: err,
        });
      }
      if (ac.signal.aborted) {
        try {
          conn.close();
        } catch {
          // Already closed.
        }
        throw ac.signal.reason;
      }
      const tt = new ClientTransport(conn, this.#opts.transport);
      t = tt;
      tt.onDrain = () => this.lost(tt);
      tt.onClose = () => {
        this.#transports.delete(tt);
        this.lost(tt);
      };
      this.#transports.add(tt);
      if (!this.#referenced) refConn(conn, false);
      tt.begin();
      const onAbort = () => tt.close(ac.signal.reason);
      ac.signal.addEventListener("abort", onAbort, { once: true });
      try {
        await tt.handshaked;
      } finally {
        ac.signal.removeEventListener("abort", onAbort);
      }
      if (tt.draining) throw tt.closeReason ?? new StatusError(Code.Unavailable, "GOAWAY at once");
    } catch (err) {
      clearTimeout(timer);
      this.#attempt = null;
      t?.close(StatusError.from(err));
      if (this.#closed) return;
      const e = err instanceof StatusError && err.code === Code.Unavailable
        ? err
        : new StatusError(Code.Unavailable, `Cannot connect to ${where}: ${errorText(err)}`, {
          cause: err,
        });
      this.#lastError = e;
      this.#backoffIdx++;
      this.#state = ConnectivityState.TransientFailure;
      // grpc-go: the backoff timer starts when the attempt has failed.
      this.#retryAt = Date.now() + backoffMs;
      this.listener.onFailure(e);
      return;
    }
    clearTimeout(timer);
    this.#attempt = null;
    if (this.#closed) {
      t.close(closingError());
      return;
    }
    this.#transport = t;
    this.#state = ConnectivityState.Ready;
    this.#backoffIdx = 0;
    this.#lastError = null;
    this.listener.onReady(t);
  }

  /** Reconnects when the backoff delay has passed, if calls still wait then. */
  scheduleRetry(): void {
    if (this.#retryTimer !== undefined || this.#closed) return;
    const ms = Math.max(0, this.#retryAt - Date.now());
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      if (this.listener.hasWaiting() && this.#state === ConnectivityState.TransientFailure) {
        this.#startConnect();
      }
    }, Math.min(ms, MAX_TIMER_MS));
  }

  /** Stops the backoff timer (no call waits any more). */
  cancelRetry(): void {
    if (this.#retryTimer !== undefined) {
      clearTimeout(this.#retryTimer);
      this.#retryTimer = undefined;
    }
  }

  /**
   * The transport `t` stopped taking streams (GOAWAY, closed): forget it, so the next call
   * connects anew (grpc-go: the addrConn goes IDLE; backoff was reset when it became READY).
   */
  lost(t: ClientTransport): void {
    if (t !== this.#transport) return;
    this.#transport = null;
    if (this.#state === ConnectivityState.Ready) this.#state = ConnectivityState.Idle;
  }

  /** Shuts down: stops the attempt and the backoff timer, closes every transport with `err`. */
  async shutdown(err: StatusError): Promise<void> {
    if (this.#closed) {
      await this.#attemptDone;
      return;
    }
    this.#closed = true;
    this.#state = ConnectivityState.Shutdown;
    this.cancelRetry();
    this.#attempt?.abort(err);
    this.#transport = null;
    const ts = [...this.#transports];
    for (const t of ts) t.close(err);
    await this.#attemptDone;
    await Promise.all(ts.map((t) => t.closed));
  }
}
