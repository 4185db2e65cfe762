// Dialling: opening one socket to one resolved address, directly or through an HTTP CONNECT
// proxy (grpc-go internal/transport's dial and proxyDial).

import type { Address } from "../resolver/resolver.ts";
import { splitHostPort } from "../resolver/resolver.ts";
import { dialViaProxy, type ProxyConfig } from "./proxy.ts";

/**
 * Opens one socket to `address`; `signal` gives up a TCP connect. A TCP address goes through
 * `proxy` when one is given (the proxy resolves the name).
 */
export async function dialAddress(
  address: Address,
  proxy: ProxyConfig | undefined,
  signal: AbortSignal,
): Promise<Deno.Conn> {
  if (address.transport === "unix") {
    // Deno.connect takes no signal for unix sockets; the attempt's timer closes a late conn.
    return await Deno.connect({ transport: "unix", path: address.addr });
  }
  let conn: Deno.TcpConn;
  if (proxy !== undefined) {
    conn = await dialViaProxy(proxy, address.addr, signal);
  } else {
    const { host, port } = splitHostPort(address.addr, 443);
    conn = await Deno.connect({ hostname: host, port, signal });
  }
  // Nagle is on by default in Deno (DENO-PLATFORM.md §0); grpc-go sets TCP_NODELAY too.
  conn.setNoDelay(true);
  return conn;
}
