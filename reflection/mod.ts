/**
 * Server reflection, `grpc.reflection.v1` and `v1alpha` (grpc-go: `reflection`):
 * {@linkcode registerReflection} serves both from one implementation; {@linkcode ReflectionClient}
 * asks (v1 first, then v1alpha).
 *
 * @example Make a server explorable by grpcurl and this package's CLI
 * ```ts
 * import { Server } from "@seed/grpc";
 * import { registerReflection } from "@seed/grpc/reflection";
 *
 * const server = new Server();
 * registerReflection(server);
 * const serving = server.serve(Deno.listen({ hostname: "127.0.0.1", port: 0 }));
 * await server.stop();
 * await serving;
 * ```
 *
 * @module
 */

export * from "./server.ts";
export * from "./client.ts";
export {
  REFLECTION_V1_PROTO,
  REFLECTION_V1ALPHA_PROTO,
  reflectionServiceV1,
  reflectionServiceV1Alpha,
} from "./proto.ts";
