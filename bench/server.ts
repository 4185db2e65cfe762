// The harness's drop-in server (../shared/bench/README.md): bench.Bench over h2c on 127.0.0.1,
// written with the public API only, as a user would. Flags: `-port N` or `-port=N` (0 = any);
// TLS (run.sh TLS=1 / MTLS=1): `-tls-cert PATH -tls-key PATH [-tls-client-ca PATH]`, the last
// requiring client certificates that verify against it; `-tls-engine deno` serves TLS with
// Deno.listenTls instead of node:tls (see TlsServerEngine); `-workers N` serves the port from N
// isolates (serveWorkers; run with --unstable-net; default 1: this isolate, which the harness
// pins to one core and measures by PID — workers are threads of the same process).
// Prints `READY port=N` once serving; exits on SIGTERM (gracefully, then forcibly after 2 s).

import { type ServerListener, serverTls, serveWorkers, stopOnSignals } from "@seed/grpc";
import { parseGoFlags } from "../internal/flags.ts";
import benchServer from "./bench_service.ts";

const flags = parseGoFlags(Deno.args);
const port = Number(flags.get("port") ?? "50051");
const workers = Number(flags.get("workers") ?? "1");

if (workers > 1) {
  // N isolates on one port (needs --unstable-net for reusePort); plaintext only.
  if (flags.has("tls-cert")) throw new TypeError("-workers does not combine with -tls-cert");
  const pool = await serveWorkers(new URL("./bench_service.ts", import.meta.url), {
    workers,
    hostname: "127.0.0.1",
    port,
  });
  console.log(`READY port=${pool.port}`);
  stopOnSignals(pool, { timeoutMs: 2000 }); // the bench harness kills after 3 s
  await pool.done;
  Deno.exit(0);
}

const server = benchServer();

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

stopOnSignals(server, { timeoutMs: 2000 }); // the bench harness kills after 3 s
await serving;
