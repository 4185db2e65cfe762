// The service module of workers_test.ts (serveWorkers's default export): `Which` answers the
// worker's index; `Hold` answers once its worker's server starts a graceful stop.
import { loadProto, Server, type WorkerContext } from "../mod.ts";

export const PROTO = `syntax = "proto3"; package w;
  service W { rpc Which (Empty) returns (Index); rpc Hold (Empty) returns (Index); }
  message Empty {} message Index { int32 worker = 1; }`;

const services = await loadProto({ source: PROTO });

export default (ctx: WorkerContext): Server => {
  const server = new Server();
  let draining!: () => void;
  const drained = new Promise<void>((r) => (draining = r));
  server.onGracefulStop(() => draining());
  server.addService(services["w.W"], {
    which: () => ({ worker: ctx.worker }),
    hold: async () => {
      await drained;
      return { worker: ctx.worker };
    },
  });
  return server;
};
