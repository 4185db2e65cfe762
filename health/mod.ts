/**
 * The standard health service, `grpc.health.v1.Health` (grpc-go: `health`):
 * {@linkcode HealthServer} answers `Check`, `Watch` and `List`; {@linkcode checkHealth} asks.
 *
 * @example Kubernetes-ready health: SERVING now, NOT_SERVING as soon as draining starts
 * ```ts
 * import { Server } from "@seed/grpc";
 * import { HealthServer } from "@seed/grpc/health";
 *
 * const server = new Server();
 * const health = new HealthServer();
 * health.register(server, { shutdownOnGracefulStop: true });
 * const serving = server.serve(Deno.listen({ hostname: "127.0.0.1", port: 0 }));
 * await server.gracefulStop(); // health reports NOT_SERVING first
 * await serving;
 * ```
 *
 * @module
 */

export * from "./server.ts";
export * from "./client.ts";
export { HEALTH_PROTO, HEALTH_PROTO_NAME, healthService } from "./proto.ts";
