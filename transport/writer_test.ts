// ConnWriter (grpc-go loopyWriter's batching): one conn.write per turn, short writes looped,
// back-pressure above the high-water mark, failure handling.

import { assert, assertEquals } from "@std/assert";
import { ConnWriter, type RawConn } from "./writer.ts";
import { WRITE_HIGH_WATER_MARK } from "./defaults.ts";
import { FrameType } from "./frame.ts";
import { writePing, writeWindowUpdate } from "./frame_writer.ts";
import { countFrames } from "./_testing.ts";

/** A conn that records writes; writes can be short, gated, or failing. */
class FakeConn implements RawConn {
  writes: Uint8Array[] = [];
  /** Most bytes accepted per write call. */
  maxPerWrite = Infinity;
  /** When set, writes wait for `release()`. */
  gated = false;
  fail: Error | null = null;
  closed = false;
  #waiting: (() => void)[] = [];

  read(): Promise<number | null> {
    return new Promise(() => {});
  }
  write(p: Uint8Array): Promise<number> {
    if (this.fail) return Promise.reject(this.fail);
    const n = Math.min(p.length, this.maxPerWrite);
    const done = () => {
      this.writes.push(p.slice(0, n));
      return n;
    };
    if (!this.gated) return Promise.resolve(done());
    return new Promise((resolve) => this.#waiting.push(() => resolve(done())));
  }
  close(): void {
    this.closed = true;
  }
  /** Completes every gated write. */
  release(): void {
    const ws = this.#waiting;
    this.#waiting = [];
    for (const w of ws) w();
  }
  get pending(): number {
    return this.#waiting.length;
  }
  all(): Uint8Array {
    const n = this.writes.reduce((a, w) => a + w.length, 0);
    const out = new Uint8Array(n);
    let o = 0;
    for (const w of this.writes) {
      out.set(w, o);
      o += w.length;
    }
    return out;
  }
}

const tick = () => new Promise((r) => setTimeout(r, 0));
const PING = new Uint8Array(8);

Deno.test("ConnWriter flushes many frames queued in one turn with one conn.write", async () => {
  const conn = new FakeConn();
  const w = new ConnWriter(conn);
  for (let i = 0; i < 500; i++) {
    writePing(w.out, false, PING);
    w.flushSoon();
  }
  assertEquals(conn.writes.length, 0); // nothing before the turn ends
  await w.idle();
  assertEquals(conn.writes.length, 1);
  assertEquals(conn.writes[0].length, 500 * 17);
  assertEquals(countFrames(conn.writes[0], FrameType.PING), 500);
  assertEquals(w.buffered, 0);
});

Deno.test("ConnWriter sends a batch in one write even when it grew the buffer", async () => {
  const conn = new FakeConn();
  const w = new ConnWriter(conn, 64);
  for (let i = 0; i < 1000; i++) writeWindowUpdate(w.out, 1, i + 1);
  w.flushSoon();
  await w.idle();
  assertEquals(conn.writes.length, 1);
  assertEquals(countFrames(conn.writes[0], FrameType.WINDOW_UPDATE), 1000);
});

Deno.test("ConnWriter flushes once per turn across turns", async () => {
  const conn = new FakeConn();
  const w = new ConnWriter(conn);
  for (let turn = 0; turn < 5; turn++) {
    for (let i = 0; i < 10; i++) {
      writePing(w.out, false, PING);
      w.flushSoon();
    }
    await tick();
  }
  assertEquals(conn.writes.length, 5);
  for (const b of conn.writes) assertEquals(b.length, 170);
});

Deno.test("ConnWriter loops on short writes until every byte is written, in order", async () => {
  const conn = new FakeConn();
  conn.maxPerWrite = 7;
  const w = new ConnWriter(conn);
  const expected: number[] = [];
  for (let i = 0; i < 100; i++) {
    const p = new Uint8Array(8).fill(i);
    writePing(w.out, false, p);
  }
  w.flushSoon();
  await w.idle();
  const all = conn.all();
  assertEquals(all.length, 1700);
  assertEquals(conn.writes.length, Math.ceil(1700 / 7));
  for (let i = 0; i < 100; i++) expected.push(0, 0, 8, 6, 0, 0, 0, 0, 0, i, i, i, i, i, i, i, i);
  assertEquals([...all], expected);
});

Deno.test("ConnWriter collects frames queued during a write into the next write, never splitting it", async () => {
  const conn = new FakeConn();
  conn.gated = true;
  const w = new ConnWriter(conn);
  writePing(w.out, false, PING);
  w.flushSoon();
  await tick();
  assertEquals(conn.pending, 1);
  // While the first write is in flight: 50 more frames over several turns.
  for (let i = 0; i < 50; i++) {
    writePing(w.out, false, PING);
    w.flushSoon();
    if (i % 10 === 0) await tick();
  }
  assertEquals(conn.pending, 1);
  assertEquals(w.buffered, 17 * 51);
  conn.release();
  await tick();
  assertEquals(conn.pending, 1); // the second batch, all 50 frames
  conn.release();
  await w.idle();
  assertEquals(conn.writes.map((b) => b.length), [17, 17 * 50]);
});

Deno.test("ConnWriter.ready() pends above the high-water mark and resolves after the flush", async () => {
  const conn = new FakeConn();
  conn.gated = true;
  const w = new ConnWriter(conn);
  assertEquals(w.ready(), w.ready()); // the shared resolved promise below the mark
  const chunk = new Uint8Array(64 * 1024);
  while (w.buffered < WRITE_HIGH_WATER_MARK) w.out.bytes(chunk);
  w.flushSoon();
  let ready = false;
  w.ready().then(() => (ready = true));
  await tick();
  await tick();
  assertEquals(ready, false);
  assert(w.buffered >= WRITE_HIGH_WATER_MARK);
  conn.release();
  await tick();
  assertEquals(ready, true);
  assertEquals(w.buffered, 0);
  assertEquals(conn.writes.length, 1);
});

Deno.test("ConnWriter.ready() stays pending while frames queued behind an in-flight write keep it above the mark", async () => {
  const conn = new FakeConn();
  conn.gated = true;
  const w = new ConnWriter(conn);
  const chunk = new Uint8Array(WRITE_HIGH_WATER_MARK);
  w.out.bytes(chunk);
  w.flushSoon();
  await tick(); // first batch in flight
  w.out.bytes(chunk); // second batch queued
  w.flushSoon();
  let ready = false;
  w.ready().then(() => (ready = true));
  conn.release(); // first done; the second is now in flight, still ≥ the mark
  await tick();
  assertEquals(ready, false);
  conn.release();
  await tick();
  assertEquals(ready, true);
});

Deno.test("ConnWriter.idle() resolves once everything queued is written", async () => {
  const conn = new FakeConn();
  conn.gated = true;
  const w = new ConnWriter(conn);
  assertEquals(await w.idle(), undefined);
  writePing(w.out, false, PING);
  let idle = false;
  w.idle().then(() => (idle = true));
  await tick();
  assertEquals(idle, false);
  conn.release();
  await tick();
  assertEquals(idle, true);
});

Deno.test("ConnWriter: a failed write calls onError once, closes, drops what is queued and wakes waiters", async () => {
  const conn = new FakeConn();
  conn.gated = true;
  const w = new ConnWriter(conn);
  let errors = 0;
  w.onError = () => errors++;
  w.out.bytes(new Uint8Array(WRITE_HIGH_WATER_MARK + 1));
  w.flushSoon();
  await tick();
  const ready = w.ready();
  const idle = w.idle();
  conn.fail = new Error("broken pipe");
  conn.release(); // this write succeeds
  await tick();
  writePing(w.out, false, PING);
  w.flushSoon();
  await ready;
  await idle;
  await tick();
  assertEquals(errors, 1);
  assertEquals(w.closed, true);
  assertEquals(w.buffered, 0);
  // Later frames are dropped silently; waiters resolve at once.
  writePing(w.out, false, PING);
  w.flushSoon();
  await w.ready();
  await w.idle();
  assertEquals(errors, 1);
});

Deno.test("ConnWriter.close() wakes ready() and idle() waiters and stops writing", async () => {
  const conn = new FakeConn();
  conn.gated = true;
  const w = new ConnWriter(conn);
  w.out.bytes(new Uint8Array(WRITE_HIGH_WATER_MARK));
  w.flushSoon();
  await tick();
  w.out.bytes(new Uint8Array(100));
  const waiters = Promise.all([w.ready(), w.idle()]);
  w.close();
  await waiters;
  conn.release();
  await tick();
  assertEquals(conn.writes.length, 1); // the in-flight one; the queued 100 bytes were dropped
});
