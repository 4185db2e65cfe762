import { assertEquals, assertThrows } from "@std/assert";
import { decodeTimeout, encodeTimeout, MAX_TIMEOUT_MS } from "./timeout.ts";

Deno.test("encodeTimeout() uses nanoseconds below 100 ms", () => {
  assertEquals(encodeTimeout(1), "1000000n");
  assertEquals(encodeTimeout(0.1), "100000n"); // no float noise
  assertEquals(encodeTimeout(0.000001), "1n");
  assertEquals(encodeTimeout(99.999999), "99999999n");
});

Deno.test("encodeTimeout() picks the finest unit that fits at the boundaries", () => {
  assertEquals(encodeTimeout(100), "100000u");
  assertEquals(encodeTimeout(99_999.999), "99999999u");
  assertEquals(encodeTimeout(100_000), "100000m");
  assertEquals(encodeTimeout(99_999_999), "99999999m");
  assertEquals(encodeTimeout(100_000_000), "100000S");
  assertEquals(encodeTimeout(99_999_999_000), "99999999S");
  assertEquals(encodeTimeout(100_000_000_000), "1666667M");
  assertEquals(encodeTimeout(99_999_999 * 60_000), "99999999M");
  assertEquals(encodeTimeout(99_999_999 * 60_000 + 1), "1666667H");
  assertEquals(encodeTimeout(MAX_TIMEOUT_MS), "99999999H");
});

Deno.test("encodeTimeout() rounds up, never down", () => {
  assertEquals(encodeTimeout(0.0000001), "1n");
  assertEquals(encodeTimeout(100.0001), "100001u");
  assertEquals(encodeTimeout(100_000.5), "100001m");
  assertEquals(encodeTimeout(100_000_001), "100001S");
  for (const ms of [0.3, 1.5, 99.5, 150.25, 1234.5678, 123_456.7, 3e8 + 1, 1e12 + 7]) {
    const back = decodeTimeout(encodeTimeout(ms))!;
    assertEquals(back >= ms - 1e-9, true, `${ms} -> ${encodeTimeout(ms)}`);
  }
});

Deno.test("encodeTimeout() sends 0n for a deadline already past", () => {
  assertEquals(encodeTimeout(0), "0n");
  assertEquals(encodeTimeout(-5), "0n");
  assertEquals(encodeTimeout(-0), "0n");
});

Deno.test("encodeTimeout() caps huge timeouts and refuses non-finite ones", () => {
  assertEquals(encodeTimeout(MAX_TIMEOUT_MS * 10), "99999999H");
  assertThrows(() => encodeTimeout(Infinity), RangeError);
  assertThrows(() => encodeTimeout(NaN), RangeError);
});

Deno.test("decodeTimeout() decodes every unit", () => {
  assertEquals(decodeTimeout("1H"), 3_600_000);
  assertEquals(decodeTimeout("2M"), 120_000);
  assertEquals(decodeTimeout("3S"), 3_000);
  assertEquals(decodeTimeout("4m"), 4);
  assertEquals(decodeTimeout("5u"), 0.005);
  assertEquals(decodeTimeout("6000000n"), 6);
  assertEquals(decodeTimeout("0n"), 0);
  assertEquals(decodeTimeout("99999999S"), 99_999_999_000);
  assertEquals(decodeTimeout("007S"), 7_000);
});

Deno.test("decodeTimeout() round-trips encodeTimeout()", () => {
  for (const ms of [1, 50, 100, 1_000, 30_000, 86_400_000, 99_999_999_000]) {
    assertEquals(decodeTimeout(encodeTimeout(ms)), ms);
  }
});

Deno.test("decodeTimeout() rejects malformed values", () => {
  for (
    const value of [
      "",
      "S",
      "1",
      "123456789S",
      "1x",
      "1s",
      "1h",
      "-1S",
      "+1S",
      "1.5S",
      " 1S",
      "1S ",
      "1 S",
      "0x1S",
      "1e3m",
      "１S",
    ]
  ) {
    assertEquals(decodeTimeout(value), undefined, JSON.stringify(value));
  }
});
