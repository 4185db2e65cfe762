import { assert, assertEquals, assertMatch, assertStringIncludes } from "@std/assert";
import { parseCodegenArgs, UsageError } from "./args.ts";
import { assertThrows } from "@std/assert";

const ROOT = new URL("../", import.meta.url);
const MAIN = new URL("./main.ts", import.meta.url).pathname;

async function run(args: string[], cwd?: string, permissions = ["-A"]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...permissions, MAIN, ...args],
    cwd: cwd ?? ROOT.pathname,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder();
  return { code: out.code, stdout: text.decode(out.stdout), stderr: text.decode(out.stderr) };
}

async function listFiles(dir: string, prefix = ""): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    if (e.isDirectory) names.push(...await listFiles(`${dir}/${e.name}`, `${prefix}${e.name}/`));
    else names.push(prefix + e.name);
  }
  return names.sort();
}

Deno.test("codegen: committed examples are what the generator writes, byte for byte, every time", async () => {
  const dir = await Deno.makeTempDir();
  try {
    for (const round of ["a", "b"]) {
      const out = `${dir}/${round}`;
      const r = await run([
        "--out",
        out,
        "-I",
        "examples/routeguide",
        "-I",
        "examples/helloworld",
        "examples/helloworld/hello.proto",
        "examples/routeguide/route_guide.proto",
      ]);
      assertEquals(r.code, 0, r.stderr);
      assertEquals(await listFiles(out), ["hello_pb.ts", "route_guide_pb.ts"]);
    }
    for (
      const [name, committed] of [
        ["hello_pb.ts", "examples/helloworld/hello_pb.ts"],
        ["route_guide_pb.ts", "examples/routeguide/route_guide_pb.ts"],
      ]
    ) {
      const a = await Deno.readTextFile(`${dir}/a/${name}`);
      assertEquals(a, await Deno.readTextFile(`${dir}/b/${name}`));
      assertEquals(a, await Deno.readTextFile(new URL(committed, ROOT)), `${committed} is stale`);
      assertStringIncludes(a, `from "@seed/grpc";`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("codegen: the committed kitchen sink (and its well-known imports) is current", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const args = ["-I", "tests/codegen", "tests/codegen/kitchen_sink.proto"];
    const r = await run(["--out", dir, ...args]);
    assertEquals(r.code, 0, r.stderr);
    const committed = new URL("tests/codegen/gen/", ROOT).pathname;
    const names = await listFiles(dir);
    assertEquals(names, await listFiles(committed));
    for (const name of names) {
      assertEquals(
        await Deno.readTextFile(`${dir}/${name}`),
        await Deno.readTextFile(`${committed}/${name}`),
        `tests/codegen/gen/${name} is stale: run deno task gen`,
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("codegen: imports generate too (well-known ones without shipping them), --import and options apply", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${dir}/protos/shop`, { recursive: true });
    await Deno.writeTextFile(
      `${dir}/protos/shop/money.proto`,
      `syntax = "proto3"; package shop; message Money { int64 cents = 1; }`,
    );
    await Deno.writeTextFile(
      `${dir}/protos/shop/cart.proto`,
      `syntax = "proto3";
      package shop;
      import "shop/money.proto";
      import "google/protobuf/timestamp.proto";
      // A cart.
      message Cart { Money total = 1; google.protobuf.Timestamp at = 2; }`,
    );
    const r = await run(
      [
        "-o",
        "gen",
        "-I",
        "protos",
        "--import",
        "jsr:@seed/grpc",
        "--longs",
        "bigint",
        "--keep-case",
        "protos/shop/cart.proto",
      ],
      dir,
    );
    assertEquals(r.code, 0, r.stderr);
    assertEquals(await listFiles(`${dir}/gen`), [
      "google/protobuf/timestamp_pb.ts",
      "shop/cart_pb.ts",
      "shop/money_pb.ts",
    ]);
    const cart = await Deno.readTextFile(`${dir}/gen/shop/cart_pb.ts`);
    assertStringIncludes(cart, `from "jsr:@seed/grpc";`);
    assertStringIncludes(cart, `import * as $shop_money from "./money_pb.ts";`);
    assertStringIncludes(cart, `from "../google/protobuf/timestamp_pb.ts";`);
    assertStringIncludes(cart, "/** A cart. */");
    const money = await Deno.readTextFile(`${dir}/gen/shop/money_pb.ts`);
    assertStringIncludes(money, "cents: bigint;");
    assertStringIncludes(money, `longs: "bigint"`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("codegen: bad input names file:line, exits 1 and writes nothing", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/good.proto`, `syntax = "proto3"; message Ok {}`);
    const cases: [string, string, RegExp][] = [
      [
        "syntax.proto",
        `syntax = "proto3";\n\nmessage A {\n  int32 x = ;\n}\n`,
        /syntax\.proto:4: /,
      ],
      [
        "unknown.proto",
        `syntax = "proto3";\nmessage A {\n  int32 x = 1;\n  Nope y = 2;\n}\n`,
        /unknown\.proto:4: unknown type Nope/,
      ],
      [
        "import.proto",
        `syntax = "proto3";\n\nimport "missing/thing.proto";\nmessage A {}\n`,
        /import\.proto:3: import "missing\/thing\.proto" not found/,
      ],
    ];
    for (const [name, text, expected] of cases) {
      await Deno.writeTextFile(`${dir}/${name}`, text);
      const r = await run([
        "--out",
        `${dir}/out`,
        "-I",
        dir,
        `${dir}/good.proto`,
        `${dir}/${name}`,
      ]);
      assertEquals(r.code, 1, name);
      assertMatch(r.stderr, expected);
      // Not even good.proto's module: nothing is written when any input fails.
      assert(!(await exists(`${dir}/out`)), `${name}: output directory written`);
    }
    const usage = await run(["--longs", "huge", "x.proto"]);
    assertEquals(usage.code, 2);
    assertStringIncludes(usage.stderr, "--longs");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("codegen: generated code needs no file access at run time", async () => {
  // The demo serves and calls helloworld through hello_pb.ts, with network access only.
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-net=127.0.0.1", "examples/helloworld/demo.ts"],
    cwd: ROOT.pathname,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(new TextDecoder().decode(out.stdout).trim(), "Greeting: Hello world");
  assert(out.success);
});

Deno.test("parseCodegenArgs() reads flags in both spellings and rejects bad ones", () => {
  const args = parseCodegenArgs(["-Ia", "--out=o", "-I", "b", "--enums", "number", "x.proto"]);
  assertEquals(args.includeDirs, ["a", "b"]);
  assertEquals(args.out, "o");
  assertEquals(args.options.enums, "number");
  assertEquals(args.inputs, ["x.proto"]);
  assertThrows(() => parseCodegenArgs([]), UsageError, "no .proto files");
  assertThrows(() => parseCodegenArgs(["--defaults", "maybe", "x.proto"]), UsageError);
  assertThrows(() => parseCodegenArgs(["--bogus", "x.proto"]), UsageError, "unknown flag");
});

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

Deno.test("codegen: other codec options generate codecs equal to loadProto's with them", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const proto = `syntax = "proto3";
      package opts;
      enum Kind { KIND_UNSPECIFIED = 0; BIG = 1; }
      message Thing {
        int64 big_number = 1; Kind kind = 2; repeated uint64 many = 3;
        map<sint64, Kind> by_id = 4; optional string note = 5; Thing child = 6;
        oneof pick { string a_text = 7; int32 a_number = 8; }
      }
      service Things { rpc Get (Thing) returns (Thing); }`;
    await Deno.writeTextFile(`${dir}/opts.proto`, proto);
    const flags = ["--longs", "bigint", "--enums", "number", "--defaults", "false", "--keep-case"];
    const r = await run(["--out", `${dir}/gen`, "-I", dir, ...flags, `${dir}/opts.proto`]);
    assertEquals(r.code, 0, r.stderr);
    const text = await Deno.readTextFile(`${dir}/gen/opts_pb.ts`);
    assertStringIncludes(text, "big_number?: bigint;");
    assertStringIncludes(text, "export type Kind = (typeof Kind)[keyof typeof Kind];");
    const generated = await import(`file://${dir}/gen/opts_pb.ts`);
    const { loadProtoSync } = await import("@seed/grpc");
    const loaded = loadProtoSync(`${dir}/opts.proto`, {
      longs: "bigint",
      enums: "number",
      defaults: false,
      keepCase: true,
    })["opts.Things"].methods.get.requestCodec;
    const codec = generated.Things.methods.get.requestCodec;
    const sample = {
      big_number: -9007199254740993n,
      kind: "BIG",
      many: ["18446744073709551615", 1],
      by_id: { "-7": 1 },
      note: "",
      child: { a_number: 3 },
    };
    const bytes = codec.encode(sample);
    assertEquals(bytes, loaded.encode(sample));
    assertEquals(codec.decode(bytes), loaded.decode(bytes));
    assertEquals(codec.decode(bytes).big_number, -9007199254740993n);
    assertEquals(codec.decode(bytes).kind, 1);
    assertEquals(codec.decode(bytes).by_id, { "-7": 1 });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
