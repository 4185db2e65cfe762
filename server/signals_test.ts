// gracefulStop's bound (timeout, signal) and stopOnSignals, against a real loopback client: a
// Watch-like stream that never ends must not keep the server from stopping.
//
//   deno test -A --sanitize-ops --sanitize-resources server/signals_test.ts

import { assert, assertEquals, assertRejects, assertThrows } from "@std/assert";
import {
  type ClientConn,
  Code,
  createClient,
  dial,
  insecure,
  loadProto,
  Server,
  type ServerContext,
  type ServerStreamingMethod,
  StatusError,
  stopOnSignals,
} from "@seed/grpc";
import { until } from "../transport/_testing.ts";

const services = await loadProto({
  source: `syntax = "proto3"; package w;
    service W { rpc Watch (M) returns (stream M); }
    message M { string v = 1; }`,
});
const watchService = services["w.W"];

interface WatchClient {
  watch: ServerStreamingMethod<{ v: string }, { v: string }>;
}

interface Running {
  server: Server;
  serving: Promise<void>;
  conn: ClientConn;
  /** Each Watch handler's ctx.signal, once it runs. */
  signals: AbortSignal[];
  /** The client's view of the Watch stream: its first message, then its end. */
  watch: { first: Promise<unknown>; end: Promise<unknown> };
}

// A server whose Watch sends one message and then waits for ever (until ctx.signal aborts).
async function startWatch(): Promise<Running> {
  const signals: AbortSignal[] = [];
  const server = new Server();
  server.addService(watchService, {
    async *watch(req: { v: string }, ctx: ServerContext) {
      signals.push(ctx.signal);
      yield req;
      await new Promise((r) => ctx.signal.addEventListener("abort", r, { once: true }));
    },
  });
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const serving = server.serve(listener);
  const conn = await dial(`127.0.0.1:${listener.addr.port}`, { credentials: insecure() });
  const client = createClient<WatchClient>(watchService, conn);
  const it = client.watch({ v: "x" })[Symbol.asyncIterator]();
  const first = it.next();
  const end = first.then(() => it.next()).then((r) => r, (e) => e);
  return { server, serving, conn, signals, watch: { first, end } };
}

Deno.test("Server.gracefulStop({ timeoutMs }) cancels a stream that never ends, then resolves", async () => {
  const r = await startWatch();
  try {
    await r.watch.first;
    await r.server.gracefulStop({ timeoutMs: 50 });
    await r.serving;
    assertEquals(r.signals.length, 1);
    assert(r.signals[0].aborted, "the handler's ctx.signal did not abort");
    const end = await r.watch.end;
    assert(end instanceof StatusError, `the stream ended with ${end}`);
    assertEquals((end as StatusError).code, Code.Unavailable);
  } finally {
    await r.conn.close();
    await r.server.stop();
  }
});

Deno.test("Server.gracefulStop({ signal }) is cut short when the signal aborts (or already has)", async () => {
  for (const already of [false, true]) {
    const r = await startWatch();
    try {
      await r.watch.first;
      const ac = new AbortController();
      if (already) ac.abort();
      let stopped = false;
      const stopping = r.server.gracefulStop({ signal: ac.signal }).then(() => stopped = true);
      if (!already) {
        // Still draining: the stream is open and its handler running.
        for (let i = 0; i < 20; i++) await new Promise((res) => setTimeout(res, 0));
        assert(!stopped && !r.signals[0].aborted, "stopped before the signal");
        ac.abort();
      }
      await stopping;
      await r.serving;
      assert(r.signals[0].aborted);
      assert((await r.watch.end) instanceof StatusError);
    } finally {
      await r.conn.close();
      await r.server.stop();
    }
  }
});

Deno.test("Server.gracefulStop() refuses a bad timeoutMs", async () => {
  const server = new Server();
  await assertRejects(() => server.gracefulStop({ timeoutMs: -1 }), RangeError, "timeoutMs");
  await server.stop();
});

Deno.test("stopOnSignals(): the first signal drains (bounded), a second stops now", async () => {
  // The first signal starts a drain bounded by an hour: only the second signal can end it.
  const r = await startWatch();
  const remove = stopOnSignals(r.server, { signals: ["SIGUSR2"], timeoutMs: 3_600_000 });
  try {
    await r.watch.first;
    let stopped = false;
    r.serving.then(() => stopped = true);
    Deno.kill(Deno.pid, "SIGUSR2");
    // The drain has begun: the server sent GOAWAY, so a new call on this connection fails...
    await until(() => r.conn.getState() !== "READY", "the drain's GOAWAY to reach the client");
    assert(!stopped && !r.signals[0].aborted, "the first signal did more than drain");
    Deno.kill(Deno.pid, "SIGUSR2");
    await r.serving;
    assert(r.signals[0].aborted, "the second signal did not cancel the running stream");
    assertEquals(((await r.watch.end) as StatusError).code, Code.Unavailable);
  } finally {
    remove();
    await r.conn.close();
    await r.server.stop();
  }
});

Deno.test("stopOnSignals() refuses a bad timeoutMs and removes its listeners when asked", () => {
  const server = new Server();
  assertThrows(() => stopOnSignals(server, { timeoutMs: NaN }), RangeError, "timeoutMs");
  const remove = stopOnSignals(server, { signals: ["SIGUSR2"] });
  remove();
  remove(); // twice is harmless
});
