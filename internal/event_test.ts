import { assert, assertEquals, assertStrictEquals } from "@std/assert";
import { OnceEvent } from "./event.ts";

Deno.test("OnceEvent.fire() returns true only for the first call", () => {
  const e = new OnceEvent();
  assert(!e.hasFired());
  assert(e.fire());
  assert(e.hasFired());
  assert(!e.fire());
  assert(!e.fire());
  assert(e.hasFired());
});

Deno.test("OnceEvent.signal aborts on fire with an AbortError", () => {
  const e = new OnceEvent();
  const signal = e.signal;
  assertStrictEquals(e.signal, signal);
  let calls = 0;
  signal.addEventListener("abort", () => calls++);
  assert(!signal.aborted);
  e.fire();
  e.fire();
  assert(signal.aborted);
  assertEquals(calls, 1);
  assert(signal.reason instanceof DOMException);
  assertEquals(signal.reason.name, "AbortError");
});

Deno.test("OnceEvent.signal is already aborted after fire", () => {
  const e = new OnceEvent();
  e.fire();
  assert(e.signal.aborted);
  assertEquals(e.signal.reason.name, "AbortError");
});

Deno.test("OnceEvent.done resolves on fire", async () => {
  const e = new OnceEvent();
  const done = e.done;
  assertStrictEquals(e.done, done);
  let resolved = false;
  done.then(() => resolved = true);
  await Promise.resolve();
  assert(!resolved);
  e.fire();
  await done;
  assert(resolved);
  assertStrictEquals(e.done, done);
});

Deno.test("OnceEvent.done is resolved when asked for after fire", async () => {
  const e = new OnceEvent();
  e.fire();
  await e.done;
  // Both waiters are independent of each other.
  const f = new OnceEvent();
  const signal = f.signal;
  const done = f.done;
  f.fire();
  await done;
  assert(signal.aborted);
});
