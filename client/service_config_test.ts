import { assert, assertEquals, assertThrows } from "@std/assert";
import { Code } from "../status.ts";
import {
  methodConfigFor,
  parseDuration,
  parseServiceConfig,
  selectServiceConfigChoice,
} from "./service_config.ts";

// gRFC A2, "Encoding in DNS TXT Records": the example record for server `myserver`, as the
// TXT string arrives (the zone-file escapes removed).
const A2_TXT = 'grpc_config=[{"serviceConfig":{"loadBalancingPolicy":"round_robin",' +
  '"methodConfig":[{"name":[{"service":"MyService","method":"Foo"}],"waitForReady":true}]}}]';

function invalid(input: unknown, field: string): void {
  const err = assertThrows(
    () => parseServiceConfig(input as string),
    TypeError,
    `Invalid service config: ${field}`,
  );
  assert(err.message.startsWith(`Invalid service config: ${field}:`), err.message);
}

Deno.test("gRFC A2 TXT example: choice selected, round_robin and MyService/Foo waitForReady", () => {
  assert(A2_TXT.startsWith("grpc_config="));
  const choice = selectServiceConfigChoice(A2_TXT.slice("grpc_config=".length));
  assert(choice !== null);
  const sc = parseServiceConfig(choice!);
  assertEquals(sc.loadBalancing.name, "round_robin");
  assertEquals(methodConfigFor(sc, "/MyService/Foo"), { waitForReady: true });
  assertEquals(methodConfigFor(sc, "/MyService/Bar"), undefined);
  assertEquals(methodConfigFor(sc, "/Other/Foo"), undefined);
});

Deno.test("gRFC A2 canary choices: the first match wins on language, percentage, hostname", () => {
  const list = JSON.stringify([
    { clientLanguage: ["go", "JAVA"], serviceConfig: { loadBalancingPolicy: "round_robin" } },
    { percentage: 10, serviceConfig: { methodConfig: [{ name: [{}], timeout: "1s" }] } },
    { clientHostname: ["box1"], serviceConfig: { methodConfig: [{ name: [{}], timeout: "2s" }] } },
    { clientLanguage: ["Deno"], serviceConfig: { healthCheckConfig: { serviceName: "x" } } },
  ]);
  // Language: "go"/"java" do not match us; DENO matches case-insensitively.
  const pick = (percentile: number, hostname?: string) =>
    selectServiceConfigChoice(list, { percentile, hostname });
  assertEquals(pick(5), { methodConfig: [{ name: [{}], timeout: "1s" }] });
  assertEquals(pick(10, "box1"), { methodConfig: [{ name: [{}], timeout: "2s" }] });
  assertEquals(pick(50, "box2"), { healthCheckConfig: { serviceName: "x" } });
  assertEquals(pick(50), { healthCheckConfig: { serviceName: "x" } });
  assertEquals(selectServiceConfigChoice(list, { percentile: 50, languages: ["java"] }), {
    loadBalancingPolicy: "round_robin",
  });
  assertEquals(
    selectServiceConfigChoice(JSON.stringify([{ percentage: 0, serviceConfig: {} }])),
    null,
  );
  assertEquals(selectServiceConfigChoice("[]"), null);
  // Absent or empty criteria match every client.
  assertEquals(
    selectServiceConfigChoice(JSON.stringify([{ clientLanguage: [], serviceConfig: { a: 1 } }])),
    { a: 1 } as never,
  );
});

Deno.test("gRFC A2 canary choices: malformed lists are rejected naming the field", () => {
  const bad = (v: unknown, field: string) =>
    assertThrows(
      () => selectServiceConfigChoice(typeof v === "string" ? v : JSON.stringify(v)),
      TypeError,
      `Invalid service config: ${field}`,
    );
  bad("[{", "grpc_config");
  bad({ serviceConfig: {} }, "grpc_config");
  bad([{ serviceConfig: {}, clientLanguages: ["go"] }], "grpc_config[0].clientLanguages");
  bad([{ percentage: 101, serviceConfig: {} }], "grpc_config[0].percentage");
  bad([{ percentage: 1.5, serviceConfig: {} }], "grpc_config[0].percentage");
  bad([{ percentage: 50 }], "grpc_config[0].serviceConfig");
  bad([{ serviceConfig: [] }], "grpc_config[0].serviceConfig");
  bad([{ clientLanguage: [1], serviceConfig: {} }], "grpc_config[0].clientLanguage[0]");
});

Deno.test("parseServiceConfig() defaults: pick_first, no health check, no methods", () => {
  for (const input of ["{}", {}]) {
    const sc = parseServiceConfig(input);
    assertEquals(sc.loadBalancing, { name: "pick_first", config: {} });
    assertEquals(sc.healthCheckServiceName, undefined);
    assertEquals(sc.retryThrottling, undefined);
    assertEquals(sc.methods.size, 0);
    assertEquals(methodConfigFor(sc, "/a.B/C"), undefined);
  }
});

Deno.test("parseServiceConfig() loadBalancingConfig: first registered policy wins", () => {
  let sc = parseServiceConfig({
    loadBalancingConfig: [{ grpclb: {} }, { round_robin: {} }, { pick_first: {} }],
  });
  assertEquals(sc.loadBalancing, { name: "round_robin", config: {} });
  sc = parseServiceConfig({ loadBalancingConfig: [{ pick_first: { shuffleAddressList: true } }] });
  assertEquals(sc.loadBalancing, { name: "pick_first", config: { shuffleAddressList: true } });
  sc = parseServiceConfig({ loadBalancingConfig: [{ pick_first: null }] } as never);
  assertEquals(sc.loadBalancing, { name: "pick_first", config: { shuffleAddressList: false } });
  // loadBalancingConfig wins over the deprecated loadBalancingPolicy.
  sc = parseServiceConfig({
    loadBalancingPolicy: "round_robin",
    loadBalancingConfig: [{ pick_first: {} }],
  });
  assertEquals(sc.loadBalancing.name, "pick_first");
  sc = parseServiceConfig({ loadBalancingPolicy: "ROUND_ROBIN" });
  assertEquals(sc.loadBalancing.name, "round_robin");
});

Deno.test("parseServiceConfig() rejects bad load balancing configs naming the field", () => {
  invalid({ loadBalancingConfig: [{ grpclb: {} }] }, "loadBalancingConfig");
  invalid({ loadBalancingConfig: {} }, "loadBalancingConfig");
  invalid({ loadBalancingConfig: [{ round_robin: {}, pick_first: {} }] }, "loadBalancingConfig[0]");
  invalid({ loadBalancingConfig: ["round_robin"] }, "loadBalancingConfig[0]");
  invalid(
    { loadBalancingConfig: [{ pick_first: { shuffleAddressList: "yes" } }] },
    "loadBalancingConfig[0].pick_first",
  );
  invalid({ loadBalancingConfig: [{ round_robin: 5 }] }, "loadBalancingConfig[0].round_robin");
  invalid({ loadBalancingPolicy: "weighted_magic" }, "loadBalancingPolicy");
  invalid({ loadBalancingPolicy: 1 }, "loadBalancingPolicy");
});

Deno.test("parseServiceConfig() methodConfig: exact, then service, then default", () => {
  const sc = parseServiceConfig(JSON.stringify({
    methodConfig: [
      { name: [{}], timeout: "10s" },
      { name: [{ service: "pkg.Svc" }], waitForReady: true, maxRequestMessageBytes: 1024 },
      {
        name: [{ service: "pkg.Svc", method: "Get" }, { service: "other.Svc", method: "" }],
        timeout: "0.25s",
        maxResponseMessageBytes: "2048",
      },
      { waitForReady: false }, // no name: skipped
    ],
  }));
  assertEquals(methodConfigFor(sc, "/pkg.Svc/Get"), {
    timeoutMs: 250,
    maxResponseMessageBytes: 2048,
  });
  assertEquals(methodConfigFor(sc, "/pkg.Svc/Put"), {
    waitForReady: true,
    maxRequestMessageBytes: 1024,
  });
  assertEquals(methodConfigFor(sc, "/other.Svc/Any"), {
    timeoutMs: 250,
    maxResponseMessageBytes: 2048,
  });
  assertEquals(methodConfigFor(sc, "/third.Svc/X"), { timeoutMs: 10_000 });
  // `method: null` is the same as absent (service_config.proto).
  const sc2 = parseServiceConfig(
    { methodConfig: [{ name: [{ service: "s", method: null }] }] } as never,
  );
  assertEquals([...sc2.methods.keys()], ["/s/"]);
});

Deno.test("parseServiceConfig() rejects bad method configs naming the field", () => {
  invalid({ methodConfig: {} }, "methodConfig");
  invalid({ methodConfig: [5] }, "methodConfig[0]");
  invalid({ methodConfig: [{ name: {} }] }, "methodConfig[0].name");
  invalid({ methodConfig: [{ name: [{ method: "Foo" }] }] }, "methodConfig[0].name[0]");
  invalid({ methodConfig: [{ name: [{ service: 1 }] }] }, "methodConfig[0].name[0].service");
  invalid(
    {
      methodConfig: [{ name: [{ service: "a" }] }, { name: [{ service: "b" }, { service: "a" }] }],
    },
    "methodConfig[1].name[1]",
  );
  invalid(
    { methodConfig: [{ name: [{}] }, { name: [{ service: "" }] }] },
    "methodConfig[1].name[0]",
  );
  invalid({ methodConfig: [{ name: [{}], timeout: 5 }] }, "methodConfig[0].timeout");
  invalid({ methodConfig: [{ name: [{}], timeout: "5" }] }, "methodConfig[0].timeout");
  invalid({ methodConfig: [{ name: [{}], timeout: "-1s" }] }, "methodConfig[0].timeout");
  invalid({ methodConfig: [{ name: [{}], waitForReady: "true" }] }, "methodConfig[0].waitForReady");
  invalid(
    { methodConfig: [{ name: [{}], maxRequestMessageBytes: -1 }] },
    "methodConfig[0].maxRequestMessageBytes",
  );
  invalid(
    { methodConfig: [{ name: [{}], maxResponseMessageBytes: 1.5 }] },
    "methodConfig[0].maxResponseMessageBytes",
  );
});

Deno.test("parseDuration() reads proto3 JSON durations", () => {
  assertEquals(parseDuration("1s", "t"), 1000);
  assertEquals(parseDuration("1.5s", "t"), 1500);
  assertEquals(parseDuration("0.000000001s", "t"), 0.000001);
  assertEquals(parseDuration("0s", "t"), 0);
  assertEquals(parseDuration("-0s", "t"), 0);
  for (const bad of ["1", "1.s", ".5s", "1.0000000001s", "1ms", "s", " 1s", 1]) {
    assertThrows(() => parseDuration(bad, "t"), TypeError, "Invalid service config: t:");
  }
});

const RETRY = {
  maxAttempts: 4,
  initialBackoff: "0.1s",
  maxBackoff: "1s",
  backoffMultiplier: 2,
  retryableStatusCodes: ["UNAVAILABLE", 10],
};

Deno.test("parseServiceConfig() retryPolicy (gRFC A6): valid, clamped to 5 attempts", () => {
  let sc = parseServiceConfig({ methodConfig: [{ name: [{}], retryPolicy: RETRY }] });
  assertEquals(methodConfigFor(sc, "/a/b")?.retryPolicy, {
    maxAttempts: 4,
    initialBackoffMs: 100,
    maxBackoffMs: 1000,
    backoffMultiplier: 2,
    retryableStatusCodes: new Set([Code.Unavailable, Code.Aborted]),
  });
  sc = parseServiceConfig({
    methodConfig: [{ name: [{}], retryPolicy: { ...RETRY, maxAttempts: 9 } }],
  });
  assertEquals(methodConfigFor(sc, "/a/b")?.retryPolicy?.maxAttempts, 5);
  sc = parseServiceConfig({
    methodConfig: [{ name: [{}], retryPolicy: { ...RETRY, maxAttempts: 9 } }],
  }, 3);
  assertEquals(methodConfigFor(sc, "/a/b")?.retryPolicy?.maxAttempts, 3);
});

Deno.test("parseServiceConfig() rejects bad retry policies naming the field", () => {
  const f = "methodConfig[0].retryPolicy";
  const bad = (patch: Record<string, unknown>, field: string) =>
    invalid({ methodConfig: [{ name: [{}], retryPolicy: { ...RETRY, ...patch } }] }, field);
  bad({ maxAttempts: 1 }, `${f}.maxAttempts`);
  bad({ maxAttempts: undefined }, `${f}.maxAttempts`);
  bad({ maxAttempts: 2.5 }, `${f}.maxAttempts`);
  bad({ initialBackoff: "0s" }, `${f}.initialBackoff`);
  bad({ initialBackoff: undefined }, `${f}.initialBackoff`);
  bad({ maxBackoff: "0s" }, `${f}.maxBackoff`);
  bad({ backoffMultiplier: 0 }, `${f}.backoffMultiplier`);
  bad({ backoffMultiplier: "2" }, `${f}.backoffMultiplier`);
  bad({ retryableStatusCodes: [] }, `${f}.retryableStatusCodes`);
  bad({ retryableStatusCodes: undefined }, `${f}.retryableStatusCodes`);
  bad({ retryableStatusCodes: ["UNAVAILABLEX"] }, `${f}.retryableStatusCodes[0]`);
  bad({ retryableStatusCodes: [17] }, `${f}.retryableStatusCodes[0]`);
  invalid({ methodConfig: [{ name: [{}], retryPolicy: 1 }] }, f);
});

Deno.test("parseServiceConfig() hedgingPolicy (gRFC A6), exclusive with retryPolicy", () => {
  const sc = parseServiceConfig({
    methodConfig: [{
      name: [{ service: "s" }],
      hedgingPolicy: { maxAttempts: 3, hedgingDelay: "0.5s", nonFatalStatusCodes: ["UNAVAILABLE"] },
    }, { name: [{ service: "t" }], hedgingPolicy: { maxAttempts: 7 } }],
  });
  assertEquals(methodConfigFor(sc, "/s/m")?.hedgingPolicy, {
    maxAttempts: 3,
    hedgingDelayMs: 500,
    nonFatalStatusCodes: new Set([Code.Unavailable]),
  });
  assertEquals(methodConfigFor(sc, "/t/m")?.hedgingPolicy, {
    maxAttempts: 5,
    hedgingDelayMs: 0,
    nonFatalStatusCodes: new Set(),
  });
  invalid(
    { methodConfig: [{ name: [{}], retryPolicy: RETRY, hedgingPolicy: { maxAttempts: 2 } }] },
    "methodConfig[0]",
  );
  invalid(
    { methodConfig: [{ name: [{}], hedgingPolicy: { maxAttempts: 0 } }] },
    "methodConfig[0].hedgingPolicy.maxAttempts",
  );
  invalid(
    { methodConfig: [{ name: [{}], hedgingPolicy: { maxAttempts: 2, hedgingDelay: "x" } }] },
    "methodConfig[0].hedgingPolicy.hedgingDelay",
  );
  invalid(
    { methodConfig: [{ name: [{}], hedgingPolicy: { maxAttempts: 2, nonFatalStatusCodes: "A" } }] },
    "methodConfig[0].hedgingPolicy.nonFatalStatusCodes",
  );
});

Deno.test("parseServiceConfig() retryThrottling and healthCheckConfig", () => {
  const sc = parseServiceConfig({
    retryThrottling: { maxTokens: 10, tokenRatio: 0.12345 },
    healthCheckConfig: { serviceName: "pkg.Svc" },
  });
  assertEquals(sc.retryThrottling, { maxTokens: 10, tokenRatio: 0.123 });
  assertEquals(sc.healthCheckServiceName, "pkg.Svc");
  assertEquals(parseServiceConfig({ healthCheckConfig: {} }).healthCheckServiceName, "");
  invalid({ retryThrottling: { maxTokens: 0, tokenRatio: 1 } }, "retryThrottling.maxTokens");
  invalid({ retryThrottling: { maxTokens: 1001, tokenRatio: 1 } }, "retryThrottling.maxTokens");
  invalid({ retryThrottling: { maxTokens: 10, tokenRatio: -1 } }, "retryThrottling.tokenRatio");
  invalid({ retryThrottling: { maxTokens: 10 } }, "retryThrottling.tokenRatio");
  invalid({ retryThrottling: 3 }, "retryThrottling");
  invalid({ healthCheckConfig: { serviceName: 3 } }, "healthCheckConfig.serviceName");
  invalid({ healthCheckConfig: "svc" }, "healthCheckConfig");
});

Deno.test("parseServiceConfig() rejects text that is not a JSON object", () => {
  invalid("{", "JSON");
  invalid("", "JSON");
  invalid("[]", "(top level)");
  invalid("null", "(top level)");
  invalid(42, "(top level)");
});
