/**
 * The gRPC client: {@linkcode newClient} / {@linkcode dial} give a {@linkcode ClientConn} (grpc-go
 * `ClientConn`), whose `invoke()` and `newStream()` carry every call, and
 * {@linkcode createClient} turns a service definition into `await client.sayHello(req)`.
 *
 * Shape, after grpc-go (clientconn.go, call.go, stream.go, dialoptions.go, rpc_util.go):
 * - One connection per `ClientConn`, made lazily on the first call (or by `dial({ block })`):
 *   `Deno.connect` + `setNoDelay(true)`, the HTTP/2 preface and SETTINGS, READY once the server's
 *   SETTINGS arrived. A failed attempt puts the channel in TRANSIENT_FAILURE for grpc-go's
 *   backoff delay; calls fail fast with UNAVAILABLE then, unless `waitForReady`.
 * - GOAWAY (or a connection that closes) sends new calls to a new connection; streams the server
 *   never processed are retried there transparently (grpc-go csAttempt + transparent retry).
 * - A unary call is a stream: newStream → sendMsg (with END_STREAM on the same frame) → recvMsg.
 *
 * The code lives in `client/` (ARCHITECTURE.md has the map); this file is the public face.
 *
 * @module
 */

export { ConnectivityState } from "./client/connectivity.ts";
export { ChannelCredentials, insecure } from "./credentials.ts";
export type { BackoffOptions, CallOptions, DialOptions } from "./client/options.ts";
export type { ClientStream, ResponseStream, SendOptions } from "./client/stream.ts";
export type {
  StreamCall,
  StreamClientInterceptor,
  Streamer,
  UnaryCall,
  UnaryClientInterceptor,
  UnaryInvoker,
} from "./client/interceptors.ts";
export { ClientConn, dial, newClient } from "./client/client_conn.ts";
export {
  type BidiStreamingMethod,
  type ClientStreamingMethod,
  createClient,
  type ServerStreamingMethod,
  type UnaryMethod,
  type UntypedClient,
} from "./client/stub.ts";
