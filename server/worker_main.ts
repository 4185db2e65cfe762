// The entry of each serveWorkers() isolate (server/workers.ts): imports the service module,
// builds this worker's Server with its default export, listens with `reusePort` on the shared
// address, and stops the server when the main thread asks.

/// <reference no-default-lib="true" />
/// <reference lib="deno.worker" />

import type { Server } from "../server.ts";
import type { FromWorker, ServerFactory, ToWorker } from "./workers.ts";

let server: Server | undefined;
let stopping = false;

function post(m: FromWorker): void {
  self.postMessage(m);
}

async function start(m: Extract<ToWorker, { kind: "start" }>): Promise<void> {
  try {
    const mod = await import(m.module);
    const factory = mod.default as ServerFactory | undefined;
    if (typeof factory !== "function") {
      throw new TypeError(`${m.module} has no default export building a Server`);
    }
    const s = await factory({ worker: m.worker, workers: m.workers });
    const listener = Deno.listen({ hostname: m.hostname, port: m.port, reusePort: true });
    server = s;
    const serving = s.serve(listener);
    post({ kind: "ready", port: listener.addr.port });
    await serving;
    post({ kind: "stopped" });
  } catch (err) {
    post({
      kind: "error",
      message: `Server worker ${m.worker}: ${(err as Error)?.message ?? err}`,
    });
  }
}

self.onmessage = (e: MessageEvent<ToWorker>) => {
  const m = e.data;
  if (m.kind === "start") {
    void start(m);
    return;
  }
  if (server === undefined) {
    post({ kind: "stopped" });
    return;
  }
  if (m.kind === "stop") void server.stop();
  else if (!stopping) {
    stopping = true;
    void server.gracefulStop();
  }
};
