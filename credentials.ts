// Transport credentials: how a ClientConn secures its connection (grpc-go credentials/).

/**
 * How a {@linkcode ClientConn} secures its connection. Only {@linkcode insecure} (plaintext h2c)
 * exists for now. grpc-go: `credentials.TransportCredentials`.
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
  readonly #protocol: "insecure";

  /**
   * Use {@linkcode insecure} to get one.
   *
   * @param protocol The security protocol.
   */
  constructor(protocol: "insecure") {
    if (protocol !== "insecure") {
      throw new TypeError(
        `Cannot create credentials: unknown protocol ${JSON.stringify(protocol)}`,
      );
    }
    this.#protocol = protocol;
  }

  /**
   * The security protocol: `"insecure"` (grpc-go: `ProtocolInfo().SecurityProtocol`).
   *
   * @returns The protocol name.
   */
  get protocol(): "insecure" {
    return this.#protocol;
  }
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
