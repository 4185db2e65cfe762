// grpc-js's health client (the `grpc-health-check` package's service definition) against our
// HealthServer: Check, List, and Watch through status changes driven from here, ending with a
// graceful stop that reports NOT_SERVING first.

import { assertEquals } from "@std/assert";
import { Server } from "@seed/grpc";
import { HealthServer } from "@seed/grpc/health";
import { ensureNodePeers, PEERS_DIR } from "./_peers.ts";

Deno.test("grpc-health-check client: Check, List and Watch transitions against HealthServer", async () => {
  await ensureNodePeers();
  const server = new Server();
  const health = new HealthServer();
  health.register(server, { shutdownOnGracefulStop: true });
  health.setServingStatus("shop.Cart", "NOT_SERVING");
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const serving = server.serve(listener);
  const child = new Deno.Command("node", {
    args: ["grpcjs_health_client.mjs", `--server_port=${listener.addr.port}`],
    cwd: PEERS_DIR,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  const seen: string[] = [];
  async function nextLine(): Promise<string> {
    while (!buffered.includes("\n")) {
      const { value, done } = await lines.read();
      if (done) throw new Error(`peer ended early; saw ${seen.join(" | ")}; ${await stderr}`);
      buffered += value;
    }
    const at = buffered.indexOf("\n");
    const line = buffered.slice(0, at);
    buffered = buffered.slice(at + 1);
    seen.push(line);
    return line;
  }
  try {
    assertEquals(await nextLine(), 'check "" SERVING');
    assertEquals(await nextLine(), "check unknown.Service ERROR 5");
    assertEquals(await nextLine(), 'list {"":"SERVING","shop.Cart":"NOT_SERVING"}');
    assertEquals(await nextLine(), "watch SERVICE_UNKNOWN");
    health.setServingStatus("watched", "SERVING");
    assertEquals(await nextLine(), "watch SERVING");
    health.setServingStatus("watched", "SERVING"); // no change, nothing sent
    health.setServingStatus("watched", "NOT_SERVING");
    assertEquals(await nextLine(), "watch NOT_SERVING");
    health.setServingStatus("watched", "SERVING");
    assertEquals(await nextLine(), "watch SERVING");
    const stopping = server.gracefulStop();
    assertEquals(await nextLine(), "watch NOT_SERVING");
    assertEquals(await nextLine(), "watch end 14");
    assertEquals((await child.status).code, 0);
    await stopping;
  } finally {
    try {
      child.kill();
    } catch {
      // exited
    }
    await lines.cancel().catch(() => {});
    await child.status;
    await stderr;
    await server.stop();
    await serving;
  }
});
