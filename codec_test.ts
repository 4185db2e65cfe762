import {
  assert,
  assertEquals,
  assertInstanceOf,
  assertNotStrictEquals,
  assertRejects,
  assertStrictEquals,
  assertThrows,
} from "@std/assert";
import protobuf from "protobufjs";
import type { Codec, MethodDefinition } from "./codec.ts";
import { loadProto, loadProtoSync, protobufCodec, servicesFromRoot } from "./codec.ts";

const HELLO_PATH = "examples/helloworld/hello.proto";
const HELLO_URL = new URL("./examples/helloworld/hello.proto", import.meta.url);
const ROUTE_GUIDE_URL = new URL("./examples/routeguide/route_guide.proto", import.meta.url);
const FIXTURES = new URL("./tests/fixtures/protos/", import.meta.url);
const HELLO_SOURCE = `syntax = "proto3";
package helloworld;
service Hello { rpc SayHello (HelloReq) returns (HelloRep); }
message HelloReq { string name = 1; }
message HelloRep { string message = 1; }`;

// Fields of every kind the options touch.
const KITCHEN_SOURCE = `syntax = "proto3";
package kitchen;
message Sink {
  int64 signed = 1;
  uint64 unsigned = 2;
  Color color = 3;
  bytes blob = 4;
  string snake_name = 5;
  repeated int32 list = 6;
  map<string, int32> counts = 7;
  Sink child = 8;
  oneof choice {
    string text = 9;
    int32 number = 10;
  }
  double ratio = 11;
}
enum Color { RED = 0; GREEN = 1; BLUE = 2; }`;

function sinkType(keepCase = false): protobuf.Type {
  return protobuf.parse(KITCHEN_SOURCE, { keepCase }).root.lookupType("kitchen.Sink");
}

// deno-lint-ignore no-explicit-any -- decoded test messages are checked field by field
type Obj = Record<string, any>;

function roundTrip(codec: Codec<unknown>, value: unknown): Obj {
  return codec.decode(codec.encode(value)) as Obj;
}

function summary(method: MethodDefinition) {
  return {
    name: method.name,
    localName: method.localName,
    path: method.path,
    requestStream: method.requestStream,
    responseStream: method.responseStream,
  };
}

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "codec_test_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("loadProto() loads hello.proto from a path and from a URL", async () => {
  for (const input of [HELLO_PATH, HELLO_URL]) {
    const services = await loadProto(input);
    assertEquals(Object.keys(services), ["helloworld.Hello"]);
    const hello = services["helloworld.Hello"];
    assertEquals(hello.name, "helloworld.Hello");
    assertEquals(Object.keys(hello.methods), ["sayHello"]);
    assertEquals(summary(hello.methods.sayHello), {
      name: "SayHello",
      localName: "sayHello",
      path: "/helloworld.Hello/SayHello",
      requestStream: false,
      responseStream: false,
    });
  }
});

Deno.test("loadProto() loads hello.proto from { source } like from the file", async () => {
  const fromSource = await loadProto({ source: HELLO_SOURCE });
  const fromFile = await loadProto(HELLO_PATH);
  assertEquals(
    summary(fromSource["helloworld.Hello"].methods.sayHello),
    summary(fromFile["helloworld.Hello"].methods.sayHello),
  );
  const source = fromSource["helloworld.Hello"].methods.sayHello;
  const file = fromFile["helloworld.Hello"].methods.sayHello;
  assertEquals(source.requestCodec.encode({ name: "x" }), file.requestCodec.encode({ name: "x" }));
});

Deno.test("loadProtoSync() gives the same definitions as loadProto()", async () => {
  const sync = loadProtoSync(ROUTE_GUIDE_URL);
  const async = await loadProto(ROUTE_GUIDE_URL);
  assertEquals(Object.keys(sync), Object.keys(async));
  for (const [name, method] of Object.entries(sync["routeguide.RouteGuide"].methods)) {
    assertEquals(summary(method), summary(async["routeguide.RouteGuide"].methods[name]));
  }
});

Deno.test("loadProto() gives routeguide's paths, local names and stream flags", async () => {
  const services = await loadProto(ROUTE_GUIDE_URL);
  const guide = services["routeguide.RouteGuide"];
  assertEquals(guide.name, "routeguide.RouteGuide");
  assertEquals(Object.values(guide.methods).map(summary), [
    {
      name: "GetFeature",
      localName: "getFeature",
      path: "/routeguide.RouteGuide/GetFeature",
      requestStream: false,
      responseStream: false,
    },
    {
      name: "ListFeatures",
      localName: "listFeatures",
      path: "/routeguide.RouteGuide/ListFeatures",
      requestStream: false,
      responseStream: true,
    },
    {
      name: "RecordRoute",
      localName: "recordRoute",
      path: "/routeguide.RouteGuide/RecordRoute",
      requestStream: true,
      responseStream: false,
    },
    {
      name: "RouteChat",
      localName: "routeChat",
      path: "/routeguide.RouteGuide/RouteChat",
      requestStream: true,
      responseStream: true,
    },
  ]);
  assertEquals(Object.keys(guide.methods), [
    "getFeature",
    "listFeatures",
    "recordRoute",
    "routeChat",
  ]);
  assert(Object.isFrozen(guide) && Object.isFrozen(guide.methods));
  assert(Object.isFrozen(guide.methods.getFeature));
});

Deno.test("loadProto() codecs use the request and response types of each method", async () => {
  const { getFeature, recordRoute } = (await loadProto(ROUTE_GUIDE_URL))["routeguide.RouteGuide"]
    .methods;
  const point = { latitude: 409146138, longitude: -746188906 };
  assertEquals(getFeature.requestCodec.decode(getFeature.requestCodec.encode(point)), point);
  assertEquals(
    getFeature.responseCodec.decode(
      getFeature.responseCodec.encode({ name: "x", location: point }),
    ),
    { name: "x", location: point },
  );
  // GetFeature and RecordRoute both take a Point: one cached codec.
  assertStrictEquals(getFeature.requestCodec, recordRoute.requestCodec);
  assertEquals(recordRoute.responseCodec.decode(new Uint8Array(0)), {
    pointCount: 0,
    featureCount: 0,
    distance: 0,
    elapsedTime: 0,
  });
});

Deno.test("examples/routeguide/route_guide_db.json holds Features the codec accepts", async () => {
  const db = JSON.parse(
    await Deno.readTextFile(new URL("./examples/routeguide/route_guide_db.json", import.meta.url)),
  ) as Obj[];
  assert(db.length >= 20, `only ${db.length} features`);
  const codec = (await loadProto(ROUTE_GUIDE_URL))["routeguide.RouteGuide"].methods.getFeature
    .responseCodec;
  for (const feature of db) {
    assertEquals(Object.keys(feature).sort(), ["location", "name"]);
    const { latitude, longitude } = feature.location;
    assert(Number.isInteger(latitude) && Math.abs(latitude) <= 900_000_000);
    assert(Number.isInteger(longitude) && Math.abs(longitude) <= 1_800_000_000);
    assertEquals(roundTrip(codec, feature), feature);
  }
});

Deno.test("codec encodes HelloReq { name: 'world' } to the protobuf wire bytes", async () => {
  const { sayHello } = (await loadProto(HELLO_PATH))["helloworld.Hello"].methods;
  const bytes = sayHello.requestCodec.encode({ name: "world" });
  assertInstanceOf(bytes, Uint8Array);
  assertEquals([...bytes], [0x0a, 0x05, 0x77, 0x6f, 0x72, 0x6c, 0x64]);
  assertEquals(sayHello.requestCodec.decode(bytes), { name: "world" });
  // HelloRep has the same layout: field 1, a string.
  assertEquals(sayHello.responseCodec.decode(bytes), { message: "world" });
  assertEquals([...sayHello.requestCodec.encode({})], []);
});

Deno.test("codec encodes a message instance as is", () => {
  const type = sinkType();
  const codec = protobufCodec(type);
  const message = type.fromObject({ snakeName: "x", signed: "7" });
  assertEquals(codec.encode(message), codec.encode({ snakeName: "x", signed: 7 }));
});

Deno.test("keepCase: false renames fields to lowerCamelCase; true keeps them", async () => {
  const camel = protobufCodec(sinkType(false));
  assertEquals(roundTrip(camel, { snakeName: "a" }).snakeName, "a");
  // The .proto spelling is not a known property: refused, naming the field's name...
  assertThrows(() => camel.encode({ snake_name: "a" }), TypeError, "did you mean snakeName?");
  // ...or, without verify, left out (as in grpc-js).
  const lenient = protobufCodec(sinkType(false), { verify: false });
  assertEquals(roundTrip(lenient, { snake_name: "a" }).snakeName, "");

  const kept = protobufCodec(sinkType(true));
  assertEquals(roundTrip(kept, { snake_name: "a" }).snake_name, "a");

  const summary = { point_count: 1, feature_count: 2, distance: 3, elapsed_time: 4 };
  const { recordRoute } = (await loadProto(ROUTE_GUIDE_URL, { keepCase: true }))[
    "routeguide.RouteGuide"
  ].methods;
  assertEquals(
    recordRoute.responseCodec.decode(recordRoute.responseCodec.encode(summary)),
    summary,
  );
  const camelCase = (await loadProto(ROUTE_GUIDE_URL))["routeguide.RouteGuide"].methods.recordRoute;
  assertEquals(
    camelCase.responseCodec.decode(recordRoute.responseCodec.encode(summary)),
    { pointCount: 1, featureCount: 2, distance: 3, elapsedTime: 4 },
  );
});

Deno.test("longs: int64 fields decode as string (default), number or bigint", () => {
  const type = sinkType();
  const big = { signed: "-9007199254740993", unsigned: "18446744073709551615" };
  const asString = roundTrip(protobufCodec(type), big);
  assertEquals([asString.signed, asString.unsigned], [big.signed, big.unsigned]);
  assertEquals(roundTrip(protobufCodec(type, { longs: "string" }), {}).signed, "0");

  const asNumber = roundTrip(protobufCodec(type, { longs: "number" }), {
    signed: -42,
    unsigned: 7,
  });
  assertEquals([asNumber.signed, asNumber.unsigned], [-42, 7]);
  assertEquals(roundTrip(protobufCodec(type, { longs: "number" }), {}).signed, 0);

  const bigint = protobufCodec(type, { longs: "bigint" });
  const asBigint = roundTrip(bigint, big);
  assertEquals([asBigint.signed, asBigint.unsigned], [-9007199254740993n, 18446744073709551615n]);
  assertEquals(roundTrip(bigint, {}).signed, 0n);
  // Encoding accepts every representation whatever the options.
  for (const signed of [-5, "-5", -5n]) assertEquals(roundTrip(bigint, { signed }).signed, -5n);
});

Deno.test("enums: enum fields decode as names (default) or numbers", () => {
  const type = sinkType();
  assertEquals(roundTrip(protobufCodec(type), { color: "BLUE" }).color, "BLUE");
  assertEquals(roundTrip(protobufCodec(type), { color: 1 }).color, "GREEN");
  assertEquals(roundTrip(protobufCodec(type), {}).color, "RED");
  const numbers = protobufCodec(type, { enums: "number" });
  assertEquals(roundTrip(numbers, { color: "BLUE" }).color, 2);
  assertEquals(roundTrip(numbers, {}).color, 0);
  // A number the .proto does not name survives as a number.
  assertEquals(roundTrip(protobufCodec(type), { color: 9 }).color, 9);
  // An unknown name is refused; without verify, left out (as protobufjs fromObject does).
  assertThrows(
    () => protobufCodec(type).encode({ color: "PURPLE" }),
    TypeError,
    `field color: "PURPLE" is not a value of kitchen.Color (RED, GREEN, BLUE)`,
  );
  assertEquals(roundTrip(protobufCodec(type, { verify: false }), { color: "PURPLE" }).color, "RED");
});

Deno.test("defaults: absent fields are filled in (default) or left out", () => {
  const type = sinkType();
  const filled = roundTrip(protobufCodec(type), {});
  assertEquals(filled, {
    signed: "0",
    unsigned: "0",
    color: "RED",
    blob: new Uint8Array(0),
    snakeName: "",
    list: [],
    counts: {},
    child: null,
    ratio: 0,
  });
  assertInstanceOf(filled.blob, Uint8Array);
  assertEquals(roundTrip(protobufCodec(type, { defaults: false }), {}), {});
  assertEquals(roundTrip(protobufCodec(type, { defaults: false, arrays: true }), {}), { list: [] });
  assertEquals(roundTrip(protobufCodec(type, { defaults: false, objects: true }), {}), {
    counts: {},
  });
  assertEquals(roundTrip(protobufCodec(type, { defaults: false }), { list: [1, 2] }), {
    list: [1, 2],
  });
});

Deno.test("oneofs: the oneof's name holds the set member's name (default) or is absent", () => {
  const type = sinkType();
  const on = roundTrip(protobufCodec(type, { defaults: false }), { number: 5 });
  assertEquals(on, { number: 5, choice: "number" });
  const off = roundTrip(protobufCodec(type, { defaults: false, oneofs: false }), { text: "t" });
  assertEquals(off, { text: "t" });
  // Unset oneofs get no default and no virtual property.
  const unset = roundTrip(protobufCodec(type), {});
  assert(!("choice" in unset) && !("text" in unset) && !("number" in unset));
});

Deno.test("bytes defaults are plain, including proto2 [default = ...] values", () => {
  const { root } = protobuf.parse(`syntax = "proto2";
    message Old { optional bytes raw = 1 [default = "abc"]; optional bytes none = 2; }`);
  const decoded = protobufCodec<Obj>(root.lookupType("Old")).decode(new Uint8Array(0));
  assertEquals(decoded, { raw: new TextEncoder().encode("abc"), none: new Uint8Array(0) });
  assertStrictEquals(decoded.raw.constructor, Uint8Array);
  assert(Object.isFrozen(decoded.none)); // the shared empty array cannot be changed
});

Deno.test("json: non-finite doubles decode as strings only with json: true", () => {
  const type = sinkType();
  assertEquals(roundTrip(protobufCodec(type), { ratio: NaN }).ratio, NaN);
  assertEquals(
    roundTrip(protobufCodec(type, { json: true }), { ratio: Infinity }).ratio,
    "Infinity",
  );
  assertEquals(roundTrip(protobufCodec(type, { json: true }), { ratio: "NaN" }).ratio, "NaN");
});

Deno.test("bytes fields decode as Uint8Array views of the input", () => {
  const codec = protobufCodec<Obj>(sinkType());
  const encoded = codec.encode({ blob: new Uint8Array([1, 2, 3]) });
  const input = new Uint8Array(encoded); // a plain Uint8Array, as the transport passes
  const decoded = codec.decode(input) as Obj;
  assertStrictEquals(decoded.blob.constructor, Uint8Array);
  assertInstanceOf(decoded.blob, Uint8Array);
  assertEquals([...decoded.blob], [1, 2, 3]);
  assertStrictEquals(decoded.blob.buffer, input.buffer); // zero-copy
  // Other accepted inputs: arrays of byte values, base64 text.
  assertEquals([...roundTrip(codec, { blob: [4, 5] }).blob], [4, 5]);
  assertEquals([...roundTrip(codec, { blob: "AQI=" }).blob], [1, 2]);
  // Plain Uint8Arrays, never Buffers: from a Buffer input (encode's output), for empty bytes on
  // the wire and for defaults.
  assertStrictEquals(codec.decode(encoded).blob.constructor, Uint8Array);
  assertStrictEquals(roundTrip(codec, { blob: new Uint8Array(0) }).blob.constructor, Uint8Array);
  assertStrictEquals(codec.decode(new Uint8Array(0)).blob.constructor, Uint8Array);
  assertEquals(roundTrip(codec, {}).blob, new Uint8Array(0));
  const nested = roundTrip(codec, { child: { blob: [7] } }).child.blob;
  assertStrictEquals(nested.constructor, Uint8Array);
  assertEquals(nested, new Uint8Array([7]));
  // protobufjs itself is left as it was, also after a decode error.
  const newBuffer = protobuf.util.newBuffer;
  assertThrows(() => codec.decode(new Uint8Array([0x22, 0x05])), TypeError);
  assertStrictEquals(protobuf.util.newBuffer, newBuffer);
  assertStrictEquals(protobuf.util.Buffer, Buffer);
  const type = sinkType();
  assertInstanceOf(type.toObject(type.decode(new Uint8Array(0)), { defaults: true }).blob, Buffer);
  // The options never turn bytes into strings or arrays.
  for (const options of [{ json: true }, { defaults: false }]) {
    assertInstanceOf(protobufCodec<Obj>(sinkType(), options).decode(input).blob, Uint8Array);
  }
});

Deno.test("codec.encode() throws TypeError for a wrong-typed message or repeated field", () => {
  const checked = protobufCodec(sinkType());
  assertThrows(
    () => checked.encode({ child: 5 }),
    TypeError,
    "Cannot encode kitchen.Sink: field child: expected an object (kitchen.Sink), got number 5",
  );
  // Without verify, protobufjs's own errors (with the field, for these).
  const codec = protobufCodec(sinkType(), { verify: false });
  assertThrows(
    () => codec.encode({ child: 5 }),
    TypeError,
    "Cannot encode kitchen.Sink: kitchen.Sink.child: object expected",
  );
  assertThrows(() => codec.encode({ list: 5 }), TypeError, "kitchen.Sink.list: array expected");
  assertThrows(() => codec.encode({ counts: "x" }), TypeError, "kitchen.Sink.counts: object");
  assertThrows(() => codec.encode({ child: { child: "x" } }), TypeError, "object expected");
  assertThrows(() => codec.encode(null), TypeError, "Cannot encode kitchen.Sink");
  assertThrows(() => codec.encode("text"), TypeError, "Cannot encode kitchen.Sink");
  const error = assertThrows(() => codec.encode({ child: 5 }), TypeError);
  assertInstanceOf(error.cause, Error);
});

Deno.test("codec.encode() with verify: false coerces wrong-typed scalars as protobufjs fromObject does", () => {
  // Pinned: this leniency is grpc-js's (proto-loader serializes with fromObject too), here only
  // with verify: false (codec/verify_test.ts has what verify refuses).
  const codec = protobufCodec(sinkType(), { defaults: false, verify: false });
  assertEquals(roundTrip(codec, { snakeName: 5 }), { snakeName: "5" });
  assertEquals(roundTrip(codec, { snakeName: true }), { snakeName: "true" });
  assertEquals(roundTrip(codec, { list: [1, "2", "x"] }), { list: [1, 2, 0] });
  assertEquals(roundTrip(codec, { ratio: "1.5" }), { ratio: 1.5 });
  // Parses as 0. A field set to its default is still sent, so it decodes as present.
  assertEquals(roundTrip(codec, { signed: "abc" }), { signed: "0" });
  assertEquals([...codec.encode({ snakeName: "" })], [0x2a, 0x00]);
  assertEquals(roundTrip(codec, { blob: 5 }), {}); // neither bytes, array nor base64: left out
  assertEquals(roundTrip(codec, { unknownField: 1 }), {});
});

Deno.test("codec.decode() throws TypeError for bytes that are not a message", () => {
  const codec = protobufCodec(sinkType());
  assertThrows(
    () => codec.decode(new Uint8Array([0x22, 0x05, 0x01])), // blob: 5 bytes promised, 1 given
    TypeError,
    "Cannot decode kitchen.Sink: index out of range",
  );
  assertThrows(() => codec.decode(new Uint8Array([0x0f])), TypeError, "Cannot decode kitchen.Sink");
  assertThrows(
    () => codec.decode([0x0a] as unknown as Uint8Array),
    TypeError,
    "Cannot decode kitchen.Sink: bytes is object, expected Uint8Array",
  );
  // Any Uint8Array works, including a view with an offset.
  const padded = new Uint8Array([0xff, 0x10, 0x07, 0xff]);
  assertEquals(codec.decode(padded.subarray(1, 3)), roundTrip(codec, { unsigned: 7 }));
});

Deno.test("protobufCodec() caches one codec per type and options", () => {
  const type = sinkType();
  assertStrictEquals(protobufCodec(type), protobufCodec(type));
  assertStrictEquals(
    protobufCodec(type),
    protobufCodec(type, { longs: "string", enums: "string" }),
  );
  assertNotStrictEquals(protobufCodec(type), protobufCodec(type, { longs: "number" }));
  assertNotStrictEquals(protobufCodec(type), protobufCodec(sinkType()));
});

Deno.test("protobufCodec() rejects bad options", () => {
  const type = sinkType();
  assertThrows(
    // @ts-expect-error: not an allowed value
    () => protobufCodec(type, { longs: "Long" }),
    RangeError,
    'Cannot use longs option: value is "Long"',
  );
  // @ts-expect-error: not an allowed value
  assertThrows(() => protobufCodec(type, { enums: String }), RangeError, "enums");
  // @ts-expect-error: not a boolean
  assertThrows(() => protobufCodec(type, { defaults: "yes" }), TypeError, "defaults");
});

Deno.test("loadProto() resolves imports through includeDirs", async () => {
  const shop = new URL("shop/shop.proto", FIXTURES);
  for (const includeDirs of [["tests/fixtures/protos"], [FIXTURES]]) {
    const services = await loadProto(shop, { includeDirs });
    const { charge } = services["shop.Till"].methods;
    assertEquals(charge.path, "/shop.Till/Charge");
    const amount = { currencyCode: "EUR", units: "1250" };
    assertEquals(charge.requestCodec.decode(charge.requestCodec.encode({ amount })), { amount });
    const receipt = { amount, at: { seconds: "1700000000", nanos: 5 } };
    assertEquals(charge.responseCodec.decode(charge.responseCodec.encode(receipt)), receipt);
  }
  assertEquals(Object.keys(loadProtoSync(shop, { includeDirs: [FIXTURES] })), ["shop.Till"]);
});

Deno.test("loadProto() reports an import it cannot find, with the places it looked", async () => {
  const shop = new URL("shop/shop.proto", FIXTURES);
  const error = await assertRejects(() => loadProto(shop), Deno.errors.NotFound);
  assert(error.message.includes('Cannot find "common/money.proto" imported by'), error.message);
  assert(error.message.includes("shop.proto"), error.message);
  assert(error.message.includes("shop/common/money.proto"), error.message);
  assertThrows(
    () => loadProtoSync({ source: 'syntax = "proto3"; import "nowhere.proto";', name: "x.proto" }),
    Deno.errors.NotFound,
    'Cannot find "nowhere.proto" imported by x.proto: looked in no directories',
  );
});

Deno.test("loadProto() resolves imports beside the importing file, includeDirs first", async () => {
  await withTempDir(async (dir) => {
    await Deno.mkdir(`${dir}/a`);
    await Deno.mkdir(`${dir}/inc`);
    await Deno.writeTextFile(
      `${dir}/a/main.proto`,
      `syntax = "proto3"; import "dep.proto"; service S { rpc M (Dep) returns (Dep); }`,
    );
    await Deno.writeTextFile(
      `${dir}/a/dep.proto`,
      `syntax = "proto3"; message Dep { int32 a = 1; }`,
    );
    await Deno.writeTextFile(
      `${dir}/inc/dep.proto`,
      `syntax = "proto3"; message Dep { string b = 1; }`,
    );
    const beside = (await loadProto(`${dir}/a/main.proto`))["S"].methods.m;
    assertEquals(beside.requestCodec.decode(new Uint8Array(0)), { a: 0 });
    const included = (await loadProto(`${dir}/a/main.proto`, { includeDirs: [`${dir}/inc`] }))["S"]
      .methods.m;
    assertEquals(included.requestCodec.decode(new Uint8Array(0)), { b: "" });
  });
});

Deno.test("loadProto() loads each file once, even through import cycles", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(
      `${dir}/a.proto`,
      `syntax = "proto3"; package p; import "b.proto"; import "c.proto";
       service S { rpc M (B) returns (C); } message A { B b = 1; }`,
    );
    await Deno.writeTextFile(
      `${dir}/b.proto`,
      `syntax = "proto3"; package p; import "a.proto"; import "c.proto"; message B { A a = 1; C c = 2; }`,
    );
    await Deno.writeTextFile(`${dir}/c.proto`, `syntax = "proto3"; package p; message C {}`);
    const { m } = (await loadProto(`${dir}/a.proto`))["p.S"].methods;
    assertEquals(m.requestCodec.decode(m.requestCodec.encode({ c: {} })), { a: null, c: {} });
  });
});

Deno.test("loadProto() provides Google's well-known types, descriptor.proto included", async () => {
  const services = await loadProto({
    source: `syntax = "proto3";
      package wkt;
      import "google/protobuf/empty.proto";
      import "google/protobuf/wrappers.proto";
      import "google/protobuf/struct.proto";
      import "google/protobuf/duration.proto";
      import "google/protobuf/field_mask.proto";
      import "google/protobuf/any.proto";
      import "google/protobuf/descriptor.proto";
      extend google.protobuf.MethodOptions { string tag = 50001; }
      service W {
        rpc Ping (google.protobuf.Empty) returns (google.protobuf.Empty) { option (tag) = "x"; }
        rpc Wrap (google.protobuf.StringValue) returns (google.protobuf.Duration);
      }`,
  });
  const { ping, wrap } = services["wkt.W"].methods;
  assertEquals([...ping.requestCodec.encode({})], []);
  assertEquals(wrap.requestCodec.decode(wrap.requestCodec.encode({ value: "v" })), { value: "v" });
  assertEquals(wrap.responseCodec.decode(new Uint8Array(0)), { seconds: "0", nanos: 0 });
});

Deno.test("loadProto() reports malformed .proto text with the file and line", async () => {
  const error = await assertRejects(
    () =>
      loadProto({
        source: 'syntax = "proto3";\nmessage M {\n  string name = ;\n}\n',
        name: "broken.proto",
      }),
    SyntaxError,
  );
  assertEquals(error.message, "Cannot parse broken.proto: illegal id ';' (line 3)");
  assertInstanceOf(error.cause, Error);

  assertThrows(
    () => loadProtoSync({ source: 'syntax = "proto3";\nmessage M { string s = "1; }' }),
    SyntaxError,
    "Cannot parse <source>: illegal",
  );
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/ok.proto`, `syntax = "proto3"; import "bad.proto";`);
    await Deno.writeTextFile(`${dir}/bad.proto`, `syntax = "proto3";\n\nservice {`);
    const error = await assertRejects(() => loadProto(`${dir}/ok.proto`), SyntaxError);
    assert(error.message.startsWith(`Cannot parse ${dir}/bad.proto: `), error.message);
    assert(error.message.endsWith("(line 3)"), error.message);
  });
});

Deno.test("loadProto() reports undefined types with the file that uses them", async () => {
  await assertRejects(
    () =>
      loadProto({
        source: `syntax = "proto3"; package p; message M { Missing m = 1; }`,
        name: "fields.proto",
      }),
    SyntaxError,
    "Cannot resolve proto types: fields.proto: no such Type or Enum 'Missing' in Type .p.M",
  );
  await assertRejects(
    () =>
      loadProto({
        source: `syntax = "proto3"; package p; service S { rpc M (Nope) returns (Nope); }`,
        name: "rpcs.proto",
      }),
    SyntaxError,
    "Cannot resolve proto types: rpcs.proto: rpc p.S.M uses undefined type Nope",
  );
});

Deno.test("loadProto() rejects a missing file and bad inputs", async () => {
  await assertRejects(
    () => loadProto("tests/fixtures/protos/absent.proto"),
    Deno.errors.NotFound,
    "Cannot load proto: no file at",
  );
  assertThrows(() => loadProtoSync("tests/fixtures/protos/absent.proto"), Deno.errors.NotFound);
  await assertRejects(
    () => loadProto(new URL("https://example.com/hello.proto")),
    TypeError,
    "must be a file: URL",
  );
  await assertRejects(
    () => loadProto(HELLO_PATH, { includeDirs: "dir" as unknown as string[] }),
    TypeError,
    "includeDirs",
  );
  // @ts-expect-error: no source
  await assertRejects(() => loadProto({ name: "x" }), TypeError, "input.source");
  // @ts-expect-error: not a boolean
  await assertRejects(() => loadProto(HELLO_PATH, { keepCase: 1 }), TypeError, "keepCase");
});

Deno.test("servicesFromRoot() finds services in every package, nested or not", () => {
  const { root } = protobuf.parse(`syntax = "proto3";
    service Top { rpc Get (a.b.Req) returns (a.b.Req); }
    message Wrapper { message Inner {} }`);
  protobuf.parse(
    `syntax = "proto3"; package a.b; service Deep { rpc Get (Req) returns (stream Req); }
     message Req {}`,
    root,
  );
  protobuf.parse(`syntax = "proto3"; package a; service Mid {}`, root);
  const services = servicesFromRoot(root);
  assertEquals(Object.keys(services).sort(), ["Top", "a.Mid", "a.b.Deep"]);
  assertEquals(services["Top"].methods.get.path, "/Top/Get");
  assertEquals(services["a.b.Deep"].methods.get.path, "/a.b.Deep/Get");
  assertEquals(services["a.b.Deep"].methods.get.responseStream, true);
  assertEquals(services["a.Mid"].methods, {});
});

Deno.test("servicesFromRoot() lower-cases only the first letter of method names", () => {
  const { root } = protobuf.parse(`syntax = "proto3";
    service S {
      rpc URLFetch (E) returns (E);
      rpc already_snake (E) returns (E);
      rpc X (E) returns (E);
    }
    message E {}`);
  assertEquals(Object.keys(servicesFromRoot(root)["S"].methods), [
    "uRLFetch",
    "already_snake",
    "x",
  ]);
});

Deno.test("servicesFromRoot() rejects methods whose local names collide", () => {
  const { root } = protobuf.parse(`syntax = "proto3";
    service S { rpc Get (E) returns (E); rpc get (E) returns (E); }
    message E {}`);
  assertThrows(
    () => servicesFromRoot(root),
    TypeError,
    "Cannot define service S: methods Get and get have the same local name get",
  );
});

Deno.test("servicesFromRoot() passes codec options to every codec", () => {
  const root = protobuf.parse(KITCHEN_SOURCE).root;
  protobuf.parse(
    `syntax = "proto3"; package kitchen; service K { rpc M (Sink) returns (Sink); }`,
    root,
  );
  const { m } = servicesFromRoot(root, { longs: "bigint", enums: "number", defaults: false })[
    "kitchen.K"
  ].methods;
  assertEquals(m.responseCodec.decode(m.requestCodec.encode({ signed: 3, color: "GREEN" })), {
    signed: 3n,
    color: 1,
  });
});

Deno.test("servicesFromRoot() and protobufCodec() refuse objects that are not protobufjs's", () => {
  const fake = { nestedArray: [], resolveAll() {}, fullName: ".Fake", fieldsArray: [] };
  assertThrows(() => servicesFromRoot(fake), TypeError, "root is not a Root of this module's");
  assertThrows(() => protobufCodec(fake), TypeError, "type is not a message Type of this module's");
});

Deno.test("codec: 64-bit map keys decode as decimal strings and round-trip", () => {
  const services = loadProtoSync({
    source: `syntax = "proto3";
      message M {
        map<uint64, int32> u = 1; map<int64, int32> s = 2; map<fixed64, int32> f = 3;
        map<sfixed64, int32> sf = 4; map<sint64, int32> z = 5; map<string, M> nested = 6;
        repeated M list = 7;
      }
      service S { rpc Do (M) returns (M); }`,
  });
  const codec = services.S.methods.do.requestCodec;
  const message = {
    u: { "123": 7, "12345678": 2, "18446744073709551615": 1, "0": 4 },
    s: { "-5": 2, "-9223372036854775808": 1, "9223372036854775807": 3 },
    f: { "9": 3 },
    sf: { "-1": 1 },
    z: { "-3": 3 },
    nested: { a: { u: { "5": 5 }, s: {}, f: {}, sf: {}, z: {}, nested: {}, list: [] } },
    list: [{ u: {}, s: {}, f: {}, sf: {}, z: { "77": 1 }, nested: {}, list: [] }],
  };
  const bytes = codec.encode(message);
  const decoded = codec.decode(bytes);
  assertEquals(decoded, message);
  assertEquals(codec.encode(decoded), bytes);
});
