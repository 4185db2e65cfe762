// protobuf-es v2 services (what protoc-gen-es generates for Connect-ES users) as our service
// definitions: a DescService becomes a ServiceDefinition whose codecs call protobuf-es's
// toBinary / fromBinary, so the rest of the library sees the one Codec interface. Definitions
// are made once per DescService and cached; the protobufjs path never comes here.

import {
  create,
  type DescFile,
  type DescMessage,
  type DescMethod,
  type DescService,
  fromBinary,
  isMessage,
  toBinary,
} from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import type { Codec, MethodDefinition, ServiceDefinition } from "../codec.ts";
import { errorMessage } from "../internal/error_message.ts";
import { type ProtoSourceFile, recordProtoSources } from "../internal/proto_sources.ts";

/** Whether `service` is a protobuf-es `DescService` (a `GenService` is one). */
export function isDescService(service: unknown): service is DescService {
  if (typeof service !== "object" || service === null) return false;
  const s = service as Partial<DescService>;
  return s.kind === "service" && typeof s.typeName === "string" && Array.isArray(s.methods);
}

const definitions = new WeakMap<DescService, ServiceDefinition>();

/**
 * The service definition for a protobuf-es service: methods keyed by protobuf-es's `localName`
 * (`sayHello`), the path from the service's type name, codecs on `toBinary` / `fromBinary`.
 * Reflection serves the service's file (and its imports) as protobuf-es describes them.
 */
export function definitionFromDescService(service: DescService): ServiceDefinition {
  let definition = definitions.get(service);
  if (definition !== undefined) return definition;
  const methods: Record<string, MethodDefinition> = {};
  for (const m of service.methods) methods[m.localName] = methodDefinition(service, m);
  definition = Object.freeze({ name: service.typeName, methods: Object.freeze(methods) });
  recordProtoSources(definition, sourcesOf(service.file));
  definitions.set(service, definition);
  return definition;
}

function methodDefinition(service: DescService, m: DescMethod): MethodDefinition {
  return Object.freeze({
    name: m.name,
    localName: m.localName,
    path: `/${service.typeName}/${m.name}`,
    requestStream: m.methodKind === "client_streaming" || m.methodKind === "bidi_streaming",
    responseStream: m.methodKind === "server_streaming" || m.methodKind === "bidi_streaming",
    requestCodec: esCodec(m.input),
    responseCodec: esCodec(m.output),
  });
}

const codecs = new WeakMap<DescMessage, Codec<unknown>>();

/**
 * A codec on protobuf-es: `encode` takes a message of the schema or an init object
 * (`create(schema, init)` first), `decode` returns a message.
 */
export function esCodec(schema: DescMessage): Codec<unknown> {
  let codec = codecs.get(schema);
  if (codec === undefined) {
    codec = {
      encode(value: unknown): Uint8Array {
        try {
          const message = isMessage(value, schema)
            ? value
            : create(schema, value as Record<string, unknown>);
          return toBinary(schema, message);
        } catch (error) {
          throw new TypeError(`Cannot encode ${schema.typeName}: ${errorMessage(error)}`, {
            cause: error,
          });
        }
      },
      decode(bytes: Uint8Array): unknown {
        try {
          return fromBinary(schema, bytes);
        } catch (error) {
          throw new TypeError(`Cannot decode ${schema.typeName}: ${errorMessage(error)}`, {
            cause: error,
          });
        }
      },
    };
    codecs.set(schema, codec);
  }
  return codec;
}

// The file and everything it imports, each after its imports, as encoded descriptors.
function sourcesOf(file: DescFile): ProtoSourceFile[] {
  const out: ProtoSourceFile[] = [];
  const seen = new Set<string>();
  const visit = (f: DescFile) => {
    if (seen.has(f.name)) return;
    seen.add(f.name);
    for (const dep of f.dependencies) visit(dep);
    const proto = f.proto;
    out.push({
      name: proto.name,
      descriptor: toBinary(FileDescriptorProtoSchema, proto),
      dependencies: [...proto.dependency],
      publicDependencies: [...proto.publicDependency],
      weakDependencies: [...proto.weakDependency],
    });
  };
  visit(file);
  return out;
}
