// The .proto files a service definition was loaded from (or the descriptors it was generated
// with), kept beside the definition for server
// reflection and the code generator (protodesc/ turns them into FileDescriptorProtos).

import type { INamespace } from "protobufjs";
import type { ServiceDefinition } from "../codec.ts";

/** One .proto file as loaded. */
export interface ProtoSourceFile {
  /** Its name as importers write it (`google/protobuf/empty.proto`, `grpc/testing/test.proto`). */
  readonly name: string;
  /** The .proto text; absent for a well-known file bundled with protobufjs as JSON, and for a
   * file that carries its `descriptor`. */
  readonly source?: string;
  /** The file's encoded FileDescriptorProto, when it came described (generated code, a
   * protobuf-es service): used as it is. */
  readonly descriptor?: Uint8Array;
  /** The bundled JSON, for a well-known file. */
  readonly json?: INamespace;
  /** Names of the files it imports, in import order (weak imports last). */
  readonly dependencies: readonly string[];
  /** Indices into `dependencies` of `import public` files. */
  readonly publicDependencies: readonly number[];
  /** Indices into `dependencies` of `import weak` files. */
  readonly weakDependencies: readonly number[];
}

/** The files of one load, each after the files it imports. */
export type ProtoSourceSet = readonly ProtoSourceFile[];

const sources = new WeakMap<ServiceDefinition, ProtoSourceSet>();

/** Records the files `service` was loaded from (codec.ts, at load time). */
export function recordProtoSources(service: ServiceDefinition, files: ProtoSourceSet): void {
  sources.set(service, files);
}

/** The files `service` was loaded from, or `undefined` for one built another way. */
export function protoSourcesOf(service: ServiceDefinition): ProtoSourceSet | undefined {
  return sources.get(service);
}

// The well-known files protobufjs bundles as JSON: which top-level names each declares (the
// JSON of api.proto and type.proto repeat some of their imports' types, so this decides), what
// each imports, and its syntax.
export const WELL_KNOWN_FILES: Readonly<
  Record<string, { names: readonly string[]; imports: readonly string[]; syntax: string }>
> = {
  "google/protobuf/any.proto": { names: ["Any"], imports: [], syntax: "proto3" },
  "google/protobuf/duration.proto": { names: ["Duration"], imports: [], syntax: "proto3" },
  "google/protobuf/empty.proto": { names: ["Empty"], imports: [], syntax: "proto3" },
  "google/protobuf/field_mask.proto": { names: ["FieldMask"], imports: [], syntax: "proto3" },
  "google/protobuf/struct.proto": {
    names: ["Struct", "Value", "NullValue", "ListValue"],
    imports: [],
    syntax: "proto3",
  },
  "google/protobuf/timestamp.proto": { names: ["Timestamp"], imports: [], syntax: "proto3" },
  "google/protobuf/wrappers.proto": {
    names: [
      "DoubleValue",
      "FloatValue",
      "Int64Value",
      "UInt64Value",
      "Int32Value",
      "UInt32Value",
      "BoolValue",
      "StringValue",
      "BytesValue",
    ],
    imports: [],
    syntax: "proto3",
  },
  "google/protobuf/source_context.proto": {
    names: ["SourceContext"],
    imports: [],
    syntax: "proto3",
  },
  "google/protobuf/type.proto": {
    names: ["Type", "Field", "Enum", "EnumValue", "Option", "Syntax"],
    imports: ["google/protobuf/any.proto", "google/protobuf/source_context.proto"],
    syntax: "proto3",
  },
  "google/protobuf/api.proto": {
    names: ["Api", "Method", "Mixin"],
    imports: ["google/protobuf/source_context.proto", "google/protobuf/type.proto"],
    syntax: "proto3",
  },
  // Everything else the bundled descriptor.json declares.
  "google/protobuf/descriptor.proto": { names: [], imports: [], syntax: "proto2" },
};
