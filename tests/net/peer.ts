// Our side of the real-link tests (tests/net/net_test.ts runs it inside a network namespace).
// Every mode prints JSON lines on stdout ({"event": …}); the test reads them.
//
//   peer.ts server   --addr=H:P [--keepalive-time-ms=N --keepalive-timeout-ms=N
//                     --max-age-ms=N --max-age-grace-ms=N]
//   peer.ts blackhole --addr=H:P --keepalive-time-ms=N --keepalive-timeout-ms=N
//       a Tick stream until it fails, then Echo with waitForReady until one succeeds, then close
//   peer.ts age --addr=H:P --clients=N --duration-ms=N --interval-ms=N
//       N connections calling Echo in a loop; counts failures
//   peer.ts hold --addr=H:P [--tls-dir=D [--mtls]]
//       one Echo, then holds the idle connection until SIGTERM
//   (server and hold take --tls-dir=D: TLS with tests/_certs.ts's files in D; hold --mtls also
//   presents the client certificate)
//   peer.ts upload|download --addr=H:P [--size=N --chunk=N]
//       one bulk transfer, timed
//
// Processes end on their own once their work is done and everything is closed: a timer or
// socket left behind would keep them running, which the test notices.

import {
  type ClientConn,
  createClient,
  loadProto,
  newClient,
  Server,
  type ServerStreamingMethod,
  serverTls,
  type StatusError,
  tls,
  type UnaryMethod,
} from "@seed/grpc";
import { parseGoFlags } from "../../internal/flags.ts";

interface Size {
  size: number;
  chunk: number;
}
interface Blob {
  data: Uint8Array;
}
interface BulkClient {
  upload: UnaryMethod<Blob, Size>;
  download: ServerStreamingMethod<Size, Blob>;
  tick: ServerStreamingMethod<Size, Blob>;
  echo: UnaryMethod<Size, Size>;
}

const MAX_MSG = 128 * 1024 * 1024;
const flags = parseGoFlags(Deno.args.slice(1));
const num = (name: string, def?: number): number => {
  const v = flags.get(name);
  if (v === undefined) {
    if (def === undefined) throw new Error(`--${name} is required`);
    return def;
  }
  return Number(v);
};
const addr = flags.get("addr") ?? "127.0.0.1:50051";
const services = await loadProto(new URL("./bulk.proto", import.meta.url));
const bulk = services["bulk.Bulk"];

function emit(event: string, fields: Record<string, unknown> = {}): void {
  console.log(JSON.stringify({ event, at: Date.now(), ...fields }));
}

function rssMiB(): number {
  return Math.round(Deno.memoryUsage().rss / 1024 / 1024 * 10) / 10;
}

const tlsDir = flags.get("tls-dir");
const readCert = (name: string) => Deno.readTextFileSync(`${tlsDir}/${name}`);

function dial(keepalive?: { timeMs: number; timeoutMs: number }): ClientConn {
  const mtls = flags.has("mtls");
  return newClient(addr, {
    maxReceiveMessageSize: MAX_MSG,
    maxSendMessageSize: MAX_MSG,
    ...(keepalive ? { keepalive } : {}),
    ...(tlsDir === undefined ? {} : {
      credentials: tls({
        caCerts: [readCert("ca.pem")],
        serverName: "localhost",
        ...(mtls ? { cert: readCert("client.pem"), key: readCert("client.key") } : {}),
      }),
    }),
  });
}

async function serve(): Promise<void> {
  const server = new Server({
    maxReceiveMessageSize: MAX_MSG,
    maxSendMessageSize: MAX_MSG,
    keepaliveParams: {
      timeMs: flags.has("keepalive-time-ms") ? num("keepalive-time-ms") : undefined,
      timeoutMs: flags.has("keepalive-timeout-ms") ? num("keepalive-timeout-ms") : undefined,
      maxConnectionAgeMs: flags.has("max-age-ms") ? num("max-age-ms") : undefined,
      maxConnectionAgeGraceMs: flags.has("max-age-grace-ms") ? num("max-age-grace-ms") : undefined,
    },
  });
  server.addService(bulk, {
    upload: (b: Blob) => ({ size: b.data.length, chunk: 0 }),
    download: async function* (req: Size) {
      const chunk = req.chunk > 0 ? req.chunk : 256 * 1024;
      const data = new Uint8Array(chunk);
      for (let left = req.size; left > 0; left -= chunk) {
        yield { data: left < chunk ? data.subarray(0, left) : data };
      }
    },
    tick: async function* (req: Size, ctx: { signal: AbortSignal }) {
      const data = new Uint8Array(16);
      while (!ctx.signal.aborted) {
        yield { data };
        await new Promise((r) => setTimeout(r, req.chunk));
      }
    },
    echo: (s: Size) => s,
  });
  const [hostname, port] = splitAddr(addr);
  const listener = tlsDir === undefined ? Deno.listen({ hostname, port }) : await serverTls({
    cert: readCert("server.pem"),
    key: readCert("server.key"),
    caCerts: [readCert("ca.pem")],
    clientAuth: "request",
  }).listen({ hostname, port });
  const serving = server.serve(listener);
  emit("ready", { rss: rssMiB() });
  Deno.addSignalListener("SIGTERM", () => {
    emit("stopping", { rss: rssMiB() });
    server.stop();
  });
  await serving;
  emit("stopped", { rss: rssMiB() });
}

function splitAddr(a: string): [string, number] {
  const i = a.lastIndexOf(":");
  return [a.slice(0, i), Number(a.slice(i + 1))];
}

async function blackhole(): Promise<void> {
  const conn = dial({ timeMs: num("keepalive-time-ms"), timeoutMs: num("keepalive-timeout-ms") });
  const c = createClient<BulkClient>(bulk, conn);
  emit("start", { rss: rssMiB() });
  let ticks = 0;
  try {
    for await (const _ of c.tick({ size: 0, chunk: 200 }, { waitForReady: true })) {
      if (ticks++ === 0) emit("streaming");
    }
    emit("failed", { code: 0, message: "stream ended" });
  } catch (err) {
    const e = err as StatusError;
    emit("failed", { code: e.code, message: e.message, ticks });
  }
  // Reconnect: calls wait for READY while the link is down (attempts back off), then succeed.
  for (let i = 0;; i++) {
    try {
      await c.echo({ size: i, chunk: 0 }, { waitForReady: true, timeoutMs: 5_000 });
      emit("reconnected", { attempts: i + 1 });
      break;
    } catch (err) {
      emit("echo-failed", { code: (err as StatusError).code });
    }
  }
  await conn.close();
  emit("done", { rss: rssMiB() });
}

async function age(): Promise<void> {
  const n = num("clients");
  const until = Date.now() + num("duration-ms");
  const interval = num("interval-ms", 50);
  let ok = 0;
  const errors: string[] = [];
  const conns = Array.from({ length: n }, () => dial());
  await Promise.all(conns.map(async (conn, i) => {
    const c = createClient<BulkClient>(bulk, conn);
    while (Date.now() < until) {
      try {
        await c.echo({ size: i, chunk: 0 }, { timeoutMs: 10_000 });
        ok++;
      } catch (err) {
        errors.push(`${(err as StatusError).code}: ${(err as Error).message}`);
      }
      await new Promise((r) => setTimeout(r, interval));
    }
  }));
  await Promise.all(conns.map((c) => c.close()));
  emit("done", { ok, failed: errors.length, errors: errors.slice(0, 5), rss: rssMiB() });
}

async function hold(): Promise<void> {
  const conn = dial();
  const c = createClient<BulkClient>(bulk, conn);
  await c.echo({ size: 1, chunk: 0 }, { waitForReady: true, timeoutMs: 30_000 });
  emit("connected");
  // The idle connection's socket is unref'd; this interval keeps the process until SIGTERM.
  const keep = setInterval(() => {}, 60_000);
  await new Promise<void>((resolve) => Deno.addSignalListener("SIGTERM", resolve));
  clearInterval(keep);
  await conn.close();
  emit("done");
}

async function transfer(mode: "upload" | "download"): Promise<void> {
  const size = num("size", 64 * 1024 * 1024);
  const chunk = num("chunk", 256 * 1024);
  const conn = dial();
  const c = createClient<BulkClient>(bulk, conn);
  await c.echo({ size: 0, chunk: 0 }, { waitForReady: true, timeoutMs: 30_000 });
  const start = performance.now();
  let got = 0;
  if (mode === "upload") {
    got = (await c.upload({ data: new Uint8Array(size) }, { timeoutMs: 300_000 })).size;
  } else {
    for await (const m of c.download({ size, chunk }, { timeoutMs: 300_000 })) got += m.data.length;
  }
  const ms = performance.now() - start;
  await conn.close();
  console.log(JSON.stringify({ mode, bytes: got, ms, mibps: got / 1048576 / (ms / 1000) }));
}

switch (Deno.args[0]) {
  case "server":
    await serve();
    break;
  case "blackhole":
    await blackhole();
    break;
  case "age":
    await age();
    break;
  case "hold":
    await hold();
    break;
  case "upload":
  case "download":
    await transfer(Deno.args[0]);
    break;
  default:
    console.error(`unknown mode ${Deno.args[0]}`);
    Deno.exit(2);
}
