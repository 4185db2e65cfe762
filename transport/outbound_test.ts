// The sending half: messages a stream sends within one turn share DATA frames (up to the peer's
// SETTINGS_MAX_FRAME_SIZE), and the bytes on the wire stay exactly the messages, in order.

import { assertEquals } from "@std/assert";
import { FrameType, SettingId } from "./frame.ts";
import type { ServerStream } from "./http2_server.ts";
import { handshakenServer, req, settle, until, type WireFrame } from "./_testing.ts";

// The gRPC messages carried by `frames` (DATA payloads concatenated, then split on prefixes).
function messages(frames: WireFrame[]): Uint8Array[] {
  const total = frames.reduce((n, f) => n + f.payload.length, 0);
  const all = new Uint8Array(total);
  let at = 0;
  for (const f of frames) {
    all.set(f.payload, at);
    at += f.payload.length;
  }
  const out: Uint8Array[] = [];
  for (let i = 0; i < all.length;) {
    assertEquals(all[i], 0, "compressed flag");
    const len = new DataView(all.buffer, i + 1, 4).getUint32(0);
    out.push(all.subarray(i + 5, i + 5 + len));
    i += 5 + len;
  }
  return out;
}

function body(i: number, size: number): Uint8Array {
  return new Uint8Array(size).fill(i & 0xff);
}

async function openStream(id: number, settings: number[] = []) {
  const streams: ServerStream[] = [];
  const r = await handshakenServer((s) => streams.push(s));
  if (settings.length > 0) r.peer.settings(settings).send();
  r.peer.headers(id, req(), { endStream: true }).send();
  await until(() => streams.length === 1, "the stream");
  return { ...r, stream: streams[0] };
}

Deno.test("outbound: messages sent in one turn share DATA frames up to the peer's max frame size", async () => {
  const { server, peer, stream } = await openStream(1);
  const sent: Promise<void>[] = [];
  for (let i = 0; i < 40; i++) sent.push(stream.sendMsg(body(i, 1000), false));
  await Promise.all(sent);
  stream.sendTrailers(0, "");
  await until(() => peer.written(FrameType.HEADERS, 1).length === 2, "trailers");
  const data = peer.written(FrameType.DATA, 1);
  // 16 messages of 1005 bytes fit in 16,384; the 17th starts a new frame.
  assertEquals(data.map((f) => f.length), [16 * 1005, 16 * 1005, 8 * 1005]);
  for (const f of data) assertEquals(f.flags, 0);
  const got = messages(data);
  assertEquals(got.length, 40);
  for (let i = 0; i < 40; i++) assertEquals(got[i], body(i, 1000));
  server.close();
});

Deno.test("outbound: a larger SETTINGS_MAX_FRAME_SIZE lets more messages share a frame", async () => {
  const { server, peer, stream } = await openStream(1, [SettingId.MAX_FRAME_SIZE, 65_535]);
  await until(() => server.peerMaxFrameSize === 65_535, "the peer's SETTINGS");
  const sent: Promise<void>[] = [];
  for (let i = 0; i < 60; i++) sent.push(stream.sendMsg(body(i, 1000), false));
  await Promise.all(sent);
  await settle();
  const data = peer.written(FrameType.DATA, 1);
  // 60 messages are 60,300 bytes: within the new frame size and the 65,535-byte windows.
  assertEquals(data.map((f) => f.length), [60 * 1005]);
  assertEquals(messages(data).length, 60);
  server.close();
});

Deno.test("outbound: a message after a flush, or after another stream's frame, starts a new frame", async () => {
  const streams: ServerStream[] = [];
  const { server, peer } = await handshakenServer((s) => streams.push(s));
  peer.headers(1, req(), { endStream: true }).headers(3, req(), { endStream: true }).send();
  await until(() => streams.length === 2, "two streams");
  const [a, b] = streams;
  await a.sendMsg(body(1, 10), false);
  await settle(); // written
  await a.sendMsg(body(2, 10), false);
  // Same turn, interleaved: A, B, A: B's frame is in between, so A's last cannot grow.
  void b.sendMsg(body(3, 10), false);
  void a.sendMsg(body(4, 10), false);
  void a.sendMsg(body(5, 10), false);
  await settle();
  const onA = peer.written(FrameType.DATA, 1);
  const onB = peer.written(FrameType.DATA, 3);
  assertEquals(onA.map((f) => f.length), [15, 15, 30]);
  assertEquals(messages(onA), [body(1, 10), body(2, 10), body(4, 10), body(5, 10)]);
  assertEquals(messages(onB), [body(3, 10)]);
  server.close();
});
