// Our client as the bench harness's drop-in load generator (../shared/bench/README.md "Dropping
// in a client"), after the reference go/src/benchgrpc/cmd/loadgen/main.go:
//
//   deno run -A bench/loadgen.ts -addr 127.0.0.1:PORT -scenario S -conns 1 -concurrency C \
//     -size B [-stream-msgs 1000] -duration 5s -warmup 1s [-wait 15s] [-label text] \
//     [-tls-ca F -tls-name NAME [-tls-cert-client F -tls-key-client F]] \
//     [--service-config '{"loadBalancingConfig":[{"round_robin":{}}]}' | @file.json]
//
// -addr takes any target the channel takes (`dns://127.0.0.1:53/svc:50051`,
// `ipv4:127.0.0.1:1,127.0.0.1:2`, `unix:/path`…); --service-config is the channel's
// defaultServiceConfig (JSON text, or @path to a file holding it).
//
// Flags are Go style (`-flag v` or `-flag=v`). Scenarios (one "call" is the unit whose latency is
// reported): unary (one Unary echo of -size bytes), server_stream (one ServerStream of
// -stream-msgs messages; latency = open to last message), client_stream (send -stream-msgs
// payloads, half-close, get the reply), bidi_pingpong (each worker keeps one Bidi stream; call =
// send -size bytes, receive the echo). Only calls that complete inside (start+warmup,
// start+warmup+duration] count. The last stdout line is one JSON object.

import process from "node:process";
import {
  type ClientConn,
  type ClientStream,
  dial,
  insecure,
  loadProto,
  type MethodDefinition,
  newClient,
  tls,
} from "@seed/grpc";
import { parseGoFlags } from "../internal/flags.ts";

interface Payload {
  body: Uint8Array;
}

interface StreamRequest {
  count: number;
  size: number;
}

interface Result {
  calls: number;
  msgs: number;
  bytes: number;
  errs: number;
  lats: number[]; // ms
}

interface Window {
  start: number; // performance.now() ms
  end: number;
}

const SCENARIOS = ["unary", "server_stream", "client_stream", "bidi_pingpong"];

function fail(message: string, code = 2): never {
  console.error(message);
  Deno.exit(code);
}

// Go time.ParseDuration, for the units the harness uses: "5s", "500ms", "1.5s", "1m30s".
function parseDuration(name: string, text: string): number {
  const units: Record<string, number> = {
    ns: 1e-6,
    us: 1e-3,
    "µs": 1e-3,
    ms: 1,
    s: 1000,
    m: 60_000,
    h: 3_600_000,
  };
  const re = /([0-9]*\.?[0-9]+)(ns|us|µs|ms|s|m|h)/y;
  let ms = 0;
  let i = 0;
  if (text === "0") return 0;
  while (i < text.length) {
    re.lastIndex = i;
    const m = re.exec(text);
    if (m === null) fail(`invalid value "${text}" for flag -${name}: invalid duration`);
    ms += Number(m[1]) * units[m[2]];
    i = re.lastIndex;
  }
  if (i === 0) fail(`invalid value "${text}" for flag -${name}: invalid duration`);
  return ms;
}

function intFlag(flags: Map<string, string>, name: string, def: number): number {
  const v = flags.get(name);
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isInteger(n)) fail(`invalid value "${v}" for flag -${name}: parse error`);
  return n;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  let idx = Math.trunc(p / 100 * sorted.length + 0.5) - 1;
  if (idx < 0) idx = 0;
  if (idx >= sorted.length) idx = sorted.length - 1;
  return sorted[idx] * 1000; // ms → µs
}

function round(f: number): number {
  return Math.trunc(f * 10 + 0.5) / 10;
}

function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

function sleepUntil(t: number): Promise<void> {
  const ms = t - performance.now();
  return ms <= 0 ? Promise.resolve() : new Promise((r) => setTimeout(r, ms));
}

const flags = parseGoFlags(Deno.args);
const addr = flags.get("addr") ?? "127.0.0.1:50051";
const scenario = flags.get("scenario") ?? "unary";
const conns = intFlag(flags, "conns", 1);
const concurrency = intFlag(flags, "concurrency", 1);
const size = intFlag(flags, "size", 100);
const streamMsgs = intFlag(flags, "stream-msgs", 1000);
const durationMs = parseDuration("duration", flags.get("duration") ?? "5s");
const warmupMs = parseDuration("warmup", flags.get("warmup") ?? "1s");
const waitMs = parseDuration("wait", flags.get("wait") ?? "15s");
const label = flags.get("label") ?? "";
// TLS (run.sh TLS=1 / MTLS=1): trust -tls-ca only, check -tls-name; mTLS adds the client cert.
const tlsCa = flags.get("tls-ca");
const readFlag = (name: string) => {
  const path = flags.get(name);
  return path === undefined ? undefined : Deno.readTextFileSync(path);
};
const credentials = tlsCa === undefined ? insecure() : tls({
  caCerts: [Deno.readTextFileSync(tlsCa)],
  serverName: flags.get("tls-name"),
  cert: readFlag("tls-cert-client"),
  key: readFlag("tls-key-client"),
});
const serviceConfigFlag = flags.get("service-config");
const serviceConfig = serviceConfigFlag?.startsWith("@")
  ? await Deno.readTextFile(serviceConfigFlag.slice(1))
  : serviceConfigFlag;
try {
  // Checks the target and the service config before any waiting.
  await newClient(addr, { credentials, defaultServiceConfig: serviceConfig }).close();
} catch (err) {
  fail(`${(err as Error).message}`);
}

if (!SCENARIOS.includes(scenario)) fail(`unknown scenario "${scenario}"`);
if (conns < 1 || concurrency < 1) fail("-conns and -concurrency must be >= 1");

const services = await loadProto(new URL("./bench.proto", import.meta.url));
const bench = services["bench.Bench"];
const unaryM = bench.methods.unary as MethodDefinition<Payload, Payload>;
const serverStreamM = bench.methods.serverStream as MethodDefinition<StreamRequest, Payload>;
const clientStreamM = bench.methods.clientStream as MethodDefinition<Payload, Payload>;
const bidiM = bench.methods.bidi as MethodDefinition<Payload, Payload>;

// Connect and wait until the server answers a tiny Unary call.
const ccs: ClientConn[] = [];
const waitUntil = performance.now() + waitMs;
for (let i = 0; i < conns; i++) {
  let cc: ClientConn | undefined;
  while (cc === undefined) {
    try {
      cc = await dial(addr, {
        credentials,
        defaultServiceConfig: serviceConfig,
        block: true,
        signal: AbortSignal.timeout(1000),
      });
    } catch (err) {
      if (performance.now() > waitUntil) fail(`dial ${addr}: ${(err as Error).message}`, 1);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  ccs.push(cc);
  for (;;) {
    try {
      await cc.invoke(unaryM, { body: new TextEncoder().encode("ping") }, { timeoutMs: 1000 });
      break;
    } catch (err) {
      if (performance.now() > waitUntil) {
        fail(`server not answering: ${(err as Error).message}`, 1);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

const body = new Uint8Array(size);
for (let i = 0; i < size; i++) body[i] = (i * 7) & 0xff;
const payload: Payload = { body };

const t0 = performance.now();
const win: Window = { start: t0 + warmupMs, end: t0 + warmupMs + durationMs };
let stopping = false;

function inWindow(t: number): boolean {
  return t > win.start && t <= win.end;
}

async function runUnary(cc: ClientConn, r: Result): Promise<void> {
  for (;;) {
    const start = performance.now();
    if (start > win.end || stopping) return;
    let resp: Payload;
    try {
      resp = await cc.invoke(unaryM, payload);
    } catch {
      if (stopping) return;
      if (inWindow(performance.now())) r.errs++;
      continue;
    }
    const now = performance.now();
    if (inWindow(now)) {
      r.calls++;
      r.msgs++;
      r.bytes += resp.body.length;
      r.lats.push(now - start);
    }
  }
}

async function runServerStream(cc: ClientConn, r: Result): Promise<void> {
  const req: StreamRequest = { count: streamMsgs, size };
  for (;;) {
    const start = performance.now();
    if (start > win.end || stopping) return;
    const s: ClientStream<StreamRequest, Payload> = cc.newStream(serverStreamM);
    s.sendMsg(req).catch(() => {});
    s.closeSend();
    let got = 0;
    for (;;) {
      let m: Payload | null;
      try {
        m = await s.recvMsg();
      } catch {
        if (!stopping && inWindow(performance.now())) r.errs++;
        break;
      }
      const now = performance.now();
      if (m === null) {
        if (got !== streamMsgs) r.errs++;
        else if (inWindow(now)) {
          r.calls++;
          r.lats.push(now - start);
        }
        break;
      }
      got++;
      if (inWindow(now)) {
        r.msgs++;
        r.bytes += m.body.length;
      }
      if (now > win.end) break;
    }
    s.cancel();
  }
}

async function runClientStream(cc: ClientConn, r: Result): Promise<void> {
  for (;;) {
    const start = performance.now();
    if (start > win.end || stopping) return;
    const s: ClientStream<Payload, Payload> = cc.newStream(clientStreamM);
    let sent = 0, sentBytes = 0;
    let ok = true;
    try {
      for (let i = 0; i < streamMsgs; i++) {
        await s.sendMsg(payload);
        sent++;
        sentBytes += body.length;
      }
      s.closeSend();
      if (await s.recvMsg() === null) ok = false;
      else if (await s.recvMsg() !== null) ok = false;
    } catch {
      ok = false;
    }
    const now = performance.now();
    s.cancel();
    if (!ok) {
      if (!stopping && inWindow(now)) r.errs++;
      continue;
    }
    if (inWindow(now)) {
      // Messages are attributed to the window in which the call completed.
      r.calls++;
      r.msgs += sent;
      r.bytes += sentBytes;
      r.lats.push(now - start);
    }
  }
}

async function runBidi(cc: ClientConn, r: Result): Promise<void> {
  for (;;) {
    if (performance.now() > win.end || stopping) return;
    const s: ClientStream<Payload, Payload> = cc.newStream(bidiM);
    for (;;) {
      const start = performance.now();
      if (start > win.end || stopping) {
        s.closeSend();
        s.cancel();
        return;
      }
      let m: Payload | null;
      try {
        await s.sendMsg(payload);
        m = await s.recvMsg();
      } catch {
        if (!stopping && inWindow(performance.now())) r.errs++;
        break;
      }
      const now = performance.now();
      if (m === null) {
        if (!stopping && inWindow(now)) r.errs++;
        break;
      }
      if (inWindow(now)) {
        r.calls++;
        r.msgs++;
        r.bytes += m.body.length;
        r.lats.push(now - start);
      }
    }
    s.cancel();
    if (!stopping) await new Promise((res) => setTimeout(res, 10));
  }
}

const results: Result[] = [];
const workers: Promise<void>[] = [];
for (let w = 0; w < concurrency; w++) {
  const r: Result = { calls: 0, msgs: 0, bytes: 0, errs: 0, lats: [] };
  results.push(r);
  const cc = ccs[w % conns];
  const run = scenario === "unary"
    ? runUnary
    : scenario === "server_stream"
    ? runServerStream
    : scenario === "client_stream"
    ? runClientStream
    : runBidi;
  workers.push(
    run(cc, r).catch((err) => {
      console.error(`worker ${w}: ${err}`);
    }),
  );
}

// Client CPU usage over the measurement window.
await sleepUntil(win.start);
const cpu0 = cpuSeconds();
await sleepUntil(win.end);
const cpu1 = cpuSeconds();
// Cancel what is still in flight: closing the connections fails every open call.
stopping = true;
await Promise.all(ccs.map((cc) => cc.close()));
await Promise.all(workers);

let calls = 0, msgs = 0, bytes = 0, errs = 0, n = 0;
for (const r of results) {
  calls += r.calls;
  msgs += r.msgs;
  bytes += r.bytes;
  errs += r.errs;
  n += r.lats.length;
}
const lats = new Float64Array(n);
let k = 0;
for (const r of results) for (const l of r.lats) lats[k++] = l;
lats.sort();
const secs = (win.end - win.start) / 1000;
const out: Record<string, unknown> = {
  tool: "seed",
  deno: Deno.version.deno,
  label,
  scenario,
  addr,
  conns,
  concurrency,
  size,
  warmup_s: warmupMs / 1000,
  duration_s: durationMs / 1000,
  calls,
  msgs,
  errors: errs,
  rpcs_per_s: round(calls / secs),
  msgs_per_s: round(msgs / secs),
  mb_per_s: round(bytes / secs / 1e6),
  p50_us: round(percentile(lats, 50)),
  p90_us: round(percentile(lats, 90)),
  p99_us: round(percentile(lats, 99)),
  max_us: round(percentile(lats, 100)),
  client_cpu_pct: round((cpu1 - cpu0) / secs * 100),
};
if (scenario === "server_stream" || scenario === "client_stream") out.stream_msgs = streamMsgs;
console.log(JSON.stringify(out));
Deno.exit(calls === 0 && msgs === 0 ? 1 : 0);
