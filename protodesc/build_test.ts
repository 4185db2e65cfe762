import { assertEquals } from "@std/assert";
import { loadProto } from "@seed/grpc";
import { protoSourcesOf } from "../internal/proto_sources.ts";
import { buildFileDescriptors, jsonName } from "./build.ts";
import {
  decodeFileDescriptorProto,
  encodeFileDescriptorProto,
  type FileDescriptorProto,
} from "./descriptor_proto.ts";

const FIXTURES = new URL("../tests/fixtures/protos/", import.meta.url);

async function catalogFiles(): Promise<Map<string, FileDescriptorProto>> {
  // keepCase false (the default) must not change the descriptors: they are parsed again.
  const services = await loadProto(new URL("catalog/catalog.proto", FIXTURES), {
    includeDirs: [FIXTURES],
  });
  const files = buildFileDescriptors(protoSourcesOf(services["catalog.v1.Catalog"])!);
  return new Map(files.map((f) => [f.name, f]));
}

Deno.test("buildFileDescriptors() names files as importers do, each after its imports", async () => {
  const files = await catalogFiles();
  assertEquals([...files.keys()], [
    "common/money.proto",
    "catalog/legacy.proto",
    "google/protobuf/timestamp.proto",
    "catalog/catalog.proto",
  ]);
  const catalog = files.get("catalog/catalog.proto")!;
  assertEquals(catalog.package, "catalog.v1");
  assertEquals(catalog.syntax, "proto3");
  assertEquals(catalog.dependency, [
    "common/money.proto",
    "catalog/legacy.proto",
    "google/protobuf/timestamp.proto",
  ]);
  assertEquals(catalog.public_dependency, [1]);
  assertEquals(catalog.options, {
    go_package: "example.com/catalog/v1;catalogv1",
    java_multiple_files: true,
  });
  assertEquals(files.get("catalog/legacy.proto")!.syntax, undefined); // proto2: unset, as protoc
});

Deno.test("buildFileDescriptors() describes services and streaming the way protoc does", async () => {
  const service = (await catalogFiles()).get("catalog/catalog.proto")!.service[0];
  assertEquals(service, {
    name: "Catalog",
    method: [
      {
        name: "GetItem",
        input_type: ".catalog.v1.GetItemRequest",
        output_type: ".catalog.v1.Item",
      },
      {
        name: "ListItems",
        input_type: ".catalog.v1.ListItemsRequest",
        output_type: ".catalog.v1.Item",
        server_streaming: true,
      },
      {
        name: "Import",
        input_type: ".catalog.v1.Item",
        output_type: ".catalog.v1.ImportSummary",
        options: { deprecated: true },
        client_streaming: true,
      },
      {
        name: "Sync",
        input_type: ".catalog.v1.SyncEvent",
        output_type: ".catalog.v1.SyncEvent",
        options: { idempotency_level: "IDEMPOTENT" },
        client_streaming: true,
        server_streaming: true,
      },
    ],
  });
});

Deno.test("buildFileDescriptors() describes maps, oneofs, proto3 optional, nested types", async () => {
  const catalog = (await catalogFiles()).get("catalog/catalog.proto")!;
  const item = catalog.message_type.find((m) => m.name === "Item")!;
  assertEquals(item.oneof_decl, [{ name: "source" }, { name: "_note" }]);
  const field = (name: string) => item.field.find((f) => f.name === name)!;
  assertEquals(field("vendor_name").oneof_index, 0);
  assertEquals(field("fixed_size"), {
    name: "fixed_size",
    number: 8,
    label: "LABEL_OPTIONAL",
    type: "TYPE_ENUM",
    type_name: ".catalog.v1.Item.Variant.Size",
    oneof_index: 0,
    json_name: "fixedSize",
  });
  assertEquals(field("note").proto3_optional, true);
  assertEquals(field("note").oneof_index, 1);
  assertEquals(field("stock_by_region"), {
    name: "stock_by_region",
    number: 5,
    label: "LABEL_REPEATED",
    type: "TYPE_MESSAGE",
    type_name: ".catalog.v1.Item.StockByRegionEntry",
    json_name: "stockByRegion",
  });
  assertEquals(field("legacy").options, { deprecated: true });
  assertEquals(item.nested_type.map((t) => t.name), ["Variant", "StockByRegionEntry"]);
  assertEquals(item.nested_type[1].options, { map_entry: true });
  assertEquals(item.nested_type[1].field[1].type_name, ".catalog.v1.Availability");
  const variant = item.nested_type[0];
  assertEquals(variant.enum_type[0].name, "Size");
  assertEquals(variant.nested_type[0].name, "ReplacementsEntry");
  assertEquals(variant.nested_type[0].field[0].type, "TYPE_INT64");
  assertEquals(variant.nested_type[0].field[1].type_name, ".catalog.v1.Item.Variant");
  assertEquals(item.reserved_range, [{ start: 15, end: 16 }, { start: 20, end: 26 }]);
  assertEquals(item.reserved_name, ["legacy_code"]);
  const request = catalog.message_type.find((m) => m.name === "GetItemRequest")!;
  assertEquals(request.field[0].json_name, "id");
  const list = catalog.message_type.find((m) => m.name === "ListItemsRequest")!;
  assertEquals(list.field[1].options, { packed: false });
  assertEquals(list.field[2].options, undefined); // proto3 packs by default: no option
});

Deno.test("buildFileDescriptors() describes enums, defaults, extension ranges and extensions", async () => {
  const files = await catalogFiles();
  const availability = files.get("catalog/catalog.proto")!.enum_type[0];
  assertEquals(availability, {
    name: "Availability",
    value: [
      { name: "AVAILABILITY_UNSPECIFIED", number: 0 },
      { name: "IN_STOCK", number: 1 },
      { name: "AVAILABLE", number: 1 },
      { name: "SOLD_OUT", number: 2, options: { deprecated: true } },
    ],
    options: { allow_alias: true },
    reserved_range: [{ start: 5, end: 5 }, { start: 10, end: 12 }], // enum ranges: inclusive
    reserved_name: ["DISCONTINUED"],
  });
  const legacy = files.get("catalog/legacy.proto")!;
  const item = legacy.message_type[0];
  assertEquals(item.field.map((f) => [f.name, f.label, f.default_value]), [
    ["code", "LABEL_REQUIRED", undefined],
    ["quantity", "LABEL_OPTIONAL", "7"],
    ["label", "LABEL_OPTIONAL", "none"],
    ["kind", "LABEL_OPTIONAL", "KIND_B"],
    ["ratio", "LABEL_OPTIONAL", "0.5"],
    ["samples", "LABEL_REPEATED", undefined],
    ["magic", "LABEL_OPTIONAL", "a\\tb\\nc\\\\d"], // C-escaped, as protoc writes bytes defaults
    ["limit", "LABEL_OPTIONAL", "inf"],
    ["offset", "LABEL_OPTIONAL", "-5"],
    ["active", "LABEL_OPTIONAL", "true"],
    ["origin", "LABEL_OPTIONAL", undefined],
    ["part", "LABEL_REPEATED", undefined],
  ]);
  assertEquals(item.field[5].options, { packed: true });
  // Groups: a TYPE_GROUP field named after the lower-cased group, and a nested message.
  assertEquals(item.field[10].type, "TYPE_GROUP");
  assertEquals(item.field[10].type_name, ".catalog.legacy.LegacyItem.Origin");
  assertEquals(item.nested_type.map((t) => t.name), ["Origin", "Part"]);
  assertEquals(item.nested_type[0].field.map((f) => f.label), ["LABEL_REQUIRED", "LABEL_REPEATED"]);
  assertEquals(item.extension_range, [{ start: 100, end: 200 }, { start: 1000, end: 536870912 }]);
  assertEquals(item.extension, [{
    name: "nested_note",
    number: 150,
    label: "LABEL_OPTIONAL",
    type: "TYPE_STRING",
    extendee: ".catalog.legacy.LegacyItem",
    json_name: "nestedNote",
  }]);
  assertEquals(legacy.extension.map((e) => [e.name, e.number, e.label, e.extendee]), [
    ["legacy_score", 100, "LABEL_OPTIONAL", ".catalog.legacy.LegacyItem"],
    ["legacy_tags", 101, "LABEL_REPEATED", ".catalog.legacy.LegacyItem"],
  ]);
});

Deno.test("buildFileDescriptors() gives bundled well-known files their snake_case names", async () => {
  const services = await loadProto({
    source: `syntax = "proto3"; import "google/protobuf/struct.proto";
      service S { rpc M (google.protobuf.Struct) returns (google.protobuf.Value); }`,
    name: "s.proto",
  });
  const files = buildFileDescriptors(protoSourcesOf(services["S"])!);
  const struct = files.find((f) => f.name === "google/protobuf/struct.proto")!;
  const value = struct.message_type.find((m) => m.name === "Value")!;
  assertEquals(value.field.map((f) => f.name), [
    "null_value",
    "number_value",
    "string_value",
    "bool_value",
    "struct_value",
    "list_value",
  ]);
  assertEquals(value.oneof_decl, [{ name: "kind" }]);
  assertEquals(struct.enum_type[0].name, "NullValue");
});

Deno.test("FileDescriptorProto encodes and decodes unchanged", async () => {
  for (const file of (await catalogFiles()).values()) {
    assertEquals(decodeFileDescriptorProto(encodeFileDescriptorProto(file)), file);
  }
});

Deno.test("jsonName() follows protoc", () => {
  assertEquals(jsonName("foo_bar_baz"), "fooBarBaz");
  assertEquals(jsonName("foo__bar"), "fooBar");
  assertEquals(jsonName("_foo"), "Foo");
  assertEquals(jsonName("foo_1"), "foo1");
});
