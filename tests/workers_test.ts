// serveWorkers(): one port served by several worker isolates (reusePort). Runs a child program,
// since reusePort needs --unstable-net.

import { assert, assertEquals, assertRejects } from "@std/assert";
import { startReady } from "./_procs.ts";
import { createClient, dial, insecure, loadProto, serveWorkers } from "../mod.ts";
import { PROTO } from "./_workers_service.ts";

const services = await loadProto({ source: PROTO });
const W = services["w.W"];
const MAIN = new URL("./_workers_main.ts", import.meta.url).pathname;

function startWorkers(n: number) {
  return startReady(Deno.execPath(), ["run", "-A", "--unstable-net", MAIN, "-workers", String(n)]);
}

Deno.test("serveWorkers: connections spread over the workers, all on one port", async () => {
  const proc = await startWorkers(2);
  const seen = new Set<number>();
  try {
    // The kernel hashes each connection to one listener: 24 connections all landing on one of
    // two workers has probability 2^-23.
    for (let i = 0; i < 24; i++) {
      const conn = await dial(`127.0.0.1:${proc.port}`, { credentials: insecure() });
      try {
        const r = await createClient(W, conn).which({}) as { worker: number };
        seen.add(r.worker);
      } finally {
        await conn.close();
      }
    }
  } finally {
    await proc.stop();
  }
  assertEquals([...seen].sort(), [0, 1]);
  assert(proc.output().includes("STOPPED"), proc.output());
});

Deno.test("serveWorkers: SIGTERM drains every worker; running calls finish, then the program ends", async () => {
  const proc = await startWorkers(2);
  const conns = [];
  try {
    // Hold a call open on both workers (connections until each worker has one).
    const held = new Map<number, Promise<unknown>>();
    for (let i = 0; i < 48 && held.size < 2; i++) {
      const conn = await dial(`127.0.0.1:${proc.port}`, { credentials: insecure() });
      conns.push(conn);
      const client = createClient(W, conn);
      const w = (await client.which({}) as { worker: number }).worker;
      if (!held.has(w)) held.set(w, client.hold({}));
    }
    assertEquals(held.size, 2);
    proc.process.kill("SIGTERM");
    // Each Hold returns once its worker's graceful stop began: OK, not an error.
    const results = await Promise.all(held.values()) as { worker: number }[];
    assertEquals(results.map((r) => r.worker).sort(), [0, 1]);
    assertEquals((await proc.process.status).code, 0);
  } finally {
    for (const c of conns) await c.close();
    await proc.stop();
  }
  assert(proc.output().includes("STOPPED"), proc.output());
  // Nothing listens any more.
  await assertRejects(() => Deno.connect({ hostname: "127.0.0.1", port: proc.port }));
});

Deno.test("serveWorkers: a worker count that is not a positive integer is a RangeError", async () => {
  await assertRejects(
    () => serveWorkers(new URL("./_workers_service.ts", import.meta.url), { workers: 0 }),
    RangeError,
  );
});

Deno.test("serveWorkers: without --unstable-net the program fails and says which flag it needs", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, "-workers", "2"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert(!out.success);
  const text = new TextDecoder().decode(out.stderr);
  assert(text.includes("--unstable-net"), text);
});
