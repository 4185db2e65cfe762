import { assert, assertEquals, assertStrictEquals, assertThrows } from "@std/assert";
import { Metadata } from "./metadata.ts";

Deno.test("Metadata() starts empty", () => {
  const md = new Metadata();
  assertEquals(md.size, 0);
  assertEquals([...md], []);
  assertEquals(md.get("a"), undefined);
  assertEquals(md.getAll("a"), []);
  assert(!md.has("a"));
});

Deno.test("Metadata() takes a record with single and array values", () => {
  const bin = new Uint8Array([1, 2]);
  const md = new Metadata({ "X-A": "1", b: ["2", "3"], "c-bin": bin });
  assertEquals([...md], [["x-a", "1"], ["b", "2"], ["b", "3"], ["c-bin", bin]]);
});

Deno.test("Metadata() takes pairs and another Metadata", () => {
  const md = new Metadata([["a", "1"], ["b", "2"], ["a", "3"]]);
  assertEquals([...md], [["a", "1"], ["b", "2"], ["a", "3"]]);
  const copy = new Metadata(md);
  md.set("a", "x");
  assertEquals([...copy], [["a", "1"], ["b", "2"], ["a", "3"]]);
  assertEquals([...new Metadata(new Map([["k", "v"]]))], [["k", "v"]]);
});

Deno.test("Metadata() validates its init", () => {
  assertThrows(() => new Metadata({ "bad key": "v" }), TypeError, 'invalid key "bad key"');
  assertThrows(() => new Metadata([["grpc-status", "0"]]), TypeError, "reserved");
});

Deno.test("Metadata.get() lower-cases the key and returns the first value", () => {
  const md = new Metadata([["a", "1"], ["a", "2"]]);
  assertEquals(md.get("A"), "1");
  assertEquals(md.getAll("A"), ["1", "2"]);
  assert(md.has("A"));
});

Deno.test("Metadata.set() replaces in place and drops duplicates", () => {
  const md = new Metadata([["a", "1"], ["b", "2"], ["a", "3"], ["c", "4"]]);
  assertStrictEquals(md.set("A", "9"), md);
  assertEquals([...md], [["a", "9"], ["b", "2"], ["c", "4"]]);
  md.set("d", "5");
  assertEquals([...md], [["a", "9"], ["b", "2"], ["c", "4"], ["d", "5"]]);
});

Deno.test("Metadata.append() adds pairs at the end", () => {
  const md = new Metadata();
  assertStrictEquals(md.append("a", "1"), md);
  md.append("b", "2").append("a", "3");
  assertEquals([...md], [["a", "1"], ["b", "2"], ["a", "3"]]);
  assertEquals(md.size, 3);
});

Deno.test("Metadata.set() rejects invalid keys", () => {
  const md = new Metadata();
  assertThrows(
    () => md.set("Foo Bar", "x"),
    TypeError,
    'Cannot set metadata: invalid key "Foo Bar"',
  );
  for (const key of ["", ":path", "a/b", "a:b", "ключ", "a\0", "tab\t"]) {
    assertThrows(() => md.set(key, "x"), TypeError, "invalid key", key);
    assertThrows(() => md.append(key, "x"), TypeError, "invalid key", key);
  }
  assertThrows(() => md.set(42 as unknown as string, "x"), TypeError, "must be a string");
  // Allowed characters.
  md.set("0-9_a.z", "ok");
  assertEquals(md.get("0-9_a.z"), "ok");
});

Deno.test("Metadata.set() rejects reserved keys", () => {
  const md = new Metadata();
  for (
    const key of [
      "grpc-status",
      "grpc-message",
      "grpc-timeout",
      "grpc-custom",
      "GRPC-Encoding",
      "content-type",
      "te",
      "connection",
      "host",
      "transfer-encoding",
      "upgrade",
      "keep-alive",
      "proxy-connection",
    ]
  ) {
    assertThrows(() => md.set(key, "x"), TypeError, "is reserved", key);
    assertThrows(() => md.append(key, "x"), TypeError, "is reserved", key);
  }
  // user-agent is metadata, as in grpc-go; so is a server's retry pushback (gRFC A6).
  md.set("user-agent", "my-app/1.0");
  assertEquals(md.get("user-agent"), "my-app/1.0");
  md.set("grpc-retry-pushback-ms", "100");
  assertEquals(md.size, 2);
});

Deno.test("Metadata.set() rejects values that do not suit the key", () => {
  const md = new Metadata();
  assertThrows(() => md.set("a-bin", "text" as never), TypeError, "must be a Uint8Array");
  assertThrows(() => md.set("a", new Uint8Array(1) as never), TypeError, "must be a string");
  assertThrows(() => md.set("a", 42 as never), TypeError, "must be a string");
  for (const value of ["tab\there", "new\nline", "caf\u00e9", "\x7f", "☺"]) {
    assertThrows(() => md.set("a", value), TypeError, "not printable ASCII", value);
  }
  // No trimming, and empty values are allowed.
  md.set("a", " padded ").append("b", "");
  assertEquals([...md], [["a", " padded "], ["b", ""]]);
  // Binary keys take any bytes, Buffer included.
  md.set("c-BIN", new Uint8Array([0, 255]));
  assertEquals(md.get("c-bin"), new Uint8Array([0, 255]));
});

Deno.test("Metadata.delete() removes every value", () => {
  const md = new Metadata([["a", "1"], ["b", "2"], ["a", "3"]]);
  assert(md.delete("A"));
  assert(!md.delete("a"));
  assertEquals([...md], [["b", "2"]]);
});

Deno.test("Metadata.keys() yields distinct keys in first-insertion order", () => {
  const md = new Metadata([["b", "1"], ["a", "2"], ["b", "3"], ["c", "4"]]);
  assertEquals([...md.keys()], ["b", "a", "c"]);
});

Deno.test("Metadata.clone() copies the pairs", () => {
  const a = new Metadata({ x: "1" });
  const b = a.clone();
  b.append("x", "2");
  assertEquals(a.getAll("x"), ["1"]);
  assertEquals(b.getAll("x"), ["1", "2"]);
});

Deno.test("Metadata.merge() appends the other's pairs", () => {
  const a = new Metadata({ x: "1" });
  assertStrictEquals(a.merge(new Metadata({ x: "2", y: "3" })), a);
  assertEquals([...a], [["x", "1"], ["x", "2"], ["y", "3"]]);
  a.merge(a);
  assertEquals(a.size, 6);
  // A plain object or pairs, as the constructor takes them.
  a.merge({ z: ["4", "5"] }).merge([["w", "6"]]);
  assertEquals(a.getAll("z"), ["4", "5"]);
  assertEquals(a.get("w"), "6");
});

Deno.test("Metadata.appendTo() writes flat pairs with unpadded base64", () => {
  const flat = ["x", "y"];
  new Metadata([
    ["a", "1"],
    ["b-bin", new Uint8Array([0xfb, 0xff])],
    ["c-bin", new Uint8Array([1, 2, 3])],
    ["d-bin", new Uint8Array(0)],
    ["a", "2"],
  ]).appendTo(flat);
  assertEquals(flat, ["x", "y", "a", "1", "b-bin", "+/8", "c-bin", "AQID", "d-bin", "", "a", "2"]);
});

Deno.test("Metadata.fromHeaders() skips pseudo and transport headers", () => {
  const md = Metadata.fromHeaders([
    [":method", "POST"],
    [":path", "/a.B/C"],
    [":authority", "localhost"],
    ["content-type", "application/grpc"],
    ["te", "trailers"],
    ["grpc-timeout", "1S"],
    ["grpc-encoding", "gzip"],
    ["grpc-accept-encoding", "gzip"],
    ["grpc-status", "0"],
    ["grpc-message", "x"],
    ["grpc-status-details-bin", "CAU"],
    ["grpc-message-type", "t"],
    ["connection", "close"],
    ["user-agent", "grpc-go/1.0"],
    ["x-a", "1"],
    ["grpc-previous-rpc-attempts", "1"],
  ].flat());
  assertEquals([...md], [
    ["user-agent", "grpc-go/1.0"],
    ["x-a", "1"],
    ["grpc-previous-rpc-attempts", "1"],
  ]);
});

Deno.test("Metadata.fromHeaders() reads a range of the list", () => {
  const flat = ["a", "1", "b", "2", "c", "3"];
  assertEquals([...Metadata.fromHeaders(flat, 2, 4)], [["b", "2"]]);
  assertEquals([...Metadata.fromHeaders(flat, 2)], [["b", "2"], ["c", "3"]]);
  assertEquals(Metadata.fromHeaders(flat, 6).size, 0);
  // An odd end never reads past it.
  assertEquals([...Metadata.fromHeaders(flat, 0, 3)], [["a", "1"]]);
});

Deno.test("Metadata.fromHeaders() decodes padded, unpadded and URL-safe base64", () => {
  const values = ["AQID", "+/8", "+/8=", "-_8", "-_8=", "", "AQ=="];
  const md = Metadata.fromHeaders(values.flatMap((v) => ["a-bin", v]));
  assertEquals(md.getAll("a-bin"), [
    new Uint8Array([1, 2, 3]),
    new Uint8Array([0xfb, 0xff]),
    new Uint8Array([0xfb, 0xff]),
    new Uint8Array([0xfb, 0xff]),
    new Uint8Array([0xfb, 0xff]),
    new Uint8Array(0),
    new Uint8Array([1]),
  ]);
});

Deno.test("Metadata.fromHeaders() splits joined binary values on commas", () => {
  const md = Metadata.fromHeaders(["a-bin", "AQ,Ag==, Aw", "b", "x,y"]);
  assertEquals(md.getAll("a-bin"), [
    new Uint8Array([1]),
    new Uint8Array([2]),
    new Uint8Array([3]),
  ]);
  assertEquals(md.get("b"), "x,y"); // ASCII values are never split
});

Deno.test("Metadata.fromHeaders() drops malformed base64 without throwing", () => {
  const bad = ["!!", "A", "AQ=", "+/-_", "AQ=Q", "AQ,!", "A\u00e9"];
  const md = Metadata.fromHeaders([...bad.flatMap((v) => ["a-bin", v]), "ok", "1"]);
  assertEquals([...md], [["a-bin", new Uint8Array([1])], ["ok", "1"]]);
});

Deno.test("Metadata.fromHeaders() keeps invalid values but appendTo() leaves them out", () => {
  const md = Metadata.fromHeaders([
    ["a", "caf\xc3\xa9"],
    ["b", "ok"],
    ["grpc-trace-bin", "AQ"],
    ["grpc-custom", "z"],
    ["Upper", "u"],
    ["c-bin", "Ag"],
  ].flat());
  assertEquals(md.get("a"), "caf\xc3\xa9");
  assertEquals(md.get("grpc-trace-bin"), new Uint8Array([1]));
  assertEquals(md.get("grpc-custom"), "z");
  assertEquals(md.size, 6);
  const flat: string[] = [];
  md.appendTo(flat);
  assertEquals(flat, ["b", "ok", "c-bin", "Ag"]);
  // The filter survives clone(), merge() and copying.
  const flat2: string[] = [];
  new Metadata({ x: "1" }).merge(md.clone()).appendTo(flat2);
  assertEquals(flat2, ["x", "1", "b", "ok", "c-bin", "Ag"]);
  const flat3: string[] = [];
  new Metadata(md).appendTo(flat3);
  assertEquals(flat3, ["b", "ok", "c-bin", "Ag"]);
});

Deno.test("Metadata round-trips through appendTo() and fromHeaders()", () => {
  const bytes = new Uint8Array(256).map((_, i) => i);
  const md = new Metadata([
    ["a", "1"],
    ["b-bin", bytes],
    ["a", "2"],
    ["user-agent", "x/1"],
    ["c-bin", new Uint8Array([0xff])],
  ]);
  const flat: string[] = [];
  md.appendTo(flat);
  assertEquals([...Metadata.fromHeaders(flat)], [...md]);
});
