// Errors a new user meets, saying what they did and what to do: a streaming handler that is not
// a generator, a handler that returns nothing, size limits that say whose limit it was, and a
// call's StatusError whose stack holds the line that made the call.
//
//   deno test -A --sanitize-ops --sanitize-resources tests/errors_test.ts

import { assert, assertEquals, assertRejects, assertStringIncludes } from "@std/assert";
import {
  type ClientConn,
  Code,
  createClient,
  dial,
  insecure,
  loadProto,
  Server,
  type ServerOptions,
  type ServiceImplementation,
  StatusError,
  type UntypedClient,
} from "@seed/grpc";

const services = await loadProto({
  source: `syntax = "proto3"; package e;
    service E {
      rpc Unary (M) returns (M);
      rpc Nothing (M) returns (Empty);
      rpc List (M) returns (stream M);
      rpc Bidi (stream M) returns (stream M);
      rpc Collect (stream M) returns (M);
    }
    message M { string text = 1; }
    message Empty {}`,
});
const svc = services["e.E"];

async function withServer(
  impl: ServiceImplementation,
  test: (client: UntypedClient, conn: ClientConn) => Promise<void>,
  serverOptions: ServerOptions = {},
  dialOptions: Parameters<typeof dial>[1] = {},
): Promise<void> {
  const server = new Server(serverOptions);
  server.addService(svc, impl);
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const serving = server.serve(listener);
  const conn = await dial(`127.0.0.1:${listener.addr.port}`, {
    credentials: insecure(),
    ...dialOptions,
  });
  try {
    await test(createClient(svc, conn), conn);
  } finally {
    await conn.close();
    await server.stop();
    await serving;
  }
}

Deno.test("A streaming handler written as an async function (not async function*) says to write a generator", async () => {
  await withServer({
    // deno-lint-ignore require-await
    list: async (_req: unknown) => [{ text: "a" }],
    bidi: (_reqs: unknown) => 42,
  }, async (client) => {
    for (const call of [() => client.list({}), () => client.bidi([])]) {
      const err = await assertRejects(async () => {
        for await (const _ of call()) { /* nothing arrives */ }
      }, StatusError);
      assertEquals(err.code, Code.Internal);
      assertStringIncludes(
        err.rawMessage,
        "not an iterable: a streaming handler is an async generator",
      );
    }
    const err = await assertRejects(async () => {
      for await (const _ of client.list({})) { /* nothing */ }
    }, StatusError);
    assertStringIncludes(
      err.rawMessage,
      "the handler for /e.E/List returned a Promise, not an iterable",
    );
    assertStringIncludes(err.rawMessage, "async function* list(request, ctx) { yield response; }");
  });
});

Deno.test("A handler that forgets to return says so; a fieldless response may be left out", async () => {
  await withServer({
    unary: (_req: unknown) => {},
    collect: async (reqs: AsyncIterable<unknown>) => {
      for await (const _ of reqs) { /* drain */ }
    },
    nothing: (_req: unknown) => undefined,
  }, async (client) => {
    const err = await assertRejects(() => client.unary({ text: "x" }), StatusError);
    assertEquals(err.code, Code.Internal);
    assertEquals(
      err.rawMessage,
      "grpc: the handler for /e.E/Unary returned undefined: return the response message, or throw a StatusError",
    );
    const err2 = await assertRejects(() => client.collect([{ text: "x" }]), StatusError);
    assertStringIncludes(err2.rawMessage, "the handler for /e.E/Collect returned undefined");
    assertEquals(await client.nothing({}), {});
  });
});

Deno.test("Size limits name whose limit was hit: this client's, or the server's", async () => {
  const echo = { unary: (m: unknown) => m };
  const big = { text: "x".repeat(2000) };
  // Our send limit.
  await withServer(
    echo,
    async (client) => {
      const err = await assertRejects(() => client.unary(big), StatusError);
      assertEquals(err.code, Code.ResourceExhausted);
      assertStringIncludes(err.rawMessage, "exceeds the client's maxSendMessageSize 1000");
    },
    {},
    { defaultCallOptions: { maxSendMessageSize: 1000 } },
  );
  // The server's receive limit, read from its status.
  await withServer(echo, async (client) => {
    const err = await assertRejects(() => client.unary(big), StatusError);
    assertEquals(err.code, Code.ResourceExhausted);
    assertStringIncludes(err.rawMessage, "exceeds the server's maxReceiveMessageSize 1000");
  }, { maxReceiveMessageSize: 1000 });
  // Our receive limit.
  await withServer(
    echo,
    async (client) => {
      const err = await assertRejects(() => client.unary(big), StatusError);
      assertStringIncludes(err.rawMessage, "exceeds the client's maxReceiveMessageSize 1000");
    },
    {},
    { defaultCallOptions: { maxReceiveMessageSize: 1000 } },
  );
  // The server's send limit.
  await withServer(echo, async (client) => {
    const err = await assertRejects(() => client.unary(big), StatusError);
    assertStringIncludes(err.rawMessage, "exceeds the server's maxSendMessageSize 1000");
  }, { maxSendMessageSize: 1000 });
});

Deno.test("A call's StatusError carries the caller's frame in its stack (unary, client and server streaming)", async () => {
  const fail = () => {
    throw new StatusError(Code.NotFound, "no such thing");
  };
  await withServer({
    unary: fail,
    // deno-lint-ignore require-yield
    list: async function* () {
      fail();
    },
    collect: fail,
  }, async (client) => {
    async function myUnaryCallSite() {
      return await client.unary({});
    }
    async function myStreamCallSite() {
      for await (const _ of client.list({})) { /* nothing */ }
    }
    async function myCollectCallSite() {
      return await client.collect([]);
    }
    for (
      const [name, site] of [
        ["myUnaryCallSite", myUnaryCallSite],
        ["myStreamCallSite", myStreamCallSite],
        ["myCollectCallSite", myCollectCallSite],
      ] as const
    ) {
      const err = await assertRejects(site, StatusError);
      assertEquals(err.code, Code.NotFound);
      assert(err.stack?.includes(name), `${name} missing from:\n${err.stack}`);
    }
  });
});
