// The helloworld server: `deno run -A examples/helloworld/server.ts [--port=50051]`.
// Stops gracefully on SIGINT / SIGTERM.

import { loadProto, Server } from "@seed/grpc";
import { parseGoFlags } from "../../internal/flags.ts";
import { stopOnSignals } from "../../internal/signals.ts";

/** Builds the server with the Hello service registered. */
export async function createHelloServer(): Promise<Server> {
  const services = await loadProto(new URL("./hello.proto", import.meta.url));
  const server = new Server();
  server.addService(services["helloworld.Hello"], {
    sayHello: (req: { name: string }) => ({ message: `Hello ${req.name}` }),
  });
  return server;
}

if (import.meta.main) {
  const port = Number(parseGoFlags(Deno.args).get("port") ?? "50051");
  const server = await createHelloServer();
  const listener = Deno.listen({ hostname: "127.0.0.1", port });
  const serving = server.serve(listener);
  console.log(`helloworld server listening on 127.0.0.1:${listener.addr.port}`);
  stopOnSignals(server);
  await serving;
}
