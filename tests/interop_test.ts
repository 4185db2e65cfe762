// The gRPC interop cases (grpc/grpc doc/interop-test-descriptions.md) against our interop
// server (tests/interop/server.ts, in this process), driven by the grpc-js interop client under
// Node. Needs only Deno, Node and npm, so it runs in `deno task test`.

import { assertEquals } from "@std/assert";
import { ensureNodePeers, INTEROP_CASES, runNodeClient } from "./_peers.ts";
import { createInteropServer } from "./interop/server.ts";

await ensureNodePeers();

Deno.test("interop: grpc-js client → our server, every case", async (t) => {
  const server = await createInteropServer();
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const serving = server.serve(listener);
  try {
    for (const testCase of INTEROP_CASES) {
      await t.step(testCase, async () => {
        const r = await runNodeClient("grpcjs_interop_client.mjs", [
          "--server_host=127.0.0.1",
          `--server_port=${listener.addr.port}`,
          `--test_case=${testCase}`,
        ]);
        const last = r.stdout.trim().split("\n").at(-1) ?? "";
        assertEquals(r.code, 0, `${last}\n${r.stderr}`);
        assertEquals(last, `PASS ${testCase}`);
      });
    }
  } finally {
    await server.stop();
    await serving;
  }
});
