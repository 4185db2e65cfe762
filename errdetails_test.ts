import { assert, assertEquals, assertThrows } from "@std/assert";
import protobuf from "protobufjs";
import {
  BadRequest,
  DebugInfo,
  detailType,
  ErrorInfo,
  Help,
  LocalizedMessage,
  type MessageInit,
  PreconditionFailure,
  QuotaFailure,
  RequestInfo,
  ResourceInfo,
  RetryInfo,
} from "./errdetails.ts";
import {
  Code,
  decodeStatusDetails,
  type DetailType,
  encodeStatusDetails,
  packDetail,
  StatusError,
} from "./status.ts";
import { toHex as hex } from "./transport/_bytes.ts";

// The official definitions (googleapis google/rpc/error_details.proto, current fields), parsed
// by protobufjs: an independent encoder to compare bytes with.
const PROTO = `syntax = "proto3"; package google.rpc;
message Duration { int64 seconds = 1; int32 nanos = 2; }
message ErrorInfo { string reason = 1; string domain = 2; map<string, string> metadata = 3; }
message RetryInfo { Duration retry_delay = 1; }
message DebugInfo { repeated string stack_entries = 1; string detail = 2; }
message QuotaFailure {
  message Violation {
    string subject = 1; string description = 2; string api_service = 3; string quota_metric = 4;
    string quota_id = 5; map<string, string> quota_dimensions = 6; int64 quota_value = 7;
    optional int64 future_quota_value = 8;
  }
  repeated Violation violations = 1;
}
message PreconditionFailure {
  message Violation { string type = 1; string subject = 2; string description = 3; }
  repeated Violation violations = 1;
}
message BadRequest {
  message FieldViolation {
    string field = 1; string description = 2; string reason = 3;
    LocalizedMessage localized_message = 4;
  }
  repeated FieldViolation field_violations = 1;
}
message RequestInfo { string request_id = 1; string serving_data = 2; }
message ResourceInfo {
  string resource_type = 1; string resource_name = 2; string owner = 3; string description = 4;
}
message Help { message Link { string description = 1; string url = 2; } repeated Link links = 1; }
message LocalizedMessage { string locale = 1; string message = 2; }`;
const root = protobuf.parse(PROTO).root;

// Every type with a value setting every field (no defaults, one map entry per map so that
// protobufjs's insertion order matches our sorted order), and the decoded form.
// deno-lint-ignore no-explicit-any
const cases: [DetailType<any, any>, string, Record<string, unknown>, unknown][] = [
  [ErrorInfo, "ErrorInfo", { reason: "STOCKOUT", domain: "example.com", metadata: { a: "1" } }, {
    reason: "STOCKOUT",
    domain: "example.com",
    metadata: { a: "1" },
  }],
  [RetryInfo, "RetryInfo", { retryDelay: { seconds: 3, nanos: 250 } }, {
    retryDelay: { seconds: "3", nanos: 250 },
  }],
  [DebugInfo, "DebugInfo", { stackEntries: ["x.ts:1", ""], detail: "d" }, {
    stackEntries: ["x.ts:1", ""],
    detail: "d",
  }],
  [QuotaFailure, "QuotaFailure", {
    violations: [{
      subject: "s",
      description: "d",
      apiService: "api",
      quotaMetric: "m",
      quotaId: "q",
      quotaDimensions: { region: "eu" },
      quotaValue: "9007199254740993",
      futureQuotaValue: 0,
    }],
  }, {
    violations: [{
      subject: "s",
      description: "d",
      apiService: "api",
      quotaMetric: "m",
      quotaId: "q",
      quotaDimensions: { region: "eu" },
      quotaValue: "9007199254740993",
      futureQuotaValue: "0",
    }],
  }],
  [PreconditionFailure, "PreconditionFailure", {
    violations: [{ type: "TOS", subject: "s", description: "d" }, { type: "AGE" }],
  }, {
    violations: [{ type: "TOS", subject: "s", description: "d" }, {
      type: "AGE",
      subject: "",
      description: "",
    }],
  }],
  [BadRequest, "BadRequest", {
    fieldViolations: [{
      field: "f",
      description: "d",
      reason: "R",
      localizedMessage: { locale: "en", message: "m" },
    }],
  }, {
    fieldViolations: [{
      field: "f",
      description: "d",
      reason: "R",
      localizedMessage: { locale: "en", message: "m" },
    }],
  }],
  [RequestInfo, "RequestInfo", { requestId: "r", servingData: "☺" }, {
    requestId: "r",
    servingData: "☺",
  }],
  [ResourceInfo, "ResourceInfo", {
    resourceType: "t",
    resourceName: "n",
    owner: "o",
    description: "d",
  }, { resourceType: "t", resourceName: "n", owner: "o", description: "d" }],
  [Help, "Help", { links: [{ description: "d", url: "u" }] }, {
    links: [{ description: "d", url: "u" }],
  }],
  [LocalizedMessage, "LocalizedMessage", { locale: "fr", message: "m" }, {
    locale: "fr",
    message: "m",
  }],
];

for (const [type, name, value, decoded] of cases) {
  Deno.test(`${name}: encodes as protobufjs does, decodes typed, and round-trips a status`, () => {
    assertEquals(type.typeName, `google.rpc.${name}`);
    const bytes = type.encode(value);
    const pb = root.lookupType(`google.rpc.${name}`);
    assertEquals(hex(bytes), hex(pb.encode(pb.fromObject(value)).finish()));
    assertEquals(type.decode(bytes), decoded);
    // Through grpc-status-details-bin.
    const err = new StatusError(Code.Aborted, "x", { details: [packDetail(type, value)] });
    const wire = encodeStatusDetails(err.code, err.rawMessage, err.details);
    const back = new StatusError(Code.Aborted, "x", { details: decodeStatusDetails(wire).details });
    assertEquals(back.findDetails(type), [decoded]);
  });
}

Deno.test("detail types decode an empty message to the defaults", () => {
  const empty = new Uint8Array(0);
  assertEquals(ErrorInfo.decode(empty), { reason: "", domain: "", metadata: {} });
  assertEquals(RetryInfo.decode(empty), { retryDelay: null });
  assertEquals(BadRequest.decode(empty), { fieldViolations: [] });
  assertEquals(QuotaFailure.decode(new Uint8Array([0x0a, 0x00])), {
    violations: [{
      subject: "",
      description: "",
      apiService: "",
      quotaMetric: "",
      quotaId: "",
      quotaDimensions: {},
      quotaValue: "0",
    }],
  });
  assertEquals(ErrorInfo.encode({}).length, 0);
  assertEquals(ErrorInfo.encode({ reason: "", metadata: {} }).length, 0); // defaults left out
});

Deno.test("detail types: golden bytes, map keys sorted, negative and large integers", () => {
  // ErrorInfo{reason:"R", metadata:{b:"2", a:""}}: 0a 01 52, then entries a then b, each with
  // key and value even when empty (as Go writes map entries).
  assertEquals(
    hex(ErrorInfo.encode({ reason: "R", metadata: { b: "2", a: "" } })),
    "0a0152" + "1a050a01611200" + "1a060a0162120132",
  );
  // RetryInfo{retry_delay: {seconds: -1, nanos: -5}}: both sign-extended to 10-byte varints.
  const neg = RetryInfo.encode({ retryDelay: { seconds: -1, nanos: -5 } });
  assertEquals(hex(neg), "0a16" + "08ffffffffffffffffff01" + "10fbffffffffffffffff01");
  assertEquals(RetryInfo.decode(neg), { retryDelay: { seconds: "-1", nanos: -5 } });
  // An empty sub-message that is set is written (tag, length 0).
  assertEquals(hex(RetryInfo.encode({ retryDelay: {} })), "0a00");
  const big = QuotaFailure.encode({ violations: [{ quotaValue: 2n ** 63n - 1n }] });
  assertEquals(QuotaFailure.decode(big).violations[0].quotaValue, "9223372036854775807");
});

Deno.test("detail types skip unknown fields and reject malformed bytes", () => {
  // LocalizedMessage with an unknown varint field 9 and an unknown string field 10.
  const bytes = new Uint8Array([0x48, 0x01, 0x52, 0x01, 0x78, 0x0a, 0x02, 0x65, 0x6e]);
  assertEquals(LocalizedMessage.decode(bytes), { locale: "en", message: "" });
  assertThrows(() => LocalizedMessage.decode(new Uint8Array([0x0a, 0x05, 0x61])), TypeError);
  assertThrows(() => LocalizedMessage.decode(new Uint8Array([0x08, 0x01])), TypeError, "wire");
});

Deno.test("detail types refuse values of the wrong type with TypeError", () => {
  const bad: [DetailType<unknown, never>, unknown][] = [
    [ErrorInfo, { reason: 5 }],
    [ErrorInfo, { metadata: { a: 1 } }],
    [DebugInfo, { stackEntries: "x" }],
    [RetryInfo, { retryDelay: { seconds: 1.5 } }],
    [RetryInfo, { retryDelay: { nanos: 2 ** 31 } }],
    [QuotaFailure, { violations: [{ quotaValue: "1e3" }] }],
    [QuotaFailure, { violations: [{ quotaValue: 2n ** 63n }] }],
    [BadRequest, { fieldViolations: [5] }],
    [Help, "links"],
  ];
  for (const [type, value] of bad) {
    assertThrows(() => type.encode(value as never), TypeError, "Cannot encode");
  }
});

Deno.test("StatusError.findDetails() matches the type name under any URL prefix, in order, skipping what does not decode", () => {
  const a = packDetail(LocalizedMessage, { locale: "en", message: "a" });
  const b = { typeUrl: "example.com/x/google.rpc.LocalizedMessage", value: a.value };
  const broken = { typeUrl: a.typeUrl, value: new Uint8Array([0x0a, 0x09]) };
  const other = packDetail(Help, {});
  const err = new StatusError(Code.Internal, "", { details: [other, a, broken, b] });
  assertEquals(err.findDetails(LocalizedMessage).map((m) => m.message), ["a", "a"]);
  assertEquals(err.findDetails(Help), [{ links: [] }]);
  assertEquals(err.findDetails(ErrorInfo), []);
});

Deno.test("detailType() wraps a protobufjs type or a named codec", () => {
  const { root } = protobuf.parse(`syntax = "proto3"; package acme;
    message Conflict { string resource = 1; int64 version = 2; }`);
  const Conflict = detailType<{ resource: string; version: string }>(
    root.lookupType("acme.Conflict"),
  );
  assertEquals(Conflict.typeName, "acme.Conflict");
  const d = packDetail(Conflict, { resource: "r", version: "7" });
  assertEquals(d.typeUrl, "type.googleapis.com/acme.Conflict");
  const err = new StatusError(Code.Aborted, "", { details: [d] });
  assertEquals(err.findDetails(Conflict), [{ resource: "r", version: "7" }]);

  const Text = detailType<string>(".example.Text", {
    encode: (s) => new TextEncoder().encode(s),
    decode: (b) => new TextDecoder().decode(b),
  });
  assertEquals(Text.typeName, "example.Text");
  assertEquals(Text.decode(Text.encode("hi")), "hi");
  assertThrows(() => detailType("example.Text"), TypeError, "codec");
});

Deno.test("MessageInit accepts partial nested values and int64 as number, string or bigint", () => {
  const init: MessageInit<QuotaFailure> = {
    violations: [{ quotaValue: 1 }, { quotaValue: "2" }, { quotaValue: 3n, quotaDimensions: {} }],
  };
  const values = QuotaFailure.decode(QuotaFailure.encode(init)).violations.map((v) => v.quotaValue);
  assertEquals(values, ["1", "2", "3"]);
  assert(Object.isFrozen(BadRequest));
});
