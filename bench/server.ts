// The harness's drop-in server (../shared/bench/README.md): bench.Bench over h2c on 127.0.0.1,
// written with the public API only, as a user would. Flags: `-port N` or `-port=N` (0 = any);
// TLS (run.sh TLS=1 / MTLS=1): `-tls-cert PATH -tls-key PATH [-tls-client-ca PATH]`, the last
// requiring client certificates that verify against it; `-tls-engine deno` serves TLS with
// Deno.listenTls instead of node:tls (see TlsServerEngine).
// Prints `READY port=N` once serving; exits on SIGTERM (gracefully, then forcibly after 2 s).

import { loadProto, Server, type ServerListener, serverTls } from "@seed/grpc";
import { HealthServer } from "@seed/grpc/health";
import { registerReflection } from "@seed/grpc/reflection";
import { parseGoFlags } from "../internal/flags.ts";
import { stopOnSignals } from "../internal/signals.ts";

interface Payload {
  body: Uint8Array;
}
interface StreamRequest {
  count: number;
  size: number;
}

const flags = parseGoFlags(Deno.args);
const port = Number(flags.get("port") ?? "50051");
const services = await loadProto(new URL("./bench.proto", import.meta.url));
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

let listener: Deno.Listener | ServerListener;
const cert = flags.get("tls-cert");
if (cert !== undefined) {
  const key = flags.get("tls-key");
  if (key === undefined) throw new TypeError("-tls-cert needs -tls-key");
  const clientCa = flags.get("tls-client-ca");
  listener = await serverTls({
    cert: Deno.readTextFileSync(cert),
    key: Deno.readTextFileSync(key),
    caCerts: clientCa === undefined ? undefined : [Deno.readTextFileSync(clientCa)],
    // -tls-engine deno: Deno.listenTls (no client certificates); default node:tls.
    engine: flags.get("tls-engine") === "deno" ? "deno" : "node",
  }).listen({ hostname: "127.0.0.1", port });
} else {
  listener = Deno.listen({ hostname: "127.0.0.1", port });
}
const serving = server.serve(listener);
console.log(`READY port=${(listener.addr as Deno.NetAddr).port}`);

stopOnSignals(server);
await serving;
