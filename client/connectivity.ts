// Connectivity states of a channel and its subchannels (grpc-go connectivity/connectivity.go).

/**
 * The state of a {@linkcode ClientConn}'s connection. grpc-go: `connectivity.State`.
 *
 * @example Read the state of a new client
 * ```ts
 * import { ConnectivityState, newClient } from "@seed/grpc";
 * import { assertEquals } from "@std/assert";
 *
 * const conn = newClient("127.0.0.1:50051");
 * assertEquals(conn.getState(), ConnectivityState.Idle); // lazy: nothing dialled yet
 * await conn.close();
 * assertEquals(conn.getState(), ConnectivityState.Shutdown);
 * ```
 */
export const ConnectivityState = {
  /** No connection; the next call (or `connect()`) starts one. */
  Idle: "IDLE",
  /** A connection attempt is in progress; calls wait for it. */
  Connecting: "CONNECTING",
  /** Connected; calls go out at once. */
  Ready: "READY",
  /** Attempts failed; calls fail fast with UNAVAILABLE unless `waitForReady` (then they wait). */
  TransientFailure: "TRANSIENT_FAILURE",
  /** `close()` was called (for a subchannel: the balancer removed it). */
  Shutdown: "SHUTDOWN",
} as const;

/** One of the values of {@linkcode ConnectivityState}. */
export type ConnectivityState = (typeof ConnectivityState)[keyof typeof ConnectivityState];
