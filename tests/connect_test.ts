// brotli (`grpc-encoding: br`) against Connect-ES, the one other gRPC implementation with it
// (tests/peers/connect_echo.mjs, @connectrpc/connect-node on node:http2): our client against its
// server and its client against our server. Connect-ES compresses at brotli's default quality
// (11) and we at 5; each side decodes the other's.

import { assert, assertEquals } from "@std/assert";
import {
  brotli,
  createClient,
  dial,
  insecure,
  loadProto,
  Server,
  type ServerContext,
} from "@seed/grpc";
import { ClientTransport } from "../transport/http2_client.ts";
import { DEFAULT_TRANSPORT_OPTIONS } from "../transport/options.ts";
import { req } from "../transport/_testing.ts";
import { ensureNodePeers, PEERS_DIR, runNodeClient, startNodeServer } from "./_peers.ts";

interface EchoMsg {
  text: string;
  data: Uint8Array;
  count: number;
}

const services = await loadProto(`${PEERS_DIR}echo.proto`, { keepCase: true });
const Echo = services["peer.Echo"];
const big = "brotli over gRPC ".repeat(64 * 1024); // ~1 MiB

function header(list: readonly string[], name: string): string | undefined {
  for (let i = 0; i < list.length; i += 2) if (list[i] === name) return list[i + 1];
  return undefined;
}

Deno.test("connect-es: our client sends br to a Connect-ES server and decodes its br responses", async () => {
  await ensureNodePeers();
  await using peer = await startNodeServer("connect_echo.mjs", ["--mode=server"]);
  const conn = await dial(`127.0.0.1:${peer.port}`, { credentials: insecure() });
  try {
    const client = createClient(Echo, conn);
    for (const text of ["hello", big, ""]) {
      const msg = { text, data: new Uint8Array([1, 2, 3]), count: 4 };
      const r = await client.unary(msg, { compression: "br" }) as EchoMsg;
      assertEquals([r.text.length, r.data, r.count], [text.length, msg.data, 4]);
      assertEquals(r.text, text);
    }
  } finally {
    await conn.close();
  }

  // On the wire: the response is br, flagged compressed, and decodes with our brotli.
  const tcp = await Deno.connect({ hostname: "127.0.0.1", port: peer.port });
  const t = new ClientTransport(tcp, DEFAULT_TRANSPORT_OPTIONS);
  t.begin();
  try {
    const codec = Echo.methods.unary.requestCodec;
    const body = codec.encode({ text: big, data: new Uint8Array(0), count: 1 });
    const s = await t.newStream(
      req("/peer.Echo/Unary", ["grpc-encoding", "br", "grpc-accept-encoding", "br"]),
    );
    await s.sendMsg(brotli.compress(body), true, true);
    const m = await s.recvMsg();
    assert(m !== null);
    assertEquals(header(s.responseHeaders ?? [], "grpc-encoding"), "br");
    assertEquals(s.recvCompressed, true);
    assert(m!.length < body.length / 100, `${m!.length} bytes on the wire`);
    assertEquals((codec.decode(brotli.decompress(m!, 4 << 20)) as EchoMsg).text, big);
    assertEquals(await s.recvMsg(), null);
    assertEquals(header(s.trailers ?? [], "grpc-status"), "0");
  } finally {
    t.close();
    await t.closed;
  }
});

Deno.test("connect-es: a Connect-ES client's br requests reach our server, and our br responses reach it", async () => {
  await ensureNodePeers();
  const seen: boolean[] = [];
  const server = new Server({ compression: "br" });
  server.addService(Echo, {
    unary: (m: EchoMsg, ctx: ServerContext) => {
      seen.push(ctx.requestCompressed);
      return m;
    },
    serverStream: async function* () {},
    clientStream: () => ({}),
    bidi: async function* () {},
  });
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const serving = server.serve(listener);
  try {
    const r = await runNodeClient("connect_echo.mjs", [
      "--mode=client",
      `--server_port=${listener.addr.port}`,
    ]);
    assertEquals(r.stdout.trim().split("\n").at(-1), "PASS brotli", r.stdout + r.stderr);
    assertEquals(r.code, 0);
    // Connect-ES compresses every message (compressMinBytes 0), the empty one too.
    assertEquals(seen, [true, true, true]);
  } finally {
    await server.stop();
    await serving;
  }
});
