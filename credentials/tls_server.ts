/**
 * Server transport credentials for TLS and mutual TLS, after grpc-go's `credentials.NewTLS` on a
 * server: they make the listener (Deno cannot turn an accepted TCP connection into TLS on the
 * server side), and the server runs each connection's handshake in `handleRawConn` under its
 * `connectionTimeoutMs` (grpc-go `useTransportAuthenticator`), requiring ALPN `h2`.
 *
 * @module
 */

import * as tls from "node:tls";
import type { Socket } from "node:net";
import type { AuthInfo, PeerCertificate } from "../peer.ts";
import { SocketConn } from "./_socket_conn.ts";

/**
 * Whether and how the server asks clients for a certificate. grpc-go: `tls.ClientAuthType`.
 * - `"none"`: no certificate is requested (`tls.NoClientCert`).
 * - `"request"`: one is requested; a client may send none, but one it sends must verify against
 *   `caCerts` (`tls.VerifyClientCertIfGiven`).
 * - `"require-and-verify"`: a certificate that verifies against `caCerts` is required
 *   (`tls.RequireAndVerifyClientCert`, mutual TLS).
 */
export type ClientAuth = "none" | "request" | "require-and-verify";

/**
 * The TLS implementation behind a listener. Measured on Deno 2.9.6 with a raw TLS echo on
 * loopback (one connection, same machine, interleaved runs): 100-byte ping-pong, `"deno"`
 * 36–39k round trips/s, `"node"` 31–34k (TLS and mTLS alike); 64 KiB echo, `"deno"` 22 round
 * trips/s (every reply waits ~40 ms on Nagle: Deno's TLS sockets cannot set TCP_NODELAY), `"node"`
 * 4.4–5.4k (~600 MB/s).
 * - `"node"`: `node:tls`, with `setNoDelay`. Supports client certificates and rotation.
 * - `"deno"`: `Deno.listenTls`, ~15% faster on tiny messages, stalls on large ones; no client
 *   certificates, no rotation.
 */
export type TlsServerEngine = "node" | "deno";

/** The certificate a server presents, PEM encoded. Same field names as `Deno.listenTls`. */
export interface ServerCertificate {
  /** The certificate chain, leaf first (PEM; several blocks allowed). */
  cert: string;
  /** The leaf's private key (PEM, PKCS#8 or traditional). */
  key: string;
  /**
   * CA certificates (PEM) that client certificates must chain to. Never pass a system root
   * bundle: Deno 2.9's `node:tls` sends every certificate given here to each client.
   * @default {undefined}
   */
  caCerts?: string[];
}

/** Options of {@linkcode serverTls}. */
export interface ServerTlsOptions extends ServerCertificate {
  /**
   * Client certificate policy. grpc-go: `tls.Config.ClientAuth`.
   * @default {"require-and-verify"} when `caCerts` is given, else `"none"`
   */
  clientAuth?: ClientAuth;
  /**
   * Which TLS implementation serves; see {@linkcode TlsServerEngine} for what each costs.
   * `"deno"` refuses `clientAuth` other than `"none"` and {@linkcode ServerTlsCredentials.updateCertificates}.
   * @default {"node"}
   */
  engine?: TlsServerEngine;
}

/** Where {@linkcode ServerTlsCredentials.listen} binds. */
export interface TlsListenOptions {
  /** Interface to bind. @default {"0.0.0.0"} */
  hostname?: string;
  /** Port; 0 picks a free one. */
  port: number;
}

/**
 * A listener {@linkcode Server.serve} accepts besides `Deno.listen`'s: `accept()` returns a
 * connection whose security handshake has not run yet.
 */
export interface ServerListener {
  /** The bound address. */
  readonly addr: Deno.NetAddr;
  /** The next connection, before its handshake. Rejects with `BadResource` once closed. */
  accept(): Promise<ServerHandshaker>;
  /** Stops listening; connections already accepted stay open. */
  close(): void;
}

/** A connection as the server receives it from a {@linkcode ServerListener}. */
export interface ServerHandshaker {
  /** The peer's address. */
  readonly remoteAddr: Deno.NetAddr;
  /**
   * Runs the server side of the security handshake. Rejects, with the cause, when it fails or
   * the client did not negotiate `h2`; the caller then closes the connection.
   */
  serverHandshake(): Promise<SecuredConn>;
  /** Closes the connection (also while the handshake runs). */
  close(): void;
}

/** The byte stream of a connection, as `Deno.Conn` offers it (what HTTP/2 runs on). */
export interface ByteStream {
  /** Reads into `p`; the number of bytes read, or `null` at the end. */
  read(p: Uint8Array): Promise<number | null>;
  /** Writes (some of) `p`; the number of bytes written. */
  write(p: Uint8Array): Promise<number>;
  /** Closes the connection. */
  close(): void;
}

/** A connection after its handshake: what the HTTP/2 transport runs on, and what it proved. */
export interface SecuredConn {
  /** The byte stream. */
  readonly conn: ByteStream;
  /** What the handshake established. */
  readonly authInfo: AuthInfo;
}

/** The ALPN protocol gRPC runs on; grpc-go requires it since 1.67. */
export const ALPN_H2 = "h2";

/**
 * TLS credentials for a server, made by {@linkcode serverTls}. grpc-go: the server side of
 * `credentials.TransportCredentials` from `credentials.NewTLS`.
 */
export class ServerTlsCredentials {
  readonly #engine: TlsServerEngine;
  readonly #clientAuth: ClientAuth;
  #options: tls.TlsOptions;
  #denoCert: ServerCertificate;
  readonly #servers = new Set<tls.Server>();

  /** Use {@linkcode serverTls} to make one. */
  constructor(options: ServerTlsOptions) {
    checkCertificate(options, "serverTls");
    const clientAuth = options.clientAuth ??
      (options.caCerts !== undefined ? "require-and-verify" : "none");
    if (!["none", "request", "require-and-verify"].includes(clientAuth)) {
      throw new RangeError(
        `Cannot create serverTls: unknown clientAuth ${JSON.stringify(clientAuth)}`,
      );
    }
    if (clientAuth !== "none" && (options.caCerts === undefined || options.caCerts.length === 0)) {
      throw new TypeError(`Cannot create serverTls: clientAuth "${clientAuth}" needs caCerts`);
    }
    const engine = options.engine ?? "node";
    if (engine !== "node" && engine !== "deno") {
      throw new RangeError(`Cannot create serverTls: unknown engine ${JSON.stringify(engine)}`);
    }
    if (engine === "deno" && clientAuth !== "none") {
      throw new TypeError(
        'Cannot create serverTls: engine "deno" (Deno.listenTls) cannot verify client certificates; use engine "node"',
      );
    }
    this.#engine = engine;
    this.#clientAuth = clientAuth;
    this.#denoCert = { cert: options.cert, key: options.key };
    this.#options = nodeOptions(options, clientAuth);
  }

  /** The client certificate policy in force. */
  get clientAuth(): ClientAuth {
    return this.#clientAuth;
  }

  /** The TLS implementation listeners use. */
  get engine(): TlsServerEngine {
    return this.#engine;
  }

  /**
   * Binds a TLS listener for {@linkcode Server.serve}. TLS needs TCP: Deno offers no TLS over
   * unix sockets.
   * @param options Address to bind.
   * @returns The listener, once bound.
   */
  async listen(options: TlsListenOptions): Promise<ServerListener> {
    const hostname = options.hostname ?? "0.0.0.0";
    if (this.#engine === "deno") {
      return new DenoTlsListener(
        Deno.listenTls({
          hostname,
          port: options.port,
          cert: this.#denoCert.cert,
          key: this.#denoCert.key,
          alpnProtocols: [ALPN_H2],
        }),
      );
    }
    const server = tls.createServer({
      ...this.#options,
      // The server's handleRawConn bounds the handshake (connectionTimeoutMs); 0 turns node's own
      // 120 s timer off.
      handshakeTimeout: 0,
    });
    const listener = new NodeTlsListener(
      server,
      this.#clientAuth,
      () => this.#servers.delete(server),
    );
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(options.port, hostname, () => {
        server.off("error", reject);
        resolve();
      });
    });
    this.#servers.add(server);
    listener.bound();
    return listener;
  }

  /**
   * Replaces the certificate (and, if given, the client CAs) for new connections on every
   * listener these credentials made; connections already open keep theirs. Needs engine `"node"`.
   * @param certificate The new certificate chain and key.
   * @throws {TypeError} With engine `"deno"`, or when a field is not a PEM string.
   */
  updateCertificates(certificate: ServerCertificate): void {
    if (this.#engine === "deno") {
      throw new TypeError('Cannot update certificates: engine "deno" cannot rotate; use "node"');
    }
    checkCertificate(certificate, "updateCertificates");
    const caCerts = certificate.caCerts ?? (this.#options.ca as string[] | undefined);
    this.#options = nodeOptions({ ...certificate, caCerts }, this.#clientAuth);
    for (const s of this.#servers) {
      s.setSecureContext({ cert: certificate.cert, key: certificate.key, ca: caCerts });
    }
  }
}

/**
 * TLS server credentials: a certificate chain and key, optionally client CAs and a client
 * certificate policy (mutual TLS). grpc-go: `credentials.NewTLS(&tls.Config{…})`,
 * `credentials.NewServerTLSFromFile`.
 * @param options Certificate, key, client CAs, policy, engine.
 * @returns Credentials whose `listen()` makes listeners for {@linkcode Server.serve}.
 * @throws {TypeError} When a certificate or key is not PEM text, or the options contradict.
 * @throws {RangeError} On an unknown `clientAuth` or `engine`.
 * @example Serve TLS (ignored: needs certificate files)
 * ```ts ignore
 * import { Server, serverTls } from "@seed/grpc";
 * const creds = serverTls({
 *   cert: await Deno.readTextFile("server.pem"),
 *   key: await Deno.readTextFile("server.key"),
 *   caCerts: [await Deno.readTextFile("ca.pem")], // mutual TLS: clients need a certificate
 * });
 * const server = new Server();
 * await server.serve(await creds.listen({ port: 50051 }));
 * ```
 */
export function serverTls(options: ServerTlsOptions): ServerTlsCredentials {
  return new ServerTlsCredentials(options);
}

function checkCertificate(c: ServerCertificate, what: string): void {
  if (typeof c?.cert !== "string" || !c.cert.includes("-----BEGIN")) {
    throw new TypeError(`Cannot create ${what}: cert must be a PEM certificate chain`);
  }
  if (typeof c.key !== "string" || !c.key.includes("-----BEGIN")) {
    throw new TypeError(`Cannot create ${what}: key must be a PEM private key`);
  }
  if (
    c.caCerts !== undefined &&
    (!Array.isArray(c.caCerts) || c.caCerts.some((p) => typeof p !== "string"))
  ) {
    throw new TypeError(`Cannot create ${what}: caCerts must be an array of PEM strings`);
  }
}

function nodeOptions(c: ServerCertificate, clientAuth: ClientAuth): tls.TlsOptions {
  return {
    cert: c.cert,
    key: c.key,
    // An empty list, never undefined: node:tls would fall back to the system roots, which Deno
    // 2.9 appends to the chain it serves (DENO-PLATFORM.md §3).
    ca: c.caCerts ?? [],
    requestCert: clientAuth !== "none",
    // "request" verifies in serverHandshake (a certificate that is sent must verify).
    rejectUnauthorized: clientAuth === "require-and-verify",
    ALPNProtocols: [ALPN_H2],
  };
}

const TLS_AUTH_BASE = { authType: "tls", securityLevel: "PrivacyAndIntegrity" } as const;

// Deno.listenTls: accept() already returns a TlsConn whose handshake() has not run.
class DenoTlsListener implements ServerListener {
  readonly #l: Deno.TlsListener;
  constructor(l: Deno.TlsListener) {
    this.#l = l;
  }
  get addr(): Deno.NetAddr {
    return this.#l.addr;
  }
  async accept(): Promise<ServerHandshaker> {
    return denoTlsHandshaker(await this.#l.accept());
  }
  close(): void {
    this.#l.close();
  }
}

/** The handshaker of a `Deno.TlsConn` (from `Deno.listenTls`, ours or the caller's). */
export function denoTlsHandshaker(conn: Deno.TlsConn): ServerHandshaker {
  return {
    remoteAddr: conn.remoteAddr,
    async serverHandshake(): Promise<SecuredConn> {
      const { alpnProtocol } = await conn.handshake();
      if (alpnProtocol !== ALPN_H2) throw noH2(alpnProtocol);
      return {
        conn,
        authInfo: Object.freeze({ ...TLS_AUTH_BASE, alpnProtocol: ALPN_H2 }),
      };
    },
    close: () => {
      try {
        conn.close();
      } catch {
        // already closed
      }
    },
  };
}

function noH2(alpn: string | null | false | undefined): Error {
  return new Error(
    `client did not negotiate ALPN "h2" (negotiated ${
      alpn ? JSON.stringify(alpn) : "none"
    }); gRPC needs HTTP/2`,
  );
}

// node:tls.Server: its 'connection' event hands over the raw socket (the handshake starts at
// once, in node), 'secureConnection' the TLS socket made from it (tlsSocket._parent), and
// 'tlsClientError' a failed handshake. accept() returns a handshaker per raw socket.
class NodeTlsListener implements ServerListener {
  readonly #server: tls.Server;
  readonly #clientAuth: ClientAuth;
  readonly #onClose: () => void;
  readonly #pending = new WeakMap<Socket, NodeHandshaker>();
  #queue: NodeHandshaker[] = [];
  #waiters: { resolve: (h: NodeHandshaker) => void; reject: (e: unknown) => void }[] = [];
  #closed = false;
  #addr: Deno.NetAddr = { transport: "tcp", hostname: "", port: 0 };

  constructor(server: tls.Server, clientAuth: ClientAuth, onClose: () => void) {
    this.#server = server;
    this.#clientAuth = clientAuth;
    this.#onClose = onClose;
    server.on("connection", (raw: Socket) => {
      if (this.#closed) {
        raw.destroy();
        return;
      }
      // TCP keepalive (OS intervals), as on plaintext connections.
      raw.setKeepAlive(true);
      const h = new NodeHandshaker(raw, clientAuth);
      this.#pending.set(raw, h);
      const w = this.#waiters.shift();
      if (w !== undefined) w.resolve(h);
      else this.#queue.push(h);
    });
    server.on("secureConnection", (s: tls.TLSSocket) => {
      const h = this.#pending.get(parentOf(s));
      if (h === undefined) s.destroy();
      else h.secured(s);
    });
    server.on("tlsClientError", (err: Error, s: tls.TLSSocket) => {
      const h = this.#pending.get(parentOf(s));
      s.destroy();
      if (h === undefined) parentOf(s)?.destroy();
      else h.failed(err);
    });
    server.on("error", () => {
      // Accept errors on a bound node server end in 'close'; nothing to retry here.
    });
  }

  bound(): void {
    const a = this.#server.address();
    if (a !== null && typeof a === "object") {
      this.#addr = { transport: "tcp", hostname: a.address, port: a.port };
    }
  }

  get addr(): Deno.NetAddr {
    return this.#addr;
  }

  accept(): Promise<ServerHandshaker> {
    if (this.#closed) {
      return Promise.reject(new Deno.errors.BadResource("Listener has been closed"));
    }
    const h = this.#queue.shift();
    if (h !== undefined) return Promise.resolve(h);
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#server.close();
    this.#onClose();
    for (const h of this.#queue) h.close();
    this.#queue = [];
    const err = new Deno.errors.BadResource("Listener has been closed");
    for (const w of this.#waiters) w.reject(err);
    this.#waiters = [];
  }
}

function parentOf(s: tls.TLSSocket): Socket {
  return (s as unknown as { _parent: Socket })._parent;
}

class NodeHandshaker implements ServerHandshaker {
  readonly remoteAddr: Deno.NetAddr;
  readonly #raw: Socket;
  readonly #clientAuth: ClientAuth;
  #tls: tls.TLSSocket | undefined;
  #result: SecuredConn | Error | undefined;
  #settle: (() => void) | undefined;
  #closed = false;

  constructor(raw: Socket, clientAuth: ClientAuth) {
    this.#raw = raw;
    this.#clientAuth = clientAuth;
    this.remoteAddr = {
      transport: "tcp",
      hostname: raw.remoteAddress ?? "",
      port: raw.remotePort ?? 0,
    };
    raw.once("close", () => this.failed(new Error("connection closed during the TLS handshake")));
  }

  secured(s: tls.TLSSocket): void {
    if (this.#result !== undefined) {
      s.destroy();
      return;
    }
    this.#tls = s;
    try {
      this.#finish(this.#check(s));
    } catch (err) {
      s.destroy();
      this.#finish(err as Error);
    }
  }

  #check(s: tls.TLSSocket): SecuredConn {
    if (s.alpnProtocol !== ALPN_H2) throw noH2(s.alpnProtocol);
    let peerCertificate: PeerCertificate | undefined;
    if (this.#clientAuth !== "none") {
      const pc = s.getPeerCertificate();
      const sent = pc !== null && typeof pc === "object" && Object.keys(pc).length > 0;
      if (sent && !s.authorized) {
        throw new Error(
          `client certificate did not verify: ${s.authorizationError ?? "unknown authority"}`,
        );
      }
      if (sent) peerCertificate = peerCertificateOf(pc);
    }
    s.setNoDelay(true);
    return {
      conn: new SocketConn(s),
      authInfo: Object.freeze({ ...TLS_AUTH_BASE, alpnProtocol: ALPN_H2, peerCertificate }),
    };
  }

  failed(err: Error): void {
    if (this.#result !== undefined) return;
    this.#raw.destroy();
    this.#finish(err);
  }

  #finish(r: SecuredConn | Error): void {
    if (this.#result !== undefined) return;
    this.#result = r;
    this.#settle?.();
  }

  async serverHandshake(): Promise<SecuredConn> {
    if (this.#result === undefined) await new Promise<void>((resolve) => this.#settle = resolve);
    const r = this.#result!;
    if (r instanceof Error) throw r;
    if (this.#closed) {
      r.conn.close();
      throw new Error("connection closed during the TLS handshake");
    }
    return r;
  }

  close(): void {
    this.#closed = true;
    this.#tls?.destroy();
    this.#raw.destroy();
    this.failed(new Error("connection closed during the TLS handshake"));
  }
}

/** Subject and SANs of a verified node:tls peer certificate. */
export function peerCertificateOf(pc: tls.PeerCertificate): PeerCertificate {
  const subject: Record<string, string> = {};
  for (const [k, v] of Object.entries(pc.subject ?? {})) {
    subject[k] = Array.isArray(v) ? v.join(", ") : String(v);
  }
  const dnsNames: string[] = [];
  const ipAddresses: string[] = [];
  const uris: string[] = [];
  const emailAddresses: string[] = [];
  // "DNS:a.example, IP Address:127.0.0.1, URI:spiffe://x/y, email:a@b" (node's format).
  for (const part of (pc.subjectaltname ?? "").split(/,\s*/)) {
    const colon = part.indexOf(":");
    if (colon < 0) continue;
    const kind = part.slice(0, colon);
    const value = part.slice(colon + 1);
    if (kind === "DNS") dnsNames.push(value);
    else if (kind === "IP Address") ipAddresses.push(value);
    else if (kind === "URI") uris.push(value);
    else if (kind === "email") emailAddresses.push(value);
  }
  return Object.freeze({
    subject: Object.freeze(subject),
    dnsNames: Object.freeze(dnsNames),
    ipAddresses: Object.freeze(ipAddresses),
    uris: Object.freeze(uris),
    emailAddresses: Object.freeze(emailAddresses),
  });
}
