// flow_control.ts on its own: the connection window credited on receipt, the stream window
// credited on read (with grpc-go's quarter-window batching and maybeAdjust grants), and the BDP
// estimator driven by an injected clock.

import { assertEquals } from "@std/assert";
import { BdpEstimator, ConnRecvFlow, StreamRecvFlow } from "./flow_control.ts";
import { MAX_BDP_WINDOW, MAX_WINDOW } from "./defaults.ts";

Deno.test("ConnRecvFlow credits on receipt, a quarter window at a time, and refuses an overrun", () => {
  const f = new ConnRecvFlow(1000);
  assertEquals(f.onData(249), 0);
  assertEquals(f.onData(1), 250);
  assertEquals(f.onData(0), 0);
  // 750 bytes of window left; then more than that is an overrun.
  assertEquals(f.onData(700), 700);
  const g = new ConnRecvFlow(1000);
  assertEquals(g.onData(200), 0);
  assertEquals(g.onData(801), -1);
  assertEquals(f.newLimit(4000), 3000);
  assertEquals(f.newLimit(2000), 0);
  assertEquals(f.limit, 4000);
});

Deno.test("StreamRecvFlow holds bytes until read; reads are announced a quarter window at a time", () => {
  const f = new StreamRecvFlow(1000);
  assertEquals(f.onData(600), true);
  assertEquals(f.onData(400), true);
  assertEquals(f.peerQuota, 0);
  assertEquals(f.onData(1), false); // overrun
  const g = new StreamRecvFlow(1000);
  g.onData(1000);
  assertEquals(g.onRead(200), 0); // below a quarter: kept back
  assertEquals(g.peerQuota, 0);
  assertEquals(g.onRead(100), 300);
  assertEquals([g.pendingData, g.pendingUpdate, g.peerQuota], [700, 0, 300]);
  // Nothing pending: a stray read credits nothing (grpc-go onRead).
  assertEquals(new StreamRecvFlow(1000).onRead(500), 0);
});

Deno.test("StreamRecvFlow.ensureWindow grants exactly the shortfall, repaid by reads before any credit", () => {
  const f = new StreamRecvFlow(1000);
  f.onData(1000);
  assertEquals(f.ensureWindow(500), 500);
  assertEquals(f.ensureWindow(500), 0); // granted already
  assertEquals(f.onData(500), true);
  assertEquals(f.peerQuota, 0);
  // Reading the 1500-byte message repays the 500 first, then credits the 1000.
  assertEquals(f.onRead(1500), 1000);
  assertEquals([f.delta, f.pendingData, f.peerQuota], [0, 0, 1000]);
  // Enough quota: nothing to grant.
  assertEquals(new StreamRecvFlow(1000).ensureWindow(1000), 0);
  // Never past 2^31-1.
  const h = new StreamRecvFlow(MAX_WINDOW - 10);
  h.onData(MAX_WINDOW - 10);
  assertEquals(h.ensureWindow(1000), 10);
});

Deno.test("BdpEstimator: one PING per sample; the window grows to 2 × a sample that nearly fills it, up to 16 MiB", () => {
  let now = 0;
  const b = new BdpEstimator(65535, () => now);
  assertEquals(b.add(1000), true); // first DATA: send a PING
  assertEquals(b.add(50_000), false);
  now += 10;
  // 51000 ≥ 0.66 × 65535 at the best bandwidth so far: window 102000.
  assertEquals(b.onAck(), 102_000);
  assertEquals(b.onAck(), 0); // no PING out
  // A small sample (a slow or stalled reader) does not grow it.
  assertEquals(b.add(10_000), true);
  now += 10;
  assertEquals(b.onAck(), 0);
  // Growth stops at the cap, and then no more PINGs are sent.
  for (let i = 0; i < 20; i++) {
    b.add(b.bdp);
    now += 1;
    b.onAck();
  }
  assertEquals(b.bdp, MAX_BDP_WINDOW);
  assertEquals(b.add(1), false);
});
