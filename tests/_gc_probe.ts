// The server for gc_test.ts: bench.Bench's unary echo on the public API. Run it with
// --expose-gc and --trace-gc-nvp; each ClientStream call forces a full GC (reason "testing" in
// V8's trace), which marks the start and end of the test's calls in V8's own output and moves
// everything the connection holds to the old generation, as any full GC in a long run does.
import { loadProto, Server } from "../mod.ts";

const gc = (globalThis as unknown as { gc: () => void }).gc;
const services = await loadProto(new URL("../bench/bench.proto", import.meta.url));
const server = new Server();
server.addService(services["bench.Bench"], {
  unary: (r: unknown) => r,
  serverStream: async function* () {},
  clientStream: async (reqs: AsyncIterable<unknown>) => {
    for await (const _ of reqs) { /* drain */ }
    gc();
    return {};
  },
  bidi: async function* () {},
});
const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
const serving = server.serve(listener);
console.log(`READY port=${listener.addr.port}`);
Deno.addSignalListener("SIGTERM", () => server.stop());
await serving;
