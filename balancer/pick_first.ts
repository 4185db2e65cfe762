// pick_first: try the addresses in order, keep the first connection that works. The default
// policy. grpc-go: balancer/pickfirst/pickfirstleaf (gRFC A61: one subchannel per address,
// address families interleaved, a new attempt every 250 ms while one hangs; gRFC A62:
// shuffleAddressList, sticky TRANSIENT_FAILURE).

import { ConnectivityState } from "../client/connectivity.ts";
import type { Address, ResolverState } from "../resolver/resolver.ts";
import { isIPv4, isIPv6, splitHostPort } from "../resolver/resolver.ts";
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

/** The name of the policy in service configs. */
export const PICK_FIRST = "pick_first";

/**
 * How long an attempt may hang before the next address is tried alongside it (gRFC A61
 * "Happy Eyeballs"; grpc-go: connectionDelayInterval).
 */
export const CONNECTION_ATTEMPT_DELAY_MS = 250;

/** pick_first's config (grpc-proto PickFirstConfig). */
export interface PickFirstConfig {
  /** Shuffle the addresses before trying them (gRFC A62). @default {false} */
  readonly shuffleAddressList: boolean;
}

function parseConfig(json: unknown): PickFirstConfig {
  const o = (json ?? {}) as Record<string, unknown>;
  const s = o.shuffleAddressList;
  if (s != null && typeof s !== "boolean") {
    throw new TypeError(`shuffleAddressList: expected true or false, got ${JSON.stringify(s)}`);
  }
  return { shuffleAddressList: s === true };
}

/** A key that identifies an address (transport and text). */
export function addressKey(a: Address): string {
  return (a.transport ?? "tcp") === "tcp" ? a.addr : `unix:${a.addr}`;
}

function family(a: Address): number {
  if ((a.transport ?? "tcp") !== "tcp") return 2;
  try {
    const { host } = splitHostPort(a.addr, 443);
    return isIPv4(host) ? 0 : isIPv6(host) ? 1 : 2;
  } catch {
    return 2;
  }
}

/**
 * Drops duplicates and interleaves address families, starting with the first address's
 * (gRFC A61; grpc-go: interleaveAddresses).
 */
export function interleaveAddresses(addrs: readonly Address[]): Address[] {
  const seen = new Set<string>();
  const groups: Address[][] = [];
  const order: number[] = [];
  for (const a of addrs) {
    const k = addressKey(a);
    if (seen.has(k)) continue;
    seen.add(k);
    const f = family(a);
    if (groups[f] === undefined) {
      groups[f] = [];
      order.push(f);
    }
    groups[f].push(a);
  }
  const out: Address[] = [];
  for (let i = 0; out.length < seen.size; i++) {
    for (const f of order) if (i < groups[f].length) out.push(groups[f][i]);
  }
  return out;
}

interface Entry {
  readonly address: Address;
  sc: SubConn | null;
  state: ConnectivityState;
  failedThisPass: boolean;
}

class PickFirst implements Balancer {
  readonly #cc: BalancerClientConn;
  readonly #opts: BalancerBuildOptions;
  #entries: Entry[] = [];
  #index = 0;
  #state: ConnectivityState = ConnectivityState.Idle;
  #selected: Entry | null = null;
  #firstPass = false;
  #timer: number | undefined;
  #lastError: Error | null = null;
  #failuresSincePass = 0;
  #closed = false;

  constructor(cc: BalancerClientConn, opts: BalancerBuildOptions) {
    this.#cc = cc;
    this.#opts = opts;
  }

  updateClientConnState(rs: ResolverState, config: unknown): void {
    if (this.#closed) return;
    const cfg = config as PickFirstConfig | undefined;
    let addrs = [...rs.addresses];
    if (cfg?.shuffleAddressList === true) {
      for (let i = addrs.length - 1; i > 0; i--) {
        const j = Math.floor(this.#opts.random() * (i + 1));
        [addrs[i], addrs[j]] = [addrs[j], addrs[i]];
      }
    }
    addrs = interleaveAddresses(addrs);
    if (addrs.length === 0) {
      for (const e of this.#entries) e.sc?.shutdown();
      this.#entries = [];
      this.#selected = null;
      this.#cancelTimer();
      this.#publish(
        ConnectivityState.TransientFailure,
        errorPicker(new Error("the resolver produced zero addresses")),
      );
      this.#cc.resolveNow();
      return;
    }
    const hadAddresses = this.#entries.length > 0;
    const old = new Map(this.#entries.map((e) => [addressKey(e.address), e]));
    this.#entries = addrs.map((a) => {
      const k = addressKey(a);
      const e = old.get(k);
      old.delete(k);
      return e ?? { address: a, sc: null, state: ConnectivityState.Idle, failedThisPass: false };
    });
    for (const e of old.values()) e.sc?.shutdown();
    const sel = this.#selected;
    if (sel !== null && this.#entries.includes(sel)) {
      // Still READY on an address that is still listed: keep it, drop the rest.
      this.#index = this.#entries.indexOf(sel);
      this.#shutdownOthers(sel);
      return;
    }
    this.#selected = null;
    if (
      sel !== null || !hadAddresses || this.#state === ConnectivityState.Connecting
    ) {
      this.#publish(ConnectivityState.Connecting, QUEUE_PICKER);
      this.#startFirstPass();
    } else if (this.#state === ConnectivityState.TransientFailure) {
      this.#startFirstPass(); // sticky: stay in TRANSIENT_FAILURE until READY (gRFC A62)
    }
  }

  resolverError(err: Error): void {
    if (this.#closed) return;
    if (this.#entries.length === 0 || this.#state === ConnectivityState.TransientFailure) {
      this.#lastError = err;
      this.#publish(ConnectivityState.TransientFailure, errorPicker(err));
    }
  }

  exitIdle(): void {
    if (this.#closed || this.#state !== ConnectivityState.Idle || this.#entries.length === 0) {
      return;
    }
    this.#publish(ConnectivityState.Connecting, QUEUE_PICKER);
    this.#startFirstPass();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#cancelTimer();
    for (const e of this.#entries) e.sc?.shutdown();
    this.#entries = [];
    this.#selected = null;
  }

  #publish(state: ConnectivityState, picker: Picker): void {
    this.#state = state;
    this.#cc.updateState(state, picker);
  }

  #startFirstPass(): void {
    this.#firstPass = true;
    this.#index = 0;
    this.#failuresSincePass = 0;
    for (const e of this.#entries) e.failedThisPass = false;
    this.#requestConnection();
  }

  #subConn(e: Entry): SubConn {
    if (e.sc === null) {
      e.state = ConnectivityState.Idle;
      const sc = this.#cc.newSubConn(e.address, (s) => {
        if (e.sc === sc) this.#onState(e, s);
      });
      e.sc = sc;
    }
    return e.sc;
  }

  // grpc-go requestConnectionLocked: connect the current address, or skip it if it is still
  // in its backoff from an earlier pass.
  #requestConnection(): void {
    this.#cancelTimer();
    while (this.#firstPass && this.#index < this.#entries.length) {
      const e = this.#entries[this.#index];
      const sc = this.#subConn(e);
      switch (e.state) {
        case ConnectivityState.Idle:
          sc.connect();
          this.#scheduleNext();
          return;
        case ConnectivityState.Connecting:
          this.#scheduleNext();
          return;
        case ConnectivityState.TransientFailure:
          e.failedThisPass = true;
          this.#index++;
          continue;
        default:
          return;
      }
    }
    this.#endFirstPassIfDone();
  }

  #scheduleNext(): void {
    this.#timer = this.#opts.setTimeout(() => {
      this.#timer = undefined;
      if (this.#closed || !this.#firstPass) return;
      this.#index++;
      this.#requestConnection();
    }, CONNECTION_ATTEMPT_DELAY_MS);
  }

  #cancelTimer(): void {
    if (this.#timer !== undefined) {
      this.#opts.clearTimeout(this.#timer);
      this.#timer = undefined;
    }
  }

  #endFirstPassIfDone(): void {
    if (!this.#firstPass || this.#index < this.#entries.length) return;
    if (!this.#entries.every((e) => e.failedThisPass)) return;
    this.#firstPass = false;
    this.#publish(
      ConnectivityState.TransientFailure,
      errorPicker(this.#lastError ?? new Error("every address failed")),
    );
    this.#cc.resolveNow();
    // Sticky TRANSIENT_FAILURE: keep trying each address as its backoff ends.
    for (const e of this.#entries) {
      if (e.state === ConnectivityState.Idle) e.sc?.connect();
    }
  }

  #shutdownOthers(keep: Entry): void {
    for (const e of this.#entries) {
      if (e !== keep && e.sc !== null) {
        e.sc.shutdown();
        e.sc = null;
        e.state = ConnectivityState.Idle;
      }
    }
  }

  #onState(e: Entry, s: SubConnState): void {
    if (this.#closed || s.state === ConnectivityState.Shutdown) return;
    const prev = e.state;
    e.state = s.state;
    if (s.state === ConnectivityState.Ready) {
      this.#cancelTimer();
      this.#firstPass = false;
      this.#selected = e;
      this.#index = this.#entries.indexOf(e);
      this.#shutdownOthers(e);
      const sc = e.sc!;
      this.#publish(ConnectivityState.Ready, { pick: () => sc });
      return;
    }
    if (this.#selected === e) {
      // The connection was lost: go IDLE; the next call starts a new pass (grpc-go
      // idlePicker), and the resolver is asked for fresh addresses.
      this.#selected = null;
      this.#publish(ConnectivityState.Idle, {
        pick: () => {
          queueMicrotask(() => this.exitIdle());
          return null;
        },
      });
      this.#cc.resolveNow();
      return;
    }
    if (s.state === ConnectivityState.TransientFailure) this.#lastError = s.error ?? null;
    if (this.#firstPass) {
      switch (s.state) {
        case ConnectivityState.TransientFailure:
          e.failedThisPass = true;
          if (this.#entries[this.#index] === e) {
            this.#index++;
            this.#requestConnection();
          } else {
            this.#endFirstPassIfDone();
          }
          break;
        case ConnectivityState.Connecting:
          if (this.#state !== ConnectivityState.TransientFailure && this.#state !== s.state) {
            this.#publish(ConnectivityState.Connecting, QUEUE_PICKER);
          }
          break;
        case ConnectivityState.Idle:
          // CONNECTING → IDLE: connected and lost before READY was seen; treat as lost.
          if (prev === ConnectivityState.Connecting && this.#entries[this.#index] === e) {
            this.#cancelTimer();
            this.#firstPass = false;
            this.#publish(ConnectivityState.Idle, {
              pick: () => {
                queueMicrotask(() => this.exitIdle());
                return null;
              },
            });
          }
          break;
      }
      return;
    }
    // After the first pass (sticky TRANSIENT_FAILURE): reconnect each address as its backoff
    // ends; ask for re-resolution once every address failed again (grpc-go numTF).
    if (this.#state !== ConnectivityState.TransientFailure) return;
    if (s.state === ConnectivityState.Idle) {
      e.sc?.connect();
    } else if (s.state === ConnectivityState.TransientFailure) {
      this.#publish(
        ConnectivityState.TransientFailure,
        errorPicker(this.#lastError ?? new Error("every address failed")),
      );
      if (++this.#failuresSincePass >= this.#entries.length) {
        this.#failuresSincePass = 0;
        this.#cc.resolveNow();
      }
    }
  }
}

registerBalancer({
  name: PICK_FIRST,
  build: (cc, opts) => new PickFirst(cc, opts),
  parseConfig,
});
