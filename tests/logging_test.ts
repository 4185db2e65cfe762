// The logger option: what the server and the channel could not tell a caller goes to it —
// accept errors, connections that fail to set up or break the protocol, a handler's error after
// its call ended, a failing onGracefulStop hook — and routine ends stay at info.
//
//   deno test -A --sanitize-ops --sanitize-resources tests/logging_test.ts

import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import {
  Code,
  createClient,
  dial,
  insecure,
  loadProto,
  type Logger,
  Server,
  type ServerContext,
  StatusError,
  type UntypedClient,
} from "@seed/grpc";
import { until } from "../transport/_testing.ts";

class Lines implements Logger {
  readonly lines: string[] = [];
  info(m: string) {
    this.lines.push(`I ${m}`);
  }
  warning(m: string) {
    this.lines.push(`W ${m}`);
  }
  error(m: string) {
    this.lines.push(`E ${m}`);
  }
  find(prefix: string, text: string): string | undefined {
    return this.lines.find((l) => l.startsWith(prefix) && l.includes(text));
  }
}

const services = await loadProto({
  source: `syntax = "proto3"; package l;
    service L { rpc Slow (M) returns (M); }
    message M { string text = 1; }`,
});

// A listener whose first accept fails with EMFILE (a temporary error), then waits until closed.
class FlakyListener {
  readonly addr: Deno.NetAddr = { transport: "tcp", hostname: "127.0.0.1", port: 0 };
  #failed = false;
  #closed = Promise.withResolvers<never>();
  constructor() {
    this.#closed.promise.catch(() => {}); // close() may come when nobody is accepting
  }
  accept(): Promise<Deno.Conn> {
    if (!this.#failed) {
      this.#failed = true;
      return Promise.reject(Object.assign(new Error("Too many open files (os error 24)"), {
        code: "EMFILE",
      }));
    }
    return this.#closed.promise;
  }
  close() {
    this.#closed.reject(new Deno.errors.BadResource("closed"));
  }
  [Symbol.asyncIterator](): never {
    throw new Error("unused");
  }
}

Deno.test("a temporary accept error is a warning, with the retry delay", async () => {
  const logger = new Lines();
  const server = new Server({ logger });
  const listener = new FlakyListener();
  const serving = server.serve(listener as unknown as Deno.Listener);
  await until(() => logger.lines.length > 0, "the accept error to be logged");
  assertEquals(logger.lines, [
    "W grpc: Server.Serve accept error: Too many open files (os error 24); retrying in 5 ms",
  ]);
  await server.stop();
  await serving;
});

Deno.test("a connection that fails to set up is a warning; one closed before a byte, info", async () => {
  const logger = new Lines();
  const server = new Server({ logger, connectionTimeoutMs: 100 });
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const serving = server.serve(listener);
  const port = listener.addr.port;
  try {
    // Not HTTP/2: a bad preface.
    const http1 = await Deno.connect({ hostname: "127.0.0.1", port });
    await http1.write(new TextEncoder().encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    await until(() => logger.find("W", "Bad connection preface") !== undefined, "a warning");
    assertStringIncludes(
      logger.find("W", "Bad connection preface")!,
      "W grpc: Server.Serve failed to create ServerTransport from 127.0.0.1:",
    );
    http1.close();
    // Silent: the handshake deadline.
    const silent = await Deno.connect({ hostname: "127.0.0.1", port });
    await until(() => logger.find("W", "handshake timed out") !== undefined, "a warning");
    silent.close();
    // Connected and closed at once (a port probe): info only.
    const probe = await Deno.connect({ hostname: "127.0.0.1", port });
    probe.close();
    await until(() => logger.find("I", "Connection closed by peer") !== undefined, "an info");
    assertEquals(logger.lines.filter((l) => l.startsWith("W")).length, 2, logger.lines.join("\n"));
  } finally {
    await server.stop();
    await serving;
  }
});

Deno.test("a handler's error after its call ended is a warning with its stack; the abort itself is not", async () => {
  const logger = new Lines();
  const server = new Server({ logger });
  let settled = 0;
  let started = 0;
  server.addService(services["l.L"], {
    async slow(m: { text: string }, ctx: ServerContext) {
      started++;
      try {
        await new Promise((_, reject) =>
          ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason), { once: true })
        );
      } catch (err) {
        if (m.text === "quiet") throw err; // the AbortError / TimeoutError itself: not logged
        throw new Error("cleanup failed in myHandlerCleanup");
      } finally {
        settled++;
      }
    },
  });
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const serving = server.serve(listener);
  const conn = await dial(`127.0.0.1:${listener.addr.port}`, { credentials: insecure() });
  try {
    const client: UntypedClient = createClient(services["l.L"], conn);
    // The caller cancels once the handler runs (no deadline race on a busy machine): the
    // handler's ctx.signal aborts and the call has ended before the handler does.
    for (const text of ["quiet", "loud"]) {
      const caller = new AbortController();
      const before = started;
      const call = client.slow({ text }, { signal: caller.signal }).catch((e: unknown) => e);
      await until(() => started > before, "the handler to start");
      caller.abort();
      const err = await call;
      assert(err instanceof StatusError);
      assertEquals(err.code, Code.Canceled);
    }
    await until(() => settled === 2, "both handlers to end");
    await until(() => logger.find("W", "failed after its call ended") !== undefined, "a warning");
    const warnings = logger.lines.filter((l) => l.startsWith("W"));
    assertEquals(warnings.length, 1, logger.lines.join("\n"));
    assertStringIncludes(
      warnings[0],
      "W grpc: the handler for /l.L/Slow failed after its call ended: Error: cleanup failed in myHandlerCleanup\n    at ",
    );
  } finally {
    await conn.close();
    await server.stop();
    await serving;
  }
});

Deno.test("a throwing onGracefulStop hook is a warning; the server still stops", async () => {
  const logger = new Lines();
  const server = new Server({ logger });
  server.onGracefulStop(() => {
    throw new Error("hook broke");
  });
  await server.gracefulStop();
  assertStringIncludes(
    logger.lines.join("\n"),
    "W grpc: an onGracefulStop hook failed: Error: hook broke",
  );
});

Deno.test("the channel: a server that breaks the protocol is a warning", async () => {
  // A raw "server": SETTINGS, then DATA on stream 0 (a connection error, RFC 9113 §6.1).
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const serve = (async () => {
    const c = await listener.accept();
    const buf = new Uint8Array(1024);
    await c.read(buf); // the client's preface and SETTINGS
    await c.write(new Uint8Array([0, 0, 0, 4, 0, 0, 0, 0, 0])); // SETTINGS
    await c.write(new Uint8Array([0, 0, 0, 4, 1, 0, 0, 0, 0])); // SETTINGS ACK
    await new Promise((r) => setTimeout(r, 20));
    await c.write(new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0, 0])); // DATA on stream 0
    try {
      while ((await c.read(buf)) !== null) { /* until the client closes */ }
    } catch {
      // reset by the client
    }
    c.close();
  })();
  const logger = new Lines();
  const conn = await dial(`127.0.0.1:${listener.addr.port}`, {
    credentials: insecure(),
    block: true,
    logger,
  });
  try {
    await until(() => logger.find("W", "closed the connection to") !== undefined, "a warning");
    assertStringIncludes(
      logger.find("W", "closed the connection to")!,
      `W grpc: closed the connection to 127.0.0.1:${listener.addr.port}: Connection error:`,
    );
  } finally {
    await conn.close();
    await serve;
    listener.close();
  }
});
