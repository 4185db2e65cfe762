// A resolver fed by hand, for tests and for programs that find their backends themselves.
// grpc-go: resolver/manual.

import type {
  Resolver,
  ResolverClientConn,
  ResolverFactory,
  ResolverState,
  Target,
} from "./resolver.ts";

/**
 * A resolver whose addresses you set: pass `{ [r.scheme]: r.build }` as
 * {@linkcode DialOptions.resolvers}, dial `manual:///anything`, then call `updateState`.
 * The last state given is replayed whenever the channel builds the resolver again (after
 * idleness). grpc-go: `manual.Resolver`.
 *
 * @example Feed two addresses
 * ```ts
 * import { ManualResolver, newClient } from "@seed/grpc";
 *
 * const r = new ManualResolver();
 * r.updateState({ addresses: [{ addr: "127.0.0.1:50051" }, { addr: "127.0.0.1:50052" }] });
 * const conn = newClient("manual:///backends", { resolvers: { [r.scheme]: r.build } });
 * await conn.close();
 * ```
 */
export class ManualResolver {
  /** The scheme to use in the target. */
  readonly scheme: string;
  /** The factory to register (bound to this object). */
  readonly build: ResolverFactory;
  /** Called when the channel asks for re-resolution. grpc-go: `ResolveNowCallback`. */
  onResolveNow: (() => void) | undefined;
  #state: ResolverState | undefined;
  #cc: ResolverClientConn | null = null;
  #builds = 0;

  /**
   * Makes a resolver with no state yet; calls wait until `updateState`.
   *
   * @param scheme The scheme (`manual:///…` by default).
   */
  constructor(scheme = "manual") {
    this.scheme = scheme;
    this.build = (_target: Target, cc: ResolverClientConn): Resolver => {
      this.#builds++;
      this.#cc = cc;
      if (this.#state !== undefined) cc.updateState(this.#state);
      return {
        resolveNow: () => this.onResolveNow?.(),
        close: () => {
          if (this.#cc === cc) this.#cc = null;
        },
      };
    };
  }

  /** How many times a channel built this resolver. */
  get builds(): number {
    return this.#builds;
  }

  /**
   * Sets the addresses (and service config); the channel, if built, gets them at once.
   *
   * @param state The new state.
   */
  updateState(state: ResolverState): void {
    this.#state = state;
    this.#cc?.updateState(state);
  }

  /**
   * Reports a resolution error to the channel, if built.
   *
   * @param err The error.
   */
  reportError(err: Error): void {
    this.#cc?.reportError(err);
  }
}
