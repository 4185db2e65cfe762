// The client side of grpc.health.v1: one Check call. Used by the CLI's `health` verb.

import type { CallOptions, ClientConn } from "../client.ts";
import type { ServingStatus } from "./server.ts";
import { healthService } from "./proto.ts";

/**
 * Asks a server for a service's health (`grpc.health.v1.Health/Check`).
 *
 * @param conn A connection to the server.
 * @param service Fully qualified service name; `""` (the default) asks about the whole server.
 * @param options Call options (deadline, metadata, signal).
 * @returns The status the server reports.
 * @throws {StatusError} NOT_FOUND when the server has no status for `service`, UNIMPLEMENTED
 *   when it has no health service, or the call's error.
 *
 * @example Check a server
 * ```ts
 * import { dial, insecure, Server } from "@seed/grpc";
 * import { checkHealth, HealthServer } from "@seed/grpc/health";
 * import { assertEquals } from "@std/assert";
 *
 * const server = new Server();
 * new HealthServer().register(server);
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const serving = server.serve(listener);
 * const conn = await dial(`127.0.0.1:${listener.addr.port}`, { credentials: insecure() });
 * assertEquals(await checkHealth(conn, "", { timeoutMs: 5000 }), "SERVING");
 * await conn.close();
 * await server.stop();
 * await serving;
 * ```
 */
export async function checkHealth(
  conn: ClientConn,
  service = "",
  options?: CallOptions,
): Promise<ServingStatus> {
  const reply = await conn.invoke(healthService.methods.check, { service }, options) as {
    status: ServingStatus | number;
  };
  // An enum number the .proto does not name stays a number; report it as UNKNOWN.
  return typeof reply.status === "string" ? reply.status : "UNKNOWN";
}
