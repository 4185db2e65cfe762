/**
 * `@seed/grpc`: gRPC for Deno, server and client, on our own HTTP/2 over Deno's TCP API.
 *
 * - {@linkcode Server}: `serve(listener)`, `gracefulStop({ timeoutMs })`, `stop()`; handlers
 *   are plain async functions and async generators; {@linkcode stopOnSignals} for Ctrl-C.
 * - {@linkcode dial} / {@linkcode newClient}: a {@linkcode ClientConn}; {@linkcode createClient}
 *   turns a service definition into `await client.sayHello(req)`.
 * - {@linkcode loadProto}: service definitions from `.proto` files (protobufjs), untyped; or
 *   typed ones generated ahead of time by `@seed/grpc/codegen` (no protoc); protobuf-es v2
 *   `GenService`s (Connect-ES code) are accepted as they are.
 * - {@linkcode StatusError} and {@linkcode Code}: one error type carrying a gRPC status.
 *
 * @example Unary call, server and client in one process
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { createClient, dial, insecure, loadProto, Server } from "@seed/grpc";
 *
 * const services = await loadProto({
 *   source: `syntax = "proto3"; package helloworld;
 *     service Hello { rpc SayHello (HelloReq) returns (HelloRep); }
 *     message HelloReq { string name = 1; } message HelloRep { string message = 1; }`,
 * });
 * const hello = services["helloworld.Hello"];
 * const server = new Server();
 * server.addService(hello, {
 *   sayHello: (req: { name: string }) => ({ message: `Hello ${req.name}` }),
 * });
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const serving = server.serve(listener);
 *
 * const conn = await dial(`127.0.0.1:${listener.addr.port}`, { credentials: insecure() });
 * const client = createClient(hello, conn);
 * assertEquals(await client.sayHello({ name: "world" }), { message: "Hello world" });
 *
 * await conn.close();
 * await server.gracefulStop();
 * await serving;
 * ```
 *
 * @module
 */

export * from "./status.ts";
export * from "./errdetails.ts";
export * from "./metadata.ts";
export * from "./codec.ts";
export * from "./compression.ts";
export * from "./server.ts";
export {
  type ServerFactory,
  type ServerWorkers,
  serveWorkers,
  type ServeWorkersOptions,
  type WorkerContext,
} from "./server/workers.ts";
export * from "./client.ts";
export * from "./logger.ts";
export * from "./credentials/call.ts";
export type { AuthInfo, Peer, PeerCertificate, SecurityLevel } from "./peer.ts";
export {
  type ByteStream,
  type ClientAuth,
  type SecuredConn,
  type ServerCertificate,
  type ServerHandshaker,
  type ServerListener,
  serverTls,
  ServerTlsCredentials,
  type ServerTlsOptions,
  type TlsListenOptions,
  type TlsServerEngine,
} from "./credentials/tls_server.ts";
