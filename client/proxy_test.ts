import { assertEquals, assertRejects, assertStringIncludes, assertThrows } from "@std/assert";
import { dialViaProxy, noProxyMatches, parseProxyUrl, proxyFor } from "./proxy.ts";

Deno.test("parseProxyUrl() reads host, port (80 by default) and credentials", () => {
  assertEquals(parseProxyUrl("http://proxy.local:3128"), { hostname: "proxy.local", port: 3128 });
  assertEquals(parseProxyUrl("proxy.local:8080/"), { hostname: "proxy.local", port: 8080 });
  assertEquals(parseProxyUrl("http://[::1]"), { hostname: "::1", port: 80 });
  assertEquals(parseProxyUrl("http://u%40x:p%3Aw@h:1"), {
    hostname: "h",
    port: 1,
    authorization: `Basic ${btoa("u@x:p:w")}`,
  });
  assertThrows(() => parseProxyUrl("https://h:1"), TypeError, "only http://");
  assertThrows(() => parseProxyUrl("socks5://h:1"), TypeError, "only http://");
  assertThrows(() => parseProxyUrl("http://"), TypeError);
});

Deno.test("noProxyMatches() matches names, subdomains, ports, IPs and *", () => {
  const list = "localhost, .internal.example,10.0.0.1:8080,[::1]";
  for (const h of ["localhost", "a.internal.example", "internal.example", "10.0.0.1", "::1"]) {
    assertEquals(noProxyMatches(h, list), true, h);
  }
  for (const h of ["example.com", "xinternal.example", "10.0.0.2", "::2"]) {
    assertEquals(noProxyMatches(h, list), false, h);
  }
  assertEquals(noProxyMatches("anything", "*"), true);
  assertEquals(noProxyMatches("anything", ""), false);
});

Deno.test("proxyFor(): the option wins; false turns proxies off", () => {
  assertEquals(proxyFor("http://p:1", "x"), { hostname: "p", port: 1 });
  assertEquals(proxyFor(false, "x"), undefined);
});

Deno.test("dialViaProxy() fails clearly when the proxy refuses or hangs up", async () => {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const answers = ["HTTP/1.1 407 Proxy Authentication Required\r\n\r\n", "garbage\r\n\r\n", ""];
  const serving = (async () => {
    for (const a of answers) {
      const c = await l.accept();
      const buf = new Uint8Array(1024);
      await c.read(buf);
      if (a !== "") await c.write(new TextEncoder().encode(a));
      c.close();
    }
  })();
  const proxy = { hostname: "127.0.0.1", port: l.addr.port };
  const signal = new AbortController().signal;
  for (const want of ["CONNECT refused: 407", "malformed response", "connection closed"]) {
    const err = await assertRejects(() => dialViaProxy(proxy, "backend:1", signal), Error);
    assertStringIncludes(err.message, want);
    assertStringIncludes(err.message, `proxy 127.0.0.1:${l.addr.port}`);
  }
  await serving;
  l.close();
});
