/**
 * The gRPC client: {@linkcode newClient} / {@linkcode dial} give a {@linkcode ClientConn} (grpc-go
 * `ClientConn`), whose `invoke()` and `newStream()` carry every call, and
 * {@linkcode createClient} turns a service definition into `await client.sayHello(req)`.
 *
 * Shape, after grpc-go (clientconn.go, call.go, stream.go, dialoptions.go, rpc_util.go):
 * - A `ClientConn` is a channel to a target: a resolver (`dns` by default, `ipv4`, `ipv6`,
 *   `unix`, `unix-abstract`, `passthrough`, or one given to {@linkcode registerResolver}) finds
 *   the addresses, a balancer (`pick_first` by default, `round_robin`, or one given to
 *   {@linkcode registerBalancer}) keeps one subchannel per address connected (each with
 *   grpc-go's backoff) and picks one per call. Calls fail fast with UNAVAILABLE while the
 *   channel is in TRANSIENT_FAILURE, unless `waitForReady`.
 * - The service config (`defaultServiceConfig`, or the resolver's) names the balancer and sets
 *   per-method timeouts, `waitForReady` and message limits; `healthCheckConfig` turns on
 *   client-side health checking.
 * - Connections are made lazily (or by `dial({ block })` / `connect()`); after `idleTimeoutMs`
 *   without calls the channel goes IDLE again.
 * - GOAWAY (or a connection that closes) sends new calls to a new connection; streams the server
 *   never processed are retried there transparently (grpc-go csAttempt + transparent retry).
 * - A unary call is a stream: newStream → sendMsg (with END_STREAM on the same frame) → recvMsg.
 *
 * The code lives in `client/` (ARCHITECTURE.md has the map); this file is the public face.
 *
 * @module
 */

export { ConnectivityState } from "./client/connectivity.ts";
export { ChannelCredentials, insecure, tls, type TlsCredentialsOptions } from "./credentials.ts";
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
export type { ServiceConfigJson } from "./client/service_config.ts";
export {
  type Address,
  registerResolver,
  type Resolver,
  type ResolverClientConn,
  type ResolverFactory,
  type ResolverOptions,
  type ResolverState,
  type Target,
} from "./resolver/resolver.ts";
export { dnsResolver, type DnsResolverOptions } from "./resolver/dns.ts";
export { ManualResolver } from "./resolver/manual.ts";
export {
  type Balancer,
  type BalancerBuilder,
  type BalancerBuildOptions,
  type BalancerClientConn,
  type Picker,
  type PickInfo,
  registerBalancer,
  type SubConn,
  type SubConnState,
} from "./balancer/balancer.ts";
export {
  type BidiStreamingMethod,
  type ClientMethodFor,
  type ClientOf,
  type ClientStreamingMethod,
  createClient,
  type EsClientMethod,
  type ServerStreamingMethod,
  type UnaryMethod,
  type UntypedClient,
} from "./client/stub.ts";
