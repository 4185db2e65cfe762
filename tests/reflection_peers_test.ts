// Our reflection answers against independent implementations (Debian peers, `deno task
// test:peers`): every file reflected for the interop protos, routeguide, the catalog fixtures
// (imports, nested types, maps, oneofs, enums, extensions), the well-known types, health and
// reflection itself must equal, field by field, what protoc 3.21 writes for the same .proto
// files; and Python's protobuf (python3-protobuf) must rebuild every file in a fresh
// DescriptorPool and find every service and method in it.

import { assertEquals } from "@std/assert";
import { dial, insecure, loadProto, Server, type ServiceDefinition } from "@seed/grpc";
import { HEALTH_PROTO, HEALTH_PROTO_NAME, HealthServer } from "@seed/grpc/health";
import {
  REFLECTION_V1_PROTO,
  REFLECTION_V1ALPHA_PROTO,
  ReflectionClient,
  registerReflection,
} from "@seed/grpc/reflection";
import { encodeBase64 } from "@std/encoding/base64";
import {
  decodeFileDescriptorProto,
  decodeFileDescriptorSet,
  type FileDescriptorProto,
} from "../protodesc/descriptor_proto.ts";
import { ROOT } from "./_procs.ts";

const FIXTURES = `${ROOT}tests/fixtures/protos`;

interface ProtoSet {
  entry: string;
  includeDir: string;
}

async function protoSets(): Promise<ProtoSet[]> {
  // The embedded service protos, written out for protoc.
  const dir = await Deno.makeTempDir();
  for (
    const [name, text] of [
      [HEALTH_PROTO_NAME, HEALTH_PROTO],
      ["grpc/reflection/v1/reflection.proto", REFLECTION_V1_PROTO],
      ["grpc/reflection/v1alpha/reflection.proto", REFLECTION_V1ALPHA_PROTO],
    ]
  ) {
    await Deno.mkdir(`${dir}/${name.slice(0, name.lastIndexOf("/"))}`, { recursive: true });
    await Deno.writeTextFile(`${dir}/${name}`, text);
  }
  return [
    { entry: "grpc/testing/test.proto", includeDir: `${ROOT}tests/interop` },
    { entry: "route_guide.proto", includeDir: `${ROOT}examples/routeguide` },
    { entry: "catalog/catalog.proto", includeDir: FIXTURES },
    { entry: "wkt/well_known.proto", includeDir: FIXTURES },
    { entry: HEALTH_PROTO_NAME, includeDir: dir },
    { entry: "grpc/reflection/v1/reflection.proto", includeDir: dir },
    { entry: "grpc/reflection/v1alpha/reflection.proto", includeDir: dir },
  ];
}

async function protoc(set: ProtoSet): Promise<FileDescriptorProto[]> {
  const out = await new Deno.Command("protoc", {
    args: [
      `-I${set.includeDir}`,
      "--include_imports",
      "--descriptor_set_out=/dev/stdout",
      set.entry,
    ],
    cwd: set.includeDir,
  }).output();
  if (!out.success) throw new Error(`protoc failed: ${new TextDecoder().decode(out.stderr)}`);
  return decodeFileDescriptorSet(out.stdout);
}

// Every file the server reflects, fetched by symbol (each service) and then by file name (each
// import), as grpcurl does; serialized, keyed by name.
async function reflectAll(port: number): Promise<Map<string, Uint8Array>> {
  const conn = await dial(`127.0.0.1:${port}`, { credentials: insecure() });
  const client = new ReflectionClient(conn);
  const files = new Map<string, Uint8Array>();
  const want: string[] = [];
  const take = (list: Uint8Array[]) => {
    for (const bytes of list) {
      const fd = decodeFileDescriptorProto(bytes);
      if (!files.has(fd.name)) files.set(fd.name, bytes);
      want.push(...fd.dependency);
    }
  };
  try {
    for (const service of await client.listServices()) {
      take(await client.fileContainingSymbol(service));
    }
    for (let name = want.pop(); name !== undefined; name = want.pop()) {
      if (!files.has(name)) take(await client.fileByFilename(name));
    }
  } finally {
    client.close();
    await conn.close();
  }
  return files;
}

Deno.test("reflected descriptors equal protoc's and rebuild in Python's DescriptorPool", async () => {
  const sets = await protoSets();
  const server = new Server();
  const served: ServiceDefinition[] = [];
  for (const set of sets.slice(0, 4)) {
    const services = await loadProto(`${set.includeDir}/${set.entry}`, {
      includeDirs: [set.includeDir],
    });
    for (const service of Object.values(services)) {
      server.addService(service, {});
      served.push(service);
    }
  }
  new HealthServer().register(server);
  registerReflection(server);
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const serving = server.serve(listener);
  let reflected: Map<string, Uint8Array>;
  try {
    reflected = await reflectAll(listener.addr.port);
  } finally {
    await server.stop();
    await serving;
  }

  // 1. Field by field against protoc.
  const compared = new Set<string>();
  for (const set of sets) {
    for (const expected of await protoc(set)) {
      // protobufjs bundles a newer descriptor.proto than protoc 3.21 has, and bundles the
      // well-known files without their file options (go_package …).
      if (expected.name === "google/protobuf/descriptor.proto") continue;
      if (expected.name.startsWith("google/protobuf/")) delete expected.options;
      const ours = reflected.get(expected.name);
      assertEquals(ours && decodeFileDescriptorProto(ours), expected, expected.name);
      compared.add(expected.name);
    }
  }
  assertEquals(compared.size, reflected.size - 1); // all but descriptor.proto
  for (
    const name of [
      "grpc/testing/test.proto",
      "grpc/testing/messages.proto",
      "grpc/testing/empty.proto",
      "route_guide.proto",
      "catalog/catalog.proto",
      "catalog/legacy.proto",
      "common/money.proto",
      "wkt/well_known.proto",
      "google/protobuf/struct.proto",
      "google/protobuf/api.proto",
      "google/protobuf/type.proto",
      HEALTH_PROTO_NAME,
      "grpc/reflection/v1/reflection.proto",
      "grpc/reflection/v1alpha/reflection.proto",
    ]
  ) assertEquals(compared.has(name), true, name);

  // 2. Python rebuilds every file (imports first) and finds every method.
  const ordered: string[] = [];
  const visit = (name: string) => {
    if (ordered.includes(name)) return;
    for (const dep of decodeFileDescriptorProto(reflected.get(name)!).dependency) visit(dep);
    ordered.push(name);
  };
  for (const name of reflected.keys()) visit(name);
  const script = `
import base64, json, sys
from google.protobuf import descriptor_pb2, descriptor_pool
data = json.load(sys.stdin)
pool = descriptor_pool.DescriptorPool()
for b in data["files"]:
    pool.Add(descriptor_pb2.FileDescriptorProto.FromString(base64.b64decode(b)))
out = []
for name in data["services"]:
    s = pool.FindServiceByName(name)
    for m in s.methods:
        out.append("/%s/%s %s %s" % (s.full_name, m.name, m.input_type.full_name, m.output_type.full_name))
print(json.dumps(out))
`;
  const child = new Deno.Command("/usr/bin/python3", {
    args: ["-c", script],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(JSON.stringify({
    files: ordered.map((name) => encodeBase64(reflected.get(name)!)),
    services: served.map((s) => s.name),
  })));
  await writer.close();
  const out = await child.output();
  const stderr = new TextDecoder().decode(out.stderr);
  assertEquals(out.success, true, stderr);
  const methods: string[] = JSON.parse(new TextDecoder().decode(out.stdout));
  const expected = served.flatMap((s) => Object.values(s.methods).map((m) => m.path));
  assertEquals(methods.map((line) => line.split(" ")[0]), expected);
  assertEquals(
    methods.includes("/routeguide.RouteGuide/GetFeature routeguide.Point routeguide.Feature"),
    true,
  );
});
