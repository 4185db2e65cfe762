import { assertEquals, assertThrows } from "@std/assert";
import { defineProtoFile, loadProtoSync } from "../codec.ts";
import { buildFileDescriptors } from "../protodesc/build.ts";
import { encodeFileDescriptorProto } from "../protodesc/descriptor_proto.ts";

function base64(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes));
}

// A file as generated code would embed it.
function define(name: string, source: string) {
  const [fd] = buildFileDescriptors([
    { name, source, dependencies: [], publicDependencies: [], weakDependencies: [] },
  ]);
  return defineProtoFile(base64(encodeFileDescriptorProto(fd)), []);
}

Deno.test("defineProtoFile: proto2 (defaults, required, unpacked, groups aside) as loadProto", () => {
  const source = `syntax = "proto2";
    package two;
    enum E { A = 1; B = 2; }
    message M {
      required int32 id = 1;
      optional string name = 2 [default = "none"];
      optional E e = 3 [default = B];
      optional double d = 4 [default = -inf];
      optional int64 big = 5 [default = -9007199254740993];
      repeated int32 plain = 6;
      repeated int32 packed = 7 [packed = true];
      optional bool flag = 8 [default = true];
      map<string, M> children = 9;
      oneof o { string s = 10; int32 i = 11; }
    }
    service S { rpc Do (M) returns (M); }`;
  const file = define("two.proto", source);
  const generated = file.service<ReturnType<typeof loadProtoSync>[string]>("two.S").methods.do
    .requestCodec;
  const loaded = loadProtoSync({ source, name: "two.proto" })["two.S"].methods.do.requestCodec;
  for (
    const sample of [
      { id: 1 },
      { id: 2, name: "x", e: "A", d: 1.5, big: "5", plain: [1, 2], packed: [3, 4], flag: false },
      { id: 3, children: { a: { id: 4, s: "t" } }, i: 7 },
    ]
  ) {
    const bytes = generated.encode(sample);
    assertEquals(bytes, loaded.encode(sample));
    assertEquals(generated.decode(bytes), loaded.decode(bytes));
  }
  assertEquals(file.name, "two.proto");
  assertThrows(() => file.service("two.Nope"), TypeError, "two.Nope");
  assertThrows(() => file.codec("two.Nope"), TypeError, "two.Nope");
});

Deno.test("defineProtoFile: proto3 names cased as the parser cases them, or kept", () => {
  const source = `syntax = "proto3";
    message Snake { int32 point_count = 1; optional string last_name = 2;
      oneof the_choice { string a_b = 3; } }
    service S { rpc Do (Snake) returns (Snake); }`;
  const [fd] = buildFileDescriptors([
    { name: "s.proto", source, dependencies: [], publicDependencies: [], weakDependencies: [] },
  ]);
  const encoded = base64(encodeFileDescriptorProto(fd));
  for (const keepCase of [false, true]) {
    const file = defineProtoFile(encoded, [], { keepCase });
    const generated = file.codec("Snake");
    const loaded = loadProtoSync({ source }, { keepCase }).S.methods.do.requestCodec;
    const sample = keepCase
      ? { point_count: 3, last_name: "", a_b: "x" }
      : { pointCount: 3, lastName: "", aB: "x" };
    const bytes = generated.encode(sample);
    assertEquals(bytes, loaded.encode(sample));
    assertEquals(generated.decode(bytes), loaded.decode(bytes));
  }
});
