import { assert, assertEquals } from "@std/assert";
import { addrs, build } from "./_testing.ts";
import { ROUND_ROBIN } from "./round_robin.ts";

const A = "10.0.0.1:1", B = "10.0.0.2:1", C = "10.0.0.3:1";

function count(list: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const a of list) out[a] = (out[a] ?? 0) + 1;
  return out;
}

Deno.test("round_robin: connects every address and rotates over the READY ones", () => {
  const { cc, b } = build(ROUND_ROBIN);
  b.updateClientConnState(addrs(A, B, C), {});
  assertEquals(cc.subConns.map((s) => s.connects), [1, 1, 1]);
  assertEquals(cc.state, "CONNECTING");
  assertEquals(cc.picks(1), ["queue"]);
  cc.sc(A).set("CONNECTING");
  cc.sc(A).set("READY");
  assertEquals(cc.state, "READY");
  assertEquals(cc.picks(2), [A, A]);
  cc.sc(B).set("READY");
  cc.sc(C).set("READY");
  assertEquals(count(cc.picks(300)), { [A]: 100, [B]: 100, [C]: 100 });
  b.close();
  assert(cc.subConns.every((s) => s.isShutdown));
});

Deno.test("round_robin: a lost backend leaves the rotation, is reconnected, and returns", () => {
  const { cc, b } = build(ROUND_ROBIN);
  b.updateClientConnState(addrs(A, B, C), {});
  for (const a of [A, B, C]) cc.sc(a).set("READY");
  cc.sc(B).set("IDLE");
  assertEquals(cc.sc(B).connects, 2);
  assertEquals(cc.resolveNows, 1);
  assertEquals(count(cc.picks(10)), { [A]: 5, [C]: 5 });
  cc.sc(B).set("CONNECTING");
  cc.sc(B).set("TRANSIENT_FAILURE", new Error("refused"));
  assertEquals(count(cc.picks(10)), { [A]: 5, [C]: 5 });
  cc.sc(B).set("IDLE");
  cc.sc(B).set("READY");
  assertEquals(count(cc.picks(30)), { [A]: 10, [B]: 10, [C]: 10 });
});

Deno.test("round_robin: all failed → TRANSIENT_FAILURE, sticky through CONNECTING", () => {
  const { cc, b } = build(ROUND_ROBIN);
  b.updateClientConnState(addrs(A, B), {});
  cc.sc(A).set("TRANSIENT_FAILURE", new Error("refused A"));
  assertEquals(cc.state, "CONNECTING"); // B still trying
  cc.sc(B).set("TRANSIENT_FAILURE", new Error("refused B"));
  assertEquals(cc.state, "TRANSIENT_FAILURE");
  assertEquals(cc.picks(1), ["error: refused B"]);
  cc.sc(A).set("IDLE");
  cc.sc(A).set("CONNECTING");
  assertEquals(cc.state, "TRANSIENT_FAILURE");
  cc.sc(A).set("READY");
  assertEquals(cc.state, "READY");
  assertEquals(cc.picks(2), [A, A]);
});

Deno.test("round_robin: address updates keep existing subchannels, drop removed ones", () => {
  const { cc, b } = build(ROUND_ROBIN);
  b.updateClientConnState(addrs(A, B), {});
  cc.sc(A).set("READY");
  cc.sc(B).set("READY");
  const scA = cc.sc(A);
  b.updateClientConnState(addrs(A, C, C), {});
  assert(cc.sc(A) === scA);
  assert(cc.subConns.find((s) => s.address.addr === B)!.isShutdown);
  assertEquals(cc.subConns.length, 3);
  assertEquals(cc.picks(2), [A, A]);
  cc.sc(C).set("READY");
  assertEquals(count(cc.picks(4)), { [A]: 2, [C]: 2 });
  b.updateClientConnState(addrs(), {});
  assertEquals(cc.state, "TRANSIENT_FAILURE");
  assertEquals(cc.picks(1), ["error: the resolver produced zero addresses"]);
});

Deno.test("round_robin: a resolver error before any address → TRANSIENT_FAILURE", () => {
  const { cc, b } = build(ROUND_ROBIN);
  b.resolverError(new Error("dns down"));
  assertEquals(cc.state, "TRANSIENT_FAILURE");
  assertEquals(cc.picks(1), ["error: dns down"]);
});
