// Targets written as URLs (http://, https://, grpc://, grpcs://) are refused with the target to
// write instead and the credentials that go with it, at newClient() / dial().
//
//   deno test -A resolver/url_target_test.ts

import { assertEquals, assertRejects, assertThrows } from "@std/assert";
import { dial, insecure, newClient } from "@seed/grpc";
import { parseTarget } from "./resolver.ts";

Deno.test("newClient() answers URL-looking targets with what to write and which credentials", () => {
  const cases: [string, string][] = [
    [
      "http://127.0.0.1:50051",
      `Cannot parse target "http://127.0.0.1:50051": a gRPC target is not a URL; write "127.0.0.1:50051" (or "dns:///127.0.0.1:50051") with credentials: insecure()`,
    ],
    [
      "https://example.com",
      `Cannot parse target "https://example.com": a gRPC target is not a URL; write "example.com:443" (or "dns:///example.com:443") with credentials: tls()`,
    ],
    [
      "HTTPS://api.example.com:8443/v1/",
      `write "api.example.com:8443" (or "dns:///api.example.com:8443") with credentials: tls() (a gRPC target has no path: /v1/ cannot be used)`,
    ],
    [
      "grpc://[::1]:50051",
      `write "[::1]:50051" (or "dns:///[::1]:50051") with credentials: insecure()`,
    ],
    ["grpcs://svc.internal", `write "svc.internal:443"`],
    ["http://", `write "host:port"`],
  ];
  for (const [target, message] of cases) {
    assertThrows(() => newClient(target, { credentials: insecure() }), TypeError, message);
  }
});

Deno.test("dial() refuses a URL target the same way; plain targets are untouched", async () => {
  await assertRejects(() => dial("http://localhost:50051"), TypeError, `write "localhost:50051"`);
  assertEquals(parseTarget("localhost:50051").target.scheme, "dns");
  assertEquals(parseTarget("example.com").target.endpoint, "example.com");
});

Deno.test("a resolver registered for the http scheme takes precedence over the URL advice", () => {
  const dns = parseTarget("dns:///x:1").factory;
  assertEquals(parseTarget("http://x:1", { http: dns }).target.scheme, "http");
});
