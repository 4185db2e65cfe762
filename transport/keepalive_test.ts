// Keepalive pings, idle and age limits, each timer driven by a hand-moved clock: the timer logic
// alone (KeepalivePinger, ConnectionLifetime, LongTimer), then on real server and client
// transports over the in-memory pipe, asserting the frames on the wire.

import { assert, assertEquals } from "@std/assert";
import {
  ageWithJitter,
  ConnectionLifetime,
  KeepalivePinger,
  type LifetimeLimits,
  LongTimer,
} from "./keepalive.ts";
import { FakeClock } from "../internal/_fake_clock.ts";
import { Flag, FrameType } from "./frame.ts";
import {
  echo,
  handshakenServer,
  NO_SERVER_KEEPALIVE,
  rawClient,
  req,
  settle,
  until,
} from "./_testing.ts";
import { Code, StatusError } from "../status.ts";
import type { ServerStream } from "./http2_server.ts";

const ENHANCE_YOUR_CALM = 0xb;

function pinger(clock: FakeClock, timeMs: number, timeoutMs: number, mayPing = () => true) {
  const log: string[] = [];
  const p = new KeepalivePinger(clock, timeMs, timeoutMs, {
    ping: () => log.push(`ping@${clock.now()}`),
    dead: () => log.push(`dead@${clock.now()}`),
    mayPing,
  });
  return { p, log };
}

Deno.test("LongTimer: fires once at its due time, also past setTimeout's 2^31-1 ms limit", () => {
  const clock = new FakeClock(0);
  let fired = 0;
  const t = new LongTimer(clock, () => fired++);
  const day = 24 * 3600 * 1000;
  t.set(30 * day);
  clock.advance(2 ** 31 - 1);
  assertEquals(fired, 0, "a 30-day timer must not fire at setTimeout's cap");
  assert(t.armed);
  clock.advance(30 * day - (2 ** 31 - 1) - 1);
  assertEquals(fired, 0);
  clock.advance(1);
  assertEquals(fired, 1);
  assert(!t.armed);
  t.set(Infinity);
  assertEquals(clock.pending, 0, "Infinity arms nothing");
});

Deno.test("KeepalivePinger: pings after timeMs without reads; no read within timeoutMs → dead", () => {
  const clock = new FakeClock(0);
  const { p, log } = pinger(clock, 10_000, 1_000);
  p.start();
  clock.advance(9_999);
  assertEquals(log, []);
  clock.advance(1);
  assertEquals(log, ["ping@10000"]);
  assert(p.outstanding);
  clock.advance(999);
  assertEquals(log, ["ping@10000"]);
  clock.advance(1);
  assertEquals(log, ["ping@10000", "dead@11000"]);
  assertEquals(clock.pending, 0, "no timer left after dead");
});

Deno.test("KeepalivePinger: reads postpone the ping to timeMs after the last read", () => {
  const clock = new FakeClock(0);
  const { p, log } = pinger(clock, 10_000, 1_000);
  p.start();
  clock.advance(7_000);
  p.read();
  clock.advance(3_000); // the first look, at 10 s: a read at 7 s → next look at 17 s
  assertEquals(log, []);
  clock.advance(6_999);
  assertEquals(log, []);
  clock.advance(1);
  assertEquals(log, ["ping@17000"]);
  // The ACK (any read) within the timeout keeps the connection.
  clock.advance(500);
  p.read();
  clock.advance(500);
  assertEquals(log, ["ping@17000"]);
  assert(!p.outstanding, "a read cleared the outstanding ping");
  // Next ping timeMs after that read.
  clock.advance(9_499);
  assertEquals(log, ["ping@17000"]);
  clock.advance(1);
  assertEquals(log, ["ping@17000", "ping@27500"]);
  p.stop();
  assertEquals(clock.pending, 0);
});

Deno.test("KeepalivePinger: a timeout longer than the time re-pings every timeMs until it runs out", () => {
  const clock = new FakeClock(0);
  const { p, log } = pinger(clock, 10_000, 25_000);
  p.start();
  clock.advance(10_000);
  assertEquals(log, ["ping@10000"]);
  clock.advance(25_000);
  // One PING is out at a time (grpc-go sends no second one while outstanding); dead at 35 s.
  assertEquals(log, ["ping@10000", "dead@35000"]);
});

Deno.test("KeepalivePinger: dormant while pinging is not allowed; wake() pings at once", () => {
  const clock = new FakeClock(0);
  let calls = 0;
  const { p, log } = pinger(clock, 10_000, 1_000, () => calls > 0);
  p.start();
  clock.advance(60_000);
  assertEquals(log, [], "no call open: no ping (permitWithoutStream false)");
  assert(p.dormant);
  assertEquals(clock.pending, 0, "dormant: no timer armed");
  calls = 1;
  p.wake();
  assertEquals(log, ["ping@60000"]);
  clock.advance(1_000);
  assertEquals(log, ["ping@60000", "dead@61000"]);
});

function lifetime(clock: FakeClock, limits: Partial<LifetimeLimits>) {
  const log: string[] = [];
  const l = new ConnectionLifetime(clock, {
    maxConnectionIdleMs: Infinity,
    maxConnectionAgeMs: Infinity,
    maxConnectionAgeGraceMs: Infinity,
    ...limits,
  }, {
    drain: (d) => log.push(`drain ${d}@${clock.now()}`),
    close: () => log.push(`close@${clock.now()}`),
  });
  return { l, log };
}

Deno.test("ConnectionLifetime: idle limit counts from the connection's start and from the last call's end", () => {
  const clock = new FakeClock(0);
  const { l, log } = lifetime(clock, { maxConnectionIdleMs: 5_000 });
  l.start();
  clock.advance(3_000);
  l.busy(); // a call from 3 s to 9 s
  clock.advance(6_000);
  l.idle();
  clock.advance(4_999);
  assertEquals(log, []);
  clock.advance(1);
  assertEquals(log, ["drain max_idle@14000"]);
  l.stop();
  assertEquals(clock.pending, 0);
});

Deno.test("ConnectionLifetime: no limits arm no timers", () => {
  const clock = new FakeClock(0);
  const { l } = lifetime(clock, {});
  l.start();
  assertEquals(clock.pending, 0);
});

Deno.test("ConnectionLifetime: age limit drains (max_age), then closes after the grace", () => {
  const clock = new FakeClock(0);
  const { l, log } = lifetime(clock, {
    maxConnectionAgeMs: 30_000,
    maxConnectionAgeGraceMs: 5_000,
    maxConnectionIdleMs: 20_000,
  });
  l.start();
  l.busy(); // busy all along: the idle limit never fires
  clock.advance(30_000);
  assertEquals(log, ["drain max_age@30000"]);
  clock.advance(4_999);
  assertEquals(log.length, 1);
  clock.advance(1);
  assertEquals(log, ["drain max_age@30000", "close@35000"]);
  assertEquals(clock.pending, 0);
});

Deno.test("ageWithJitter: ±10% around the limit; Infinity stays Infinity", () => {
  assertEquals(ageWithJitter(10_000, () => 0), 9_000);
  assertEquals(ageWithJitter(10_000, () => 0.5), 10_000);
  assertEquals(ageWithJitter(10_000, () => 0.75), 10_500);
  assertEquals(ageWithJitter(Infinity), Infinity);
  for (let i = 0; i < 1000; i++) {
    const v = ageWithJitter(10_000);
    assert(v >= 9_000 && v < 11_000, `jittered age ${v}`);
  }
});

// ---- on the server transport ---------------------------------------------------------------

function goawayDebugs(peer: { goaways(): { debug: string; lastStreamId: number }[] }): string[] {
  return peer.goaways().map((g) => `${g.lastStreamId}:${g.debug}`);
}

function ourPings(peer: { written(t: number): { flags: number }[] }): number {
  return peer.written(FrameType.PING).filter((f) => (f.flags & Flag.ACK) === 0).length;
}

Deno.test("server keepalive: a silent client is pinged after timeMs and freed after timeoutMs", async () => {
  const clock = new FakeClock();
  const { server, peer } = await handshakenServer(() => {}, {
    keepalive: { ...NO_SERVER_KEEPALIVE, timeMs: 60_000, timeoutMs: 20_000 },
    clock,
  });
  clock.advance(59_999);
  await settle();
  assertEquals(ourPings(peer), 0);
  clock.advance(1);
  await until(() => ourPings(peer) === 1, "the keepalive PING");
  assert(!server.isClosed);
  clock.advance(20_000);
  await server.closed;
  assertEquals(server.closeReason?.code, Code.Unavailable);
  assertEquals(clock.pending, 0, "no timer left behind");
});

Deno.test("server keepalive: a client that answers the PING keeps its connection", async () => {
  const clock = new FakeClock();
  const { server, peer } = await handshakenServer(() => {}, {
    keepalive: { ...NO_SERVER_KEEPALIVE, timeMs: 60_000, timeoutMs: 20_000 },
    clock,
  });
  clock.advance(60_000);
  for (let round = 1; round <= 3; round++) {
    await until(() => ourPings(peer) === round, `keepalive PING ${round}`);
    const ping = peer.written(FrameType.PING).filter((f) => (f.flags & Flag.ACK) === 0)[round - 1];
    peer.ping([...ping.payload], true).send();
    await settle();
    clock.advance(20_000);
    await settle();
    assert(!server.isClosed, `closed after answering PING ${round}`);
    // The next PING is due 60 s after the ACK was read.
    clock.advance(40_000);
  }
  server.close();
});

Deno.test("server maxConnectionIdleMs: GOAWAY max_idle after the last call ended, then close", async () => {
  const clock = new FakeClock();
  const streams: ServerStream[] = [];
  const { server, peer } = await handshakenServer((s) => streams.push(s), {
    keepalive: { ...NO_SERVER_KEEPALIVE, maxConnectionIdleMs: 10_000 },
    clock,
  });
  clock.advance(5_000);
  peer.headers(1, req(), { endStream: true }).send();
  await until(() => streams.length === 1, "the call");
  clock.advance(30_000); // the call runs: not idle
  await settle();
  assertEquals(peer.goaways().length, 0);
  streams[0].sendTrailers(0, "");
  streams[0].handlerDone();
  await settle();
  clock.advance(9_999);
  await settle();
  assertEquals(peer.goaways().length, 0);
  clock.advance(1);
  await until(() => peer.goaways().length === 1, "GOAWAY max_idle");
  assertEquals(goawayDebugs(peer), [`${2 ** 31 - 1}:max_idle`]);
  peer.ping([...peer.written(FrameType.PING).at(-1)!.payload], true).send();
  await server.closed;
  assertEquals(goawayDebugs(peer), [`${2 ** 31 - 1}:max_idle`, "1:max_idle"]);
});

Deno.test("server maxConnectionAgeMs: GOAWAY max_age, the running call finishes, new streams are refused; the grace closes a call that overruns", async () => {
  const clock = new FakeClock();
  const streams: ServerStream[] = [];
  const { server, peer } = await handshakenServer((s) => streams.push(s), {
    keepalive: {
      ...NO_SERVER_KEEPALIVE,
      maxConnectionAgeMs: 10_000,
      maxConnectionAgeGraceMs: 10_000,
    },
    clock,
  });
  peer.headers(1, req(), { endStream: true }).send();
  await until(() => streams.length === 1, "the call");
  // Jittered age in [9 s, 11 s); the drain PING's 5 s timeout cannot fire within these steps.
  clock.advance(8_999);
  await settle();
  assertEquals(peer.goaways().length, 0);
  clock.advance(2_001);
  await until(() => peer.goaways().length === 1, "GOAWAY max_age");
  assertEquals(goawayDebugs(peer), [`${2 ** 31 - 1}:max_age`]);
  // The drain PING's ACK: GOAWAY(1); stream 3 is then refused.
  peer.ping([...peer.written(FrameType.PING).at(-1)!.payload], true).send();
  await until(() => peer.goaways().length === 2, "second GOAWAY");
  assertEquals(goawayDebugs(peer)[1], "1:max_age");
  peer.headers(3, req(), { endStream: true }).send();
  await until(() => peer.rsts(3).length === 1, "stream 3 refused");
  assert(!server.isClosed, "the call still runs within the grace");
  clock.advance(10_000);
  await server.closed;
  assert(streams[0].cancelled, "the overrunning call was cancelled by the close");
});

Deno.test("server maxConnectionAgeMs: a call that ends within the grace closes the connection at once", async () => {
  const clock = new FakeClock();
  const streams: ServerStream[] = [];
  const { server, peer } = await handshakenServer((s) => streams.push(s), {
    keepalive: {
      ...NO_SERVER_KEEPALIVE,
      maxConnectionAgeMs: 10_000,
      maxConnectionAgeGraceMs: 60_000,
    },
    clock,
  });
  peer.headers(1, req(), { endStream: true }).send();
  await until(() => streams.length === 1, "the call");
  clock.advance(11_000);
  await until(() => peer.goaways().length === 1, "GOAWAY max_age");
  peer.ping([...peer.written(FrameType.PING).at(-1)!.payload], true).send();
  await until(() => peer.goaways().length === 2, "second GOAWAY");
  streams[0].sendTrailers(0, "");
  streams[0].handlerDone();
  await server.closed;
  assertEquals(peer.written(FrameType.HEADERS, 1).length, 1, "the call's trailers went out");
  assertEquals(clock.pending, 0, "the grace timer was cleared");
});

Deno.test("drain: without the PING's ACK, the second GOAWAY goes out after 5 s (grpc-go gracefulStop)", async () => {
  const clock = new FakeClock();
  const streams: ServerStream[] = [];
  const { server, peer } = await handshakenServer((s) => streams.push(s), { clock });
  peer.headers(1, req()).send();
  await until(() => streams.length === 1, "the call");
  server.drain();
  await until(() => peer.goaways().length === 1, "first GOAWAY");
  clock.advance(4_999);
  await settle();
  assertEquals(peer.goaways().length, 1, "no second GOAWAY before 5 s");
  clock.advance(1);
  await until(() => peer.goaways().length === 2, "second GOAWAY at 5 s");
  assertEquals(peer.goaways()[1].lastStreamId, 1);
  void echo(streams[0]);
  peer.message(1, new Uint8Array([7]), true).send();
  await server.closed;
});

// ---- on the client transport -----------------------------------------------------------------

Deno.test("client keepalive: with a call open, an unanswered PING closes the connection and the call fails UNAVAILABLE", async () => {
  const clock = new FakeClock();
  const { client, peer } = await rawClient({}, [], {}, {
    keepalive: { timeMs: 10_000, timeoutMs: 1_000, permitWithoutStream: false },
    clock,
  });
  const s = await client.newStream(req());
  const got = s.recvMsg().then(() => null, (e) => e);
  // newStream woke the dormant pinger? It was never dormant: the first look is at 10 s.
  clock.advance(10_000);
  await until(() => ourPings(peer) === 1, "keepalive PING");
  assert(client.keepalivePingOutstanding);
  clock.advance(1_000);
  const err = await got;
  assert(err instanceof StatusError);
  assertEquals(err.code, Code.Unavailable);
  assert(err.rawMessage.includes("keepalive"), err.rawMessage);
  assert(client.isClosed);
});

Deno.test("client keepalive: no PING without a call (permitWithoutStream false); the first call wakes it", async () => {
  const clock = new FakeClock();
  const { client, peer } = await rawClient({}, [], {}, {
    keepalive: { timeMs: 10_000, timeoutMs: 1_000, permitWithoutStream: false },
    clock,
  });
  clock.advance(120_000);
  await settle();
  assertEquals(ourPings(peer), 0);
  assert(!client.isClosed);
  await client.newStream(req());
  await until(() => ourPings(peer) === 1, "a PING as the call opens");
  client.close();
});

Deno.test("client keepalive: permitWithoutStream pings an idle connection; an ACK keeps it", async () => {
  const clock = new FakeClock();
  const { client, peer } = await rawClient({}, [], {}, {
    keepalive: { timeMs: 10_000, timeoutMs: 1_000, permitWithoutStream: true },
    clock,
  });
  clock.advance(10_000);
  await until(() => ourPings(peer) === 1, "keepalive PING");
  const ping = peer.written(FrameType.PING).filter((f) => (f.flags & Flag.ACK) === 0)[0];
  peer.ping([...ping.payload], true).send();
  await settle();
  clock.advance(1_000);
  await settle();
  assert(!client.isClosed);
  client.close();
  assertEquals(clock.pending, 0);
});

Deno.test("client: GOAWAY ENHANCE_YOUR_CALM too_many_pings is flagged for the channel", async () => {
  const { client, peer } = await rawClient();
  assert(!client.tooManyPings);
  peer.goaway(0, ENHANCE_YOUR_CALM, "too_many_pings").send();
  await until(() => client.tooManyPings, "tooManyPings");
  client.close();
  const other = await rawClient();
  other.peer.goaway(0, ENHANCE_YOUR_CALM, "rapid reset").send();
  await until(() => other.client.draining, "draining");
  assert(!other.client.tooManyPings, "only the too_many_pings debug data counts");
  other.client.close();
});
