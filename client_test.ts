// Client tests against a hand-driven server: the transport's ServerTransport on a real loopback
// (or unix) socket, so each test decides exactly what the server does (GOAWAY with a chosen last
// stream id, REFUSED_STREAM, stream limits, malformed responses, silence). The grpc-js peer tests
// are in tests/client_grpcjs_test.ts.

import { assert, assertEquals, assertInstanceOf, assertRejects, assertThrows } from "@std/assert";
import {
  Code,
  type Codec,
  ConnectivityState,
  createClient,
  dial,
  type MethodDefinition,
  newClient,
  type ServiceDefinition,
  StatusError,
} from "./mod.ts";
import { type ServerStream, ServerTransport } from "./transport/http2_server.ts";
import { ErrorCode } from "./transport/frame.ts";
import { SERVER_OPTS } from "./transport/_testing.ts";

const text: Codec<string> = {
  encode: (s) => new TextEncoder().encode(s),
  decode: (b) => new TextDecoder().decode(b),
};

function method(
  name: string,
  requestStream = false,
  responseStream = false,
): MethodDefinition<string, string> {
  return {
    name,
    localName: name[0].toLowerCase() + name.slice(1),
    path: `/test.Svc/${name}`,
    requestStream,
    responseStream,
    requestCodec: text,
    responseCodec: text,
  };
}

const UNARY = method("Unary");
const BIDI = method("Bidi", true, true);

class TestTransport extends ServerTransport {
  goaway(lastStreamId: number): void {
    this.sendGoaway(lastStreamId, ErrorCode.NO_ERROR);
  }
}

type Handler = (s: ServerStream, t: TestTransport, conn: number) => void | Promise<void>;

interface TestServer extends AsyncDisposable {
  port: number;
  target: string;
  transports: TestTransport[];
  close(): Promise<void>;
}

// A tiny server: every accepted connection gets a TestTransport; `handler` runs per stream.
function startServer(
  handler: Handler,
  opts: Partial<typeof SERVER_OPTS> = {},
  listener: Deno.Listener = Deno.listen({ hostname: "127.0.0.1", port: 0 }),
): TestServer {
  const transports: TestTransport[] = [];
  const handlers: Promise<void>[] = [];
  const loop = (async () => {
    for await (const conn of listener) {
      if (conn.remoteAddr.transport === "tcp") (conn as Deno.TcpConn).setNoDelay(true);
      const n = transports.length;
      const t: TestTransport = new TestTransport(conn, { ...SERVER_OPTS, ...opts }, (s) => {
        handlers.push(
          (async () => {
            try {
              await handler(s, t, n);
            } catch {
              // The stream failed; the transport answered.
            } finally {
              s.handlerDone();
            }
          })(),
        );
      });
      transports.push(t);
      t.begin();
    }
  })();
  const addr = listener.addr as Deno.NetAddr | Deno.UnixAddr;
  const close = async () => {
    try {
      listener.close();
    } catch {
      // Closed already.
    }
    await loop.catch(() => {});
    for (const t of transports) t.close();
    await Promise.all(transports.map((t) => t.closed));
    await Promise.all(handlers);
  };
  return {
    port: "port" in addr ? addr.port : 0,
    target: "port" in addr ? `127.0.0.1:${addr.port}` : `unix:${addr.path}`,
    transports,
    close,
    [Symbol.asyncDispose]: close,
  };
}

const enc = new TextEncoder();

async function echoHandler(s: ServerStream): Promise<void> {
  for (;;) {
    const m = await s.recvMsg();
    if (m === null) break;
    await s.sendMsg(m, false);
  }
  s.sendTrailers(0, "");
}

function header(list: readonly string[], name: string): string | undefined {
  for (let i = 0; i < list.length; i += 2) if (list[i] === name) return list[i + 1];
  return undefined;
}

async function statusOf(p: Promise<unknown>): Promise<StatusError> {
  const err = await assertRejects(() => p);
  assertInstanceOf(err, StatusError);
  return err;
}

Deno.test("newClient() parses targets and refuses bad ones", async () => {
  for (
    const t of [
      "localhost:50051",
      "127.0.0.1:1",
      "[::1]:50051",
      "dns:///localhost:50051",
      "dns://8.8.8.8/localhost:50051",
      "passthrough:///127.0.0.1:5",
      "unix:/tmp/x.sock",
      "unix:///tmp/x.sock",
      "unix:relative.sock",
      "example.com",
    ]
  ) {
    await using conn = newClient(t);
    assertEquals(conn.target, t);
    assertEquals(conn.getState(), ConnectivityState.Idle);
  }
  for (const t of ["", "::1:5", "[::1", "host:99999", "host:x", "unix:", "unix://host/x"]) {
    assertThrows(() => newClient(t), TypeError, undefined, t);
  }
});

Deno.test("newClient() checks options up front", () => {
  assertThrows(() => newClient("x:1", { maxReceiveMessageSize: -1 }), RangeError);
  assertThrows(() => newClient("x:1", { maxSendMessageSize: 1.5 }), RangeError);
  assertThrows(() => newClient("x:1", { minConnectTimeoutMs: NaN }), RangeError);
  assertThrows(() => newClient("x:1", { backoff: { jitter: 2 } }), RangeError);
  assertThrows(() => newClient("x:1", { compression: "snappy" }), RangeError);
  assertThrows(() => newClient("x:1", { userAgent: "bad\n" }), TypeError);
});

Deno.test("a call sends the request headers grpc-go sends", async () => {
  let seen: string[] = [];
  let authority = "";
  await using server = startServer(async (s) => {
    seen = s.headers;
    authority = s.authority;
    await echoHandler(s);
  });
  await using conn = newClient(`dns:///${server.target}`, {
    userAgent: "tester/1.0",
    defaultCallOptions: { timeoutMs: 60_000 },
  });
  assertEquals(await conn.invoke(UNARY, "hi", { metadata: { "x-k": "v" } }), "hi");
  assertEquals(authority, server.target);
  assertEquals(header(seen, ":method"), "POST");
  assertEquals(header(seen, ":scheme"), "http");
  assertEquals(header(seen, ":path"), "/test.Svc/Unary");
  assertEquals(header(seen, "content-type"), "application/grpc");
  assertEquals(header(seen, "te"), "trailers");
  assertEquals(header(seen, "user-agent"), "tester/1.0 grpc-deno-seed/0.1.0");
  assertEquals(header(seen, "x-k"), "v");
  assert(/^[0-9]+[mSun]$/.test(header(seen, "grpc-timeout") ?? ""));
  assert(header(seen, "grpc-accept-encoding") !== undefined);
  assertEquals(header(seen, "grpc-encoding"), undefined);
});

Deno.test("a unix socket target works, with :authority localhost", async () => {
  const dir = await Deno.makeTempDir();
  try {
    let authority = "";
    await using _server = startServer(
      async (s) => {
        authority = s.authority;
        await echoHandler(s);
      },
      {},
      Deno.listen({ transport: "unix", path: `${dir}/s.sock` }),
    );
    for (const target of [`unix:${dir}/s.sock`, `unix://${dir}/s.sock`]) {
      await using conn = await dial(target, { block: true });
      assertEquals(await conn.invoke(UNARY, "over unix"), "over unix");
      assertEquals(authority, "localhost");
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("GOAWAY above a stream's id: the call is retried on a new connection", async () => {
  await using server = startServer(async (s, t, conn) => {
    if (conn === 0) {
      // The first connection refuses everything it gets: the stream was never processed.
      t.goaway(0);
      return;
    }
    await echoHandler(s);
  });
  await using conn = newClient(server.target);
  assertEquals(await conn.invoke(UNARY, "retried"), "retried");
  assertEquals(server.transports.length, 2);
  // Streams too: buffered requests are sent again.
  const s = conn.newStream(BIDI);
  await s.sendMsg("a");
  await s.sendMsg("b");
  s.closeSend();
  assertEquals([await s.recvMsg(), await s.recvMsg(), await s.recvMsg()], ["a", "b", null]);
});

Deno.test("REFUSED_STREAM: the call is retried transparently", async () => {
  let refused = 0;
  await using server = startServer(async (s, t) => {
    if (refused++ === 0) {
      t.resetStream(s, ErrorCode.REFUSED_STREAM);
      return;
    }
    await echoHandler(s);
  });
  await using conn = newClient(server.target);
  assertEquals(await conn.invoke(UNARY, "again"), "again");
  assertEquals(refused, 2);
});

Deno.test("REFUSED_STREAM under a retry policy: retried transparently, not counted as an attempt", async () => {
  const seen: (string | undefined)[] = [];
  await using server = startServer(async (s, t) => {
    const n = seen.push(header(s.headers, "grpc-previous-rpc-attempts"));
    if (n === 1) return t.resetStream(s, ErrorCode.REFUSED_STREAM); // never processed
    if (n === 2) return s.sendTrailers(Code.Unavailable, "try again"); // attempt 1 fails
    await echoHandler(s);
  });
  await using conn = newClient(server.target, {
    defaultServiceConfig: {
      methodConfig: [{
        name: [{ service: "test.Svc" }],
        retryPolicy: {
          maxAttempts: 2,
          initialBackoff: "0.01s",
          maxBackoff: "0.01s",
          backoffMultiplier: 1,
          retryableStatusCodes: ["UNAVAILABLE"],
        },
      }],
    },
  });
  assertEquals(await conn.invoke(UNARY, "again"), "again");
  // The refused stream and its transparent retry are attempt 0; the policy's retry is 1.
  assertEquals(seen, [undefined, undefined, "1"]);
});

Deno.test("a stream reset after the server processed it is not retried", async () => {
  let calls = 0;
  await using server = startServer(async (s, t) => {
    calls++;
    s.sendHeaders();
    await s.recvMsg();
    t.resetStream(s, ErrorCode.INTERNAL_ERROR);
  });
  await using conn = newClient(server.target);
  const err = await statusOf(conn.invoke(UNARY, "x"));
  assertEquals(err.code, Code.Internal);
  assertEquals(calls, 1);
});

Deno.test("calls beyond MAX_CONCURRENT_STREAMS wait for a slot; their deadline still applies", async () => {
  let running = 0, most = 0;
  const release: (() => void)[] = [];
  await using server = startServer(async (s) => {
    running++;
    most = Math.max(most, running);
    const m = await s.recvMsg();
    if (new TextDecoder().decode(m!) === "hold") await new Promise<void>((r) => release.push(r));
    running--;
    await s.sendMsg(m!, false);
    s.sendTrailers(0, "");
  }, { maxConcurrentStreams: 2 });
  await using conn = await dial(server.target, { block: true });
  const calls = Array.from({ length: 6 }, (_, i) => conn.invoke(UNARY, `m${i}`));
  assertEquals(await Promise.all(calls), ["m0", "m1", "m2", "m3", "m4", "m5"]);
  assert(most <= 2);
  // Two calls hold both slots; a third waits and runs out of time.
  const held = [conn.invoke(UNARY, "hold"), conn.invoke(UNARY, "hold")];
  while (release.length < 2) await new Promise((r) => setTimeout(r, 5));
  const err = await statusOf(conn.invoke(UNARY, "late", { timeoutMs: 50 }));
  assertEquals(err.code, Code.DeadlineExceeded);
  for (const r of release) r();
  assertEquals(await Promise.all(held), ["hold", "hold"]);
});

Deno.test("a server that never sends SETTINGS fails the attempt after minConnectTimeoutMs", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted: Deno.Conn[] = [];
  const loop = (async () => {
    for await (const c of listener) accepted.push(c);
  })();
  try {
    await using conn = newClient(`127.0.0.1:${listener.addr.port}`, {
      minConnectTimeoutMs: 50,
      backoff: { baseDelayMs: 10, maxDelayMs: 10 },
    });
    const err = await statusOf(conn.invoke(UNARY, "x"));
    assertEquals(err.code, Code.Unavailable);
    assertEquals(conn.getState(), ConnectivityState.TransientFailure);
    const err2 = await statusOf(dial(`127.0.0.1:${listener.addr.port}`, {
      block: true,
      minConnectTimeoutMs: 50,
      backoff: { baseDelayMs: 10 },
    }));
    assertEquals(err2.code, Code.Unavailable);
  } finally {
    listener.close();
    await loop;
    for (const c of accepted) c.close();
  }
});

Deno.test("close() fails calls in flight and later calls with CANCELLED", async () => {
  await using server = startServer(async (s) => {
    s.sendHeaders();
    await s.recvMsg();
    // Holds the call until the client goes away (the client never half-closes), so close()
    // always finds it in flight, however slow the machine.
    await s.recvMsg().catch(() => {});
  });
  const conn = newClient(server.target);
  const s = conn.newStream(BIDI);
  await s.sendMsg("x");
  await s.headers;
  const pending = s.recvMsg();
  await conn.close();
  assertEquals((await statusOf(pending)).code, Code.Canceled);
  assertEquals((await statusOf(conn.invoke(UNARY, "y"))).code, Code.Canceled);
  assertEquals(conn.getState(), ConnectivityState.Shutdown);
});

Deno.test("unary responses must hold exactly one message", async () => {
  await using server = startServer(async (s) => {
    const m = new TextDecoder().decode((await s.recvMsg())!);
    if (m === "none") {
      s.sendTrailers(0, "");
      return;
    }
    await s.sendMsg(enc.encode("one"), false);
    await s.sendMsg(enc.encode("two"), false);
    s.sendTrailers(0, "");
  });
  await using conn = newClient(server.target);
  assertEquals((await statusOf(conn.invoke(UNARY, "none"))).code, Code.Internal);
  assertEquals((await statusOf(conn.invoke(UNARY, "two"))).code, Code.Internal);
  // A client made from a service definition behaves the same.
  const svc: ServiceDefinition = { name: "test.Svc", methods: { unary: UNARY } };
  const client = createClient(svc, conn);
  assertEquals((await statusOf(client.unary("none"))).code, Code.Internal);
});

Deno.test("a compressed message without grpc-encoding fails INTERNAL", async () => {
  await using server = startServer(async (s) => {
    await s.recvMsg();
    await s.sendMsg(enc.encode("not really compressed"), true);
    s.sendTrailers(0, "");
  });
  await using conn = newClient(server.target);
  const err = await statusOf(conn.invoke(UNARY, "x"));
  assertEquals(err.code, Code.Internal);
});

Deno.test("trailers: status, message and metadata reach the caller", async () => {
  await using server = startServer(async (s) => {
    await s.recvMsg();
    s.sendHeaders(["x-h", "1"]);
    s.sendTrailers(Code.FailedPrecondition, "nope%20here", ["x-t", "2"]);
  });
  await using conn = newClient(server.target);
  let trailer: string | undefined;
  const err = await statusOf(conn.invoke(UNARY, "x", {
    onTrailer: (md) => (trailer = md.get("x-t") as string),
  }));
  assertEquals(err.code, Code.FailedPrecondition);
  assertEquals(err.rawMessage, "nope here");
  assertEquals(err.metadata.get("x-t"), "2");
  assertEquals(trailer, "2");
  const s = conn.newStream(BIDI);
  await s.sendMsg("x");
  assertEquals((await s.headers).get("x-h"), "1");
  assertEquals((await statusOf(s.recvMsg())).code, Code.FailedPrecondition);
  assertEquals((await s.trailers).get("x-t"), "2");
});
