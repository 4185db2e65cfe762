import { assertEquals, assertThrows } from "@std/assert";
import { consoleLogger, defaultLogger, silentLogger } from "./logger.ts";

function captureStderr(fn: () => void): string[] {
  const lines: string[] = [];
  const orig = console.error;
  console.error = (m: string) => lines.push(m);
  try {
    fn();
  } finally {
    console.error = orig;
  }
  return lines;
}

Deno.test("consoleLogger() writes the levels at or above its own, with grpclog's tags", () => {
  const all = (l: typeof defaultLogger) => {
    l.info("i");
    l.warning("w");
    l.error("e");
  };
  assertEquals(captureStderr(() => all(defaultLogger)), ["WARNING: w", "ERROR: e"]);
  assertEquals(captureStderr(() => all(consoleLogger("info"))), [
    "INFO: i",
    "WARNING: w",
    "ERROR: e",
  ]);
  assertEquals(captureStderr(() => all(consoleLogger("error"))), ["ERROR: e"]);
  assertEquals(captureStderr(() => all(silentLogger)), []);
  assertThrows(() => consoleLogger("loud" as "info"), RangeError, "unknown level");
});
