// Our Server against a grpc-js client: this process serves peer.Echo (tests/peers/echo.proto)
// with the semantics documented at the top of tests/peers/grpcjs_interop_server.mjs, and runs
// tests/peers/grpcjs_echo_client.mjs under Node, one scenario per run (its header lists them).
// What only the server can see (a handler's `ctx.signal` aborting, the interceptors' order,
// handlers that never ran) is checked here, after the client's verdict.
//
// Two additions to the Echo semantics, for the scenarios: request metadata `test-throw: M` makes
// the handler throw a plain `Error(M)`, and `call-id: ID` names the call in a log this side reads.
//
//   deno test -A --sanitize-ops --sanitize-resources tests/server_grpcjs_test.ts

import { assert, assertEquals } from "@std/assert";
import { delay } from "@std/async/delay";
import {
  Code,
  loadProto,
  Metadata,
  Server,
  type ServerCallStream,
  type ServerContext,
  type ServiceDefinition,
  type ServiceImplementation,
  StatusError,
  type StreamServerInterceptor,
  type UnaryServerInterceptor,
} from "@seed/grpc";
import { ensureNodePeers, PEERS_DIR, runNodeClient } from "./_peers.ts";

await ensureNodePeers();

const CLIENT = "grpcjs_echo_client.mjs";
const TOKEN = "Bearer let-me-in";
/** Safety net for waits on the other process; a wait that long means the test failed. */
const WAIT_LIMIT_MS = 20_000;

interface EchoMsg {
  text: string;
  data: Uint8Array;
  count: number;
  sleep_ms: number;
  code: number;
  message: string;
}

// keepCase: field names as in echo.proto (sleep_ms); method keys are "unary", "serverStream"…
const echoService: ServiceDefinition =
  (await loadProto(`${PEERS_DIR}echo.proto`, { keepCase: true }))["peer.Echo"];
const echoCodec = echoService.methods.unary.requestCodec;

/** The handlers' view of calls named by `call-id` metadata: their context and signal. */
class CallLog {
  readonly calls: Map<string, { ctx: ServerContext; signal: AbortSignal }> = new Map();

  record(ctx: ServerContext): void {
    const id = ctx.metadata.get("call-id");
    if (typeof id === "string") this.calls.set(id, { ctx, signal: ctx.signal });
  }

  /** Resolves once the handler of call `id` has seen its signal abort. */
  async aborted(id: string): Promise<unknown> {
    const call = this.calls.get(id);
    if (call === undefined) throw new Error(`the server never ran a handler for call ${id}`);
    await waitFor(call.signal, `ctx.signal of call ${id} to abort`);
    return call.signal.reason;
  }
}

/** Resolves when `signal` aborts; rejects after WAIT_LIMIT_MS. Leaves no timer or listener. */
function waitFor(signal: AbortSignal, what: string): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      reject(new Error(`timed out waiting for ${what}`));
    }, WAIT_LIMIT_MS);
    const onAbort = () => {
      clearTimeout(timer);
      resolve();
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * peer.Echo, as grpcjs_interop_server.mjs documents it. `hold`, when given, runs first in every
 * handler and may keep the call waiting.
 */
function echoImplementation(
  log: CallLog,
  hold?: (ctx: ServerContext) => Promise<void>,
): ServiceImplementation {
  async function begin(ctx: ServerContext): Promise<void> {
    log.record(ctx);
    if (hold !== undefined) await hold(ctx);
    // x- request metadata comes back in the headers (sent at once) and in the trailers.
    const echo = new Metadata();
    for (const [key, value] of ctx.metadata) if (key.startsWith("x-")) echo.append(key, value);
    if (echo.size > 0) {
      ctx.sendHeader(echo);
      ctx.setTrailer(echo);
    }
    const message = ctx.metadata.get("test-throw");
    if (typeof message === "string") throw new Error(message);
  }
  function sleep(ms: number, ctx: ServerContext): Promise<void> {
    return ms > 0 ? delay(ms, { signal: ctx.signal }) : Promise.resolve();
  }
  function failure(msg: EchoMsg): StatusError | null {
    if (msg.code === 0) return null;
    return new StatusError(msg.code as Code, msg.message, {
      details: [{ typeUrl: "type.googleapis.com/peer.EchoMsg", value: echoCodec.encode(msg) }],
    });
  }
  return {
    async unary(req: EchoMsg, ctx: ServerContext): Promise<EchoMsg> {
      await begin(ctx);
      await sleep(req.sleep_ms, ctx);
      const err = failure(req);
      if (err !== null) throw err;
      return req;
    },
    async *serverStream(req: EchoMsg, ctx: ServerContext): AsyncGenerator<EchoMsg> {
      await begin(ctx);
      for (let i = 0; i < req.count; i++) {
        await sleep(req.sleep_ms, ctx);
        yield { ...req, count: i };
      }
      const err = failure(req);
      if (err !== null) throw err;
    },
    async clientStream(
      requests: AsyncIterable<EchoMsg>,
      ctx: ServerContext,
    ): Promise<Partial<EchoMsg>> {
      await begin(ctx);
      const texts: string[] = [];
      const data: Uint8Array[] = [];
      let last: EchoMsg | undefined;
      for await (const msg of requests) {
        const err = failure(msg);
        if (err !== null) throw err;
        texts.push(msg.text);
        data.push(msg.data);
        last = msg;
      }
      await sleep(last?.sleep_ms ?? 0, ctx);
      const all = new Uint8Array(data.reduce((n, d) => n + d.length, 0));
      let off = 0;
      for (const d of data) {
        all.set(d, off);
        off += d.length;
      }
      return { text: texts.join(""), data: all, count: texts.length };
    },
    async *bidi(requests: AsyncIterable<EchoMsg>, ctx: ServerContext): AsyncGenerator<EchoMsg> {
      await begin(ctx);
      for await (const msg of requests) {
        await sleep(msg.sleep_ms, ctx);
        const err = failure(msg);
        if (err !== null) throw err;
        for (let i = 0; i < Math.max(msg.count, 1); i++) yield msg;
      }
    },
  };
}

// Interceptors A and B (A outermost): A demands the token; each adds its letter to the text of
// every request on the way in, and its lower-case letter to every response on the way out, so
// "t" comes back "tABba". Each notes `<letter>:<method>` in `trail` when it runs.
function unaryInterceptor(letter: string, trail: string[]): UnaryServerInterceptor {
  return async (req, ctx, info, next) => {
    trail.push(`${letter}:${info.method.name}`);
    if (letter === "A" && ctx.metadata.get("authorization") !== TOKEN) {
      throw new StatusError(Code.PermissionDenied, "missing or wrong token");
    }
    const res = await next({ ...(req as EchoMsg), text: (req as EchoMsg).text + letter }, ctx);
    return { ...(res as EchoMsg), text: (res as EchoMsg).text + letter.toLowerCase() };
  };
}

function streamInterceptor(letter: string, trail: string[]): StreamServerInterceptor {
  return async (stream, info, next) => {
    trail.push(`${letter}:${info.method.name}`);
    if (letter === "A" && stream.context.metadata.get("authorization") !== TOKEN) {
      throw new StatusError(Code.PermissionDenied, "missing or wrong token");
    }
    const wrapped: ServerCallStream = {
      context: stream.context,
      async recvMsg() {
        const m = await stream.recvMsg() as EchoMsg | null;
        return m === null ? null : { ...m, text: m.text + letter };
      },
      sendMsg(m) {
        return stream.sendMsg({
          ...(m as EchoMsg),
          text: (m as EchoMsg).text + letter.toLowerCase(),
        });
      },
    };
    await next(wrapped);
  };
}

interface Serving extends AsyncDisposable {
  server: Server;
  port: number;
  serving: Promise<void>;
}

function serve(server: Server, implementation: ServiceImplementation): Serving {
  server.addService(echoService, implementation);
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const serving = server.serve(listener);
  return {
    server,
    port: listener.addr.port,
    serving,
    async [Symbol.asyncDispose]() {
      await server.stop();
      await serving;
    },
  };
}

async function runScenario(name: string, port: number): Promise<void> {
  const r = await runNodeClient(CLIENT, [`--scenario=${name}`, `--server_port=${port}`]);
  const last = r.stdout.trim().split("\n").at(-1) ?? "";
  assertEquals(last, `PASS ${name}`, `${r.stdout}\n${r.stderr}`);
  assertEquals(r.code, 0, r.stderr);
}

Deno.test("Server ← grpc-js client: peer.Echo scenarios", async (t) => {
  const log = new CallLog();
  await using main = serve(new Server(), echoImplementation(log));
  await using smallSend = serve(
    new Server({ maxSendMessageSize: 1024 }),
    echoImplementation(log),
  );
  const trail: string[] = [];
  const { clientStream: _, ...noClientStream } = echoImplementation(log);
  await using intercepted = serve(
    new Server({
      unaryInterceptors: [unaryInterceptor("A", trail), unaryInterceptor("B", trail)],
      streamInterceptors: [streamInterceptor("A", trail), streamInterceptor("B", trail)],
    }),
    noClientStream,
  );

  for (
    const name of [
      "unary",
      "server_stream",
      "client_stream",
      "bidi",
      "large_messages",
      "metadata",
      "error_details",
      "unknown_method",
      "unknown_service",
      "oversized_request",
      "handler_error",
    ]
  ) {
    await t.step(name, () => runScenario(name, main.port));
  }

  await t.step("deadline_exceeded: the handlers' ctx.signal aborts", async () => {
    await runScenario("deadline_exceeded", main.port);
    for (const id of ["deadline-unary", "deadline-stream"]) {
      // The deadline timer or the client's RST_STREAM, whichever came first.
      const reason = await log.aborted(id) as DOMException;
      assert(["TimeoutError", "AbortError"].includes(reason.name), `${id}: ${reason.name}`);
    }
  });

  await t.step("cancel: the handlers' ctx.signal aborts", async () => {
    await runScenario("cancel", main.port);
    for (const id of ["cancel-bidi", "cancel-stream"]) {
      const reason = await log.aborted(id) as DOMException;
      assertEquals(reason.name, "AbortError", id);
    }
  });

  await t.step("oversized_response (maxSendMessageSize 1024)", () => {
    return runScenario("oversized_response", smallSend.port);
  });

  await t.step("interceptors: chained in order, reject, change the response", async () => {
    await runScenario("interceptors", intercepted.port);
    assertEquals(trail, [
      "A:Unary", // no token
      "A:Unary", // wrong token
      "A:Unary",
      "B:Unary",
      "A:ServerStream", // no token
      "A:ServerStream",
      "B:ServerStream",
      "A:Bidi",
      "B:Bidi",
    ]);
    assert(!log.calls.has("denied-unary"), "a handler ran for a call the interceptor refused");
    assert(!log.calls.has("denied-stream"), "a handler ran for a call the interceptor refused");
  });
});

/** A Node client whose stdout lines we watch while it runs. */
function spawnClient(args: string[], onLine: (line: string) => void) {
  const child = new Deno.Command("node", {
    args: [`${PEERS_DIR}${CLIENT}`, ...args],
    cwd: PEERS_DIR,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const lines: string[] = [];
  const stdout = (async () => {
    let partial = "";
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      const parts = (partial + chunk).split("\n");
      partial = parts.pop()!;
      for (const line of parts) {
        lines.push(line);
        onLine(line);
      }
    }
    if (partial !== "") lines.push(partial);
  })();
  const stderr = new Response(child.stderr).text();
  const result = (async () => {
    const [status, , err] = await Promise.all([child.status, stdout, stderr]);
    return { code: status.code, lines, stderr: err };
  })();
  return { child, result };
}

Deno.test("Server.gracefulStop() ← grpc-js client: running calls complete, new calls fail UNAVAILABLE", async () => {
  const CALLS = 8;
  const log = new CallLog();
  const held = new Set<string>();
  let allHeld!: () => void;
  const allHeldP = new Promise<void>((r) => (allHeld = r));
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let goaway!: () => void;
  const goawayP = new Promise<void>((r) => (goaway = r));

  const server = new Server();
  server.addService(
    echoService,
    echoImplementation(log, async (ctx) => {
      held.add(String(ctx.metadata.get("call-id")));
      if (held.size === CALLS) allHeld();
      await gate;
    }),
  );
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  let serveResolved = false;
  const serving = server.serve(listener).then(() => {
    serveResolved = true;
  });
  const { result } = spawnClient(
    ["--scenario=graceful_stop", `--server_port=${listener.addr.port}`, `--calls=${CALLS}`],
    (line) => {
      if (line === "GOAWAY") goaway();
    },
  );
  const early = result.then((r) => {
    throw new Error(`the client ended early:\n${r.lines.join("\n")}\n${r.stderr}`);
  });
  try {
    await Promise.race([allHeldP, early]);
    const stopping = server.gracefulStop();
    await Promise.race([goawayP, early]);
    assert(!serveResolved, "serve() resolved while calls were still running");
    release();
    const r = await result;
    assertEquals(r.lines.at(-1), "PASS graceful_stop", `${r.lines.join("\n")}\n${r.stderr}`);
    assertEquals(r.code, 0);
    await stopping;
    await serving;
    assert(serveResolved);
    assertEquals(held.size, CALLS);
    for (const { signal } of log.calls.values()) assert(!signal.aborted, "a held call was aborted");
  } finally {
    release();
    early.catch(() => {});
    await server.stop();
    await serving;
    await result;
  }
});
