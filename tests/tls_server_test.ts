// Our Server over TLS and mutual TLS against grpc-js clients under Node (tests/peers/
// grpcjs_tls.mjs, grpc-js `credentials.createSsl` with and without a client certificate), and
// the handshake failures a server must survive: no client certificate, one from an unknown CA,
// a client that does not negotiate h2, a silent peer. Certificates: tests/_certs.ts (openssl).
//
//   deno test -A --sanitize-ops --sanitize-resources tests/tls_server_test.ts

import { assert, assertEquals, assertMatch, assertRejects } from "@std/assert";
import { serverTls, type ServerTlsOptions } from "@seed/grpc";
import { ensureNodePeers, runNodeClient } from "./_peers.ts";
import { testCerts } from "./_certs.ts";
import { startServer } from "./_echo_server.ts";

await ensureNodePeers();
const certs = await testCerts();

async function grpcjs(port: number, ...args: string[]): Promise<string> {
  const r = await runNodeClient("grpcjs_tls.mjs", [
    "--mode=client",
    `--server_port=${port}`,
    `--ca=${certs.path("ca.pem")}`,
    ...args,
  ]);
  const last = r.stdout.trimEnd().split("\n").at(-1) ?? "";
  if (r.code !== 0) throw new Error(`grpc-js client: ${last}\n${r.stderr}`);
  return last;
}

const clientCert = [`--cert=${certs.path("client.pem")}`, `--key=${certs.path("client.key")}`];
const serverCert = () => ({ cert: certs.read("server.pem"), key: certs.read("server.key") });

for (const engine of ["node", "deno"] as const) {
  Deno.test(`TLS (engine ${engine}): a grpc-js client makes all four kinds of call`, async () => {
    await using s = await startServer({ ...serverCert(), engine });
    assertEquals(await grpcjs(s.port), "PASS tls");
    assertEquals(s.peers.length, 4);
    for (const p of s.peers) {
      assertEquals(p.authInfo.authType, "tls");
      assertEquals(p.authInfo.securityLevel, "PrivacyAndIntegrity");
      assertEquals(p.authInfo.alpnProtocol, "h2");
      assertEquals(p.authInfo.peerCertificate, undefined);
      assertEquals(p.addr.transport, "tcp");
      assertEquals((p.addr as Deno.NetAddr).hostname, "127.0.0.1");
    }
  });
}

Deno.test("mTLS: a grpc-js client with a certificate is served and identified", async () => {
  await using s = await startServer({ ...serverCert(), caCerts: [certs.read("ca.pem")] });
  assertEquals(s.creds?.clientAuth, "require-and-verify");
  assertEquals(await grpcjs(s.port, ...clientCert, "--expect_cn=test-client"), "PASS tls");
  const cert = s.peers[0].authInfo.peerCertificate!;
  assertEquals(cert.subject.CN, "test-client");
  assertEquals(cert.dnsNames, ["client.test"]);
  assertEquals(cert.uris, ["spiffe://test/client"]);
});

Deno.test("mTLS: a client without a certificate is refused, logged, and the server serves on", async () => {
  await using s = await startServer({ ...serverCert(), caCerts: [certs.read("ca.pem")] });
  assertEquals(await grpcjs(s.port, "--expect=UNAVAILABLE"), "PASS tls");
  assertMatch(await s.logger.waitFor(/security handshake/), /from 127\.0\.0\.1:\d+: .+/);
  assertEquals(await grpcjs(s.port, ...clientCert), "PASS tls");
});

Deno.test("mTLS: a client certificate from an unknown CA is refused", async () => {
  await using s = await startServer({ ...serverCert(), caCerts: [certs.read("ca.pem")] });
  const other = [
    `--cert=${certs.path("other-client.pem")}`,
    `--key=${certs.path("other-client.key")}`,
  ];
  assertEquals(await grpcjs(s.port, ...other, "--expect=UNAVAILABLE"), "PASS tls");
  await s.logger.waitFor(/security handshake/);
  assertEquals(await grpcjs(s.port, ...clientCert), "PASS tls");
});

Deno.test('clientAuth "request": a client may send no certificate, or a valid one', async () => {
  await using s = await startServer({
    ...serverCert(),
    caCerts: [certs.read("ca.pem")],
    clientAuth: "request",
  });
  assertEquals(await grpcjs(s.port, "--expect_cn="), "PASS tls");
  assertEquals(await grpcjs(s.port, ...clientCert, "--expect_cn=test-client"), "PASS tls");
  const other = [
    `--cert=${certs.path("other-client.pem")}`,
    `--key=${certs.path("other-client.key")}`,
  ];
  assertEquals(await grpcjs(s.port, ...other, "--expect=UNAVAILABLE"), "PASS tls");
});

for (const engine of ["node", "deno"] as const) {
  Deno.test(`TLS (engine ${engine}): clients that do not negotiate h2 are refused with a log line`, async () => {
    await using s = await startServer({ ...serverCert(), engine });
    const caCerts = [certs.read("ca.pem")];
    // Offering only http/1.1: no overlap, the handshake fails.
    await assertRejects(async () => {
      const c = await Deno.connectTls({
        hostname: "localhost",
        port: s.port,
        caCerts,
        alpnProtocols: ["http/1.1"],
      });
      try {
        await c.handshake();
        await c.read(new Uint8Array(16));
      } finally {
        c.close();
      }
    });
    // Offering no ALPN at all: the handshake completes, then the server refuses.
    const c = await Deno.connectTls({ hostname: "localhost", port: s.port, caCerts });
    try {
      await c.handshake();
      assertEquals(await c.read(new Uint8Array(16)).catch(() => null), null);
    } finally {
      c.close();
    }
    await s.logger.waitFor(/did not negotiate ALPN "h2" \(negotiated none\)/);
    assertEquals(await grpcjs(s.port), "PASS tls");
  });
}

Deno.test("TLS: a silent peer is dropped after connectionTimeoutMs while others are served", async () => {
  await using s = await startServer(serverCert(), { connectionTimeoutMs: 1500 });
  const silent = await Deno.connect({ hostname: "127.0.0.1", port: s.port });
  try {
    assertEquals(await grpcjs(s.port), "PASS tls");
    // The server closes the silent connection: read ends (EOF or reset).
    assertEquals(await silent.read(new Uint8Array(16)).catch(() => null), null);
    assertMatch(
      await s.logger.waitFor(/security handshake/),
      /not completed within connectionTimeoutMs 1500/,
    );
  } finally {
    silent.close();
  }
});

Deno.test("TLS: a peer speaking plaintext HTTP/2 is refused and logged", async () => {
  await using s = await startServer(serverCert());
  const c = await Deno.connect({ hostname: "127.0.0.1", port: s.port });
  try {
    await c.write(new TextEncoder().encode("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"));
    const buf = new Uint8Array(64);
    while (await c.read(buf).catch(() => null) !== null) { /* an alert, then EOF */ }
  } finally {
    c.close();
  }
  await s.logger.waitFor(/security handshake/);
  assertEquals(await grpcjs(s.port), "PASS tls");
});

Deno.test("serverTls() checks its options", () => {
  const ok = serverCert();
  for (
    const [bad, re] of [
      [{ ...ok, cert: "nope" }, /cert must be a PEM/],
      [{ ...ok, key: 1 as unknown as string }, /key must be a PEM/],
      [{ ...ok, clientAuth: "require-and-verify" }, /needs caCerts/],
      [{ ...ok, clientAuth: "maybe" as "none" }, /unknown clientAuth/],
      [{ ...ok, engine: "rust" as "node" }, /unknown engine/],
      [{ ...ok, engine: "deno", caCerts: ["-----BEGIN x"] }, /cannot verify client/],
    ] as [ServerTlsOptions, RegExp][]
  ) {
    let err: unknown;
    try {
      serverTls(bad);
    } catch (e) {
      err = e;
    }
    assert(err instanceof Error, `accepted ${JSON.stringify(bad).slice(0, 80)}`);
    assertMatch((err as Error).message, re);
  }
  const deno = serverTls({ ...ok, engine: "deno" });
  let err: unknown;
  try {
    deno.updateCertificates(ok);
  } catch (e) {
    err = e;
  }
  assertMatch(String(err), /cannot rotate/);
});

Deno.test("serve() takes the caller's Deno.listenTls listener (ALPN h2) too", async () => {
  const listener = Deno.listenTls({
    hostname: "127.0.0.1",
    port: 0,
    ...serverCert(),
    alpnProtocols: ["h2"],
  });
  await using s = await startServer(listener);
  assertEquals(await grpcjs(s.port), "PASS tls");
  assertEquals(s.peers[0].authInfo.securityLevel, "PrivacyAndIntegrity");
});

for (const stop of ["stop", "gracefulStop"] as const) {
  Deno.test(`${stop}() closes connections still in their TLS handshake`, async () => {
    const s = await startServer(serverCert());
    const silent = await Deno.connect({ hostname: "127.0.0.1", port: s.port });
    try {
      // Once accepted (the handshake is waiting for the ClientHello), stopping must not wait
      // for connectionTimeoutMs (120 s).
      await new Promise((r) => setTimeout(r, 100));
      await s.server[stop]();
      assertEquals(await silent.read(new Uint8Array(16)).catch(() => null), null);
    } finally {
      silent.close();
      await s[Symbol.asyncDispose]();
    }
    assertEquals(s.logger.warnings, []);
  });
}
