// Connection-level behaviour of both roles: handshake, SETTINGS and PING, the stream state
// machine (RFC 9113 §5.1), frame sequencing (§6.10), graceful drain, and round trips.

import { assert, assertEquals, assertRejects } from "@std/assert";
import { ErrorCode, Flag, FrameType, SettingId } from "./frame.ts";
import type { ServerStream } from "./http2_server.ts";
import { ClientTransport } from "./http2_client.ts";
import { DEFAULT_TRANSPORT_OPTIONS } from "./options.ts";
import { pipe } from "./_pipe.ts";
import { HpackDecoder } from "./hpack.ts";
import {
  connected,
  echo,
  handshakenServer,
  header,
  hpackLiterals,
  rawClient,
  RawPeer,
  rawServer,
  req,
  settle,
  until,
} from "./_testing.ts";
import { Code, StatusError } from "../status.ts";

const MAX_ID = 2 ** 31 - 1;

// ---- handshake -----------------------------------------------------------------------------

Deno.test("ServerTransport answers a bad preface with GOAWAY PROTOCOL_ERROR and closes", async () => {
  const { server, peer } = rawServer();
  peer.raw(new TextEncoder().encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n")).send();
  await server.closed;
  const g = peer.goaways();
  assertEquals(g.length, 1);
  assertEquals(g[0].errorCode, ErrorCode.PROTOCOL_ERROR);
  assertEquals(g[0].lastStreamId, 0);
  await assertRejects(() => server.handshaked);
});

Deno.test("ServerTransport answers a first frame other than SETTINGS with PROTOCOL_ERROR", async () => {
  const { server, peer } = rawServer();
  peer.preface().ping().send();
  await server.closed;
  assertEquals(peer.goaways().map((f) => f.errorCode), [ErrorCode.PROTOCOL_ERROR]);
  // The PING was not answered.
  assertEquals(peer.pingAcks().length, 0);
});

Deno.test("ClientTransport answers a server whose first frame is not SETTINGS with PROTOCOL_ERROR", async () => {
  const [a] = pipe();
  const client = new ClientTransport(a, DEFAULT_TRANSPORT_OPTIONS);
  client.begin();
  const peer = new RawPeer(a);
  peer.ping().send();
  await client.closed;
  assertEquals(peer.goaways().map((f) => f.errorCode), [ErrorCode.PROTOCOL_ERROR]);
  await assertRejects(() => client.handshaked);
});

Deno.test("ServerTransport sends its SETTINGS, ACKs the peer's, and applies them", async () => {
  const { server, peer } = rawServer(() => {}, { maxConcurrentStreams: 10 });
  peer.preface().settings([
    SettingId.MAX_FRAME_SIZE,
    32768,
    SettingId.MAX_CONCURRENT_STREAMS,
    7,
    SettingId.INITIAL_WINDOW_SIZE,
    1000,
    0xf0,
    1, // unknown: ignored (§6.5.2)
  ]).send();
  await server.handshaked;
  await until(() => peer.written(FrameType.SETTINGS).length === 2, "SETTINGS ACK");
  const [ours, ack] = peer.written(FrameType.SETTINGS);
  assertEquals(ours.flags & Flag.ACK, 0);
  assertEquals(ours.settings.includes(SettingId.MAX_CONCURRENT_STREAMS), true);
  assertEquals(ours.settings[ours.settings.indexOf(SettingId.MAX_CONCURRENT_STREAMS) + 1], 10);
  assertEquals(ack.flags & Flag.ACK, Flag.ACK);
  assertEquals(ack.length, 0);
  assertEquals(server.peerMaxFrameSize, 32768);
  assertEquals(server.peerMaxConcurrentStreams, 7);
  assertEquals(server.peerInitialWindowSize, 1000);
  server.close();
});

Deno.test("ClientTransport sends the preface, SETTINGS with ENABLE_PUSH 0, and ACKs the server's", async () => {
  const { client, peer, conn } = await rawClient();
  await peer.firstSettings();
  const bytes = conn.allWritten();
  assertEquals(new TextDecoder().decode(bytes.subarray(0, 24)), "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
  await until(() => peer.written(FrameType.SETTINGS).length === 2, "SETTINGS ACK");
  const [ours, ack] = peer.written(FrameType.SETTINGS);
  assertEquals(ours.settings.slice(0, 2), [SettingId.ENABLE_PUSH, 0]);
  assertEquals(ack.flags, Flag.ACK);
  client.close();
});

Deno.test("ServerTransport answers PING with a PING ACK echoing the payload", async () => {
  const { server, peer } = await handshakenServer();
  peer.ping([9, 8, 7, 6, 5, 4, 3, 2]).send();
  await until(() => peer.pingAcks().length === 1, "PING ACK");
  const [p] = peer.written(FrameType.PING);
  assertEquals(p.flags, Flag.ACK);
  assertEquals([...p.payload], [9, 8, 7, 6, 5, 4, 3, 2]);
  // A PING ACK from the peer is not answered.
  peer.ping([1, 1, 1, 1, 1, 1, 1, 1], true).send();
  await settle();
  assertEquals(peer.written(FrameType.PING).length, 1);
  assertEquals(server.isClosed, false);
  server.close();
});

Deno.test("ping() resolves on the peer's ACK", async () => {
  const { server, client } = connected((s) => void echo(s));
  await client.ping();
  await server.ping();
  client.close();
  server.close();
});

Deno.test("ping() rejects when the connection closes before the ACK, and after it closed", async () => {
  // The peer never answers: the client's PING waits until the connection goes.
  const { client, peer } = await rawClient();
  const p = client.ping();
  await until(() => peer.written(FrameType.PING).length === 1, "PING");
  client.close(new StatusError(Code.Unavailable, "gone"));
  const err = await assertRejects(() => p, StatusError);
  assertEquals(err.rawMessage, "gone");
  assertEquals((await assertRejects(() => client.ping(), StatusError)).code, Code.Unavailable);
  // A connection error (GOAWAY from us) rejects it too.
  const { server, peer: p2 } = await handshakenServer();
  const q = server.ping();
  p2.frame(FrameType.PUSH_PROMISE, Flag.END_HEADERS, 1, [0, 0, 0, 2]).send();
  assertEquals((await assertRejects(() => q, StatusError)).code, Code.Internal);
  server.close();
});

Deno.test("ServerTransport ignores unknown frame types and PRIORITY frames", async () => {
  const { server, peer } = await handshakenServer();
  peer.frame(0xfa, 0xff, 1, [1, 2, 3]).frame(FrameType.PRIORITY, 0, 3, [0, 0, 0, 0, 16]).ping()
    .send();
  await until(() => peer.pingAcks().length === 1, "PING ACK");
  assertEquals(peer.goaways().length, 0);
  assertEquals(peer.rsts().length, 0);
  server.close();
});

// ---- stream states (RFC 9113 §5.1) ---------------------------------------------------------

async function expectGoaway(
  peer: { goaways(): { errorCode: number; lastStreamId: number; debug: string }[] },
  server: { closed: Promise<void> },
  code: number,
) {
  await server.closed;
  const g = peer.goaways();
  assertEquals(g.length, 1, "one GOAWAY");
  assertEquals(g[0].errorCode, code);
  return g[0];
}

Deno.test("DATA on an idle stream is a connection PROTOCOL_ERROR", async () => {
  const { server, peer } = await handshakenServer();
  peer.data(5, [0, 0, 0, 0, 0]).send();
  await expectGoaway(peer, server, ErrorCode.PROTOCOL_ERROR);
});

Deno.test("DATA after END_STREAM (half-closed remote) is RST_STREAM STREAM_CLOSED; the connection lives", async () => {
  const streams: ServerStream[] = [];
  const { server, peer } = await handshakenServer((s) => streams.push(s));
  peer.headers(1, req(), { endStream: true }).send();
  await until(() => streams.length === 1, "stream 1");
  peer.message(1, new Uint8Array([1])).send();
  await until(() => peer.rsts(1).length === 1, "RST_STREAM");
  assertEquals(peer.rsts(1)[0].errorCode, ErrorCode.STREAM_CLOSED);
  await assertRejects(() => streams[0].recvMsg(), StatusError);
  // Still healthy: a new stream is served.
  peer.headers(3, req(), { endStream: true }).ping().send();
  await until(() => streams.length === 2, "stream 3");
  await until(() => peer.pingAcks().length === 1, "PING ACK");
  assertEquals(peer.goaways().length, 0);
  assertEquals(server.isClosed, false);
  server.close();
});

Deno.test("HEADERS on an even stream id from a client is a connection PROTOCOL_ERROR", async () => {
  const { server, peer } = await handshakenServer();
  peer.headers(2, req()).send();
  await expectGoaway(peer, server, ErrorCode.PROTOCOL_ERROR);
});

Deno.test("A decreasing stream id is a connection PROTOCOL_ERROR", async () => {
  const { server, peer } = await handshakenServer();
  peer.headers(5, req()).headers(3, req()).send();
  const g = await expectGoaway(peer, server, ErrorCode.PROTOCOL_ERROR);
  assertEquals(g.lastStreamId, 5);
});

Deno.test("HEADERS interrupted by another frame before CONTINUATION is a PROTOCOL_ERROR", async () => {
  const { server, peer } = await handshakenServer();
  const block = [...new Uint8Array(0)];
  peer.headers(1, req(), { endHeaders: false }).ping().continuation(1, block, true).send();
  await expectGoaway(peer, server, ErrorCode.PROTOCOL_ERROR);
  assertEquals(peer.pingAcks().length, 0);
});

Deno.test("CONTINUATION on another stream than its HEADERS is a PROTOCOL_ERROR", async () => {
  const { server, peer } = await handshakenServer();
  peer.headers(1, req(), { endHeaders: false }).continuation(3, [], true).send();
  await expectGoaway(peer, server, ErrorCode.PROTOCOL_ERROR);
});

Deno.test("CONTINUATION without HEADERS is a PROTOCOL_ERROR", async () => {
  const { server, peer } = await handshakenServer();
  peer.continuation(1, [0x82], true).send();
  await expectGoaway(peer, server, ErrorCode.PROTOCOL_ERROR);
});

Deno.test("RST_STREAM on an idle stream is a PROTOCOL_ERROR", async () => {
  const { server, peer } = await handshakenServer();
  peer.rst(7, ErrorCode.CANCEL).send();
  await expectGoaway(peer, server, ErrorCode.PROTOCOL_ERROR);
});

Deno.test("WINDOW_UPDATE on an idle stream is a PROTOCOL_ERROR", async () => {
  const { server, peer } = await handshakenServer();
  peer.windowUpdate(9, 100).send();
  await expectGoaway(peer, server, ErrorCode.PROTOCOL_ERROR);
});

Deno.test("Frames on a server-initiated (even, never opened) stream are a PROTOCOL_ERROR", async () => {
  const { server, peer } = await handshakenServer();
  peer.data(2, [0]).send();
  await expectGoaway(peer, server, ErrorCode.PROTOCOL_ERROR);
});

Deno.test("PUSH_PROMISE sent to a server is a PROTOCOL_ERROR", async () => {
  const { server, peer } = await handshakenServer();
  peer.headers(1, req()).frame(FrameType.PUSH_PROMISE, Flag.END_HEADERS, 1, [0, 0, 0, 2, 0x82])
    .send();
  await expectGoaway(peer, server, ErrorCode.PROTOCOL_ERROR);
});

Deno.test("PUSH_PROMISE sent to a client (push disabled) is a PROTOCOL_ERROR", async () => {
  const { client, peer } = await rawClient();
  const s = await client.newStream(req());
  peer.frame(FrameType.PUSH_PROMISE, Flag.END_HEADERS, 1, [0, 0, 0, 2, 0x82]).send();
  await client.closed;
  assertEquals(peer.goaways().map((f) => f.errorCode), [ErrorCode.PROTOCOL_ERROR]);
  const err = await assertRejects(() => s.recvMsg(), StatusError);
  assertEquals(err.code, Code.Unavailable);
});

Deno.test("RST_STREAM from the client cancels the server stream; other streams carry on", async () => {
  const streams: ServerStream[] = [];
  const cancels: string[] = [];
  const { server, peer } = await handshakenServer((s) => {
    s.cancelListener = { onStreamCancel: (r) => cancels.push(`${s.id}:${r}`) };
    streams.push(s);
  });
  peer.headers(1, req()).headers(3, req()).send();
  await until(() => streams.length === 2, "two streams");
  peer.rst(1, ErrorCode.CANCEL).message(3, new Uint8Array([7]), true).send();
  await until(() => cancels.length === 1, "cancel");
  assertEquals(cancels, ["1:rst"]);
  const err = await assertRejects(() => streams[0].recvMsg(), StatusError);
  assertEquals(err.code, Code.Canceled);
  assertEquals(await streams[1].recvMsg(), new Uint8Array([7]));
  assertEquals(await streams[1].recvMsg(), null);
  assertEquals(server.streams.has(1), false);
  server.close();
});

// ---- server drain --------------------------------------------------------------------------

Deno.test("drain() sends GOAWAY(2^31-1) + PING, then GOAWAY(last id) on the ACK; later streams are refused; running ones finish; then it closes", async () => {
  const streams: ServerStream[] = [];
  const { server, peer } = await handshakenServer((s) => streams.push(s));
  peer.headers(1, req()).send();
  await until(() => streams.length === 1, "stream 1");
  server.drain();
  await until(
    () => peer.goaways().length === 1 && peer.written(FrameType.PING).length === 1,
    "first GOAWAY + PING",
  );
  const [g1] = peer.goaways();
  assertEquals(g1.lastStreamId, MAX_ID);
  assertEquals(g1.errorCode, ErrorCode.NO_ERROR);
  const [ping] = peer.written(FrameType.PING);
  assertEquals(ping.flags & Flag.ACK, 0);
  // A stream opened between the two GOAWAYs is still accepted (it raced the first one).
  peer.headers(3, req()).send();
  await until(() => streams.length === 2, "stream 3");
  // The ACK triggers the second GOAWAY with the last stream id processed.
  peer.ping([...ping.payload], true).send();
  await until(() => peer.goaways().length === 2, "second GOAWAY");
  assertEquals(peer.goaways()[1].lastStreamId, 3);
  assertEquals(peer.goaways()[1].errorCode, ErrorCode.NO_ERROR);
  // After it, new streams are refused.
  peer.headers(5, req()).send();
  await until(() => peer.rsts(5).length === 1, "RST 5");
  assertEquals(peer.rsts(5)[0].errorCode, ErrorCode.REFUSED_STREAM);
  assertEquals(streams.length, 2);
  // Running streams complete normally.
  peer.message(1, new Uint8Array([1]), true).message(3, new Uint8Array([3]), true).send();
  for (const s of streams) {
    const m = await s.recvMsg();
    await s.sendMsg(m!, false);
    assertEquals(await s.recvMsg(), null);
    assertEquals(server.isClosed, false);
    s.sendTrailers(0, "");
    s.handlerDone();
  }
  await server.closed;
  const frames = peer.frames();
  for (const id of [1, 3]) {
    const trailers = frames.filter((f) => f.type === FrameType.HEADERS && f.streamId === id).at(
      -1,
    )!;
    assertEquals(header(trailers.headers, "grpc-status"), "0");
    assertEquals(trailers.flags & Flag.END_STREAM, Flag.END_STREAM);
  }
  // No error GOAWAY at the end.
  assertEquals(peer.goaways().length, 2);
});

Deno.test("drain() with no streams closes once the PING is acknowledged", async () => {
  const { server, client } = connected(() => {});
  await client.handshaked;
  server.drain();
  await server.closed;
  await client.closed;
  assert(client.goawayReceived);
});

Deno.test("ClientTransport and ServerTransport finish every call when the server drains", async () => {
  const { server, client } = connected((s) => void echo(s));
  await client.handshaked;
  const s = await client.newStream(req());
  server.drain();
  await s.sendMsg(new Uint8Array([5]), false, true);
  assertEquals(await s.recvMsg(), new Uint8Array([5]));
  assertEquals(await s.recvMsg(), null);
  await server.closed;
  await client.closed;
});

// ---- round trips ---------------------------------------------------------------------------

Deno.test("transport: unary round trip over the in-memory pipe", async () => {
  const { server, client } = connected((s) => void echo(s));
  const s = await client.newStream(req());
  await s.sendMsg(new Uint8Array([1, 2, 3]), false, true);
  assertEquals(await s.recvMsg(), new Uint8Array([1, 2, 3]));
  assertEquals(await s.recvMsg(), null);
  assertEquals(header(s.trailers, "grpc-status"), "0");
  client.close();
  server.close();
  await Promise.all([client.closed, server.closed]);
});

Deno.test("transport: request headers reach the server, metadata round-trips, streaming works", async () => {
  let seen: string[] = [];
  const { server, client } = connected(async (s) => {
    seen = s.headers;
    s.sendHeaders(["x-resp", "r"]);
    for (;;) {
      const m = await s.recvMsg();
      if (m === null) break;
      await s.sendMsg(m, false);
      await s.sendMsg(m, false);
    }
    s.sendTrailers(0, "", ["x-trailer", "t"]);
    s.handlerDone();
  });
  const s = await client.newStream(req("/a.B/C", ["x-md", "v"]));
  assertEquals(header(await s.headers(), "x-resp"), "r");
  for (let i = 0; i < 10; i++) {
    await s.sendMsg(new Uint8Array([i]), false);
    assertEquals(await s.recvMsg(), new Uint8Array([i]));
    assertEquals(await s.recvMsg(), new Uint8Array([i]));
  }
  s.closeSend();
  assertEquals(await s.recvMsg(), null);
  assertEquals(header(s.trailers, "x-trailer"), "t");
  assertEquals(header(seen, ":path"), "/a.B/C");
  assertEquals(header(seen, "x-md"), "v");
  client.close();
  server.close();
});

Deno.test("transport: a stream error on one stream never loses another stream's data", async () => {
  const { server, client } = connected((s) => void echo(s));
  const a = await client.newStream(req());
  const b = await client.newStream(req());
  await a.sendMsg(new Uint8Array([1]), false);
  a.cancel(new StatusError(Code.Canceled, "bye"));
  await b.sendMsg(new Uint8Array([2]), false, true);
  assertEquals(await b.recvMsg(), new Uint8Array([2]));
  assertEquals(await b.recvMsg(), null);
  const err = await assertRejects(() => a.recvMsg(), StatusError);
  assertEquals(err.code, Code.Canceled);
  await settle();
  assertEquals(server.streams.size, 0);
  client.close();
  server.close();
});

Deno.test("HEADERS depending on its own stream is RST_STREAM PROTOCOL_ERROR and opens nothing, with or without CONTINUATION", async () => {
  const streams: ServerStream[] = [];
  const { server, peer } = await handshakenServer((s) => streams.push(s));
  for (const [id, split] of [[1, false], [3, true]] as const) {
    // PRIORITY flag: exclusive bit + dependency on itself + weight, then the block.
    const block = hpackLiterals(req());
    const prio = [0x80, 0, 0, id, 16];
    if (!split) {
      peer.frame(FrameType.HEADERS, Flag.END_HEADERS | Flag.PRIORITY, id, [...prio, ...block]);
    } else {
      peer.frame(FrameType.HEADERS, Flag.PRIORITY, id, [...prio, ...block.slice(0, 10)])
        .continuation(id, block.slice(10), true);
    }
    peer.send();
    await until(() => peer.rsts(id).length === 1, `RST ${id}`);
    assertEquals(peer.rsts(id)[0].errorCode, ErrorCode.PROTOCOL_ERROR);
  }
  await settle();
  assertEquals(streams.length, 0);
  assertEquals(server.streams.size, 0);
  // The connection (and its HPACK state) is fine.
  peer.headers(5, req(), { endStream: true }).send();
  await until(() => streams.length === 1, "stream 5");
  assertEquals(peer.goaways(), []);
  server.close();
});

Deno.test("DATA still in flight on a stream we closed is ignored (connection window credited, no RST per frame)", async () => {
  const streams: ServerStream[] = [];
  const { server, peer } = await handshakenServer((s) => {
    streams.push(s);
    s.sendTrailers(0, ""); // answers at once, while the client still uploads
    s.handlerDone();
  }, { dynamicWindow: false });
  peer.headers(1, req()).send();
  await until(() => peer.rsts(1).length === 1, "RST NO_ERROR after trailers");
  assertEquals(peer.rsts(1)[0].errorCode, ErrorCode.NO_ERROR);
  for (let i = 0; i < 8; i++) peer.data(1, new Uint8Array(16384));
  peer.ping().send();
  await until(() => peer.pingAcks().length === 1, "PING ACK");
  assertEquals(peer.rsts(1).length, 1);
  let credited = 0;
  for (const f of peer.written(FrameType.WINDOW_UPDATE, 0)) credited += f.increment;
  assertEquals(credited, 8 * 16384);
  assertEquals(peer.goaways(), []);
  server.close();
});

Deno.test("The peer's SETTINGS_HEADER_TABLE_SIZE 0 is honoured: a size update, then no dynamic-table references", async () => {
  const { server, peer } = rawServer((s) => {
    s.sendHeaders(["x-repeat", "same-value"]);
    s.sendTrailers(0, "", ["x-repeat", "same-value"]);
    s.handlerDone();
  });
  peer.preface().settings([SettingId.HEADER_TABLE_SIZE, 0]).settingsAck().send();
  await server.handshaked;
  for (const id of [1, 3, 5]) peer.headers(id, req(), { endStream: true });
  peer.send();
  await until(() => peer.written(FrameType.HEADERS).length === 6, "three responses");
  // A decoder whose table holds nothing decodes every block (parseFrames would throw on a
  // reference past the table), and the first block starts with the size update 0 (0x20).
  const blocks = peer.written(FrameType.HEADERS);
  assertEquals(blocks[0].payload[0], 0x20);
  for (const b of blocks) assertEquals(header(b.headers, "x-repeat"), "same-value");
  const dec = new HpackDecoder({ maxTableSize: 0 });
  for (const b of blocks) {
    const out: string[] = [];
    dec.decode(b.payload, 0, b.payload.length, out);
    assertEquals(header(out, "x-repeat"), "same-value");
  }
  server.close();
});
