import { assertEquals } from "@std/assert";
import { pipe } from "./_pipe.ts";
import { ClientTransport } from "./http2_client.ts";
import { type ServerStream, ServerTransport, type ServerTransportOptions } from "./http2_server.ts";
import { DEFAULT_TRANSPORT_OPTIONS, type TransportOptions } from "./connection.ts";

const SERVER_OPTS: ServerTransportOptions = {
  ...DEFAULT_TRANSPORT_OPTIONS,
  keepaliveMinTimeMs: 300_000,
  permitKeepaliveWithoutStream: false,
};

function req(path = "/test.Echo/Unary"): string[] {
  return [
    ":method", "POST", ":scheme", "http", ":path", path, ":authority", "x",
    "content-type", "application/grpc", "te", "trailers",
  ];
}

export function connected(
  onStream: (s: ServerStream) => void,
  serverOpts: Partial<ServerTransportOptions> = {},
  clientOpts: Partial<TransportOptions> = {},
) {
  const [a, b] = pipe();
  const server = new ServerTransport(b, { ...SERVER_OPTS, ...serverOpts }, onStream);
  const client = new ClientTransport(a, { ...DEFAULT_TRANSPORT_OPTIONS, ...clientOpts });
  server.begin();
  client.begin();
  return { server, client, a, b };
}

async function echo(s: ServerStream) {
  for (;;) {
    const m = await s.recvMsg();
    if (m === null) break;
    await s.sendMsg(m, false);
  }
  s.sendTrailers(0, "");
  s.handlerDone();
}

Deno.test("transport: unary round trip over the in-memory pipe", async () => {
  const { server, client } = connected((s) => void echo(s));
  const s = await client.newStream(req());
  await s.sendMsg(new Uint8Array([1, 2, 3]), false, true);
  assertEquals(await s.recvMsg(), new Uint8Array([1, 2, 3]));
  assertEquals(await s.recvMsg(), null);
  assertEquals(s.trailers?.includes("grpc-status"), true);
  client.close();
  server.close();
  await Promise.all([client.closed, server.closed]);
});

Deno.test("transport: 10 MiB through a 64 KiB window without deadlock", async () => {
  const { server, client } = connected((s) => void echo(s), { dynamicWindow: false, maxReceiveMessageSize: 32 << 20 }, {
    dynamicWindow: false,
    maxReceiveMessageSize: 32 << 20,
  });
  const big = new Uint8Array(10 << 20);
  for (let i = 0; i < big.length; i++) big[i] = i * 7;
  const s = await client.newStream(req());
  const sent = s.sendMsg(big, false, true);
  const got = await s.recvMsg();
  await sent;
  assertEquals(got?.length, big.length);
  assertEquals(got, big);
  assertEquals(await s.recvMsg(), null);
  client.close();
  server.close();
});
