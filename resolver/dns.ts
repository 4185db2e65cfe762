// The dns resolver, the default scheme: `dns:[//nameserver/]host[:port]`. grpc-go:
// internal/resolver/dns/dns_resolver.go (A + AAAA lookups, TXT `_grpc_config.` service
// config, re-resolution at most every 30 s, exponential backoff after a failed lookup).

import { backoffDelay } from "../internal/backoff.ts";
import { REAL_CLOCK } from "../internal/clock.ts";
import { selectServiceConfigChoice } from "../client/service_config.ts";
import {
  type Address,
  isIPv4,
  isIPv6,
  joinHostPort,
  registerResolver,
  type Resolver,
  type ResolverClientConn,
  type ResolverFactory,
  type ResolverOptions,
  splitHostPort,
  type Target,
} from "./resolver.ts";

/** The port used when the target has none (grpc-go: defaultPort). */
export const DNS_DEFAULT_PORT = 443;

/** Options of {@linkcode dnsResolver}. */
export interface DnsResolverOptions {
  /**
   * How long one lookup may take, in ms; then it fails (a dead name server would otherwise
   * hang ~15 s). grpc-go: `dns.SetResolvingTimeout` (30 s there).
   * @default {10000}
   */
  timeoutMs?: number;
  /**
   * Re-resolution requests (a lost connection, `resolveNow`) are served at most this often, in
   * ms. grpc-go: `dns.SetMinResolutionInterval` (minDNSResRate).
   * @default {30000}
   */
  minResolutionIntervalMs?: number;
  /** The clock and timers, for tests. @default {Date.now, setTimeout, clearTimeout} */
  clock?: {
    now(): number;
    setTimeout(fn: () => void, ms: number): number;
    clearTimeout(id: number): void;
  };
  /** The lookup, for tests. @default {Deno.resolveDns} */
  resolveDns?: typeof Deno.resolveDns;
}

function dnsError(host: string, err: unknown): Error {
  const msg = err instanceof Error ? err.message : String(err);
  return new Error(`dns: cannot resolve ${JSON.stringify(host)}: ${msg}`, { cause: err });
}

function isPermissionError(err: unknown): boolean {
  return err instanceof Deno.errors.NotCapable || err instanceof Deno.errors.PermissionDenied;
}

function isNotFound(err: unknown): boolean {
  return err instanceof Deno.errors.NotFound;
}

class DnsResolver implements Resolver {
  readonly #cc: ResolverClientConn;
  readonly #host: string;
  readonly #port: number;
  readonly #nameServer: { ipAddr: string; port: number } | undefined;
  readonly #lookupConfig: boolean;
  readonly #o: Required<DnsResolverOptions>;
  #closed = false;
  #running = false;
  #pending = false;
  #timer: number | undefined;
  #lastAt = -Infinity;
  #failures = 0;
  #abort: AbortController | null = null;

  constructor(
    cc: ResolverClientConn,
    host: string,
    port: number,
    nameServer: { ipAddr: string; port: number } | undefined,
    lookupConfig: boolean,
    o: Required<DnsResolverOptions>,
  ) {
    this.#cc = cc;
    this.#host = host;
    this.#port = port;
    this.#nameServer = nameServer;
    this.#lookupConfig = lookupConfig;
    this.#o = o;
    this.#resolve();
  }

  resolveNow(): void {
    if (this.#closed) return;
    if (this.#running) {
      this.#pending = true;
      return;
    }
    if (this.#timer !== undefined) return; // a lookup is already scheduled
    this.#schedule(this.#lastAt + this.#o.minResolutionIntervalMs - this.#o.clock.now());
  }

  close(): void {
    this.#closed = true;
    if (this.#timer !== undefined) this.#o.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#abort?.abort();
  }

  #schedule(ms: number): void {
    if (ms <= 0) {
      this.#resolve();
      return;
    }
    this.#timer = this.#o.clock.setTimeout(() => {
      this.#timer = undefined;
      this.#resolve();
    }, ms);
  }

  async #resolve(): Promise<void> {
    if (this.#closed) return;
    this.#running = true;
    this.#pending = false;
    this.#lastAt = this.#o.clock.now();
    const ac = new AbortController();
    this.#abort = ac;
    const timer = this.#o.clock.setTimeout(
      () => ac.abort(new Error(`timed out after ${this.#o.timeoutMs} ms`)),
      this.#o.timeoutMs,
    );
    let addresses: Address[] | undefined;
    let serviceConfig: string | Error | undefined;
    let error: Error | undefined;
    try {
      [addresses, serviceConfig] = await Promise.all([
        this.#lookupHost(ac.signal),
        this.#lookupConfig ? this.#lookupServiceConfig(ac.signal) : undefined,
      ]);
    } catch (err) {
      error = ac.signal.aborted && ac.signal.reason instanceof Error
        ? dnsError(this.#host, ac.signal.reason)
        : err instanceof Error
        ? err
        : dnsError(this.#host, err);
    } finally {
      this.#o.clock.clearTimeout(timer);
      this.#abort = null;
      this.#running = false;
    }
    if (this.#closed) return;
    if (error !== undefined) {
      // Keep the previous addresses (the channel does); retry with backoff (grpc-go watcher).
      this.#cc.reportError(error);
      this.#schedule(backoffDelay(this.#failures++));
      return;
    }
    this.#failures = 0;
    this.#cc.updateState(
      serviceConfig === undefined
        ? { addresses: addresses! }
        : { addresses: addresses!, serviceConfig },
    );
    if (this.#pending) this.resolveNow();
  }

  async #lookupHost(signal: AbortSignal): Promise<Address[]> {
    const opts = { signal, nameServer: this.#nameServer };
    const [a, aaaa] = await Promise.allSettled([
      this.#o.resolveDns(this.#host, "A", opts),
      this.#o.resolveDns(this.#host, "AAAA", opts),
    ]);
    const out: Address[] = [];
    if (a.status === "fulfilled") { for (const ip of a.value) out.push(this.#address(ip)); }
    if (aaaa.status === "fulfilled") { for (const ip of aaaa.value) out.push(this.#address(ip)); }
    if (out.length > 0) return out;
    // No permission to query the system's name server (`--allow-net=localhost:50051` alone):
    // hand the name to Deno.connect, which resolves it with the host's own resolver under the
    // permission the user did give (what a direct connect did before resolvers existed).
    if (
      this.#nameServer === undefined && a.status === "rejected" && aaaa.status === "rejected" &&
      isPermissionError(a.reason) && isPermissionError(aaaa.reason)
    ) {
      return [{ addr: joinHostPort(this.#host, this.#port) }];
    }
    for (const r of [a, aaaa]) {
      if (r.status === "rejected" && !isNotFound(r.reason)) throw dnsError(this.#host, r.reason);
    }
    throw dnsError(this.#host, "no A or AAAA records");
  }

  #address(ip: string): Address {
    return { addr: joinHostPort(ip, this.#port) };
  }

  // gRFC A2: TXT records of `_grpc_config.<host>`, attribute `grpc_config`. A missing record
  // (or a failed lookup: grpc-go ignores TXT errors by default) means no config.
  async #lookupServiceConfig(signal: AbortSignal): Promise<string | Error | undefined> {
    let records: string[][];
    try {
      records = await this.#o.resolveDns(`_grpc_config.${this.#host}`, "TXT", {
        signal,
        nameServer: this.#nameServer,
      });
    } catch {
      return undefined;
    }
    for (const chunks of records) {
      const text = chunks.join("");
      if (!text.startsWith("grpc_config=")) continue;
      try {
        let hostname: string | undefined;
        try {
          hostname = Deno.hostname();
        } catch {
          // No --allow-sys: choices naming hosts do not match.
        }
        const sc = selectServiceConfigChoice(text.slice("grpc_config=".length), { hostname });
        return sc === null ? undefined : JSON.stringify(sc);
      } catch (err) {
        return err instanceof Error ? err : new Error(String(err));
      }
    }
    return undefined;
  }
}

/** Resolves to the IP literal at once, never touching DNS. */
class StaticResolver implements Resolver {
  constructor(cc: ResolverClientConn, addresses: Address[]) {
    cc.updateState({ addresses });
  }
  resolveNow(): void {}
  close(): void {}
}

/**
 * Makes a `dns` resolver factory with non-default timing, for
 * {@linkcode DialOptions.resolvers} (the built-in `dns` scheme uses the defaults). Lookups use
 * `Deno.resolveDns`, which needs `--allow-net` for the name server; without it (and without a
 * name server in the target), the name goes to `Deno.connect` as it is (one address, resolved
 * by the host). IP-literal targets never look anything up.
 *
 * @param options Timeout, re-resolution interval, and (for tests) clock and lookup.
 * @returns A factory for the `dns` scheme.
 *
 * @example Re-resolve at most every 5 s
 * ```ts
 * import { dnsResolver, newClient } from "@seed/grpc";
 *
 * const conn = newClient("dns:///localhost:50051", {
 *   resolvers: { dns: dnsResolver({ minResolutionIntervalMs: 5000 }) },
 * });
 * await conn.close();
 * ```
 */
export function dnsResolver(options: DnsResolverOptions = {}): ResolverFactory {
  const o: Required<DnsResolverOptions> = {
    timeoutMs: options.timeoutMs ?? 10_000,
    minResolutionIntervalMs: options.minResolutionIntervalMs ?? 30_000,
    clock: options.clock ?? REAL_CLOCK,
    resolveDns: options.resolveDns ?? Deno.resolveDns,
  };
  for (const k of ["timeoutMs", "minResolutionIntervalMs"] as const) {
    if (!(o[k] >= 0)) throw new RangeError(`Cannot use ${k}: value is ${o[k]}`);
  }
  return (target: Target, cc: ResolverClientConn, ropts: ResolverOptions): Resolver => {
    const { host, port } = splitHostPort(target.endpoint, DNS_DEFAULT_PORT);
    if (isIPv4(host) || isIPv6(host)) {
      return new StaticResolver(cc, [{ addr: joinHostPort(host, port) }]);
    }
    let nameServer: { ipAddr: string; port: number } | undefined;
    if (target.authority !== "") {
      const ns = splitHostPort(target.authority, 53);
      if (!isIPv4(ns.host) && !isIPv6(ns.host)) {
        throw new TypeError(
          `Cannot use DNS server ${JSON.stringify(target.authority)}: expected an IP address`,
        );
      }
      nameServer = { ipAddr: ns.host, port: ns.port };
    }
    return new DnsResolver(cc, host, port, nameServer, ropts.serviceConfigLookup === true, o);
  };
}

registerResolver("dns", dnsResolver());
