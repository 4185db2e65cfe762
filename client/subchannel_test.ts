// Subchannel keepalive (gRFC A8): each connection gets the dial option's keepalive; after the
// server's GOAWAY ENHANCE_YOUR_CALM "too_many_pings", new connections get twice the time.

import { assert, assertEquals } from "@std/assert";
import { Subchannel } from "./subchannel.ts";
import { resolveDialOptions } from "./options.ts";
import { parseTarget } from "./dialer.ts";
import { ServerTransport } from "../transport/http2_server.ts";
import { ErrorCode } from "../transport/frame.ts";
import { SERVER_OPTS, until } from "../transport/_testing.ts";
import type { ClientTransport } from "../transport/http2_client.ts";
import { StatusError } from "../status.ts";

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

function readyOnce(sc: Subchannel): Promise<ClientTransport> {
  return new Promise((resolve, reject) => {
    sc.listener = { onReady: resolve, onFailure: reject, hasWaiting: () => true };
    sc.connect();
  });
}

Deno.test("Subchannel: keepalive time doubles for new connections after GOAWAY too_many_pings", async () => {
  await withServer(async (port, servers) => {
    const opts = resolveDialOptions({ keepalive: { timeMs: 10_000, timeoutMs: 1_000 } });
    const sc = new Subchannel(parseTarget(`127.0.0.1:${port}`), opts);
    try {
      assertEquals(sc.keepalive, { timeMs: 10_000, timeoutMs: 1_000, permitWithoutStream: false });
      const t1 = await readyOnce(sc);
      await until(() => servers.length === 1 && servers[0].handshaked !== undefined, "server");
      await servers[0].handshaked;
      servers[0].tooManyPings();
      await until(() => t1.draining, "GOAWAY seen");
      assert(t1.tooManyPings);
      assertEquals(sc.keepalive.timeMs, 20_000);
      // Once per connection, whatever number of events (GOAWAY, then close) report it.
      t1.close();
      await t1.closed;
      assertEquals(sc.keepalive.timeMs, 20_000);
      // And again on the next connection.
      const t2 = await readyOnce(sc);
      await until(() => servers.length === 2, "second connection");
      await servers[1].handshaked;
      servers[1].tooManyPings();
      await until(() => t2.draining, "second GOAWAY");
      assertEquals(sc.keepalive.timeMs, 40_000);
    } finally {
      await sc.shutdown(new StatusError(1, "test over"));
    }
  });
});

Deno.test("Subchannel: without keepalive, too_many_pings changes nothing", async () => {
  await withServer(async (port, servers) => {
    const sc = new Subchannel(parseTarget(`127.0.0.1:${port}`), resolveDialOptions({}));
    try {
      assertEquals(sc.keepalive.timeMs, Infinity);
      const t = await readyOnce(sc);
      await until(() => servers.length === 1, "server");
      await servers[0].handshaked;
      servers[0].tooManyPings();
      await until(() => t.draining, "GOAWAY seen");
      assertEquals(sc.keepalive.timeMs, Infinity);
    } finally {
      await sc.shutdown(new StatusError(1, "test over"));
    }
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
