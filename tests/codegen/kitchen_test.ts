// The generated kitchen sink (tests/codegen/gen, `deno task gen`): its codecs are loadProto's
// codecs, its service works end to end through our server and client with no .proto read, and
// reflection serves its embedded descriptors.

import { assert, assertEquals } from "@std/assert";
import { createClient, dial, insecure, loadProtoSync, Server } from "@seed/grpc";
import { ReflectionClient, registerReflection } from "@seed/grpc/reflection";
import {
  decodeFileDescriptorProto,
  encodeFileDescriptorProto,
} from "../../protodesc/descriptor_proto.ts";
import { loadFilesSync } from "../../codec/proto_loader.ts";
import { buildFileDescriptors } from "../../protodesc/build.ts";
import {
  file,
  KitchenEcho,
  type KitchenEchoHandlers,
  type KitchenSink,
  type KitchenSinkInit,
} from "./gen/kitchen_sink_pb.ts";
import { SAMPLE } from "./_sample.ts";

const PROTO = new URL("./kitchen_sink.proto", import.meta.url);
const DIR = new URL("./", import.meta.url).pathname;

Deno.test("generated codecs encode and decode exactly as loadProto's", () => {
  const loaded = loadProtoSync(PROTO)["kitchen.v1.KitchenEcho"].methods.echo.requestCodec;
  const generated = KitchenEcho.methods.echo.requestCodec;
  const ours = generated.encode(SAMPLE);
  assertEquals(ours, loaded.encode(SAMPLE));
  const decoded: KitchenSink = generated.decode(ours);
  assertEquals(decoded, loaded.decode(ours));
  // Decoded messages encode back to themselves (64-bit map keys included; the bytes differ, as
  // protobufjs writes the defaults decoding filled in).
  assertEquals(generated.decode(generated.encode(decoded)), decoded);
  assertEquals(decoded.maps?.kUint64, { "18446744073709551615": "max", "123": "n" });
  assert(Number.isNaN(decoded.scalars?.fDouble));
  assertEquals(decoded.scalars?.fString, SAMPLE.scalars?.fString);
  assertEquals(decoded.choice, "choiceNumber");
  assertEquals(decoded.optInt32, 0);
  // Unset message fields are null, unset oneof members and optionals absent (defaults: true).
  const empty = generated.decode(generated.encode({}));
  assertEquals(empty.scalars, null);
  assertEquals("optInt32" in empty, false);
  assertEquals(empty.color, "COLOR_UNSPECIFIED");
});

Deno.test("file.codec gives a message's codec; the embedded descriptor is protodesc's", () => {
  const inner = file.codec<KitchenSink["inner"] & object>("kitchen.v1.KitchenSink.Inner");
  assertEquals(inner.decode(inner.encode({ level: "HIGH", children: [] })), {
    level: "HIGH",
    children: [],
  });
  // What protodesc makes of the .proto text is what the generator embedded.
  const { files } = loadFilesSync([PROTO.pathname], { includeDirs: [DIR] });
  const built = buildFileDescriptors(files).find((fd) => fd.name === "kitchen_sink.proto")!;
  assertEquals(
    decodeFileDescriptorProto(file.descriptor),
    decodeFileDescriptorProto(encodeFileDescriptorProto(built)),
  );
  assertEquals(file.imports.map((f) => f.name), built.dependency);
});

Deno.test("a generated service serves and calls every kind, typed; reflection serves it", async () => {
  // A class implementation: its methods are called with the instance as `this`.
  class Echo implements KitchenEchoHandlers {
    calls = 0;
    echo(request: KitchenSink): KitchenSinkInit {
      this.calls++;
      return request;
    }
    async *repeat(request: KitchenSink) {
      this.calls++;
      for (let i = 0; i < (request.scalars?.fInt32 ?? 0); i++) yield request;
    }
    async last(requests: AsyncIterable<KitchenSink>) {
      this.calls++;
      let last: KitchenSink | undefined;
      for await (const r of requests) last = r;
      return last ?? {};
    }
    async *chat(requests: AsyncIterable<KitchenSink>) {
      this.calls++;
      for await (const r of requests) yield r;
    }
  }
  const impl = new Echo();
  const server = new Server();
  server.addService(KitchenEcho, impl);
  registerReflection(server);
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const serving = server.serve(listener);
  const conn = await dial(`127.0.0.1:${listener.addr.port}`, { credentials: insecure() });
  try {
    const client = createClient(KitchenEcho, conn);
    const codec = KitchenEcho.methods.echo.requestCodec;
    const expected = codec.decode(codec.encode(SAMPLE));
    assertEquals(await client.echo(SAMPLE), expected);
    const three = { ...SAMPLE, scalars: { ...SAMPLE.scalars, fInt32: 3 } };
    const repeated: KitchenSink[] = [];
    for await (const r of client.repeat(three)) repeated.push(r);
    assertEquals(repeated.length, 3);
    assertEquals((await client.last([{ color: "RED" }, SAMPLE])).scalars, expected.scalars);
    const chatted: KitchenSink[] = [];
    for await (const r of client.chat([SAMPLE, { level: "HIGH" }])) chatted.push(r);
    assertEquals(chatted.map((r) => r.level), ["HIGH", "HIGH"]);
    assertEquals(impl.calls, 4);

    const reflection = new ReflectionClient(conn);
    const files = await reflection.fileContainingSymbol("kitchen.v1.KitchenEcho");
    const names = files.map((bytes) => decodeFileDescriptorProto(bytes).name);
    assertEquals(names[0], "kitchen_sink.proto");
    assert(names.includes("google/protobuf/timestamp.proto"));
    assertEquals(
      decodeFileDescriptorProto(files[0]),
      decodeFileDescriptorProto(file.descriptor),
    );
    reflection.close();
  } finally {
    await conn.close();
    await server.gracefulStop();
    await serving;
  }
});
