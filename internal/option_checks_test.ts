import { assertEquals, assertThrows } from "@std/assert";
import {
  checkCompression,
  checkInt,
  checkNonNegative,
  checkPositiveMs,
  checkWindows,
  MAX_INT32,
} from "./option_checks.ts";

Deno.test("checkInt() takes integers in range, defaults when unset, quotes a bad value", () => {
  assertEquals(checkInt("Cannot x", "n", undefined, 7), 7);
  assertEquals(checkInt("Cannot x", "n", 0, 7), 0);
  assertEquals(checkInt("Cannot x", "n", MAX_INT32, 7), MAX_INT32);
  assertEquals(checkInt("Cannot x", "n", 2 ** 32 - 1, 7, 1, 2 ** 32 - 1), 2 ** 32 - 1);
  for (const bad of [-1, 1.5, NaN, Infinity, MAX_INT32 + 1, "3" as unknown as number]) {
    assertThrows(() => checkInt("Cannot x", "n", bad, 7), RangeError, `Cannot x: n must be`);
  }
  assertThrows(() => checkInt("Cannot x", "n", 0, 7, 1), RangeError, "got 0");
});

Deno.test("checkNonNegative() takes finite numbers >= 0", () => {
  assertEquals(checkNonNegative("Cannot x", "ms", 1.5, 3), 1.5);
  assertEquals(checkNonNegative("Cannot x", "ms", undefined, 3), 3);
  for (const bad of [-1, NaN, Infinity]) {
    assertThrows(() => checkNonNegative("Cannot x", "ms", bad, 3), RangeError, "ms");
  }
});

Deno.test("checkPositiveMs() takes durations > 0 and Infinity (none), defaults when unset", () => {
  assertEquals(checkPositiveMs("C", "t", undefined, Infinity), Infinity);
  assertEquals(checkPositiveMs("C", "t", 1.5, 7), 1.5);
  assertEquals(checkPositiveMs("C", "t", Infinity, 7), Infinity);
  for (const bad of [0, -1, NaN]) {
    assertThrows(() => checkPositiveMs("C", "t", bad, 7), RangeError, `C: t must be > 0 ms`);
  }
});

Deno.test("checkCompression() gives the compressor, none for identity, RangeError if unknown", () => {
  assertEquals(checkCompression("Cannot x", "gzip")?.name, "gzip");
  assertEquals(checkCompression("Cannot x", "identity"), undefined);
  assertEquals(checkCompression("Cannot x", undefined), undefined);
  assertThrows(() => checkCompression("Cannot x", "brotli"), RangeError, `"brotli"`);
});

Deno.test("checkWindows(): 64 KiB or more is used and turns BDP off; less is ignored (grpc-go)", () => {
  assertEquals(checkWindows("Cannot x", undefined, undefined), {
    initialWindowSize: 65535,
    initialConnWindowSize: 65535,
    dynamicWindow: true,
  });
  assertEquals(checkWindows("Cannot x", 65534, 1000), {
    initialWindowSize: 65535,
    initialConnWindowSize: 65535,
    dynamicWindow: true,
  });
  assertEquals(checkWindows("Cannot x", 1 << 20, undefined), {
    initialWindowSize: 1 << 20,
    initialConnWindowSize: 65535,
    dynamicWindow: false,
  });
  assertEquals(checkWindows("Cannot x", undefined, 65535).dynamicWindow, false);
  assertThrows(() => checkWindows("Cannot x", -1, undefined), RangeError, "initialWindowSize");
  assertThrows(() => checkWindows("Cannot x", 0, 2 ** 31), RangeError, "initialConnWindowSize");
});
