// Our client against a grpc-js server (tests/peers/grpcjs_interop_server.mjs under Node): the four
// RPC kinds, metadata both ways, statuses with details, deadlines, cancellation, GOAWAY, a server
// that dies and comes back, size limits and gzip both ways.
//
//   deno test -A --sanitize-ops --sanitize-resources tests/client_grpcjs_test.ts

import { assert, assertEquals, assertInstanceOf, assertRejects } from "@std/assert";
import {
  type BidiStreamingMethod,
  type CallOptions,
  type ClientStreamingMethod,
  Code,
  ConnectivityState,
  createClient,
  dial,
  insecure,
  loadProto,
  Metadata,
  type MethodDefinition,
  newClient,
  type ServerStreamingMethod,
  type ServiceDefinition,
  StatusError,
  type UnaryMethod,
} from "@seed/grpc";
import {
  ensureNodePeers,
  INTEROP_DIR,
  type NodeServer,
  PEERS_DIR,
  startNodeServer,
} from "./_peers.ts";

const SERVER = "grpcjs_interop_server.mjs";

interface EchoMsg {
  text?: string;
  data?: Uint8Array;
  count?: number;
  sleep_ms?: number;
  code?: number;
  message?: string;
}
type Echoed = Required<EchoMsg>;

interface EchoClient {
  Unary: UnaryMethod<EchoMsg, Echoed>;
  ServerStream: ServerStreamingMethod<EchoMsg, Echoed>;
  ClientStream: ClientStreamingMethod<EchoMsg, Echoed>;
  Bidi: BidiStreamingMethod<EchoMsg, Echoed>;
}

// keepCase: field names as in echo.proto (sleep_ms); localNames are then "unary", "serverStream"…
const echoServices = await loadProto(`${PEERS_DIR}echo.proto`, { keepCase: true });
const echo: ServiceDefinition = echoServices["peer.Echo"];
const testingServices = await loadProto(`${INTEROP_DIR}grpc/testing/test.proto`, {
  includeDirs: [INTEROP_DIR],
  keepCase: true,
});
const testService: ServiceDefinition = testingServices["grpc.testing.TestService"];

function echoClient(conn: ReturnType<typeof newClient>): EchoClient {
  const c = createClient<Record<string, unknown>>(echo, conn);
  return {
    Unary: c.unary,
    ServerStream: c.serverStream,
    ClientStream: c.clientStream,
    Bidi: c.bidi,
  } as EchoClient;
}

function m<Req, Res>(service: ServiceDefinition, name: string): MethodDefinition<Req, Res> {
  const method = Object.values(service.methods).find((x) => x.name === name);
  assert(method !== undefined, `no method ${name}`);
  return method as MethodDefinition<Req, Res>;
}

async function withServer(fn: (server: NodeServer) => Promise<void>): Promise<void> {
  await ensureNodePeers();
  const server = await startNodeServer(SERVER);
  try {
    await fn(server);
  } finally {
    await server.stop();
  }
}

function bytes(n: number, seed = 1): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

async function statusOf(p: Promise<unknown>): Promise<StatusError> {
  const err = await assertRejects(() => p);
  assertInstanceOf(err, StatusError);
  return err;
}

/** Polls `cond` until it holds; the 30 s limit is a safety net, not part of the test. */
function waitFor(cond: () => boolean, what: string): Promise<void> {
  const end = Date.now() + 30_000;
  return new Promise((resolve, reject) => {
    const tick = () => {
      if (cond()) return resolve();
      if (Date.now() > end) return reject(new Error(`timed out waiting for ${what}`));
      setTimeout(tick, 10);
    };
    tick();
  });
}

Deno.test("client ↔ grpc-js: the four RPC kinds", async () => {
  await withServer(async (server) => {
    await using conn = await dial(`127.0.0.1:${server.port}`, {
      credentials: insecure(),
      block: true,
    });
    assertEquals(conn.getState(), ConnectivityState.Ready);
    const c = echoClient(conn);

    const data = bytes(1000);
    const res = await c.Unary({ text: "hello", data, count: 7 });
    assertEquals(res.text, "hello");
    assertEquals(res.data, data);
    assertEquals(res.count, 7);

    const stream = await collect(c.ServerStream({ text: "s", count: 5 }));
    assertEquals(stream.map((r) => r.count), [0, 1, 2, 3, 4]);
    assertEquals(stream.map((r) => r.text), ["s", "s", "s", "s", "s"]);

    async function* three(): AsyncGenerator<EchoMsg> {
      yield { text: "a", data: new Uint8Array([1]) };
      yield { text: "b", data: new Uint8Array([2]) };
      yield { text: "c", data: new Uint8Array([3]) };
    }
    const sum = await c.ClientStream(three());
    assertEquals(sum.text, "abc");
    assertEquals(sum.data, new Uint8Array([1, 2, 3]));
    assertEquals(sum.count, 3);
    // A plain iterable works too, and an empty one.
    assertEquals((await c.ClientStream([{ text: "x" }])).text, "x");
    assertEquals((await c.ClientStream([])).count, 0);

    const bidi = await collect(c.Bidi([{ text: "p", count: 2 }, { text: "q" }]));
    assertEquals(bidi.map((r) => r.text), ["p", "p", "q"]);

    // Ping-pong: each answer arrives before the next request is made.
    const answers: string[] = [];
    let next!: (v: string) => void;
    let got = new Promise<string>((r) => (next = r));
    async function* pingPong(): AsyncGenerator<EchoMsg> {
      for (const t of ["one", "two", "three"]) {
        yield { text: t };
        const a = await got;
        got = new Promise<string>((r) => (next = r));
        answers.push(a);
      }
    }
    for await (const r of c.Bidi(pingPong())) next(r.text);
    assertEquals(answers, ["one", "two", "three"]);
  });
});

Deno.test("client ↔ grpc-js: low-level invoke and newStream, many calls at once", async () => {
  await withServer(async (server) => {
    await using conn = newClient(`127.0.0.1:${server.port}`);
    assertEquals(conn.getState(), ConnectivityState.Idle);
    const unary = m<EchoMsg, Echoed>(echo, "Unary");
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => conn.invoke(unary, { text: `n${i}`, count: i })),
    );
    assertEquals(results.map((r) => r.count), Array.from({ length: 200 }, (_, i) => i));

    const s = conn.newStream(m<EchoMsg, Echoed>(echo, "Bidi"));
    await s.sendMsg({ text: "x", count: 2 });
    assertEquals((await s.recvMsg())?.text, "x");
    assertEquals((await s.recvMsg())?.text, "x");
    await s.sendMsg({ text: "y" });
    assertEquals((await s.recvMsg())?.text, "y");
    s.closeSend();
    assertEquals(await s.recvMsg(), null);
    assertEquals(await s.recvMsg(), null);
    await s.trailers;
    const err = await statusOf(s.sendMsg({ text: "late" }));
    assertEquals(err.code, Code.Internal); // sendMsg after closeSend
  });
});

Deno.test("client ↔ grpc-js: metadata both ways, -bin included", async () => {
  await withServer(async (server) => {
    await using conn = newClient(`127.0.0.1:${server.port}`);
    const c = echoClient(conn);
    const bin = new Uint8Array([0, 1, 2, 254, 255]);
    const md = new Metadata({ "x-one": "1", "x-bin-bin": bin, "other": "not echoed" });
    md.append("x-one", "2");
    let headers: Metadata | undefined;
    let trailers: Metadata | undefined;
    await c.Unary({ text: "md" }, {
      metadata: md,
      onHeader: (h) => (headers = h),
      onTrailer: (t) => (trailers = t),
    });
    const h = headers as Metadata, t = trailers as Metadata;
    assert(h !== undefined && t !== undefined);
    // Node's HTTP/2 joins repeated fields, so grpc-js echoes one "1, 2".
    assertEquals(h.getAll("x-one").join(", "), "1, 2");
    assertEquals(h.get("x-bin-bin"), bin);
    assertEquals(h.get("other"), undefined);
    assertEquals(t.getAll("x-one").join(", "), "1, 2");
    assertEquals(t.get("x-bin-bin"), bin);

    // A plain record works as metadata; streams expose headers and trailers as promises.
    const stream = c.ServerStream({ text: "s", count: 2 }, { metadata: { "x-rec": "r" } });
    assertEquals((await stream.headers).get("x-rec"), "r");
    assertEquals((await collect(stream)).length, 2);
    assertEquals((await stream.trailers).get("x-rec"), "r");

    // Default call options' metadata goes under the call's own.
    await using conn2 = newClient(`127.0.0.1:${server.port}`, {
      defaultCallOptions: { metadata: { "x-default": "d" } },
    });
    let h2: Metadata | undefined;
    await echoClient(conn2).Unary({}, { metadata: { "x-call": "c" }, onHeader: (h) => (h2 = h) });
    assertEquals(h2?.get("x-default"), "d");
    assertEquals(h2?.get("x-call"), "c");
  });
});

Deno.test("client ↔ grpc-js: error status, message with special characters, details", async () => {
  await withServer(async (server) => {
    await using conn = newClient(`127.0.0.1:${server.port}`);
    const c = echoClient(conn);
    const message = "\t\ntest with whitespace\r\nand Unicode BMP ☺ and non-BMP 😈\t\n 100% ";
    const req: EchoMsg = { text: "fail", code: Code.NotFound, message };
    let trailers: Metadata | undefined;
    const err = await statusOf(
      c.Unary(req, { metadata: { "x-t": "v" }, onTrailer: (t) => (trailers = t) }),
    );
    assertEquals(err.code, Code.NotFound);
    assertEquals(err.rawMessage, message);
    assertEquals(err.metadata.get("x-t"), "v");
    assertEquals(trailers?.get("x-t"), "v");
    assertEquals(err.details.length, 1);
    assertEquals(err.details[0].typeUrl, "type.googleapis.com/peer.EchoMsg");
    const unary = m<EchoMsg, Echoed>(echo, "Unary");
    const detail = unary.requestCodec.decode(err.details[0].value) as Echoed;
    assertEquals(detail.code, Code.NotFound);
    assertEquals(detail.text, "fail");

    // After the responses, a server stream ends with the error.
    const stream = c.ServerStream({ count: 2, code: Code.Aborted, message: "stop" });
    const got: number[] = [];
    const err2 = await statusOf((async () => {
      for await (const r of stream) got.push(r.count);
    })());
    assertEquals(got, [0, 1]);
    assertEquals(err2.code, Code.Aborted);
    // The trailers that came with the error status.
    assertEquals((await stream.trailers).get("grpc-status-details-bin"), undefined);
    assert((await stream.trailers) !== undefined);

    // A client-stream message asking for a failure ends the call at once.
    const err3 = await statusOf(c.ClientStream([{ text: "a" }, { code: Code.OutOfRange }]));
    assertEquals(err3.code, Code.OutOfRange);
    // Bidi failing after one answer.
    const got4: string[] = [];
    const err4 = await statusOf((async () => {
      for await (const r of c.Bidi([{ text: "ok" }, { code: Code.PermissionDenied }])) {
        got4.push(r.text);
      }
    })());
    assertEquals(got4, ["ok"]);
    assertEquals(err4.code, Code.PermissionDenied);

    // Unimplemented methods: Trailers-Only UNIMPLEMENTED.
    const err5 = await statusOf(conn.invoke(m(testService, "UnimplementedCall"), {}));
    assertEquals(err5.code, Code.Unimplemented);
  });
});

Deno.test("client ↔ grpc-js: deadlines", async () => {
  await withServer(async (server) => {
    await using conn = newClient(`127.0.0.1:${server.port}`);
    const c = echoClient(conn);
    const err = await statusOf(c.Unary({ sleep_ms: 10_000 }, { timeoutMs: 100 }));
    assertEquals(err.code, Code.DeadlineExceeded);
    // A deadline already past fails before anything is sent.
    const err2 = await statusOf(c.Unary({}, { deadline: Date.now() - 1 }));
    assertEquals(err2.code, Code.DeadlineExceeded);
    const err3 = await statusOf(c.Unary({}, { deadline: new Date(0) }));
    assertEquals(err3.code, Code.DeadlineExceeded);
    // A streaming call whose deadline passes mid-stream.
    const got: number[] = [];
    const err4 = await statusOf((async () => {
      for await (const r of c.ServerStream({ count: 1000, sleep_ms: 50 }, { timeoutMs: 200 })) {
        got.push(r.count);
      }
    })());
    assertEquals(err4.code, Code.DeadlineExceeded);
    assert(got.length < 1000);
    // The connection is still good.
    assertEquals((await c.Unary({ text: "after" }, { timeoutMs: 5000 })).text, "after");
  });
});

Deno.test("client ↔ grpc-js: cancellation by signal, cancel() and break", async () => {
  await withServer(async (server) => {
    await using conn = newClient(`127.0.0.1:${server.port}`);
    const c = echoClient(conn);

    // Aborted mid-stream.
    const ac = new AbortController();
    const got: number[] = [];
    const err = await statusOf((async () => {
      for await (const r of c.ServerStream({ count: 1000, sleep_ms: 5 }, { signal: ac.signal })) {
        got.push(r.count);
        if (r.count === 2) ac.abort();
      }
    })());
    assertEquals(err.code, Code.Canceled);
    assertEquals(got, [0, 1, 2]);

    // An aborted signal fails before sending.
    const err2 = await statusOf(c.Unary({}, { signal: AbortSignal.abort() }));
    assertEquals(err2.code, Code.Canceled);

    // A unary call aborted while the server sleeps.
    const ac3 = new AbortController();
    const p3 = c.Unary({ sleep_ms: 10_000, text: "x" }, {
      signal: ac3.signal,
      metadata: { "x-h": "1" },
      onHeader: () => ac3.abort(new Error("user gave up")),
    });
    const err3 = await statusOf(p3);
    assertEquals(err3.code, Code.Canceled);
    assertEquals((err3.cause as Error).message, "user gave up");

    // Breaking out of for-await cancels the call.
    const stream = c.ServerStream({ count: 1000, sleep_ms: 5 });
    for await (const r of stream) if (r.count === 1) break;
    assertEquals((await statusOf(stream.trailers)).code, Code.Canceled);

    // cancel() on a bidi stream.
    const s = conn.newStream(m<EchoMsg, Echoed>(echo, "Bidi"));
    await s.sendMsg({ text: "a" });
    assertEquals((await s.recvMsg())?.text, "a");
    s.cancel();
    assertEquals((await statusOf(s.recvMsg())).code, Code.Canceled);

    // A request iterable that throws cancels a bidi call.
    async function* broken(): AsyncGenerator<EchoMsg> {
      yield { text: "first" };
      await new Promise((r) => setTimeout(r, 20));
      throw new Error("no more requests");
    }
    const err5 = await statusOf(collect(c.Bidi(broken())));
    assertEquals(err5.code, Code.Canceled);
    assertEquals((err5.cause as Error).message, "no more requests");
    const err6 = await statusOf(c.ClientStream(broken()));
    assertEquals(err6.code, Code.Canceled);

    // A signal in the default call options cancels too.
    const shutdown = new AbortController();
    await using conn2 = newClient(`127.0.0.1:${server.port}`, {
      defaultCallOptions: { signal: shutdown.signal },
    });
    const p7 = echoClient(conn2).Unary({ sleep_ms: 10_000 }, {
      signal: new AbortController().signal,
      metadata: { "x-h": "1" },
      onHeader: () => shutdown.abort(),
    });
    assertEquals((await statusOf(p7)).code, Code.Canceled);

    assertEquals((await c.Unary({ text: "still fine" })).text, "still fine");
  });
});

Deno.test("client ↔ grpc-js: interceptors see and change calls, first is outermost", async () => {
  await withServer(async (server) => {
    const order: string[] = [];
    await using conn = newClient(`127.0.0.1:${server.port}`, {
      defaultCallOptions: { timeoutMs: 30_000 },
      unaryInterceptors: [
        async (call, invoker) => {
          order.push(`outer ${call.method.name}`);
          call.options.metadata.set("x-outer", "o");
          try {
            return await invoker(call);
          } catch (err) {
            order.push(`outer saw ${(err as StatusError).code}`);
            throw err;
          }
        },
        async (call, invoker) => {
          order.push("inner");
          const res = await invoker({
            ...call,
            request: { ...(call.request as EchoMsg), text: "changed" },
          });
          return { ...(res as Echoed), count: 99 };
        },
      ],
      streamInterceptors: [(call, streamer) => {
        order.push(`stream ${call.method.name}`);
        call.options.metadata.set("x-stream", "s");
        const stream = streamer(call);
        const recvMsg = stream.recvMsg.bind(stream);
        stream.recvMsg = async () => {
          const msg = await recvMsg();
          if (msg !== null) order.push("stream msg");
          return msg;
        };
        return stream;
      }],
    });
    const c = echoClient(conn);
    let h: Metadata | undefined;
    const res = await c.Unary({ text: "orig" }, { onHeader: (md) => (h = md) });
    assertEquals(res.text, "changed");
    assertEquals(res.count, 99);
    assertEquals(h?.get("x-outer"), "o");
    await statusOf(c.Unary({ code: Code.Internal }));
    const out = c.ServerStream({ count: 2 });
    assertEquals((await collect(out)).length, 2);
    assertEquals((await out.headers).get("x-stream"), "s");
    assertEquals((await c.ClientStream([{ text: "a" }])).text, "a");
    assertEquals(order, [
      "outer Unary",
      "inner",
      "outer Unary",
      "inner",
      "outer saw 13",
      "stream ServerStream",
      "stream msg",
      "stream msg",
      "stream ClientStream",
      "stream msg",
    ]);
  });
});

Deno.test("client ↔ grpc-js: receive size limits give RESOURCE_EXHAUSTED", async () => {
  await withServer(async (server) => {
    await using conn = newClient(`127.0.0.1:${server.port}`, { maxReceiveMessageSize: 1024 });
    const c = echoClient(conn);
    assertEquals((await c.Unary({ data: bytes(500) })).data.length, 500);
    const err = await statusOf(c.Unary({ data: bytes(2000) }));
    assertEquals(err.code, Code.ResourceExhausted);
    // Per call, both ways.
    assertEquals(
      (await c.Unary({ data: bytes(2000) }, { maxReceiveMessageSize: 4096 })).data.length,
      2000,
    );
    const err2 = await statusOf(c.Unary({ data: bytes(300) }, { maxReceiveMessageSize: 100 }));
    assertEquals(err2.code, Code.ResourceExhausted);
    // Default 4 MiB: a 5 MiB response is refused.
    await using conn2 = newClient(`127.0.0.1:${server.port}`);
    const big = m(testService, "UnaryCall");
    const err3 = await statusOf(
      conn2.invoke(big, { response_size: 5 * 1024 * 1024 }),
    );
    assertEquals(err3.code, Code.ResourceExhausted);
    // Sending above maxSendMessageSize fails locally.
    const err4 = await statusOf(c.Unary({ data: bytes(2000) }, { maxSendMessageSize: 1000 }));
    assertEquals(err4.code, Code.ResourceExhausted);
    // The connection survived all that.
    assertEquals((await c.Unary({ text: "ok" })).text, "ok");
  });
});

Deno.test("client ↔ grpc-js: gzip both ways", async () => {
  await withServer(async (server) => {
    await using conn = newClient(`127.0.0.1:${server.port}`);
    const unaryCall = m<Record<string, unknown>, { payload: { body: Uint8Array } }>(
      testService,
      "UnaryCall",
    );
    const body = new Uint8Array(10_000); // compressible zeros
    // Client → server: the server insists the request arrived compressed.
    const res = await conn.invoke(unaryCall, {
      response_size: 10,
      payload: { body },
      expect_compressed: { value: true },
    }, { compression: "gzip" });
    assertEquals(res.payload.body.length, 10);
    // Without compression the same request is refused.
    const err = await statusOf(conn.invoke(unaryCall, {
      response_size: 10,
      payload: { body },
      expect_compressed: { value: true },
    }));
    assertEquals(err.code, Code.InvalidArgument);
    // Server → client: a compressed response.
    const res2 = await conn.invoke(unaryCall, {
      response_size: 20_000,
      response_compressed: { value: true },
    });
    assertEquals(res2.payload.body.length, 20_000);
    // Compressed responses are bounded by maxReceiveMessageSize after decompression.
    const err2 = await statusOf(conn.invoke(unaryCall, {
      response_size: 20_000,
      response_compressed: { value: true },
    }, { maxReceiveMessageSize: 10_000 }));
    assertEquals(err2.code, Code.ResourceExhausted);
    // Streams: compressed responses, and a compressed client stream.
    const out = conn.newStream(m<Record<string, unknown>, { payload: { body: Uint8Array } }>(
      testService,
      "StreamingOutputCall",
    ));
    await out.sendMsg({
      response_parameters: [
        { size: 100, compressed: { value: true } },
        { size: 200, compressed: { value: false } },
        { size: 300, compressed: { value: true } },
      ],
    });
    out.closeSend();
    assertEquals((await collect(out)).map((r) => r.payload.body.length), [100, 200, 300]);
    await using gz = newClient(`127.0.0.1:${server.port}`, { compression: "gzip" });
    const input = gz.newStream(m<Record<string, unknown>, { aggregated_payload_size: number }>(
      testService,
      "StreamingInputCall",
    ));
    for (const n of [1000, 2000, 3000]) {
      await input.sendMsg({
        payload: { body: new Uint8Array(n) },
        expect_compressed: { value: true },
      });
    }
    input.closeSend();
    assertEquals((await input.recvMsg())?.aggregated_payload_size, 6000);
    // identity turns the connection's default off for one call.
    const err3 = await statusOf(gz.invoke(unaryCall, {
      payload: { body },
      expect_compressed: { value: true },
    }, { compression: "identity" }));
    assertEquals(err3.code, Code.InvalidArgument);
  });
});

/**
 * A unix socket path for a peer server that goes away and comes back at the same address. (A TCP
 * port, free while the server is down, could be taken meanwhile by a test running in parallel.)
 */
async function socketPath(): Promise<{ path: string; [Symbol.asyncDispose](): Promise<void> }> {
  const dir = await Deno.makeTempDir({ prefix: "peer" });
  return {
    path: `${dir}/grpc.sock`,
    [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }),
  };
}

Deno.test("client ↔ grpc-js: GOAWAY (tryShutdown) lets the running call finish; the next call reconnects", async () => {
  await ensureNodePeers();
  await using socket = await socketPath();
  const server = await startNodeServer(SERVER, [`--unix=${socket.path}`]);
  let server2: NodeServer | undefined;
  try {
    await using conn = newClient(`unix:${socket.path}`);
    const c = echoClient(conn);
    assertEquals((await c.Unary({ text: "warm" })).text, "warm");
    let headersSeen!: () => void;
    const headers = new Promise<void>((r) => (headersSeen = r));
    const running = c.Unary({ text: "slow", sleep_ms: 500 }, {
      metadata: { "x-h": "1" },
      onHeader: () => headersSeen(),
    });
    running.catch(() => {}); // awaited below; don't let an early failure go unhandled
    const stream = c.ServerStream({ text: "st", count: 5, sleep_ms: 100 }, {
      metadata: { "x-h": "1" },
    });
    await headers;
    await stream.headers;
    // SIGUSR2: grpc-js tryShutdown sends GOAWAY, lets running calls end, then exits.
    const stopped = server.stop("SIGUSR2");
    assertEquals((await running).text, "slow");
    assertEquals((await collect(stream)).length, 5);
    await stopped;
    // A new server at the same address: the next call goes to a new connection.
    server2 = await startNodeServer(SERVER, [`--unix=${socket.path}`]);
    assertEquals((await c.Unary({ text: "again" }, { waitForReady: true })).text, "again");
    assertEquals(conn.getState(), ConnectivityState.Ready);
  } finally {
    await server.stop();
    await server2?.stop();
  }
});

Deno.test("client ↔ grpc-js: a server killed mid-call gives UNAVAILABLE; it comes back", async () => {
  await ensureNodePeers();
  await using socket = await socketPath();
  const server = await startNodeServer(SERVER, [`--unix=${socket.path}`]);
  let server2: NodeServer | undefined;
  try {
    await using conn = newClient(`unix:${socket.path}`, {
      backoff: { baseDelayMs: 100, maxDelayMs: 200 },
    });
    const c = echoClient(conn);
    assertEquals((await c.Unary({ text: "warm" })).text, "warm");
    let headersSeen!: () => void;
    const headers = new Promise<void>((r) => (headersSeen = r));
    const running = c.Unary({ sleep_ms: 10_000 }, {
      metadata: { "x-h": "1" },
      onHeader: () => headersSeen(),
    });
    running.catch(() => {}); // awaited below
    const stream = c.ServerStream({ count: 1000, sleep_ms: 10_000 }, { metadata: { "x-h": "1" } });
    await headers;
    await stream.headers;
    await server.stop("SIGKILL");
    assertEquals((await statusOf(running)).code, Code.Unavailable);
    assertEquals((await statusOf(collect(stream))).code, Code.Unavailable);
    // Nothing listens now: a fail-fast call fails UNAVAILABLE, and the channel goes to
    // TRANSIENT_FAILURE.
    assertEquals((await statusOf(c.Unary({}))).code, Code.Unavailable);
    await waitFor(
      () => conn.getState() !== ConnectivityState.Connecting,
      "the connection attempt to end",
    );
    // The server comes back at the same address (the killed one left its socket file behind);
    // a waitForReady call gets through.
    const waiting = c.Unary({ text: "back" }, { waitForReady: true, timeoutMs: 30_000 });
    waiting.catch(() => {}); // awaited below
    await Deno.remove(socket.path);
    server2 = await startNodeServer(SERVER, [`--unix=${socket.path}`]);
    assertEquals((await waiting).text, "back");
    assertEquals((await c.Unary({ text: "fast" })).text, "fast");
  } finally {
    await server.stop("SIGKILL");
    await server2?.stop();
  }
});

Deno.test("client ↔ grpc-js: waitForReady calls wait through failed attempts until their deadline", async () => {
  await ensureNodePeers();
  // An address nothing can listen on while the test runs: a socket path in a directory of our
  // own. (A TCP port that was free a moment ago may be taken by a test running in parallel.)
  const dir = await Deno.makeTempDir({ prefix: "nothing" });
  const target = `unix:${dir}/nothing.sock`;
  try {
    await using conn = newClient(target, { backoff: { baseDelayMs: 50, maxDelayMs: 50 } });
    const c = echoClient(conn);
    const opts: CallOptions = { waitForReady: true, timeoutMs: 300 };
    assertEquals((await statusOf(c.Unary({}, opts))).code, Code.DeadlineExceeded);
    assertEquals((await statusOf(c.Unary({}))).code, Code.Unavailable);
    const err = await statusOf(dial(target, { block: true }));
    assertEquals(err.code, Code.Unavailable);
    const err2 = await statusOf(
      dial(target, { block: true, signal: AbortSignal.timeout(200) }),
    );
    assertEquals(err2.code, Code.DeadlineExceeded);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
