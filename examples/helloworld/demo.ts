// `deno task demo`: the helloworld server in-process on a free port, one SayHello call through
// our client, then a graceful stop. Prints "Greeting: Hello world" and exits 0.

import { createClient, dial, insecure, loadProto } from "@seed/grpc";
import { createHelloServer } from "./server.ts";

const server = await createHelloServer();
const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
const serving = server.serve(listener);

const services = await loadProto(new URL("./hello.proto", import.meta.url));
const conn = await dial(`127.0.0.1:${listener.addr.port}`, {
  credentials: insecure(),
  block: true,
});
try {
  const client = createClient(services["helloworld.Hello"], conn);
  const reply = await client.sayHello({ name: "world" }) as { message: string };
  console.log(`Greeting: ${reply.message}`);
} finally {
  await conn.close();
  await server.gracefulStop();
  await serving;
}
