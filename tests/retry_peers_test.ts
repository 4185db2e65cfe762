// Retries against grpc-js: its client and ours, under the same retry policy, against the fault
// server (tests/_fault_server.ts): the same attempts, the same grpc-previous-rpc-attempts, and
// the same reading of the pushback our server sends.
//
//   deno test -A tests/retry_peers_test.ts

import { assertEquals } from "@std/assert";
import { Code, newClient, type StatusError } from "../mod.ts";
import { ensureNodePeers, runNodeClient } from "./_peers.ts";
import { type FaultPlan, startFaultServer, UNARY } from "./_fault_server.ts";

const CONFIG = {
  methodConfig: [{
    name: [{ service: "test.Retry" }],
    retryPolicy: {
      maxAttempts: 4,
      initialBackoff: "0.01s",
      maxBackoff: "0.05s",
      backoffMultiplier: 2,
      retryableStatusCodes: ["UNAVAILABLE"],
    },
  }],
};

interface Seen {
  result: string;
  previous: (string | undefined)[];
}

async function withGrpcJs(plan: (p: FaultPlan) => void): Promise<Seen> {
  await using srv = startFaultServer();
  plan(srv.plan);
  const out = await runNodeClient("grpcjs_retry_client.mjs", [
    `--server_port=${srv.port}`,
    `--service_config=${JSON.stringify(CONFIG)}`,
  ]);
  assertEquals(out.code, 0, out.stderr);
  const line = out.stdout.trim().split("\n").at(-1)!;
  return {
    result: line.startsWith("OK ") ? line.slice(3) : `code ${line.split(" ")[1]}`,
    previous: srv.plan.attempts.map((a) => a.previousAttempts),
  };
}

async function withOurs(plan: (p: FaultPlan) => void): Promise<Seen> {
  await using srv = startFaultServer();
  plan(srv.plan);
  await using conn = newClient(srv.target, { defaultServiceConfig: CONFIG });
  let result: string;
  try {
    result = await conn.invoke(UNARY, "hi");
  } catch (err) {
    result = `code ${(err as StatusError).code}`;
  }
  return { result, previous: srv.plan.attempts.map((a) => a.previousAttempts) };
}

const SCENARIOS: [string, (p: FaultPlan) => void, Seen][] = [
  ["two failures, then success", (p) => (p.failFirst = 2), {
    result: "hi (attempt 2)",
    previous: [undefined, "1", "2"],
  }],
  ["maxAttempts reached", (p) => (p.failFirst = 100), {
    result: `code ${Code.Unavailable}`,
    previous: [undefined, "1", "2", "3"],
  }],
  ["a code that is not retryable", (p) => {
    p.failFirst = 1;
    p.code = Code.NotFound;
  }, { result: `code ${Code.NotFound}`, previous: [undefined] }],
  ["pushback 5 ms, then success", (p) => {
    p.failFirst = 1;
    p.pushback = () => "5";
  }, { result: "hi (attempt 1)", previous: [undefined, "1"] }],
  ["pushback -1: no retry", (p) => {
    p.failFirst = 3;
    p.pushback = () => "-1";
  }, { result: `code ${Code.Unavailable}`, previous: [undefined] }],
];

Deno.test("retry: grpc-js and our client make the same attempts against the fault server", async (t) => {
  await ensureNodePeers();
  for (const [name, plan, want] of SCENARIOS) {
    await t.step(name, async () => {
      assertEquals(await withGrpcJs(plan), want, "grpc-js");
      assertEquals(await withOurs(plan), want, "ours");
    });
  }
});
