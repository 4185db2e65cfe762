import { codeFromHttpStatus } from "./internal/http_status.ts";
import { assert, assertEquals, assertStrictEquals, assertThrows } from "@std/assert";
import {
  Code,
  codeName,
  decodeGrpcMessage,
  decodeStatusDetails,
  encodeGrpcMessage,
  encodeStatusDetails,
  type StatusDetail,
  StatusError,
} from "./status.ts";
import { Metadata } from "./metadata.ts";

// The interop test "special_status_message".
const SPECIAL_MESSAGE = "\t\ntest with whitespace\r\nand Unicode BMP ☺ and non-BMP 😈\t\n";

Deno.test("Code has grpc-go's values", () => {
  assertEquals(Code.OK, 0);
  assertEquals(Code.Canceled, 1);
  assertEquals(Code.DeadlineExceeded, 4);
  assertEquals(Code.NotFound, 5);
  assertEquals(Code.Unimplemented, 12);
  assertEquals(Code.Unavailable, 14);
  assertEquals(Code.Unauthenticated, 16);
  assertEquals(Object.keys(Code).length, 17);
});

Deno.test("codeName() gives canonical names", () => {
  assertEquals(codeName(Code.OK), "OK");
  assertEquals(codeName(Code.Canceled), "CANCELLED");
  assertEquals(codeName(Code.NotFound), "NOT_FOUND");
  assertEquals(codeName(Code.DataLoss), "DATA_LOSS");
  assertEquals(codeName(Code.Unauthenticated), "UNAUTHENTICATED");
});

Deno.test("codeName() formats unknown codes", () => {
  assertEquals(codeName(42), "CODE(42)");
  assertEquals(codeName(-1), "CODE(-1)");
  assertEquals(codeName(1.5), "CODE(1.5)");
  assertEquals(codeName(17), "CODE(17)");
});

Deno.test("StatusError has code, rawMessage and a prefixed message", () => {
  const err = new StatusError(Code.NotFound, "Cannot find feature");
  assert(err instanceof Error);
  assertEquals(err.name, "StatusError");
  assertEquals(err.code, Code.NotFound);
  assertEquals(err.rawMessage, "Cannot find feature");
  assertEquals(err.message, "[NOT_FOUND] Cannot find feature");
  assertEquals(err.metadata.size, 0);
  assertEquals(err.details, []);
  assertEquals(err.cause, undefined);
  assert(!("cause" in err));
});

Deno.test("StatusError without a message reads [CODE]", () => {
  const err = new StatusError(Code.Internal);
  assertEquals(err.message, "[INTERNAL]");
  assertEquals(err.rawMessage, "");
});

Deno.test("StatusError keeps metadata, details and cause", () => {
  const metadata = new Metadata({ "x-a": "1" });
  const details: StatusDetail[] = [{ typeUrl: "t/x", value: new Uint8Array([1]) }];
  const cause = new Error("inner");
  const err = new StatusError(Code.Aborted, "m", { metadata, details, cause });
  assertStrictEquals(err.metadata, metadata);
  assertStrictEquals(err.details, details);
  assertStrictEquals(err.cause, cause);
});

Deno.test("StatusError takes metadata as a plain object or pairs too", () => {
  const err = new StatusError(Code.NotFound, "nope", {
    metadata: { "x-b": "2", "x-c": ["3", "4"] },
  });
  assertEquals([...err.metadata], [["x-b", "2"], ["x-c", "3"], ["x-c", "4"]]);
  const pairs = new StatusError(Code.NotFound, "", { metadata: [["x-b", "2"]] });
  assertEquals(pairs.metadata.get("x-b"), "2");
  assertThrows(
    () => new StatusError(Code.NotFound, "", { metadata: { "Bad Key": "1" } }),
    TypeError,
  );
});

Deno.test("StatusError refuses OK and invalid codes", () => {
  assertThrows(() => new StatusError(Code.OK), RangeError, "code is OK");
  assertThrows(() => new StatusError(-1 as Code), RangeError);
  assertThrows(() => new StatusError(1.5 as Code), RangeError);
  assertThrows(() => new StatusError(NaN as Code), RangeError);
  assertEquals(new StatusError(42 as Code, "x").message, "[CODE(42)] x");
});

Deno.test("StatusError.from() passes a StatusError through", () => {
  const err = new StatusError(Code.Aborted, "x");
  assertStrictEquals(StatusError.from(err), err);
});

Deno.test("StatusError.from() maps an abort to CANCELLED", () => {
  const ac = new AbortController();
  ac.abort();
  const err = StatusError.from(ac.signal.reason);
  assertEquals(err.code, Code.Canceled);
  assertStrictEquals(err.cause, ac.signal.reason);
  assertEquals(StatusError.from(new DOMException("gone", "AbortError")).rawMessage, "gone");
});

Deno.test("StatusError.from() maps timeouts to DEADLINE_EXCEEDED", () => {
  assertEquals(
    StatusError.from(new DOMException("late", "TimeoutError")).code,
    Code.DeadlineExceeded,
  );
  assertEquals(StatusError.from(new Deno.errors.TimedOut("t")).code, Code.DeadlineExceeded);
});

Deno.test("StatusError.from() maps anything else to UNKNOWN, keeping cause", () => {
  const e = new TypeError("bad");
  const err = StatusError.from(e);
  assertEquals(err.code, Code.Unknown);
  assertEquals(err.rawMessage, "bad");
  assertStrictEquals(err.cause, e);
  assertEquals(StatusError.from("text").rawMessage, "text");
  assertEquals(StatusError.from(42).rawMessage, "42");
  assertEquals(StatusError.from(undefined).rawMessage, "undefined");
  assertEquals(StatusError.from(Object.create(null)).rawMessage, "object");
});

Deno.test("encodeGrpcMessage() returns printable ASCII unchanged", () => {
  const s = "Hello, world! ~ {}[]";
  assertStrictEquals(encodeGrpcMessage(s), s);
  assertStrictEquals(encodeGrpcMessage(""), "");
});

Deno.test("encodeGrpcMessage() percent-encodes % and control characters", () => {
  assertEquals(encodeGrpcMessage("%"), "%25");
  assertEquals(encodeGrpcMessage("a\tb\nc\x7f"), "a%09b%0Ac%7F");
});

Deno.test("encodeGrpcMessage() percent-encodes non-ASCII", () => {
  assertEquals(encodeGrpcMessage("é"), "%C3%A9");
  assertEquals(encodeGrpcMessage("☺"), "%E2%98%BA");
  assertEquals(encodeGrpcMessage("😈"), "%F0%9F%98%88");
  assertEquals(
    encodeGrpcMessage(SPECIAL_MESSAGE),
    "%09%0Atest with whitespace%0D%0Aand Unicode BMP %E2%98%BA and non-BMP %F0%9F%98%88%09%0A",
  );
});

Deno.test("encodeGrpcMessage() encodes lone surrogates as U+FFFD", () => {
  assertEquals(encodeGrpcMessage("a\ud800b"), "a%EF%BF%BDb");
  assertEquals(encodeGrpcMessage("\udc00"), "%EF%BF%BD");
  assertEquals(encodeGrpcMessage("\ud83d"), "%EF%BF%BD");
});

Deno.test("encodeGrpcMessage() matches TextEncoder on every BMP character", () => {
  let s = "";
  for (let c = 0; c < 0x10000; c += 7) {
    if (c < 0xd800 || c > 0xdfff) s += String.fromCharCode(c);
  }
  const expected = Array.from(
    new TextEncoder().encode(s),
    (b) =>
      b >= 0x20 && b <= 0x7e && b !== 0x25
        ? String.fromCharCode(b)
        : "%" + b.toString(16).toUpperCase().padStart(2, "0"),
  ).join("");
  assertEquals(encodeGrpcMessage(s), expected);
});

Deno.test("decodeGrpcMessage() returns plain text unchanged", () => {
  const s = "no escapes here";
  assertStrictEquals(decodeGrpcMessage(s), s);
});

Deno.test("decodeGrpcMessage() decodes upper- and lower-case escapes", () => {
  assertEquals(decodeGrpcMessage("%E2%98%BA"), "☺");
  assertEquals(decodeGrpcMessage("%e2%98%ba"), "☺");
  assertEquals(decodeGrpcMessage("a%20b"), "a b");
});

Deno.test("decodeGrpcMessage() round-trips the interop special message", () => {
  assertEquals(decodeGrpcMessage(encodeGrpcMessage(SPECIAL_MESSAGE)), SPECIAL_MESSAGE);
  for (const s of ["%", "%%", "100%", "a%25b", "\u{10ffff}", "\ufeffbom", "\0"]) {
    assertEquals(decodeGrpcMessage(encodeGrpcMessage(s)), s);
  }
});

Deno.test("decodeGrpcMessage() keeps invalid escapes as they are", () => {
  assertEquals(decodeGrpcMessage("%"), "%");
  assertEquals(decodeGrpcMessage("%4"), "%4");
  assertEquals(decodeGrpcMessage("%zz"), "%zz");
  assertEquals(decodeGrpcMessage("%4g"), "%4g");
  assertEquals(decodeGrpcMessage("a%"), "a%");
  assertEquals(decodeGrpcMessage("%%41"), "%A");
  assertEquals(decodeGrpcMessage("50% off"), "50% off");
});

Deno.test("decodeGrpcMessage() replaces invalid UTF-8", () => {
  assertEquals(decodeGrpcMessage("%ff"), "\ufffd");
  assertEquals(decodeGrpcMessage("a%C3b"), "a\ufffdb");
  assertEquals(decodeGrpcMessage("%E2%98"), "\ufffd");
});

Deno.test("decodeGrpcMessage() reads raw octets and keeps wider characters", () => {
  // Unencoded UTF-8 octets, as a Latin-1 header decoder hands them over.
  assertEquals(decodeGrpcMessage("\xe2\x98\xba"), "☺");
  // Characters that cannot be octets pass through.
  assertEquals(decodeGrpcMessage("☺ %41 😈"), "☺ A 😈");
  assertEquals(decodeGrpcMessage("\ud800"), "\ufffd");
});

Deno.test("encodeStatusDetails() writes google.rpc.Status bytes", () => {
  assertEquals(encodeStatusDetails(0, "", []), new Uint8Array(0));
  assertEquals(encodeStatusDetails(5, "", []), new Uint8Array([0x08, 0x05]));
  assertEquals(
    encodeStatusDetails(3, "hi", [{ typeUrl: "t", value: new Uint8Array([9]) }]),
    new Uint8Array([0x08, 3, 0x12, 2, 0x68, 0x69, 0x1a, 6, 0x0a, 1, 0x74, 0x12, 1, 9]),
  );
  // A detail with empty fields is an empty Any.
  assertEquals(
    encodeStatusDetails(0, "", [{ typeUrl: "", value: new Uint8Array() }]),
    new Uint8Array([0x1a, 0]),
  );
});

Deno.test("encodeStatusDetails() sign-extends negative codes", () => {
  const bytes = encodeStatusDetails(-1, "", []);
  assertEquals(
    bytes,
    new Uint8Array([0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1]),
  );
  assertEquals(decodeStatusDetails(bytes).code, -1);
  assertEquals(decodeStatusDetails(encodeStatusDetails(-0x80000000, "", [])).code, -0x80000000);
});

Deno.test("encodeStatusDetails() refuses a code that is not an int32", () => {
  assertThrows(() => encodeStatusDetails(2 ** 31, "", []), RangeError);
  assertThrows(() => encodeStatusDetails(1.5, "", []), RangeError);
});

Deno.test("decodeStatusDetails() round-trips encodeStatusDetails()", () => {
  const big = new Uint8Array(300).map((_, i) => i & 0xff);
  const details: StatusDetail[] = [
    { typeUrl: "type.googleapis.com/google.rpc.ErrorInfo", value: new Uint8Array([1, 2, 3]) },
    { typeUrl: "type.googleapis.com/x.Big", value: big },
    { typeUrl: "", value: new Uint8Array(0) },
  ];
  for (const code of [1, 5, 16, 127, 128, 2 ** 31 - 1]) {
    const bytes = encodeStatusDetails(code, SPECIAL_MESSAGE, details);
    assertEquals(decodeStatusDetails(bytes), { code, message: SPECIAL_MESSAGE, details });
  }
});

Deno.test("decodeStatusDetails() copies detail values", () => {
  const bytes = encodeStatusDetails(1, "", [{ typeUrl: "t", value: new Uint8Array([7]) }]);
  const { details } = decodeStatusDetails(bytes);
  bytes.fill(0);
  assertEquals(details[0].value, new Uint8Array([7]));
});

Deno.test("decodeStatusDetails() skips unknown fields", () => {
  // deno-fmt-ignore
  const bytes = new Uint8Array([
    0x20, 0x96, 0x01, // field 4, varint 150
    0x29, 1, 2, 3, 4, 5, 6, 7, 8, // field 5, fixed64
    0x35, 1, 2, 3, 4, // field 6, fixed32
    0x3a, 2, 0xaa, 0xbb, // field 7, bytes
    0x43, 0x08, 0x01, 0x44, // field 8, a group holding a varint
    0x08, 0x07, // code 7
    0x1a, 5, 0x18, 1, 0x0a, 1, 0x74, // an Any with unknown field 3, type_url "t"
    0x12, 0x01, 0x41, // message "A"
    0x0d, 1, 2, 3, 4, // field 1 with the wrong wire type (fixed32): skipped, code stays 7
  ]);
  assertEquals(decodeStatusDetails(bytes), {
    code: 7,
    message: "A",
    details: [{ typeUrl: "t", value: new Uint8Array(0) }],
  });
});

Deno.test("decodeStatusDetails() decodes an empty message to defaults", () => {
  assertEquals(decodeStatusDetails(new Uint8Array(0)), { code: 0, message: "", details: [] });
});

Deno.test("decodeStatusDetails() throws TypeError on truncated input", () => {
  const bytes = encodeStatusDetails(5, "message", [
    { typeUrl: "type.googleapis.com/x.Y", value: new Uint8Array([1, 2, 3]) },
  ]);
  for (let n = 1; n < bytes.length; n++) {
    // Cutting at a field boundary leaves a valid message; everything else must throw.
    const boundaries = [2, 11];
    if (boundaries.includes(n)) {
      decodeStatusDetails(bytes.subarray(0, n));
      continue;
    }
    assertThrows(() => decodeStatusDetails(bytes.subarray(0, n)), TypeError, undefined, `n=${n}`);
  }
});

Deno.test("decodeStatusDetails() throws TypeError on malformed input", () => {
  const cases: number[][] = [
    [0x08], // tag without value
    [0x08, 0x80], // unterminated varint
    [0x08, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01], // 11-byte varint
    [0x12, 0x05, 0x41], // length past the end
    [0x12, 0xff, 0xff, 0xff, 0xff, 0x0f], // huge length
    [0x00, 0x01], // field number 0
    [0x0e, 0x00], // wire type 6
    [0x0f, 0x00], // wire type 7
    [0x0c], // end group without a start
    [0x0b, 0x08, 0x01], // group never closed
    [0x0b, 0x14], // group closed with another field number
    [0x19, 1, 2, 3], // truncated fixed64
    [0x1d, 1, 2], // truncated fixed32
    [0x1a, 0x02, 0x0a, 0x05], // Any whose type_url runs past the Any
  ];
  for (const c of cases) {
    assertThrows(() => decodeStatusDetails(new Uint8Array(c)), TypeError, undefined, `${c}`);
  }
});

Deno.test("decodeStatusDetails() replaces invalid UTF-8 in strings", () => {
  assertEquals(decodeStatusDetails(new Uint8Array([0x12, 1, 0xff])).message, "\ufffd");
});

Deno.test("codeFromHttpStatus() follows http-grpc-status-mapping.md", () => {
  const table: [number, Code][] = [
    [400, Code.Internal],
    [401, Code.Unauthenticated],
    [403, Code.PermissionDenied],
    [404, Code.Unimplemented],
    [429, Code.Unavailable],
    [431, Code.Internal],
    [502, Code.Unavailable],
    [503, Code.Unavailable],
    [504, Code.Unavailable],
    [200, Code.Unknown],
    [500, Code.Unknown],
    [418, Code.Unknown],
    [0, Code.Unknown],
  ];
  for (const [http, code] of table) assertEquals(codeFromHttpStatus(http), code, `${http}`);
});
