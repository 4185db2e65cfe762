// round_robin: one subchannel per address, every one kept connected, calls rotated over the
// READY ones. grpc-go: balancer/roundrobin (on endpointsharding + pick_first per endpoint).

import { ConnectivityState } from "../client/connectivity.ts";
import type { ResolverState } from "../resolver/resolver.ts";
import {
  type Balancer,
  type BalancerBuildOptions,
  type BalancerClientConn,
  errorPicker,
  type Picker,
  QUEUE_PICKER,
  registerBalancer,
  type SubConn,
  type SubConnState,
} from "./balancer.ts";
import { addressKey } from "./pick_first.ts";

/** The name of the policy in service configs. */
export const ROUND_ROBIN = "round_robin";

interface Entry {
  readonly key: string;
  readonly sc: SubConn;
  state: ConnectivityState;
  /** The state counted in the aggregate: TRANSIENT_FAILURE sticks until READY (gRFC A61). */
  effective: ConnectivityState;
}

/** Rotates over `ready`, starting at a random one (grpc-go rrPicker). */
class RoundRobinPicker implements Picker {
  readonly #ready: readonly SubConn[];
  #next: number;

  constructor(ready: readonly SubConn[], start: number) {
    this.#ready = ready;
    this.#next = start % ready.length;
  }

  pick(): SubConn {
    const sc = this.#ready[this.#next];
    if (++this.#next === this.#ready.length) this.#next = 0;
    return sc;
  }
}

class RoundRobin implements Balancer {
  readonly #cc: BalancerClientConn;
  readonly #opts: BalancerBuildOptions;
  #entries: Entry[] = [];
  #lastError: Error | null = null;
  #published: { state: ConnectivityState; ready: readonly SubConn[] } | null = null;
  #closed = false;

  constructor(cc: BalancerClientConn, opts: BalancerBuildOptions) {
    this.#cc = cc;
    this.#opts = opts;
  }

  updateClientConnState(rs: ResolverState): void {
    if (this.#closed) return;
    const old = new Map(this.#entries.map((e) => [e.key, e]));
    const next: Entry[] = [];
    const fresh: Entry[] = [];
    for (const a of rs.addresses) {
      const key = addressKey(a);
      if (next.some((e) => e.key === key)) continue; // duplicate
      let e = old.get(key);
      if (e !== undefined) {
        old.delete(key);
      } else {
        const entry: Entry = {
          key,
          sc: this.#cc.newSubConn(a, (s) => this.#onState(entry, s)),
          state: ConnectivityState.Idle,
          effective: ConnectivityState.Idle,
        };
        e = entry;
        fresh.push(entry);
      }
      next.push(e);
    }
    for (const e of old.values()) e.sc.shutdown();
    this.#entries = next;
    if (next.length === 0) {
      this.#lastError = new Error("the resolver produced zero addresses");
      this.#publishIfChanged(true);
      this.#cc.resolveNow();
      return;
    }
    this.#publishIfChanged(false);
    for (const e of fresh) e.sc.connect();
  }

  resolverError(err: Error): void {
    if (this.#closed) return;
    this.#lastError = err;
    if (this.#entries.length === 0) this.#publishIfChanged(true);
  }

  exitIdle(): void {
    for (const e of this.#entries) if (e.state === ConnectivityState.Idle) e.sc.connect();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const e of this.#entries) e.sc.shutdown();
    this.#entries = [];
  }

  #onState(e: Entry, s: SubConnState): void {
    if (this.#closed || !this.#entries.includes(e) || s.state === ConnectivityState.Shutdown) {
      return;
    }
    const prev = e.state;
    e.state = s.state;
    switch (s.state) {
      case ConnectivityState.Ready:
      case ConnectivityState.TransientFailure:
        e.effective = s.state;
        break;
      case ConnectivityState.Idle:
      case ConnectivityState.Connecting:
        if (e.effective !== ConnectivityState.TransientFailure) e.effective = s.state;
        break;
    }
    if (s.state === ConnectivityState.TransientFailure) {
      this.#lastError = s.error ?? this.#lastError;
      this.#cc.resolveNow();
    }
    if (s.state === ConnectivityState.Idle) {
      // Lost its connection, or its backoff ended: reconnect at once, and ask the resolver
      // whether the backend moved.
      if (prev === ConnectivityState.Ready) this.#cc.resolveNow();
      e.sc.connect();
    }
    this.#publishIfChanged(false);
  }

  // grpc-go endpointsharding: READY if any child is, else CONNECTING if any is (or IDLE), else
  // TRANSIENT_FAILURE. A new picker is made only when the READY set or the state changed, so
  // the rotation is not reset by unrelated updates.
  #publishIfChanged(force: boolean): void {
    const ready: SubConn[] = [];
    let connecting = false;
    for (const e of this.#entries) {
      if (e.effective === ConnectivityState.Ready) ready.push(e.sc);
      else if (e.effective !== ConnectivityState.TransientFailure) connecting = true;
    }
    const state = ready.length > 0
      ? ConnectivityState.Ready
      : connecting
      ? ConnectivityState.Connecting
      : ConnectivityState.TransientFailure;
    const p = this.#published;
    if (
      !force && p !== null && p.state === state && p.ready.length === ready.length &&
      p.ready.every((sc, i) => sc === ready[i]) && state !== ConnectivityState.TransientFailure
    ) {
      return;
    }
    this.#published = { state, ready };
    let picker: Picker;
    if (state === ConnectivityState.Ready) {
      picker = new RoundRobinPicker(ready, Math.floor(this.#opts.random() * ready.length));
    } else if (state === ConnectivityState.Connecting) {
      picker = QUEUE_PICKER;
    } else {
      picker = errorPicker(this.#lastError ?? new Error("every address failed"));
    }
    this.#cc.updateState(state, picker);
  }
}

registerBalancer({
  name: ROUND_ROBIN,
  build: (cc, opts) => new RoundRobin(cc, opts),
  parseConfig: () => ({}),
});
