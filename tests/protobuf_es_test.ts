// protobuf-es v2 code (generated here by @bufbuild/protoc-gen-es from npm, tests/peers, with
// Debian's protoc) with our client and server: createClient and addService take its GenService
// as they are, messages go through toBinary / fromBinary. Checked against each other and against
// grpc-js (tests/peers/grpcjs_interop_server.mjs and grpcjs_echo_client.mjs, peer.Echo), and the
// types are checked with `deno check`. `deno task test:peers` (it needs protoc).

import { assert, assertEquals } from "@std/assert";
import { create, isMessage } from "@bufbuild/protobuf";
import type { GenMessage, GenService } from "@bufbuild/protobuf/codegenv2";
import { createClient, dial, insecure, Server } from "@seed/grpc";
import { ReflectionClient, registerReflection } from "@seed/grpc/reflection";
import { decodeFileDescriptorProto } from "../protodesc/descriptor_proto.ts";
import { ensureNodePeers, PEERS_DIR, runNodeClient, startNodeServer } from "./_peers.ts";
import { ROOT } from "./_procs.ts";

interface EchoMsg {
  $typeName: "peer.EchoMsg";
  text: string;
  data: Uint8Array;
  count: number;
  sleepMs: number;
  code: number;
  message: string;
}
type EchoSchema = GenMessage<EchoMsg & import("@bufbuild/protobuf").Message<"peer.EchoMsg">>;
interface Generated {
  EchoMsgSchema: EchoSchema;
  Echo: GenService<{
    unary: { methodKind: "unary"; input: EchoSchema; output: EchoSchema };
    serverStream: { methodKind: "server_streaming"; input: EchoSchema; output: EchoSchema };
    clientStream: { methodKind: "client_streaming"; input: EchoSchema; output: EchoSchema };
    bidi: { methodKind: "bidi_streaming"; input: EchoSchema; output: EchoSchema };
  }>;
}

async function generate(dir: string): Promise<Generated> {
  await ensureNodePeers();
  const out = await new Deno.Command("protoc", {
    args: [
      `--plugin=protoc-gen-es=${PEERS_DIR}node_modules/.bin/protoc-gen-es`,
      `--es_out=${dir}`,
      "--es_opt=target=ts",
      "-I",
      PEERS_DIR,
      "echo.proto",
    ],
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(`protoc: ${new TextDecoder().decode(out.stderr)}`);
  return await import(`file://${dir}/echo_pb.ts`);
}

// peer.Echo as grpcjs_interop_server.mjs documents it (the parts the scenarios below use).
function echoImplementation(es: Generated) {
  const { EchoMsgSchema } = es;
  return {
    unary: (req: EchoMsg) => req,
    async *serverStream(req: EchoMsg) {
      for (let i = 0; i < req.count; i++) yield { ...req, count: i };
    },
    async clientStream(requests: AsyncIterable<EchoMsg>) {
      let text = "";
      const parts: number[] = [];
      let count = 0;
      for await (const r of requests) {
        text += r.text;
        parts.push(...r.data);
        count++;
      }
      return create(EchoMsgSchema, { text, data: new Uint8Array(parts), count });
    },
    async *bidi(requests: AsyncIterable<EchoMsg>) {
      for await (const r of requests) for (let i = 0; i < Math.max(r.count, 1); i++) yield r;
    },
  };
}

async function exercise(es: Generated, port: number): Promise<void> {
  const conn = await dial(`127.0.0.1:${port}`, { credentials: insecure() });
  try {
    const client = createClient(es.Echo, conn);
    const reply = await client.unary({ text: "hi", data: new Uint8Array([1, 2]), count: 3 });
    assert(isMessage(reply, es.EchoMsgSchema));
    assertEquals([reply.text, [...reply.data], reply.count], ["hi", [1, 2], 3]);
    // A message made with create() goes as it is.
    const made = create(es.EchoMsgSchema, { text: "made" });
    assertEquals((await client.unary(made)).text, "made");
    const streamed: number[] = [];
    for await (const r of client.serverStream({ text: "s", count: 3 })) streamed.push(r.count);
    assertEquals(streamed, [0, 1, 2]);
    const summary = await client.clientStream([{ text: "a" }, {
      text: "b",
      data: new Uint8Array([7]),
    }]);
    assertEquals([summary.text, summary.count, [...summary.data]], ["ab", 2, [7]]);
    const echoed: string[] = [];
    for await (const r of client.bidi([{ text: "x" }, { text: "y", count: 2 }])) {
      echoed.push(r.text);
    }
    assertEquals(echoed, ["x", "y", "y"]);
  } finally {
    await conn.close();
  }
}

Deno.test("protobuf-es GenService: our client and our server, reflection serves its file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const es = await generate(dir);
    const server = new Server();
    server.addService(es.Echo, echoImplementation(es));
    registerReflection(server);
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const serving = server.serve(listener);
    try {
      await exercise(es, listener.addr.port);
      const conn = await dial(`127.0.0.1:${listener.addr.port}`, { credentials: insecure() });
      const reflection = new ReflectionClient(conn);
      const [file] = await reflection.fileContainingSymbol("peer.Echo");
      assertEquals(decodeFileDescriptorProto(file).service[0].method.length, 4);
      reflection.close();
      await conn.close();
    } finally {
      await server.gracefulStop();
      await serving;
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("protobuf-es GenService: our client against a grpc-js server", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const es = await generate(dir);
    await using peer = await startNodeServer("grpcjs_interop_server.mjs");
    await exercise(es, peer.port);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("protobuf-es GenService: our server against grpc-js clients", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const es = await generate(dir);
    const server = new Server();
    server.addService(es.Echo, echoImplementation(es));
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const serving = server.serve(listener);
    try {
      for (const scenario of ["unary", "server_stream", "client_stream", "bidi"]) {
        const r = await runNodeClient("grpcjs_echo_client.mjs", [
          `--scenario=${scenario}`,
          `--server_port=${listener.addr.port}`,
        ]);
        assertEquals(r.code, 0, `${scenario}: ${r.stdout}\n${r.stderr}`);
      }
    } finally {
      await server.gracefulStop();
      await serving;
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("protobuf-es GenService: handlers and clients are typed from it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await generate(dir);
    await Deno.writeTextFile(
      `${dir}/typed.ts`,
      `import { createClient, newClient, Server } from "@seed/grpc";
import { Echo } from "./echo_pb.ts";
const server = new Server();
server.addService(Echo, { unary: (req) => ({ text: req.text.toUpperCase() }) });
// @ts-expect-error: a unary handler's response is an EchoMsg, not a number
server.addService(Echo, { unary: () => 1 });
const client = createClient(Echo, newClient("127.0.0.1:1"));
export const p: Promise<string> = client.unary({ text: "x" }).then((r) => r.text);
// @ts-expect-error: text is a string
client.unary({ text: 1 });
`,
    );
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["check", "--config", `${ROOT}deno.json`, `${dir}/typed.ts`],
      stderr: "piped",
    }).output();
    assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
