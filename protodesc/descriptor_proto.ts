// google.protobuf.FileDescriptorProto: the part of descriptor.proto that describes a file's
// declarations, as plain objects (field names as in descriptor.proto, enums by name), with a
// codec. Types from protocolbuffers/protobuf src/google/protobuf/descriptor.proto (BSD-3-Clause),
// embedded; unknown fields (source info, features, custom options) are left out.

import protobuf from "protobufjs";
import type { Type } from "protobufjs";

/** `FieldDescriptorProto.Type` by name. */
export type FieldType =
  | "TYPE_DOUBLE"
  | "TYPE_FLOAT"
  | "TYPE_INT64"
  | "TYPE_UINT64"
  | "TYPE_INT32"
  | "TYPE_FIXED64"
  | "TYPE_FIXED32"
  | "TYPE_BOOL"
  | "TYPE_STRING"
  | "TYPE_GROUP"
  | "TYPE_MESSAGE"
  | "TYPE_BYTES"
  | "TYPE_UINT32"
  | "TYPE_ENUM"
  | "TYPE_SFIXED32"
  | "TYPE_SFIXED64"
  | "TYPE_SINT32"
  | "TYPE_SINT64";

/** `FieldDescriptorProto.Label` by name. */
export type FieldLabel = "LABEL_OPTIONAL" | "LABEL_REQUIRED" | "LABEL_REPEATED";

/** google.protobuf.FileOptions (the fields kept). */
export interface FileOptions {
  java_package?: string;
  java_outer_classname?: string;
  java_multiple_files?: boolean;
  go_package?: string;
  cc_enable_arenas?: boolean;
  objc_class_prefix?: string;
  csharp_namespace?: string;
  swift_prefix?: string;
  php_namespace?: string;
  ruby_package?: string;
  deprecated?: boolean;
}

/** google.protobuf.MessageOptions (the fields kept). */
export interface MessageOptions {
  deprecated?: boolean;
  map_entry?: boolean;
}

/** google.protobuf.FieldOptions (the fields kept). */
export interface FieldOptions {
  packed?: boolean;
  deprecated?: boolean;
  lazy?: boolean;
  jstype?: "JS_NORMAL" | "JS_STRING" | "JS_NUMBER";
}

/** google.protobuf.EnumOptions / EnumValueOptions / ServiceOptions (the fields kept). */
export interface EnumOptions {
  allow_alias?: boolean;
  deprecated?: boolean;
}

/** google.protobuf.EnumValueOptions, ServiceOptions (the fields kept). */
export interface DeprecatedOption {
  deprecated?: boolean;
}

/** google.protobuf.MethodOptions (the fields kept). */
export interface MethodOptions {
  deprecated?: boolean;
  idempotency_level?: "IDEMPOTENCY_UNKNOWN" | "NO_SIDE_EFFECTS" | "IDEMPOTENT";
}

/** google.protobuf.FieldDescriptorProto. */
export interface FieldDescriptorProto {
  name: string;
  number: number;
  label: FieldLabel;
  type: FieldType;
  /** Fully qualified with a leading dot, for message, group and enum fields. */
  type_name?: string;
  /** Fully qualified with a leading dot, for extensions. */
  extendee?: string;
  default_value?: string;
  oneof_index?: number;
  json_name?: string;
  options?: FieldOptions;
  proto3_optional?: boolean;
}

/** google.protobuf.DescriptorProto. */
export interface DescriptorProto {
  name: string;
  field: FieldDescriptorProto[];
  extension: FieldDescriptorProto[];
  nested_type: DescriptorProto[];
  enum_type: EnumDescriptorProto[];
  /** `end` is exclusive. */
  extension_range: { start: number; end: number }[];
  oneof_decl: { name: string }[];
  options?: MessageOptions;
  /** `end` is exclusive. */
  reserved_range: { start: number; end: number }[];
  reserved_name: string[];
}

/** google.protobuf.EnumDescriptorProto. */
export interface EnumDescriptorProto {
  name: string;
  value: { name: string; number: number; options?: DeprecatedOption }[];
  options?: EnumOptions;
  /** `end` is inclusive (unlike message reserved ranges). */
  reserved_range: { start: number; end: number }[];
  reserved_name: string[];
}

/** google.protobuf.MethodDescriptorProto. */
export interface MethodDescriptorProto {
  name: string;
  input_type: string;
  output_type: string;
  options?: MethodOptions;
  client_streaming?: boolean;
  server_streaming?: boolean;
}

/** google.protobuf.ServiceDescriptorProto. */
export interface ServiceDescriptorProto {
  name: string;
  method: MethodDescriptorProto[];
  options?: DeprecatedOption;
}

/** google.protobuf.FileDescriptorProto. */
export interface FileDescriptorProto {
  name: string;
  package?: string;
  dependency: string[];
  public_dependency: number[];
  weak_dependency: number[];
  message_type: DescriptorProto[];
  enum_type: EnumDescriptorProto[];
  service: ServiceDescriptorProto[];
  extension: FieldDescriptorProto[];
  options?: FileOptions;
  /** `"proto3"`, or absent for proto2. */
  syntax?: string;
}

const DESCRIPTOR_PROTO = `syntax = "proto2";
package google.protobuf;
message FileDescriptorSet { repeated FileDescriptorProto file = 1; }
message FileDescriptorProto {
  optional string name = 1;
  optional string package = 2;
  repeated string dependency = 3;
  repeated int32 public_dependency = 10;
  repeated int32 weak_dependency = 11;
  repeated DescriptorProto message_type = 4;
  repeated EnumDescriptorProto enum_type = 5;
  repeated ServiceDescriptorProto service = 6;
  repeated FieldDescriptorProto extension = 7;
  optional FileOptions options = 8;
  optional string syntax = 12;
}
message DescriptorProto {
  optional string name = 1;
  repeated FieldDescriptorProto field = 2;
  repeated FieldDescriptorProto extension = 6;
  repeated DescriptorProto nested_type = 3;
  repeated EnumDescriptorProto enum_type = 4;
  message ExtensionRange { optional int32 start = 1; optional int32 end = 2; }
  repeated ExtensionRange extension_range = 5;
  repeated OneofDescriptorProto oneof_decl = 8;
  optional MessageOptions options = 7;
  message ReservedRange { optional int32 start = 1; optional int32 end = 2; }
  repeated ReservedRange reserved_range = 9;
  repeated string reserved_name = 10;
}
message FieldDescriptorProto {
  enum Type {
    TYPE_DOUBLE = 1; TYPE_FLOAT = 2; TYPE_INT64 = 3; TYPE_UINT64 = 4; TYPE_INT32 = 5;
    TYPE_FIXED64 = 6; TYPE_FIXED32 = 7; TYPE_BOOL = 8; TYPE_STRING = 9; TYPE_GROUP = 10;
    TYPE_MESSAGE = 11; TYPE_BYTES = 12; TYPE_UINT32 = 13; TYPE_ENUM = 14; TYPE_SFIXED32 = 15;
    TYPE_SFIXED64 = 16; TYPE_SINT32 = 17; TYPE_SINT64 = 18;
  }
  enum Label { LABEL_OPTIONAL = 1; LABEL_REPEATED = 3; LABEL_REQUIRED = 2; }
  optional string name = 1;
  optional int32 number = 3;
  optional Label label = 4;
  optional Type type = 5;
  optional string type_name = 6;
  optional string extendee = 2;
  optional string default_value = 7;
  optional int32 oneof_index = 9;
  optional string json_name = 10;
  optional FieldOptions options = 8;
  optional bool proto3_optional = 17;
}
message OneofDescriptorProto { optional string name = 1; }
message EnumDescriptorProto {
  optional string name = 1;
  repeated EnumValueDescriptorProto value = 2;
  optional EnumOptions options = 3;
  message EnumReservedRange { optional int32 start = 1; optional int32 end = 2; }
  repeated EnumReservedRange reserved_range = 4;
  repeated string reserved_name = 5;
}
message EnumValueDescriptorProto {
  optional string name = 1;
  optional int32 number = 2;
  optional EnumValueOptions options = 3;
}
message ServiceDescriptorProto {
  optional string name = 1;
  repeated MethodDescriptorProto method = 2;
  optional ServiceOptions options = 3;
}
message MethodDescriptorProto {
  optional string name = 1;
  optional string input_type = 2;
  optional string output_type = 3;
  optional MethodOptions options = 4;
  optional bool client_streaming = 5;
  optional bool server_streaming = 6;
}
message FileOptions {
  optional string java_package = 1;
  optional string java_outer_classname = 8;
  optional bool java_multiple_files = 10;
  optional string go_package = 11;
  optional bool deprecated = 23;
  optional bool cc_enable_arenas = 31;
  optional string objc_class_prefix = 36;
  optional string csharp_namespace = 37;
  optional string swift_prefix = 39;
  optional string php_namespace = 41;
  optional string ruby_package = 45;
}
message MessageOptions { optional bool deprecated = 3; optional bool map_entry = 7; }
message FieldOptions {
  optional bool packed = 2;
  enum JSType { JS_NORMAL = 0; JS_STRING = 1; JS_NUMBER = 2; }
  optional JSType jstype = 6;
  optional bool lazy = 5;
  optional bool deprecated = 3;
}
message EnumOptions { optional bool allow_alias = 2; optional bool deprecated = 3; }
message EnumValueOptions { optional bool deprecated = 1; }
message ServiceOptions { optional bool deprecated = 33; }
message MethodOptions {
  optional bool deprecated = 33;
  enum IdempotencyLevel { IDEMPOTENCY_UNKNOWN = 0; NO_SIDE_EFFECTS = 1; IDEMPOTENT = 2; }
  optional IdempotencyLevel idempotency_level = 34;
}
`;

const root = protobuf.parse(DESCRIPTOR_PROTO, { keepCase: true }).root;
const fileType: Type = root.lookupType("google.protobuf.FileDescriptorProto");
const setType: Type = root.lookupType("google.protobuf.FileDescriptorSet");

/** Serializes a FileDescriptorProto. */
export function encodeFileDescriptorProto(file: FileDescriptorProto): Uint8Array {
  return fileType.encode(fileType.fromObject(file)).finish();
}

/** Serializes a FileDescriptorSet of `files`. */
export function encodeFileDescriptorSet(files: readonly FileDescriptorProto[]): Uint8Array {
  return setType.encode(setType.fromObject({ file: files })).finish();
}

/**
 * Parses a FileDescriptorProto: enums by name, absent optional fields absent, repeated fields
 * always present (empty when absent).
 */
export function decodeFileDescriptorProto(bytes: Uint8Array): FileDescriptorProto {
  return fileType.toObject(fileType.decode(bytes), {
    enums: String,
    arrays: true,
  }) as FileDescriptorProto;
}

/** Parses a FileDescriptorSet (as `protoc --descriptor_set_out` writes), like
 * {@linkcode decodeFileDescriptorProto} for each file. */
export function decodeFileDescriptorSet(bytes: Uint8Array): FileDescriptorProto[] {
  const set = setType.toObject(setType.decode(bytes), { enums: String, arrays: true }) as {
    file: FileDescriptorProto[];
  };
  return set.file;
}
