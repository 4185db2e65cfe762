import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { FakeClock } from "../internal/_fake_clock.ts";
import { dnsResolver } from "./dns.ts";
import { parseTarget } from "./resolver.ts";
import { RecordingCC } from "./_testing.ts";

interface Query {
  name: string;
  type: string;
  nameServer?: { ipAddr: string; port?: number };
  signal?: AbortSignal;
}

/** A fake Deno.resolveDns: answers from `records`, logs queries, can hang or fail. */
class FakeDns {
  records = new Map<string, string[] | string[][] | Error>();
  queries: Query[] = [];
  hang = false;

  resolveDns = ((name: string, type: string, opts?: Deno.ResolveDnsOptions) => {
    this.queries.push({ name, type, nameServer: opts?.nameServer, signal: opts?.signal });
    if (this.hang) {
      return new Promise((_, reject) => {
        opts?.signal?.addEventListener("abort", () => reject(opts.signal!.reason));
      });
    }
    const r = this.records.get(`${type} ${name}`);
    if (r instanceof Error) return Promise.reject(r);
    if (r === undefined) return Promise.reject(new Deno.errors.NotFound("no records found"));
    return Promise.resolve(r);
  }) as typeof Deno.resolveDns;
}

function start(raw: string, dns: FakeDns, clock: FakeClock, serviceConfigLookup = false) {
  const { target } = parseTarget(raw);
  const cc = new RecordingCC();
  const factory = dnsResolver({ clock, resolveDns: dns.resolveDns, timeoutMs: 5000 });
  const r = factory(target, cc, { serviceConfigLookup });
  return { cc, r };
}

const tick = () => new Promise((r) => setTimeout(r, 0));

Deno.test("dns resolver: IP literals never touch DNS", () => {
  const dns = new FakeDns();
  const clock = new FakeClock();
  for (
    const [raw, addr] of [
      ["127.0.0.1:50051", "127.0.0.1:50051"],
      ["dns:///[::1]:80", "[::1]:80"],
      ["10.1.2.3", "10.1.2.3:443"],
    ]
  ) {
    const { cc, r } = start(raw, dns, clock);
    assertEquals(cc.states, [{ addresses: [{ addr }] }]);
    r.resolveNow();
    r.close();
  }
  assertEquals(dns.queries, []);
  assertEquals(clock.pending, 0);
});

Deno.test("dns resolver: A then AAAA records, the authority as name server", async () => {
  const dns = new FakeDns();
  dns.records.set("A svc.test", ["127.0.0.2", "127.0.0.3"]);
  dns.records.set("AAAA svc.test", ["::1"]);
  const clock = new FakeClock();
  const { cc, r } = start("dns://127.0.0.1:5353/svc.test:8080", dns, clock);
  await tick();
  assertEquals(cc.states, [{
    addresses: [{ addr: "127.0.0.2:8080" }, { addr: "127.0.0.3:8080" }, { addr: "[::1]:8080" }],
  }]);
  assertEquals(dns.queries.map((q) => `${q.type} ${q.name}`), ["A svc.test", "AAAA svc.test"]);
  assertEquals(dns.queries[0].nameServer, { ipAddr: "127.0.0.1", port: 5353 });
  r.close();
  assertEquals(clock.pending, 0);
});

Deno.test("dns resolver: a missing family is fine, both missing is an error", async () => {
  const dns = new FakeDns();
  dns.records.set("AAAA six.test", ["fe80::1"]);
  const clock = new FakeClock();
  const six = start("dns:///six.test", dns, clock);
  await tick();
  assertEquals(six.cc.states, [{ addresses: [{ addr: "[fe80::1]:443" }] }]);
  six.r.close();
  const none = start("dns:///none.test:1", dns, clock);
  await tick();
  assertEquals(none.cc.states, []);
  assertStringIncludes(none.cc.errors[0].message, 'cannot resolve "none.test"');
  none.r.close();
});

Deno.test("dns resolver: re-resolution at most every 30 s, one pending request", async () => {
  const dns = new FakeDns();
  dns.records.set("A svc.test", ["127.0.0.2"]);
  const clock = new FakeClock();
  const { cc, r } = start("svc.test:1", dns, clock);
  await tick();
  assertEquals(cc.states.length, 1);
  r.resolveNow();
  r.resolveNow();
  await tick();
  assertEquals(cc.states.length, 1); // too soon: waits for the interval
  clock.advance(29_999);
  await tick();
  assertEquals(cc.states.length, 1);
  dns.records.set("A svc.test", ["127.0.0.4"]);
  clock.advance(1);
  await tick();
  assertEquals(cc.states.length, 2);
  assertEquals(cc.states[1].addresses, [{ addr: "127.0.0.4:1" }]);
  // Long after the last lookup, a request is served at once.
  clock.advance(60_000);
  r.resolveNow();
  await tick();
  assertEquals(cc.states.length, 3);
  r.close();
  assertEquals(clock.pending, 0);
});

Deno.test("dns resolver: a failed lookup is reported, retried with backoff", async () => {
  const dns = new FakeDns();
  dns.records.set("A svc.test", ["127.0.0.2"]);
  const clock = new FakeClock();
  const { cc, r } = start("svc.test:1", dns, clock);
  await tick();
  dns.records.set("A svc.test", new Error("SERVFAIL"));
  clock.advance(30_000);
  r.resolveNow();
  await tick();
  assertEquals(cc.states.length, 1); // the old addresses stand (the channel keeps them)
  assertEquals(cc.errors.length, 1);
  assertStringIncludes(cc.errors[0].message, "SERVFAIL");
  dns.records.set("A svc.test", ["127.0.0.9"]);
  clock.advance(999);
  await tick();
  assertEquals(cc.states.length, 1);
  clock.advance(1); // backoffDelay(0) = 1 s
  await tick();
  assertEquals(cc.states.length, 2);
  assertEquals(cc.states[1].addresses, [{ addr: "127.0.0.9:1" }]);
  r.close();
});

Deno.test("dns resolver: a hung name server times out", async () => {
  const dns = new FakeDns();
  dns.hang = true;
  const clock = new FakeClock();
  const { cc, r } = start("dns://127.0.0.1:1/svc.test:1", dns, clock);
  await tick();
  assertEquals(cc.errors.length, 0);
  clock.advance(5000);
  await tick();
  assertEquals(cc.errors.length, 1);
  assertStringIncludes(cc.errors[0].message, "timed out after 5000 ms");
  assert(dns.queries.every((q) => q.signal?.aborted));
  r.close();
  assertEquals(clock.pending, 0);
});

Deno.test("dns resolver: TXT grpc_config only when enabled", async () => {
  const dns = new FakeDns();
  dns.records.set("A svc.test", ["127.0.0.2"]);
  dns.records.set("TXT _grpc_config.svc.test", [
    ["v=spf1"],
    ['grpc_config=[{"serviceConfig":{"loadBalancingPolicy":', '"round_robin"}}]'],
  ]);
  const clock = new FakeClock();
  const off = start("svc.test:1", dns, clock);
  await tick();
  assertEquals(off.cc.states, [{ addresses: [{ addr: "127.0.0.2:1" }] }]);
  assert(!dns.queries.some((q) => q.type === "TXT"));
  off.r.close();
  const on = start("svc.test:1", dns, clock, true);
  await tick();
  assertEquals(on.cc.states, [{
    addresses: [{ addr: "127.0.0.2:1" }],
    serviceConfig: '{"loadBalancingPolicy":"round_robin"}',
  }]);
  on.r.close();
  // A malformed record is passed on as an error (the channel keeps its previous config).
  dns.records.set("TXT _grpc_config.svc.test", [["grpc_config=[{"]]);
  const bad = start("svc.test:1", dns, clock, true);
  await tick();
  assert(bad.cc.states[0].serviceConfig instanceof Error);
  bad.r.close();
});

Deno.test("dns resolver: the authority must be an IP address", () => {
  const dns = new FakeDns();
  const { target } = parseTarget("dns://ns.example/svc.test");
  const f = dnsResolver({ resolveDns: dns.resolveDns });
  let err: unknown;
  try {
    f(target, new RecordingCC(), {});
  } catch (e) {
    err = e;
  }
  assert(err instanceof TypeError);
  assertStringIncludes((err as TypeError).message, "expected an IP address");
});

Deno.test("dns resolver: no permission for the system name server → the name goes to connect", async () => {
  const dns = new FakeDns();
  dns.records.set("A svc.test", new Deno.errors.NotCapable("Requires net access"));
  dns.records.set("AAAA svc.test", new Deno.errors.NotCapable("Requires net access"));
  const clock = new FakeClock();
  const sys = start("svc.test:1", dns, clock);
  await tick();
  assertEquals(sys.cc.states, [{ addresses: [{ addr: "svc.test:1" }] }]);
  sys.r.close();
  // With a name server named in the target, the error stands.
  const named = start("dns://127.0.0.1:53/svc.test:1", dns, clock);
  await tick();
  assertEquals(named.cc.states, []);
  assertStringIncludes(named.cc.errors[0].message, "Requires net access");
  named.r.close();
});
