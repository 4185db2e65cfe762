import { assertEquals } from "@std/assert";
import { errorMessage } from "./error_message.ts";

Deno.test("errorMessage() reads an Error's message or stringifies anything else", () => {
  assertEquals(errorMessage(new TypeError("boom")), "boom");
  assertEquals(errorMessage(42), "42");
});
