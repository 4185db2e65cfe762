// The channel end to end over loopback: resolvers, round_robin and pick_first across several
// in-process servers, the connectivity API, idleness (with a fake clock), service config per
// method, client-side health checking and an HTTP CONNECT proxy.

import {
  assert,
  assertEquals,
  assertRejects,
  assertStringIncludes,
  assertThrows,
} from "@std/assert";
import {
  Code,
  type ConnectivityState,
  type DialOptions,
  ManualResolver,
  newClient,
  registerBalancer,
  StatusError,
  type SubConn,
} from "../mod.ts";
import type { ClientConn } from "../client/client_conn.ts";
import type { InternalDialOptions } from "../client/options.ts";
import { FakeClock } from "../internal/_fake_clock.ts";
import { Backend, ConnectProxy, waitUntil, WHO } from "./_backends.ts";

const RR = { loadBalancingConfig: [{ round_robin: {} }] };
const FAST_BACKOFF = { baseDelayMs: 20, maxDelayMs: 100 };

function ipv4(...backends: Backend[]): string {
  return `ipv4:${backends.map((b) => b.address).join(",")}`;
}

function count(names: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const n of names) out[n] = (out[n] ?? 0) + 1;
  return out;
}

async function calls(conn: ClientConn, n: number, waitForReady = false): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(await conn.invoke(WHO, "hi", { waitForReady }));
  return out;
}

/** Calls until every backend in `names` answered at least once (their subchannels READY). */
async function settle(conn: ClientConn, names: string[]): Promise<void> {
  const seen = new Set<string>();
  const end = Date.now() + 20_000;
  while (!names.every((n) => seen.has(n))) {
    if (Date.now() > end) throw new Error(`no answer from all of ${names}: saw ${[...seen]}`);
    seen.add(await conn.invoke(WHO, "warm", { waitForReady: true }));
    await new Promise((r) => setTimeout(r, 2));
  }
}

Deno.test("round_robin over 3 servers spreads 300 calls 100/100/100", async () => {
  await using a = new Backend("a");
  await using b = new Backend("b");
  await using c = new Backend("c");
  await using conn = newClient(ipv4(a, b, c), { defaultServiceConfig: RR });
  await settle(conn, ["a", "b", "c"]);
  assertEquals(count(await calls(conn, 300)), { a: 100, b: 100, c: 100 });
});

Deno.test("round_robin: a stopped server's calls move to the others, none fail; it returns", async () => {
  await using a = new Backend("a");
  const b = new Backend("b");
  await using c = new Backend("c");
  const port = b.port;
  await using conn = newClient(ipv4(a, b, c), {
    defaultServiceConfig: RR,
    backoff: FAST_BACKOFF,
  });
  await settle(conn, ["a", "b", "c"]);
  // Ten callers run all along (waitForReady); b stops gracefully in the middle.
  const running = Promise.all(Array.from({ length: 10 }, () => calls(conn, 60, true)));
  await waitUntil(() => b.calls.length > 20, "b to take calls");
  await b.gracefulStop();
  const after = (await running).flat(); // none failed
  assertEquals(after.length, 600);
  const tail = await calls(conn, 60, true);
  assertEquals(count(tail), { a: 30, c: 30 });
  // b comes back on its port: round_robin reconnects and uses it again.
  await using _b2 = new Backend("b2", port);
  await settle(conn, ["a", "b2", "c"]);
  assertEquals(count(await calls(conn, 30)), { a: 10, b2: 10, c: 10 });
});

Deno.test("pick_first fails over in order and sticks to one backend", async () => {
  const dead = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const deadPort = dead.addr.port;
  dead.close();
  const a = new Backend("a");
  await using b = new Backend("b");
  await using conn = newClient(`ipv4:127.0.0.1:${deadPort},${a.address},${b.address}`, {
    backoff: FAST_BACKOFF,
  });
  assertEquals(count(await calls(conn, 20, true)), { a: 20 });
  await a.gracefulStop();
  assertEquals(count(await calls(conn, 20, true)), { b: 20 });
});

Deno.test("connectivity API: IDLE → CONNECTING → READY, TRANSIENT_FAILURE, SHUTDOWN", async () => {
  await using a = new Backend("a");
  const conn = newClient(a.address);
  const seen: ConnectivityState[] = [conn.getState()];
  let s = conn.getState(true); // starts connecting
  while (s !== "READY") {
    assert(await conn.waitForStateChange(s, AbortSignal.timeout(20_000)));
    s = conn.getState();
    seen.push(s);
  }
  assertEquals(seen, ["IDLE", "CONNECTING", "READY"]);
  assertEquals(await conn.waitForStateChange("READY", AbortSignal.timeout(50)), false);
  const closing = conn.close();
  assertEquals(conn.getState(), "SHUTDOWN");
  await closing;

  const dead = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = dead.addr.port;
  dead.close();
  await using bad = newClient(`127.0.0.1:${port}`);
  bad.connect();
  s = bad.getState();
  while (s !== "TRANSIENT_FAILURE") {
    assert(await bad.waitForStateChange(s, AbortSignal.timeout(20_000)));
    s = bad.getState();
  }
  const err = await assertRejects(() => bad.invoke(WHO, "x"), StatusError);
  assertEquals(err.code, Code.Unavailable);
});

Deno.test("idle after idleTimeoutMs without calls (fake clock); the next call wakes it", async () => {
  await using a = new Backend("a");
  await using proxy = new ConnectProxy(); // counts connections
  const clock = new FakeClock();
  const opts: InternalDialOptions = { idleTimeoutMs: 60_000, clock, proxy: proxy.url };
  await using conn = newClient(a.address, opts as DialOptions);
  assertEquals(await conn.invoke(WHO, "1"), "a");
  assertEquals(conn.getState(), "READY");
  clock.advance(30_000);
  assertEquals(await conn.invoke(WHO, "2"), "a"); // activity: the timeout counts from here
  clock.advance(30_000); // the timer fires, 30 s after the last call: not idle yet
  assertEquals(conn.getState(), "READY");
  clock.advance(29_999);
  assertEquals(conn.getState(), "READY");
  clock.advance(1); // a full timeout without calls: idle
  assertEquals(conn.getState(), "IDLE");
  await waitUntil(() => proxy.open === 0, "the idle channel to close its connection");
  // The connection is gone; the next call builds everything again.
  assertEquals(await conn.invoke(WHO, "3"), "a");
  assertEquals(conn.getState(), "READY");
  assertEquals(a.calls, ["1", "2", "3"]);
  assertEquals(proxy.requests.length, 2); // the idle channel closed its connection
  clock.advance(120_000);
  assertEquals(conn.getState(), "IDLE");
  // A call in progress keeps the channel active however long it runs.
  const held = conn.invoke(WHO, "hold");
  await waitUntil(() => a.calls.length === 4, "the held call to arrive");
  clock.advance(600_000);
  assertEquals(conn.getState(), "READY");
  a.release();
  assertEquals(await held, "a");
  clock.advance(59_999);
  assertEquals(conn.getState(), "READY");
  clock.advance(60_001);
  assertEquals(conn.getState(), "IDLE");
});

Deno.test("service config: methodConfig timeout and waitForReady; call options win", async () => {
  const dead = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = dead.addr.port;
  dead.close();
  await using conn = newClient(`127.0.0.1:${port}`, {
    backoff: FAST_BACKOFF,
    defaultServiceConfig: JSON.stringify({
      methodConfig: [{ name: [{ service: "test.Backend" }], waitForReady: true, timeout: "0.2s" }],
    }),
  });
  // waitForReady from the config: the call waits for its config timeout instead of failing.
  let err = await assertRejects(() => conn.invoke(WHO, "x"), StatusError);
  assertEquals(err.code, Code.DeadlineExceeded);
  // waitForReady: false in the call wins: UNAVAILABLE once the attempt failed.
  await waitUntil(() => conn.getState() === "TRANSIENT_FAILURE", "TRANSIENT_FAILURE");
  err = await assertRejects(() => conn.invoke(WHO, "x", { waitForReady: false }), StatusError);
  assertEquals(err.code, Code.Unavailable);
});

Deno.test("service config: maxResponseMessageBytes limits responses", async () => {
  await using a = new Backend("a-long-name");
  await using conn = newClient(a.address, {
    defaultServiceConfig: {
      methodConfig: [{
        name: [{ service: "test.Backend", method: "Who" }],
        maxResponseMessageBytes: 4,
      }],
    },
  });
  const err = await assertRejects(() => conn.invoke(WHO, "x"), StatusError);
  assertEquals(err.code, Code.ResourceExhausted);
});

Deno.test("newClient() refuses an invalid defaultServiceConfig naming the field", () => {
  assertThrows(
    () =>
      newClient("127.0.0.1:1", {
        defaultServiceConfig: '{"methodConfig":[{"name":[{}],"timeout":1}]}',
      }),
    TypeError,
    "methodConfig[0].timeout",
  );
});

Deno.test("manual resolver: new addresses move the channel; errors keep the old ones", async () => {
  await using a = new Backend("a");
  await using b = new Backend("b");
  const r = new ManualResolver("test-manual");
  r.updateState({ addresses: [{ addr: a.address }] });
  await using conn = newClient("test-manual:///svc", {
    resolvers: { [r.scheme]: r.build },
    defaultServiceConfig: RR,
  });
  assertEquals(count(await calls(conn, 4)), { a: 4 });
  r.reportError(new Error("lookup failed"));
  assertEquals(count(await calls(conn, 4)), { a: 4 });
  r.updateState({ addresses: [{ addr: b.address }] });
  await settle(conn, ["b"]);
  assertEquals(count(await calls(conn, 4)), { b: 4 });
  // A service config from the resolver switches the policy; an invalid one is ignored.
  r.updateState({ addresses: [{ addr: a.address }, { addr: b.address }], serviceConfig: "{" });
  await settle(conn, ["a", "b"]);
  assertEquals(count(await calls(conn, 4)), { a: 2, b: 2 });
  // A policy change is graceful (grpc-go gracefulswitch): the READY round_robin keeps serving
  // until pick_first is READY.
  r.updateState({
    addresses: [{ addr: a.address }, { addr: b.address }],
    serviceConfig: '{"loadBalancingConfig":[{"pick_first":{}}]}',
  });
  assertEquals(conn.getState(), "READY"); // a hard switch would be CONNECTING here
  assert(["a", "b"].includes(await conn.invoke(WHO, "x")));
  const names = await calls(conn, 6, true);
  assertEquals(Object.keys(count(names)).length, 1);
});

Deno.test("health checking: only SERVING backends take calls (gRFC A17)", async () => {
  await using a = new Backend("a", 0, { health: true });
  await using b = new Backend("b", 0, { health: true });
  a.health!.setServingStatus("test.Backend", "SERVING");
  b.health!.setServingStatus("test.Backend", "NOT_SERVING");
  await using conn = newClient(ipv4(a, b), {
    defaultServiceConfig: { ...RR, healthCheckConfig: { serviceName: "test.Backend" } },
  });
  assertEquals(count(await calls(conn, 10, true)), { a: 10 });
  b.health!.setServingStatus("test.Backend", "SERVING");
  await settle(conn, ["a", "b"]);
  a.health!.setServingStatus("test.Backend", "NOT_SERVING");
  // The watch stream tells the client soon; then a takes no more calls.
  let streak = 0;
  // A wall-clock safety net (30 s), not a count of tries: on a busy machine each try is slow.
  for (const end = Date.now() + 30_000; streak < 4 && Date.now() < end;) {
    streak = (await conn.invoke(WHO, "x")) === "b" ? streak + 1 : 0;
    await new Promise((r) => setTimeout(r, 5));
  }
  assertEquals(count(await calls(conn, 10, true)), { b: 10 });
});

Deno.test("health checking: a server without the health service counts as healthy", async () => {
  await using a = new Backend("a");
  await using conn = newClient(a.address, {
    defaultServiceConfig: { healthCheckConfig: { serviceName: "" } },
  });
  assertEquals(await conn.invoke(WHO, "x", { timeoutMs: 20_000 }), "a");
});

Deno.test("unix and unix-abstract targets", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/s.sock`;
  const { Server } = await import("../mod.ts");
  for (
    const [listenPath, target] of [[path, `unix:${path}`], [
      "\0seed-chan-test",
      "unix-abstract:seed-chan-test",
    ]]
  ) {
    const server = new Server();
    server.addService({ name: "test.Backend", methods: { who: WHO } }, { who: () => "u" });
    const serving = server.serve(Deno.listen({ transport: "unix", path: listenPath }));
    try {
      await using conn = newClient(target);
      assertEquals(await conn.invoke(WHO, "x"), "u");
    } finally {
      await server.stop();
      await serving;
    }
  }
  await Deno.remove(dir, { recursive: true });
});

Deno.test("HTTP CONNECT proxy: calls tunnel through it; the name is resolved by the proxy", async () => {
  await using a = new Backend("a");
  await using proxy = new ConnectProxy();
  await using conn = newClient(`localhost:${a.port}`, {
    proxy: `http://user:pa%20ss@127.0.0.1:${proxy.port}`,
  });
  assertEquals(count(await calls(conn, 5)), { a: 5 });
  assertEquals(proxy.requests.length, 1);
  const head = proxy.requests[0];
  assert(head.startsWith(`CONNECT localhost:${a.port} HTTP/1.1\r\n`), head);
  assertStringIncludes(head, `Host: localhost:${a.port}\r\n`);
  assertStringIncludes(head, `Proxy-Authorization: Basic ${btoa("user:pa ss")}\r\n`);
  // A proxy that refuses: the call fails UNAVAILABLE naming the proxy's answer.
  await using refused = newClient(`127.0.0.1:1`, { proxy: proxy.url });
  const err = await assertRejects(() => refused.invoke(WHO, "x"), StatusError);
  assertEquals(err.code, Code.Unavailable);
  assertStringIncludes(err.message, "502");
  // proxy: false turns it off.
  await using direct = newClient(a.address, { proxy: false });
  assertEquals(await direct.invoke(WHO, "x"), "a");
  assertEquals(proxy.requests.length, 2);
});

async function runChild(
  target: string,
  permissions: string[],
  env: Record<string, string> = {},
): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-prompt", ...permissions, "tests/fixtures/channel_child.ts", target],
    env,
    clearEnv: true,
    stdin: "null",
  }).output();
  return new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
}

Deno.test("an IP-literal target works with only --allow-net=127.0.0.1 (no DNS, no env)", async () => {
  await using a = new Backend("a");
  const out = await runChild(a.address, ["--allow-net=127.0.0.1"], {
    PATH: Deno.env.get("PATH") ?? "",
    HOME: Deno.env.get("HOME") ?? "",
    DENO_DIR: Deno.env.get("DENO_DIR") ?? "",
  });
  assertStringIncludes(out, "ANSWER a");
});

Deno.test("localhost:port works with only --allow-net=localhost:port (the name goes to connect)", async () => {
  await using a = new Backend("a");
  const out = await runChild(`localhost:${a.port}`, [`--allow-net=localhost:${a.port}`], {
    PATH: Deno.env.get("PATH") ?? "",
    HOME: Deno.env.get("HOME") ?? "",
    DENO_DIR: Deno.env.get("DENO_DIR") ?? "",
  });
  assertStringIncludes(out, "ANSWER a");
});

Deno.test("grpc_proxy from the environment is used; no_proxy exempts a host", async () => {
  await using a = new Backend("a");
  await using proxy = new ConnectProxy();
  const base = {
    PATH: Deno.env.get("PATH") ?? "",
    HOME: Deno.env.get("HOME") ?? "",
    DENO_DIR: Deno.env.get("DENO_DIR") ?? "",
    grpc_proxy: proxy.url,
  };
  const perms = ["--allow-net=127.0.0.1,localhost", "--allow-env"];
  assertStringIncludes(await runChild(`localhost:${a.port}`, perms, base), "ANSWER a");
  assertEquals(proxy.requests.length, 1);
  assertStringIncludes(proxy.requests[0], `CONNECT localhost:${a.port} `);
  // (An IP literal here: a name would be resolved by the system's DNS server, off loopback.)
  const exempt = { ...base, no_proxy: "example.com,127.0.0.1" };
  assertStringIncludes(await runChild(a.address, perms, exempt), "ANSWER a");
  assertEquals(proxy.requests.length, 1);
});

Deno.test("registerBalancer(): a custom policy by name; a StatusError from its picker drops calls", async () => {
  await using a = new Backend("a");
  await using b = new Backend("b");
  // "last_only": connects only the last address. "drop_all": fails every call.
  registerBalancer({
    name: "test_last_only",
    build(cc) {
      let sc: SubConn | undefined;
      return {
        updateClientConnState(s) {
          sc?.shutdown();
          const target = s.addresses[s.addresses.length - 1];
          const mine = cc.newSubConn(target, (st) => {
            if (st.state === "READY") cc.updateState("READY", { pick: () => mine });
            else if (st.state === "IDLE") mine.connect();
          });
          sc = mine;
          cc.updateState("CONNECTING", { pick: () => null });
          mine.connect();
        },
        resolverError() {},
        exitIdle() {},
        close() {
          sc?.shutdown();
        },
      };
    },
  });
  registerBalancer({
    name: "test_drop_all",
    build(cc) {
      const drop = new StatusError(Code.ResourceExhausted, "dropped by policy");
      return {
        updateClientConnState() {
          cc.updateState("READY", { pick: () => drop });
        },
        resolverError() {},
        exitIdle() {},
        close() {},
      };
    },
  });
  await using last = newClient(ipv4(a, b), {
    defaultServiceConfig: { loadBalancingConfig: [{ test_last_only: {} }] },
  });
  assertEquals(count(await calls(last, 5, true)), { b: 5 });
  await using drop = newClient(ipv4(a, b), {
    defaultServiceConfig: { loadBalancingConfig: [{ test_drop_all: {} }] },
  });
  const err = await assertRejects(() => drop.invoke(WHO, "x", { waitForReady: true }), StatusError);
  assertEquals(err.code, Code.ResourceExhausted);
  assertEquals(err.rawMessage, "dropped by policy");
});

Deno.test("connectivity API: a lost connection takes pick_first to IDLE; a call reconnects", async () => {
  const a = new Backend("a");
  const port = a.port;
  await using conn = newClient(a.address, { backoff: FAST_BACKOFF });
  assertEquals(await conn.invoke(WHO, "x"), "a");
  assertEquals(conn.getState(), "READY");
  await a.gracefulStop(); // GOAWAY, then the connection closes
  assert(await conn.waitForStateChange("READY", AbortSignal.timeout(20_000)));
  assertEquals(conn.getState(), "IDLE");
  await using _a2 = new Backend("a2", port);
  assertEquals(await conn.invoke(WHO, "x", { waitForReady: true }), "a2");
  assertEquals(conn.getState(), "READY");
});

Deno.test("a balancer or picker that throws fails calls INTERNAL, not the process", async () => {
  await using a = new Backend("a");
  registerBalancer({
    name: "test_throws_on_update",
    build() {
      return {
        updateClientConnState() {
          throw new Error("bug in update");
        },
        resolverError() {},
        exitIdle() {},
        close() {},
      };
    },
  });
  registerBalancer({
    name: "test_picker_throws",
    build(cc) {
      return {
        updateClientConnState() {
          cc.updateState("READY", {
            pick() {
              throw new Error("bug in pick");
            },
          });
        },
        resolverError() {},
        exitIdle() {},
        close() {},
      };
    },
  });
  for (
    const [name, msg] of [["test_throws_on_update", "bug in update"], ["test_picker_throws", ""]]
  ) {
    await using conn = newClient(a.address, {
      defaultServiceConfig: { loadBalancingConfig: [{ [name]: {} }] },
    });
    const err = await assertRejects(() => conn.invoke(WHO, "x"), StatusError);
    assertEquals(err.code, Code.Internal, name);
    assertStringIncludes(err.message, msg);
  }
});
