// The helloworld server: `deno run --allow-net --allow-read server.ts [port]` (port 50051 by
// default, 0 for any free port). Ctrl-C drains it for up to 10 s; a second Ctrl-C stops it now.

import { loadProto, Server, stopOnSignals } from "@seed/grpc";

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
  const port = Number(Deno.args[0] ?? "50051");
  const server = await createHelloServer();
  const listener = Deno.listen({ hostname: "127.0.0.1", port });
  const serving = server.serve(listener);
  console.log(`helloworld server listening on 127.0.0.1:${listener.addr.port}`);
  stopOnSignals(server);
  await serving;
}
