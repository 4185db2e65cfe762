// bench.Bench as a service module: the default export builds the server (public API only, as a
// user would write it). bench/server.ts serves it in this isolate, or in `-workers N` isolates
// through serveWorkers().

import { loadProto, Server } from "@seed/grpc";
import { HealthServer } from "@seed/grpc/health";
import { registerReflection } from "@seed/grpc/reflection";

interface Payload {
  body: Uint8Array;
}
interface StreamRequest {
  count: number;
  size: number;
}

const services = await loadProto(new URL("./bench.proto", import.meta.url));

/** Builds the bench server: bench.Bench, health and reflection. */
export default function benchServer(): Server {
  const server = new Server();
  server.addService(services["bench.Bench"], {
    unary: (req: Payload): Payload => req,
    serverStream: async function* (req: StreamRequest) {
      const reply = { body: new Uint8Array(req.size) };
      for (let i = 0; i < req.count; i++) yield reply;
    },
    clientStream: async (reqs: AsyncIterable<Payload>): Promise<Payload> => {
      for await (const _ of reqs) { /* drain */ }
      return { body: new Uint8Array(0) };
    },
    bidi: async function* (reqs: AsyncIterable<Payload>) {
      for await (const r of reqs) yield r;
    },
  });
  // Standard services, so any standard tool can talk to it.
  new HealthServer().register(server, { shutdownOnGracefulStop: true });
  registerReflection(server);
  return server;
}
