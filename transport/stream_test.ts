// Http2Stream: gRPC message deframing (Length-Prefixed-Message) across arbitrary DATA frame
// boundaries, receive-window credit (what is credited at once, what waits for the reader),
// size limits, and the end / failure of a stream. Window accounting itself: flow_control_test.ts.

import { assert, assertEquals, assertNotStrictEquals, assertRejects } from "@std/assert";
import { Http2Stream, type StreamOwner } from "./stream.ts";
import { concat, grpcFrame } from "./_testing.ts";
import { Code, StatusError } from "../status.ts";

/** Records the WINDOW_UPDATEs a stream asks for. */
class Owner implements StreamOwner {
  credited = 0;
  updates: number[] = [];
  sendStreamWindowUpdate(_s: Http2Stream, n: number): void {
    this.credited += n;
    this.updates.push(n);
  }
}

function stream(maxReceiveMessageSize = 1 << 20, recvWindow = 65535) {
  const owner = new Owner();
  const s = new Http2Stream(owner, 1, 65535, recvWindow, maxReceiveMessageSize);
  return { s, owner };
}

function feed(s: Http2Stream, bytes: Uint8Array, sizes: number[]): void {
  let o = 0;
  let i = 0;
  while (o < bytes.length) {
    const n = Math.min(sizes[i++ % sizes.length], bytes.length - o);
    // Each frame arrives inside a larger read buffer at an offset, as from the connection.
    const buf = new Uint8Array(n + 20);
    buf.set(bytes.subarray(o, o + n), 10);
    // The connection charges the frame to the window first, as a peer honouring it would.
    assert(s.recvFlow.onData(n), `frame of ${n} bytes beyond the window`);
    assert(s.onData(buf, 10, 10 + n));
    buf.fill(0xee); // the read buffer is reused: messages must be copies
    o += n;
  }
}

const MESSAGES = [
  new Uint8Array(0),
  new Uint8Array([1]),
  new Uint8Array(300).map((_, i) => i),
  new Uint8Array(70_000).map((_, i) => i * 13),
  new Uint8Array(5).fill(9),
];

for (const sizes of [[1], [2, 3], [5], [7], [4096], [16384], [1_000_000], [6, 1, 16384, 3]]) {
  Deno.test(`Http2Stream.onData() deframes messages split into frames of ${sizes.join("/")} bytes`, async () => {
    const { s, owner } = stream(1 << 20, 1 << 20);
    const wire = concat(MESSAGES.map((m, i) => grpcFrame(m, i === 2)));
    feed(s, wire, sizes);
    s.onRemoteEnd();
    for (let i = 0; i < MESSAGES.length; i++) {
      assertEquals(await s.recvMsg(), MESSAGES[i]);
      assertEquals(s.recvCompressed, i === 2);
    }
    assertEquals(await s.recvMsg(), null);
    assertEquals(await s.recvMsg(), null);
    // Every byte was credited back exactly once once read (announced, or waiting for a quarter
    // window to accumulate).
    assertEquals(s.unreadBytes, 0);
    assertEquals(owner.credited + s.recvFlow.pendingUpdate, wire.length);
  });
}

Deno.test("Http2Stream credits a message, split or whole, only when the application reads it", async () => {
  // Window 400: a WINDOW_UPDATE once 100 bytes are read.
  const { s, owner } = stream(1 << 20, 400);
  const m = new Uint8Array(100);
  feed(s, concat([grpcFrame(m), grpcFrame(m)]), [1_000_000]);
  assertEquals([owner.credited, s.unreadBytes], [0, 210]);
  await s.recvMsg();
  assertEquals([owner.updates, s.unreadBytes], [[105], 105]);
  await s.recvMsg();
  assertEquals([owner.updates, s.unreadBytes], [[105, 105], 0]);
  // A message split across frames is charged as it arrives, credited once read.
  feed(s, grpcFrame(new Uint8Array(150)), [60]);
  assertEquals([owner.credited, s.unreadBytes], [210, 155]);
  assertEquals((await s.recvMsg())?.length, 150);
  assertEquals([owner.updates, s.unreadBytes], [[105, 105, 155], 0]);
});

Deno.test("Http2Stream credits a message at once when a reader is already waiting", async () => {
  const { s, owner } = stream(1 << 20, 32);
  const p = s.recvMsg();
  feed(s, grpcFrame(new Uint8Array([1, 2, 3])), [100]);
  assertEquals(await p, new Uint8Array([1, 2, 3]));
  assertEquals(owner.updates, [8]);
});

Deno.test("Http2Stream holds credit for everything unread: a peer that keeps sending overruns the window", () => {
  const { s, owner } = stream(1 << 20, 1000);
  for (let i = 0; i < 9; i++) feed(s, grpcFrame(new Uint8Array(100)), [105]);
  assertEquals([owner.credited, s.unreadBytes], [0, 945]);
  // 55 bytes of window left; a 205-byte message does not fit, and nothing grants more.
  assertEquals(s.recvFlow.peerQuota, 55);
  assertEquals(s.recvFlow.onData(205), false);
});

Deno.test("Http2Stream: a message larger than the window gets exactly the window it needs (grpc-go maybeAdjust)", async () => {
  const { s, owner } = stream(1 << 20, 1000);
  const big = new Uint8Array(5000).map((_, i) => i);
  const wire = grpcFrame(big);
  // The first frame fills the window; nothing else is unread, so the rest is granted at once.
  feed(s, wire.subarray(0, 1000), [1000]);
  assertEquals(owner.updates, [4005]);
  assertEquals(s.recvFlow.peerQuota, 4005);
  feed(s, wire.subarray(1000), [1000]);
  assertEquals(s.recvFlow.peerQuota, 0);
  assertEquals(await s.recvMsg(), big);
  // Reading repays the grant first: only the window itself is credited back.
  assertEquals(owner.updates, [4005, 1000]);
  assertEquals(s.recvFlow.peerQuota, 1000);
  assertEquals([s.recvFlow.delta, s.unreadBytes], [0, 0]);
});

Deno.test("Http2Stream grants a large message's window only once nothing else is unread", async () => {
  const { s, owner } = stream(1 << 20, 1000);
  const small = grpcFrame(new Uint8Array(295)); // 300 bytes
  const big = grpcFrame(new Uint8Array(3000));
  feed(s, concat([small, small, big.subarray(0, 400)]), [1000]);
  // Two unread messages: the big one waits with the window full.
  assertEquals([owner.updates, s.recvFlow.peerQuota], [[], 0]);
  await s.recvMsg();
  assertEquals(owner.updates, [300]); // a quarter window read
  // The last unread message goes: the big one gets exactly what it still needs.
  await s.recvMsg();
  assertEquals(s.recvFlow.peerQuota, 3005 - 400);
  feed(s, big.subarray(400), [700]);
  assertEquals((await s.recvMsg())?.length, 3000);
  assertEquals(s.unreadBytes, 0);
});

Deno.test("Http2Stream: concurrent recvMsg() calls are served in call order, each with its own message", async () => {
  const { s } = stream();
  const a = s.recvMsg();
  const b = s.recvMsg();
  const c = s.recvMsg();
  feed(s, concat([grpcFrame(new Uint8Array([1])), grpcFrame(new Uint8Array([2]))]), [100]);
  s.onRemoteEnd();
  assertEquals(await a, new Uint8Array([1]));
  assertEquals(await b, new Uint8Array([2]));
  assertEquals(await c, null);
  // And a failure reaches every waiting reader.
  const t = stream().s;
  const d = t.recvMsg();
  const e = t.recvMsg();
  t.fail(new StatusError(Code.Canceled, "gone"));
  assertEquals((await assertRejects(() => d, StatusError)).code, Code.Canceled);
  assertEquals((await assertRejects(() => e, StatusError)).code, Code.Canceled);
});

Deno.test("Http2Stream returns copies, not views of the read buffer", async () => {
  const { s } = stream();
  const buf = grpcFrame(new Uint8Array([1, 2, 3]));
  s.onData(buf, 0, buf.length);
  buf.fill(0);
  const m = await s.recvMsg();
  assertEquals(m, new Uint8Array([1, 2, 3]));
  assertNotStrictEquals(m!.buffer, buf.buffer);
});

Deno.test("Http2Stream.onData() refuses a message over maxReceiveMessageSize from its prefix alone", async () => {
  const { s } = stream(100);
  const ok = grpcFrame(new Uint8Array(100));
  const big = grpcFrame(new Uint8Array(101)).subarray(0, 5); // just the prefix
  assert(s.onData(ok, 0, ok.length));
  assertEquals(s.onData(big, 0, big.length), false);
  const err = await assertRejects(() => s.recvMsg(), StatusError);
  assertEquals(err.code, Code.ResourceExhausted);
  assertEquals(
    err.rawMessage,
    "Cannot receive message: size 101 exceeds the client's maxReceiveMessageSize 100",
  );
  assertEquals(s.error?.code, Code.ResourceExhausted);
});

Deno.test("Http2Stream: a 4 GiB length prefix fails without allocating", async () => {
  const { s } = stream();
  const b = new Uint8Array([0, 0xff, 0xff, 0xff, 0xff]);
  assertEquals(s.onData(b, 0, 5), false);
  assertEquals((await assertRejects(() => s.recvMsg(), StatusError)).code, Code.ResourceExhausted);
});

Deno.test("Http2Stream: the stream ending mid-message or mid-prefix fails INTERNAL", async () => {
  for (const cut of [3, 8]) {
    const { s } = stream();
    const b = grpcFrame(new Uint8Array(10)).subarray(0, cut);
    s.onData(b, 0, b.length);
    s.onRemoteEnd();
    const err = await assertRejects(() => s.recvMsg(), StatusError);
    assertEquals(err.code, Code.Internal);
  }
});

Deno.test("Http2Stream.onRemoteEnd(err) delivers queued messages first, then the error", async () => {
  const { s } = stream();
  feed(s, concat([grpcFrame(new Uint8Array([1])), grpcFrame(new Uint8Array([2]))]), [100]);
  s.onRemoteEnd(new StatusError(Code.NotFound, "x"));
  assertEquals(await s.recvMsg(), new Uint8Array([1]));
  assertEquals(await s.recvMsg(), new Uint8Array([2]));
  assertEquals((await assertRejects(() => s.recvMsg(), StatusError)).code, Code.NotFound);
  assertEquals(s.error?.code, Code.NotFound);
});

Deno.test("Http2Stream.onRemoteEnd() resolves a waiting reader with null, or rejects it with the error", async () => {
  const a = stream().s;
  const pa = a.recvMsg();
  a.onRemoteEnd();
  assertEquals(await pa, null);
  const b = stream().s;
  const pb = b.recvMsg();
  b.onRemoteEnd(new StatusError(Code.Aborted, "y"));
  assertEquals((await assertRejects(() => pb, StatusError)).code, Code.Aborted);
});

Deno.test("Http2Stream.fail() rejects waiting and later reads; the first error wins; queued messages are dropped", async () => {
  const { s } = stream();
  feed(s, grpcFrame(new Uint8Array([1])), [100]);
  s.fail(new StatusError(Code.Canceled, "first"));
  s.fail(new StatusError(Code.Internal, "second"));
  assertEquals((await assertRejects(() => s.recvMsg(), StatusError)).code, Code.Canceled);
  const t = stream().s;
  const p = t.recvMsg();
  t.fail(new StatusError(Code.Unavailable, "gone"));
  assertEquals((await assertRejects(() => p, StatusError)).code, Code.Unavailable);
  // Data after failure is dropped.
  feed(t, grpcFrame(new Uint8Array([1])), [100]);
  assertEquals((await assertRejects(() => t.recvMsg(), StatusError)).code, Code.Unavailable);
});

Deno.test("Http2Stream.waitPending() resolves at once with nothing pending, else when drained", async () => {
  const { s } = stream();
  await s.waitPending();
  s.pendingBytes = 10;
  let a = false, b = false;
  s.waitPending().then(() => (a = true));
  s.waitPending().then(() => (b = true));
  await Promise.resolve();
  assertEquals([a, b], [false, false]);
  const d = s.pendingDrained!;
  s.pendingDrained = null;
  s.pendingBytes = 0;
  d();
  await Promise.resolve();
  assertEquals([a, b], [true, true]);
});
