// Checks the grpc-js peers against each other, with no Deno-side gRPC: when an interop test of
// @seed/grpc fails, this tells whether the peer or our code is at fault.
//
//   deno test -A --sanitize-ops --sanitize-resources tests/peers_selftest_test.ts

import { assert, assertEquals, assertMatch, assertRejects } from "@std/assert";
import {
  ensureNodePeers,
  INTEROP_CASES,
  type NodeClientResult,
  runNodeClient,
  startNodeServer,
} from "./_peers.ts";

const SERVER = "grpcjs_interop_server.mjs";
const CLIENT = "grpcjs_interop_client.mjs";

function lastLine(text: string): string {
  const lines = text.trimEnd().split("\n");
  return lines[lines.length - 1];
}

function explain(r: NodeClientResult): string {
  return `exit ${r.code}\n--- stdout ---\n${r.stdout}--- stderr ---\n${r.stderr}`;
}

Deno.test("grpcjs_interop_client passes every case against grpcjs_interop_server", async (t) => {
  await ensureNodePeers();
  await using server = await startNodeServer(SERVER);
  for (const testCase of INTEROP_CASES) {
    await t.step(testCase, async () => {
      const r = await runNodeClient(CLIENT, [
        "--server_host=127.0.0.1",
        `--server_port=${server.port}`,
        `--test_case=${testCase}`,
      ]);
      assertEquals(r.code, 0, explain(r));
      assertEquals(lastLine(r.stdout), `PASS ${testCase}`, explain(r));
    });
  }
});

Deno.test("grpcjs_interop_client takes space-separated flags", async () => {
  await ensureNodePeers();
  await using server = await startNodeServer(SERVER, ["--port", "0"]);
  const r = await runNodeClient(CLIENT, [
    "--server_host",
    "127.0.0.1",
    "--server_port",
    String(server.port),
    "--test_case",
    "empty_unary",
  ]);
  assertEquals(r.code, 0, explain(r));
});

Deno.test("grpcjs_interop_client exits 2 for an unknown case", async () => {
  await ensureNodePeers();
  const r = await runNodeClient(CLIENT, [
    "--server_port=1",
    "--test_case=no_such_case",
  ]);
  assertEquals(r.code, 2, explain(r));
  assertMatch(lastLine(r.stdout), /unknown test case "no_such_case"/);
});

Deno.test("grpcjs_interop_client exits 1 with the reason when the server is away", async () => {
  await ensureNodePeers();
  // Port 1: below the ephemeral range every test listener is given, so nothing listens there
  // (a port freed a moment ago could be taken by a test running in parallel).
  const r = await runNodeClient(CLIENT, [
    "--server_port=1",
    "--test_case=empty_unary",
  ]);
  assertEquals(r.code, 1, explain(r));
  assertMatch(
    lastLine(r.stdout),
    /^FAIL empty_unary: EmptyCall: got status UNAVAILABLE/,
  );
});

Deno.test("grpcjs_interop_server drains on SIGUSR2 and exits 0", async () => {
  await ensureNodePeers();
  const server = await startNodeServer(SERVER);
  await server.stop("SIGUSR2");
  const { stdout } = server.output();
  assert(stdout.includes("DRAINING\n") && stdout.includes("STOPPED\n"), stdout);
});

Deno.test("startNodeServer() rejects with the peer's stderr when it never gets ready", async () => {
  await ensureNodePeers();
  const err = await assertRejects(
    () => startNodeServer(SERVER, ["--port=-1"]),
    Error,
    "before printing READY",
  );
  assertMatch(err.message, /invalid --port -1/);
});
