// Dialling: opening one connection to one resolved address, directly or through an HTTP CONNECT
// proxy, and running the transport credentials' client handshake (TLS) before the HTTP/2
// preface (grpc-go internal/transport's dial and proxyDial, then ClientHandshake).

import type { ChannelCredentials } from "../credentials.ts";
import { dialTls } from "../credentials/tls_client.ts";
import type { Address } from "../resolver/resolver.ts";
import { splitHostPort } from "../resolver/resolver.ts";
import type { RawConn } from "../transport/writer.ts";
import { dialViaProxy, type ProxyConfig } from "./proxy.ts";

/**
 * Opens one connection to `address`; `signal` gives up the attempt. A TCP address goes through
 * `proxy` when one is given (the proxy resolves the name). With TLS credentials the handshake
 * runs on the new socket and checks the server's certificate against `tlsServerName`.
 */
export async function dialAddress(
  address: Address,
  proxy: ProxyConfig | undefined,
  signal: AbortSignal,
  credentials: ChannelCredentials,
  tlsServerName: string,
): Promise<RawConn> {
  const tlsOptions = credentials.tlsOptions;
  if (address.transport === "unix") {
    if (tlsOptions !== undefined) {
      throw new Error("TLS over unix sockets is not supported (Deno has no TLS on unix sockets)");
    }
    // Deno.connect takes no signal for unix sockets; the attempt's timer closes a late conn.
    return await Deno.connect({ transport: "unix", path: address.addr });
  }
  const { host, port } = splitHostPort(address.addr, 443);
  const connectTcp = async (): Promise<Deno.TcpConn> => {
    const conn = proxy !== undefined
      ? await dialViaProxy(proxy, address.addr, signal)
      : await Deno.connect({ hostname: host, port, signal });
    // Nagle is on by default in Deno (DENO-PLATFORM.md §0); grpc-go sets TCP_NODELAY too.
    conn.setNoDelay(true);
    // grpc-go dials with SO_KEEPALIVE on and the OS's intervals (NetDialerWithTCPKeepalive),
    // TLS or not; Deno exposes only on/off (no TCP_KEEPIDLE, no TCP_USER_TIMEOUT).
    conn.setKeepAlive(true);
    return conn;
  };
  if (tlsOptions === undefined) return await connectTcp();
  const target = { hostname: host, port, proxied: proxy !== undefined, connectTcp };
  return await dialTls(target, { ...tlsOptions, serverName: tlsServerName }, signal);
}
