/**
 * Who is on the other end of a call: its address and what its transport credentials proved,
 * after grpc-go's `peer.Peer` and `credentials.AuthInfo`.
 *
 * @module
 */

/**
 * How well a connection is protected, in grpc-go's order: a call can require at least a level.
 * grpc-go: `credentials.SecurityLevel` (`NoSecurity`, `IntegrityOnly`, `PrivacyAndIntegrity`).
 */
export type SecurityLevel = "NoSecurity" | "IntegrityOnly" | "PrivacyAndIntegrity";

/**
 * A certificate presented by the peer and verified against the configured CA, as an interceptor
 * needs it to authorise by identity.
 */
export interface PeerCertificate {
  /** The subject's attributes, e.g. `{ CN: "bench-client", O: "grpc bench" }`. */
  readonly subject: Readonly<Record<string, string>>;
  /** Subject alternative names of type DNS. */
  readonly dnsNames: readonly string[];
  /** Subject alternative names of type IP address. */
  readonly ipAddresses: readonly string[];
  /** Subject alternative names of type URI (SPIFFE IDs, for example). */
  readonly uris: readonly string[];
  /** Subject alternative names of type email. */
  readonly emailAddresses: readonly string[];
}

/**
 * What the connection's security handshake established. grpc-go: `credentials.AuthInfo`
 * (`insecure.info`, `credentials.TLSInfo`).
 */
export interface AuthInfo {
  /** `"insecure"` or `"tls"`. grpc-go: `AuthType()`. */
  readonly authType: "insecure" | "tls";
  /** The connection's protection. grpc-go: `CommonAuthInfo.SecurityLevel`. */
  readonly securityLevel: SecurityLevel;
  /** The negotiated ALPN protocol (`"h2"` under TLS), `undefined` in plaintext. */
  readonly alpnProtocol?: string;
  /**
   * The client's verified certificate under mutual TLS (server side only); `undefined` when the
   * client sent none or none was requested.
   */
  readonly peerCertificate?: PeerCertificate;
}

/**
 * The other end of a call: its address and the authentication its connection established.
 * grpc-go: `peer.Peer`.
 *
 * @example Authorise by client certificate in an interceptor
 * ```ts
 * import { Code, type Peer, StatusError, type UnaryServerInterceptor } from "@seed/grpc";
 * const allow: UnaryServerInterceptor = (req, ctx, _info, next) => {
 *   const peer: Peer | undefined = ctx.peer;
 *   if (peer?.authInfo.peerCertificate?.subject.CN !== "trusted-client") {
 *     throw new StatusError(Code.PermissionDenied, "unknown client");
 *   }
 *   return next(req, ctx);
 * };
 * ```
 */
export interface Peer {
  /** The peer's address (`tcp` with hostname and port, or `unix`). */
  readonly addr: Deno.Addr;
  /** What the security handshake established. */
  readonly authInfo: AuthInfo;
}

/** The AuthInfo of a plaintext connection. */
export const INSECURE_AUTH_INFO: AuthInfo = Object.freeze({
  authType: "insecure",
  securityLevel: "NoSecurity",
});
