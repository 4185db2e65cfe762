import { assertEquals, assertThrows } from "@std/assert";
import { resolveDialOptions } from "./options.ts";

Deno.test("resolveDialOptions(): a window under 64 KiB is ignored, as grpc-go and the server do", () => {
  const t = resolveDialOptions({ initialWindowSize: 65534, initialConnWindowSize: 1000 }).transport;
  assertEquals([t.initialWindowSize, t.initialConnWindowSize, t.dynamicWindow], [
    65535,
    65535,
    true,
  ]);
  const set = resolveDialOptions({ initialWindowSize: 1 << 20 }).transport;
  assertEquals([set.initialWindowSize, set.initialConnWindowSize, set.dynamicWindow], [
    1 << 20,
    65535,
    false,
  ]);
});

Deno.test("resolveDialOptions() words its errors as the server does", () => {
  assertThrows(
    () => resolveDialOptions({ maxReceiveMessageSize: -1 }),
    RangeError,
    "Cannot create client: maxReceiveMessageSize must be an integer in [0, 2147483647], got -1",
  );
  assertThrows(
    () => resolveDialOptions({ compression: "snappy" }),
    RangeError,
    `Cannot create client: unknown compression "snappy"`,
  );
});
