// Retries, hedging and retry throttling (gRFC A6) end to end: our client against the
// fault-injecting server (tests/_fault_server.ts), with an injected retry clock where the
// backoff schedule or the hedging delay is the point.
//
//   deno test -A --sanitize-ops --sanitize-resources tests/retry_test.ts

import { assert, assertEquals, assertRejects } from "@std/assert";
import {
  callCredentials,
  type ClientConn,
  Code,
  type DialOptions,
  ManualResolver,
  newClient,
  registerBalancer,
  StatusError,
} from "../mod.ts";
import { channelOf } from "../client/client_conn.ts";
import type { RetryClock } from "../client/retry.ts";
import {
  type AttemptRecord,
  BIDI,
  CLIENT_STREAM,
  FaultPlan,
  SERVER_STREAM,
  startFaultServer,
  UNARY,
} from "./_fault_server.ts";

/** A retry clock whose random is fixed and whose timers run when fire() says (or at once). */
class TestClock implements RetryClock {
  readonly delays: number[] = [];
  #timers = new Map<number, () => void>();
  #next = 1;
  constructor(readonly value = 0.5, readonly auto = true) {}
  random(): number {
    return this.value;
  }
  setTimer(fn: () => void, ms: number): unknown {
    this.delays.push(ms);
    const id = this.#next++;
    this.#timers.set(id, fn);
    if (this.auto) queueMicrotask(() => this.#run(id));
    return id;
  }
  clearTimer(handle: unknown): void {
    this.#timers.delete(handle as number);
  }
  get pending(): number {
    return this.#timers.size;
  }
  /** Runs every pending timer. */
  fire(): void {
    for (const id of [...this.#timers.keys()]) this.#run(id);
  }
  #run(id: number): void {
    const fn = this.#timers.get(id);
    this.#timers.delete(id);
    fn?.();
  }
}

const UNAVAILABLE = "UNAVAILABLE";

function retryConfig(p: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) {
  return {
    methodConfig: [{
      name: [{ service: "test.Retry" }],
      retryPolicy: {
        maxAttempts: 5,
        initialBackoff: "0.1s",
        maxBackoff: "1s",
        backoffMultiplier: 2,
        retryableStatusCodes: [UNAVAILABLE],
        ...p,
      },
    }],
    ...extra,
  };
}

function hedgingConfig(p: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) {
  return {
    ...extra,
    methodConfig: [{
      name: [{ service: "test.Retry" }],
      hedgingPolicy: {
        maxAttempts: 3,
        hedgingDelay: "1s",
        nonFatalStatusCodes: [UNAVAILABLE],
        ...p,
      },
    }],
  };
}

function connect(
  target: string,
  sc: unknown,
  clock: RetryClock | undefined,
  o: DialOptions = {},
): ClientConn {
  const conn = newClient(target, {
    defaultServiceConfig: sc as Record<string, unknown>,
    ...o,
  });
  if (clock !== undefined) channelOf(conn).retryClock = clock;
  return conn;
}

function previous(plan: FaultPlan): (string | undefined)[] {
  return plan.attempts.map((a: AttemptRecord) => a.previousAttempts);
}

async function code(p: Promise<unknown>): Promise<number> {
  const e = await assertRejects(() => p, StatusError);
  return e.code;
}

Deno.test("retry: a unary call is retried until it succeeds, on the backoff schedule", async () => {
  await using srv = startFaultServer();
  srv.plan.failFirst = 3;
  const clock = new TestClock(0.5);
  await using conn = connect(srv.target, retryConfig(), clock);
  assertEquals(await conn.invoke(UNARY, "hi"), "hi (attempt 3)");
  assertEquals(srv.plan.attempts.length, 4);
  // grpc-previous-rpc-attempts: absent on the first attempt, then 1, 2, 3.
  assertEquals(previous(srv.plan), [undefined, "1", "2", "3"]);
  // initialBackoff × 2^n with the jitter factor 0.8 + 0.4 × 0.5 = 1.
  assertEquals(clock.delays, [100, 200, 400]);
});

Deno.test("retry: the jitter scales each backoff by 0.8 + 0.4 × random, capped at maxBackoff", async () => {
  await using srv = startFaultServer();
  srv.plan.failFirst = 4;
  const clock = new TestClock(0);
  await using conn = connect(srv.target, retryConfig({ maxBackoff: "0.25s" }), clock);
  assertEquals(await conn.invoke(UNARY, "x"), "x (attempt 4)");
  assertEquals(clock.delays.map(Math.round), [80, 160, 200, 200]);
});

Deno.test("retry: maxAttempts ends it with the last status; maxCallAttempts caps it", async () => {
  await using srv = startFaultServer();
  srv.plan.failFirst = 100;
  const clock = new TestClock();
  {
    await using conn = connect(srv.target, retryConfig({ maxAttempts: 4 }), clock);
    assertEquals(await code(conn.invoke(UNARY, "a")), Code.Unavailable);
    assertEquals(srv.plan.attempts.length, 4);
  }
  {
    await using conn = connect(srv.target, retryConfig({ maxAttempts: 5 }), clock, {
      maxCallAttempts: 2,
    });
    assertEquals(await code(conn.invoke(UNARY, "b")), Code.Unavailable);
    assertEquals(srv.plan.attempts.length, 6);
  }
  {
    // A policy asking for more than 5 gets 5 (the default maxCallAttempts).
    await using conn = connect(srv.target, retryConfig({ maxAttempts: 9 }), clock);
    assertEquals(await code(conn.invoke(UNARY, "c")), Code.Unavailable);
    assertEquals(srv.plan.attempts.length, 11);
  }
});

Deno.test("retry: a code outside retryableStatusCodes is not retried", async () => {
  await using srv = startFaultServer();
  srv.plan.failFirst = 1;
  srv.plan.code = Code.Internal;
  await using conn = connect(srv.target, retryConfig(), new TestClock());
  assertEquals(await code(conn.invoke(UNARY, "a")), Code.Internal);
  assertEquals(srv.plan.attempts.length, 1);
});

Deno.test("retry: disableRetry turns the policy off", async () => {
  await using srv = startFaultServer();
  srv.plan.failFirst = 1;
  await using conn = connect(srv.target, retryConfig(), new TestClock(), { disableRetry: true });
  assertEquals(await code(conn.invoke(UNARY, "a")), Code.Unavailable);
  assertEquals(srv.plan.attempts.length, 1);
});

Deno.test("retry: response headers commit the call; a later failure is not retried", async () => {
  await using srv = startFaultServer();
  srv.plan.failFirst = 1;
  srv.plan.headersBeforeFailure = true;
  await using conn = connect(srv.target, retryConfig(), new TestClock());
  assertEquals(await code(conn.invoke(UNARY, "a")), Code.Unavailable);
  assertEquals(srv.plan.attempts.length, 1);
});

Deno.test("retry: pushback sets the delay once, then the backoff starts over", async () => {
  await using srv = startFaultServer();
  srv.plan.failFirst = 3;
  srv.plan.pushback = (i) => (i === 1 ? "7" : undefined);
  const clock = new TestClock();
  await using conn = connect(srv.target, retryConfig(), clock);
  assertEquals(await conn.invoke(UNARY, "a"), "a (attempt 3)");
  assertEquals(clock.delays, [100, 7, 100]);
});

Deno.test("retry: pushback that is negative or malformed stops retrying", async () => {
  for (const value of ["-1", "soon", "1.5"]) {
    await using srv = startFaultServer();
    srv.plan.failFirst = 3;
    srv.plan.pushback = () => value;
    const clock = new TestClock();
    await using conn = connect(srv.target, retryConfig(), clock);
    assertEquals(await code(conn.invoke(UNARY, "a")), Code.Unavailable, value);
    assertEquals(srv.plan.attempts.length, 1, value);
    assertEquals(clock.delays, [], value);
  }
});

Deno.test("retry: server streaming, client streaming and bidi replay their requests", async () => {
  await using srv = startFaultServer();
  const plan = srv.plan;
  await using conn = connect(srv.target, retryConfig(), new TestClock());

  plan.failFirst = plan.attempts.length + 2;
  const ss = conn.newStream(SERVER_STREAM);
  await ss.sendMsg("s");
  ss.closeSend();
  const got: string[] = [];
  for await (const m of ss) got.push(m);
  assertEquals(got, ["s 1 (attempt 2)", "s 2 (attempt 2)"]);

  plan.failFirst = plan.attempts.length + 2;
  const cs = conn.newStream(CLIENT_STREAM);
  for (const m of ["a", "b", "c"]) await cs.sendMsg(m);
  cs.closeSend();
  assertEquals(await cs.recvMsg(), "a,b,c (attempt 5)");
  assertEquals(await cs.recvMsg(), null);
  assertEquals(plan.attempts.slice(3).map((a) => a.requests), [
    ["a", "b", "c"],
    ["a", "b", "c"],
    ["a", "b", "c"],
  ]);

  plan.failFirst = plan.attempts.length + 1;
  const bidi = conn.newStream(BIDI);
  await bidi.sendMsg("x");
  await bidi.sendMsg("y");
  bidi.closeSend();
  const echoed: string[] = [];
  for await (const m of bidi) echoed.push(m);
  assertEquals(echoed, ["x (attempt 7)", "y (attempt 7)"]);
  assertEquals(plan.attempts.slice(6).map((a) => a.requests), [["x", "y"], ["x", "y"]]);
  assertEquals(previous(plan), [undefined, "1", "2", undefined, "1", "2", undefined, "1"]);
});

Deno.test("retry: requests over maxRetryRPCBufferSize (256 KiB) commit the call", async () => {
  await using srv = startFaultServer();
  srv.plan.failFirst = 100;
  await using conn = connect(srv.target, retryConfig(), new TestClock());
  const big = "x".repeat(100 * 1024);
  // 200 KiB fit: retried.
  const a = conn.newStream(CLIENT_STREAM);
  await a.sendMsg(big);
  await a.sendMsg(big);
  a.closeSend();
  assertEquals(await code(a.recvMsg()), Code.Unavailable);
  assertEquals(srv.plan.attempts.length, 5);
  // 300 KiB do not: the third message commits the call, the failure is final.
  const b = conn.newStream(CLIENT_STREAM);
  for (let i = 0; i < 3; i++) await b.sendMsg(big);
  b.closeSend();
  assertEquals(await code(b.recvMsg()), Code.Unavailable);
  assertEquals(srv.plan.attempts.length, 6);
  assertEquals(srv.plan.attempts[5].requests.length, 3);
  assertEquals(channelOf(conn).retryBuffer.used, 0);
});

Deno.test("retry: the channel's retryBufferSize is shared by its calls", async () => {
  await using srv = startFaultServer();
  srv.plan.failFirst = 100;
  await using conn = connect(srv.target, retryConfig(), new TestClock(), {
    retryBufferSize: 1000,
  });
  // One call holds 600 bytes of the pool while it is open.
  const holder = conn.newStream(CLIENT_STREAM);
  await holder.sendMsg("h".repeat(600));
  await srv.plan.waitForAttempts(1);
  assertEquals(channelOf(conn).retryBuffer.used, 600);
  // The next call's 600 bytes do not fit: it commits, and its failure is final.
  const c = conn.newStream(CLIENT_STREAM);
  await c.sendMsg("c".repeat(600));
  c.closeSend();
  assertEquals(await code(c.recvMsg()), Code.Unavailable);
  assertEquals(srv.plan.attempts.length, 2);
  holder.cancel();
  assertEquals(channelOf(conn).retryBuffer.used, 0);
});

Deno.test("retry: the deadline bounds all attempts together", async () => {
  await using srv = startFaultServer();
  srv.plan.failFirst = 100;
  srv.plan.delayMs = () => 400; // 5 attempts would take 2 s
  await using conn = connect(srv.target, retryConfig(), new TestClock());
  const deadline = Date.now() + 1500;
  assertEquals(await code(conn.invoke(UNARY, "a", { deadline })), Code.DeadlineExceeded);
  const n = srv.plan.attempts.length;
  assert(n >= 1 && n <= 4, `${n} attempts`);
  // Every attempt's grpc-timeout is what was left of the one deadline (ms rounding aside).
  for (const a of srv.plan.attempts) assert(a.deadline! <= deadline + 50, `${a.deadline}`);
});

Deno.test("retry: a deadline during the backoff ends the call and the timer", async () => {
  await using srv = startFaultServer();
  srv.plan.failFirst = 100;
  const clock = new TestClock(0.5, false); // the backoff never ends by itself
  await using conn = connect(srv.target, retryConfig(), clock);
  assertEquals(await code(conn.invoke(UNARY, "a", { timeoutMs: 300 })), Code.DeadlineExceeded);
  assert(srv.plan.attempts.length <= 1);
  assertEquals(clock.pending, 0);
});

Deno.test("retry: cancelling during the backoff stops everything", async () => {
  await using srv = startFaultServer();
  srv.plan.failFirst = 100;
  const clock = new TestClock(0.5, false);
  await using conn = connect(srv.target, retryConfig(), clock);
  const ac = new AbortController();
  const p = conn.invoke(UNARY, "a", { signal: ac.signal });
  while (clock.pending === 0) await new Promise((r) => setTimeout(r, 5));
  ac.abort();
  assertEquals(await code(p), Code.Canceled);
  assertEquals(clock.pending, 0); // the backoff timer is gone
  clock.fire();
  await new Promise((r) => setTimeout(r, 20));
  assertEquals(srv.plan.attempts.length, 1);
});

Deno.test("throttling: failures turn retries off at half the tokens, successes turn them on", async () => {
  await using srv = startFaultServer();
  const plan = srv.plan;
  await using conn = connect(
    srv.target,
    retryConfig({}, { retryThrottling: { maxTokens: 4, tokenRatio: 1 } }),
    new TestClock(),
  );
  const t = channelOf(conn).retryThrottler!;
  plan.failFirst = 1000;
  // 4 → 3 (retry) → 2 (throttled): two attempts.
  assertEquals(await code(conn.invoke(UNARY, "a")), Code.Unavailable);
  assertEquals(plan.attempts.length, 2);
  assertEquals(t.tokens, 2);
  // At half: no retry at all.
  assertEquals(await code(conn.invoke(UNARY, "b")), Code.Unavailable);
  assertEquals(plan.attempts.length, 3);
  assertEquals(t.tokens, 1);
  // Successes give tokens back (tokenRatio 1 each, at most maxTokens).
  plan.failFirst = 0;
  for (let i = 0; i < 5; i++) await conn.invoke(UNARY, "ok");
  assertEquals(t.tokens, 4);
  plan.failFirst = 1000;
  assertEquals(await code(conn.invoke(UNARY, "c")), Code.Unavailable);
  assertEquals(plan.attempts.length, 10);
});

Deno.test("hedging: a new attempt every hedgingDelay; the first answer wins, the others are cancelled", async () => {
  await using srv = startFaultServer();
  const plan = srv.plan;
  plan.delayMs = (i) => (i < 2 ? 60_000 : 0); // the first two hang
  const clock = new TestClock(0.5, false);
  await using conn = connect(srv.target, hedgingConfig(), clock);
  const p = conn.invoke(UNARY, "h");
  await plan.waitForAttempts(1);
  assertEquals(clock.delays, [1000]);
  clock.fire();
  await plan.waitForAttempts(2);
  clock.fire();
  assertEquals(await p, "h (attempt 2)");
  await Promise.all(plan.attempts.map((a) => a.done));
  assertEquals(plan.attempts.map((a) => a.cancelled), [true, true, false]);
  assertEquals(previous(plan), [undefined, "1", "2"]);
  assertEquals(clock.pending, 0);
});

Deno.test("hedging: a fatal status ends the call at once and cancels the other attempts", async () => {
  await using srv = startFaultServer();
  const plan = srv.plan;
  plan.delayMs = (i) => (i === 0 ? 60_000 : 0);
  plan.failFirst = 2;
  plan.code = Code.InvalidArgument;
  const clock = new TestClock(0.5, false);
  await using conn = connect(srv.target, hedgingConfig(), clock);
  const p = conn.invoke(UNARY, "h");
  await plan.waitForAttempts(1);
  clock.fire();
  assertEquals(await code(p), Code.InvalidArgument);
  await Promise.all(plan.attempts.map((a) => a.done));
  assertEquals(plan.attempts.length, 2);
  assert(plan.attempts[0].cancelled);
  assertEquals(clock.pending, 0);
});

Deno.test("hedging: a non-fatal status starts the next attempt at once; all failing ends the call", async () => {
  await using srv = startFaultServer();
  const plan = srv.plan;
  plan.failFirst = 1;
  const clock = new TestClock(0.5, false);
  await using conn = connect(srv.target, hedgingConfig(), clock);
  assertEquals(await conn.invoke(UNARY, "h"), "h (attempt 1)"); // no timer fired
  plan.failFirst = 100;
  assertEquals(await code(conn.invoke(UNARY, "h")), Code.Unavailable);
  assertEquals(plan.attempts.length, 5); // 2 + maxAttempts 3
});

Deno.test("hedging: hedgingDelay 0 sends every attempt at once; streams replay to each", async () => {
  await using srv = startFaultServer();
  const plan = srv.plan;
  plan.delayMs = (i) => (i === 1 ? 0 : 60_000);
  await using conn = connect(
    srv.target,
    hedgingConfig({ hedgingDelay: "0s" }),
    new TestClock(0.5, false),
  );
  const cs = conn.newStream(CLIENT_STREAM);
  await cs.sendMsg("a");
  await cs.sendMsg("b");
  cs.closeSend();
  await plan.waitForAttempts(3);
  const r = await cs.recvMsg();
  assert(r !== null && r.startsWith("a,b (attempt 1)"), r ?? "null");
  await Promise.all(plan.attempts.map((a) => a.done));
  assertEquals(plan.attempts.map((a) => a.requests), [["a", "b"], ["a", "b"], ["a", "b"]]);
  assertEquals(plan.attempts.map((a) => a.cancelled), [true, false, true]);
});

Deno.test("hedging: pushback stop ends the hedging; the throttle stops new hedges", async () => {
  await using srv = startFaultServer();
  const plan = srv.plan;
  plan.failFirst = 100;
  plan.pushback = () => "-1";
  const clock = new TestClock(0.5, false);
  await using conn = connect(srv.target, hedgingConfig(), clock);
  assertEquals(await code(conn.invoke(UNARY, "h")), Code.Unavailable);
  assertEquals(plan.attempts.length, 1);

  // Throttled: the non-fatal failure takes the token that leaves half; no hedge follows.
  plan.pushback = () => undefined;
  await using throttled = connect(
    srv.target,
    hedgingConfig({}, { retryThrottling: { maxTokens: 2, tokenRatio: 1 } }),
    clock,
  );
  assertEquals(await code(throttled.invoke(UNARY, "t")), Code.Unavailable);
  assertEquals(plan.attempts.length, 2);
  assertEquals(channelOf(throttled).retryThrottler!.tokens, 1);
  // While throttled, the hedging timer starts nothing.
  plan.failFirst = 0;
  plan.delayMs = (i) => (i === 2 ? 200 : 0);
  const slow = throttled.invoke(UNARY, "slow");
  await plan.waitForAttempts(3);
  clock.fire();
  assertEquals(await slow, "slow (attempt 2)");
  assertEquals(plan.attempts.length, 3);
  // Its success gave the token back (1 → 2): hedges go out again.
  assertEquals(channelOf(throttled).retryThrottler!.tokens, 2);
  plan.delayMs = (i) => (i === 3 ? 60_000 : 0);
  const hedged = throttled.invoke(UNARY, "again");
  await plan.waitForAttempts(4);
  clock.fire();
  assertEquals(await hedged, "again (attempt 4)");
  assert(plan.attempts[3].cancelled || (await plan.attempts[3].done, plan.attempts[3].cancelled));
});

Deno.test("hedging: with round_robin the attempts go to different backends", async () => {
  const plan = new FaultPlan();
  plan.delayMs = (i) => (i === 0 ? 60_000 : 0);
  await using a = startFaultServer(plan);
  await using b = startFaultServer(plan);
  const clock = new TestClock(0.5, false);
  await using conn = connect(
    `ipv4:${a.target},${b.target}`,
    { ...hedgingConfig(), loadBalancingConfig: [{ round_robin: {} }] },
    clock,
  );
  // Wait until both backends are READY, so round_robin alternates between them.
  for (let i = 0; i < 50 && new Set(plan.attempts.map((r) => r.port)).size < 2; i++) {
    plan.delayMs = () => 0;
    await conn.invoke(UNARY, "warm");
  }
  const before = plan.attempts.length;
  plan.delayMs = (i) => (i === before ? 60_000 : 0);
  const p = conn.invoke(UNARY, "rr");
  await plan.waitForAttempts(before + 1);
  clock.fire();
  assertEquals(await p, `rr (attempt ${before + 1})`);
  const [first, second] = plan.attempts.slice(before);
  assert(first.port !== second.port, "both attempts went to one backend");
  await first.done;
  assert(first.cancelled);
});

Deno.test("hedging: bidi and server streaming race too; the winner's stream is read", async () => {
  await using srv = startFaultServer();
  const plan = srv.plan;
  const clock = new TestClock(0.5, false);
  await using conn = connect(srv.target, hedgingConfig(), clock);

  plan.delayMs = (i) => (i === 0 ? 60_000 : 0);
  const bidi = conn.newStream(BIDI);
  await bidi.sendMsg("p");
  await plan.waitForAttempts(1);
  clock.fire(); // the hedge starts and gets "p" replayed
  await plan.waitForAttempts(2);
  await bidi.sendMsg("q"); // sent on both attempts
  bidi.closeSend();
  const got: string[] = [];
  for await (const m of bidi) got.push(m);
  assertEquals(got, ["p (attempt 1)", "q (attempt 1)"]);
  await plan.attempts[0].done;
  assertEquals(plan.attempts[0].cancelled, true);

  plan.delayMs = (i) => (i === 2 ? 60_000 : 0);
  const ss = conn.newStream(SERVER_STREAM);
  await ss.sendMsg("s");
  ss.closeSend();
  await plan.waitForAttempts(3);
  clock.fire();
  const out: string[] = [];
  for await (const m of ss) out.push(m);
  assertEquals(out, ["s 1 (attempt 3)", "s 2 (attempt 3)"]);
  await plan.attempts[2].done;
  assertEquals(plan.attempts[2].cancelled, true);
});

Deno.test("hedging: cancelling the call cancels every attempt in flight (the server sees it)", async () => {
  await using srv = startFaultServer();
  const plan = srv.plan;
  plan.delayMs = () => 60_000;
  const clock = new TestClock(0.5, false);
  await using conn = connect(srv.target, hedgingConfig({ hedgingDelay: "0s" }), clock);
  const ac = new AbortController();
  const p = conn.invoke(UNARY, "c", { signal: ac.signal });
  await plan.waitForAttempts(3);
  ac.abort();
  assertEquals(await code(p), Code.Canceled);
  await Promise.all(plan.attempts.map((a) => a.done));
  assertEquals(plan.attempts.map((a) => a.cancelled), [true, true, true]);
  assertEquals(clock.pending, 0);
});

Deno.test("retry: a service config from the resolver brings its policy and throttle", async () => {
  await using srv = startFaultServer();
  srv.plan.failFirst = 1;
  const r = new ManualResolver("retry-manual");
  r.updateState({ addresses: [{ addr: srv.target }] });
  await using conn = newClient("retry-manual:///svc", { resolvers: { [r.scheme]: r.build } });
  channelOf(conn).retryClock = new TestClock();
  // No policy yet: the failure is the call's.
  assertEquals(await code(conn.invoke(UNARY, "a")), Code.Unavailable);
  assertEquals(channelOf(conn).retryThrottler, undefined);
  const sc = retryConfig({}, { retryThrottling: { maxTokens: 10, tokenRatio: 0.5 } });
  r.updateState({ addresses: [{ addr: srv.target }], serviceConfig: JSON.stringify(sc) });
  srv.plan.failFirst = srv.plan.attempts.length + 1;
  assertEquals(await conn.invoke(UNARY, "b"), "b (attempt 2)");
  const t = channelOf(conn).retryThrottler!;
  assertEquals([t.maxTokens, t.tokens], [10, 9.5]); // one failure, one success
  // The same settings again keep the bucket; a config without throttling drops it.
  r.updateState({ addresses: [{ addr: srv.target }], serviceConfig: JSON.stringify(sc) });
  assertEquals(channelOf(conn).retryThrottler, t);
  r.updateState({
    addresses: [{ addr: srv.target }],
    serviceConfig: JSON.stringify(retryConfig()),
  });
  assertEquals(channelOf(conn).retryThrottler, undefined);
});

Deno.test("retry: a call the balancer drops is not retried; a failed pick (TRANSIENT_FAILURE) is", async () => {
  let picks = 0;
  registerBalancer({
    name: "test_retry_drop",
    build(cc) {
      const dropped = new StatusError(Code.Unavailable, "dropped by policy");
      return {
        updateClientConnState() {
          cc.updateState("READY", {
            pick: () => {
              picks++;
              return dropped;
            },
          });
        },
        resolverError() {},
        exitIdle() {},
        close() {},
      };
    },
  });
  const sc = { ...retryConfig(), loadBalancingConfig: [{ test_retry_drop: {} }] };
  await using conn = connect("127.0.0.1:1", sc, new TestClock());
  const err = await assertRejects(() => conn.invoke(UNARY, "x"), StatusError);
  assertEquals([err.code, err.rawMessage, picks], [Code.Unavailable, "dropped by policy", 1]);
  // Nothing listens on port 1: each fail-fast pick fails UNAVAILABLE and the policy retries.
  await using down = connect("127.0.0.1:1", retryConfig({ maxAttempts: 3 }), new TestClock(), {
    backoff: { baseDelayMs: 1, maxDelayMs: 1 },
  });
  const clock = channelOf(down).retryClock as TestClock;
  assertEquals(await code(down.invoke(UNARY, "y")), Code.Unavailable);
  assertEquals(clock.delays.length, 2);
});

Deno.test("retry: a client stream failed while the client still sends is replayed on the retry", async () => {
  await using srv = startFaultServer();
  const plan = srv.plan;
  plan.failFirst = 1;
  plan.failBeforeReading = true;
  const clock = new TestClock(0.5, false);
  await using conn = connect(srv.target, retryConfig(), clock);
  const cs = conn.newStream(CLIENT_STREAM);
  await cs.sendMsg("1");
  await plan.waitForAttempts(1);
  await plan.attempts[0].done; // the first attempt has failed
  while (clock.pending === 0) await new Promise((r) => setTimeout(r, 5));
  await cs.sendMsg("2"); // during the backoff: kept, sent on the next attempt
  clock.fire();
  await plan.waitForAttempts(2);
  await cs.sendMsg("3");
  cs.closeSend();
  assertEquals(await cs.recvMsg(), "1,2,3 (attempt 1)");
  assertEquals(plan.attempts[1].previousAttempts, "1");
});

Deno.test("retry: call credentials run for every attempt, each attempt sends its own", async () => {
  await using srv = startFaultServer();
  srv.plan.failFirst = 2;
  let runs = 0;
  const creds = callCredentials(() => ({ authorization: `Bearer t${++runs}` }), {
    allowInsecure: true,
  });
  await using conn = connect(srv.target, retryConfig(), new TestClock(), {
    callCredentials: creds,
  });
  assertEquals(await conn.invoke(UNARY, "hi"), "hi (attempt 2)");
  assertEquals(runs, 3);
  assertEquals(srv.plan.attempts.map((a) => a.metadata.get("authorization")), [
    "Bearer t1",
    "Bearer t2",
    "Bearer t3",
  ]);
});

Deno.test("retry: failing call credentials fail their attempt; the policy retries a retryable code", async () => {
  await using srv = startFaultServer();
  let runs = 0;
  const creds = callCredentials(() => {
    if (++runs === 1) throw new Error("token service restarting"); // UNAVAILABLE
    return { authorization: "Bearer ok" };
  }, { allowInsecure: true });
  const clock = new TestClock();
  {
    await using conn = connect(srv.target, retryConfig(), clock, { callCredentials: creds });
    // The server's first attempt (it counts from 0) is the call's second.
    assertEquals(await conn.invoke(UNARY, "hi"), "hi (attempt 0)");
    // Nothing was sent for the failed attempt; the retry says it is the second.
    assertEquals(srv.plan.attempts.length, 1);
    assertEquals(previous(srv.plan), ["1"]);
    assertEquals(clock.delays, [100]);
  }
  // Not retryable (PERMISSION_DENIED): the call ends with it, nothing sent.
  const denied = callCredentials(() => {
    throw new StatusError(Code.PermissionDenied, "no token");
  }, { allowInsecure: true });
  await using conn = connect(srv.target, retryConfig(), new TestClock(), {
    callCredentials: denied,
  });
  assertEquals(await code(conn.invoke(UNARY, "hi")), Code.PermissionDenied);
  assertEquals(srv.plan.attempts.length, 1);
});

Deno.test("retry: cancelling a call aborts its attempt's call credentials and ends at once", async () => {
  await using srv = startFaultServer();
  let seen: AbortSignal | undefined;
  const creds = callCredentials(({ signal }) => {
    seen = signal;
    return new Promise<never>(() => {}); // a token service that never answers
  }, { allowInsecure: true });
  await using conn = connect(srv.target, retryConfig(), new TestClock(), {
    callCredentials: creds,
  });
  const ac = new AbortController();
  const p = conn.invoke(UNARY, "hi", { signal: ac.signal });
  while (seen === undefined) await new Promise((r) => setTimeout(r, 1));
  assert(!seen.aborted);
  ac.abort();
  assertEquals(await code(p), Code.Canceled);
  assert(seen.aborted);
  assertEquals(srv.plan.attempts.length, 0);
});
