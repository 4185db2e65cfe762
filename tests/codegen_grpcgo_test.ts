// The generated kitchen sink through a grpc-go 1.33 echo (tests/go/src/kitchenecho): Go's
// protobuf parses every message into structs and marshals it again, and what comes back decodes
// to what we sent, in every call kind. The Go package is generated here with protoc and the
// protoc-gen-go that ../shared/bench/build.sh builds (`deno task test:peers`).

import { assertEquals } from "@std/assert";
import { createClient, dial, insecure } from "@seed/grpc";
import { BENCH, ROOT, startReady } from "./_procs.ts";
import { KitchenEcho, type KitchenSink } from "./codegen/gen/kitchen_sink_pb.ts";
import { SAMPLE } from "./codegen/_sample.ts";

const PROTOC_GEN_GO = `${BENCH}go/bin/protoc-gen-go`;
const GO_PACKAGES: Record<string, string> = {
  "kitchen_sink.proto": "kitchenpb",
  "google/protobuf/any.proto": "github.com/golang/protobuf/ptypes/any",
  "google/protobuf/duration.proto": "github.com/golang/protobuf/ptypes/duration",
  "google/protobuf/empty.proto": "github.com/golang/protobuf/ptypes/empty",
  "google/protobuf/struct.proto": "github.com/golang/protobuf/ptypes/struct",
  "google/protobuf/timestamp.proto": "github.com/golang/protobuf/ptypes/timestamp",
  "google/protobuf/wrappers.proto": "github.com/golang/protobuf/ptypes/wrappers",
  "google/protobuf/field_mask.proto": "google.golang.org/genproto/protobuf/field_mask",
};

async function exec(command: string, args: string[], env?: Record<string, string>) {
  const out = await new Deno.Command(command, { args, env, stdout: "piped", stderr: "piped" })
    .output();
  if (!out.success) {
    throw new Error(`${command} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
}

async function buildPeer(dir: string): Promise<string> {
  // protoc-gen-go 1.3 predates proto3 `optional`: spell each as the one-field oneof it is (the
  // same wire format and presence).
  const proto = (await Deno.readTextFile(`${ROOT}tests/codegen/kitchen_sink.proto`)).replace(
    /^(\s*)optional (\S+) (\S+) = (\d+);/gm,
    "$1oneof _$3 { $2 $3 = $4; }",
  );
  await Deno.writeTextFile(`${dir}/kitchen_sink.proto`, proto);
  await Deno.mkdir(`${dir}/src/kitchenpb`, { recursive: true });
  const mappings = Object.entries(GO_PACKAGES).map(([file, pkg]) => `M${file}=${pkg}`);
  await exec("protoc", [
    `--plugin=protoc-gen-go=${PROTOC_GEN_GO}`,
    "-I",
    dir,
    `--go_out=plugins=grpc,paths=source_relative,${mappings.join(",")}:${dir}/src/kitchenpb`,
    "kitchen_sink.proto",
  ]);
  await exec("go", ["build", "-o", `${dir}/kitchenecho`, "kitchenecho"], {
    GO111MODULE: "off",
    GOFLAGS: "",
    GOPATH: `${dir}:${ROOT}tests/go:/usr/share/gocode`,
    HOME: Deno.env.get("HOME") ?? dir,
    PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
    GOCACHE: Deno.env.get("GOCACHE") ?? `${dir}/gocache`,
  });
  return `${dir}/kitchenecho`;
}

Deno.test("kitchen sink through a grpc-go 1.33 echo, every call kind", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const binary = await buildPeer(dir);
    await using peer = await startReady(binary, []);
    const conn = await dial(`127.0.0.1:${peer.port}`, { credentials: insecure() });
    try {
      const client = createClient(KitchenEcho, conn);
      const codec = KitchenEcho.methods.echo.requestCodec;
      const expected = codec.decode(codec.encode(SAMPLE));
      assertEquals(await client.echo(SAMPLE), expected);
      // Go writes no field it does not have: an empty message stays empty.
      assertEquals(await client.echo({}), codec.decode(new Uint8Array()));
      const twice = { ...SAMPLE, scalars: { ...SAMPLE.scalars, fInt32: 2 } };
      const repeated: KitchenSink[] = [];
      for await (const r of client.repeat(twice)) repeated.push(r);
      assertEquals(repeated, [
        codec.decode(codec.encode(twice)),
        codec.decode(codec.encode(twice)),
      ]);
      assertEquals(await client.last([{ color: "RED" }, SAMPLE]), expected);
      const chatted: KitchenSink[] = [];
      for await (const r of client.chat([SAMPLE, { level: "HIGH" }])) chatted.push(r);
      assertEquals(chatted, [expected, codec.decode(codec.encode({ level: "HIGH" }))]);
    } finally {
      await conn.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
