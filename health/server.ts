// The grpc.health.v1.Health service: Check, Watch and List over a table of serving statuses.
// grpc-go: health/server.go.

import type { ServiceDefinition } from "../codec.ts";
import type { Server, ServerContext, ServiceImplementation } from "../server.ts";
import { Code, StatusError } from "../status.ts";
import { healthService } from "./proto.ts";

/**
 * A serving status, as `grpc.health.v1.HealthCheckResponse.ServingStatus` names it.
 * `SERVICE_UNKNOWN` is only ever sent by `Watch`.
 */
export type ServingStatus = "UNKNOWN" | "SERVING" | "NOT_SERVING" | "SERVICE_UNKNOWN";

const STATUSES: ReadonlySet<string> = new Set([
  "UNKNOWN",
  "SERVING",
  "NOT_SERVING",
  "SERVICE_UNKNOWN",
]);

/**
 * Most statuses `List` answers with; more fails RESOURCE_EXHAUSTED. grpc-go:
 * health.maxAllowedServices.
 */
export const MAX_LISTED_SERVICES = 100;

/** Options of {@linkcode HealthServer.register}. */
export interface HealthRegisterOptions {
  /**
   * Call {@linkcode HealthServer.shutdown} when `server.gracefulStop()` starts, before it stops
   * accepting and drains, so probes and balancers see NOT_SERVING first; `Watch` calls then end
   * with UNAVAILABLE so that they do not hold the drain open. (grpc-go applications call
   * `Shutdown()` themselves before `GracefulStop()`.)
   * @default {false}
   */
  shutdownOnGracefulStop?: boolean;
}

interface HealthCheckRequest {
  service: string;
}
interface HealthCheckResponse {
  status: ServingStatus;
}

// One Watch call: the newest status not yet sent, and a wake-up for the handler.
class Watcher {
  pending: ServingStatus | undefined;
  ended = false;
  #wake: (() => void) | undefined;

  push(status: ServingStatus): void {
    // Only the newest matters: a slow reader skips intermediate statuses (grpc-go drains its
    // one-slot channel the same way).
    this.pending = status;
    this.#signal();
  }

  end(): void {
    this.ended = true;
    this.#signal();
  }

  wait(signal: AbortSignal): Promise<void> {
    if (this.pending !== undefined || this.ended || signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        signal.removeEventListener("abort", done);
        this.#wake = undefined;
        resolve();
      };
      this.#wake = done;
      signal.addEventListener("abort", done);
    });
  }

  #signal(): void {
    this.#wake?.();
  }
}

/**
 * The standard health service (`grpc.health.v1.Health`): `Check`, `Watch` and `List` over a
 * table of serving statuses. The empty service name `""` stands for the whole server and starts
 * SERVING, as in grpc-go. grpc-go: `health.Server`.
 *
 * Kubernetes `grpc` probes, Envoy, cloud load balancers and `grpc_health_probe` all speak this
 * protocol.
 *
 * @example Serve health and check it
 * ```ts
 * import { dial, insecure, Server } from "@seed/grpc";
 * import { checkHealth, HealthServer } from "@seed/grpc/health";
 * import { assertEquals } from "@std/assert";
 *
 * const server = new Server();
 * const health = new HealthServer();
 * health.register(server, { shutdownOnGracefulStop: true });
 * health.setServingStatus("shop.Cart", "NOT_SERVING");
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const serving = server.serve(listener);
 *
 * const conn = await dial(`127.0.0.1:${listener.addr.port}`, { credentials: insecure() });
 * assertEquals(await checkHealth(conn), "SERVING");
 * assertEquals(await checkHealth(conn, "shop.Cart"), "NOT_SERVING");
 * await conn.close();
 * await server.gracefulStop();
 * await serving;
 * ```
 */
export class HealthServer {
  readonly #statuses = new Map<string, ServingStatus>([["", "SERVING"]]);
  readonly #watchers = new Map<string, Set<Watcher>>();
  #shutdown = false;

  /** The service definition (`grpc.health.v1.Health`), for `server.addService`. */
  static readonly service: ServiceDefinition = healthService;

  /**
   * Sets a service's status and tells its watchers. Ignored after {@linkcode shutdown} until
   * {@linkcode resume}, as in grpc-go. grpc-go: `SetServingStatus`.
   * @param service Fully qualified service name, or `""` for the whole server.
   * @param status The new status.
   * @throws {TypeError} `service` is not a string or `status` is not a serving status.
   */
  setServingStatus(service: string, status: ServingStatus): void {
    if (typeof service !== "string") {
      throw new TypeError(`Cannot set serving status: service is ${typeof service}`);
    }
    if (!STATUSES.has(status)) {
      throw new TypeError(`Cannot set serving status: "${status}" is not a serving status`);
    }
    if (this.#shutdown) return;
    this.#set(service, status);
  }

  /**
   * The status of a service, or `undefined` when it has none.
   * @param service Fully qualified service name, or `""` for the whole server.
   * @returns Its status.
   */
  getServingStatus(service: string): ServingStatus | undefined {
    return this.#statuses.get(service);
  }

  /**
   * Sets every service NOT_SERVING and ignores later {@linkcode setServingStatus} calls until
   * {@linkcode resume}. Call it before stopping (or pass `shutdownOnGracefulStop` to
   * {@linkcode register}). grpc-go: `Shutdown`.
   */
  shutdown(): void {
    this.#shutdown = true;
    for (const service of this.#statuses.keys()) this.#set(service, "NOT_SERVING");
  }

  /** Sets every service SERVING and accepts status changes again. grpc-go: `Resume`. */
  resume(): void {
    this.#shutdown = false;
    for (const service of this.#statuses.keys()) this.#set(service, "SERVING");
  }

  /** The handlers, for `server.addService(HealthServer.service, health.implementation)`. */
  get implementation(): ServiceImplementation {
    return {
      check: (req: HealthCheckRequest) => this.#check(req),
      list: () => this.#list(),
      watch: (req: HealthCheckRequest, ctx: ServerContext) => this.#watch(req, ctx),
    };
  }

  /**
   * Adds the health service to `server`.
   * @param server The server, before `serve`.
   * @param options See {@linkcode HealthRegisterOptions}.
   * @throws {TypeError} The server already has a health service or is serving.
   */
  register(server: Server, options: HealthRegisterOptions = {}): void {
    server.addService(healthService, this.implementation);
    if (options.shutdownOnGracefulStop === true) {
      server.onGracefulStop(() => {
        this.shutdown();
        for (const set of this.#watchers.values()) for (const w of set) w.end();
      });
    }
  }

  #set(service: string, status: ServingStatus): void {
    this.#statuses.set(service, status);
    const set = this.#watchers.get(service);
    if (set !== undefined) { for (const w of set) w.push(status); }
  }

  #check(req: HealthCheckRequest): HealthCheckResponse {
    const status = this.#statuses.get(req.service);
    if (status === undefined) throw new StatusError(Code.NotFound, "unknown service");
    return { status };
  }

  #list(): { statuses: Record<string, HealthCheckResponse> } {
    if (this.#statuses.size > MAX_LISTED_SERVICES) {
      throw new StatusError(
        Code.ResourceExhausted,
        `server health list exceeds maximum capacity: ${MAX_LISTED_SERVICES}`,
      );
    }
    const statuses: Record<string, HealthCheckResponse> = {};
    for (const [service, status] of this.#statuses) statuses[service] = { status };
    return { statuses };
  }

  async *#watch(req: HealthCheckRequest, ctx: ServerContext): AsyncGenerator<HealthCheckResponse> {
    const service = req.service;
    const watcher = new Watcher();
    watcher.push(this.#statuses.get(service) ?? "SERVICE_UNKNOWN");
    let set = this.#watchers.get(service);
    if (set === undefined) this.#watchers.set(service, set = new Set());
    set.add(watcher);
    try {
      let last: ServingStatus | undefined;
      while (true) {
        await watcher.wait(ctx.signal);
        if (ctx.signal.aborted) return; // the call is over; its status is already decided
        const status = watcher.pending;
        watcher.pending = undefined;
        if (status !== undefined && status !== last) {
          last = status;
          yield { status };
        }
        if (watcher.ended) {
          throw new StatusError(Code.Unavailable, "health service is shutting down");
        }
      }
    } finally {
      set.delete(watcher);
      if (set.size === 0 && this.#watchers.get(service) === set) this.#watchers.delete(service);
    }
  }
}
