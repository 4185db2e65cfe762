// One subchannel: the connection to one address — connection attempts, backoff between failed
// ones, client-side health checking, and its connectivity state, reported to the balancer that
// created it (grpc-go addrConn in clientconn.go: connect, resetTransport, createTransport,
// startHealthCheck; balancer.SubConn).

import { Code, StatusError } from "../status.ts";
import { backoffDelay } from "../internal/backoff.ts";
import { ClientTransport } from "../transport/http2_client.ts";
import type { ClientKeepalive } from "../transport/keepalive.ts";
import type { RawConn } from "../transport/writer.ts";
import type { SubConn, SubConnState } from "../balancer/balancer.ts";
import type { Address } from "../resolver/resolver.ts";
import { ConnectivityState } from "./connectivity.ts";
import { dialAddress } from "./dialer.ts";
import { closingError } from "./errors.ts";
import { errorText } from "../internal/error_message.ts";
import { HEALTH_WATCH_PATH, watchHealth } from "./health_check.ts";
import type { ProxyConfig } from "./proxy.ts";
import type { ResolvedDialOptions } from "./options.ts";

/** setTimeout fires at once for delays of 2^31 ms or more (STYLE.md §7): no timer then. */
const MAX_TIMER_MS = 2 ** 31 - 1;

const RESOLVED: Promise<void> = Promise.resolve();

/** What a subchannel needs from its channel. */
export interface SubchannelOwner {
  readonly opts: ResolvedDialOptions;
  /** The proxy to tunnel through, if any. */
  readonly proxy: ProxyConfig | undefined;
  /** With TLS: the name the server's certificate must carry (sent as SNI). */
  readonly tlsServerName: string;
  /** The health service to watch (gRFC A17), or undefined. Read at each connection. */
  readonly healthCheckServiceName: string | undefined;
  /** Whether calls are in progress (sockets are ref'd only then). */
  readonly referenced: boolean;
  headerPrefix(path: string): string[];
  /** A transport became usable or unusable (the channel re-runs queued picks). */
  subchannelChanged(sc: Subchannel): void;
  /** Transports of every subchannel, for ref/unref and lookup. */
  trackTransport(t: ClientTransport, sc: Subchannel, on: boolean): void;
  /** The keepalive a new connection gets (gRFC A8; its time doubles after "too_many_pings"). */
  readonly keepalive: Readonly<ClientKeepalive>;
  /** `t` ended with GOAWAY ENHANCE_YOUR_CALM "too_many_pings" (reported once per transport). */
  tooManyPings(t: ClientTransport): void;
}

function refConn(conn: unknown, on: boolean): void {
  const c = conn as Partial<Deno.Conn>;
  if (on) c.ref?.();
  else c.unref?.();
}

/** The connection to one address: one transport at a time. */
export class Subchannel implements SubConn {
  readonly address: Address;
  readonly #owner: SubchannelOwner;
  readonly #listener: (s: SubConnState) => void;
  #state: ConnectivityState = ConnectivityState.Idle;
  #transport: ClientTransport | null = null;
  readonly #transports = new Set<ClientTransport>();
  #backoffIdx = 0;
  #backoffTimer: ReturnType<typeof setTimeout> | undefined;
  #lastError: StatusError | null = null;
  #attempt: AbortController | null = null;
  #attemptDone: Promise<void> = RESOLVED;
  #health: AbortController | null = null;

  constructor(address: Address, owner: SubchannelOwner, listener: (s: SubConnState) => void) {
    this.address = address;
    this.#owner = owner;
    this.#listener = listener;
  }

  get state(): ConnectivityState {
    return this.#state;
  }

  /** The error of the last failed attempt (null once READY). */
  get lastError(): StatusError | null {
    return this.#lastError;
  }

  /** The READY transport, or null (hot path: no promise). */
  readyTransport(): ClientTransport | null {
    const t = this.#transport;
    if (this.#state !== ConnectivityState.Ready || t === null) return null;
    if (t.draining) {
      this.lost(t);
      return null;
    }
    return t;
  }

  /** Refs the sockets while calls are in progress (`on`), unrefs them otherwise. */
  setReferenced(on: boolean): void {
    for (const t of this.#transports) refConn(t.conn, on);
  }

  // The balancer hears every change after the current task step (grpc-go delivers them through
  // a serializer), so balancer code never runs inside its own calls into the subchannel.
  #setState(state: ConnectivityState, error?: StatusError): void {
    if (this.#state === ConnectivityState.Shutdown) return;
    if (this.#state === state && state !== ConnectivityState.TransientFailure) return;
    this.#state = state;
    // A plain Error for the balancer: a StatusError in a picker would drop calls, even
    // waitForReady ones (grpc-go: connection errors are not status errors).
    const update: SubConnState = error === undefined
      ? { state }
      : { state, error: new Error(error.rawMessage, { cause: error }) };
    queueMicrotask(() => {
      if (this.#state !== ConnectivityState.Shutdown) this.#listener(update);
    });
    this.#owner.subchannelChanged(this);
  }

  /** Starts an attempt if IDLE. grpc-go: `addrConn.connect`. */
  connect(): void {
    if (this.#state !== ConnectivityState.Idle) return;
    this.#setState(ConnectivityState.Connecting);
    this.#attemptDone = this.#tryConnect();
  }

  #where(): string {
    // An abstract unix socket's leading NUL prints as "@" (as `ss` shows it).
    return this.address.addr.replace(/^\0/, "@");
  }

  // grpc-go addrConn.resetTransport / createTransport, for one address.
  async #tryConnect(): Promise<void> {
    const opts = this.#owner.opts;
    const backoffMs = backoffDelay(this.#backoffIdx, opts.backoff);
    const timeoutMs = Math.max(opts.minConnectTimeoutMs, backoffMs);
    const ac = new AbortController();
    this.#attempt = ac;
    const where = this.#where();
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
      let conn: RawConn;
      try {
        conn = await dialAddress(
          this.address,
          this.#owner.proxy,
          ac.signal,
          this.#owner.opts.credentials,
          this.#owner.tlsServerName,
        );
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
      const tt = new ClientTransport(conn, opts.transport, { keepalive: this.#owner.keepalive });
      t = tt;
      tt.onDrain = () => {
        if (tt.tooManyPings) this.#owner.tooManyPings(tt);
        this.lost(tt);
      };
      tt.onClose = () => {
        this.#transports.delete(tt);
        this.#owner.trackTransport(tt, this, false);
        if (tt.tooManyPings) this.#owner.tooManyPings(tt);
        this.#logClosed(tt, where);
        this.lost(tt);
      };
      this.#transports.add(tt);
      this.#owner.trackTransport(tt, this, true);
      if (!this.#owner.referenced) refConn(conn, false);
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
      if (this.#state === ConnectivityState.Shutdown) return;
      const e = err instanceof StatusError && err.code === Code.Unavailable
        ? err
        : new StatusError(Code.Unavailable, `Cannot connect to ${where}: ${errorText(err)}`, {
          cause: err,
        });
      this.#lastError = e;
      // grpc-go addrConn.createTransport logs the failure too; callers see it as UNAVAILABLE.
      this.#owner.opts.logger.info(`grpc: ${e.rawMessage}`);
      this.#backoffIdx++;
      this.#setState(ConnectivityState.TransientFailure, e);
      // grpc-go: the backoff timer starts when the attempt has failed; then IDLE, and the
      // balancer decides whether to connect again.
      this.#backoffTimer = setTimeout(() => {
        this.#backoffTimer = undefined;
        if (this.#state === ConnectivityState.TransientFailure) {
          this.#setState(ConnectivityState.Idle);
        }
      }, Math.min(backoffMs, MAX_TIMER_MS));
      if (!this.#owner.referenced) Deno.unrefTimer(this.#backoffTimer);
      return;
    }
    clearTimeout(timer);
    this.#attempt = null;
    if (this.#state === ConnectivityState.Shutdown) {
      t.close(closingError());
      return;
    }
    this.#transport = t;
    this.#backoffIdx = 0;
    this.#lastError = null;
    const service = this.#owner.healthCheckServiceName;
    if (service === undefined) {
      this.#setState(ConnectivityState.Ready);
      return;
    }
    // gRFC A17: READY only once the health service says SERVING.
    const hc = new AbortController();
    this.#health = hc;
    const tt = t;
    watchHealth(tt, this.#owner.headerPrefix(HEALTH_WATCH_PATH), service, hc.signal, (r) => {
      if (hc.signal.aborted || this.#transport !== tt) return;
      if (r.healthy) this.#setState(ConnectivityState.Ready);
      else {
        this.#lastError = r.error;
        this.#setState(ConnectivityState.TransientFailure, r.error);
      }
    });
  }

  /**
   * The transport `t` stopped taking streams (GOAWAY, closed): forget it and go IDLE, so the
   * balancer reconnects (grpc-go: the addrConn goes IDLE; backoff was reset when READY).
   */
  // A connection that ended other than by our close: a protocol violation by the server is a
  // warning (grpc-go logs its connection errors), a lost or closed connection is info (the
  // calls on it fail UNAVAILABLE with the cause, and the balancer reconnects).
  #logClosed(t: ClientTransport, where: string): void {
    const reason = t.closeReason;
    if (reason === null || this.#state === ConnectivityState.Shutdown) return;
    if (reason.rawMessage.startsWith("Connection error:")) {
      this.#owner.opts.logger.warning(
        `grpc: closed the connection to ${where}: ${reason.rawMessage}`,
      );
    } else {
      this.#owner.opts.logger.info(`grpc: connection to ${where} ended: ${reason.rawMessage}`);
    }
  }

  lost(t: ClientTransport): void {
    if (t !== this.#transport) return;
    this.#transport = null;
    this.#health?.abort();
    this.#health = null;
    if (this.#state !== ConnectivityState.Shutdown) this.#setState(ConnectivityState.Idle);
  }

  /** Shuts down for good; open streams may finish. grpc-go: `SubConn.Shutdown`. */
  shutdown(): void {
    void this.close(closingError(), true);
  }

  /**
   * Shuts down: stops the attempt and the backoff timer; transports drain (`graceful`, open
   * streams finish) or close now with `err`.
   */
  async close(err: StatusError, graceful = false): Promise<void> {
    if (this.#state === ConnectivityState.Shutdown) {
      await this.#attemptDone;
      return;
    }
    this.#state = ConnectivityState.Shutdown;
    if (this.#backoffTimer !== undefined) clearTimeout(this.#backoffTimer);
    this.#backoffTimer = undefined;
    this.#attempt?.abort(err);
    this.#health?.abort();
    this.#health = null;
    this.#transport = null;
    this.#owner.subchannelChanged(this);
    const ts = [...this.#transports];
    for (const t of ts) {
      if (graceful) t.drain();
      else t.close(err);
    }
    await this.#attemptDone;
    await Promise.all(ts.map((t) => t.closed));
  }
}
