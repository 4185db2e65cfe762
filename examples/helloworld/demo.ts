// `deno task demo`: the helloworld server in-process on a free port, one SayHello call through
// our client, then a graceful stop. Prints "Greeting: Hello world" and exits 0.

import { createClient, dial, insecure } from "@seed/grpc";
import { Hello } from "./hello_pb.ts";
import { createHelloServer } from "./server.ts";

const server = createHelloServer();
const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
const serving = server.serve(listener);

const conn = await dial(`127.0.0.1:${listener.addr.port}`, {
  credentials: insecure(),
  block: true,
});
try {
  const client = createClient(Hello, conn);
  const reply = await client.sayHello({ name: "world" });
  console.log(`Greeting: ${reply.message}`);
} finally {
  await conn.close();
  await server.gracefulStop();
  await serving;
}
