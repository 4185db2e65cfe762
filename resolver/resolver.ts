// Name resolution: the resolver API, target parsing (gRFC A5 naming) and the scheme registry.
// grpc-go: resolver/resolver.go (Builder, Resolver, ClientConn, State, Address, Target),
// clientconn.go (parseTargetAndFindResolver).

/**
 * One backend address a resolver found. grpc-go: `resolver.Address`.
 *
 * @example A TCP address and a unix socket
 * ```ts
 * import type { Address } from "@seed/grpc";
 * import { assertEquals } from "@std/assert";
 *
 * const tcp: Address = { addr: "127.0.0.1:50051" };
 * const unix: Address = { addr: "/run/app.sock", transport: "unix" };
 * assertEquals([tcp.transport ?? "tcp", unix.transport], ["tcp", "unix"]);
 * ```
 */
export interface Address {
  /**
   * For TCP, `host:port` with an IPv6 host in brackets (`[::1]:50051`); for unix sockets, the
   * path (a leading NUL byte names an abstract socket). grpc-go: `Address.Addr`.
   */
  readonly addr: string;
  /** How to dial it. @default {"tcp"} */
  readonly transport?: "tcp" | "unix";
}

/**
 * What a resolver reports. grpc-go: `resolver.State`.
 */
export interface ResolverState {
  /** The addresses, in the resolver's order of preference. */
  readonly addresses: readonly Address[];
  /**
   * A service config (JSON text) from the resolver, e.g. a DNS TXT record; ignored when the
   * channel has `disableServiceConfig`. An `Error` when the resolver found one it could not
   * read: the channel keeps its previous config. grpc-go: `State.ServiceConfig` (parsed there).
   * @default {undefined}
   */
  readonly serviceConfig?: string | Error;
}

/**
 * The channel, as a resolver sees it. grpc-go: `resolver.ClientConn`.
 */
export interface ResolverClientConn {
  /** New addresses (and service config): replaces the previous state. grpc-go: `UpdateState`. */
  updateState(state: ResolverState): void;
  /**
   * Resolution failed; the channel keeps the previous addresses, if any. grpc-go: `ReportError`.
   */
  reportError(err: Error): void;
}

/**
 * A running resolver for one channel. grpc-go: `resolver.Resolver`.
 */
export interface Resolver {
  /** A hint to resolve again soon (the channel lost a connection). grpc-go: `ResolveNow`. */
  resolveNow(): void;
  /** Stops: no more updates after this. grpc-go: `Close`. */
  close(): void;
}

/**
 * A parsed target URI (gRFC A5): `scheme://authority/endpoint` or `scheme:endpoint`. grpc-go:
 * `resolver.Target`.
 */
export interface Target {
  /** The scheme, lower case (`dns`, `unix`, …). */
  readonly scheme: string;
  /** The authority (`//authority/`), or "" when absent. */
  readonly authority: string;
  /**
   * The rest: the path without its leading "/" for `scheme://authority/path`, else everything
   * after `scheme:`. grpc-go: `Target.Endpoint()`.
   */
  readonly endpoint: string;
  /** True for `scheme://…` (hierarchical) targets. */
  readonly hierarchical: boolean;
  /** The target as the user wrote it. */
  readonly raw: string;
}

/** Options the channel passes to every resolver it builds. grpc-go: `resolver.BuildOptions`. */
export interface ResolverOptions {
  /** Look up a service config too (DNS TXT `_grpc_config.`). @default {false} */
  readonly serviceConfigLookup?: boolean;
}

/**
 * Builds a resolver for one channel. It reports through `cc` (at once or later) and may
 * throw a `TypeError` for a target it cannot resolve. grpc-go: `resolver.Builder.Build`.
 *
 * @example A resolver that polls a service registry
 * ```ts
 * import { newClient, type ResolverFactory } from "@seed/grpc";
 *
 * const lookup = (_service: string) => Promise.resolve(["127.0.0.1:50051"]);
 * const registry: ResolverFactory = (target, cc) => {
 *   const poll = () =>
 *     lookup(target.endpoint).then(
 *       (list) => cc.updateState({ addresses: list.map((addr) => ({ addr })) }),
 *       (err) => cc.reportError(err),
 *     );
 *   poll();
 *   return { resolveNow: poll, close() {} };
 * };
 * const conn = newClient("registry:///shop.Cart", { resolvers: { registry } });
 * await conn.close();
 * ```
 */
export type ResolverFactory = (
  target: Target,
  cc: ResolverClientConn,
  options: ResolverOptions,
) => Resolver;

const registry = new Map<string, ResolverFactory>();

// Our fixed-list resolvers (ipv4, ipv6, unix, passthrough): building one has no side effect, so
// the channel builds one at once to refuse a malformed target in newClient().
const fixedList = new WeakSet<ResolverFactory>();

/** Marks `factory` as a resolver that reports a fixed list at once and does nothing else. */
export function markFixedListResolver(factory: ResolverFactory): ResolverFactory {
  fixedList.add(factory);
  return factory;
}

/** Whether `factory` is one of our fixed-list resolvers. */
export function isFixedListResolver(factory: ResolverFactory): boolean {
  return fixedList.has(factory);
}

/** The scheme used when a target has none (or an unregistered one), as in grpc-go NewClient. */
export const DEFAULT_SCHEME = "dns";

/**
 * Registers a resolver for `scheme` for every channel of this process (replacing one
 * registered before). grpc-go: `resolver.Register`. For one channel only, use
 * {@linkcode DialOptions.resolvers}.
 *
 * @param scheme The URI scheme (`"consul"` for `consul:///svc`), case-insensitive.
 * @param factory Builds the resolver of each channel.
 *
 * @example A resolver with a fixed address list
 * ```ts
 * import { registerResolver } from "@seed/grpc";
 *
 * registerResolver("fixed", (_target, cc) => {
 *   cc.updateState({ addresses: [{ addr: "127.0.0.1:50051" }, { addr: "127.0.0.1:50052" }] });
 *   return { resolveNow() {}, close() {} };
 * });
 * // newClient("fixed:///anything", { defaultServiceConfig: ... })
 * ```
 */
export function registerResolver(scheme: string, factory: ResolverFactory): void {
  if (!/^[a-zA-Z][a-zA-Z0-9+.-]*$/.test(scheme)) {
    throw new TypeError(`Cannot register resolver: bad scheme ${JSON.stringify(scheme)}`);
  }
  if (typeof factory !== "function") {
    throw new TypeError("Cannot register resolver: factory is not a function");
  }
  registry.set(scheme.toLowerCase(), factory);
}

/** The resolver registered for `scheme`, if any. grpc-go: `resolver.Get`. */
export function getResolver(scheme: string): ResolverFactory | undefined {
  return registry.get(scheme.toLowerCase());
}

const SCHEME = /^([a-zA-Z][a-zA-Z0-9+.-]*):/;

// URL schemes people write for a gRPC server (from a browser, curl or grpcurl habits). Read as
// dns:///<raw> they fail deep in address parsing ("IPv6 addresses need brackets"), so they are
// answered with the target to write instead and the credentials that go with it.
const URL_SCHEMES: Readonly<Record<string, { port: number; secure: boolean }>> = {
  http: { port: 80, secure: false },
  https: { port: 443, secure: true },
  grpc: { port: 80, secure: false },
  grpcs: { port: 443, secure: true },
};

function urlTargetMessage(raw: string, scheme: { port: number; secure: boolean }): string {
  let hostPort = "host:port";
  let path = "";
  try {
    const u = new URL(raw);
    hostPort = `${u.hostname}:${u.port === "" ? scheme.port : u.port}`;
    if (u.pathname !== "/" && u.pathname !== "") path = u.pathname;
  } catch {
    // not even a URL: the general advice below
  }
  const creds = scheme.secure ? "credentials: tls()" : "credentials: insecure()";
  const dropped = path === "" ? "" : ` (a gRPC target has no path: ${path} cannot be used)`;
  return `Cannot parse target ${
    JSON.stringify(raw)
  }: a gRPC target is not a URL; write "${hostPort}" (or "dns:///${hostPort}") with ${creds}${dropped}`;
}

function splitTarget(raw: string, scheme: string, rest: string): Target {
  if (rest.startsWith("//")) {
    const slash = rest.indexOf("/", 2);
    const authority = slash < 0 ? rest.slice(2) : rest.slice(2, slash);
    const endpoint = slash < 0 ? "" : rest.slice(slash + 1);
    return { scheme, authority, endpoint, hierarchical: true, raw };
  }
  return { scheme, authority: "", endpoint: rest, hierarchical: false, raw };
}

/**
 * Parses `raw` and finds its resolver, as grpc-go's parseTargetAndFindResolver: a target
 * whose scheme has a resolver (among `extra`, then the registry) is used as it is; anything
 * else (`localhost:50051`, `10.0.0.1:443`, `[::1]:80`, `unknown:x`) is read as
 * `dns:///<raw>`, except URLs (`http://`, `https://`, `grpc://`, `grpcs://`), refused with the
 * target to write instead.
 */
export function parseTarget(
  raw: string,
  extra?: Readonly<Record<string, ResolverFactory>>,
): { target: Target; factory: ResolverFactory } {
  if (typeof raw !== "string" || raw === "") {
    throw new TypeError(`Cannot parse target ${JSON.stringify(raw)}: expected "host:port"`);
  }
  const m = SCHEME.exec(raw);
  if (m !== null) {
    const scheme = m[1].toLowerCase();
    const factory = findFactory(scheme, extra);
    if (factory !== undefined) {
      return { target: splitTarget(raw, scheme, raw.slice(m[0].length)), factory };
    }
    const url = URL_SCHEMES[scheme];
    if (url !== undefined) throw new TypeError(urlTargetMessage(raw, url));
  }
  const factory = findFactory(DEFAULT_SCHEME, extra);
  if (factory === undefined) {
    throw new TypeError(`Cannot parse target ${JSON.stringify(raw)}: no "dns" resolver`);
  }
  return {
    target: { scheme: DEFAULT_SCHEME, authority: "", endpoint: raw, hierarchical: true, raw },
    factory,
  };
}

function findFactory(
  scheme: string,
  extra: Readonly<Record<string, ResolverFactory>> | undefined,
): ResolverFactory | undefined {
  if (extra !== undefined) {
    for (const k of Object.keys(extra)) if (k.toLowerCase() === scheme) return extra[k];
  }
  return registry.get(scheme);
}

/**
 * Splits `host[:port]` (`[v6]:port` for IPv6) as grpc-go's parseTarget in the DNS resolver: a
 * missing port is `defaultPort`; an empty host is "localhost".
 *
 * @throws {TypeError} Malformed: unbalanced brackets, an unbracketed IPv6 address with a port,
 *   a port outside 1..65535.
 */
export function splitHostPort(
  endpoint: string,
  defaultPort: number,
): { host: string; port: number; hasPort: boolean } {
  let host: string;
  let portText = "";
  let hasPort = false;
  const bad = (why: string): never => {
    throw new TypeError(`Cannot parse address ${JSON.stringify(endpoint)}: ${why}`);
  };
  if (endpoint.startsWith("[")) {
    const close = endpoint.indexOf("]");
    if (close < 0) bad('missing "]"');
    host = endpoint.slice(1, close);
    const after = endpoint.slice(close + 1);
    if (after.startsWith(":")) {
      portText = after.slice(1);
      hasPort = true;
    } else if (after !== "") bad('junk after "]"');
  } else {
    const colon = endpoint.lastIndexOf(":");
    if (colon >= 0 && endpoint.indexOf(":") !== colon) {
      // "::1:5" could be [::1]:5 or [::1:5]: refuse the guess.
      bad("IPv6 addresses need brackets, [::1]:port");
    }
    host = colon < 0 ? endpoint : endpoint.slice(0, colon);
    if (colon >= 0) {
      portText = endpoint.slice(colon + 1);
      hasPort = true;
    }
  }
  if (host === "") host = "localhost"; // grpc-go: ":50051" dials localhost
  let port = defaultPort;
  if (hasPort) {
    port = /^[0-9]{1,5}$/.test(portText) ? Number(portText) : -1;
    if (port < 1 || port > 65535) bad(`bad port "${portText}"`);
  }
  return { host, port, hasPort };
}

/** `host:port`, with IPv6 hosts in brackets. */
export function joinHostPort(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

const IPV4 =
  /^(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}$/;

/** True for a dotted-quad IPv4 literal. */
export function isIPv4(s: string): boolean {
  return IPV4.test(s);
}

/** True for an IPv6 literal (RFC 4291 text form, optionally with an IPv4 tail, no zone). */
export function isIPv6(s: string): boolean {
  if (!/^[0-9a-fA-F:.]+$/.test(s) || !s.includes(":")) return false;
  let text = s;
  let width = 8;
  const lastColon = s.lastIndexOf(":");
  const v4 = s.slice(lastColon + 1);
  if (v4.includes(".")) {
    // An IPv4 tail ("::ffff:1.2.3.4") stands for the last two groups.
    if (!isIPv4(v4)) return false;
    text = s.slice(0, lastColon + 1);
    if (!text.endsWith("::")) text = text.slice(0, -1);
    width = 6;
  }
  const dbl = text.indexOf("::");
  if (dbl >= 0 && text.indexOf("::", dbl + 1) >= 0) return false;
  const parts = text.split(":");
  const hexOk = (g: string) => /^[0-9a-fA-F]{1,4}$/.test(g);
  if (dbl < 0) return parts.length === width && parts.every(hexOk);
  const head = text.slice(0, dbl), tail = text.slice(dbl + 2);
  const hs = head === "" ? [] : head.split(":"), ts = tail === "" ? [] : tail.split(":");
  return hs.every(hexOk) && ts.every(hexOk) && hs.length + ts.length < width;
}
