import { assertEquals } from "@std/assert";
import { isDeadlineReason } from "./abort.ts";

Deno.test("isDeadlineReason() is true for TimeoutError and Deno.errors.TimedOut only", () => {
  const timedOut = AbortSignal.abort(new DOMException("t", "TimeoutError")).reason;
  assertEquals(isDeadlineReason(timedOut), true);
  assertEquals(isDeadlineReason(new Deno.errors.TimedOut("t")), true);
  const ac = new AbortController();
  ac.abort();
  assertEquals(isDeadlineReason(ac.signal.reason), false); // AbortError
  assertEquals(isDeadlineReason(new Error("x")), false);
  assertEquals(isDeadlineReason("TimeoutError"), false);
  assertEquals(isDeadlineReason(undefined), false);
});
