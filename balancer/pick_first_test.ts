import { assert, assertEquals } from "@std/assert";
import { addrs, build } from "./_testing.ts";
import { CONNECTION_ATTEMPT_DELAY_MS, interleaveAddresses, PICK_FIRST } from "./pick_first.ts";

const A = "10.0.0.1:1", B = "10.0.0.2:1", C = "10.0.0.3:1";

Deno.test("pick_first: connects the first address; READY picks it, others never made", () => {
  const { cc, b } = build(PICK_FIRST);
  b.updateClientConnState(addrs(A, B, C), { shuffleAddressList: false });
  assertEquals(cc.state, "CONNECTING");
  assertEquals(cc.picks(1), ["queue"]);
  assertEquals(cc.subConns.map((s) => [s.address.addr, s.connects]), [[A, 1]]);
  cc.sc(A).set("CONNECTING");
  cc.sc(A).set("READY");
  assertEquals(cc.state, "READY");
  assertEquals(cc.picks(3), [A, A, A]);
  assertEquals(cc.subConns.length, 1);
  b.close();
  assert(cc.subConns.every((s) => s.isShutdown));
});

Deno.test("pick_first: fails over in order, then keeps the one that works", () => {
  const { cc, b } = build(PICK_FIRST);
  b.updateClientConnState(addrs(A, B, C), {});
  cc.sc(A).set("CONNECTING");
  cc.sc(A).set("TRANSIENT_FAILURE", new Error("refused A"));
  assertEquals(cc.subConns.map((s) => s.address.addr), [A, B]);
  assertEquals(cc.sc(B).connects, 1);
  assertEquals(cc.state, "CONNECTING"); // still in the first pass
  cc.sc(B).set("CONNECTING");
  cc.sc(B).set("TRANSIENT_FAILURE", new Error("refused B"));
  cc.sc(C).set("CONNECTING");
  cc.sc(C).set("READY");
  assertEquals(cc.picks(2), [C, C]);
  // The others are shut down once one is READY.
  assertEquals(cc.subConns.filter((s) => !s.isShutdown).map((s) => s.address.addr), [C]);
});

Deno.test("pick_first: every address failed → TRANSIENT_FAILURE (sticky) and re-resolution", () => {
  const { cc, b } = build(PICK_FIRST);
  b.updateClientConnState(addrs(A, B), {});
  cc.sc(A).set("TRANSIENT_FAILURE", new Error("refused A"));
  cc.sc(B).set("TRANSIENT_FAILURE", new Error("refused B"));
  assertEquals(cc.state, "TRANSIENT_FAILURE");
  assertEquals(cc.picks(1), ["error: refused B"]);
  assertEquals(cc.resolveNows, 1);
  // Backoff over: each goes IDLE and is reconnected at once; CONNECTING does not leave TF.
  cc.sc(A).set("IDLE");
  assertEquals(cc.sc(A).connects, 2);
  cc.sc(A).set("CONNECTING");
  assertEquals(cc.state, "TRANSIENT_FAILURE");
  cc.sc(A).set("TRANSIENT_FAILURE", new Error("still refused A"));
  assertEquals(cc.picks(1), ["error: still refused A"]);
  cc.sc(B).set("IDLE");
  cc.sc(B).set("READY");
  assertEquals(cc.state, "READY");
  assertEquals(cc.picks(1), [B]);
});

Deno.test("pick_first: a lost connection goes IDLE, re-resolves, reconnects on the next pick", async () => {
  const { cc, b } = build(PICK_FIRST);
  b.updateClientConnState(addrs(A, B), {});
  cc.sc(A).set("READY");
  cc.sc(A).set("IDLE");
  assertEquals(cc.state, "IDLE");
  assertEquals(cc.resolveNows, 1);
  assertEquals(cc.picks(1), ["queue"]);
  await Promise.resolve();
  assertEquals(cc.state, "CONNECTING");
  assertEquals(cc.sc(A).connects, 2); // the first address again, as a new pass
});

Deno.test("pick_first: after 250 ms without an answer the next address is tried too", () => {
  const { cc, b, clock } = build(PICK_FIRST);
  b.updateClientConnState(addrs(A, B), {});
  cc.sc(A).set("CONNECTING");
  clock.advance(CONNECTION_ATTEMPT_DELAY_MS - 1);
  assertEquals(cc.subConns.length, 1);
  clock.advance(1);
  assertEquals(cc.sc(B).connects, 1);
  cc.sc(A).set("READY"); // the first one still wins if it answers first
  assertEquals(cc.picks(1), [A]);
  assert(cc.subConns[1].isShutdown);
  assertEquals(clock.pending, 0);
});

Deno.test("pick_first: a new address list keeps a READY address that is still listed", () => {
  const { cc, b } = build(PICK_FIRST);
  b.updateClientConnState(addrs(A, B), {});
  cc.sc(A).set("READY");
  b.updateClientConnState(addrs(C, A), {});
  assertEquals(cc.picks(1), [A]);
  assertEquals(cc.subConns.length, 1);
  // A dropped from the list: start over on the new list.
  b.updateClientConnState(addrs(B, C), {});
  assert(cc.subConns[0].isShutdown);
  assertEquals(cc.state, "CONNECTING");
  assertEquals(cc.sc(B).connects, 1);
});

Deno.test("pick_first: zero addresses and resolver errors → TRANSIENT_FAILURE", () => {
  const { cc, b } = build(PICK_FIRST);
  b.resolverError(new Error("dns down"));
  assertEquals(cc.state, "TRANSIENT_FAILURE");
  assertEquals(cc.picks(1), ["error: dns down"]);
  b.updateClientConnState(addrs(), {});
  assertEquals(cc.picks(1), ["error: the resolver produced zero addresses"]);
  b.updateClientConnState(addrs(A), {});
  cc.sc(A).set("READY");
  b.resolverError(new Error("dns down again")); // ignored: we have a working address
  assertEquals(cc.picks(1), [A]);
});

Deno.test("pick_first: shuffleAddressList (gRFC A62) and family interleaving (gRFC A61)", () => {
  // random() = 0 makes Fisher-Yates move each last element to the front: [A,B,C] → [B,C,A].
  const { cc, b } = build(PICK_FIRST, () => 0);
  b.updateClientConnState(addrs(A, B, C), { shuffleAddressList: true });
  assertEquals(cc.subConns[0].address.addr, B);
  assertEquals(
    interleaveAddresses(
      ["[::1]:1", "[::2]:1", "1.1.1.1:1", "1.1.1.1:1", "2.2.2.2:1", "/s"].map((addr) => ({ addr })),
    ).map((a) => a.addr),
    ["[::1]:1", "1.1.1.1:1", "/s", "[::2]:1", "2.2.2.2:1"],
  );
});
