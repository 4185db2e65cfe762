// Transport credentials: how a ClientConn secures its connection (grpc-go credentials/):
// plaintext, or TLS (optionally with a client certificate, mutual TLS). The dialling itself is in
// credentials/tls_client.ts.

/**
 * TLS settings of a channel; field names as `Deno.connectTls` and {@linkcode serverTls} use them.
 */
export interface TlsCredentialsOptions {
  /**
   * CA certificates (PEM) the server's certificate must chain to, instead of the default roots.
   * The default roots are Deno's (Mozilla's bundle); run with `DENO_TLS_CA_STORE=system` to use
   * the operating system's store instead. grpc-go: `tls.Config.RootCAs`.
   * @default {undefined} (the default roots)
   */
  caCerts?: string[];
  /**
   * A client certificate chain (PEM) for mutual TLS; needs `key`. grpc-go:
   * `tls.Config.Certificates`.
   * @default {undefined}
   */
  cert?: string;
  /** The client certificate's private key (PEM). @default {undefined} */
  key?: string;
  /**
   * The name the server's certificate is checked against and sent as SNI, and the `:authority`,
   * instead of the target's host; works when dialling an IP address. grpc-go:
   * `credentials.NewClientTLSFromCert(pool, serverNameOverride)`, interop `server_host_override`.
   * @default {undefined} (the target's host)
   */
  serverName?: string;
}

/**
 * How a {@linkcode ClientConn} secures its connection: {@linkcode insecure} (plaintext h2c) or
 * {@linkcode tls} (HTTP/2 over TLS, ALPN `h2`). grpc-go: `credentials.TransportCredentials`.
 *
 * @example Plaintext credentials
 * ```ts
 * import { insecure } from "@seed/grpc";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(insecure().protocol, "insecure");
 * ```
 */
export class ChannelCredentials {
  readonly #protocol: "insecure" | "tls";
  readonly #tls: Readonly<TlsCredentialsOptions> | undefined;

  /**
   * Use {@linkcode insecure} or {@linkcode tls} to get one.
   *
   * @param protocol The security protocol.
   * @param tlsOptions With `"tls"`: the TLS settings.
   */
  constructor(protocol: "insecure" | "tls", tlsOptions?: TlsCredentialsOptions) {
    if (protocol !== "insecure" && protocol !== "tls") {
      throw new TypeError(
        `Cannot create credentials: unknown protocol ${JSON.stringify(protocol)}`,
      );
    }
    this.#protocol = protocol;
    if (protocol === "tls") this.#tls = Object.freeze(checkTlsOptions(tlsOptions ?? {}));
  }

  /**
   * The security protocol: `"insecure"` or `"tls"` (grpc-go: `ProtocolInfo().SecurityProtocol`).
   *
   * @returns The protocol name.
   */
  get protocol(): "insecure" | "tls" {
    return this.#protocol;
  }

  /**
   * The TLS settings (`undefined` for insecure credentials).
   *
   * @returns The options given to {@linkcode tls}.
   */
  get tlsOptions(): Readonly<TlsCredentialsOptions> | undefined {
    return this.#tls;
  }
}

function checkTlsOptions(o: TlsCredentialsOptions): TlsCredentialsOptions {
  const pem = (v: unknown, name: string) => {
    if (v !== undefined && (typeof v !== "string" || !v.includes("-----BEGIN"))) {
      throw new TypeError(`Cannot create tls credentials: ${name} must be PEM text`);
    }
  };
  if (o.caCerts !== undefined) {
    if (!Array.isArray(o.caCerts)) {
      throw new TypeError("Cannot create tls credentials: caCerts must be an array of PEM strings");
    }
    o.caCerts.forEach((c, i) => pem(c, `caCerts[${i}]`));
  }
  pem(o.cert, "cert");
  pem(o.key, "key");
  if ((o.cert === undefined) !== (o.key === undefined)) {
    throw new TypeError("Cannot create tls credentials: cert and key go together");
  }
  if (o.serverName !== undefined && (typeof o.serverName !== "string" || o.serverName === "")) {
    throw new TypeError("Cannot create tls credentials: serverName must be a non-empty string");
  }
  return {
    caCerts: o.caCerts === undefined ? undefined : [...o.caCerts],
    cert: o.cert,
    key: o.key,
    serverName: o.serverName,
  };
}

const INSECURE = new ChannelCredentials("insecure");

/**
 * Plaintext credentials: HTTP/2 over TCP without TLS (h2c with prior knowledge). grpc-go:
 * `insecure.NewCredentials()`.
 *
 * @returns The insecure credentials.
 *
 * @example Dial without TLS
 * ```ts
 * import { insecure, newClient } from "@seed/grpc";
 *
 * const conn = newClient("127.0.0.1:50051", { credentials: insecure() });
 * await conn.close();
 * ```
 */
export function insecure(): ChannelCredentials {
  return INSECURE;
}

/**
 * TLS credentials: HTTP/2 over TLS with ALPN `h2`, `:scheme` https. The server certificate is
 * verified against `caCerts` (or the default roots) and `serverName` (or the target's host);
 * `cert` + `key` add a client certificate (mutual TLS). A failed handshake (unknown CA, name
 * mismatch, expired certificate, no `h2`) fails calls UNAVAILABLE with the cause, and the
 * channel reconnects with backoff. Not available on unix sockets (Deno has no TLS over them).
 * grpc-go: `credentials.NewTLS`, `credentials.NewClientTLSFromCert`.
 *
 * Which Deno API dials (measured with a raw TLS echo on Deno 2.9.6; ~30–42k 100-byte round trips/s
 * for each, within noise): without a client certificate, `Deno.connect` with TCP_NODELAY then
 * `Deno.startTls` (the only Deno TLS path that can set NODELAY); with one, `node:tls` (Deno's
 * `startTls` ignores client certificates, and `Deno.connectTls` cannot set NODELAY, nor check a
 * name other than the one it connects to).
 *
 * @param options CAs, client certificate, server name.
 * @returns The credentials.
 * @throws {TypeError} When a certificate or key is not PEM text, or only one of cert/key is set.
 *
 * @example Dial a server with a private CA (ignored: needs a TLS server)
 * ```ts ignore
 * import { newClient, tls } from "@seed/grpc";
 * const conn = newClient("127.0.0.1:50051", {
 *   credentials: tls({ caCerts: [await Deno.readTextFile("ca.pem")], serverName: "localhost" }),
 * });
 * await conn.close();
 * ```
 */
export function tls(options: TlsCredentialsOptions = {}): ChannelCredentials {
  return new ChannelCredentials("tls", options);
}
