// Target parsing and dialling: what a target string names and how one socket to it is opened
// (grpc-go's default resolvers' target syntax, and internal/transport's dial).

/** A parsed target: one address to dial. */
export interface Target {
  readonly kind: "tcp" | "unix";
  readonly hostname: string;
  readonly port: number;
  readonly path: string;
  /** `:authority`: host:port as written in the target; "localhost" for unix sockets. */
  readonly authority: string;
}

/**
 * Parses a target as grpc-go's default resolvers read it: `host:port`, `[v6]:port`,
 * `dns:///host:port` (also `dns://server/host:port`, the server ignored), `passthrough:///…`,
 * `unix:path`, `unix:///abs/path`. A missing port is 443 (grpc-go's DNS resolver default).
 */
export function parseTarget(target: string): Target {
  if (typeof target !== "string" || target === "") {
    throw new TypeError(`Cannot parse target ${JSON.stringify(target)}: expected "host:port"`);
  }
  if (target.startsWith("unix:")) {
    let path = target.slice(5);
    if (path.startsWith("//")) {
      // unix://[authority]/abs/path: only an empty authority is allowed (grpc-go).
      path = path.slice(2);
      if (!path.startsWith("/")) {
        throw new TypeError(`Cannot parse target ${JSON.stringify(target)}: expected unix:///path`);
      }
    }
    if (path === "") throw new TypeError(`Cannot parse target ${JSON.stringify(target)}: no path`);
    return { kind: "unix", hostname: "", port: 0, path, authority: "localhost" };
  }
  let rest = target;
  const scheme = /^(dns|passthrough):/.exec(rest);
  if (scheme !== null) {
    rest = rest.slice(scheme[0].length);
    if (rest.startsWith("//")) {
      const slash = rest.indexOf("/", 2);
      rest = slash < 0 ? "" : rest.slice(slash + 1);
    }
  }
  let host: string;
  let portText = "";
  if (rest.startsWith("[")) {
    const close = rest.indexOf("]");
    if (close < 0) {
      throw new TypeError(`Cannot parse target ${JSON.stringify(target)}: missing "]"`);
    }
    host = rest.slice(1, close);
    const after = rest.slice(close + 1);
    if (after.startsWith(":")) portText = after.slice(1);
    else if (after !== "") {
      throw new TypeError(`Cannot parse target ${JSON.stringify(target)}: junk after "]"`);
    }
  } else {
    const colon = rest.lastIndexOf(":");
    if (colon >= 0 && rest.indexOf(":") !== colon) {
      throw new TypeError(
        `Cannot parse target ${JSON.stringify(target)}: IPv6 addresses need brackets, [::1]:port`,
      );
    }
    host = colon < 0 ? rest : rest.slice(0, colon);
    if (colon >= 0) portText = rest.slice(colon + 1);
  }
  if (host === "") host = "localhost"; // grpc-go: ":50051" dials localhost
  let port = 443;
  if (portText !== "") {
    port = /^[0-9]{1,5}$/.test(portText) ? Number(portText) : -1;
    if (port < 1 || port > 65535) {
      throw new TypeError(`Cannot parse target ${JSON.stringify(target)}: bad port "${portText}"`);
    }
  }
  const hostPart = host.includes(":") ? `[${host}]` : host;
  return {
    kind: "tcp",
    hostname: host,
    port,
    path: "",
    authority: portText === "" ? hostPart : `${hostPart}:${port}`,
  };
}

/** Opens one socket to `t`; `signal` gives up a TCP connect. */
export async function connectRaw(t: Target, signal: AbortSignal): Promise<Deno.Conn> {
  if (t.kind === "unix") {
    // Deno.connect takes no signal for unix sockets; the attempt's timer closes a late conn.
    return await Deno.connect({ transport: "unix", path: t.path });
  }
  const conn = await Deno.connect({ hostname: t.hostname, port: t.port, signal });
  // Nagle is on by default in Deno (DENO-PLATFORM.md §0); grpc-go sets TCP_NODELAY too.
  conn.setNoDelay(true);
  return conn;
}
