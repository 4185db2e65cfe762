import { assertEquals, assertRejects, assertThrows } from "@std/assert";
import { type ClientConn, Code, dial, insecure, Server, StatusError } from "@seed/grpc";
import { checkHealth, HealthServer, healthService, MAX_LISTED_SERVICES } from "./mod.ts";

async function withServer(
  health: HealthServer,
  body: (conn: ClientConn, server: Server) => Promise<void>,
  options = { shutdownOnGracefulStop: false },
): Promise<void> {
  const server = new Server();
  health.register(server, options);
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const serving = server.serve(listener);
  const conn = await dial(`127.0.0.1:${listener.addr.port}`, { credentials: insecure() });
  try {
    await body(conn, server);
  } finally {
    await conn.close();
    await server.stop();
    await serving;
  }
}

Deno.test("HealthServer answers Check: the whole server starts SERVING, unknown is NOT_FOUND", async () => {
  const health = new HealthServer();
  await withServer(health, async (conn) => {
    assertEquals(await checkHealth(conn), "SERVING");
    const err = await assertRejects(() => checkHealth(conn, "nope.Service"), StatusError);
    assertEquals(err.code, Code.NotFound);
    assertEquals(err.rawMessage, "unknown service");
    health.setServingStatus("shop.Cart", "NOT_SERVING");
    assertEquals(await checkHealth(conn, "shop.Cart"), "NOT_SERVING");
    health.setServingStatus("shop.Cart", "SERVING");
    assertEquals(await checkHealth(conn, "shop.Cart"), "SERVING");
  });
});

Deno.test("HealthServer answers List with every status, and RESOURCE_EXHAUSTED past 100", async () => {
  const health = new HealthServer();
  await withServer(health, async (conn) => {
    health.setServingStatus("a.A", "NOT_SERVING");
    assertEquals(await conn.invoke(healthService.methods.list, {}), {
      statuses: { "": { status: "SERVING" }, "a.A": { status: "NOT_SERVING" } },
    });
    for (let i = 0; i < MAX_LISTED_SERVICES; i++) health.setServingStatus(`s${i}`, "SERVING");
    const err = await assertRejects(
      () => conn.invoke(healthService.methods.list, {}),
      StatusError,
    );
    assertEquals(err.code, Code.ResourceExhausted);
  });
});

Deno.test("HealthServer Watch sends the current status, then each change once", async () => {
  const health = new HealthServer();
  await withServer(health, async (conn) => {
    const stream = conn.newStream(healthService.methods.watch);
    await stream.sendMsg({ service: "w.W" });
    stream.closeSend();
    const next = async () => ((await stream.recvMsg()) as { status: string }).status;
    assertEquals(await next(), "SERVICE_UNKNOWN");
    health.setServingStatus("w.W", "SERVING");
    assertEquals(await next(), "SERVING");
    health.setServingStatus("w.W", "SERVING"); // unchanged: not sent
    health.setServingStatus("w.W", "NOT_SERVING");
    assertEquals(await next(), "NOT_SERVING");
    health.setServingStatus("other", "NOT_SERVING"); // another service: not sent
    health.shutdown();
    health.setServingStatus("w.W", "NOT_SERVING");
    health.resume();
    assertEquals(await next(), "SERVING");
    stream.cancel();
  });
});

Deno.test("HealthServer.shutdown() sets everything NOT_SERVING and ignores changes until resume()", () => {
  const health = new HealthServer();
  health.setServingStatus("a", "SERVING");
  health.shutdown();
  assertEquals(health.getServingStatus(""), "NOT_SERVING");
  assertEquals(health.getServingStatus("a"), "NOT_SERVING");
  health.setServingStatus("a", "SERVING");
  assertEquals(health.getServingStatus("a"), "NOT_SERVING");
  health.resume();
  assertEquals(health.getServingStatus("a"), "SERVING");
  assertThrows(() => health.setServingStatus("a", "BAD" as "SERVING"), TypeError);
});

Deno.test("HealthServer with shutdownOnGracefulStop: NOT_SERVING before the drain, Watch ends UNAVAILABLE", async () => {
  const health = new HealthServer();
  await withServer(health, async (conn, server) => {
    const stream = conn.newStream(healthService.methods.watch);
    await stream.sendMsg({ service: "" });
    stream.closeSend();
    assertEquals(await stream.recvMsg(), { status: "SERVING" });
    const stopping = server.gracefulStop();
    assertEquals(health.getServingStatus(""), "NOT_SERVING");
    assertEquals(await stream.recvMsg(), { status: "NOT_SERVING" });
    const err = await assertRejects(() => stream.recvMsg(), StatusError);
    assertEquals(err.code, Code.Unavailable);
    await conn.close();
    await stopping; // the Watch call did not hold the drain open
  }, { shutdownOnGracefulStop: true });
});
