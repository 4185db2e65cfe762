// Http2Stream: gRPC message deframing (Length-Prefixed-Message) across arbitrary DATA frame
// boundaries, receive-window credit (what is credited at once, what waits for the reader),
// size limits, and the end / failure of a stream.

import { assert, assertEquals, assertNotStrictEquals, assertRejects } from "@std/assert";
import { Http2Stream, type StreamOwner } from "./stream.ts";
import { grpcFrame } from "./_testing.ts";
import { Code, StatusError } from "../status.ts";

class Owner implements StreamOwner {
  credited = 0;
  calls = 0;
  creditStream(_s: Http2Stream, n: number): void {
    this.credited += n;
    this.calls++;
  }
}

function stream(maxReceiveMessageSize = 1 << 20, recvWindow = 65535) {
  const owner = new Owner();
  const s = new Http2Stream(owner, 1, 65535, recvWindow, maxReceiveMessageSize);
  return { s, owner };
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function feed(s: Http2Stream, bytes: Uint8Array, sizes: number[]): void {
  let o = 0;
  let i = 0;
  while (o < bytes.length) {
    const n = Math.min(sizes[i++ % sizes.length], bytes.length - o);
    // Each frame arrives inside a larger read buffer at an offset, as from the connection.
    const buf = new Uint8Array(n + 20);
    buf.set(bytes.subarray(o, o + n), 10);
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
    const { s, owner } = stream();
    const wire = concat(...MESSAGES.map((m, i) => grpcFrame(m, i === 2)));
    feed(s, wire, sizes);
    s.onRemoteEnd();
    for (let i = 0; i < MESSAGES.length; i++) {
      assertEquals(await s.recvMsg(), MESSAGES[i]);
      assertEquals(s.recvCompressed, i === 2);
    }
    assertEquals(await s.recvMsg(), null);
    assertEquals(await s.recvMsg(), null);
    // Every byte was credited back, exactly once, once read.
    assertEquals(owner.credited, wire.length);
  });
}

Deno.test("Http2Stream credits whole messages only when read, partial ones at once", async () => {
  const { s, owner } = stream();
  const m = new Uint8Array(100);
  feed(s, concat(grpcFrame(m), grpcFrame(m)), [1_000_000]);
  assertEquals(owner.credited, 0);
  await s.recvMsg();
  assertEquals(owner.credited, 105);
  await s.recvMsg();
  assertEquals(owner.credited, 210);
  // A message split across frames: its bytes are credited as they arrive.
  feed(s, grpcFrame(new Uint8Array(1000)), [600]);
  assertEquals(owner.credited, 210 + 1005);
  assertEquals((await s.recvMsg())?.length, 1000);
  assertEquals(owner.credited, 210 + 1005);
});

Deno.test("Http2Stream credits a message at once when a reader is already waiting", async () => {
  const { s, owner } = stream();
  const p = s.recvMsg();
  feed(s, grpcFrame(new Uint8Array([1, 2, 3])), [100]);
  assertEquals(await p, new Uint8Array([1, 2, 3]));
  assertEquals(owner.credited, 8);
});

Deno.test("Http2Stream never holds back more than one window of credit", () => {
  const { s, owner } = stream(1 << 20, 1000);
  for (let i = 0; i < 9; i++) feed(s, grpcFrame(new Uint8Array(100)), [105]);
  assertEquals(owner.credited, 0); // 900 queued ≤ 1000
  feed(s, grpcFrame(new Uint8Array(200)), [205]);
  assertEquals(owner.credited, 9 * 105 + 205); // 1100 queued > 1000: all released
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
  const { s, owner } = stream(100);
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
  assert(owner.credited >= 5);
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
  feed(s, concat(grpcFrame(new Uint8Array([1])), grpcFrame(new Uint8Array([2]))), [100]);
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
