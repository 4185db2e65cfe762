/**
 * The peer.Echo server the TLS and unix-socket tests run (tests/peers/grpcjs_tls.mjs's
 * semantics: unary echoes; ServerStream sends `count` copies; ClientStream joins the texts; Bidi
 * echoes; `message` is the client certificate's CN, or the request's `authorization` metadata when
 * asked with text "auth?"), a logger that keeps warnings, and a client check of all four kinds.
 * @module
 */

import { assertEquals } from "@std/assert";
import {
  type ClientConn,
  createClient,
  loadProto,
  type Logger,
  type Peer,
  Server,
  type ServerContext,
  type ServerListener,
  serverTls,
  type ServerTlsOptions,
  type ServiceDefinition,
} from "@seed/grpc";
import { PEERS_DIR } from "./_peers.ts";

/** peer.Echo (tests/peers/echo.proto), field names as written. */
export const echo: ServiceDefinition =
  (await loadProto(`${PEERS_DIR}echo.proto`, { keepCase: true }))["peer.Echo"];

export interface EchoMsg {
  text: string;
  count: number;
  message: string;
}

/** Log lines a test server wrote, by severity. */
export class MemoryLogger implements Logger {
  readonly warnings: string[] = [];
  #waiters: (() => void)[] = [];
  info(): void {}
  warning(m: string): void {
    this.warnings.push(m);
    for (const w of this.#waiters.splice(0)) w();
  }
  error(m: string): void {
    this.warning(m);
  }
  /** Resolves once a warning matching `re` was logged. */
  async waitFor(re: RegExp): Promise<string> {
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      const hit = this.warnings.find((w) => re.test(w));
      if (hit !== undefined) return hit;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 1000);
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    throw new Error(`no warning matching ${re}; got ${JSON.stringify(this.warnings)}`);
  }
}

/** Serves peer.Echo over TLS (`tls`) or on `listener`; records every call's peer. */
export async function startServer(
  tls: ServerTlsOptions | Deno.Listener,
  opts: { connectionTimeoutMs?: number } = {},
) {
  const logger = new MemoryLogger();
  const peers: Peer[] = [];
  const cn = (ctx: ServerContext) => {
    peers.push(ctx.peer!);
    const auth = ctx.metadata.get("authorization");
    if (typeof auth === "string") return auth;
    return ctx.peer?.authInfo.peerCertificate?.subject.CN ?? "";
  };
  const server = new Server({ logger, ...opts });
  server.addService(echo, {
    unary: (m: EchoMsg, ctx: ServerContext) => ({ ...m, message: cn(ctx) }),
    serverStream: async function* (m: EchoMsg, ctx: ServerContext) {
      const message = cn(ctx);
      for (let i = 0; i < m.count; i++) yield { ...m, message };
    },
    clientStream: async (ms: AsyncIterable<EchoMsg>, ctx: ServerContext) => {
      const texts: string[] = [];
      for await (const m of ms) texts.push(m.text);
      return { text: texts.join(","), message: cn(ctx) };
    },
    bidi: async function* (ms: AsyncIterable<EchoMsg>, ctx: ServerContext) {
      const message = cn(ctx);
      for await (const m of ms) yield { ...m, message };
    },
  });
  const creds = "cert" in tls ? serverTls(tls) : undefined;
  const listener: ServerListener | Deno.Listener = creds === undefined
    ? tls as Deno.Listener
    : await creds.listen({ hostname: "127.0.0.1", port: 0 });
  const serving = server.serve(listener);
  return {
    server,
    creds,
    logger,
    peers,
    port: (listener.addr as Deno.NetAddr).port,
    async [Symbol.asyncDispose]() {
      await server.stop();
      await serving;
    },
  };
}

/** Makes one call of each kind on `conn` and checks the echoes; returns the unary's message. */
export async function fourKinds(conn: ClientConn): Promise<string> {
  // deno-lint-ignore no-explicit-any
  const c = createClient(echo, conn) as any;
  const opts = { timeoutMs: 20_000 };
  const u = await c.unary({ text: "hello" }, opts);
  assertEquals(u.text, "hello");
  const ss: EchoMsg[] = [];
  for await (const m of c.serverStream({ text: "s", count: 3 }, opts)) ss.push(m);
  assertEquals(ss.map((m) => m.text), ["s", "s", "s"]);
  const cs = await c.clientStream([{ text: "a" }, { text: "b" }, { text: "c" }], opts);
  assertEquals(cs.text, "a,b,c");
  const bidi: EchoMsg[] = [];
  for await (const m of c.bidi([{ text: "x" }, { text: "y" }], opts)) bidi.push(m);
  assertEquals(bidi.map((m) => m.text), ["x", "y"]);
  return u.message;
}
