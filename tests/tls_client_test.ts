// Our client over TLS and mutual TLS: against our Server and a grpc-js server under Node
// (tests/peers/grpcjs_tls.mjs, `ServerCredentials.createSsl` requiring client certificates);
// handshake failures (unknown CA, wrong name, expired certificate, no h2) fail calls UNAVAILABLE
// naming the cause and the channel reconnects with backoff; certificate rotation while calls
// run; the serverName override when dialling 127.0.0.1; per-call credentials; and all four RPC
// kinds over unix and unix-abstract sockets. Certificates: tests/_certs.ts (openssl).
//
//   deno test -A --sanitize-ops --sanitize-resources tests/tls_client_test.ts

import { assert, assertEquals, assertMatch, assertRejects } from "@std/assert";
import {
  callCredentials,
  Code,
  createClient,
  insecure,
  newClient,
  StatusError,
  tls,
  type TlsCredentialsOptions,
} from "@seed/grpc";
import { ensureNodePeers, startNodeServer } from "./_peers.ts";
import { testCerts } from "./_certs.ts";
import { echo, fourKinds, startServer } from "./_echo_server.ts";

await ensureNodePeers();
const certs = await testCerts();
const ca = () => [certs.read("ca.pem")];
const serverCert = () => ({ cert: certs.read("server.pem"), key: certs.read("server.key") });
const clientCert = () => ({ cert: certs.read("client.pem"), key: certs.read("client.key") });

async function dialFour(port: number, o: TlsCredentialsOptions): Promise<string> {
  await using conn = newClient(`127.0.0.1:${port}`, { credentials: tls(o) });
  return await fourKinds(conn);
}

async function unaryError(port: number, o: TlsCredentialsOptions): Promise<StatusError> {
  await using conn = newClient(`127.0.0.1:${port}`, { credentials: tls(o) });
  // deno-lint-ignore no-explicit-any
  const c = createClient(echo, conn) as any;
  const err = await assertRejects(() => c.unary({ text: "x" }, { timeoutMs: 20_000 }));
  assert(err instanceof StatusError, String(err));
  return err;
}

Deno.test("tls(): all four kinds against our server, with and without a client certificate", async () => {
  await using s = await startServer({ ...serverCert(), caCerts: ca(), clientAuth: "request" });
  assertEquals(await dialFour(s.port, { caCerts: ca(), serverName: "localhost" }), "");
  assertEquals(await dialFour(s.port, { caCerts: ca(), ...clientCert() }), "test-client");
});

Deno.test("tls(): serverName override when dialling 127.0.0.1 (name checked, SNI, :authority)", async () => {
  await using s = await startServer({ ...serverCert(), caCerts: ca(), clientAuth: "request" });
  // foo.test.google.fr is only in the certificate; 127.0.0.1 is what is dialled.
  for (const client of [{}, clientCert()]) {
    assertEquals(
      await dialFour(s.port, { caCerts: ca(), serverName: "foo.test.google.fr", ...client }),
      "cert" in client ? "test-client" : "",
    );
    const err = await unaryError(s.port, { caCerts: ca(), serverName: "bar.example", ...client });
    assertEquals(err.code, Code.Unavailable);
    assertMatch(
      err.message,
      /TLS handshake with bar\.example failed: .*(not valid for name|does not match|altnames)/i,
    );
  }
});

Deno.test("tls(): against a grpc-js server requiring client certificates (createSsl)", async () => {
  await using peer = await startNodeServer("grpcjs_tls.mjs", [
    "--mode=server",
    `--cert=${certs.path("server.pem")}`,
    `--key=${certs.path("server.key")}`,
    `--client_ca=${certs.path("ca.pem")}`,
  ]);
  assertEquals(await dialFour(peer.port, { caCerts: ca(), ...clientCert() }), "test-client");
  assertEquals(
    await dialFour(peer.port, { caCerts: ca(), ...clientCert(), serverName: "foo.test.google.fr" }),
    "test-client",
  );
  const err = await unaryError(peer.port, { caCerts: ca() });
  assertEquals(err.code, Code.Unavailable);
});

Deno.test("tls(): a require-mTLS server refuses a client without a certificate", async () => {
  await using s = await startServer({ ...serverCert(), caCerts: ca() });
  const err = await unaryError(s.port, { caCerts: ca() });
  assertEquals(err.code, Code.Unavailable);
  await s.logger.waitFor(/security handshake/);
  assertEquals(await dialFour(s.port, { caCerts: ca(), ...clientCert() }), "test-client");
});

Deno.test("tls(): unknown CA, expired certificate, no h2: UNAVAILABLE naming the cause", async () => {
  await using s = await startServer(serverCert());
  for (const client of [{}, clientCert()]) {
    const unknownCa = await unaryError(s.port, { caCerts: [certs.read("ca2.pem")], ...client });
    assertEquals(unknownCa.code, Code.Unavailable);
    assertMatch(
      unknownCa.message,
      /TLS handshake with 127\.0\.0\.1 failed: .*(UnknownIssuer|unable to verify|self.signed|issuer)/i,
    );
  }
  await using expired = await startServer({
    cert: certs.read("expired.pem"),
    key: certs.read("expired.key"),
  });
  for (const client of [{}, clientCert()]) {
    const err = await unaryError(expired.port, { caCerts: ca(), ...client });
    assertEquals(err.code, Code.Unavailable);
    assertMatch(err.message, /TLS handshake .* failed: .*expired/i);
  }
  // A TLS server that offers only http/1.1.
  const h1 = Deno.listenTls({
    hostname: "127.0.0.1",
    port: 0,
    ...serverCert(),
    alpnProtocols: ["http/1.1"],
  });
  const accepting = (async () => {
    for await (const c of h1) c.handshake().catch(() => {}).finally(() => c.close());
  })();
  try {
    const err = await unaryError(h1.addr.port, { caCerts: ca() });
    assertEquals(err.code, Code.Unavailable);
    assertMatch(
      err.message,
      /TLS handshake with 127\.0\.0\.1 failed: .*(ALPN|NoApplicationProtocol|protocol)/i,
    );
  } finally {
    h1.close();
    await accepting.catch(() => {});
  }
});

Deno.test("tls(): a failed handshake is retried with backoff; rotation fixes it while calls run", async () => {
  await using s = await startServer({
    cert: certs.read("expired.pem"),
    key: certs.read("expired.key"),
  });
  await using conn = newClient(`127.0.0.1:${s.port}`, {
    credentials: tls({ caCerts: [certs.read("ca.pem"), certs.read("ca2.pem")] }),
    backoff: { baseDelayMs: 50, maxDelayMs: 200 },
  });
  // deno-lint-ignore no-explicit-any
  const c = createClient(echo, conn) as any;
  const first = await assertRejects(() => c.unary({ text: "x" }, { timeoutMs: 20_000 }));
  assertEquals((first as StatusError).code, Code.Unavailable);
  // A waiting call succeeds once the server presents a valid certificate (the next attempt).
  const waiting = c.unary({ text: "later" }, { timeoutMs: 20_000, waitForReady: true });
  s.creds!.updateCertificates(serverCert());
  assertEquals((await waiting).text, "later");

  // A stream open across a second rotation keeps working; new connections get the new chain.
  const queue: { text: string }[] = [];
  let push!: () => void;
  async function* requests() {
    for (let i = 0; i < 3; i++) {
      while (queue.length === 0) await new Promise<void>((r) => push = r);
      yield queue.shift()!;
    }
  }
  const replies = c.bidi(requests(), { timeoutMs: 20_000 })[Symbol.asyncIterator]();
  queue.push({ text: "before" });
  push();
  assertEquals((await replies.next()).value.text, "before");
  s.creds!.updateCertificates({ cert: certs.read("server2.pem"), key: certs.read("server2.key") });
  queue.push({ text: "after" });
  push();
  assertEquals((await replies.next()).value.text, "after");
  assertEquals(await dialFour(s.port, { caCerts: [certs.read("ca2.pem")] }), "");
  const old = await unaryError(s.port, { caCerts: ca() });
  assertEquals(old.code, Code.Unavailable);
  queue.push({ text: "still" });
  push();
  assertEquals((await replies.next()).value.text, "still");
  assertEquals((await replies.next()).done, true);
});

Deno.test("callCredentials: metadata arrives, channel and call credentials compose", async () => {
  await using s = await startServer(serverCert());
  const seen: { serviceUrl: string; methodName: string }[] = [];
  await using conn = newClient(`127.0.0.1:${s.port}`, {
    credentials: tls({ caCerts: ca(), serverName: "localhost" }),
    callCredentials: callCredentials(async ({ serviceUrl, methodName, signal }) => {
      assert(!signal.aborted);
      seen.push({ serviceUrl, methodName });
      await Promise.resolve();
      return { authorization: "Bearer channel" };
    }),
  });
  assertEquals(await fourKinds(conn), "Bearer channel");
  assertEquals(seen[0], { serviceUrl: "https://localhost/peer.Echo", methodName: "Unary" });
  assertEquals(seen.length, 4);
  // deno-lint-ignore no-explicit-any
  const c = createClient(echo, conn) as any;
  const perCall = callCredentials(() => ({ "x-extra": "1", authorization: "Bearer call" }));
  const r = await c.unary({ text: "x" }, { callCredentials: perCall });
  // Both apply: the server sees the channel's value first.
  assertEquals(r.message, "Bearer channel");
});

Deno.test("callCredentials: refused on an insecure channel unless allowed, without sending", async () => {
  await using s = await startServer(Deno.listen({ hostname: "127.0.0.1", port: 0 }));
  const target = `127.0.0.1:${s.port}`;
  {
    await using conn = newClient(target, {
      credentials: insecure(),
      callCredentials: callCredentials(() => ({ authorization: "Bearer t" })),
    });
    // deno-lint-ignore no-explicit-any
    const c = createClient(echo, conn) as any;
    const err = await assertRejects(() => c.unary({ text: "x" }), StatusError);
    assertEquals(err.code, Code.Unauthenticated);
    assertMatch(err.message, /insecure connection/);
    assertEquals(s.peers.length, 0);
  }
  await using conn = newClient(target, {
    callCredentials: callCredentials(() => ({ authorization: "Bearer t" }), {
      allowInsecure: true,
    }),
  });
  // deno-lint-ignore no-explicit-any
  const c = createClient(echo, conn) as any;
  assertEquals((await c.unary({ text: "x" })).message, "Bearer t");
  // Composed with credentials that do not allow insecure channels: refused.
  const strict = callCredentials(() => ({ "x-k": "v" }));
  const err = await assertRejects(
    () => c.unary({ text: "x" }, { callCredentials: strict }),
    StatusError,
  );
  assertEquals(err.code, Code.Unauthenticated);
});

Deno.test("callCredentials: a failing function fails the call; A54 codes become INTERNAL", async () => {
  await using s = await startServer(Deno.listen({ hostname: "127.0.0.1", port: 0 }));
  await using conn = newClient(`127.0.0.1:${s.port}`);
  // deno-lint-ignore no-explicit-any
  const c = createClient(echo, conn) as any;
  const call = async (fn: () => never) => {
    const creds = callCredentials(fn, { allowInsecure: true });
    const err = await assertRejects(
      () => c.unary({ text: "x" }, { callCredentials: creds }),
      StatusError,
    );
    return err;
  };
  const plain = await call(() => {
    throw new Error("token service down");
  });
  assertEquals(plain.code, Code.Unavailable);
  assertMatch(plain.message, /token service down/);
  const kept = await call(() => {
    throw new StatusError(Code.PermissionDenied, "no token for you");
  });
  assertEquals(kept.code, Code.PermissionDenied);
  assertEquals(kept.rawMessage, "no token for you");
  const restricted = await call(() => {
    throw new StatusError(Code.NotFound, "no such key");
  });
  assertEquals(restricted.code, Code.Internal);
  assertMatch(restricted.message, /no such key/);
  assertEquals(s.peers.length, 0);
  // A call cancelled while its credentials run ends CANCELLED and the function sees the abort.
  let sawAbort = false;
  const slow = callCredentials(
    ({ signal }) =>
      new Promise((_, reject) =>
        signal.addEventListener("abort", () => {
          sawAbort = true;
          reject(signal.reason);
        })
      ),
    { allowInsecure: true },
  );
  const ac = new AbortController();
  const p = c.unary({ text: "x" }, { callCredentials: slow, signal: ac.signal });
  ac.abort();
  const err = await assertRejects(() => p, StatusError);
  assertEquals(err.code, Code.Canceled);
  assert(sawAbort);
});

for (const kind of ["unix", "unix-abstract"] as const) {
  Deno.test(`${kind}: all four RPC kinds`, async () => {
    const name = `grpc-test-${crypto.randomUUID()}`;
    const path = kind === "unix" ? `${await Deno.makeTempDir()}/${name}.sock` : `\0${name}`;
    await using s = await startServer(Deno.listen({ transport: "unix", path }));
    const target = kind === "unix" ? `unix:${path}` : `unix-abstract:${name}`;
    await using conn = newClient(target);
    assertEquals(await fourKinds(conn), "");
    assertEquals(s.peers[0].addr.transport, "unix");
    assertEquals(s.peers[0].authInfo.securityLevel, "NoSecurity");
  });
}

Deno.test("tls() over a unix target fails UNAVAILABLE saying why", async () => {
  await using conn = newClient("unix-abstract:nowhere", { credentials: tls() });
  // deno-lint-ignore no-explicit-any
  const c = createClient(echo, conn) as any;
  const err = await assertRejects(() => c.unary({ text: "x" }), StatusError);
  assertEquals(err.code, Code.Unavailable);
  assertMatch(err.message, /TLS over unix sockets is not supported/);
});

Deno.test("tls() checks its options", () => {
  for (
    const [bad, re] of [
      [{ caCerts: "x" }, /caCerts must be an array/],
      [{ caCerts: ["nope"] }, /caCerts\[0\] must be PEM/],
      [{ cert: certs.read("client.pem") }, /cert and key go together/],
      [{ serverName: "" }, /serverName must be a non-empty/],
    ] as [TlsCredentialsOptions, RegExp][]
  ) {
    let err: unknown;
    try {
      tls(bad);
    } catch (e) {
      err = e;
    }
    assert(err instanceof TypeError, `accepted ${JSON.stringify(bad)}`);
    assertMatch((err as Error).message, re);
  }
});

Deno.test("DialOptions.logger: a failed connection attempt is logged (info) with its cause", async () => {
  await using s = await startServer(serverCert());
  const infos: string[] = [];
  await using conn = newClient(`127.0.0.1:${s.port}`, {
    credentials: tls({ caCerts: [certs.read("ca2.pem")] }),
    logger: { info: (m) => infos.push(m), warning() {}, error() {} },
  });
  // deno-lint-ignore no-explicit-any
  const c = createClient(echo, conn) as any;
  await assertRejects(() => c.unary({ text: "x" }), StatusError);
  assertEquals(infos.length, 1);
  assertMatch(
    infos[0],
    /^grpc: Cannot connect to 127\.0\.0\.1:\d+: TLS handshake with 127\.0\.0\.1 failed: .*UnknownIssuer/,
  );
});
