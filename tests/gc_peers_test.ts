// Per-call garbage must die young. What survives a scavenge is copied and promoted, and is then
// paid for again by the next full GC: at unary 64 in flight under h2load or the Go load
// generator, ~650 B of every call surviving meant 6-40 ms scavenge pauses and a full GC every few
// hundred milliseconds (bench/RESULTS.md, "GC"). Counted from the server's own V8 GC trace, so
// the figure does not depend on the machine's speed. h2load drives the load (needs it on PATH,
// like h2_peers_test.ts): that traffic is what showed the leak, where our own client's did not.

import { assert } from "@std/assert";
import { startReady } from "./_procs.ts";
import { ClientTransport } from "../transport/http2_client.ts";
import { DEFAULT_TRANSPORT_OPTIONS } from "../transport/connection.ts";
import { req } from "../transport/_testing.ts";

const CALLS = 200_000;

// bench.Payload{body: 100 bytes} as a gRPC message, for h2load -d.
async function requestBody(): Promise<string> {
  const path = await Deno.makeTempFile({ suffix: ".bin" });
  const body = new Uint8Array(5 + 102);
  body.set([0, 0, 0, 0, 102, 0x0a, 100]);
  await Deno.writeFile(path, body);
  return path;
}

async function h2load(port: number, calls: number, body: string): Promise<void> {
  const out = await new Deno.Command("h2load", {
    args: [
      "-n",
      String(calls),
      "-c",
      "1",
      "-m",
      "64",
      "-d",
      body,
      "-H",
      "content-type: application/grpc",
      "-H",
      "te: trailers",
      `http://127.0.0.1:${port}/bench.Bench/Unary`,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  assert(out.success && text.includes(`${calls} succeeded`), `h2load:\n${text}`);
}

// A ClientStream call: the probe server forces a scavenge, a mark in its trace.
async function mark(port: number): Promise<void> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const t = new ClientTransport(conn, DEFAULT_TRANSPORT_OPTIONS);
  t.begin();
  try {
    const s = await t.newStream(req("/bench.Bench/ClientStream"));
    s.closeSend();
    while (await s.recvMsg() !== null) { /* the reply, then the trailers */ }
  } finally {
    t.close();
    await t.closed;
  }
}

Deno.test("server: unary calls' objects do not survive scavenges under h2load (bytes promoted per call)", async () => {
  const server = await startReady(Deno.execPath(), [
    "run",
    "-A",
    "--v8-flags=--expose-gc,--trace-gc-nvp",
    new URL("./_gc_probe.ts", import.meta.url).pathname,
  ]);
  const body = await requestBody();
  try {
    await h2load(server.port, 50_000, body); // warm-up: compiled code, grown buffers
    await mark(server.port);
    await h2load(server.port, CALLS, body);
    await mark(server.port);
  } finally {
    await server.stop();
    await Deno.remove(body);
  }
  const events: { gc: string; reason: string; promoted?: number }[] = [];
  for (const m of server.output().matchAll(/GC: (\{.*\})/g)) events.push(JSON.parse(m[1]));
  const marks = events.flatMap((e, i) => (e.reason === "testing" ? [i] : []));
  assert(marks.length === 2, `expected two forced scavenges in the trace, got ${marks.length}`);
  const scavenges = events.slice(marks[0] + 1, marks[1]).filter((e) => e.gc === "s");
  assert(scavenges.length >= 5, `only ${scavenges.length} scavenges between the marks`);
  const perCall = scavenges.reduce((n, e) => n + (e.promoted ?? 0), 0) / CALLS;
  // Measured: ~4 B per call; ~650 B when a closure per call kept every call alive.
  assert(
    perCall < 100,
    `${perCall.toFixed(0)} B promoted per call (${scavenges.length} scavenges)`,
  );
});
