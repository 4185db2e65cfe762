// Issue #13 lifecycle bug 4: a second recvMsg() while one is pending used to replace the first
// one's resolver, which then never settled. Concurrent reads are served in call order, each with
// its own message and its own compressed flag, on the client and in a server stream interceptor.

import { assertEquals } from "@std/assert";
import {
  type Codec,
  type MethodDefinition,
  newClient,
  Server,
  type ServerContext,
  type ServiceDefinition,
  type StreamServerInterceptor,
} from "../mod.ts";

const text: Codec<string> = {
  encode: (s) => new TextEncoder().encode(s),
  decode: (b) => new TextDecoder().decode(b),
};

const BIDI: MethodDefinition<string, string> = {
  name: "Bidi",
  localName: "bidi",
  path: "/test.Concurrent/Bidi",
  requestStream: true,
  responseStream: true,
  requestCodec: text,
  responseCodec: text,
};
const SVC: ServiceDefinition = { name: "test.Concurrent", methods: { bidi: BIDI } };

/** Fails instead of hanging when a read never settles. */
function settles<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} never settled`)), 20_000);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

function serve(
  handler: (reqs: AsyncIterable<unknown>, ctx: ServerContext) => AsyncIterable<unknown>,
  streamInterceptors: StreamServerInterceptor[] = [],
) {
  const server = new Server({ streamInterceptors });
  server.addService(SVC, { bidi: handler });
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const serving = server.serve(listener);
  return {
    target: `127.0.0.1:${listener.addr.port}`,
    async [Symbol.asyncDispose]() {
      await server.stop();
      await serving;
    },
  };
}

Deno.test("client: concurrent recvMsg() calls each get their own message, compressed or not, then null", async () => {
  await using server = serve(async function* (reqs, ctx) {
    for await (const _ of reqs) break;
    ctx.setCompression("gzip");
    for (const [m, compressed] of [["one", true], ["two", false], ["three", true]] as const) {
      ctx.setMessageCompression(compressed);
      yield m;
    }
  });
  await using conn = newClient(server.target);
  const s = conn.newStream(BIDI);
  await s.sendMsg("go");
  s.closeSend();
  const got = await settles(
    Promise.all([s.recvMsg(), s.recvMsg(), s.recvMsg(), s.recvMsg()]),
    "concurrent recvMsg()",
  );
  assertEquals(got, ["one", "two", "three", null]);
});

Deno.test("server: concurrent recvMsg() calls in a stream interceptor each get their own request", async () => {
  let seen: unknown[] = [];
  const readAhead: StreamServerInterceptor = async (stream, _info, handler) => {
    seen = await settles(
      Promise.all([stream.recvMsg(), stream.recvMsg(), stream.recvMsg()]),
      "concurrent recvMsg()",
    );
    await handler(stream);
  };
  await using server = serve(async function* (reqs) {
    for await (const m of reqs) yield m;
    yield "end";
  }, [readAhead]);
  await using conn = newClient(server.target);
  const s = conn.newStream(BIDI, { compression: "gzip" });
  // Compressed and plain requests interleaved.
  await s.sendMsg("a");
  await s.sendMsg("b", { compress: false });
  await s.sendMsg("c");
  s.closeSend();
  assertEquals(await settles(s.recvMsg(), "response"), "end");
  assertEquals(seen, ["a", "b", "c"]);
});
