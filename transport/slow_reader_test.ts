// The receive-memory bound (ARCHITECTURE.md "Flow control"): a peer that honours every window
// and keeps sending to an application that stopped reading is stopped by the stream window; what
// the stream holds unread stays under window + one message. Both roles, static and BDP windows,
// messages larger than the window split over many frames (issue #13's attack).

import { assert, assertEquals } from "@std/assert";
import { pipe } from "./_pipe.ts";
import { GreedyPeer } from "./_greedy_peer.ts";
import { ClientTransport } from "./http2_client.ts";
import { type ServerStream, ServerTransport } from "./http2_server.ts";
import { DEFAULT_TRANSPORT_OPTIONS } from "./options.ts";
import { MAX_BDP_WINDOW } from "./defaults.ts";
import { req, resp, SERVER_OPTS, until } from "./_testing.ts";

const CAP = 256 << 20; // a receiver without a bound lets this much through, and the test fails
const BODY = new Uint8Array(100 * 1024).fill(7);
const FRAME = 10_000; // each message over 11 DATA frames

for (const dynamicWindow of [false, true]) {
  const label = dynamicWindow ? "BDP windows" : "static windows";

  Deno.test(`slow reader (server, ${label}): a handler that stopped reading holds at most window + one message`, async () => {
    const [a, b] = pipe();
    let stream: ServerStream | undefined;
    const server = new ServerTransport(b, { ...SERVER_OPTS, dynamicWindow }, (s) => {
      stream = s;
      // A server-streaming handler: reads its one request, then only ever sends.
      s.recvMsg();
    });
    server.begin();
    const peer = new GreedyPeer(a, {
      role: "client",
      headers: req(),
      first: new Uint8Array(10),
      body: BODY,
      frameSize: FRAME,
      cap: CAP,
    });
    peer.start();
    await peer.untilStalled();
    assert(peer.accepted < CAP, `the server kept granting: ${peer.accepted} bytes`);
    assertEquals([peer.rstCode, peer.goawayCode], [-1, -1]);
    const s = stream!;
    const bound = s.recvFlow.limit + 5 + BODY.length;
    assert(s.unreadBytes <= bound, `${s.unreadBytes} unread > ${bound}`);
    assertEquals(s.unreadBytes, peer.accepted - 15); // all but the request, none lost
    assert(s.unreadBytes <= MAX_BDP_WINDOW + SERVER_OPTS.maxReceiveMessageSize);
    // It reads again: the window reopens and the flood resumes.
    const before = peer.accepted;
    for (let i = 0; i < 3; i++) assertEquals((await s.recvMsg())?.length, BODY.length);
    await until(() => peer.accepted > before, "the flood to resume");
    peer.close();
    server.close();
  });

  Deno.test(`slow reader (client, ${label}): a caller that stopped reading holds at most window + one message`, async () => {
    const [a, b] = pipe();
    const client = new ClientTransport(a, { ...DEFAULT_TRANSPORT_OPTIONS, dynamicWindow });
    client.begin();
    const peer = new GreedyPeer(b, {
      role: "server",
      headers: resp(),
      body: BODY,
      frameSize: FRAME,
      cap: CAP,
    });
    peer.start();
    await client.handshaked;
    const s = await client.newStream(req());
    await s.sendMsg(new Uint8Array(10), false, true);
    // The caller reads one response, then its consumer stalls.
    assertEquals((await s.recvMsg())?.length, BODY.length);
    await peer.untilStalled();
    assert(peer.accepted < CAP, `the client kept granting: ${peer.accepted} bytes`);
    assertEquals([peer.rstCode, peer.goawayCode], [-1, -1]);
    const bound = s.recvFlow.limit + 5 + BODY.length;
    assert(s.unreadBytes <= bound, `${s.unreadBytes} unread > ${bound}`);
    assertEquals(s.unreadBytes, peer.accepted - (5 + BODY.length));
    peer.close();
    client.close();
  });
}

Deno.test("slow reader: one stalled stream does not hold the connection window hostage", async () => {
  // Stream 1 stops reading with its window full; a second stream on the same connection still
  // moves 8 MiB (the connection window is credited on receipt).
  const [a, b] = pipe();
  const streams: ServerStream[] = [];
  const server = new ServerTransport(b, { ...SERVER_OPTS, dynamicWindow: false }, (s) => {
    streams.push(s);
  });
  server.begin();
  const client = new ClientTransport(a, { ...DEFAULT_TRANSPORT_OPTIONS, dynamicWindow: false });
  client.begin();
  const stalled = await client.newStream(req());
  const stalledSends: Promise<void>[] = [];
  for (let i = 0; i < 100; i++) stalledSends.push(stalled.sendMsg(new Uint8Array(10_000), false));
  await until(() => streams.length === 1 && streams[0].unreadBytes >= 65535 - 16384, "stall");
  const live = await client.newStream(req());
  await until(() => streams.length === 2, "second stream");
  let got = 0;
  const reading = (async () => {
    for (;;) {
      const m = await streams[1].recvMsg();
      if (m === null) return;
      got += m.length;
    }
  })();
  const chunk = new Uint8Array(64 * 1024);
  for (let i = 0; i < 128; i++) await live.sendMsg(chunk, false);
  live.closeSend();
  await reading;
  assertEquals(got, 8 << 20);
  assert(streams[0].unreadBytes <= 65535);
  client.close();
  server.close();
  await Promise.all(stalledSends);
});
