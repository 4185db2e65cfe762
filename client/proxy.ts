// HTTP CONNECT proxies (gRFC A1): which proxy a target uses (the dial option, else
// grpc_proxy / https_proxy / http_proxy and no_grpc_proxy / no_proxy from the environment, as
// grpc-js reads them), and the CONNECT handshake that turns a socket to the proxy into a tunnel
// to the backend. grpc-go: internal/transport/proxy.go (doHTTPConnectHandshake) and
// internal/resolver/delegatingresolver (the target name is not resolved locally).

import { errorMessage } from "../internal/error_message.ts";

/** A proxy to tunnel through. */
export interface ProxyConfig {
  readonly hostname: string;
  readonly port: number;
  /** The `Proxy-Authorization` value (from `user:password@` in the URL), if any. */
  readonly authorization?: string;
}

/**
 * Parses `http://[user:password@]host[:port][/]` (or `host:port`); the port defaults to 80.
 *
 * @throws {TypeError} Not an http proxy URL.
 */
export function parseProxyUrl(raw: string): ProxyConfig {
  const text = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//.test(raw) ? raw : `http://${raw}`;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new TypeError(`Cannot use proxy ${JSON.stringify(raw)}: not a URL`);
  }
  if (url.protocol !== "http:") {
    throw new TypeError(
      `Cannot use proxy ${JSON.stringify(raw)}: only http:// proxies are supported`,
    );
  }
  let hostname = url.hostname;
  if (hostname.startsWith("[") && hostname.endsWith("]")) hostname = hostname.slice(1, -1);
  if (hostname === "") throw new TypeError(`Cannot use proxy ${JSON.stringify(raw)}: no host`);
  const port = url.port === "" ? 80 : Number(url.port);
  if (url.username === "") return { hostname, port };
  const user = decodeURIComponent(url.username), pass = decodeURIComponent(url.password);
  return { hostname, port, authorization: `Basic ${btoa(`${user}:${pass}`)}` };
}

function env(name: string): string | undefined {
  try {
    return Deno.env.get(name) || Deno.env.get(name.toUpperCase()) || undefined;
  } catch {
    return undefined; // no --allow-env: no proxy from the environment
  }
}

/**
 * Whether `host` is exempt by a `no_proxy` list: comma-separated names, each matching the host
 * itself and its subdomains (a leading "." is optional), a `:port` ignored; `*` matches all.
 */
export function noProxyMatches(host: string, noProxy: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, "");
  for (let entry of noProxy.split(",")) {
    entry = entry.trim().toLowerCase();
    if (entry === "") continue;
    if (entry === "*") return true;
    if (!entry.startsWith("[") && entry.indexOf(":") === entry.lastIndexOf(":")) {
      entry = entry.replace(/:[0-9]+$/, "");
    }
    entry = entry.replace(/^\[|\]$/g, "").replace(/^\./, "");
    if (h === entry || h.endsWith(`.${entry}`)) return true;
  }
  return false;
}

/**
 * The proxy to use for a target host: `option` (a URL, or `false` for none), else the
 * environment's. Undefined when there is none or `host` is exempt by `no_proxy`.
 */
export function proxyFor(
  option: string | false | undefined,
  host: string,
): ProxyConfig | undefined {
  if (option === false) return undefined;
  if (option !== undefined) return parseProxyUrl(option);
  const raw = env("grpc_proxy") ?? env("https_proxy") ?? env("http_proxy");
  if (raw === undefined) return undefined;
  const exempt = env("no_grpc_proxy") ?? env("no_proxy");
  if (exempt !== undefined && noProxyMatches(host, exempt)) return undefined;
  return parseProxyUrl(raw);
}

const MAX_RESPONSE_HEAD = 8192;
const encoder = new TextEncoder();

/**
 * Opens a tunnel to `authority` (`host:port`) through `proxy` with HTTP CONNECT; the returned
 * socket carries the backend's bytes. The response head is read byte by byte so that no byte
 * of the backend's stream is consumed with it.
 *
 * @throws {Error} The proxy is unreachable, answers other than 2xx, or sends a malformed head.
 */
export async function dialViaProxy(
  proxy: ProxyConfig,
  authority: string,
  signal: AbortSignal,
): Promise<Deno.TcpConn> {
  const conn = await Deno.connect({ hostname: proxy.hostname, port: proxy.port, signal });
  try {
    const onAbort = () => conn.close();
    signal.addEventListener("abort", onAbort, { once: true });
    try {
      let req = `CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n`;
      if (proxy.authorization !== undefined) {
        req += `Proxy-Authorization: ${proxy.authorization}\r\n`;
      }
      req += "User-Agent: grpc-deno-seed\r\n\r\n";
      const bytes = encoder.encode(req);
      for (let off = 0; off < bytes.length;) off += await conn.write(bytes.subarray(off));
      const head = await readHead(conn);
      const m = /^HTTP\/1\.[01] ([0-9]{3})([^\r\n]*)/.exec(head);
      if (m === null) throw new Error(`malformed response ${JSON.stringify(head.slice(0, 40))}`);
      const status = Number(m[1]);
      if (status < 200 || status > 299) throw new Error(`CONNECT refused: ${status}${m[2]}`);
    } finally {
      signal.removeEventListener("abort", onAbort);
    }
    signal.throwIfAborted();
    return conn;
  } catch (err) {
    try {
      conn.close();
    } catch {
      // Already closed.
    }
    if (signal.aborted) throw signal.reason;
    throw new Error(
      `proxy ${proxy.hostname}:${proxy.port}: ${errorMessage(err)}`,
      { cause: err },
    );
  }
}

async function readHead(conn: Deno.Conn): Promise<string> {
  const buf = new Uint8Array(MAX_RESPONSE_HEAD);
  let n = 0;
  while (n < MAX_RESPONSE_HEAD) {
    const r = await conn.read(buf.subarray(n, n + 1));
    if (r === null) throw new Error("connection closed during the CONNECT response");
    n += r;
    // "\r\n\r\n"
    if (
      n >= 4 && buf[n - 1] === 10 && buf[n - 2] === 13 && buf[n - 3] === 10 && buf[n - 4] === 13
    ) {
      return new TextDecoder().decode(buf.subarray(0, n));
    }
  }
  throw new Error(`CONNECT response head longer than ${MAX_RESPONSE_HEAD} bytes`);
}
