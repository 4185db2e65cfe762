import { assertEquals, assertThrows } from "@std/assert";
import { DEFAULT_IDLE_TIMEOUT_MS, resolveDialOptions } from "./options.ts";
import { REAL_CLOCK } from "../internal/clock.ts";

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

Deno.test("resolveDialOptions({}) pins the channel defaults (grpc-go's)", () => {
  const o = resolveDialOptions({});
  assertEquals(DEFAULT_IDLE_TIMEOUT_MS, 30 * 60 * 1000);
  assertEquals(o.idleTimeoutMs, DEFAULT_IDLE_TIMEOUT_MS);
  assertEquals(o.defaultServiceConfig, undefined);
  assertEquals(o.disableServiceConfig, false);
  assertEquals(o.serviceConfigLookup, false);
  assertEquals(o.resolvers, undefined);
  assertEquals(o.proxy, undefined);
  assertEquals(o.clock, REAL_CLOCK);
  assertEquals(o.backoff, { baseDelayMs: 1000, multiplier: 1.6, jitter: 0.2, maxDelayMs: 120_000 });
  assertEquals(o.minConnectTimeoutMs, 20_000);
});

Deno.test("resolveDialOptions() checks the channel options up front", () => {
  assertThrows(() => resolveDialOptions({ idleTimeoutMs: -1 }), RangeError, "idleTimeoutMs");
  assertThrows(() => resolveDialOptions({ proxy: "https://p:1" }), TypeError, "only http://");
  assertThrows(
    () => resolveDialOptions({ defaultServiceConfig: { loadBalancingConfig: [{ nope: {} }] } }),
    TypeError,
    "loadBalancingConfig",
  );
  const o = resolveDialOptions({
    idleTimeoutMs: 0,
    proxy: false,
    defaultServiceConfig: '{"loadBalancingPolicy":"round_robin"}',
  });
  assertEquals(o.idleTimeoutMs, 0);
  assertEquals(o.proxy, false);
  assertEquals(o.defaultServiceConfig?.loadBalancing.name, "round_robin");
});

Deno.test("resolveDialOptions(): retry options and their defaults (grpc-go, grpc-js)", () => {
  const d = resolveDialOptions({});
  assertEquals(
    [d.maxCallAttempts, d.disableRetry, d.maxRetryRPCBufferSize, d.retryBufferSize],
    [5, false, 256 * 1024, 16 * 1024 * 1024],
  );
  // grpc-go WithMaxCallAttempts: below 2 means the default.
  assertEquals(resolveDialOptions({ maxCallAttempts: 1 }).maxCallAttempts, 5);
  assertEquals(resolveDialOptions({ maxCallAttempts: 8 }).maxCallAttempts, 8);
  assertThrows(() => resolveDialOptions({ maxCallAttempts: 2.5 }), RangeError, "maxCallAttempts");
  assertThrows(() => resolveDialOptions({ retryBufferSize: -1 }), RangeError, "retryBufferSize");
  // maxCallAttempts caps the policies of the default service config.
  const sc = resolveDialOptions({
    maxCallAttempts: 3,
    defaultServiceConfig: {
      methodConfig: [{
        name: [{ service: "s" }],
        hedgingPolicy: { maxAttempts: 5, hedgingDelay: "1s" },
      }],
    },
  }).defaultServiceConfig!;
  assertEquals(sc.methods.get("/s/")?.hedgingPolicy?.maxAttempts, 3);
});
