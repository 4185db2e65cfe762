// TLS and mutual TLS against grpc-go (1.33, built by ../shared/bench/build.sh), both ways,
// through the entry points the bench harness uses with TLS=1 / MTLS=1 (bench/server.ts
// -tls-cert/-tls-key/-tls-client-ca, bench/loadgen.ts -tls-ca/-tls-name/-tls-cert-client/
// -tls-key-client), and the interop entry points' TLS flags. Short functional runs, not
// measurements. Part of `deno task test:peers`; fails, never skips, when the harness is missing.

import { assert, assertEquals, assertNotEquals } from "@std/assert";
import { BENCH, ROOT, run, startReady } from "./_procs.ts";
import { testCerts } from "./_certs.ts";

const GO_SERVER = `${BENCH}go/bin/server`;
const GO_LOADGEN = `${BENCH}go/bin/loadgen`;
const certs = await testCerts();

const SCENARIOS: [string, string[]][] = [
  ["unary_1x64", ["-scenario", "unary", "-concurrency", "64", "-size", "100"]],
  ["sstream_1k", ["-scenario", "server_stream", "-size", "1024", "-stream-msgs", "1000"]],
  ["cstream_1k", ["-scenario", "client_stream", "-size", "1024", "-stream-msgs", "1000"]],
  ["bidi_100", ["-scenario", "bidi_pingpong", "-size", "100"]],
  ["unary_1mb", ["-scenario", "unary", "-size", "1048576"]],
];
const WINDOW = ["-conns", "1", "-duration", "1s", "-warmup", "300ms"];
const SERVER_TLS = ["-tls-cert", certs.path("server.pem"), "-tls-key", certs.path("server.key")];
const SERVER_MTLS = [...SERVER_TLS, "-tls-client-ca", certs.path("ca.pem")];
const CLIENT_TLS = ["-tls-ca", certs.path("ca.pem"), "-tls-name", "localhost"];
const CLIENT_MTLS = [
  ...CLIENT_TLS,
  "-tls-cert-client",
  certs.path("client.pem"),
  "-tls-key-client",
  certs.path("client.key"),
];
const OUR_LOADGEN = ["run", "-A", "bench/loadgen.ts"];

function lastJson(stdout: string): Record<string, number> {
  return JSON.parse(stdout.trim().split("\n").at(-1) ?? "{}");
}

async function drive(
  t: Deno.TestContext,
  cmd: string,
  pre: string[],
  port: number,
  tls: string[],
) {
  for (const [name, args] of SCENARIOS) {
    await t.step(name, async () => {
      const r = await run(
        cmd,
        [...pre, "-addr", `127.0.0.1:${port}`, ...args, ...WINDOW, ...tls],
        ROOT,
      );
      assertEquals(r.code, 0, `${r.stdout}\n${r.stderr}`);
      const j = lastJson(r.stdout);
      assertEquals(j.errors, 0, r.stdout);
      assert(j.rpcs_per_s > 0, `no call completed: ${r.stdout}`);
    });
  }
}

for (
  const [mode, serverTls, clientTls] of [
    ["TLS", SERVER_TLS, CLIENT_TLS],
    ["mTLS", SERVER_MTLS, CLIENT_MTLS],
  ] as [string, string[], string[]][]
) {
  Deno.test(`grpc-go load generator → bench/server.ts over ${mode}: every scenario, 0 errors`, async (t) => {
    await using server = await startReady("deno", [
      "run",
      "-A",
      "bench/server.ts",
      "-port",
      "0",
      ...serverTls,
    ], ROOT);
    await drive(t, GO_LOADGEN, [], server.port, clientTls);
  });

  Deno.test(`bench/loadgen.ts → grpc-go server over ${mode}: every scenario, 0 errors`, async (t) => {
    await using server = await startReady(GO_SERVER, ["-port", "0", ...serverTls]);
    await drive(t, "deno", OUR_LOADGEN, server.port, clientTls);
  });
}

Deno.test("bench/server.ts with -tls-client-ca refuses grpc-go without a client certificate, then serves", async () => {
  await using server = await startReady("deno", [
    "run",
    "-A",
    "bench/server.ts",
    "-port",
    "0",
    ...SERVER_MTLS,
  ], ROOT);
  const refused = await run(GO_LOADGEN, [
    "-addr",
    `127.0.0.1:${server.port}`,
    "-wait",
    "2s",
    ...WINDOW,
    ...CLIENT_TLS,
  ]);
  assertNotEquals(refused.code, 0, refused.stdout);
  const ok = await run(GO_LOADGEN, [
    "-addr",
    `127.0.0.1:${server.port}`,
    ...WINDOW,
    ...CLIENT_MTLS,
  ]);
  assertEquals(ok.code, 0, ok.stderr);
  assertEquals(lastJson(ok.stdout).errors, 0);
  assert(/security handshake/.test(server.output()), server.output());
});

Deno.test("bench/loadgen.ts over mTLS without a client certificate is refused by grpc-go", async () => {
  await using server = await startReady(GO_SERVER, ["-port", "0", ...SERVER_MTLS]);
  const r = await run("deno", [
    ...OUR_LOADGEN,
    "-addr",
    `127.0.0.1:${server.port}`,
    "-wait",
    "2s",
    ...WINDOW,
    ...CLIENT_TLS,
  ], ROOT);
  assertNotEquals(r.code, 0, r.stdout);
});

Deno.test("interop entry points over mTLS with --server_host_override", async () => {
  await using server = await startReady("deno", [
    "run",
    "-A",
    "tests/interop/server.ts",
    "--port=0",
    "--use_tls=true",
    `--tls_cert_file=${certs.path("server.pem")}`,
    `--tls_key_file=${certs.path("server.key")}`,
    `--client_ca_file=${certs.path("ca.pem")}`,
  ], ROOT);
  const client = (testCase: string, extra: string[]) =>
    run("deno", [
      "run",
      "-A",
      "tests/interop/client.ts",
      `--server_port=${server.port}`,
      `--test_case=${testCase}`,
      "--use_tls=true",
      "--use_test_ca=true",
      `--ca_file=${certs.path("ca.pem")}`,
      "--server_host_override=foo.test.google.fr",
      ...extra,
    ], ROOT);
  const withCert = [
    `--client_cert_file=${certs.path("client.pem")}`,
    `--client_key_file=${certs.path("client.key")}`,
  ];
  for (
    const tc of ["empty_unary", "large_unary", "client_streaming", "server_streaming", "ping_pong"]
  ) {
    const r = await client(tc, withCert);
    assertEquals(r.stdout.trim().split("\n").at(-1), `PASS ${tc}`, r.stderr);
  }
  const refused = await client("empty_unary", []);
  assertEquals(refused.code, 1, refused.stdout);
});
