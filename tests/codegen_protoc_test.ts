// The generated kitchen sink against protoc (Debian protobuf-compiler) as the oracle: our bytes
// decode with `protoc --decode` to the values we meant, and `protoc --encode` of that text gives
// our bytes back, byte for byte. Map entries have no order in protobuf (protoc sorts them by key,
// we write them in object order), so the byte-for-byte check uses one entry per map and the
// full sample is compared by value. `deno task test:peers`.

import { assertEquals, assertStringIncludes } from "@std/assert";
import { KitchenEcho, type KitchenSinkInit } from "./codegen/gen/kitchen_sink_pb.ts";
import { SAMPLE } from "./codegen/_sample.ts";

const DIR = new URL("./codegen/", import.meta.url).pathname;
const codec = KitchenEcho.methods.echo.requestCodec;

async function protoc(mode: "--encode" | "--decode", input: Uint8Array): Promise<Uint8Array> {
  const child = new Deno.Command("protoc", {
    args: [`${mode}=kitchen.v1.KitchenSink`, "-I", DIR, "kitchen_sink.proto"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(input);
  await writer.close();
  const out = await child.output();
  if (!out.success) throw new Error(`protoc ${mode}: ${new TextDecoder().decode(out.stderr)}`);
  return out.stdout;
}

// SAMPLE with each map cut to its first entry.
function oneEntryPerMap(sample: KitchenSinkInit): KitchenSinkInit {
  const maps: Record<string, unknown> = {};
  for (const [name, map] of Object.entries(sample.maps ?? {})) {
    const [first] = Object.entries(map as Record<string, unknown>);
    maps[name] = Object.fromEntries([first]);
  }
  const struct = { fields: { n: { numberValue: 1.25 } } };
  return { ...sample, maps, struct };
}

Deno.test("kitchen sink: protoc decodes our bytes and encodes them back byte for byte", async () => {
  const ours = new Uint8Array(codec.encode(oneEntryPerMap(SAMPLE)));
  const text = await protoc("--decode", ours);
  assertEquals(await protoc("--encode", text), ours);
});

Deno.test("kitchen sink: protoc reads the values we meant, and we read protoc's bytes", async () => {
  const ours = codec.encode(SAMPLE);
  const text = new TextDecoder().decode(await protoc("--decode", ours));
  for (
    const line of [
      "f_double: nan",
      "f_float: inf",
      "f_int64: -9223372036854775808",
      "f_uint64: 18446744073709551615",
      "f_sfixed64: 9223372036854775807",
      // "😀 𝄞 𠜎 — ünïcödé" in UTF-8, as protoc escapes it
      String.raw`f_string: "\360\237\230\200 \360\235\204\236 \360\240\234\216 \342\200\224`,
      "r_double: -inf",
      "r_double: -0",
      "key: 18446744073709551615",
      "choice_number: -9223372036854775808",
      "opt_int32: 0",
      'opt_string: ""',
      "color: BLUE",
      "seconds: 253402300799",
      'paths: "scalars.f_int32"',
    ]
  ) assertStringIncludes(text, line);
  const theirs = await protoc("--encode", new TextEncoder().encode(text));
  assertEquals(codec.decode(theirs), codec.decode(ours));
});
