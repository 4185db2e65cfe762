import { assertEquals } from "@std/assert";
import { type DeadlineEntry, DeadlineTimers } from "./deadline_timers.ts";

class Entry implements DeadlineEntry {
  deadlineBucket = 0;
  fired = 0;
  onDeadline(): void {
    this.fired++;
  }
}

const tick = () => new Promise((r) => setTimeout(r, 0));

Deno.test("DeadlineTimers runs entries whose deadline has passed, once", async () => {
  let now = 1000;
  const timers = new DeadlineTimers(4, () => now);
  const a = new Entry(), b = new Entry();
  timers.add(a, 999); // already past
  timers.add(b, 1000); // bucket 1000: due now
  now = 1001;
  await tick();
  assertEquals([a.fired, b.fired], [1, 1]);
  assertEquals(timers.size, 0);
  await tick();
  assertEquals([a.fired, b.fired], [1, 1]);
  timers.clear();
});

Deno.test("DeadlineTimers never runs an entry early (deadlines round up)", async () => {
  let now = 1000;
  const timers = new DeadlineTimers(4, () => now);
  const e = new Entry();
  timers.add(e, 1001); // bucket 1004
  now = 1003;
  await tick(); // the real timer may fire early in wall time; the injected clock says not due
  timers.add(new Entry(), 0); // forces a fire now; e is still not due
  await tick();
  assertEquals(e.fired, 0);
  assertEquals(timers.size, 1);
  now = 1004;
  timers.add(new Entry(), 0);
  await tick();
  assertEquals(e.fired, 1);
  timers.clear();
});

Deno.test("DeadlineTimers.remove() stops an entry from running", async () => {
  const now = 5000;
  const timers = new DeadlineTimers(4, () => now);
  const a = new Entry(), b = new Entry();
  timers.add(a, 4000);
  timers.add(b, 4000);
  timers.remove(a);
  timers.remove(a); // idempotent
  await tick();
  assertEquals([a.fired, b.fired], [0, 1]);
  timers.clear();
});

Deno.test("DeadlineTimers keeps one timer for many entries and clear() cancels it", () => {
  const timers = new DeadlineTimers(4, () => 0);
  const entries = Array.from({ length: 1000 }, () => new Entry());
  entries.forEach((e, i) => timers.add(e, 60_000 + i));
  assertEquals(timers.size, 1000);
  for (const e of entries.slice(0, 500)) timers.remove(e);
  assertEquals(timers.size, 500);
  timers.clear(); // the test's op sanitizer fails if a timer were left running
  assertEquals(timers.size, 0);
  assertEquals(entries.every((e) => e.deadlineBucket === 0), true);
});

Deno.test("DeadlineTimers: an entry added while others fire is served too", async () => {
  let now = 100;
  const timers = new DeadlineTimers(4, () => now);
  const late = new Entry();
  const first: DeadlineEntry = {
    deadlineBucket: 0,
    onDeadline: () => timers.add(late, 200),
  };
  timers.add(first, 50);
  await tick();
  assertEquals(late.fired, 0);
  now = 200;
  timers.add(new Entry(), 0);
  await tick();
  assertEquals(late.fired, 1);
  timers.clear();
});

Deno.test("DeadlineTimers: an entry that throws does not keep the rest of its bucket from running", async () => {
  let now = 1000;
  const errors: unknown[] = [];
  const timers = new DeadlineTimers(4, () => now, (e) => errors.push(e));
  const before = new Entry(), after = new Entry();
  const bad: DeadlineEntry = {
    deadlineBucket: 0,
    onDeadline() {
      throw new Error("boom");
    },
  };
  timers.add(before, 1002);
  timers.add(bad, 1002);
  timers.add(after, 1002); // same bucket (1004), after the throwing one
  now = 1004;
  timers.add(new Entry(), 0); // forces a fire now
  await tick();
  assertEquals([before.fired, after.fired], [1, 1]);
  assertEquals(errors.map((e) => (e as Error).message), ["boom"]);
  assertEquals(timers.size, 0);
  timers.clear();
});
