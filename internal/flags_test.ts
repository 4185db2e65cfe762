import { assertEquals } from "@std/assert";
import { parseGoDuration, parseGoFlags } from "./flags.ts";

Deno.test("parseGoFlags() reads -f v, -f=v, --f=v and bare flags", () => {
  const f = parseGoFlags(["-port", "0", "-scenario=unary", "--duration=5s", "-v", "-x", "y"]);
  assertEquals([...f], [["port", "0"], ["scenario", "unary"], ["duration", "5s"], ["v", "true"], [
    "x",
    "y",
  ]]);
});

Deno.test("parseGoDuration() reads Go durations in ms and refuses anything else", () => {
  assertEquals(parseGoDuration("5s"), 5000);
  assertEquals(parseGoDuration("500ms"), 500);
  assertEquals(parseGoDuration("1.5s"), 1500);
  assertEquals(parseGoDuration("1m30s"), 90_000);
  assertEquals(parseGoDuration("250us"), 0.25);
  assertEquals(parseGoDuration("0"), 0);
  for (const bad of ["", "5", "s", "5x", "1s junk", "-1s"]) {
    assertEquals(parseGoDuration(bad), undefined, bad);
  }
});
