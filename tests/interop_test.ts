// The gRPC interop cases (grpc/grpc doc/interop-test-descriptions.md) in every direction that
// needs only Deno, Node and npm (so they run in `deno task test`):
//   our client → our server, grpc-js client → our server, our client → grpc-js server.
// Through nginx grpc_pass: tests/nginx_test.ts (`deno task test:peers`).

import { assertEquals } from "@std/assert";
import { ensureNodePeers, INTEROP_CASES, runNodeClient, startNodeServer } from "./_peers.ts";
import { createInteropServer } from "./interop/server.ts";
import { CASES, runCase } from "./interop/client.ts";

await ensureNodePeers();

Deno.test("interop: every standard case has a client implementation", () => {
  assertEquals(Object.keys(CASES).sort(), [...INTEROP_CASES].sort());
});

async function withOurServer(fn: (port: number) => Promise<void>): Promise<void> {
  const server = await createInteropServer();
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const serving = server.serve(listener);
  try {
    await fn(listener.addr.port);
  } finally {
    await server.stop();
    await serving;
  }
}

Deno.test("interop: our client → our server, every case", async (t) => {
  await withOurServer(async (port) => {
    for (const testCase of INTEROP_CASES) {
      await t.step(testCase, async () => {
        assertEquals(await runCase("127.0.0.1", port, testCase), "");
      });
    }
  });
});

Deno.test("interop: grpc-js client → our server, every case", async (t) => {
  await withOurServer(async (port) => {
    for (const testCase of INTEROP_CASES) {
      await t.step(testCase, async () => {
        const r = await runNodeClient("grpcjs_interop_client.mjs", [
          "--server_host=127.0.0.1",
          `--server_port=${port}`,
          `--test_case=${testCase}`,
        ]);
        const last = r.stdout.trim().split("\n").at(-1) ?? "";
        assertEquals(r.code, 0, `${last}\n${r.stderr}`);
        assertEquals(last, `PASS ${testCase}`);
      });
    }
  });
});

Deno.test("interop: our client → grpc-js server, every case", async (t) => {
  await using peer = await startNodeServer("grpcjs_interop_server.mjs");
  for (const testCase of INTEROP_CASES) {
    await t.step(testCase, async () => {
      assertEquals(await runCase("127.0.0.1", peer.port, testCase), "");
    });
  }
});
