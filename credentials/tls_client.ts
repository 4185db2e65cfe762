// The client side of TLS: opens a TCP connection and runs the client handshake before the
// HTTP/2 preface (grpc-go http2Client: ClientHandshake on the raw conn), with ALPN h2 required.
// The API per combination (measured, see tls() in credentials.ts): no client certificate →
// Deno.connect + setNoDelay + Deno.startTls; a client certificate → node:tls (startTls ignores
// one; connectTls has no setNoDelay and one hostname for connect, SNI and verification).

import * as nodeTls from "node:tls";
import type { TlsCredentialsOptions } from "../credentials.ts";
import type { RawConn } from "../transport/writer.ts";
import { SocketConn } from "./_socket_conn.ts";

/** The ALPN protocol gRPC runs on. */
const ALPN_H2 = "h2";

/** Where to dial. */
export interface TlsDialTarget {
  readonly hostname: string;
  readonly port: number;
  /** Whether the TCP connection goes through an HTTP CONNECT proxy. */
  readonly proxied?: boolean;
  /** Opens the TCP connection (directly or through the proxy) with TCP_NODELAY set. */
  readonly connectTcp?: () => Promise<Deno.TcpConn>;
}

/**
 * Connects to `t` and completes the TLS handshake. Rejects with an Error naming the cause
 * (`TLS handshake with localhost failed: invalid peer certificate: UnknownIssuer`).
 */
export async function dialTls(
  t: TlsDialTarget,
  o: Readonly<TlsCredentialsOptions>,
  signal: AbortSignal,
): Promise<RawConn> {
  const name = o.serverName ?? t.hostname;
  try {
    if (o.cert === undefined) return await viaStartTls(t, o, name, signal);
    return await viaNodeTls(t, o, signal);
  } catch (err) {
    if (signal.aborted) throw signal.reason;
    if (err instanceof TcpConnectError) throw err.cause;
    throw new Error(`TLS handshake with ${name} failed: ${messageOf(err)}`, { cause: err });
  }
}

class TcpConnectError extends Error {}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function noH2(alpn: string | null | false | undefined): Error {
  return new Error(
    `server did not negotiate ALPN "h2" (negotiated ${
      alpn ? JSON.stringify(alpn) : "none"
    }); gRPC needs HTTP/2`,
  );
}

async function viaStartTls(
  t: TlsDialTarget,
  o: Readonly<TlsCredentialsOptions>,
  name: string,
  signal: AbortSignal,
): Promise<RawConn> {
  let tcp: Deno.TcpConn;
  try {
    if (t.connectTcp !== undefined) {
      tcp = await t.connectTcp();
    } else {
      tcp = await Deno.connect({ hostname: t.hostname, port: t.port, signal });
      tcp.setNoDelay(true);
      // grpc-go dials with SO_KEEPALIVE on (OS intervals), TLS or not.
      tcp.setKeepAlive(true);
    }
  } catch (err) {
    throw new TcpConnectError("connect", { cause: err });
  }
  const conn = await Deno.startTls(tcp, {
    hostname: name,
    caCerts: o.caCerts,
    alpnProtocols: [ALPN_H2],
  });
  const onAbort = () => conn.close();
  signal.addEventListener("abort", onAbort, { once: true });
  try {
    const { alpnProtocol } = await conn.handshake();
    if (alpnProtocol !== ALPN_H2) throw noH2(alpnProtocol);
    return conn;
  } catch (err) {
    try {
      conn.close();
    } catch {
      // closed by the abort
    }
    throw err;
  } finally {
    signal.removeEventListener("abort", onAbort);
  }
}

function isIp(host: string): boolean {
  return /^[0-9.]+$/.test(host) || host.includes(":");
}

function viaNodeTls(
  t: TlsDialTarget,
  o: Readonly<TlsCredentialsOptions>,
  signal: AbortSignal,
): Promise<RawConn> {
  const name = o.serverName ?? t.hostname;
  if (t.proxied) {
    // node:tls dials its own socket; a Deno.TcpConn from the CONNECT tunnel cannot be handed to
    // it.
    return Promise.reject(
      new Error("a client certificate (mutual TLS) through an HTTP CONNECT proxy is not supported"),
    );
  }
  return new Promise((resolve, reject) => {
    const sock = nodeTls.connect({
      host: t.hostname,
      port: t.port,
      // SNI carries host names only (RFC 6066 §3); the identity check uses `name` either way.
      servername: isIp(name) ? undefined : name,
      checkServerIdentity: (_host: string, cert: nodeTls.PeerCertificate) =>
        nodeTls.checkServerIdentity(name, cert),
      ca: o.caCerts,
      cert: o.cert,
      key: o.key,
      ALPNProtocols: [ALPN_H2],
    });
    const fail = (err: unknown) => {
      cleanup();
      sock.destroy();
      reject(err);
    };
    const onAbort = () => fail(signal.reason);
    const onError = (err: Error) => fail(err);
    const onSecure = () => {
      cleanup();
      if (sock.alpnProtocol !== ALPN_H2) {
        sock.destroy();
        reject(noH2(sock.alpnProtocol));
        return;
      }
      sock.setNoDelay(true);
      sock.setKeepAlive(true);
      resolve(new SocketConn(sock));
    };
    const cleanup = () => {
      signal.removeEventListener("abort", onAbort);
      sock.off("error", onError);
      sock.off("secureConnect", onSecure);
    };
    signal.addEventListener("abort", onAbort, { once: true });
    sock.once("error", onError);
    sock.once("secureConnect", onSecure);
  });
}
