import { assertEquals } from "@std/assert";
import { StreamMap } from "./stream_map.ts";

Deno.test("StreamMap: set, get, delete and size, as a Map would", () => {
  const m = new StreamMap<string>();
  assertEquals(m.size, 0);
  assertEquals(m.get(1), undefined);
  m.set(1, "a").set(3, "b");
  m.set(3, "c"); // replaces
  assertEquals([m.size, m.get(1), m.get(3), m.get(5)], [2, "a", "c", undefined]);
  assertEquals([m.has(1), m.has(5)], [true, false]);
  assertEquals(m.delete(1), true);
  assertEquals(m.delete(1), false);
  assertEquals([m.size, m.get(1), m.get(3)], [1, undefined, "c"]);
  assertEquals(m.values(), ["c"]);
});

Deno.test("StreamMap: a long churn of streams (one in, one out) keeps every live one findable", () => {
  // The transport's pattern: ids grow, a window of streams is open, tombstones pile up and
  // force rehashes; compared against a Map at every step.
  const m = new StreamMap<number>(4);
  const ref = new Map<number, number>();
  let next = 1;
  for (let i = 0; i < 20_000; i++) {
    const id = next;
    next += 2;
    m.set(id, id * 10);
    ref.set(id, id * 10);
    // Close an older stream, not always the oldest: a few stay open for long.
    const victim = id - 2 * (1 + (i % 37));
    if (victim > 0 && (victim % 1000) !== 1) {
      assertEquals(m.delete(victim), ref.delete(victim));
    }
    assertEquals(m.size, ref.size);
  }
  for (const [id, v] of ref) assertEquals(m.get(id), v);
  assertEquals(m.values().sort((a, b) => a - b), [...ref.values()].sort((a, b) => a - b));
  assertEquals(m.get(next), undefined);
});

Deno.test("StreamMap: values() is a snapshot, so deleting while iterating is safe", () => {
  const m = new StreamMap<number>();
  for (let id = 1; id < 200; id += 2) m.set(id, id);
  for (const v of m.values()) m.delete(v);
  assertEquals(m.size, 0);
  assertEquals(m.values(), []);
});

Deno.test("StreamMap: the largest stream id (2^31-1) works", () => {
  const m = new StreamMap<string>();
  m.set(2 ** 31 - 1, "last");
  assertEquals(m.get(2 ** 31 - 1), "last");
  assertEquals(m.delete(2 ** 31 - 1), true);
  assertEquals(m.size, 0);
});
