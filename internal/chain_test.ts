import { assertEquals } from "@std/assert";
import { chainInterceptors } from "./chain.ts";

type Step = (trace: string[]) => string[];

Deno.test("chainInterceptors() runs the first interceptor outermost, then `last`", () => {
  const names = ["a", "b", "c"];
  const last: Step = (trace) => [...trace, "call"];
  const run = chainInterceptors<string, Step>(
    names,
    last,
    (name, next) => (trace) => [...next([...trace, `${name}>`]), `<${name}`],
  );
  assertEquals(run([]), ["a>", "b>", "c>", "call", "<c", "<b", "<a"]);
  assertEquals(chainInterceptors<string, Step>([], last, () => last), last);
});
