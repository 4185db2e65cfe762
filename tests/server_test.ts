// Server in this process, no peer: options, addService, serve/stop lifecycles, the accept loop
// behind serve() (fake listeners), the handshake deadline (a raw TCP client), and the wire
// answers of handleStream and gracefulStop, driven frame by frame over an in-memory pipe
// (transport/_pipe.ts) that a fake listener hands to serve().
//
//   deno test -A --sanitize-ops --sanitize-resources tests/server_test.ts

import {
  assert,
  assertEquals,
  assertInstanceOf,
  assertRejects,
  assertStrictEquals,
  assertThrows,
} from "@std/assert";
import {
  Code,
  decodeStatusDetails,
  defaultLogger,
  loadProto,
  Metadata,
  Server,
  type ServerContext,
  type ServerOptions,
  type ServiceDefinition,
  StatusError,
} from "@seed/grpc";
import { resolveServerOptions } from "../server/options.ts";
import { pipe, type PipeConn } from "../transport/_pipe.ts";
import { header, RawPeer, req, until } from "../transport/_testing.ts";
import { ErrorCode, Flag, FrameType } from "../transport/frame.ts";

const services = await loadProto({
  source: `syntax = "proto3"; package t;
    service S {
      rpc Unary (M) returns (M);
      rpc Bidi (stream M) returns (stream M);
      rpc Missing (M) returns (M);
    }
    message M { string text = 1; }`,
});
const svc: ServiceDefinition = services["t.S"];
const codec = svc.methods.unary.requestCodec;

// --- fakes ---------------------------------------------------------------------------------------

/**
 * A listener that hands out queued connections (or throws queued errors) from accept(); with
 * nothing queued, accept() waits. close() makes a waiting and every later accept() reject with
 * BadResource, as a closed Deno.Listener does.
 */
class FakeListener {
  readonly #queue: (Deno.Conn | { error: unknown })[] = [];
  #wake: (() => void) | undefined;
  accepts = 0;
  closed = false;
  /** What accept() throws once closed. @default {BadResource} */
  closeError: unknown;
  /** When set, accept() calls it and throws what it returns (a listener failing for ever). */
  failWith: (() => unknown) | undefined;
  readonly addr: Deno.NetAddr = { transport: "tcp", hostname: "127.0.0.1", port: 0 };

  push(item: Deno.Conn | PipeConn | { error: unknown }): void {
    this.#queue.push(item as Deno.Conn | { error: unknown });
    this.#wake?.();
  }

  async accept(): Promise<Deno.Conn> {
    this.accepts++;
    for (;;) {
      if (this.closed) throw this.closeError ?? new Deno.errors.BadResource("Listener closed");
      if (this.failWith !== undefined) throw this.failWith();
      const item = this.#queue.shift();
      if (item !== undefined) {
        if ("error" in item) throw item.error;
        return item;
      }
      await new Promise<void>((r) => (this.#wake = r));
      this.#wake = undefined;
    }
  }

  close(): void {
    this.closed = true;
    this.#wake?.();
  }

  asListener(): Deno.Listener {
    return this as unknown as Deno.Listener;
  }
}

function emfile(): Error {
  return Object.assign(new Error("Too many open files (os error 24)"), { code: "EMFILE" });
}

/** A server serving a FakeListener; `connect()` hands it a pipe and returns the raw peer. */
function pipeServer(options: ServerOptions, implementation: Parameters<Server["addService"]>[1]) {
  const server = new Server(options);
  server.addService(svc, implementation);
  const listener = new FakeListener();
  const serving = server.serve(listener.asListener());
  return {
    server,
    listener,
    serving,
    /** A new connection, preface and SETTINGS sent and acknowledged. */
    connect(): RawPeer {
      const [, end] = pipe();
      listener.push(end);
      return new RawPeer(end).preface().settings().settingsAck().send();
    },
    async [Symbol.asyncDispose]() {
      await server.stop();
      await serving;
    },
  };
}

/** The response frames on stream `id`: the first header list and the last (trailers). */
function response(peer: RawPeer, id: number) {
  const blocks = peer.written(FrameType.HEADERS, id);
  return {
    headers: blocks[0]?.headers ?? null,
    trailers: blocks.at(-1)?.headers ?? null,
    count: blocks.length,
    ended: blocks.some((f) => (f.flags & Flag.END_STREAM) !== 0),
  };
}

async function ended(peer: RawPeer, id: number): Promise<ReturnType<typeof response>> {
  await until(() => response(peer, id).ended, `the response on stream ${id} to end`);
  return response(peer, id);
}

function msg(text: string): Uint8Array {
  return codec.encode({ text });
}

// --- options -------------------------------------------------------------------------------------

Deno.test("resolveServerOptions({}) is grpc-go's defaults, frozen", () => {
  const o = resolveServerOptions({});
  assertEquals({ ...o }, {
    maxReceiveMessageSize: 4 * 1024 * 1024, // defaultServerMaxReceiveMessageSize
    maxSendMessageSize: 2 ** 31 - 1, // defaultServerMaxSendMessageSize (math.MaxInt32)
    connectionTimeoutMs: 120_000, // ConnectionTimeout: 120 s
    compression: undefined,
    compressionMinSize: 0,
    maxConcurrentStreams: 2 ** 32 - 1, // unlimited
    initialWindowSize: 65535, // RFC 9113 initial window, grown by BDP
    initialConnWindowSize: 65535,
    dynamicWindow: true,
    maxHeaderListSize: 16 * 1024 * 1024, // defaultServerMaxHeaderListSize
    keepaliveMinTimeMs: 5 * 60 * 1000, // keepalive.EnforcementPolicy.MinTime
    permitKeepaliveWithoutStream: false,
    keepaliveParams: {
      maxConnectionIdleMs: Infinity, // keepalive.ServerParameters: infinity
      maxConnectionAgeMs: Infinity,
      maxConnectionAgeGraceMs: Infinity,
      timeMs: 2 * 60 * 60 * 1000, // defaultServerKeepaliveTime: 2 h
      timeoutMs: 20_000, // defaultServerKeepaliveTimeout: 20 s
    },
    unaryInterceptors: [],
    streamInterceptors: [],
    logger: defaultLogger,
  });
  assert(Object.isFrozen(o));
  assert(Object.isFrozen(o.keepaliveParams));
  assert(Object.isFrozen(o.unaryInterceptors));
  assertEquals(resolveServerOptions(), o);
});

Deno.test("resolveServerOptions() keeps given values; a window turns BDP off", () => {
  const o = resolveServerOptions({
    maxReceiveMessageSize: 1,
    maxSendMessageSize: 0,
    connectionTimeoutMs: 1,
    maxConcurrentStreams: 1,
    initialWindowSize: 1 << 20,
    maxHeaderListSize: 1024,
    keepaliveEnforcementPolicy: { minTimeMs: 0, permitWithoutStream: true },
    compression: "gzip",
    compressionMinSize: 100,
  });
  assertEquals(o.maxReceiveMessageSize, 1);
  assertEquals(o.maxSendMessageSize, 0);
  assertEquals(o.connectionTimeoutMs, 1);
  assertEquals(o.maxConcurrentStreams, 1);
  assertEquals(o.initialWindowSize, 1 << 20);
  assertEquals(o.initialConnWindowSize, 65535);
  assertEquals(o.dynamicWindow, false);
  assertEquals(o.maxHeaderListSize, 1024);
  assertEquals(o.keepaliveMinTimeMs, 0);
  assertEquals(o.permitKeepaliveWithoutStream, true);
  assertEquals(o.compression, "gzip");
  assertEquals(o.compressionMinSize, 100);
  assertEquals(resolveServerOptions({ initialConnWindowSize: 65535 }).dynamicWindow, false);
  assertEquals(resolveServerOptions({ compression: "identity" }).compression, undefined);
});

Deno.test("resolveServerOptions() keepaliveParams: given values kept, timeMs raised to 1 s as grpc-go does", () => {
  const o = resolveServerOptions({
    keepaliveParams: {
      maxConnectionIdleMs: 1000,
      maxConnectionAgeMs: 2000,
      maxConnectionAgeGraceMs: 3000,
      timeMs: 10,
      timeoutMs: 500,
    },
  });
  assertEquals(o.keepaliveParams, {
    maxConnectionIdleMs: 1000,
    maxConnectionAgeMs: 2000,
    maxConnectionAgeGraceMs: 3000,
    timeMs: 1000,
    timeoutMs: 500,
  });
  assertEquals(
    resolveServerOptions({ keepaliveParams: { timeMs: Infinity } }).keepaliveParams.timeMs,
    Infinity,
  );
  for (const bad of [0, -1, NaN]) {
    assertThrows(
      () => resolveServerOptions({ keepaliveParams: { maxConnectionAgeMs: bad } }),
      RangeError,
      "keepaliveParams.maxConnectionAgeMs",
    );
  }
});

Deno.test("resolveServerOptions() ignores a window under 64 KiB, as grpc-go and the client do", () => {
  const o = resolveServerOptions({ initialWindowSize: 65534, initialConnWindowSize: 1000 });
  assertEquals(o.initialWindowSize, 65535);
  assertEquals(o.initialConnWindowSize, 65535);
  assertEquals(o.dynamicWindow, true); // ignored values leave BDP estimation on
});

Deno.test("resolveServerOptions() and new Server() throw RangeError on bad values", () => {
  const bad: [ServerOptions, string][] = [
    [{ maxReceiveMessageSize: -1 }, "got -1"],
    [{ maxReceiveMessageSize: 1.5 }, "got 1.5"],
    [{ maxReceiveMessageSize: NaN }, "got NaN"],
    [{ maxReceiveMessageSize: 2 ** 31 }, "maxReceiveMessageSize"],
    [{ maxSendMessageSize: -5 }, "maxSendMessageSize"],
    [{ connectionTimeoutMs: 0 }, "connectionTimeoutMs"],
    [{ connectionTimeoutMs: Infinity }, "connectionTimeoutMs"],
    [{ maxConcurrentStreams: 0 }, "maxConcurrentStreams"],
    [{ initialWindowSize: -1 }, "initialWindowSize"],
    [{ initialConnWindowSize: 2 ** 31 }, "initialConnWindowSize"],
    [{ maxHeaderListSize: 1023 }, "maxHeaderListSize"],
    [{ keepaliveEnforcementPolicy: { minTimeMs: -1 } }, "minTimeMs"],
    [{ compressionMinSize: -1 }, "compressionMinSize"],
    [{ compression: "brotli" }, `"brotli"`],
  ];
  for (const [o, text] of bad) {
    assertThrows(() => resolveServerOptions(o), RangeError, text, JSON.stringify(o));
    assertThrows(() => new Server(o), RangeError, text, JSON.stringify(o));
  }
});

// --- addService ----------------------------------------------------------------------------------

Deno.test("Server.addService() throws TypeError on bad registrations", async () => {
  const server = new Server();
  assertThrows(
    () => server.addService(svc, { nope: () => ({}) }),
    TypeError,
    `t.S has no method "nope"`,
  );
  assertThrows(
    // deno-lint-ignore no-explicit-any
    () => server.addService(svc, { unary: "not a function" as any }),
    TypeError,
    `handler "unary" is not a function`,
  );
  server.addService(svc, { unary: (m: unknown) => m });
  assertThrows(() => server.addService(svc, {}), TypeError, "t.S is already registered");
  const other = (await loadProto({
    source: `syntax = "proto3"; package u; service V { rpc A (N) returns (N); } message N {}`,
  }))["u.V"];
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const serving = server.serve(listener);
  assertThrows(() => server.addService(other, {}), TypeError, "already serving");
  await server.stop();
  await serving;
});

// --- lifecycle -----------------------------------------------------------------------------------

async function refused(port: number): Promise<boolean> {
  try {
    const c = await Deno.connect({ hostname: "127.0.0.1", port });
    c.close();
    return false;
  } catch (err) {
    return err instanceof Deno.errors.ConnectionRefused;
  }
}

Deno.test("Server.serve() after stop() rejects and closes the listener", async () => {
  const server = new Server();
  await server.stop();
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  await assertRejects(() => server.serve(listener), Error, "stopped");
  assert(await refused(listener.addr.port), "the listener is still open");
});

Deno.test("Server.serve() after gracefulStop() rejects too", async () => {
  const server = new Server();
  await server.gracefulStop();
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  await assertRejects(() => server.serve(listener), Error, "stopped");
});

Deno.test("Server.stop() and gracefulStop() resolve serve(), close listeners, repeat safely", async () => {
  for (const how of ["stop", "gracefulStop"] as const) {
    const server = new Server();
    const a = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const b = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const servingA = server.serve(a);
    const servingB = server.serve(b);
    await server[how]();
    await servingA;
    await servingB;
    assert(await refused(a.addr.port), `${how}: listener a is still open`);
    assert(await refused(b.addr.port), `${how}: listener b is still open`);
    await server.stop();
    await server.gracefulStop();
  }
});

Deno.test("Server: `await using` stops it at the end of the scope", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  let serving: Promise<void>;
  {
    await using server = new Server();
    server.addService(svc, { unary: (m: unknown) => m });
    serving = server.serve(listener);
  }
  await serving; // resolved by the disposal's stop()
  assert(await refused(listener.addr.port), "the listener is still open");
});

// --- the accept loop behind serve() --------------------------------------------------------------

Deno.test("Server.serve() retries temporary accept errors and goes on serving", async () => {
  await using s = pipeServer({}, { unary: (m: unknown) => m });
  s.listener.push({ error: emfile() });
  s.listener.push({ error: new Deno.errors.ConnectionAborted("aborted") });
  const peer = s.connect();
  const settings = await peer.firstSettings(); // the connection after the errors is served
  assertEquals(settings.streamId, 0);
  assertEquals(s.listener.accepts >= 3, true);
});

Deno.test("Server.serve() rejects on a non-temporary accept error and closes the listener", async () => {
  const server = new Server();
  const listener = new FakeListener();
  const boom = new Error("listener broke");
  listener.push({ error: boom });
  const err = await assertRejects(() => server.serve(listener.asListener()));
  assertStrictEquals(err, boom);
  assert(listener.closed);
  await server.stop();
});

Deno.test("Server.serve() resolves on a non-temporary accept error once stop() was called", async () => {
  const server = new Server();
  const listener = new FakeListener();
  listener.closeError = new Error("socket gone"); // not temporary, not BadResource
  const serving = server.serve(listener.asListener());
  await until(() => listener.accepts === 1, "accept() to wait");
  await server.stop(); // fires quit, then closes the listener: the pending accept() fails
  await serving;
  assert(listener.closed);
});

Deno.test("Server.stop() ends serve() while the accept loop backs off", async () => {
  const server = new Server();
  const listener = new FakeListener();
  listener.failWith = emfile; // every accept fails: the loop backs off for ever
  const serving = server.serve(listener.asListener());
  await until(() => listener.accepts >= 3, "a few accept() retries");
  await server.stop();
  await serving; // resolves: the backoff delay raced quit
  assert(listener.closed);
});

// --- handshake deadline --------------------------------------------------------------------------
// The deadline's timer is run by hand (HandTimers), so the tests depend on no timing: a
// handshake that finishes "in time" is one that finished before the test fires the timer.

/** connectionTimeoutMs in these tests: HandTimers takes the timers of exactly this delay. */
const HANDSHAKE_MS = 7_777;

/**
 * Replaces setTimeout/clearTimeout while in use: timers of exactly `ms` are held here and run
 * only by fire() (unless cleared first); every other timer is real.
 */
class HandTimers implements Disposable {
  readonly #ms: number;
  readonly #held = new Map<number, () => void>();
  readonly #set = globalThis.setTimeout;
  readonly #clear = globalThis.clearTimeout;
  #nextId = -1; // negative: never one of Deno's ids
  /** Timers of `ms` set so far, cleared or not. */
  count = 0;

  constructor(ms: number) {
    this.#ms = ms;
    const set = this.#set, clear = this.#clear, held = this.#held;
    globalThis.setTimeout = ((fn: () => void, delay?: number) => {
      if (delay !== ms) return set(fn, delay);
      this.count++;
      const id = this.#nextId--;
      held.set(id, fn);
      return id;
    }) as typeof setTimeout;
    globalThis.clearTimeout = ((id?: number) => {
      if (id === undefined || !held.delete(id)) clear(id);
    }) as typeof clearTimeout;
  }

  /** Runs every held timer that was not cleared: "the deadline passed". */
  fire(): void {
    const fns = [...this.#held.values()];
    this.#held.clear();
    for (const fn of fns) fn();
  }

  [Symbol.dispose](): void {
    globalThis.setTimeout = this.#set;
    globalThis.clearTimeout = this.#clear;
  }
}

/** Reads until EOF or an error; true if the server closed, false if our safety net did. */
async function readUntilClosed(conn: Deno.Conn): Promise<boolean> {
  let safety = false;
  const timer = setTimeout(() => {
    safety = true;
    conn.close();
  }, 20_000);
  const buf = new Uint8Array(1024);
  try {
    while ((await conn.read(buf)) !== null) {
      // the server's SETTINGS; keep reading
    }
  } catch (err) {
    if (!safety && !(err instanceof Deno.errors.ConnectionReset)) throw err;
  } finally {
    clearTimeout(timer);
  }
  return !safety;
}

/** A server on a real loopback socket with connectionTimeoutMs HANDSHAKE_MS, and a raw client. */
async function handshakeCase(
  timers: HandTimers,
  body: (conn: Deno.Conn) => Promise<void>,
): Promise<void> {
  const server = new Server({ connectionTimeoutMs: HANDSHAKE_MS });
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const serving = server.serve(listener);
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
  try {
    await until(() => timers.count === 1, "the server to set the handshake deadline");
    await body(conn);
  } finally {
    conn.close();
    await server.stop();
    await serving;
  }
}

Deno.test("Server closes a connection that sends nothing within connectionTimeoutMs", async () => {
  using timers = new HandTimers(HANDSHAKE_MS);
  await handshakeCase(timers, async (conn) => {
    timers.fire();
    assert(await readUntilClosed(conn), "the server never closed the silent connection");
  });
});

Deno.test("Server closes a connection that sends only part of the preface", async () => {
  using timers = new HandTimers(HANDSHAKE_MS);
  await handshakeCase(timers, async (conn) => {
    await conn.write(new TextEncoder().encode("PRI * HTTP/2.0\r\n"));
    timers.fire();
    assert(await readUntilClosed(conn), "the server never closed the stalled connection");
  });
});

Deno.test("Server keeps a connection whose handshake finished before connectionTimeoutMs", async () => {
  using timers = new HandTimers(HANDSHAKE_MS);
  await using s = pipeServer(
    { connectionTimeoutMs: HANDSHAKE_MS },
    { unary: (m: unknown) => m },
  );
  const peer = s.connect();
  // A call answered: the handshake is done.
  peer.headers(1, req("/t.S/Unary")).message(1, msg("first"), true).send();
  assertEquals(header((await ended(peer, 1)).trailers, "grpc-status"), "0");
  assertEquals(timers.count, 1);
  // The handshake deadline passes (had its timer not been cleared, it would close now).
  timers.fire();
  peer.headers(3, req("/t.S/Unary")).message(3, msg("still here"), true).send();
  assertEquals(header((await ended(peer, 3)).trailers, "grpc-status"), "0");
  assertEquals(peer.conn.closedLocally, false);
});

// --- handleStream's answers, on the wire ---------------------------------------------------------

Deno.test("Server answers a non-gRPC content-type with HTTP 415, INVALID_ARGUMENT", async () => {
  await using s = pipeServer({}, { unary: (m: unknown) => m });
  const peer = s.connect();
  const h = req("/t.S/Unary").map((v) => (v === "application/grpc" ? "application/json" : v));
  peer.headers(1, h, { endStream: true }).send();
  const r = await ended(peer, 1);
  assertEquals(r.count, 1, "one header block (trailers-only)");
  assertEquals(header(r.headers, ":status"), "415");
  // grpc-go operateHeaders: codes.InvalidArgument, "invalid gRPC request content-type %q".
  assertEquals(header(r.headers, "grpc-status"), String(Code.InvalidArgument));
  assertEquals(
    header(r.headers, "grpc-message"),
    `invalid gRPC request content-type "application/json"`,
  );
});

Deno.test("Server answers a malformed grpc-timeout with HTTP 400, INTERNAL", async () => {
  let ran = false;
  await using s = pipeServer({}, { unary: (m: unknown) => ((ran = true), m) });
  const peer = s.connect();
  peer.headers(1, req("/t.S/Unary", ["grpc-timeout", "18f6n"])).message(1, msg("x"), true).send();
  const r = await ended(peer, 1);
  // grpc-go operateHeaders: headerError → writeEarlyAbort(http.StatusBadRequest).
  assertEquals(header(r.headers, ":status"), "400");
  assertEquals(header(r.headers, "grpc-status"), String(Code.Internal));
  assert(header(r.headers, "grpc-message")?.startsWith("malformed grpc-timeout"));
  assert(!ran);
});

Deno.test("Server answers unknown services and methods UNIMPLEMENTED, trailers-only", async () => {
  await using s = pipeServer({}, { unary: (m: unknown) => m });
  const peer = s.connect();
  const cases: [string, string][] = [
    ["/t.Nope/Unary", "unknown service t.Nope"],
    ["/t.S/Nope", "unknown method Nope for service t.S"],
    ["/t.S/Missing", "unknown method Missing for service t.S"], // in the proto, not implemented
    ["/t.S.Unary", `malformed method name: "/t.S.Unary"`],
    ["t.S/Unary", `malformed method name: "t.S/Unary"`],
  ];
  let id = 1;
  for (const [path, message] of cases) {
    peer.headers(id, req(path)).message(id, msg("x"), true).send();
    const r = await ended(peer, id);
    assertEquals(r.count, 1, `${path}: trailers-only`);
    assertEquals(header(r.headers, ":status"), "200");
    assertEquals(header(r.headers, "grpc-status"), String(Code.Unimplemented), path);
    assertEquals(header(r.headers, "grpc-message"), message, path);
    id += 2;
  }
});

Deno.test("Server: an immediate error is trailers-only, with metadata, encoded message and details", async () => {
  const detail = { typeUrl: "type.googleapis.com/t.M", value: msg("why") };
  await using s = pipeServer({}, {
    unary(_m: unknown, ctx: ServerContext) {
      ctx.setHeader(new Metadata({ "x-h": "1" }));
      ctx.setTrailer(new Metadata({ "x-t-bin": new Uint8Array([0xff, 0]) }));
      throw new StatusError(Code.NotFound, "nope 100% ☺", {
        metadata: new Metadata({ "x-e": "2" }),
        details: [detail],
      });
    },
  });
  const peer = s.connect();
  peer.headers(1, req("/t.S/Unary")).message(1, msg("x"), true).send();
  const r = await ended(peer, 1);
  assertEquals(r.count, 1, "one header block");
  assertEquals(peer.written(FrameType.DATA, 1).length, 0);
  const h = r.headers;
  assertEquals(header(h, ":status"), "200");
  assertEquals(header(h, "content-type"), "application/grpc");
  assertEquals(header(h, "grpc-status"), String(Code.NotFound));
  assertEquals(header(h, "grpc-message"), "nope 100%25 %E2%98%BA");
  assertEquals(header(h, "x-h"), "1");
  assertEquals(header(h, "x-t-bin"), "/wA"); // unpadded base64
  assertEquals(header(h, "x-e"), "2");
  const bin = header(h, "grpc-status-details-bin")!;
  const status = decodeStatusDetails(Uint8Array.fromBase64(bin));
  assertEquals(status.code, Code.NotFound);
  assertEquals(status.message, "nope 100% ☺");
  assertEquals(status.details.length, 1);
  assertEquals(status.details[0].typeUrl, detail.typeUrl);
  assertEquals([...status.details[0].value], [...detail.value]);
});

Deno.test("Server: a plain Error from a handler is UNKNOWN with its message", async () => {
  await using s = pipeServer({}, {
    unary() {
      throw new Error("plain failure");
    },
  });
  const peer = s.connect();
  peer.headers(1, req("/t.S/Unary")).message(1, msg("x"), true).send();
  const r = await ended(peer, 1);
  assertEquals(header(r.trailers, "grpc-status"), String(Code.Unknown));
  assertEquals(header(r.trailers, "grpc-message"), "plain failure");
});

Deno.test("Server answers an unknown grpc-encoding UNIMPLEMENTED with grpc-accept-encoding", async () => {
  await using s = pipeServer({}, { unary: (m: unknown) => m });
  const peer = s.connect();
  peer.headers(1, req("/t.S/Unary", ["grpc-encoding", "snappy"])).message(1, msg("x"), true)
    .send();
  const r = await ended(peer, 1);
  assertEquals(header(r.trailers, "grpc-status"), String(Code.Unimplemented));
  assert(header(r.trailers, "grpc-message")?.includes("snappy"));
  assert(header(r.trailers, "grpc-accept-encoding")?.includes("gzip"));
});

Deno.test("Server fails a compressed message without grpc-encoding INTERNAL", async () => {
  await using s = pipeServer({}, { unary: (m: unknown) => m });
  const peer = s.connect();
  const body = msg("x");
  const framed = new Uint8Array(5 + body.length);
  framed[0] = 1; // compressed flag, but no grpc-encoding
  new DataView(framed.buffer).setUint32(1, body.length);
  framed.set(body, 5);
  peer.headers(1, req("/t.S/Unary")).data(1, framed, true).send();
  const r = await ended(peer, 1);
  assertEquals(header(r.trailers, "grpc-status"), String(Code.Internal));
});

Deno.test("Server honours grpc-timeout: ctx.signal aborts, DEADLINE_EXCEEDED", async () => {
  let signal: AbortSignal | undefined;
  let deadline: number | undefined;
  await using s = pipeServer({}, {
    async unary(m: unknown, ctx: ServerContext) {
      signal = ctx.signal;
      deadline = ctx.deadline;
      await new Promise((r) => ctx.signal.addEventListener("abort", r, { once: true }));
      return m;
    },
  });
  const peer = s.connect();
  peer.headers(1, req("/t.S/Unary", ["grpc-timeout", "1m"])).message(1, msg("x"), true).send();
  const r = await ended(peer, 1);
  assertEquals(header(r.trailers, "grpc-status"), String(Code.DeadlineExceeded));
  assert(signal?.aborted);
  assertEquals((signal?.reason as DOMException).name, "TimeoutError");
  assert(typeof deadline === "number");
});

Deno.test("Server: RST_STREAM from the client aborts the handler's ctx.signal", async () => {
  let signal: AbortSignal | undefined;
  await using s = pipeServer({}, {
    async unary(m: unknown, ctx: ServerContext) {
      signal = ctx.signal;
      await new Promise((r) => ctx.signal.addEventListener("abort", r, { once: true }));
      return m;
    },
  });
  const peer = s.connect();
  peer.headers(1, req("/t.S/Unary")).message(1, msg("x"), true).send();
  await until(() => signal !== undefined, "the handler to start");
  peer.rst(1, ErrorCode.CANCEL).send();
  await until(() => signal!.aborted, "ctx.signal to abort");
  assertEquals((signal!.reason as DOMException).name, "AbortError");
});

// --- stop() and gracefulStop() on the wire -------------------------------------------------------

Deno.test("Server.stop() aborts running handlers' ctx.signal and closes connections", async () => {
  const signals: AbortSignal[] = [];
  const s = pipeServer({}, {
    async unary(m: unknown, ctx: ServerContext) {
      signals.push(ctx.signal);
      await new Promise((r) => ctx.signal.addEventListener("abort", r, { once: true }));
      return m;
    },
    async *bidi(requests: AsyncIterable<unknown>, ctx: ServerContext) {
      signals.push(ctx.signal);
      for await (const m of requests) yield m;
    },
  });
  const peer = s.connect();
  peer.headers(1, req("/t.S/Unary")).message(1, msg("x"), true).headers(3, req("/t.S/Bidi"))
    .send();
  await until(() => signals.length === 2, "both handlers to start");
  await s.server.stop();
  await s.serving;
  assert(signals.every((x) => x.aborted));
  assert(peer.conn.closedLocally);
});

Deno.test("Server.gracefulStop(): GOAWAY + PING, GOAWAY(last id), calls finish, new streams refused", async () => {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let started = 0;
  let signal: AbortSignal | undefined;
  const s = pipeServer({}, {
    async unary(m: unknown, ctx: ServerContext) {
      started++;
      signal = ctx.signal;
      await gate;
      return m;
    },
  });
  try {
    const peer = s.connect();
    peer.headers(1, req("/t.S/Unary")).message(1, msg("held"), true).send();
    await until(() => started === 1, "the handler to start");
    let stopped = false;
    let served = false;
    const stopping = s.server.gracefulStop().then(() => (stopped = true));
    s.serving.then(() => (served = true));

    // RFC 9113 §6.8 / grpc-go drain: GOAWAY(2^31-1, NO_ERROR) and a PING first.
    await until(() => peer.goaways().length === 1, "the first GOAWAY");
    const first = peer.goaways()[0];
    assertEquals([first.lastStreamId, first.errorCode], [2 ** 31 - 1, ErrorCode.NO_ERROR]);
    const pings = () =>
      peer.written(FrameType.PING).filter((f) => (f.flags & Flag.ACK) === 0 && f.streamId === 0);
    await until(() => pings().length > 0, "the drain PING");
    // A stream opened before the ACK is still served (it may have crossed the GOAWAY).
    peer.headers(3, req("/t.S/Unary")).message(3, msg("crossed"), true).send();
    await until(() => started === 2, "the crossing stream's handler to start");
    for (const p of pings()) peer.ping([...p.payload], true);
    peer.send();

    // On the ACK: GOAWAY(last stream id); later streams are refused.
    await until(() => peer.goaways().length === 2, "the second GOAWAY");
    assertEquals(peer.goaways()[1].lastStreamId, 3);
    peer.headers(5, req("/t.S/Unary")).message(5, msg("late"), true).send();
    await until(() => peer.rsts(5).length === 1, "RST_STREAM on the late stream");
    assertEquals(peer.rsts(5)[0].errorCode, ErrorCode.REFUSED_STREAM);
    assertEquals(started, 2);
    assert(!stopped && !served, "stopped while calls were running");
    assert(!peer.conn.closedLocally);

    release();
    for (const id of [1, 3]) {
      const r = await ended(peer, id);
      assertEquals(header(r.trailers, "grpc-status"), "0", `stream ${id}`);
      const data = peer.written(FrameType.DATA, id);
      assertEquals(data.length, 1, `stream ${id}: one response message`);
    }
    await stopping;
    await s.serving;
    assert(peer.conn.closedLocally, "the drained connection is closed");
    assert(!signal!.aborted, "a drained call was aborted");
  } finally {
    release();
    await s.server.stop();
    await s.serving;
  }
});

Deno.test("Server.stop() during gracefulStop() closes what is still draining", async () => {
  let signal: AbortSignal | undefined;
  const s = pipeServer({}, {
    async unary(m: unknown, ctx: ServerContext) {
      signal = ctx.signal;
      await new Promise((r) => ctx.signal.addEventListener("abort", r, { once: true }));
      return m;
    },
  });
  const peer = s.connect();
  peer.headers(1, req("/t.S/Unary")).message(1, msg("x"), true).send();
  await until(() => signal !== undefined, "the handler to start");
  const draining = s.server.gracefulStop();
  await until(() => peer.goaways().length === 1, "the first GOAWAY");
  await s.server.stop();
  await draining;
  await s.serving;
  assert(signal!.aborted);
  assert(peer.conn.closedLocally);
  assertInstanceOf(signal!.reason, DOMException);
});
