// The helloworld client (the seed's greeter_client): dial with insecure credentials, wait for the
// connection, SayHello { name: "world" }, print the greeting.
//   deno run --allow-net --allow-read client.ts [address] [name]
// address is host:port (127.0.0.1:50051 by default), name "world" by default.

import { createClient, dial, insecure, loadProto, type UnaryMethod } from "@seed/grpc";

interface HelloClient {
  sayHello: UnaryMethod<{ name: string }, { message: string }>;
}

const addr = Deno.args[0] ?? "127.0.0.1:50051";
const name = Deno.args[1] ?? "world";

const services = await loadProto(new URL("./hello.proto", import.meta.url));
await using conn = await dial(addr, {
  credentials: insecure(),
  block: true,
  signal: AbortSignal.timeout(10_000),
});
const client = createClient<HelloClient>(services["helloworld.Hello"], conn);
const reply = await client.sayHello({ name }, { timeoutMs: 1000 });
console.log(`Greeting: ${reply.message}`);
