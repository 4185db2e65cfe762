// The channel behind a ClientConn: the target's resolver, the service config, the balancer and
// its subchannels, the picker calls go through, the aggregated connectivity state, idleness,
// the constant request headers, the shared deadline timer, and shutdown (grpc-go clientconn.go,
// resolver_wrapper.go, balancer_wrapper.go, idle.go).

import type { ClientKeepalive } from "../transport/keepalive.ts";
import { supportedEncodings } from "../compression.ts";
import type { Metadata } from "../metadata.ts";
import { Code, StatusError } from "../status.ts";
import { DeadlineTimers } from "../internal/deadline_timers.ts";
import { REAL_CLOCK } from "../internal/clock.ts";
import { isDeadlineReason } from "../internal/abort.ts";
import { errorText } from "../internal/error_message.ts";
import type { ClientTransport } from "../transport/http2_client.ts";
import {
  type Balancer,
  type BalancerClientConn,
  getBalancer,
  type Picker,
  QUEUE_PICKER,
  type SubConnState,
} from "../balancer/balancer.ts";
import "../balancer/pick_first.ts";
import "../balancer/round_robin.ts";
import {
  type Address,
  isFixedListResolver,
  parseTarget,
  type Resolver,
  type ResolverClientConn,
  type ResolverFactory,
  type ResolverState,
  splitHostPort,
  type Target,
} from "../resolver/resolver.ts";
import "../resolver/dns.ts";
import "../resolver/ip.ts";
import "../resolver/passthrough.ts";
import "../resolver/unix.ts";
import { ConnectivityState } from "./connectivity.ts";
import { closingError } from "./errors.ts";
import type { ResolvedDialOptions } from "./options.ts";
import { PickerWrapper, type Waiter } from "./picker.ts";
import { type ProxyConfig, proxyFor } from "./proxy.ts";
import {
  EMPTY_SERVICE_CONFIG,
  type MethodConfig,
  methodConfigFor,
  parseServiceConfig,
  type ServiceConfig,
} from "./service_config.ts";
import { Subchannel, type SubchannelOwner } from "./subchannel.ts";
import {
  CallRetryState,
  RetryBufferPool,
  type RetryClock,
  type RetrySettings,
  RetryThrottler,
  SYSTEM_RETRY_CLOCK,
} from "./retry.ts";

const RESOLVED: Promise<void> = Promise.resolve();

function noop(): void {}

// The `:authority` for a target (grpc-go: the endpoint, "localhost" for unix sockets; for an
// address list, its first address).
function defaultAuthority(t: Target): string {
  if (t.scheme === "unix" || t.scheme === "unix-abstract") return "localhost";
  const e = t.endpoint;
  return t.scheme === "ipv4" || t.scheme === "ipv6" ? e.split(",")[0] : e;
}

/** The channel: one target, many subchannels, one picker. */
export class Channel implements SubchannelOwner {
  readonly opts: ResolvedDialOptions;
  readonly acceptEncoding: string;
  /** The `:authority` of every call. */
  readonly authority: string;
  readonly proxy: ProxyConfig | undefined;
  /** With TLS: the name the server's certificate must carry (sent as SNI). */
  readonly tlsServerName: string;
  readonly #target: Target;
  readonly #factory: ResolverFactory;
  readonly #prefixes = new Map<string, string[]>();
  /** One timer for every call's deadline (internal/deadline_timers.ts explains why). */
  readonly deadlines: DeadlineTimers = new DeadlineTimers();
  /** Timers and randomness of retries and hedges (tests inject their own). */
  retryClock: RetryClock = SYSTEM_RETRY_CLOCK;
  /** Request bytes kept for retries by every call of the channel (gRFC A6 buffering). */
  readonly retryBuffer: RetryBufferPool;
  #retrySettings: RetrySettings;
  readonly #picker: PickerWrapper;
  readonly #idlePicker: Picker;
  #state: ConnectivityState = ConnectivityState.Idle;
  #stateWaiters: (() => void)[] = [];
  #lastError: Error | null = null;
  #closed = false;
  readonly #scheme: string;

  // Active (non-idle) mode: the resolver and balancer exist only then (grpc-go idle.go).
  #resolver: Resolver | null = null;
  #balancer: Balancer | null = null;
  #balancerName = "";
  /** A new policy waiting to take over (graceful switch), and its latest update. */
  #pending: Balancer | null = null;
  #pendingName = "";
  #pendingUpdate: { state: ConnectivityState; picker: Picker } | null = null;
  #config: ServiceConfig;
  #resolverConfigSeen = false;
  readonly #subchannels = new Set<Subchannel>();
  readonly #transportOwner = new Map<ClientTransport, Subchannel>();
  // gRFC A8 / grpc-go cc.mkp: the keepalive new connections get; doubled after a server's GOAWAY
  // ENHANCE_YOUR_CALM "too_many_pings", for every subchannel of the channel.
  #keepalive: Readonly<ClientKeepalive>;
  readonly #tooManyPingsSeen = new WeakSet<ClientTransport>();

  // Calls in progress: sockets are ref'd only while there are some, and the idle timer counts
  // from the last one's end.
  #active = 0;
  #lastActivity = 0;
  #idleTimer: number | undefined;

  /**
   * @throws {TypeError} The target cannot be parsed.
   */
  constructor(target: string, opts: ResolvedDialOptions) {
    this.opts = opts;
    this.#keepalive = opts.keepalive;
    const tls = opts.credentials.tlsOptions;
    this.#scheme = tls === undefined ? "http" : "https";
    this.acceptEncoding = supportedEncodings();
    let { target: t, factory } = parseTarget(target, opts.resolvers);
    if (t.scheme === "dns") {
      const { host, port } = splitHostPort(t.endpoint, 443); // throws TypeError when malformed
      // gRFC A1: with a proxy the name is not resolved here; CONNECT carries it.
      this.proxy = proxyFor(opts.proxy, host);
      if (this.proxy !== undefined) {
        const addr = host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
        factory = (_t, cc) => {
          cc.updateState({ addresses: [{ addr }] });
          return { resolveNow: noop, close: noop };
        };
      }
    } else if (isFixedListResolver(factory)) {
      // Our fixed-list resolvers have no side effects: build one now so that a malformed
      // target throws here, not on the first call.
      let first: Address | undefined;
      factory(t, { updateState: (s) => first = s.addresses[0], reportError: noop }, {}).close();
      if (first !== undefined && first.transport !== "unix") {
        this.proxy = proxyFor(opts.proxy, splitHostPort(first.addr, 443).host);
      }
    }
    this.#target = t;
    this.#factory = factory;
    // grpc-go: a server name override in the TLS credentials is the authority too, and the
    // name checked in the server's certificate is the authority's host (never a resolved
    // address).
    this.authority = tls?.serverName ?? defaultAuthority(t);
    this.tlsServerName = tls?.serverName ?? splitHostPort(defaultAuthority(t), 443).host;
    this.#config = opts.defaultServiceConfig ?? EMPTY_SERVICE_CONFIG;
    this.#idlePicker = {
      pick: () => {
        this.#exitIdle();
        return null;
      },
    };
    this.#picker = new PickerWrapper(this.#idlePicker);
    this.retryBuffer = new RetryBufferPool(opts.retryBufferSize);
    this.#retrySettings = this.#makeRetrySettings(undefined);
    this.#updateThrottler();
  }

  get closed(): boolean {
    return this.#closed;
  }

  #makeRetrySettings(throttler: RetryThrottler | undefined): RetrySettings {
    return Object.freeze({
      maxCallAttempts: this.opts.maxCallAttempts,
      perRpcBufferSize: this.opts.maxRetryRPCBufferSize,
      pool: this.retryBuffer,
      throttler,
      random: () => this.retryClock.random(),
    });
  }

  // The throttle follows the service config's retryThrottling (grpc-go: a new retryThrottler
  // per config; we keep the tokens while the settings stay the same, so re-resolution does not
  // refill a throttled bucket).
  #updateThrottler(): void {
    const want = this.#config.retryThrottling;
    const have = this.#retrySettings.throttler;
    if (want === undefined) {
      if (have !== undefined) this.#retrySettings = this.#makeRetrySettings(undefined);
      return;
    }
    if (have?.maxTokens === want.maxTokens && have.tokenRatio === want.tokenRatio) return;
    this.#retrySettings = this.#makeRetrySettings(
      new RetryThrottler(want.maxTokens, want.tokenRatio),
    );
  }

  /** The retry throttle of the current service config (gRFC A6 retryThrottling), if any. */
  get retryThrottler(): RetryThrottler | undefined {
    return this.#retrySettings.throttler;
  }

  /**
   * A new call's retry state: the retry or hedging policy of its method config `mc` (none
   * with `disableRetry`), the channel's throttle and buffer pool.
   */
  newRetryState(mc: MethodConfig | undefined): CallRetryState {
    const off = mc === undefined || this.opts.disableRetry;
    return new CallRetryState(
      this.#retrySettings,
      off ? undefined : mc.retryPolicy,
      off ? undefined : mc.hedgingPolicy,
    );
  }

  get state(): ConnectivityState {
    return this.#state;
  }

  /** Whether calls are in progress. */
  get referenced(): boolean {
    return this.#active > 0;
  }

  /** The health service subchannels watch (gRFC A17), from the service config. */
  get healthCheckServiceName(): string | undefined {
    return this.#config.healthCheckServiceName;
  }

  /** The current service config. */
  get serviceConfig(): ServiceConfig {
    return this.#config;
  }

  /** The service config's settings for `path` (`/pkg.Service/Method`), if any. */
  methodConfig(path: string): MethodConfig | undefined {
    return methodConfigFor(this.#config, path);
  }

  callStarted(): void {
    if (this.#active++ === 0) this.#setReferenced(true);
  }

  callEnded(): void {
    if (--this.#active === 0) this.#setReferenced(false);
    this.#lastActivity = this.opts.clock.now();
  }

  #setReferenced(on: boolean): void {
    for (const sc of this.#subchannels) sc.setReferenced(on);
  }

  /** The constant request headers of a method (cached; never mutated). */
  headerPrefix(path: string): string[] {
    let p = this.#prefixes.get(path);
    if (p === undefined) {
      p = [
        ":method",
        "POST",
        ":scheme",
        this.#scheme,
        ":path",
        path,
        ":authority",
        this.authority,
        "content-type",
        "application/grpc",
        "te",
        "trailers",
        "user-agent",
        this.opts.userAgent,
        "grpc-accept-encoding",
        this.acceptEncoding,
      ];
      if (this.#prefixes.size < 10_000) this.#prefixes.set(path, p);
    }
    return p;
  }

  /** The transport the balancer picks now, or null (hot path: no promise). */
  readyTransport(method: string, metadata: Metadata | undefined): ClientTransport | null {
    return this.#picker.pickNow(method, metadata);
  }

  /** See {@linkcode PickerWrapper.pick}. */
  pick(
    waitForReady: boolean,
    method: string,
    metadata: Metadata | undefined,
  ): ClientTransport | Waiter {
    return this.#picker.pick(waitForReady, method, metadata);
  }

  /** The call behind `w` stopped waiting for a transport. */
  dropWaiter(w: Waiter): void {
    this.#picker.dropWaiter(w);
  }

  /** The transport `t` refused a new stream (draining): its subchannel forgets it. */
  forgetTransport(t: ClientTransport): void {
    this.#transportOwner.get(t)?.lost(t);
  }

  // ---- connectivity API (grpc-go ClientConn.Connect, GetState, WaitForStateChange) -------

  /** Leave IDLE now: build the resolver and balancer, or ask the balancer to reconnect. */
  connect(): void {
    if (this.#closed) return;
    if (this.#resolver === null) this.#exitIdle();
    else {
      const b = this.#balancer;
      if (b !== null) this.#guard(b, () => b.exitIdle());
    }
  }

  /**
   * Resolves `true` once the state is not `from`; `false` if `signal` aborts first.
   */
  waitForStateChange(from: ConnectivityState, signal?: AbortSignal): Promise<boolean> {
    if (this.#state !== from) return Promise.resolve(true);
    if (signal?.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const onAbort = () => {
        this.#stateWaiters = this.#stateWaiters.filter((w) => w !== waiter);
        resolve(false);
      };
      const waiter = () => {
        signal?.removeEventListener("abort", onAbort);
        resolve(true);
      };
      this.#stateWaiters.push(waiter);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  #setState(s: ConnectivityState): void {
    if (this.#state === s || this.#state === ConnectivityState.Shutdown) return;
    this.#state = s;
    const ws = this.#stateWaiters;
    this.#stateWaiters = [];
    for (const w of ws) w();
  }

  /**
   * Resolves once READY (`dial({ block })`). `failFast`: rejects UNAVAILABLE on the first
   * TRANSIENT_FAILURE; else waits until `signal` aborts (DEADLINE_EXCEEDED for a timeout).
   */
  async waitForReadyState(signal: AbortSignal | undefined, failFast: boolean): Promise<void> {
    this.connect();
    for (;;) {
      const s = this.#state;
      if (s === ConnectivityState.Ready) return;
      if (s === ConnectivityState.Shutdown) throw closingError();
      if (s === ConnectivityState.Idle) this.connect();
      if (s === ConnectivityState.TransientFailure && failFast) {
        const last = this.#lastError;
        throw new StatusError(Code.Unavailable, last?.message ?? "connection failed", {
          cause: last ?? undefined,
        });
      }
      if (!(await this.waitForStateChange(s, signal))) {
        const reason = signal!.reason;
        const last = this.#lastError ? `; last error: ${this.#lastError.message}` : "";
        const timeout = isDeadlineReason(reason);
        throw new StatusError(
          timeout ? Code.DeadlineExceeded : Code.Canceled,
          `${timeout ? "Deadline exceeded" : "Cancelled"} while connecting${last}`,
          { cause: reason },
        );
      }
    }
  }

  // ---- idleness (grpc-go idle.go) ----------------------------------------------------------

  #exitIdle(): void {
    if (this.#closed || this.#resolver !== null) return;
    this.#setState(ConnectivityState.Connecting);
    this.#picker.update(QUEUE_PICKER);
    this.#lastActivity = this.opts.clock.now();
    this.#armIdleTimer(this.opts.idleTimeoutMs);
    const cc: ResolverClientConn = {
      updateState: (s) => {
        if (this.#resolver === resolver || resolver === undefined) this.#onResolverState(s);
      },
      reportError: (err) => {
        if (this.#resolver === resolver || resolver === undefined) this.#onResolverError(err);
      },
    };
    let resolver: Resolver | undefined;
    // The resolver may report from inside the factory: `resolver` is still undefined then.
    const placeholder: Resolver = { resolveNow: noop, close: noop };
    this.#resolver = placeholder;
    try {
      resolver = this.#factory(this.#target, cc, {
        serviceConfigLookup: this.opts.serviceConfigLookup,
      });
    } catch (err) {
      resolver = placeholder;
      this.#onResolverError(err instanceof Error ? err : new Error(String(err)));
    }
    if (this.#resolver === placeholder) this.#resolver = resolver;
    else resolver.close(); // closed or idle again meanwhile
  }

  #armIdleTimer(ms: number): void {
    if (this.opts.idleTimeoutMs === 0 || this.#closed) return;
    const clock = this.opts.clock;
    this.#idleTimer = clock.setTimeout(() => {
      this.#idleTimer = undefined;
      if (this.#closed || this.#resolver === null) return;
      const idleFor = clock.now() - this.#lastActivity;
      if (this.#active > 0) this.#armIdleTimer(this.opts.idleTimeoutMs);
      else if (idleFor < this.opts.idleTimeoutMs) {
        this.#armIdleTimer(this.opts.idleTimeoutMs - idleFor);
      } else this.#enterIdle();
    }, ms);
    // Housekeeping alone never keeps the process alive.
    if (clock === REAL_CLOCK) Deno.unrefTimer(this.#idleTimer);
  }

  // No calls for idleTimeoutMs: stop the resolver and balancer, drain every connection.
  #enterIdle(): void {
    const r = this.#resolver, b = this.#balancer, p = this.#pending;
    this.#resolver = null;
    this.#balancer = null;
    this.#balancerName = "";
    this.#pending = null;
    this.#pendingUpdate = null;
    r?.close();
    p?.close();
    b?.close(); // its subchannels shut down: connections drain and close
    for (const sc of this.#subchannels) sc.shutdown();
    this.#picker.update(this.#idlePicker);
    this.#setState(ConnectivityState.Idle);
  }

  // ---- resolver → service config → balancer (grpc-go ccResolverWrapper, updateResolverState)

  #onResolverState(s: ResolverState): void {
    if (this.#closed) return;
    const sc = s.serviceConfig;
    if (this.opts.disableServiceConfig || sc === undefined) {
      if (!this.#resolverConfigSeen || sc === undefined) {
        this.#config = this.opts.defaultServiceConfig ?? EMPTY_SERVICE_CONFIG;
      }
    } else if (typeof sc === "string") {
      try {
        this.#config = parseServiceConfig(sc, this.opts.maxCallAttempts);
        this.#resolverConfigSeen = true;
      } catch {
        // grpc-go: an invalid config from the resolver keeps the previous good one.
      }
    }
    this.#updateThrottler();
    const b = this.#ensureBalancer();
    this.#guard(b, () => b.updateClientConnState(s, this.#config.loadBalancing.config));
  }

  #onResolverError(err: Error): void {
    if (this.#closed) return;
    this.#lastError = err;
    const b = this.#ensureBalancer();
    this.#guard(b, () => b.resolverError(err));
  }

  // A balancer that throws (a custom one's bug) must not take the process down: the channel
  // goes TRANSIENT_FAILURE with that error instead.
  #guard(b: Balancer, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      if (this.#closed || (this.#balancer !== b && this.#pending !== b)) return;
      if (this.#pending === b) {
        // The policy we were switching to is broken: keep the old one.
        this.#pending = null;
        this.#pendingUpdate = null;
        try {
          b.close();
        } catch {
          // broken already
        }
        return;
      }
      const e = new StatusError(Code.Internal, `grpc: the balancer failed: ${errorText(err)}`, {
        cause: err,
      });
      this.#lastError = e;
      this.#picker.update({ pick: () => e });
      this.#setState(ConnectivityState.TransientFailure);
    }
  }

  // The balancer the service config names. A new policy replaces the old one gracefully, as
  // grpc-go's gracefulswitch: while the old one is READY it keeps serving, and the new one
  // (pending) takes over once it is READY itself or the old one leaves READY.
  #ensureBalancer(): Balancer {
    const name = getBalancer(this.#config.loadBalancing.name) !== undefined
      ? this.#config.loadBalancing.name
      : "pick_first";
    if (this.#pending !== null) {
      if (this.#pendingName === name) return this.#pending;
      this.#pending.close();
      this.#pending = null;
      this.#pendingUpdate = null;
    }
    if (this.#balancer !== null && this.#balancerName === name) return this.#balancer;
    const graceful = this.#balancer !== null && this.#state === ConnectivityState.Ready;
    if (!graceful) {
      this.#balancer?.close();
      this.#balancer = null;
    }
    let b: Balancer | null = null;
    const mine = () => b === null || b === this.#balancer || b === this.#pending;
    const cc: BalancerClientConn = {
      newSubConn: (address: Address, listener: (s: SubConnState) => void) => {
        if (this.#closed || !mine()) {
          throw new Error("Cannot create a subchannel: the balancer was closed");
        }
        const sc = new Subchannel(address, this, (st) => {
          if (b !== null) this.#guard(b, () => listener(st));
        });
        this.#subchannels.add(sc);
        return sc;
      },
      updateState: (state, picker) => {
        if (this.#closed || !mine()) return;
        if (b === null || b === this.#pending) {
          // The new policy, not in charge yet: remember; take over when it is READY (or the
          // old one is not).
          this.#pendingUpdate = { state, picker };
          if (
            b === null || (state !== ConnectivityState.Ready &&
              this.#state === ConnectivityState.Ready)
          ) return;
          this.#promotePending();
          return;
        }
        if (this.#pending !== null && state !== ConnectivityState.Ready) {
          this.#promotePending(); // the old policy left READY: the new one serves now
          return;
        }
        this.#publish(state, picker);
      },
      resolveNow: () => {
        if (mine()) this.#resolver?.resolveNow();
      },
    };
    const built = getBalancer(name)!.build(cc, {
      setTimeout: (fn, ms) => REAL_CLOCK.setTimeout(fn, ms),
      clearTimeout: (id) => REAL_CLOCK.clearTimeout(id),
      random: Math.random,
    });
    b = built;
    if (graceful) {
      this.#pending = built;
      this.#pendingName = name;
      const u = this.#pendingUpdate;
      if (u !== null && u.state === ConnectivityState.Ready) this.#promotePending();
    } else {
      this.#balancer = built;
      this.#balancerName = name;
      const u = this.#pendingUpdate;
      this.#pendingUpdate = null;
      if (u !== null) this.#publish(u.state, u.picker);
    }
    return built;
  }

  #promotePending(): void {
    const next = this.#pending, old = this.#balancer;
    if (next === null) return;
    this.#balancer = next;
    this.#balancerName = this.#pendingName;
    this.#pending = null;
    old?.close();
    const u = this.#pendingUpdate;
    this.#pendingUpdate = null;
    if (u !== null) this.#publish(u.state, u.picker);
    else this.#publish(ConnectivityState.Connecting, QUEUE_PICKER);
  }

  #publish(state: ConnectivityState, picker: Picker): void {
    if (state === ConnectivityState.TransientFailure) {
      let r: unknown;
      try {
        r = picker.pick({ method: "", metadata: undefined });
      } catch (err) {
        r = err;
      }
      if (r instanceof Error) this.#lastError = r;
    }
    this.#picker.update(picker);
    this.#setState(state);
  }

  // ---- SubchannelOwner ---------------------------------------------------------------------

  /** A subchannel's transport changed: queued picks may go now. */
  subchannelChanged(sc: Subchannel): void {
    if (sc.state === ConnectivityState.Shutdown) this.#subchannels.delete(sc);
    else if (sc.state === ConnectivityState.TransientFailure && sc.lastError !== null) {
      this.#lastError = sc.lastError;
    }
    this.#picker.retryQueued();
  }

  /** The keepalive a new connection gets (see `tooManyPings`). */
  get keepalive(): Readonly<ClientKeepalive> {
    return this.#keepalive;
  }

  /**
   * grpc-go addrConn on GoAwayTooManyPings: double the keepalive time for new connections, once
   * per transport (its GOAWAY and its close both report it).
   */
  tooManyPings(t: ClientTransport): void {
    if (this.#tooManyPingsSeen.has(t)) return;
    this.#tooManyPingsSeen.add(t);
    const k = this.#keepalive;
    if (k.timeMs !== Infinity) this.#keepalive = Object.freeze({ ...k, timeMs: k.timeMs * 2 });
  }

  trackTransport(t: ClientTransport, sc: Subchannel, on: boolean): void {
    if (on) this.#transportOwner.set(t, sc);
    else this.#transportOwner.delete(t);
  }

  /** Closes: queued and later calls fail CANCELLED, every transport closes. */
  async close(): Promise<void> {
    const err: StatusError = closingError();
    const scs = [...this.#subchannels];
    if (!this.#closed) {
      this.#closed = true;
      this.deadlines.clear();
      if (this.#idleTimer !== undefined) this.opts.clock.clearTimeout(this.#idleTimer);
      this.#idleTimer = undefined;
      this.#picker.close(err);
      this.#setState(ConnectivityState.Shutdown);
      const r = this.#resolver, b = this.#balancer, p = this.#pending;
      this.#resolver = null;
      this.#balancer = null;
      this.#pending = null;
      r?.close();
      // Close the subchannels now (not gracefully), then let the balancers forget them.
      const closing = scs.map((sc) => sc.close(err));
      b?.close();
      p?.close();
      await Promise.all(closing);
      return;
    }
    await Promise.all(scs.map((sc) => sc.close(err)));
    await RESOLVED;
  }
}
