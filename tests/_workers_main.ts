// The program workers_test.ts runs (with --unstable-net): serveWorkers() with `-workers N` on
// 127.0.0.1, prints READY port=N; on SIGTERM a graceful stop of every worker, then "STOPPED".
import { serveWorkers } from "../mod.ts";
import { parseGoFlags } from "../internal/flags.ts";

const flags = parseGoFlags(Deno.args);
const pool = await serveWorkers(new URL("./_workers_service.ts", import.meta.url), {
  workers: Number(flags.get("workers") ?? "2"),
  hostname: "127.0.0.1",
  port: 0,
});
console.log(`READY port=${pool.port}`);
Deno.addSignalListener("SIGTERM", () => void pool.gracefulStop());
await pool.done;
console.log("STOPPED");
