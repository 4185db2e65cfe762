// RSS of a server per idle connection (issue 10): starts a server (ours: bench/server.ts, or the
// grpc-go server from ../shared/bench), opens N connections with our client, makes one call on
// each so that it is fully set up, lets them idle, and reads the server's RSS from /proc.
//
//   deno run -A bench/idle_conns.ts [-n 1000] [-server seed|go]
// Needs `ulimit -n` above N + 100 (bench/run.sh raises it).

import { createClient, dial, insecure, loadProto } from "@seed/grpc";
import type { ClientConn } from "@seed/grpc";
import { parseGoFlags } from "../internal/flags.ts";

const flags = parseGoFlags(Deno.args);
const n = Number(flags.get("n") ?? "1000");
const which = flags.get("server") ?? "seed";
const root = new URL("../", import.meta.url).pathname;
const cmd = which === "go"
  ? [new URL("../../shared/bench/go/bin/server", import.meta.url).pathname, "-port", "0"]
  : [Deno.execPath(), "run", "-A", `${root}bench/server.ts`, "-port", "0"];

const child = new Deno.Command(cmd[0], { args: cmd.slice(1), stdout: "piped", stderr: "inherit" })
  .spawn();
const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
let out = "";
let port = 0;
while (port === 0) {
  const { value, done } = await reader.read();
  if (done) throw new Error(`server exited: ${out}`);
  out += value;
  const m = /READY port=(\d+)/.exec(out);
  if (m) port = Number(m[1]);
}
// Keep draining stdout so the server never blocks on it.
(async () => {
  while (!(await reader.read()).done) { /* drain */ }
})();

function rssKb(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? "0");
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const services = await loadProto(new URL("./bench.proto", import.meta.url));
const bench = services["bench.Bench"];

// Warm the server with one connection and a few calls, so start-up allocations are not counted.
const warm = await dial(`127.0.0.1:${port}`, { credentials: insecure() });
for (let i = 0; i < 100; i++) await createClient(bench, warm).unary({ body: new Uint8Array(100) });
await sleep(500);
const before = rssKb(child.pid);

const conns: ClientConn[] = [];
for (let i = 0; i < n; i++) {
  const c = await dial(`127.0.0.1:${port}`, { credentials: insecure() });
  await createClient(bench, c).unary({ body: new Uint8Array(100) });
  conns.push(c);
}
await sleep(2000);
const after = rssKb(child.pid);

const result = {
  server: which,
  conns: n,
  rss_before_kb: before,
  rss_after_kb: after,
  rss_per_conn_kb: Math.round(((after - before) / n) * 10) / 10,
};
console.log(JSON.stringify(result));

for (const c of conns) await c.close();
await warm.close();
child.kill("SIGTERM");
await child.status;
