// Connection lifetime on a real link (two network namespaces, kernel TCP, a link emulator in the
// middle; see netlab.sh): dead-peer detection by keepalive when the link is blackholed mid-call,
// connection recycling by maxConnectionAgeMs under load, and window growth (BDP) on a 100 ms
// link against grpc-go in each role. Run by `deno task test:net` (tests/net/run.sh), as root.
//
// These tests assert behaviour. Times are printed (the report and bench/RESULTS.md take them
// from here); the bounds asserted are generous enough for a busy machine, and far below what a
// connection without keepalive would take (TCP gives up on a blackholed peer after ~15 min).

import { assert, assertEquals } from "@std/assert";
import {
  established,
  GO_BIN,
  link,
  NS_CLIENT,
  NS_SERVER,
  NsProc,
  type PeerEvent,
  resetLink,
  SERVER_IP,
  sleep,
  socketTimers,
} from "./_netlab.ts";
import { testCerts } from "../_certs.ts";

const UNAVAILABLE = 14;

/**
 * Polls the established connections of `port` in `ns` and records each one's life (first and
 * last poll that saw it). A peer address that reappears after a gap is a new connection (the
 * client's ephemeral port was reused).
 */
class ConnWatcher {
  readonly lives: { peer: string; first: number; last: number }[] = [];
  readonly #current = new Map<string, { peer: string; first: number; last: number }>();
  #stop = false;
  readonly #done: Promise<void>;

  constructor(ns: string, port: number, everyMs = 200) {
    this.#done = (async () => {
      while (!this.#stop) {
        const now = Date.now();
        for (const peer of await established(ns, port)) {
          const life = this.#current.get(peer);
          if (life !== undefined && now - life.last <= everyMs * 5) {
            life.last = now;
          } else {
            const fresh = { peer, first: now, last: now };
            this.#current.set(peer, fresh);
            this.lives.push(fresh);
          }
        }
        await sleep(everyMs);
      }
    })();
  }

  async stop(): Promise<void> {
    this.#stop = true;
    await this.#done;
  }
}

Deno.test("blackhole mid-call: keepalive 10 s / 1 s fails the call UNAVAILABLE in ~11 s, the server frees the dead connection, the client reconnects when the link returns, nothing is left behind", async () => {
  await resetLink();
  const port = 50061;
  const server = NsProc.peer(NS_SERVER, [
    "server",
    `--addr=${SERVER_IP}:${port}`,
    "--keepalive-time-ms=10000",
    "--keepalive-timeout-ms=1000",
  ]);
  const client = NsProc.peer(NS_CLIENT, [
    "blackhole",
    `--addr=${SERVER_IP}:${port}`,
    "--keepalive-time-ms=10000",
    "--keepalive-timeout-ms=1000",
  ]);
  const watcher = new ConnWatcher(NS_SERVER, port);
  try {
    const ready = await server.next("ready", 30_000);
    await client.next("streaming", 30_000);
    await sleep(1_000);
    const before = await established(NS_SERVER, port);
    assertEquals(before.length, 1, `one connection before the blackhole: ${before}`);
    const t0 = Date.now();
    await link("blackhole 1");

    // The client: no read for 10 s → PING → nothing within 1 s → closed; the call fails.
    const failed = await client.next("failed", 40_000);
    const clientDetect = failed.at! - t0;
    assertEquals(failed.code, UNAVAILABLE, JSON.stringify(failed));
    assert(String(failed.message).includes("keepalive"), String(failed.message));

    // The server: the same on its side (its own keepalive 10 s / 1 s).
    let serverFreedAt = 0;
    for (const end = Date.now() + 40_000; Date.now() < end;) {
      if ((await established(NS_SERVER, port)).length === 0) {
        serverFreedAt = Date.now();
        break;
      }
      await sleep(100);
    }
    assert(serverFreedAt > 0, "the server never freed the dead connection");
    const serverDetect = serverFreedAt - t0;
    console.log(
      `blackhole: client call failed after ${clientDetect} ms, server freed the connection ` +
        `after ${serverDetect} ms (keepalive 10 s + timeout 1 s)`,
    );
    // ~11 s each; a busy machine may add a little; without keepalive neither would happen.
    assert(clientDetect >= 9_000 && clientDetect < 20_000, `client detection ${clientDetect} ms`);
    assert(serverDetect < 25_000, `server detection ${serverDetect} ms`);

    // The link returns: the client's calls wait for READY and get through on a new connection.
    await sleep(2_000);
    const back = Date.now();
    await link("blackhole 0");
    const reconnected = await client.next("reconnected", 60_000);
    console.log(`blackhole: reconnected ${reconnected.at! - back} ms after the link returned`);
    const done = await client.next("done", 30_000);
    // Nothing left behind: the client process ends by itself (no timer, no socket keeps it).
    assert(await client.exited(15_000), "the client process did not end by itself");
    // The server's only connections were the dead one (freed) and the new one (closed by the
    // client): none remains.
    for (const end = Date.now() + 15_000; Date.now() < end;) {
      if ((await established(NS_SERVER, port)).length === 0) break;
      await sleep(100);
    }
    assertEquals(await established(NS_SERVER, port), []);
    server.kill("SIGTERM");
    const stopped = await server.next("stopped", 15_000);
    assert(await server.exited(15_000), "the server process did not end by itself");
    console.log(
      `blackhole: RSS client ${done.rss} MiB; server ${ready.rss} MiB at start, ` +
        `${stopped.rss} MiB at the end`,
    );
  } finally {
    await link("blackhole 0");
    await watcher.stop();
    client.kill("SIGKILL");
    server.kill("SIGKILL");
    await client.exited(5_000);
    await server.exited(5_000);
  }
});

Deno.test("maxConnectionAgeMs with 100 clients: every connection is recycled within age + grace, no call fails", async () => {
  await resetLink();
  const port = 50062;
  const ageMs = 3_000;
  const graceMs = 3_000;
  const durationMs = 15_000;
  const server = NsProc.peer(NS_SERVER, [
    "server",
    `--addr=${SERVER_IP}:${port}`,
    `--max-age-ms=${ageMs}`,
    `--max-age-grace-ms=${graceMs}`,
  ]);
  let watcher: ConnWatcher | null = null;
  let client: NsProc | null = null;
  try {
    await server.next("ready", 30_000);
    watcher = new ConnWatcher(NS_SERVER, port);
    const start = Date.now();
    client = NsProc.peer(NS_CLIENT, [
      "age",
      `--addr=${SERVER_IP}:${port}`,
      "--clients=100",
      `--duration-ms=${durationMs}`,
      "--interval-ms=100",
    ]);
    const done = await client.next("done", durationMs + 60_000);
    const end = Date.now();
    await watcher.stop();
    assert(await client.exited(15_000), "the client process did not end by itself");
    assertEquals(done.failed, 0, `failed calls: ${JSON.stringify(done.errors)}`);
    assert((done.ok as number) > 1000, `only ${done.ok} calls`);
    // Lifetimes as the kernel saw them (polled every 200 ms).
    const lives = watcher.lives.map((s) => s.last - s.first);
    const longest = Math.max(...lives);
    const bound = ageMs * 1.1 + graceMs + 1_500; // + polling and scheduling slack
    console.log(
      `age: ${watcher.lives.length} connections over ${end - start} ms for 100 clients, ` +
        `${done.ok} calls, ${done.failed} failed; longest life ${longest} ms ` +
        `(age ${ageMs} ms ±10% + grace ${graceMs} ms)`,
    );
    const worst = watcher.lives.find((l) => l.last - l.first === longest)!;
    assert(
      longest <= bound,
      `a connection lived ${longest} ms > ${bound} ms: ${worst.peer} seen from ` +
        `${worst.first - start} to ${worst.last - start} ms`,
    );
    // Recycled: each client went through several connections.
    assert(watcher.lives.length >= 300, `only ${watcher.lives.length} connections`);
    server.kill("SIGTERM");
    await server.next("stopped", 15_000);
    assert(await server.exited(15_000), "the server process did not end by itself");
  } finally {
    await watcher?.stop();
    client?.kill("SIGKILL");
    server.kill("SIGKILL");
    await client?.exited(5_000);
    await server.exited(5_000);
  }
});

// The socket of each side of one idle connection shows the kernel's keepalive timer.
async function checkTcpKeepalive(port: number, extra: string[], clientExtra: string[] = []) {
  await resetLink();
  const server = NsProc.peer(NS_SERVER, ["server", `--addr=${SERVER_IP}:${port}`, ...extra]);
  const client = NsProc.peer(NS_CLIENT, [
    "hold",
    `--addr=${SERVER_IP}:${port}`,
    ...extra,
    ...clientExtra,
  ]);
  try {
    await server.next("ready", 30_000);
    await client.next("connected", 30_000);
    // An idle socket with SO_KEEPALIVE shows the kernel's keepalive timer, timer:(keepalive,…);
    // while data waits for its ACK it shows the retransmission timer instead, so poll a little.
    let accepted: string[] = [];
    let dialled: string[] = [];
    for (const end = Date.now() + 10_000; Date.now() < end;) {
      accepted = await socketTimers(NS_SERVER, `( sport = :${port} )`);
      dialled = await socketTimers(NS_CLIENT, `( dport = :${port} )`);
      const on = (l: string[]) => l.length === 1 && l[0].includes("timer:(keepalive");
      if (on(accepted) && on(dialled)) break;
      await sleep(200);
    }
    assertEquals(accepted.length, 1, accepted.join("\n"));
    assertEquals(dialled.length, 1, dialled.join("\n"));
    assert(accepted[0].includes("timer:(keepalive"), `accepted socket: ${accepted[0]}`);
    assert(dialled[0].includes("timer:(keepalive"), `dialled socket: ${dialled[0]}`);
    console.log(`TCP keepalive: accepted ${accepted[0]}\n               dialled ${dialled[0]}`);
    client.kill("SIGTERM");
    await client.next("done", 15_000);
    assert(await client.exited(15_000), "the client process did not end by itself");
    server.kill("SIGTERM");
    await server.next("stopped", 15_000);
    assert(await server.exited(15_000), "the server process did not end by itself");
  } finally {
    client.kill("SIGKILL");
    server.kill("SIGKILL");
    await client.exited(5_000);
    await server.exited(5_000);
  }
}

Deno.test("TCP keepalive is on for accepted and dialled sockets (OS intervals, as grpc-go): plaintext, TLS, mutual TLS", async (t) => {
  await t.step("plaintext", () => checkTcpKeepalive(50063, []));
  const certs = await testCerts();
  // Server: node:tls; client: Deno.connect + Deno.startTls.
  await t.step("TLS", () => checkTcpKeepalive(50064, [`--tls-dir=${certs.dir}`]));
  // Client with a certificate: node:tls on both sides.
  await t.step(
    "mutual TLS",
    () => checkTcpKeepalive(50065, [`--tls-dir=${certs.dir}`], ["--mtls"]),
  );
});

// ---- BDP on a long fat link ------------------------------------------------------------------

const SIZE = 64 * 1024 * 1024;
type Impl = "ours" | "grpc-go";

function startServer(impl: Impl, port: number): NsProc {
  const addr = `--addr=${SERVER_IP}:${port}`;
  return impl === "ours"
    ? NsProc.peer(NS_SERVER, ["server", addr])
    : new NsProc(NS_SERVER, "grpc-go server", [`${GO_BIN}/netserver`, addr]);
}

function startClient(impl: Impl, mode: "upload" | "download", port: number): NsProc {
  const addr = `--addr=${SERVER_IP}:${port}`;
  return impl === "ours"
    ? NsProc.peer(NS_CLIENT, [mode, addr, `--size=${SIZE}`])
    : new NsProc(NS_CLIENT, "grpc-go client", [
      `${GO_BIN}/netclient`,
      `-mode=${mode}`,
      addr,
      `-size=${SIZE}`,
    ]);
}

Deno.test("BDP on a 100 ms RTT link: 64 MiB upload and download, ours and grpc-go in each role; the windows grow past 64 KiB", async () => {
  await resetLink(50);
  const rows: string[] = [];
  const pairs: [Impl, Impl][] = [
    ["ours", "grpc-go"],
    ["grpc-go", "ours"],
    ["ours", "ours"],
    ["grpc-go", "grpc-go"],
  ];
  let port = 50070;
  const stoppedByItself: boolean[] = [];
  const smallWindows: string[] = [];
  try {
    for (const [clientImpl, serverImpl] of pairs) {
      port++;
      const server = startServer(serverImpl, port);
      try {
        await server.next(serverImpl === "ours" ? "ready" : "*", 30_000);
        for (const mode of ["upload", "download"] as const) {
          await link("reset");
          const client = startClient(clientImpl, mode, port);
          let r: PeerEvent;
          try {
            r = await client.next("*", 300_000);
            assert(await client.exited(30_000), `${clientImpl} ${mode} client did not end`);
          } finally {
            client.kill("SIGKILL");
            await client.exited(5_000);
          }
          assertEquals(r.bytes, SIZE, `${clientImpl} → ${serverImpl} ${mode}: ${client.stderr}`);
          const peaks = Object.values((await link("stats")).peakInFlight as Record<string, number>);
          const peak = Math.max(0, ...peaks);
          // The receiver's windows must have grown far past the 64 KiB start (which allows
          // 64 KiB in flight per 100 ms round trip, ~0.6 MiB/s) toward the 16 MiB BDP cap.
          if (peak <= 4 * 1024 * 1024) {
            smallWindows.push(`${clientImpl} → ${serverImpl} ${mode}: peak in flight ${peak} B`);
          }
          rows.push(
            `| ${mode} | ${clientImpl} → ${serverImpl} | ${(r.mibps as number).toFixed(1)} | ` +
              `${((r.ms as number) / 1000).toFixed(2)} | ${(peak / 1048576).toFixed(1)} |`,
          );
        }
      } finally {
        server.kill("SIGTERM");
        stoppedByItself.push(await server.exited(15_000));
      }
    }
  } finally {
    await resetLink();
  }
  console.log(
    [
      "| direction | client → server | MiB/s | seconds | peak in flight (MiB) |",
      "| --- | --- | --- | --- | --- |",
      ...rows,
    ].join("\n"),
  );
  assert(stoppedByItself.every((x) => x), `a server did not stop on SIGTERM: ${stoppedByItself}`);
  assertEquals(smallWindows, [], "windows that did not grow");
});
