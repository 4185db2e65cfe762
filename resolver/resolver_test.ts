import { assert, assertEquals, assertThrows } from "@std/assert";
import {
  getResolver,
  isIPv4,
  isIPv6,
  parseTarget,
  registerResolver,
  type Resolver,
  type ResolverState,
  splitHostPort,
} from "./resolver.ts";
import "./dns.ts";
import "./ip.ts";
import "./passthrough.ts";
import "./unix.ts";
import { ManualResolver } from "./manual.ts";
import { RecordingCC } from "./_testing.ts";

function resolve(raw: string): ResolverState[] {
  const { target, factory } = parseTarget(raw);
  const cc = new RecordingCC();
  factory(target, cc, {}).close();
  return cc.states;
}

Deno.test("parseTarget() keeps registered schemes and reads the rest as dns:///", () => {
  const t = (raw: string) => parseTarget(raw).target;
  assertEquals(t("dns:///example.com:50051"), {
    scheme: "dns",
    authority: "",
    endpoint: "example.com:50051",
    hierarchical: true,
    raw: "dns:///example.com:50051",
  });
  assertEquals(t("dns://127.0.0.1:53/example.com").authority, "127.0.0.1:53");
  assertEquals(t("dns://127.0.0.1:53/example.com").endpoint, "example.com");
  assertEquals(t("DNS:example.com:1").scheme, "dns");
  assertEquals(t("dns:example.com:1").endpoint, "example.com:1");
  for (const raw of ["localhost:50051", "127.0.0.1:1", "[::1]:80", "example.com", "nope:1"]) {
    assertEquals(t(raw).scheme, "dns", raw);
    assertEquals(t(raw).endpoint, raw);
  }
  assertEquals(t("unix:///tmp/s").endpoint, "tmp/s");
  assertEquals(t("unix:rel/s").hierarchical, false);
  assertEquals(t("passthrough:///a:1").scheme, "passthrough");
  assertThrows(() => parseTarget(""), TypeError);
});

Deno.test("parseTarget() finds per-channel resolvers first, case-insensitively", () => {
  const r = new ManualResolver("Mine");
  const { target, factory } = parseTarget("mine:///x", { [r.scheme]: r.build });
  assertEquals(target.scheme, "mine");
  assert(factory === r.build);
  assert(parseTarget("mine:///x").target.scheme === "dns"); // not registered globally
});

Deno.test("registerResolver() adds a scheme for every channel", () => {
  const seen: string[] = [];
  registerResolver("test-fixed", (target, cc): Resolver => {
    seen.push(target.endpoint);
    cc.updateState({ addresses: [{ addr: "10.0.0.1:1" }] });
    return { resolveNow() {}, close() {} };
  });
  assert(getResolver("TEST-FIXED") !== undefined);
  assertEquals(resolve("test-fixed:///svc"), [{ addresses: [{ addr: "10.0.0.1:1" }] }]);
  assertEquals(seen, ["svc"]);
  assertThrows(() => registerResolver("1bad", () => ({ resolveNow() {}, close() {} })), TypeError);
});

Deno.test("splitHostPort() and the IP literal tests", () => {
  assertEquals(splitHostPort("a.b:80", 443), { host: "a.b", port: 80, hasPort: true });
  assertEquals(splitHostPort("a.b", 443), { host: "a.b", port: 443, hasPort: false });
  assertEquals(splitHostPort(":80", 443), { host: "localhost", port: 80, hasPort: true });
  assertEquals(splitHostPort("[::1]:80", 443), { host: "::1", port: 80, hasPort: true });
  assertEquals(splitHostPort("[::1]", 443), { host: "::1", port: 443, hasPort: false });
  for (const bad of ["[::1", "[::1]x", "a:0", "a:65536", "a:x", "a:b:c", "::1", "::1:5"]) {
    assertThrows(() => splitHostPort(bad, 443), TypeError, undefined, bad);
  }
  for (const ok of ["1.2.3.4", "0.0.0.0", "255.255.255.255"]) assert(isIPv4(ok), ok);
  for (const no of ["1.2.3", "256.1.1.1", "01.2.3.4", "a.b.c.d", ""]) assert(!isIPv4(no), no);
  for (
    const ok of [
      "::",
      "::1",
      "1::",
      "fe80::1:2",
      "1:2:3:4:5:6:7:8",
      "::ffff:1.2.3.4",
      "::1.2.3.4",
      "1:2:3:4:5:6:1.2.3.4",
    ]
  ) {
    assert(isIPv6(ok), ok);
  }
  for (
    const no of [
      "1:2:3:4:5:6:7:8:9",
      "1::2::3",
      ":1",
      "1:",
      "12345::",
      "g::1",
      "1.2.3.4",
      "1:2:3:4:5:6:7:1.2.3.4",
    ]
  ) {
    assert(!isIPv6(no), no);
  }
});

Deno.test("ipv4: and ipv6: resolvers give fixed lists; a missing port is 443", () => {
  assertEquals(resolve("ipv4:10.0.0.1:50051,10.0.0.2"), [{
    addresses: [{ addr: "10.0.0.1:50051" }, { addr: "10.0.0.2:443" }],
  }]);
  assertEquals(resolve("ipv6:[::1]:50051,[fe80::2],::3"), [{
    addresses: [{ addr: "[::1]:50051" }, { addr: "[fe80::2]:443" }, { addr: "[::3]:443" }],
  }]);
  assertThrows(() => resolve("ipv4:example.com:1"), TypeError, "is not an IPv4 address");
  assertThrows(() => resolve("ipv6:[1.2.3.4]:1"), TypeError, "is not an IPv6 address");
  assertThrows(() => resolve("ipv4://auth/1.2.3.4:1"), TypeError, "no authority");
});

Deno.test("unix: and unix-abstract: resolvers", () => {
  assertEquals(resolve("unix:/tmp/a.sock"), [{
    addresses: [{ addr: "/tmp/a.sock", transport: "unix" }],
  }]);
  assertEquals(resolve("unix:rel.sock")[0].addresses[0].addr, "rel.sock");
  assertEquals(resolve("unix:///tmp/a.sock")[0].addresses[0].addr, "/tmp/a.sock");
  assertEquals(resolve("unix-abstract:name")[0].addresses[0], {
    addr: "\0name",
    transport: "unix",
  });
  assertThrows(() => resolve("unix://host/tmp/a"), TypeError, "no authority");
  assertThrows(() => resolve("unix:"), TypeError, "no path");
});

Deno.test("passthrough: hands the endpoint to the dialler as it is", () => {
  assertEquals(resolve("passthrough:///my-host:8080"), [{ addresses: [{ addr: "my-host:8080" }] }]);
  assertThrows(() => resolve("passthrough:///"), TypeError, "no address");
});

Deno.test("ManualResolver: updates, errors, resolveNow, replay on rebuild", () => {
  const r = new ManualResolver();
  const { target, factory } = parseTarget("manual:///x", { [r.scheme]: r.build });
  const cc1 = new RecordingCC();
  const res1 = factory(target, cc1, {});
  assertEquals(cc1.states, []); // nothing set yet
  let asked = 0;
  r.onResolveNow = () => asked++;
  res1.resolveNow();
  assertEquals(asked, 1);
  r.updateState({ addresses: [{ addr: "1.1.1.1:1" }] });
  r.reportError(new Error("boom"));
  assertEquals(cc1.states.length, 1);
  assertEquals(cc1.errors[0].message, "boom");
  res1.close();
  r.updateState({ addresses: [{ addr: "2.2.2.2:2" }] }); // not delivered: closed
  assertEquals(cc1.states.length, 1);
  const cc2 = new RecordingCC();
  factory(target, cc2, {});
  assertEquals(cc2.states, [{ addresses: [{ addr: "2.2.2.2:2" }] }]);
  assertEquals(r.builds, 2);
});
