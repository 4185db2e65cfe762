import { assertEquals } from "@std/assert";
import { parseGoFlags } from "./flags.ts";

Deno.test("parseGoFlags() reads -flag v, -flag=v, --flag=v and bare flags", () => {
  const f = parseGoFlags(["-port", "0", "-scenario=unary", "--size=100", "-v", "-duration", "5s"]);
  assertEquals(f.get("port"), "0");
  assertEquals(f.get("scenario"), "unary");
  assertEquals(f.get("size"), "100");
  assertEquals(f.get("v"), "true");
  assertEquals(f.get("duration"), "5s");
});
