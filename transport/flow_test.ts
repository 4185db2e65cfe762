// Flow control (RFC 9113 §6.9, §6.9.2) and the BDP estimator: windows on both sides, SETTINGS
// INITIAL_WINDOW_SIZE changes, overflow, WINDOW_UPDATE cadence, bulk transfers without deadlock.

import { assert, assertEquals, assertRejects } from "@std/assert";
import { ErrorCode, Flag, FrameType, SettingId } from "./frame.ts";
import type { ServerStream } from "./http2_server.ts";
import {
  connected,
  dataBytes,
  echo,
  grpcFrame,
  handshakenServer,
  header,
  parseFrames,
  req,
  settle,
  until,
} from "./_testing.ts";
import { Code, StatusError } from "../status.ts";

const MAX_WINDOW = 2 ** 31 - 1;

function pattern(n: number, seed = 7): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * seed + (i >> 11)) & 0xff;
  return b;
}

// ---- send side: the peer's windows ---------------------------------------------------------

Deno.test("SETTINGS_INITIAL_WINDOW_SIZE changes apply to open streams, down to negative windows (§6.9.2)", async () => {
  const streams: ServerStream[] = [];
  const { server, peer } = await handshakenServer((s) => streams.push(s));
  peer.headers(1, req(), { endStream: true }).send();
  await until(() => streams.length === 1, "stream");
  const s = streams[0];
  const body = pattern(100_000);
  let sent = false;
  s.sendMsg(body, false).then(() => (sent = true));
  await until(() => dataBytes(peer.frames(), 1) === 65535, "a full window");
  assertEquals(s.sendWindow, 0);
  assertEquals(server.connSendWindow, 0);
  assertEquals(sent, false);

  // Shrink the initial window: the open stream's window goes negative.
  peer.settings([SettingId.INITIAL_WINDOW_SIZE, 1000]).windowUpdate(0, 1_000_000).send();
  await until(() => s.sendWindow === 1000 - 65535, "negative window");
  // Credit up to zero: still nothing may be sent.
  peer.windowUpdate(1, 65535 - 1000).send();
  await until(() => s.sendWindow === 0, "window 0");
  await settle();
  assertEquals(dataBytes(peer.frames(), 1), 65535);
  // 500 more: exactly 500 more bytes go out.
  peer.windowUpdate(1, 500).send();
  await until(() => dataBytes(peer.frames(), 1) === 65535 + 500, "500 more bytes");
  await settle();
  assertEquals(dataBytes(peer.frames(), 1), 65535 + 500);
  // Growing the initial window releases the rest.
  peer.settings([SettingId.INITIAL_WINDOW_SIZE, 1_000_000]).send();
  await until(() => dataBytes(peer.frames(), 1) === 100_005, "the rest");
  await until(() => sent, "sendMsg resolves");
  assertEquals(s.sendWindow, (1_000_000 - 1000) - (100_005 - 65_535 - 500));
  // New streams start from the new value.
  peer.headers(3, req()).send();
  await until(() => streams.length === 2, "stream 3");
  assertEquals(streams[1].sendWindow, 1_000_000);
  // The payload arrived intact, split into frames no larger than 16384.
  const frames = peer.frames().filter((f) => f.type === FrameType.DATA && f.streamId === 1);
  const got = new Uint8Array(100_005);
  let o = 0;
  for (const f of frames) {
    assert(f.length <= 16384);
    got.set(f.payload, o);
    o += f.length;
  }
  assertEquals(got, grpcFrame(body));
  server.close();
});

Deno.test("WINDOW_UPDATE overflowing a stream window is RST_STREAM FLOW_CONTROL_ERROR; the connection lives", async () => {
  const streams: ServerStream[] = [];
  const { server, peer } = await handshakenServer((s) => streams.push(s));
  peer.headers(1, req()).headers(3, req()).send();
  await until(() => streams.length === 2, "streams");
  peer.windowUpdate(1, MAX_WINDOW - 65535).send(); // exactly the maximum: fine
  await settle();
  assertEquals(peer.rsts().length, 0);
  peer.windowUpdate(1, 1).send();
  await until(() => peer.rsts(1).length === 1, "RST_STREAM");
  assertEquals(peer.rsts(1)[0].errorCode, ErrorCode.FLOW_CONTROL_ERROR);
  await assertRejects(() => streams[0].recvMsg(), StatusError);
  // Stream 3 and the connection are fine.
  peer.message(3, new Uint8Array([3]), true).ping().send();
  assertEquals(await streams[1].recvMsg(), new Uint8Array([3]));
  await until(() => peer.pingAcks().length === 1, "PING ACK");
  assertEquals(peer.goaways().length, 0);
  server.close();
});

Deno.test("WINDOW_UPDATE overflowing the connection window is GOAWAY FLOW_CONTROL_ERROR", async () => {
  const { server, peer } = await handshakenServer();
  peer.windowUpdate(0, MAX_WINDOW - 65535).send();
  await settle();
  assertEquals(server.isClosed, false);
  peer.windowUpdate(0, 1).send();
  await server.closed;
  assertEquals(peer.goaways().map((g) => g.errorCode), [ErrorCode.FLOW_CONTROL_ERROR]);
});

Deno.test("SETTINGS_INITIAL_WINDOW_SIZE that overflows an open stream window is GOAWAY FLOW_CONTROL_ERROR", async () => {
  const streams: ServerStream[] = [];
  const { server, peer } = await handshakenServer((s) => streams.push(s));
  peer.headers(1, req()).windowUpdate(1, MAX_WINDOW - 65535).send();
  await until(() => streams.length === 1 && streams[0].sendWindow === MAX_WINDOW, "stream at max");
  peer.settings([SettingId.INITIAL_WINDOW_SIZE, 65536]).send();
  await server.closed;
  assertEquals(peer.goaways().map((g) => g.errorCode), [ErrorCode.FLOW_CONTROL_ERROR]);
});

Deno.test("SETTINGS_INITIAL_WINDOW_SIZE above 2^31-1 is GOAWAY FLOW_CONTROL_ERROR", async () => {
  const { server, peer } = await handshakenServer();
  peer.settings([SettingId.INITIAL_WINDOW_SIZE, 2 ** 31]).send();
  await server.closed;
  assertEquals(peer.goaways().map((g) => g.errorCode), [ErrorCode.FLOW_CONTROL_ERROR]);
});

// ---- receive side: our windows -------------------------------------------------------------

Deno.test("DATA beyond the stream window is RST_STREAM FLOW_CONTROL_ERROR; other streams carry on", async () => {
  const streams: ServerStream[] = [];
  const { server, peer } = await handshakenServer((s) => streams.push(s), {
    dynamicWindow: false,
    initialConnWindowSize: 1 << 20,
  });
  peer.headers(1, req()).headers(3, req()).send();
  await until(() => streams.length === 2, "streams");
  // Four whole messages of 16384 bytes on the wire each; nobody reads them, so none is credited
  // back: the fourth passes the 65535-byte stream window by one byte.
  const m = new Uint8Array(16384 - 5);
  peer.message(1, m).message(1, m).message(1, m).send();
  await settle();
  assertEquals(peer.rsts().length, 0);
  assertEquals(peer.written(FrameType.WINDOW_UPDATE, 1).length, 0);
  peer.message(1, m).send();
  await until(() => peer.rsts(1).length === 1, "RST_STREAM");
  assertEquals(peer.rsts(1)[0].errorCode, ErrorCode.FLOW_CONTROL_ERROR);
  const err = await assertRejects(() => streams[0].recvMsg(), StatusError);
  assertEquals(err.code, Code.Canceled);
  // Stream 3 still works, and so does the connection.
  peer.message(3, new Uint8Array([1, 2]), true).send();
  assertEquals(await streams[1].recvMsg(), new Uint8Array([1, 2]));
  assertEquals(peer.goaways().length, 0);
  assertEquals(server.isClosed, false);
  server.close();
});

Deno.test("DATA beyond the connection window is GOAWAY FLOW_CONTROL_ERROR", async () => {
  const streams: ServerStream[] = [];
  const { server, peer } = await handshakenServer((s) => streams.push(s), {
    dynamicWindow: false,
    maxFrameSize: 1 << 20,
    initialWindowSize: 1 << 20,
    initialConnWindowSize: 65535,
  });
  peer.headers(1, req()).send();
  await until(() => streams.length === 1, "stream");
  peer.data(1, new Uint8Array(65535)).send(); // exactly the window: fine
  await settle();
  assertEquals(server.isClosed, false);
  // The window was credited back a quarter at a time? No: one frame, one WINDOW_UPDATE.
  const wu = peer.written(FrameType.WINDOW_UPDATE, 0);
  assertEquals(wu.map((f) => f.increment), [65535]);
  peer.data(1, new Uint8Array(65536)).send();
  await server.closed;
  assertEquals(peer.goaways().map((g) => g.errorCode), [ErrorCode.FLOW_CONTROL_ERROR]);
});

Deno.test("WINDOW_UPDATE goes out once a quarter of a window is received (connection) or read (stream)", async () => {
  const streams: ServerStream[] = [];
  const { server, peer } = await handshakenServer((s) => streams.push(s), { dynamicWindow: false });
  peer.headers(1, req()).send();
  await until(() => streams.length === 1, "stream");
  const prefix = [0, 0, 0, 0x75, 0x30]; // a message of 30000 bytes
  peer.data(1, [...prefix, ...new Uint8Array(15995)]).send(); // 16000 bytes < 65535 / 4
  await settle();
  assertEquals(peer.written(FrameType.WINDOW_UPDATE).length, 0);
  peer.data(1, new Uint8Array(400)).send(); // 16400 ≥ 16383.75: the connection is credited
  await until(() => peer.written(FrameType.WINDOW_UPDATE).length === 1, "connection credit");
  await settle();
  assertEquals(peer.written(FrameType.WINDOW_UPDATE).map((f) => [f.streamId, f.increment]), [[
    0,
    16400,
  ]]);
  // The rest of the message; the stream is credited only once the application reads it.
  peer.data(1, new Uint8Array(30005 - 16400)).send();
  await until(() => streams[0].unreadBytes === 30005, "the whole message");
  await settle();
  assertEquals(peer.written(FrameType.WINDOW_UPDATE, 1).length, 0);
  assertEquals((await streams[0].recvMsg())?.length, 30000);
  await until(() => peer.written(FrameType.WINDOW_UPDATE, 1).length === 1, "stream credit");
  assertEquals(peer.written(FrameType.WINDOW_UPDATE, 1)[0].increment, 30005);
  server.close();
});

Deno.test("Whole messages are credited to the stream window only when the application reads them", async () => {
  const streams: ServerStream[] = [];
  const { server, peer } = await handshakenServer((s) => streams.push(s), { dynamicWindow: false });
  peer.headers(1, req()).send();
  await until(() => streams.length === 1, "stream");
  const m = new Uint8Array(10_000 - 5);
  peer.message(1, m).message(1, m).send(); // 20000 bytes, two whole messages
  await settle();
  // The connection window is credited on receipt; the stream's waits for the reader.
  assertEquals(peer.written(FrameType.WINDOW_UPDATE, 0).map((f) => f.increment), [20000]);
  assertEquals(peer.written(FrameType.WINDOW_UPDATE, 1).length, 0);
  assertEquals((await streams[0].recvMsg())?.length, m.length);
  await settle();
  assertEquals(peer.written(FrameType.WINDOW_UPDATE, 1).length, 0); // 10000 < a quarter
  assertEquals((await streams[0].recvMsg())?.length, m.length);
  await until(() => peer.written(FrameType.WINDOW_UPDATE, 1).length === 1, "stream credit");
  assertEquals(peer.written(FrameType.WINDOW_UPDATE, 1)[0].increment, 20000);
  server.close();
});

Deno.test("With a reader waiting, a message's bytes are credited as they arrive (grpc-go reads the body off the stream), never twice", async () => {
  const streams: ServerStream[] = [];
  const { server, peer } = await handshakenServer((s) => streams.push(s), { dynamicWindow: false });
  peer.headers(1, req()).send();
  await until(() => streams.length === 1, "stream");
  const got = streams[0].recvMsg(); // the application waits for the message
  const wire = grpcFrame(pattern(40_000));
  peer.data(1, wire.subarray(0, 16_384)).data(1, wire.subarray(16_384, 32_768)).send();
  // Half of the message is in: a stream WINDOW_UPDATE already (the sender of a message as large
  // as the window would otherwise stall on it for a round trip).
  const streamCredit = () =>
    peer.written(FrameType.WINDOW_UPDATE, 1).reduce((n, f) => n + f.increment, 0);
  await until(() => streamCredit() === 32_768, "early stream credit");
  peer.data(1, wire.subarray(32_768)).send();
  assertEquals((await got)?.length, 40_000);
  await settle();
  // The rest (7237 bytes) is below a quarter window: not yet announced; in all, never more than
  // was received.
  assertEquals(streamCredit(), 32_768);
  assertEquals(streams[0].recvFlow.pendingUpdate, wire.length - 32_768);
  assertEquals(streams[0].unreadBytes, 0);
  server.close();
});

// ---- bulk transfers ------------------------------------------------------------------------

const STATIC = { dynamicWindow: false, maxReceiveMessageSize: 32 << 20 };

Deno.test("transport: 10 MiB through a 64 KiB window without deadlock (one message each way)", async () => {
  const { server, client } = connected((s) => void echo(s), STATIC, STATIC);
  const big = pattern(10 << 20);
  const s = await client.newStream(req());
  const sent = s.sendMsg(big, false, true);
  const got = await s.recvMsg();
  await sent;
  assertEquals(got?.length, big.length);
  assertEquals(got, big);
  assertEquals(await s.recvMsg(), null);
  client.close();
  server.close();
});

Deno.test("transport: 10 MiB downloaded as many messages through 64 KiB windows", async () => {
  const chunk = pattern(100_000, 3);
  const { server, client } = connected(
    async (s) => {
      await s.recvMsg();
      for (let i = 0; i < 105; i++) await s.sendMsg(chunk, false);
      s.sendTrailers(0, "");
      s.handlerDone();
    },
    STATIC,
    STATIC,
  );
  const s = await client.newStream(req());
  await s.sendMsg(new Uint8Array(0), false, true);
  let n = 0;
  for (;;) {
    const m = await s.recvMsg();
    if (m === null) break;
    assertEquals(m, chunk);
    n++;
  }
  assertEquals(n, 105);
  assertEquals(header(s.trailers, "grpc-status"), "0");
  client.close();
  server.close();
});

Deno.test("transport: 10 MiB uploaded as many messages through 64 KiB windows", async () => {
  const chunk = pattern(100_000, 5);
  let count = 0;
  const { server, client } = connected(
    async (s) => {
      for (;;) {
        const m = await s.recvMsg();
        if (m === null) break;
        assertEquals(m, chunk);
        count++;
      }
      s.sendTrailers(0, "");
      s.handlerDone();
    },
    STATIC,
    STATIC,
  );
  const s = await client.newStream(req());
  for (let i = 0; i < 105; i++) await s.sendMsg(chunk, false);
  s.closeSend();
  assertEquals(await s.recvMsg(), null);
  assertEquals(count, 105);
  client.close();
  server.close();
});

Deno.test("transport: 64 concurrent streams share the connection window without deadlock", async () => {
  const { server, client } = connected((s) => void echo(s), STATIC, STATIC);
  const calls = [];
  for (let i = 0; i < 64; i++) {
    calls.push((async () => {
      const body = pattern(200_000, i + 1);
      const s = await client.newStream(req());
      const sent = s.sendMsg(body, false, true);
      const got = await s.recvMsg();
      await sent;
      assertEquals(got, body);
      assertEquals(await s.recvMsg(), null);
    })());
  }
  await Promise.all(calls);
  // Windows came back: everything received was credited, except what stays below the quarter
  // of a window that triggers a WINDOW_UPDATE (grpc-go inFlow does the same).
  await settle();
  for (const w of [client.connSendWindow, server.connSendWindow]) {
    assert(w > 65535 - 65535 / 4 && w <= 65535, `connection send window ${w}`);
  }
  client.close();
  server.close();
});

// ---- BDP -----------------------------------------------------------------------------------

Deno.test("BDP estimation raises the windows while a few MiB flow (SETTINGS + connection WINDOW_UPDATE)", async () => {
  const opts = { dynamicWindow: true, maxReceiveMessageSize: 32 << 20 };
  const { server, client, a, b } = connected((s) => void echo(s), opts, opts);
  const s = await client.newStream(req());
  const chunk = pattern(256 * 1024);
  for (let i = 0; i < 16; i++) {
    await s.sendMsg(chunk, false);
    assertEquals(await s.recvMsg(), chunk);
  }
  s.closeSend();
  assertEquals(await s.recvMsg(), null);
  // What the server (the receiver of the upload) wrote: a larger INITIAL_WINDOW_SIZE and the
  // matching connection WINDOW_UPDATE.
  const frames = parseFrames(b.allWritten());
  const raised = frames.filter((f) =>
    f.type === FrameType.SETTINGS && (f.flags & Flag.ACK) === 0 &&
    f.settings[0] === SettingId.INITIAL_WINDOW_SIZE
  );
  assert(raised.length > 0, "a SETTINGS INITIAL_WINDOW_SIZE update");
  const first = raised[0].settings[1];
  assert(first > 65535, `window raised to ${first}`);
  assert(
    frames.some((f) =>
      f.type === FrameType.WINDOW_UPDATE && f.streamId === 0 && f.increment === first - 65535
    ),
    "connection WINDOW_UPDATE by the same amount",
  );
  assert(server.streamRecvWindow > 65535);
  // No stream or connection error on either side.
  const clientFrames = parseFrames(a.allWritten());
  for (const f of [...frames, ...clientFrames]) {
    assert(f.type !== FrameType.RST_STREAM && f.type !== FrameType.GOAWAY, `unexpected ${f.type}`);
  }
  client.close();
  server.close();
});

Deno.test("BDP-raised windows never let the peer overrun a stream (no double credit): 10 MiB each way", async () => {
  const opts = { dynamicWindow: true, maxReceiveMessageSize: 32 << 20 };
  const { server, client, a, b } = connected((s) => void echo(s), opts, opts);
  const big = pattern(10 << 20, 11);
  const s = await client.newStream(req());
  const sent = s.sendMsg(big, false, true);
  const got = await s.recvMsg();
  await sent;
  assertEquals(got, big);
  assertEquals(await s.recvMsg(), null);
  for (const f of [...parseFrames(a.allWritten()), ...parseFrames(b.allWritten())]) {
    assert(f.type !== FrameType.RST_STREAM && f.type !== FrameType.GOAWAY, `unexpected ${f.type}`);
  }
  client.close();
  server.close();
});

Deno.test("Static windows (dynamicWindow: false) never send BDP pings or window SETTINGS", async () => {
  const { server, client, a, b } = connected((s) => void echo(s), STATIC, STATIC);
  const s = await client.newStream(req());
  const body = pattern(1 << 20);
  const sent = s.sendMsg(body, false, true);
  assertEquals(await s.recvMsg(), body);
  await sent;
  for (const f of [...parseFrames(a.allWritten()), ...parseFrames(b.allWritten())]) {
    assert(f.type !== FrameType.PING, "no PING");
    assert(!(f.type === FrameType.SETTINGS && f.settings.includes(SettingId.INITIAL_WINDOW_SIZE)));
  }
  client.close();
  server.close();
});

Deno.test("A BDP window raise credits open streams once: a peer that uses the whole window is not reset (§6.9.2)", async () => {
  const streams: ServerStream[] = [];
  const { server, peer } = await handshakenServer((s) => streams.push(s), { dynamicWindow: true });
  peer.headers(1, req()).send();
  await until(() => streams.length === 1, "stream");
  // Three whole messages of 16384 bytes on the wire, unread: 49152 ≥ 0.66 × 65535.
  const m = new Uint8Array(16384 - 5);
  peer.message(1, m).message(1, m).message(1, m).send();
  await until(() => peer.written(FrameType.PING).length === 1, "BDP PING");
  const [bdpPing] = peer.written(FrameType.PING);
  peer.ping([...bdpPing.payload], true).send();
  await until(
    () =>
      peer.written(FrameType.SETTINGS).some((f) => f.settings[0] === SettingId.INITIAL_WINDOW_SIZE),
    "window SETTINGS",
  );
  const settings = peer.written(FrameType.SETTINGS).find((f) =>
    f.settings[0] === SettingId.INITIAL_WINDOW_SIZE
  )!;
  const n = settings.settings[1];
  assertEquals(n, 2 * 49152);
  // The connection gets a WINDOW_UPDATE for the raise; streams get it through the SETTINGS.
  assert(peer.written(FrameType.WINDOW_UPDATE, 0).some((f) => f.increment === n - 65535));
  // A peer honouring flow control now may send, on stream 1: what is left of the initial
  // window, plus the SETTINGS delta, plus any WINDOW_UPDATE for stream 1.
  let window = 65535 - 49152 + (n - 65535);
  for (const f of peer.written(FrameType.WINDOW_UPDATE, 1)) window += f.increment;
  // It sends all of it as whole messages the application does not read.
  while (window >= 5) {
    let len = Math.min(window, 16384);
    if (window - len > 0 && window - len < 5) len -= 5;
    peer.data(1, grpcFrame(new Uint8Array(len - 5)));
    window -= len;
  }
  peer.ping().send();
  // (the first ACK answered nothing: ours was an ACK itself; this is the first answer)
  await until(() => peer.pingAcks().length === 1, "PING ACK");
  assertEquals(peer.rsts(1), []);
  assertEquals(peer.goaways(), []);
  server.close();
});

Deno.test("Stream WINDOW_UPDATEs never credit more than was received, with prefixes split across frames", async () => {
  const streams: ServerStream[] = [];
  const { server, peer } = await handshakenServer((s) => streams.push(s), { dynamicWindow: false });
  peer.headers(1, req()).send();
  await until(() => streams.length === 1, "stream");
  let sent = 0;
  let read = 0;
  for (let round = 0; round < 4; round++) {
    for (let i = 0; i < 500; i++) {
      const wire = grpcFrame(new Uint8Array(10).fill(i));
      peer.data(1, wire.subarray(0, 3)).data(1, wire.subarray(3));
      sent += wire.length;
    }
    peer.send();
    for (let i = 0; i < 500; i++) {
      assertEquals((await streams[0].recvMsg())?.length, 10);
      read++;
    }
  }
  assertEquals(read, 2000);
  await settle();
  let credited = 0;
  for (const f of peer.written(FrameType.WINDOW_UPDATE, 1)) credited += f.increment;
  assert(credited <= sent, `credited ${credited} of ${sent} bytes`);
  assert(credited > sent - 65535 / 4, `credited ${credited} of ${sent} bytes`);
  server.close();
});

Deno.test("A sendMsg blocked on flow control resolves when the peer resets the stream or the connection dies", async () => {
  const streams: ServerStream[] = [];
  const cancels: string[] = [];
  const { server, peer } = await handshakenServer((s) => {
    s.cancelListener = { onStreamCancel: (r) => cancels.push(r) };
    streams.push(s);
  });
  peer.headers(1, req()).headers(3, req()).send();
  await until(() => streams.length === 2, "streams");
  // Each waits for window: 100 KB against the 64 KiB windows.
  const a = streams[0].sendMsg(new Uint8Array(100_000), false);
  const b = streams[1].sendMsg(new Uint8Array(100_000), false);
  let aDone = false, bDone = false;
  a.then(() => (aDone = true));
  b.then(() => (bDone = true));
  await settle();
  assertEquals([aDone, bDone], [false, false]);
  peer.rst(1, ErrorCode.CANCEL).send();
  await until(() => aDone, "sendMsg on the reset stream resolves");
  assertEquals(bDone, false);
  server.close();
  await until(() => bDone, "sendMsg on the dead connection resolves");
  assertEquals(cancels, ["rst", "closed"]);
  // Nothing is left queued for the closed streams.
  assertEquals(streams[0].pendingBytes + streams[1].pendingBytes, 0);
});

Deno.test("Trailers queued behind flow control still end the stream: RST_STREAM NO_ERROR follows if the client is still sending", async () => {
  const streams: ServerStream[] = [];
  const { server, peer } = await handshakenServer((s) => {
    streams.push(s);
    void s.sendMsg(new Uint8Array(100_000), false);
    s.sendTrailers(0, "");
    s.handlerDone();
  }, { maxConcurrentStreams: 1 });
  peer.headers(1, req()).send(); // the client keeps its side open
  await until(() => dataBytes(peer.frames(), 1) === 65535, "a window of data");
  assertEquals(peer.written(FrameType.HEADERS, 1).length, 1); // trailers wait
  peer.windowUpdate(0, 100_000).windowUpdate(1, 100_000).send();
  await until(() => peer.written(FrameType.HEADERS, 1).length === 2, "trailers");
  await until(() => peer.rsts(1).length === 1, "RST_STREAM");
  assertEquals(peer.rsts(1)[0].errorCode, ErrorCode.NO_ERROR);
  assertEquals(server.streams.size, 0);
  // Its MAX_CONCURRENT_STREAMS slot is free again.
  peer.headers(3, req()).send();
  await until(() => streams.length === 2, "stream 3");
  assertEquals(peer.rsts(3), []);
  server.close();
});
