// Serving one port from N isolates: one Deno Worker per isolate, each building its own Server
// from a shared service module and listening on the same address with `reusePort` (the kernel
// spreads incoming connections over the listeners). One isolate runs JavaScript on one core;
// grpc-go uses every core by default (GOMAXPROCS). The workers' entry is server/worker_main.ts.

import type { Server } from "../server.ts";

/** What the service module's default export receives in each worker. */
export interface WorkerContext {
  /** This worker's index, 0 … workers-1. */
  readonly worker: number;
  /** How many workers serve the port. */
  readonly workers: number;
}

/**
 * The default export of a service module: builds the worker's {@linkcode Server} (options,
 * interceptors and services), without serving it. It runs once in every worker isolate.
 */
export type ServerFactory = (ctx: WorkerContext) => Server | Promise<Server>;

/** Options of {@linkcode serveWorkers}. */
export interface ServeWorkersOptions {
  /**
   * Worker isolates, each on its own thread. Default: `navigator.hardwareConcurrency`, one per
   * core (grpc-go: GOMAXPROCS, all cores).
   */
  workers?: number;
  /** Address to listen on. Default: "0.0.0.0". */
  hostname?: string;
  /** Port; 0 picks a free one (the first worker's, shared by the rest). Default: 0. */
  port?: number;
}

/** A running set of worker servers; see {@linkcode serveWorkers}. */
export interface ServerWorkers {
  /** The port every worker listens on. */
  readonly port: number;
  /** How many workers serve it. */
  readonly workers: number;
  /** Graceful stop of every worker ({@linkcode Server.gracefulStop}); resolves when all ended. */
  gracefulStop(): Promise<void>;
  /** Stops every worker now ({@linkcode Server.stop}); resolves when all ended. */
  stop(): Promise<void>;
  /** Resolves once every worker has stopped (by either method). */
  readonly done: Promise<void>;
}

/** Messages main → worker. */
export type ToWorker =
  | {
    kind: "start";
    module: string;
    hostname: string;
    port: number;
    worker: number;
    workers: number;
  }
  | { kind: "gracefulStop" }
  | { kind: "stop" };

/** Messages worker → main. */
export type FromWorker =
  | { kind: "ready"; port: number }
  | { kind: "stopped" }
  | { kind: "error"; message: string };

/**
 * Serves one port from `workers` isolates. `module` is a service module whose default export is
 * a {@linkcode ServerFactory}; every worker imports it, builds its server and listens on the same
 * address with `reusePort`, so the kernel spreads connections over the workers (one connection
 * stays on one worker). `reusePort` is unstable in Deno 2.9: run with `--unstable-net` (or
 * `"unstable": ["net"]` in deno.json). Workers inherit the program's permissions.
 * @throws {Error} when a worker fails to build its server or to listen (every worker is then
 *   stopped).
 * @example Two workers on one port
 * ```ts ignore
 * // service.ts
 * import { loadProto, Server, type WorkerContext } from "@seed/grpc";
 * const services = await loadProto(new URL("./hello.proto", import.meta.url));
 * export default (_ctx: WorkerContext) => {
 *   const server = new Server();
 *   server.addService(services["helloworld.Hello"], {
 *     sayHello: (req: { name: string }) => ({ message: `Hello ${req.name}` }),
 *   });
 *   return server;
 * };
 *
 * // main.ts (deno run -A --unstable-net main.ts)
 * import { serveWorkers } from "@seed/grpc";
 * const pool = await serveWorkers(new URL("./service.ts", import.meta.url), {
 *   workers: 2,
 *   hostname: "127.0.0.1",
 *   port: 50051,
 * });
 * Deno.addSignalListener("SIGTERM", () => pool.gracefulStop());
 * await pool.done;
 * ```
 */
export async function serveWorkers(
  module: string | URL,
  options: ServeWorkersOptions = {},
): Promise<ServerWorkers> {
  const n = options.workers ?? navigator.hardwareConcurrency;
  if (!Number.isInteger(n) || n < 1) {
    throw new RangeError(`Cannot serve: workers is ${n}, expected an integer >= 1`);
  }
  const hostname = options.hostname ?? "0.0.0.0";
  let port = options.port ?? 0;
  // A relative path is taken from the working directory.
  const url = new URL(module, `file://${Deno.cwd()}/`).href;
  const started: WorkerHandle[] = [];
  try {
    // The first worker picks the port when it is 0; the others join it.
    for (let i = 0; i < n; i++) {
      const w = new WorkerHandle(i);
      started.push(w);
      port = await w.start({ kind: "start", module: url, hostname, port, worker: i, workers: n });
    }
  } catch (err) {
    await Promise.all(started.map((w) => w.end("stop")));
    throw err;
  }
  const done = Promise.all(started.map((w) => w.ended)).then(() => {});
  return {
    port,
    workers: n,
    done,
    gracefulStop: async () => {
      await Promise.all(started.map((w) => w.end("gracefulStop")));
    },
    stop: async () => {
      await Promise.all(started.map((w) => w.end("stop")));
    },
  };
}

/** One worker isolate, seen from the main thread. */
class WorkerHandle {
  readonly #worker: Worker;
  #onReady: ((port: number) => void) | undefined;
  #onFail: ((err: Error) => void) | undefined;
  #terminated = false;
  #endResolve!: () => void;
  /** Resolves once the worker has stopped and is terminated. */
  readonly ended: Promise<void> = new Promise((r) => (this.#endResolve = r));

  constructor(index: number) {
    this.#worker = new Worker(new URL("./worker_main.ts", import.meta.url), {
      type: "module",
      name: `grpc-server-${index}`,
    });
    this.#worker.onmessage = (e: MessageEvent<FromWorker>) => {
      const m = e.data;
      if (m.kind === "ready") this.#onReady?.(m.port);
      else if (m.kind === "error") this.#fail(new Error(m.message));
      else if (m.kind === "stopped") this.#terminate();
    };
    this.#worker.onerror = (e: ErrorEvent) => {
      e.preventDefault();
      this.#fail(new Error(`Server worker ${index} failed: ${e.message}`));
    };
  }

  /** Starts the worker's server; resolves with the port it listens on. */
  start(msg: ToWorker): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#onReady = resolve;
      this.#onFail = reject;
      this.#worker.postMessage(msg);
    });
  }

  /** Asks the worker to stop its server; resolves once it has and the worker is gone. */
  end(kind: "gracefulStop" | "stop"): Promise<void> {
    if (!this.#terminated) this.#worker.postMessage({ kind } satisfies ToWorker);
    return this.ended;
  }

  #fail(err: Error): void {
    const f = this.#onFail;
    this.#onFail = undefined;
    this.#terminate();
    f?.(err);
  }

  #terminate(): void {
    if (this.#terminated) return;
    this.#terminated = true;
    this.#worker.terminate();
    this.#endResolve();
  }
}
