// Issue #13's attack, as a tool and as functions tests/flow_attack_test.ts runs: a peer that
// honours every HTTP/2 window and keeps sending 100 KiB gRPC messages, each split over several
// DATA frames, to an application that stopped reading.
//
// - Against the server (tests/interop/server.ts): StreamingOutputCall or FullDuplexCall asked to
//   answer after a response interval (the issue used 10 s; 30 min here, so that a slow machine
//   never sees the handler wake up mid-test), so the handler is alive and does not read.
// - Against our client (the mirror): a raw server that keeps streaming responses to a call whose
//   `for await` consumer stalls after the first one.
//
//   deno run -A tests/flow_attack.ts [--cap_mib=2048] [--server=path/to/interop/server.ts]
//     runs all three, prints bytes accepted and RSS (--server: attack another build's server)
//
// Bytes accepted are what the receiver's windows let through: with flow control bounding memory
// they stop (ARCHITECTURE.md "Receive flow control and the memory bound").

import { createClient, dial, insecure } from "../mod.ts";
import { GreedyPeer } from "../transport/_greedy_peer.ts";
import { req, resp } from "../transport/_testing.ts";
import { loadInteropServices } from "./interop/server.ts";
import { startReady } from "./_procs.ts";
import { parseGoFlags } from "../internal/flags.ts";

const FLOOD_MESSAGE = 100 * 1024;
const FRAME = 16_000; // 100 KiB over 7 DATA frames

function varint(n: number): number[] {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}

/** StreamingOutputCallRequest{response_parameters: [{size: 1, interval_us}]}. */
export function slowRequest(intervalUs = 1_800_000_000): Uint8Array {
  const params = [0x08, 0x01, 0x10, ...varint(intervalUs)];
  return new Uint8Array([0x12, params.length, ...params]);
}

/** StreamingOutputCallRequest{payload: {body}} of exactly `size` bytes. */
export function floodRequest(size = FLOOD_MESSAGE): Uint8Array {
  // 1 + len(varint(inner)) + inner, inner = 1 + len(varint(n)) + n.
  let n = size - 8;
  for (;;) {
    const inner = 1 + varint(n).length + n;
    const total = 1 + varint(inner).length + inner;
    if (total === size) break;
    n += size - total;
  }
  const inner = 1 + varint(n).length + n;
  const b = new Uint8Array(size);
  const head = [0x1a, ...varint(inner), 0x12, ...varint(n)];
  b.set(head);
  return b;
}

/** The outcome of one attack. */
export interface AttackResult {
  /** DATA bytes the receiver's windows let through on the attacked stream. */
  accepted: number;
  /** Bytes past the first request: what sits unread at the receiver. */
  unread: number;
  /** Whether the receiver shut its windows (false: the cap was hit, or the stream ended). */
  stalled: boolean;
  rstCode: number;
  goawayCode: number;
}

/** Floods `method` on the server at 127.0.0.1:`port` until it stalls us or `cap` bytes. */
export async function attackServer(
  port: number,
  method: "StreamingOutputCall" | "FullDuplexCall",
  cap: number,
): Promise<AttackResult> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  conn.setNoDelay(true);
  const first = slowRequest();
  const peer = new GreedyPeer(conn, {
    role: "client",
    headers: req(`/grpc.testing.TestService/${method}`),
    first,
    body: floodRequest(),
    frameSize: FRAME,
    cap,
  });
  peer.start();
  try {
    await peer.untilStalled();
    return {
      accepted: peer.accepted,
      unread: peer.accepted - (5 + first.length),
      stalled: !peer.ended && peer.accepted < cap,
      rstCode: peer.rstCode,
      goawayCode: peer.goawayCode,
    };
  } finally {
    peer.close();
  }
}

/**
 * The mirror: a raw server streams 100 KiB responses to our client, whose consumer reads one
 * and stalls. Returns what the client's windows let through, and the client's RSS growth.
 */
export async function attackClient(cap: number): Promise<AttackResult & { rssGrowth: number }> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  let peer: GreedyPeer | undefined;
  const accepted = (async () => {
    const c = await listener.accept();
    c.setNoDelay(true);
    peer = new GreedyPeer(c, {
      role: "server",
      headers: resp(),
      body: floodRequest(),
      frameSize: FRAME,
      cap,
    });
    peer.start();
  })();
  const services = await loadInteropServices();
  const conn = await dial(`127.0.0.1:${listener.addr.port}`, { credentials: insecure() });
  // deno-lint-ignore no-explicit-any
  const test = createClient(services["grpc.testing.TestService"], conn) as any;
  const rss0 = Deno.memoryUsage().rss;
  const ac = new AbortController();
  const call = test.streamingOutputCall({ responseParameters: [{ size: 1 }] }, {
    signal: ac.signal,
  });
  let got = 0;
  let release!: () => void;
  const stall = new Promise<void>((r) => (release = r));
  const consumer = (async () => {
    try {
      for await (const _ of call as AsyncIterable<unknown>) {
        got++;
        await stall; // the consumer stalls after its first response
      }
    } catch {
      // cancelled at the end
    }
  })();
  try {
    await accepted;
    while (got === 0) await new Promise((r) => setTimeout(r, 10));
    await peer!.untilStalled();
    const rssGrowth = Deno.memoryUsage().rss - rss0;
    return {
      accepted: peer!.accepted,
      unread: peer!.accepted - (5 + FLOOD_MESSAGE),
      stalled: !peer!.ended && peer!.accepted < cap,
      rstCode: peer!.rstCode,
      goawayCode: peer!.goawayCode,
      rssGrowth,
    };
  } finally {
    ac.abort();
    release();
    await consumer;
    peer?.close();
    conn.close();
    listener.close();
  }
}

/** VmRSS of process `pid`, in bytes (Linux). */
export function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(Deno.readTextFileSync(`/proc/${pid}/status`));
  return m === null ? 0 : Number(m[1]) * 1024;
}

if (import.meta.main) {
  const MiB = (n: number) => `${(n / (1 << 20)).toFixed(1)} MiB`;
  const flags = parseGoFlags(Deno.args);
  const CAP = Number(flags.get("cap_mib") ?? "2048") * (1 << 20);
  const serverPath = flags.get("server") ??
    new URL("./interop/server.ts", import.meta.url).pathname;
  await using server = await startReady(Deno.execPath(), ["run", "-A", serverPath, "--port=0"]);
  for (const method of ["StreamingOutputCall", "FullDuplexCall"] as const) {
    const before = rssOf(server.process.pid);
    const t0 = performance.now();
    const r = await attackServer(server.port, method, CAP);
    const after = rssOf(server.process.pid);
    console.log(
      `server ${method}: accepted ${MiB(r.accepted)} (unread ${MiB(r.unread)}), ` +
        `stalled=${r.stalled} (rst ${r.rstCode}, goaway ${r.goawayCode}) in ` +
        `${((performance.now() - t0) / 1000).toFixed(1)} s, ` +
        `server RSS ${MiB(before)} -> ${MiB(after)} (+${MiB(after - before)})`,
    );
  }
  const c = await attackClient(CAP);
  console.log(
    `client (stalled for-await): accepted ${MiB(c.accepted)} (unread ${MiB(c.unread)}), ` +
      `stalled=${c.stalled}, client RSS +${MiB(c.rssGrowth)}`,
  );
}
