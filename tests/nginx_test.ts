// nginx `grpc_pass` (Debian nginx-light) in front of our interop server: the grpc-js interop
// client talks to nginx, nginx to us over h2c. Fails, never skips, when nginx is missing
// (`deno task test:peers`; .ci/run installs it).

import { assertEquals } from "@std/assert";
import { ensureNodePeers, INTEROP_CASES, runNodeClient } from "./_peers.ts";
import { createInteropServer } from "./interop/server.ts";
import { freePort } from "./_procs.ts";
import { runCase } from "./interop/client.ts";

// Cases whose behaviour a proxy legitimately changes are still expected to pass through nginx.
Deno.test("interop through nginx grpc_pass: grpc-js client and our client → nginx → our server", async (t) => {
  await ensureNodePeers();
  const server = await createInteropServer();
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const serving = server.serve(listener);
  const dir = await Deno.makeTempDir({ prefix: "seed-nginx-" });
  const port = freePort();
  await Deno.writeTextFile(
    `${dir}/nginx.conf`,
    `daemon off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log info;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  client_max_body_size 0;
  server {
    listen 127.0.0.1:${port} http2;
    location / { grpc_pass grpc://127.0.0.1:${listener.addr.port}; }
  }
}
`,
  );
  const nginx = new Deno.Command("nginx", {
    args: ["-c", `${dir}/nginx.conf`, "-p", dir],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  try {
    // Wait until nginx accepts connections.
    for (let i = 0; i < 100; i++) {
      try {
        (await Deno.connect({ hostname: "127.0.0.1", port })).close();
        break;
      } catch {
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    for (const testCase of INTEROP_CASES) {
      await t.step(testCase, async () => {
        const r = await runNodeClient("grpcjs_interop_client.mjs", [
          "--server_host=127.0.0.1",
          `--server_port=${port}`,
          `--test_case=${testCase}`,
        ]);
        const last = r.stdout.trim().split("\n").at(-1) ?? "";
        assertEquals(last, `PASS ${testCase}`, `${r.stdout}\n${r.stderr}`);
      });
      await t.step(`${testCase} (our client)`, async () => {
        assertEquals(await runCase("127.0.0.1", port, testCase), "");
      });
    }
  } finally {
    nginx.kill("SIGTERM");
    await nginx.status;
    await nginx.stderr.cancel();
    await server.stop();
    await serving;
    await Deno.remove(dir, { recursive: true });
  }
});
