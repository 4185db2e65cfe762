// defences.ts on its own, on an injected clock (the connection-level behaviour is in
// flood_test.ts and stream_states_test.ts).

import { assertEquals } from "@std/assert";
import { EmptyDataBucket, RecentResets, ResetBudget } from "./defences.ts";
import { MAX_EMPTY_DATA_FRAMES, MAX_RESETS_PER_SECOND } from "./defaults.ts";

Deno.test("ResetBudget allows MAX_RESETS_PER_SECOND per second, then refuses until the next second", () => {
  let now = 10_000;
  const b = new ResetBudget(() => now);
  for (let i = 0; i < MAX_RESETS_PER_SECOND; i++) assertEquals(b.add(), true);
  assertEquals(b.add(), false);
  now += 999;
  assertEquals(b.add(), false);
  now += 1;
  assertEquals(b.add(), true);
});

Deno.test("EmptyDataBucket: a burst of MAX_EMPTY_DATA_FRAMES, refilled at 100 per second", () => {
  let now = 10_000;
  const b = new EmptyDataBucket(() => now);
  for (let i = 0; i < MAX_EMPTY_DATA_FRAMES; i++) assertEquals(b.add(), true);
  assertEquals(b.add(), false);
  now += 1000; // 100 back
  for (let i = 0; i < 99; i++) assertEquals(b.add(), true);
  assertEquals(b.add(), false);
  // A clock that goes backwards refills nothing.
  now -= 5000;
  assertEquals(b.add(), false);
});

Deno.test("RecentResets remembers the last `capacity` ids", () => {
  const r = new RecentResets(3);
  for (const id of [1, 3, 5, 3]) r.add(id);
  assertEquals([1, 3, 5, 7].map((id) => r.has(id)), [true, true, true, false]);
  r.add(7);
  assertEquals([1, 3, 5, 7].map((id) => r.has(id)), [false, true, true, true]);
});
