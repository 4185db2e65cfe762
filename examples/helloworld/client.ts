// The helloworld client (the seed's greeter_client): dial with insecure credentials, wait for the
// connection, SayHello { name: "world" }, print the greeting.
//   deno run --allow-net client.ts [address] [name]
// address is host:port (127.0.0.1:50051 by default), name "world" by default.

import { createClient, dial, insecure } from "@seed/grpc";
import { Hello } from "./hello_pb.ts";

const addr = Deno.args[0] ?? "127.0.0.1:50051";
const name = Deno.args[1] ?? "world";

await using conn = await dial(addr, {
  credentials: insecure(),
  block: true,
  signal: AbortSignal.timeout(10_000),
});
const client = createClient(Hello, conn);
const reply = await client.sayHello({ name }, { timeoutMs: 1000 });
console.log(`Greeting: ${reply.message}`);
