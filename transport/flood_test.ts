// Defences against the published HTTP/2 floods: rapid reset (CVE-2023-44487), PING and SETTINGS
// floods against a peer that does not read (CVE-2019-9512/9515), endless CONTINUATION
// (CVE-2024-27316 family), empty DATA frames (CVE-2019-9518), HPACK bombs, and grpc-go's
// keepalive enforcement ("too_many_pings"). Each asserts the code on the wire, what stays healthy,
// and that memory stays bounded (buffered bytes, not RSS).

import { assert, assertEquals } from "@std/assert";
import { ErrorCode, FrameType } from "./frame.ts";
import type { ServerStream } from "./http2_server.ts";
import {
  countFrames,
  handshakenServer,
  header,
  hpackIndexed,
  hpackIndexing,
  hpackLiterals,
  rawClient,
  type RawPeer,
  req,
  settle,
  until,
} from "./_testing.ts";
import { WriteBuffer } from "./buffer.ts";
import { writePing, writeSettings } from "./frame_writer.ts";
import { INITIAL_READ_BUFFER_SIZE, MAX_QUEUED_CONTROL_FRAMES } from "./defaults.ts";
import type { PipeConn } from "./_pipe.ts";

// ---- rapid reset ---------------------------------------------------------------------------

Deno.test("Rapid reset (CVE-2023-44487): opening and resetting >200 streams in a second is GOAWAY ENHANCE_YOUR_CALM", async () => {
  let now = 1_000_000;
  const streams: ServerStream[] = [];
  const { server, peer } = await handshakenServer((s) => streams.push(s), { now: () => now });
  let id = 1;
  for (let i = 0; i < 200; i++, id += 2) peer.headers(id, req()).rst(id, ErrorCode.CANCEL);
  peer.ping().send();
  await until(() => peer.pingAcks().length === 1, "PING ACK");
  assertEquals(peer.goaways(), []);
  // A second later the budget is back: 200 more are fine.
  now += 1000;
  for (let i = 0; i < 200; i++, id += 2) peer.headers(id, req()).rst(id, ErrorCode.CANCEL);
  peer.ping().send();
  await until(() => peer.pingAcks().length === 2, "PING ACK");
  assertEquals(peer.goaways(), []);
  // One more within the same second is too many.
  now += 999;
  peer.headers(id, req()).rst(id, ErrorCode.CANCEL).send();
  await server.closed;
  const g = peer.goaways();
  assertEquals(g.map((f) => f.errorCode), [ErrorCode.ENHANCE_YOUR_CALM]);
  assertEquals(g[0].lastStreamId, id);
  // Every handler saw its stream cancelled.
  assert(streams.every((s) => s.cancelled));
});

Deno.test("MadeYouReset (CVE-2025-8671): streams we reset for the peer's errors count as rapid resets", async () => {
  const now = 1_000_000;
  const streams: ServerStream[] = [];
  const { server, peer } = await handshakenServer((s) => streams.push(s), { now: () => now });
  let id = 1;
  // Each stream is opened, then made to overflow its send window: we reset it ourselves.
  for (let i = 0; i < 200; i++, id += 2) {
    peer.headers(id, req()).windowUpdate(id, 2 ** 31 - 1);
  }
  peer.ping().send();
  await until(() => peer.pingAcks().length === 1, "PING ACK");
  assertEquals(peer.goaways(), []);
  assertEquals(peer.rsts().length, 200);
  assert(peer.rsts().every((f) => f.errorCode === ErrorCode.FLOW_CONTROL_ERROR));
  peer.headers(id, req()).windowUpdate(id, 2 ** 31 - 1).send();
  await server.closed;
  assertEquals(peer.goaways().map((f) => f.errorCode), [ErrorCode.ENHANCE_YOUR_CALM]);
});

// ---- PING and SETTINGS floods against a peer that does not read -----------------------------

const CAPACITY = 4096;

// `count` frames written by `write`, as one chunk.
function flood(count: number, write: (out: WriteBuffer) => void): Uint8Array {
  const out = new WriteBuffer(1024);
  for (let i = 0; i < count; i++) write(out);
  return out.view().slice();
}

async function drainAll(conn: PipeConn, stop: () => boolean): Promise<void> {
  const buf = new Uint8Array(64 * 1024);
  while (!stop()) {
    const n = await conn.read(buf);
    if (n === null) return;
  }
}

type Role = "server" | "client";

async function floodTest(
  role: Role,
  frames: Uint8Array,
  count: number,
  answerLen: number,
  answersOf: (peer: RawPeer) => number,
) {
  // The server's keepalive policy would end a PING flood with GOAWAY (tested below); here it is
  // lenient so that the back-pressure alone is tested. The client role has no such policy.
  const { server, client } = { server: role === "server", client: role === "client" };
  const r = server
    ? await handshakenServer(() => {}, {
      keepaliveMinTimeMs: 0,
      permitKeepaliveWithoutStream: true,
    }, {
      capacity: CAPACITY,
    })
    : await rawClient({}, [], { capacity: CAPACITY });
  const t = "server" in r ? r.server : r.client;
  const { peer, conn, remote } = r;
  assert(server !== client);
  // Let the handshake's own answers (our SETTINGS ACK) reach the wire before counting.
  await t.writer.idle();
  await settle(20);
  const before = answersOf(peer);
  peer.raw(frames).send();
  await settle(20);
  // The role stopped reading: most of the flood is still unread, and what it queued in answer
  // is bounded by the control-frame limit plus what the pipe holds.
  const bound = CAPACITY + (MAX_QUEUED_CONTROL_FRAMES + 2) * answerLen;
  assert(t.writer.buffered <= bound, `writer holds ${t.writer.buffered} bytes, bound ${bound}`);
  // At most a read buffer or two of the flood was taken in.
  assert(
    frames.length - conn.unread <= 2 * INITIAL_READ_BUFFER_SIZE,
    `read ${frames.length - conn.unread} bytes`,
  );
  assert(!t.isClosed);
  // Once the peer reads again, every frame is answered, none lost.
  const done = drainAll(remote, () => answersOf(peer) - before >= count);
  await until(() => answersOf(peer) - before >= count, "all answers", 5000);
  assertEquals(answersOf(peer) - before, count);
  assertEquals(peer.goaways(), []);
  t.close();
  await done;
}

for (const role of ["server", "client"] as const) {
  Deno.test(`PING flood (${role}): reading pauses while ACKs wait unwritten; queued ACKs stay bounded; all are answered later`, async () => {
    const count = 20_000;
    const ping = new Uint8Array(8);
    const frames = flood(count, (out) => writePing(out, false, ping));
    await floodTest(
      role,
      frames,
      count,
      17,
      (p) => countFrames(p.conn.allWritten(), FrameType.PING, 1),
    );
  });

  Deno.test(`SETTINGS flood (${role}): reading pauses while ACKs wait unwritten; queued ACKs stay bounded; all are answered later`, async () => {
    const count = 20_000;
    const frames = flood(count, (out) => writeSettings(out, []));
    await floodTest(
      role,
      frames,
      count,
      9,
      (p) => countFrames(p.conn.allWritten(), FrameType.SETTINGS, 1),
    );
  });
}

// ---- header-block floods -------------------------------------------------------------------

Deno.test("Endless CONTINUATION (CVE-2024-27316): over 1000 CONTINUATION frames is GOAWAY ENHANCE_YOUR_CALM with a bounded buffer", async () => {
  const { server, peer } = await handshakenServer();
  peer.headers(1, [0x00, 0x03, 0x78, 0x2d, 0x61, 0x7f], { endHeaders: false }); // literal, huge value
  for (let i = 0; i < 1000; i++) peer.continuation(1, [0x61], false);
  peer.send();
  await settle();
  assertEquals(server.isClosed, false);
  assert(server.headerBlockBuffered <= 1006, `buffered ${server.headerBlockBuffered}`);
  peer.continuation(1, [0x61], false).send();
  await server.closed;
  assertEquals(peer.goaways().map((f) => f.errorCode), [ErrorCode.ENHANCE_YOUR_CALM]);
});

Deno.test("Endless empty CONTINUATION frames are GOAWAY ENHANCE_YOUR_CALM too", async () => {
  const { server, peer } = await handshakenServer();
  peer.headers(1, [], { endHeaders: false });
  for (let i = 0; i < 1001; i++) peer.continuation(1, [], false);
  peer.send();
  await server.closed;
  assertEquals(peer.goaways().map((f) => f.errorCode), [ErrorCode.ENHANCE_YOUR_CALM]);
  assertEquals(server.headerBlockBuffered, 0);
});

Deno.test("Empty DATA frame flood (CVE-2019-9518) is GOAWAY ENHANCE_YOUR_CALM", async () => {
  const streams: ServerStream[] = [];
  // A stopped clock: the whole flood arrives at one instant.
  const { server, peer } = await handshakenServer((s) => streams.push(s), { now: () => 5000 });
  peer.headers(1, req());
  for (let i = 0; i < 1000; i++) peer.data(1, []);
  peer.ping().send();
  await until(() => peer.pingAcks().length === 1, "PING ACK");
  assertEquals(peer.goaways(), []);
  peer.data(1, []).send();
  await server.closed;
  assertEquals(peer.goaways().map((f) => f.errorCode), [ErrorCode.ENHANCE_YOUR_CALM]);
  // An empty DATA with END_STREAM is the normal way to half-close and never counts.
});

Deno.test("The empty-DATA allowance comes back with time: a long-lived connection is never killed, a later flood is", async () => {
  let now = 1_000_000;
  const { server, peer } = await handshakenServer(() => {}, { now: () => now });
  peer.headers(1, req()).send();
  // A burst of 1000, then 20 000 more at 50 per (simulated) second, as a slow but steady peer.
  for (let i = 0; i < 1000; i++) peer.data(1, []);
  peer.ping().send();
  await until(() => peer.pingAcks().length === 1, "PING ACK");
  for (let t = 0; t < 400; t++) {
    now += 1000;
    for (let i = 0; i < 50; i++) peer.data(1, []);
    peer.send();
    await settle(1);
  }
  peer.ping().send();
  await until(() => peer.pingAcks().length === 2, "PING ACK");
  assertEquals(peer.goaways(), []);
  // 10 s of quiet refill the whole burst allowance; 1001 at once is a flood again.
  now += 10_000;
  for (let i = 0; i < 1001; i++) peer.data(1, []);
  peer.send();
  await server.closed;
  assertEquals(peer.goaways().map((f) => f.errorCode), [ErrorCode.ENHANCE_YOUR_CALM]);
});

Deno.test("Empty DATA frames with END_STREAM are not a flood", async () => {
  const streams: ServerStream[] = [];
  const { server, peer } = await handshakenServer((s) => {
    streams.push(s);
    s.sendTrailers(0, "");
    s.handlerDone();
  });
  for (let id = 1; id < 2 * 1100; id += 2) peer.headers(id, req()).data(id, [], true);
  peer.ping().send();
  await until(() => peer.pingAcks().length === 1, "PING ACK");
  assertEquals(peer.goaways(), []);
  assertEquals(streams.length, 1100);
  server.close();
});

Deno.test("HPACK bomb: a block referencing a 4 KiB table entry 1M times is RST_STREAM FRAME_SIZE_ERROR; memory bounded; the next stream works", async () => {
  const streams: ServerStream[] = [];
  const { server, peer } = await handshakenServer((s) => streams.push(s));
  // Stream 1 plants a 4000-byte entry in the dynamic table (a small, valid request).
  peer.headers(1, [...hpackLiterals(req()), ...hpackIndexing("x-bomb", "b".repeat(4000))], {
    endStream: true,
  }).send();
  await until(() => streams.length === 1, "stream 1");
  // Stream 3: ~1 MiB of one-byte references to it: 4 GiB once decoded.
  const refs = new Uint8Array(16384).fill(hpackIndexed(62)[0]);
  peer.headers(3, [...hpackLiterals(req()), ...refs.subarray(200)], { endHeaders: false });
  for (let i = 0; i < 62; i++) peer.continuation(3, refs, false);
  peer.continuation(3, refs.subarray(0, 1000), true).send();
  await until(() => peer.rsts(3).length === 1, "RST 3");
  assertEquals(peer.rsts(3)[0].errorCode, ErrorCode.FRAME_SIZE_ERROR);
  assertEquals(streams.length, 1);
  // The block buffer went back to a small one.
  assert(server.headerBlockBuffered === 0);
  // The table is still in sync: stream 5 references the entry once.
  peer.headers(5, [...hpackLiterals(req()), ...hpackIndexed(62)], { endStream: true }).send();
  await until(() => streams.length === 2, "stream 5");
  assertEquals(header(streams[1].headers, "x-bomb")?.length, 4000);
  assertEquals(peer.goaways(), []);
  server.close();
});

Deno.test("A dynamic table size update above our SETTINGS_HEADER_TABLE_SIZE is GOAWAY COMPRESSION_ERROR", async () => {
  const { server, peer } = await handshakenServer();
  // 001xxxxx with 5-bit prefix: 4097 = 31 + 4066 → 0x3f, 0xe2, 0x1f
  peer.headers(1, [0x3f, 0xe2, 0x1f, ...hpackLiterals(req())]).send();
  await server.closed;
  assertEquals(peer.goaways().map((f) => f.errorCode), [ErrorCode.COMPRESSION_ERROR]);
});

Deno.test("A malformed header block (index past the table) is GOAWAY COMPRESSION_ERROR", async () => {
  const { server, peer } = await handshakenServer();
  peer.headers(1, [...hpackIndexed(70)]).send();
  await server.closed;
  assertEquals(peer.goaways().map((f) => f.errorCode), [ErrorCode.COMPRESSION_ERROR]);
});

// ---- keepalive enforcement (grpc-go http2Server.handlePing) --------------------------------

Deno.test('Keepalive: a third ping strike without data in between is GOAWAY ENHANCE_YOUR_CALM "too_many_pings"', async () => {
  let now = 10_000_000;
  const { server, peer } = await handshakenServer(() => {}, { now: () => now });
  // No stream open and permitKeepaliveWithoutStream false: pings closer than 2 h are strikes.
  // The first ping is never a strike (grpc-go: lastPingAt starts at zero).
  for (let i = 0; i < 3; i++) {
    peer.ping().send();
    await until(() => peer.pingAcks().length === i + 1, `ACK ${i + 1}`);
    now += 1000;
  }
  // Two strikes so far (maxPingStrikes = 2 is tolerated).
  assertEquals(peer.goaways(), []);
  peer.ping().send();
  await server.closed;
  const g = peer.goaways();
  assertEquals(g.map((f) => f.errorCode), [ErrorCode.ENHANCE_YOUR_CALM]);
  assertEquals(g[0].debug, "too_many_pings");
});

Deno.test("Keepalive: data sent by the server resets the ping strikes", async () => {
  let now = 10_000_000;
  const streams: ServerStream[] = [];
  const { server, peer } = await handshakenServer((s) => streams.push(s), {
    now: () => now,
    dynamicWindow: false,
  });
  peer.headers(1, req()).send();
  await until(() => streams.length === 1, "stream");
  let acks = 0;
  async function pingOnce() {
    peer.ping().send();
    const want = ++acks;
    await until(() => peer.pingAcks().length === want, "ACK");
    now += 1000;
  }
  for (let round = 0; round < 5; round++) {
    await pingOnce(); // (first round: never a strike; later: the reset ping)
    await pingOnce(); // strike 1
    await pingOnce(); // strike 2
    await streams[0].sendMsg(new Uint8Array([round]), false); // resets strikes
  }
  assertEquals(peer.goaways(), []);
  server.close();
});

Deno.test("Keepalive: with a stream open, pings at least keepaliveMinTimeMs apart are never strikes", async () => {
  let now = 10_000_000;
  const streams: ServerStream[] = [];
  const { server, peer } = await handshakenServer((s) => streams.push(s), {
    now: () => now,
    keepaliveMinTimeMs: 10_000,
  });
  peer.headers(1, req()).send();
  await until(() => streams.length === 1, "stream");
  for (let i = 0; i < 10; i++) {
    peer.ping().send();
    await until(() => peer.pingAcks().length === i + 1, "ACK");
    now += 10_000;
  }
  assertEquals(peer.goaways(), []);
  // Faster than that: the first is on time, the next three are strikes, the third one too many.
  now += 10_000;
  for (let i = 0; i < 4; i++) {
    now += 1;
    peer.ping().send();
  }
  await server.closed;
  assertEquals(peer.goaways()[0].debug, "too_many_pings");
});

Deno.test("Keepalive: permitKeepaliveWithoutStream lets idle connections ping every keepaliveMinTimeMs", async () => {
  let now = 10_000_000;
  const { server, peer } = await handshakenServer(() => {}, {
    now: () => now,
    keepaliveMinTimeMs: 10_000,
    permitKeepaliveWithoutStream: true,
  });
  for (let i = 0; i < 10; i++) {
    peer.ping().send();
    await until(() => peer.pingAcks().length === i + 1, "ACK");
    now += 10_000;
  }
  assertEquals(peer.goaways(), []);
  assertEquals(server.isClosed, false);
  server.close();
});

Deno.test("A connection error closes the socket even when the peer stops reading (GOAWAY cannot be flushed)", async () => {
  // capacity 0 and nobody reading: the server's writes never complete.
  const { server, peer, conn } = await handshakenServer(() => {}, {}, { capacity: 0 });
  // PING on a stream is a connection error (RFC 9113 §6.7).
  peer.raw([0, 0, 8, 6, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]).send();
  await server.closed; // resolves only because the close does not wait for the flush forever
  assertEquals(server.isClosed, true);
  assertEquals(conn.closedLocally, true);
});
