// In-process backends for channel tests: servers that answer "who are you" with their name
// (optionally with the grpc.health.v1 service of health/), and a small HTTP CONNECT proxy.

import { type Codec, type MethodDefinition, Server, type ServiceDefinition } from "../mod.ts";
import { HealthServer } from "../health/mod.ts";

const text: Codec<string> = {
  encode: (s) => new TextEncoder().encode(s),
  decode: (b) => new TextDecoder().decode(b),
};

export const WHO: MethodDefinition<string, string> = {
  name: "Who",
  localName: "who",
  path: "/test.Backend/Who",
  requestStream: false,
  responseStream: false,
  requestCodec: text,
  responseCodec: text,
};

const BACKEND: ServiceDefinition = { name: "test.Backend", methods: { who: WHO } };

/** One backend server on 127.0.0.1 or another loopback address (a fixed port can be given to
 * restart it in place). */
export class Backend implements AsyncDisposable {
  readonly name: string;
  readonly port: number;
  readonly calls: string[] = [];
  /** The backend's grpc.health.v1 service (health/server.ts), when asked for. */
  readonly health: HealthServer | undefined;
  #held = Promise.withResolvers<void>();
  #server: Server;
  #serving: Promise<void>;

  readonly hostname: string;

  constructor(name: string, port = 0, opts: { health?: boolean; hostname?: string } = {}) {
    this.name = name;
    const server = new Server();
    server.addService(BACKEND, {
      who: async (req: string) => {
        this.calls.push(req);
        if (req === "hold") await this.#held.promise;
        return name;
      },
    });
    if (opts.health) {
      this.health = new HealthServer();
      this.health.register(server);
    }
    this.hostname = opts.hostname ?? "127.0.0.1";
    const listener = Deno.listen({ hostname: this.hostname, port });
    this.port = listener.addr.port;
    this.#server = server;
    this.#serving = server.serve(listener);
  }

  /** Answers the calls that asked "hold". */
  release(): void {
    this.#held.resolve();
    this.#held = Promise.withResolvers<void>();
  }

  get address(): string {
    return `${this.hostname}:${this.port}`;
  }

  gracefulStop(): Promise<void> {
    return this.#server.gracefulStop().then(() => this.#serving);
  }

  async stop(): Promise<void> {
    await this.#server.stop();
    await this.#serving;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

/** A minimal HTTP CONNECT proxy: records each CONNECT target and header block, then pipes. */
export class ConnectProxy implements AsyncDisposable {
  readonly port: number;
  readonly requests: string[] = [];
  /** Tunnels open now. */
  open = 0;
  #listener: Deno.TcpListener;
  #conns = new Set<Deno.Conn>();
  #loop: Promise<void>;
  #tasks = new Set<Promise<void>>();

  constructor() {
    this.#listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    this.port = this.#listener.addr.port;
    this.#loop = this.#accept();
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async #accept(): Promise<void> {
    for (;;) {
      let c: Deno.TcpConn;
      try {
        c = await this.#listener.accept();
      } catch {
        return;
      }
      const t = this.#handle(c).catch(() => {});
      this.#tasks.add(t);
      t.finally(() => this.#tasks.delete(t));
    }
  }

  async #handle(c: Deno.Conn): Promise<void> {
    this.#conns.add(c);
    let head = "";
    const one = new Uint8Array(1);
    while (!head.endsWith("\r\n\r\n")) {
      if ((await c.read(one)) === null) return;
      head += String.fromCharCode(one[0]);
    }
    this.requests.push(head);
    const m = /^CONNECT ([^ ]+) HTTP\/1\.1\r\n/.exec(head);
    if (m === null) {
      await c.write(new TextEncoder().encode("HTTP/1.1 400 Bad Request\r\n\r\n"));
      c.close();
      return;
    }
    const colon = m[1].lastIndexOf(":");
    let up: Deno.Conn;
    try {
      up = await Deno.connect({
        hostname: m[1].slice(0, colon).replace(/^\[|\]$/g, ""),
        port: Number(m[1].slice(colon + 1)),
      });
    } catch {
      await c.write(new TextEncoder().encode("HTTP/1.1 502 Bad Gateway\r\n\r\n"));
      c.close();
      return;
    }
    this.#conns.add(up);
    await c.write(new TextEncoder().encode("HTTP/1.1 200 Connection established\r\n\r\n"));
    this.open++;
    await Promise.all([pipe(c, up), pipe(up, c)]);
    this.open--;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.#listener.close();
    for (const c of this.#conns) {
      try {
        c.close();
      } catch {
        // closed already
      }
    }
    await this.#loop;
    await Promise.all([...this.#tasks]);
  }
}

async function pipe(from: Deno.Conn, to: Deno.Conn): Promise<void> {
  const buf = new Uint8Array(16384);
  try {
    for (;;) {
      const n = await from.read(buf);
      if (n === null) break;
      for (let off = 0; off < n;) off += await to.write(buf.subarray(off, n));
    }
  } catch {
    // either side closed
  }
  try {
    to.close();
  } catch {
    // closed already
  }
}

/** Polls `cond` every 10 ms until true, or fails after `ms` (a generous deadline). */
export async function waitUntil(cond: () => boolean, what: string, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
