// Per-call garbage must die young, also after a full GC. What survives a scavenge is copied and
// promoted, then paid for again by the next full GC: after the first full GC of a run, ~4 MB of
// every scavenge at unary 1×64 used to survive (a chain of obsolete Map tables, see
// transport/stream_map.ts), hence 6-40 ms scavenge pauses and a full GC every ~0.8 s
// (bench/RESULTS.md, "GC"). Counted from the server's own V8 GC trace, so the figure does not
// depend on the machine's speed. The calls come from this process over one connection, the
// raw client transport, so only the server is measured.

import { assert } from "@std/assert";
import { startReady } from "./_procs.ts";
import { ClientTransport } from "../transport/http2_client.ts";
import { DEFAULT_TRANSPORT_OPTIONS } from "../transport/options.ts";
import { req } from "../transport/_testing.ts";

const CALLS = 10_000;
// bench.Payload{body: 100 bytes}
const PAYLOAD = new Uint8Array(102);
PAYLOAD.set([0x0a, 100]);

// `n` unary calls, 64 in flight, each with a deadline: the Go load generator's unary_1x64.
async function unaryCalls(t: ClientTransport, n: number): Promise<void> {
  const headers = req("/bench.Bench/Unary", ["grpc-timeout", "10S"]);
  let started = 0;
  const worker = async () => {
    while (started < n) {
      started++;
      const s = await t.newStream(headers);
      await s.sendMsg(PAYLOAD, false, true);
      assert(await s.recvMsg() !== null, "no response");
      while (await s.recvMsg() !== null) { /* until the trailers */ }
    }
  };
  await Promise.all(Array.from({ length: 64 }, worker));
}

// A ClientStream call: the probe server forces a full GC, a mark in its trace.
async function mark(t: ClientTransport): Promise<void> {
  const s = await t.newStream(req("/bench.Bench/ClientStream"));
  s.closeSend();
  while (await s.recvMsg() !== null) { /* the reply, then the trailers */ }
}

Deno.test("server: a call's objects do not survive scavenges after a full GC (bytes promoted per call)", async () => {
  const server = await startReady(Deno.execPath(), [
    "run",
    "-A",
    "--v8-flags=--expose-gc,--trace-gc-nvp",
    new URL("./_gc_probe.ts", import.meta.url).pathname,
  ]);
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  const t = new ClientTransport(conn, DEFAULT_TRANSPORT_OPTIONS);
  t.begin();
  try {
    await unaryCalls(t, 2_000); // warm-up: compiled code, grown buffers
    await mark(t);
    await unaryCalls(t, CALLS);
    await mark(t);
  } finally {
    t.close();
    await t.closed;
    await server.stop();
  }
  const events: { gc: string; reason: string; promoted?: number }[] = [];
  for (const m of server.output().matchAll(/GC: (\{.*\})/g)) events.push(JSON.parse(m[1]));
  const marks = events.flatMap((e, i) => (e.reason === "testing" ? [i] : []));
  assert(marks.length === 2, `expected two forced GCs in the trace, got ${marks.length}`);
  const scavenges = events.slice(marks[0] + 1, marks[1]).filter((e) => e.gc === "s");
  assert(scavenges.length >= 5, `only ${scavenges.length} scavenges between the marks`);
  const perCall = scavenges.reduce((n, e) => n + (e.promoted ?? 0), 0) / CALLS;
  // Measured: 3-7 B per call; 460-520 B with a Map for the streams (the same client and run).
  assert(
    perCall < 100,
    `${perCall.toFixed(0)} B promoted per call (${scavenges.length} scavenges)`,
  );
});
