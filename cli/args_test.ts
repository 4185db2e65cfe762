import { assertEquals, assertThrows } from "@std/assert";
import { parseArgs, parseDuration, UsageError } from "./args.ts";

Deno.test("parseArgs() takes flags before and after the positionals, repeated ones in order", () => {
  const args = parseArgs([
    "-H",
    "a: 1",
    "call",
    "--plaintext",
    "localhost:50051",
    "-I",
    "protos",
    "pkg.S/M",
    "-d",
    "{}",
    "--header=b: 2",
    "-I=more",
    "--deadline",
    "1m30s",
    "--proto",
    "x.proto",
  ]);
  assertEquals(args, {
    verb: "call",
    positionals: ["localhost:50051", "pkg.S/M"],
    data: "{}",
    headers: ["a: 1", "b: 2"],
    importPaths: ["protos", "more"],
    protos: ["x.proto"],
    plaintext: true,
    deadlineMs: 90_000,
  });
});

Deno.test("parseArgs() gives help for no verb or -h, and rejects unknown verbs and flags", () => {
  assertEquals(parseArgs([]).verb, "help");
  assertEquals(parseArgs(["list", "-h"]).verb, "help");
  assertThrows(() => parseArgs(["lst", "x"]), UsageError, 'unknown verb "lst"');
  assertThrows(() => parseArgs(["list", "--nope"]), UsageError, "unknown flag --nope");
  assertThrows(() => parseArgs(["call", "a", "b", "-d"]), UsageError, "needs a value");
  assertThrows(() => parseArgs(["call", "-d", "{}", "-d", "{}"]), UsageError, "twice");
  assertEquals(parseArgs(["call", "a", "--", "-d"]).positionals, ["a", "-d"]);
});

Deno.test("parseDuration() reads Go durations in ms", () => {
  assertEquals(parseDuration("5s"), 5000);
  assertEquals(parseDuration("500ms"), 500);
  assertEquals(parseDuration("1.5s"), 1500);
  assertEquals(parseDuration("1h2m"), 3_720_000);
  assertEquals(parseDuration("250us"), 0.25);
  for (const bad of ["", "5", "s", "-1s", "0s", "5 s", "5sec"]) {
    assertThrows(() => parseDuration(bad), UsageError, "bad duration");
  }
});
