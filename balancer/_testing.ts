// Fakes for balancer tests: subchannels whose states the test sets, and a ClientConn that
// records what the balancer publishes. grpc-go: internal/testutils/balancer.go
// (TestClientConn, TestSubConn).

import type { ConnectivityState } from "../client/connectivity.ts";
import type { Address } from "../resolver/resolver.ts";
import { FakeClock } from "../internal/_fake_clock.ts";
import {
  type Balancer,
  type BalancerClientConn,
  getBalancer,
  type Picker,
  type SubConn,
  type SubConnState,
} from "./balancer.ts";

export class FakeSubConn implements SubConn {
  connects = 0;
  isShutdown = false;
  state: ConnectivityState = "IDLE";
  constructor(readonly address: Address, readonly listener: (s: SubConnState) => void) {}
  connect(): void {
    this.connects++;
  }
  shutdown(): void {
    this.isShutdown = true;
  }
  /** The test moves the subchannel to `state` (the channel would after a connect). */
  set(state: ConnectivityState, error?: Error): void {
    this.state = state;
    this.listener(error === undefined ? { state } : { state, error });
  }
}

export class FakeClientConn implements BalancerClientConn {
  subConns: FakeSubConn[] = [];
  states: ConnectivityState[] = [];
  picker: Picker | null = null;
  resolveNows = 0;
  newSubConn(address: Address, listener: (s: SubConnState) => void): SubConn {
    const sc = new FakeSubConn(address, listener);
    this.subConns.push(sc);
    return sc;
  }
  updateState(state: ConnectivityState, picker: Picker): void {
    this.states.push(state);
    this.picker = picker;
  }
  resolveNow(): void {
    this.resolveNows++;
  }
  get state(): ConnectivityState | undefined {
    return this.states[this.states.length - 1];
  }
  /** The subchannel for `addr` that is not shut down. */
  sc(addr: string): FakeSubConn {
    const sc = this.subConns.find((s) => s.address.addr === addr && !s.isShutdown);
    if (sc === undefined) throw new Error(`no live subconn for ${addr}`);
    return sc;
  }
  /** Picks `n` times; returns the address (or "queue", or the error message) of each. */
  picks(n: number): string[] {
    const out: string[] = [];
    for (let i = 0; i < n; i++) {
      const r = this.picker!.pick({ method: "/s/m", metadata: undefined });
      out.push(r === null ? "queue" : r instanceof Error ? `error: ${r.message}` : r.address.addr);
    }
    return out;
  }
}

export function build(
  name: string,
  random = () => 0,
): { cc: FakeClientConn; b: Balancer; clock: FakeClock } {
  const cc = new FakeClientConn();
  const clock = new FakeClock();
  const builder = getBalancer(name)!;
  const b = builder.build(cc, {
    setTimeout: (fn, ms) => clock.setTimeout(fn, ms),
    clearTimeout: (id) => clock.clearTimeout(id),
    random,
  });
  return { cc, b, clock };
}

export function addrs(...list: string[]): { addresses: Address[] } {
  return { addresses: list.map((addr) => ({ addr })) };
}
