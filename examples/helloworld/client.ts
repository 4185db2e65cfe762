// The helloworld client (the seed's greeter_client): dial with insecure credentials, wait for the
// connection, SayHello { name: "world" }, print the greeting.
//   deno run -A examples/helloworld/client.ts [--addr=127.0.0.1:50051] [--name=world]

import { createClient, dial, insecure } from "@seed/grpc";
import { parseGoFlags } from "../../internal/flags.ts";
import { Hello } from "./hello_pb.ts";

const flags = parseGoFlags(Deno.args);
const addr = flags.get("addr") ?? "127.0.0.1:50051";
const name = flags.get("name") ?? "world";

await using conn = await dial(addr, {
  credentials: insecure(),
  block: true,
  signal: AbortSignal.timeout(10_000),
});
const client = createClient(Hello, conn);
const reply = await client.sayHello({ name }, { timeoutMs: 1000 });
console.log(`Greeting: ${reply.message}`);
