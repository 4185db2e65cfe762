// The load-balancing API and the policy registry. grpc-go: balancer/balancer.go (Builder,
// Balancer, ClientConn, SubConn, Picker, State) and balancer/subconn.go.

import type { ConnectivityState } from "../client/connectivity.ts";
import type { Address, ResolverState } from "../resolver/resolver.ts";
import type { Metadata } from "../metadata.ts";

/**
 * A subchannel's state as its listener sees it. grpc-go: `balancer.SubConnState`.
 */
export interface SubConnState {
  /** The new state. */
  readonly state: ConnectivityState;
  /** Why the last attempt failed (set in TRANSIENT_FAILURE). grpc-go: `ConnectionError`. */
  readonly error?: Error;
}

/**
 * One backend address and its connection, owned by the channel and driven by a balancer.
 * It starts IDLE; `connect()` starts an attempt; it goes back to IDLE when its connection is
 * lost, and from TRANSIENT_FAILURE to IDLE when its backoff delay has passed. grpc-go:
 * `balancer.SubConn`.
 */
export interface SubConn {
  /** The address it connects to. */
  readonly address: Address;
  /** Starts connecting if IDLE. grpc-go: `SubConn.Connect`. */
  connect(): void;
  /** Closes it for good (state SHUTDOWN, no more updates). grpc-go: `SubConn.Shutdown`. */
  shutdown(): void;
}

/** What a call tells the picker. grpc-go: `balancer.PickInfo`. */
export interface PickInfo {
  /** `/package.Service/Method`. grpc-go: `FullMethodName`. */
  readonly method: string;
  /** The call's request metadata, if any. */
  readonly metadata: Metadata | undefined;
}

/**
 * Chooses a subchannel for each call. `pick` returns a READY subchannel; `null` to make the
 * call wait for the next picker (grpc-go `ErrNoSubConnAvailable`); or an `Error`: a
 * `StatusError` fails the call with that status, any other error fails it UNAVAILABLE unless
 * it is `waitForReady` (then it waits). grpc-go: `balancer.Picker`.
 */
export interface Picker {
  /** Chooses for one call; called on the call's path, so keep it cheap and synchronous. */
  pick(info: PickInfo): SubConn | Error | null;
}

/** The channel, as a balancer sees it. grpc-go: `balancer.ClientConn`. */
export interface BalancerClientConn {
  /**
   * Creates a subchannel (IDLE) for `address`; `listener` hears every state change after
   * this. grpc-go: `NewSubConn` with `NewSubConnOptions.StateListener`.
   */
  newSubConn(address: Address, listener: (state: SubConnState) => void): SubConn;
  /** Publishes the channel's aggregated state and the picker calls use from now on. */
  updateState(state: ConnectivityState, picker: Picker): void;
  /** Asks the resolver to resolve again (a connection was lost). grpc-go: `ResolveNow`. */
  resolveNow(): void;
}

/** What a balancer gets besides the channel: timers and randomness, injectable for tests. */
export interface BalancerBuildOptions {
  /** `setTimeout`, or a fake clock's. */
  setTimeout(fn: () => void, ms: number): number;
  /** `clearTimeout`, or a fake clock's. */
  clearTimeout(id: number): void;
  /** A number in [0, 1) (`Math.random`). */
  random(): number;
}

/**
 * A load-balancing policy instance, one per channel. grpc-go: `balancer.Balancer`.
 */
export interface Balancer {
  /** New addresses from the resolver, with this policy's parsed config. */
  updateClientConnState(state: ResolverState, config: unknown): void;
  /** The resolver failed. Keep serving the previous addresses if there are any. */
  resolverError(err: Error): void;
  /** Leave IDLE: connect now (a call arrived, or `conn.connect()`). grpc-go: `ExitIdle`. */
  exitIdle(): void;
  /** Shut down every subchannel; no more updates. */
  close(): void;
}

/**
 * A load-balancing policy: builds balancers and validates their `loadBalancingConfig` entry.
 * grpc-go: `balancer.Builder` plus `ConfigParser`.
 */
export interface BalancerBuilder {
  /** The name used in service configs (`"round_robin"`). */
  readonly name: string;
  /** Makes one channel's balancer. */
  build(cc: BalancerClientConn, options: BalancerBuildOptions): Balancer;
  /**
   * Validates this policy's JSON config and returns the value `updateClientConnState` gets.
   * Throw an `Error` whose message says what is wrong.
   */
  parseConfig?(json: unknown): unknown;
}

const registry = new Map<string, BalancerBuilder>();

/**
 * Registers a load-balancing policy, usable by name in `loadBalancingConfig`. grpc-go:
 * `balancer.Register`. `pick_first` and `round_robin` are built in.
 *
 * @param builder The policy.
 * @throws {TypeError} The name is empty.
 *
 * @example A policy that always uses the first address that is READY
 * ```ts
 * import { registerBalancer, type SubConn } from "@seed/grpc";
 *
 * registerBalancer({
 *   name: "first_ready",
 *   build(cc) {
 *     let subConns: SubConn[] = [];
 *     const states = new Map<SubConn, string>();
 *     const publish = () => {
 *       const ready = subConns.find((s) => states.get(s) === "READY");
 *       cc.updateState(ready ? "READY" : "CONNECTING", { pick: () => ready ?? null });
 *     };
 *     return {
 *       updateClientConnState(state) {
 *         for (const s of subConns) s.shutdown();
 *         subConns = state.addresses.map((a) => {
 *           const sc = cc.newSubConn(a, (s) => {
 *             states.set(sc, s.state);
 *             if (s.state === "IDLE") sc.connect();
 *             publish();
 *           });
 *           sc.connect();
 *           return sc;
 *         });
 *       },
 *       resolverError() {},
 *       exitIdle() {},
 *       close() {
 *         for (const s of subConns) s.shutdown();
 *       },
 *     };
 *   },
 * });
 * ```
 */
export function registerBalancer(builder: BalancerBuilder): void {
  if (typeof builder?.name !== "string" || builder.name === "") {
    throw new TypeError("Cannot register balancer: name is empty");
  }
  registry.set(builder.name, builder);
}

/** The policy registered under `name`, if any. grpc-go: `balancer.Get`. */
export function getBalancer(name: string): BalancerBuilder | undefined {
  return registry.get(name);
}

/** A picker that makes every call wait (grpc-go base.NewErrPicker(ErrNoSubConnAvailable)). */
export const QUEUE_PICKER: Picker = Object.freeze({ pick: () => null });

/** A picker that fails every call with `err` (grpc-go base.NewErrPicker). */
export function errorPicker(err: Error): Picker {
  return { pick: () => err };
}
