// The dns resolver against a real DNS server: dnsmasq (Debian dnsmasq-base; .ci/run installs
// it) on a loopback port serves a name with several 127.0.0.x addresses; the channel reaches it
// through the target's authority (`dns://127.0.0.1:PORT/name:port`), balances round_robin over
// every address, and follows a change of the records (SIGHUP reloads them) after re-resolution.

import { assert, assertEquals } from "@std/assert";
import { dnsResolver, newClient } from "../mod.ts";
import type { ClientConn } from "../client/client_conn.ts";
import { Backend, WHO } from "./_backends.ts";
import { freePort } from "./_procs.ts";

const NAME = "svc.grpc.test";

class Dnsmasq implements AsyncDisposable {
  readonly port: number;
  readonly #dir: string;
  readonly #child: Deno.ChildProcess;
  readonly #output: Promise<string>;

  private constructor(port: number, dir: string, child: Deno.ChildProcess) {
    this.port = port;
    this.#dir = dir;
    this.#child = child;
    this.#output = child.output().then((o) => new TextDecoder().decode(o.stderr));
  }

  static async start(ips: string[], txt?: string): Promise<Dnsmasq> {
    const dir = await Deno.makeTempDir();
    await Deno.chmod(dir, 0o755);
    await Dnsmasq.#writeHosts(dir, ips);
    const port = freePort();
    const child = new Deno.Command("dnsmasq", {
      args: [
        "--keep-in-foreground",
        "--conf-file=/dev/null",
        "--no-resolv",
        "--no-hosts",
        "--bind-interfaces",
        "--listen-address=127.0.0.1",
        `--port=${port}`,
        `--addn-hosts=${dir}/hosts`,
        "--pid-file=",
        "--user=root",
        "--log-facility=-",
        ...(txt === undefined ? [] : [`--txt-record=_grpc_config.${NAME},${txt}`]),
      ],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const d = new Dnsmasq(port, dir, child);
    // Ready once it answers.
    const end = Date.now() + 20_000;
    for (;;) {
      try {
        const a = await Deno.resolveDns(NAME, "A", {
          nameServer: { ipAddr: "127.0.0.1", port },
          signal: AbortSignal.timeout(1000),
        });
        if (a.length > 0) break;
      } catch (err) {
        if (Date.now() > end) {
          await d[Symbol.asyncDispose]();
          throw new Error(`dnsmasq did not answer: ${err}; ${await d.#output}`);
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    return d;
  }

  static async #writeHosts(dir: string, ips: string[]): Promise<void> {
    await Deno.writeTextFile(`${dir}/hosts`, ips.map((ip) => `${ip} ${NAME}\n`).join(""));
    await Deno.chmod(`${dir}/hosts`, 0o644);
  }

  /** New records; SIGHUP makes dnsmasq clear its cache and re-read the hosts file. */
  async setRecords(ips: string[]): Promise<void> {
    await Dnsmasq.#writeHosts(this.#dir, ips);
    this.#child.kill("SIGHUP");
    const want = [...ips].sort().join(",");
    const end = Date.now() + 20_000;
    for (;;) {
      const got = await Deno.resolveDns(NAME, "A", {
        nameServer: { ipAddr: "127.0.0.1", port: this.port },
      }).catch(() => []);
      if (got.sort().join(",") === want) return;
      if (Date.now() > end) throw new Error(`dnsmasq still answers ${got}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    try {
      this.#child.kill("SIGTERM");
    } catch {
      // exited already
    }
    await this.#output;
    await Deno.remove(this.#dir, { recursive: true });
  }
}

/** Backends on 127.0.0.2, .3, … all on one port (the DNS answer carries no port). */
function backendsOnOnePort(hosts: string[]): Backend[] {
  for (let attempt = 0; attempt < 20; attempt++) {
    const out: Backend[] = [];
    try {
      for (const h of hosts) {
        out.push(new Backend(h, out[0]?.port ?? 0, { hostname: h }));
      }
      return out;
    } catch (err) {
      for (const b of out) b.stop().catch(() => {});
      if (!(err instanceof Deno.errors.AddrInUse)) throw err;
    }
  }
  throw new Error("no common free port");
}

async function countCalls(conn: ClientConn, n: number): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const who = await conn.invoke(WHO, "x", { waitForReady: true });
    out[who] = (out[who] ?? 0) + 1;
  }
  return out;
}

async function settle(conn: ClientConn, names: string[]): Promise<void> {
  const seen = new Set<string>();
  const end = Date.now() + 30_000;
  while (!names.every((n) => seen.has(n))) {
    if (Date.now() > end) throw new Error(`no answer from all of ${names}: saw ${[...seen]}`);
    seen.add(await conn.invoke(WHO, "warm", { waitForReady: true }));
    await new Promise((r) => setTimeout(r, 5));
  }
}

Deno.test("dns resolver + dnsmasq: round_robin over every A record, follows a record change", async () => {
  const hosts = ["127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"];
  const [b2, b3, b4, b5] = backendsOnOnePort(hosts);
  const port = b2.port;
  await using dns = await Dnsmasq.start(["127.0.0.2", "127.0.0.3", "127.0.0.4"]);
  try {
    await using conn = newClient(`dns://127.0.0.1:${dns.port}/${NAME}:${port}`, {
      defaultServiceConfig: { loadBalancingConfig: [{ round_robin: {} }] },
      // Re-resolution as soon as asked (the default waits 30 s between lookups).
      resolvers: { dns: dnsResolver({ minResolutionIntervalMs: 50 }) },
      backoff: { baseDelayMs: 50, maxDelayMs: 200 },
    });
    assertEquals(conn.getState(), "IDLE");
    await settle(conn, ["127.0.0.2", "127.0.0.3", "127.0.0.4"]);
    assertEquals(await countCalls(conn, 300), {
      "127.0.0.2": 100,
      "127.0.0.3": 100,
      "127.0.0.4": 100,
    });
    // .4 leaves the records and .5 joins; .4's server stops, so the channel loses a
    // connection, asks for re-resolution, and moves to the new list.
    await dns.setRecords(["127.0.0.2", "127.0.0.3", "127.0.0.5"]);
    await b4.gracefulStop();
    await settle(conn, ["127.0.0.2", "127.0.0.3", "127.0.0.5"]);
    const spread = await countCalls(conn, 30);
    // Every backend of the new list, none of the old one. The spread is even up to one call:
    // a subchannel update left over from the change (the stopped backend's subchannel going
    // away) may rebuild the picker mid-count, and a new round_robin picker starts at a random
    // backend (grpc-go rrPicker), so one backend can get a call more than another.
    assertEquals(Object.keys(spread).sort(), ["127.0.0.2", "127.0.0.3", "127.0.0.5"]);
    for (const n of Object.values(spread)) assert(n >= 9 && n <= 11, JSON.stringify(spread));
  } finally {
    await Promise.all([b2.stop(), b3.stop(), b5.stop()]);
    await b4.stop().catch(() => {});
  }
});

Deno.test("dns resolver + dnsmasq: the TXT grpc_config service config, only when enabled (gRFC A2)", async () => {
  const hosts = ["127.0.0.2", "127.0.0.3"];
  const backends = backendsOnOnePort(hosts);
  const port = backends[0].port;
  // No commas: dnsmasq splits TXT strings at commas (and our resolver joins the strings).
  const txt = 'grpc_config=[{"serviceConfig":{"loadBalancingPolicy":"round_robin"}}]';
  await using dns = await Dnsmasq.start(hosts, txt);
  try {
    const target = `dns://127.0.0.1:${dns.port}/${NAME}:${port}`;
    await using on = newClient(target, { serviceConfigLookup: true });
    await settle(on, hosts);
    assertEquals(await countCalls(on, 20), { "127.0.0.2": 10, "127.0.0.3": 10 });
    // Without serviceConfigLookup the record is not read: pick_first, one backend.
    await using off = newClient(target);
    const spread = await countCalls(off, 20);
    assertEquals(Object.values(spread), [20]);
  } finally {
    await Promise.all(backends.map((b) => b.stop()));
  }
});
