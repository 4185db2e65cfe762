// Compression end to end on our own client and server (issues 9, 21): gzip, deflate, zstd and br
// both ways, per-message flags, negotiation, zip bombs in both directions, and the protocol
// errors. The grpc-js directions (gzip, deflate) are covered by the interop compression cases
// (tests/interop_test.ts) and tests/client_grpcjs_test.ts; br against Connect-ES by
// tests/connect_test.ts.

import { assert, assertEquals, assertRejects } from "@std/assert";
import {
  Code,
  createClient,
  dial,
  getCompressor,
  gzip,
  insecure,
  loadProto,
  Server,
  type ServerContext,
  type ServerOptions,
  StatusError,
} from "@seed/grpc";
import { ClientTransport } from "../transport/http2_client.ts";
import { DEFAULT_TRANSPORT_OPTIONS } from "../transport/options.ts";
import { req } from "../transport/_testing.ts";

const PROTO = `syntax = "proto3"; package z;
  service Z { rpc Echo (M) returns (M); rpc Many (M) returns (stream M); }
  message M { bytes body = 1; int32 count = 2; }`;

interface M {
  body: Uint8Array;
  count: number;
}

const services = await loadProto({ source: PROTO });
const Z = services["z.Z"];

async function withServer(
  opts: ServerOptions,
  seen: { compressed: boolean[] },
  fn: (port: number) => Promise<void>,
) {
  const server = new Server(opts);
  server.addService(Z, {
    echo: (m: M, ctx: ServerContext) => {
      seen.compressed.push(ctx.requestCompressed);
      return m;
    },
    many: async function* (m: M, ctx: ServerContext) {
      for (let i = 0; i < m.count; i++) {
        // Every other response uncompressed: per-message flags on one stream.
        ctx.setMessageCompression(i % 2 === 0);
        yield { body: m.body, count: i };
      }
    },
  });
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const serving = server.serve(listener);
  try {
    await fn(listener.addr.port);
  } finally {
    await server.stop();
    await serving;
  }
}

const payload = new TextEncoder().encode("compressible ".repeat(1000));

const ENCODINGS = ["gzip", "deflate", "zstd", "br"];

for (const encoding of ENCODINGS) {
  Deno.test(`compression: ${encoding} requests and responses between our client and server`, async () => {
    const seen = { compressed: [] as boolean[] };
    await withServer({ compression: encoding }, seen, async (port) => {
      const conn = await dial(`127.0.0.1:${port}`, { credentials: insecure() });
      try {
        const client = createClient(Z, conn);
        const r = await client.echo({ body: payload }, { compression: encoding }) as M;
        assertEquals(r.body, payload);
        const plain = await client.echo({ body: payload }) as M;
        assertEquals(plain.body, payload);
        assertEquals(seen.compressed, [true, false]);
        const got: number[] = [];
        for await (const m of client.many({ body: payload, count: 4 }) as AsyncIterable<M>) {
          assertEquals(m.body, payload);
          got.push(m.count);
        }
        assertEquals(got, [0, 1, 2, 3]);
      } finally {
        await conn.close();
      }
    });
  });
}

for (const encoding of ENCODINGS) {
  Deno.test(`compression: a ${encoding} bomb request fails RESOURCE_EXHAUSTED (decompression stops at the limit)`, async () => {
    await withServer({}, { compressed: [] }, async (port) => {
      const conn = await dial(`127.0.0.1:${port}`, { credentials: insecure() });
      try {
        const client = createClient(Z, conn);
        // 64 MiB of zeros compresses to at most ~64 KiB: under the send limit, far over the
        // server's 4 MiB receive limit.
        const err = await assertRejects(
          () => client.echo({ body: new Uint8Array(64 << 20) }, { compression: encoding }),
          StatusError,
        );
        assertEquals(err.code, Code.ResourceExhausted);
        // The connection is still good.
        assertEquals((await client.echo({ body: payload }) as M).body, payload);
      } finally {
        await conn.close();
      }
    });
  });

  Deno.test(`compression: a ${encoding} bomb response fails RESOURCE_EXHAUSTED on the client`, async () => {
    await withServer({ compression: encoding }, { compressed: [] }, async (port) => {
      const conn = await dial(`127.0.0.1:${port}`, {
        credentials: insecure(),
        maxReceiveMessageSize: 1 << 20,
      });
      try {
        const client = createClient(Z, conn);
        const err = await assertRejects(
          async () => {
            for await (const _ of client.many({ body: new Uint8Array(8 << 20), count: 1 })) {
              // unreachable
            }
          },
          StatusError,
        );
        assertEquals(err.code, Code.ResourceExhausted);
      } finally {
        await conn.close();
      }
    });
  });
}

// Raw calls through the transport, to send what our client never would.
async function rawCall(port: number, extra: string[], flag: number, body: Uint8Array) {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const t = new ClientTransport(conn, DEFAULT_TRANSPORT_OPTIONS);
  t.begin();
  try {
    const s = await t.newStream(req("/z.Z/Echo", extra));
    await s.sendMsg(body, flag === 1, true);
    const err = await s.recvMsg().then(() => s.recvMsg()).then(() => null, (e) => e);
    return { err: err as StatusError | null, trailers: s.trailers ?? [] };
  } finally {
    t.close();
    await t.closed;
  }
}

function header(list: string[], name: string): string | undefined {
  for (let i = 0; i < list.length; i += 2) if (list[i] === name) return list[i + 1];
  return undefined;
}

Deno.test("compression: an unknown grpc-encoding is UNIMPLEMENTED with grpc-accept-encoding", async () => {
  await withServer({}, { compressed: [] }, async (port) => {
    const { err, trailers } = await rawCall(port, ["grpc-encoding", "x-unknown"], 1, payload);
    if (!(err instanceof StatusError)) throw new Error(`expected a StatusError, got ${err}`);
    assertEquals(err.code, Code.Unimplemented);
    const accept = header(trailers, "grpc-accept-encoding") ?? "";
    assertEquals(accept, "gzip,deflate,zstd,br");
  });
});

Deno.test("compression: the compressed flag without grpc-encoding is INTERNAL", async () => {
  await withServer({}, { compressed: [] }, async (port) => {
    const { err } = await rawCall(port, [], 1, gzip.compress(payload));
    if (!(err instanceof StatusError)) throw new Error(`expected a StatusError, got ${err}`);
    assertEquals(err.code, Code.Internal);
  });
});

Deno.test("compression: responses stay uncompressed for a client that accepts no encoding", async () => {
  await withServer({ compression: "gzip" }, { compressed: [] }, async (port) => {
    // Encode M{body} by hand: field 1, length-delimited.
    const msg = new Uint8Array([0x0a, 3, 1, 2, 3]);
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    const t = new ClientTransport(conn, DEFAULT_TRANSPORT_OPTIONS);
    t.begin();
    try {
      const s = await t.newStream(req("/z.Z/Echo"));
      await s.sendMsg(msg, false, true);
      const m = await s.recvMsg();
      assert(m !== null);
      // Uncompressed on the wire: the decoded echo is the body we sent.
      assertEquals(s.recvCompressed, false);
      assertEquals((Z.methods.echo.responseCodec.decode(m!) as M).body, msg.subarray(2));
      assertEquals(header(s.responseHeaders ?? [], "grpc-encoding"), undefined);
    } finally {
      t.close();
      await t.closed;
    }
  });
});

// A raw call with our own request headers; returns the response's grpc-encoding and whether the
// message came compressed.
async function rawEcho(port: number, extra: string[]) {
  const msg = new Uint8Array([0x0a, 3, 1, 2, 3]); // M{body: [1, 2, 3]}
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const t = new ClientTransport(conn, DEFAULT_TRANSPORT_OPTIONS);
  t.begin();
  try {
    const s = await t.newStream(req("/z.Z/Echo", extra));
    await s.sendMsg(msg, false, true);
    const m = await s.recvMsg();
    assert(m !== null);
    return {
      encoding: header(s.responseHeaders ?? [], "grpc-encoding"),
      compressed: s.recvCompressed,
      message: m!,
    };
  } finally {
    t.close();
    await t.closed;
  }
}

Deno.test("compression: the server compresses a response only with an encoding the client advertised", async () => {
  for (const encoding of ["zstd", "br"]) {
    await withServer({ compression: encoding }, { compressed: [] }, async (port) => {
      // Advertised, among others and with spaces: compressed with it.
      const yes = await rawEcho(port, ["grpc-accept-encoding", `gzip, ${encoding}`]);
      assertEquals([yes.encoding, yes.compressed], [encoding, true]);
      const body = getCompressor(encoding)!.decompress(yes.message, 1 << 20);
      assertEquals(
        (Z.methods.echo.responseCodec.decode(body) as M).body,
        new Uint8Array([1, 2, 3]),
      );
      // Not advertised: uncompressed, and no grpc-encoding.
      const no = await rawEcho(port, ["grpc-accept-encoding", "gzip,deflate"]);
      assertEquals([no.encoding, no.compressed], [undefined, false]);
    });
  }
});

Deno.test("compression: the client decodes whichever encoding each response stream uses", async () => {
  // One server, the encoding chosen per call by the handler; our client advertises all four.
  const server = new Server();
  server.addService(Z, {
    echo: (m: M, ctx: ServerContext) => {
      ctx.setCompression(ENCODINGS[m.count]);
      return m;
    },
    many: async function* () {},
  });
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const serving = server.serve(listener);
  const conn = await dial(`127.0.0.1:${listener.addr.port}`, { credentials: insecure() });
  try {
    const client = createClient(Z, conn);
    for (let i = 0; i < ENCODINGS.length; i++) {
      // Requests in another encoding than the response, to show the two directions are separate.
      const compression = ENCODINGS[(i + 1) % ENCODINGS.length];
      const r = await client.echo({ body: payload, count: i }, { compression }) as M;
      assertEquals(r.body, payload);
    }
  } finally {
    await conn.close();
    await server.stop();
    await serving;
  }
});

Deno.test("compression: response headers carry grpc-accept-encoding only when the request was compressed", async () => {
  await withServer({}, { compressed: [] }, async (port) => {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    const t = new ClientTransport(conn, DEFAULT_TRANSPORT_OPTIONS);
    t.begin();
    try {
      const msg = new Uint8Array([0x0a, 3, 1, 2, 3]);
      // Uncompressed (what grpc-go's load generator sends): exactly grpc-go's response headers.
      const plain = await t.newStream(req("/z.Z/Echo"));
      await plain.sendMsg(msg, false, true);
      assert(await plain.recvMsg() !== null);
      assertEquals(plain.responseHeaders, [":status", "200", "content-type", "application/grpc"]);
      // Compressed: the codings we decode come back.
      const zipped = await t.newStream(req("/z.Z/Echo", ["grpc-encoding", "gzip"]));
      await zipped.sendMsg(gzip.compress(msg), true, true);
      assert(await zipped.recvMsg() !== null);
      assertEquals(
        header(zipped.responseHeaders ?? [], "grpc-accept-encoding"),
        "gzip,deflate,zstd,br",
      );
    } finally {
      t.close();
      await t.closed;
    }
  });
});
