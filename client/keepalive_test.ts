// Client keepalive options and the channel's part of gRFC A8: each connection gets the channel's
// keepalive; after a server's GOAWAY ENHANCE_YOUR_CALM "too_many_pings", new connections get
// twice the time.

import { assert, assertEquals } from "@std/assert";
import { resolveDialOptions } from "./options.ts";
import { channelOf } from "./client_conn.ts";
import { newClient } from "../mod.ts";
import { ServerTransport } from "../transport/http2_server.ts";
import { ErrorCode } from "../transport/frame.ts";
import { SERVER_OPTS, until } from "../transport/_testing.ts";

class CalmingServer extends ServerTransport {
  tooManyPings(): void {
    this.sendGoaway(0, ErrorCode.ENHANCE_YOUR_CALM, "too_many_pings");
  }
}

async function withServer(
  fn: (port: number, servers: CalmingServer[]) => Promise<void>,
): Promise<void> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const servers: CalmingServer[] = [];
  const loop = (async () => {
    for await (const conn of listener) {
      const t = new CalmingServer(conn, SERVER_OPTS, () => {});
      servers.push(t);
      t.begin();
    }
  })();
  try {
    await fn((listener.addr as Deno.NetAddr).port, servers);
  } finally {
    listener.close();
    await loop.catch(() => {});
    for (const t of servers) t.close();
    await Promise.all(servers.map((t) => t.closed));
  }
}

Deno.test("Channel: keepalive time doubles for new connections after GOAWAY too_many_pings, once per connection", async () => {
  await withServer(async (port, servers) => {
    await using conn = newClient(`127.0.0.1:${port}`, {
      keepalive: { timeMs: 10_000, timeoutMs: 1_000 },
    });
    const ch = channelOf(conn);
    assertEquals(ch.keepalive, { timeMs: 10_000, timeoutMs: 1_000, permitWithoutStream: false });
    for (const [round, want] of [[1, 20_000], [2, 40_000]]) {
      conn.connect();
      await until(() => servers.length === round, `connection ${round}`, 5000);
      const server = servers[round - 1];
      await server.handshaked;
      await until(() => conn.getState() === "READY", "READY", 5000);
      server.tooManyPings();
      // The GOAWAY drains the transport, and closing it reports again: counted once.
      await until(() => ch.keepalive.timeMs === want, `keepalive time ${want}`, 5000);
      server.close();
      await server.closed;
      await until(() => conn.getState() !== "READY", "not READY", 5000);
      assertEquals(ch.keepalive.timeMs, want);
    }
  });
});

Deno.test("Channel: without keepalive, too_many_pings changes nothing", async () => {
  await withServer(async (port, servers) => {
    await using conn = newClient(`127.0.0.1:${port}`);
    const ch = channelOf(conn);
    assertEquals(ch.keepalive.timeMs, Infinity);
    conn.connect();
    await until(() => servers.length === 1, "connection", 5000);
    await servers[0].handshaked;
    await until(() => conn.getState() === "READY", "READY", 5000);
    servers[0].tooManyPings();
    await until(() => conn.getState() !== "READY", "GOAWAY seen", 5000);
    assertEquals(ch.keepalive.timeMs, Infinity);
    assert(true);
  });
});

Deno.test("resolveDialOptions: keepalive off by default; timeMs clamped to 10 s; timeout 20 s", () => {
  assertEquals(resolveDialOptions({}).keepalive, {
    timeMs: Infinity,
    timeoutMs: 20_000,
    permitWithoutStream: false,
  });
  assertEquals(resolveDialOptions({ keepalive: { timeMs: 1 } }).keepalive, {
    timeMs: 10_000,
    timeoutMs: 20_000,
    permitWithoutStream: false,
  });
  assertEquals(
    resolveDialOptions({ keepalive: { timeMs: 30_000, timeoutMs: 5, permitWithoutStream: true } })
      .keepalive,
    { timeMs: 30_000, timeoutMs: 5, permitWithoutStream: true },
  );
  for (const bad of [0, -1, NaN]) {
    let threw = false;
    try {
      resolveDialOptions({ keepalive: { timeoutMs: bad } });
    } catch (e) {
      threw = e instanceof RangeError;
    }
    assert(threw, `timeoutMs ${bad}`);
  }
});
