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

/**
 * A protobuf-es v2 service (`DescService`, or the `GenService` that `protoc-gen-es` generates),
 * as far as this module relies on it: checked structurally, so that any copy of
 * `@bufbuild/protobuf` v2 works and this module's types do not carry protobuf-es's.
 *
 * @example A protobuf-es service from a registry
 * ```ts
 * import type { EsService } from "@seed/grpc";
 * import { create, createFileRegistry } from "@bufbuild/protobuf";
 * import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
 * import { assertEquals } from "@std/assert";
 *
 * const registry = createFileRegistry(
 *   create(FileDescriptorProtoSchema, {
 *     name: "p.proto",
 *     package: "p",
 *     syntax: "proto3",
 *     messageType: [{ name: "M" }],
 *     service: [{ name: "S", method: [{ name: "Do", inputType: ".p.M", outputType: ".p.M" }] }],
 *   }),
 *   () => undefined,
 * );
 * const service: EsService = registry.getService("p.S")!;
 * assertEquals(service.methods[0].methodKind, "unary");
 * ```
 */
export interface EsService {
  /** Always `"service"`. */
  readonly kind: "service";
  /** The fully qualified name, e.g. `"helloworld.Greeter"`. */
  readonly typeName: string;
  /** The methods, in `.proto` order. */
  readonly methods: readonly EsMethod[];
  /** The methods by local name (generated code types each one). */
  readonly method: Readonly<Record<string, EsMethod>>;
}

/** One method of an {@linkcode EsService} (protobuf-es `DescMethod`). */
export interface EsMethod {
  /** Always `"rpc"`. */
  readonly kind: "rpc";
  /** The name as written in the `.proto` file. */
  readonly name: string;
  /** lowerCamelCase name. */
  readonly localName: string;
  /** The method's kind. */
  readonly methodKind: "unary" | "server_streaming" | "client_streaming" | "bidi_streaming";
  /** The request message's schema (protobuf-es `DescMessage`). */
  readonly input: { readonly kind: "message"; readonly typeName: string };
  /** The response message's schema. */
  readonly output: { readonly kind: "message"; readonly typeName: string };
}

/**
 * The message type a protobuf-es generated schema (`GenMessage`) describes, read from its type
 * brand; `Record<string, unknown>` for a schema without one.
 *
 * @typeParam Schema A message schema, e.g. `typeof HelloRequestSchema`.
 */
export type EsMessageShape<Schema> = Schema extends { readonly $codegenv2: { a: infer Shape } }
  ? Shape
  : Record<string, unknown>;

/**
 * What protobuf-es's `create` accepts for a generated schema: the message itself, or its fields,
 * each optional (protobuf-es `MessageInitShape`).
 *
 * @typeParam Schema A message schema.
 */
export type EsMessageInit<Schema> = Schema extends { readonly $codegenv2: { a: infer Shape } } ?
    | Shape
    | {
      [P in keyof Shape as P extends "$typeName" | "$unknown" ? never : P]?: EsFieldInit<Shape[P]>;
    }
  : Record<string, unknown>;

/**
 * One field of an {@linkcode EsMessageInit}: messages (objects with a `$typeName`) as their init
 * objects, lists element by element.
 *
 * @typeParam F The field's type in the message.
 */
export type EsFieldInit<F> = F extends Uint8Array ? F
  : F extends readonly (infer E)[] ? EsFieldInit<E>[]
  : F extends { readonly $typeName: string } ?
      | F
      | {
        [P in keyof F as P extends "$typeName" | "$unknown" ? never : P]?: EsFieldInit<F[P]>;
      }
  : F;

/** Whether `service` is a protobuf-es `DescService` (a `GenService` is one). */
export function isDescService(service: unknown): service is EsService {
  if (typeof service !== "object" || service === null) return false;
  const s = service as Partial<EsService>;
  return s.kind === "service" && typeof s.typeName === "string" && Array.isArray(s.methods);
}

const definitions = new WeakMap<DescService, ServiceDefinition>();

/**
 * The service definition for a protobuf-es service: methods keyed by protobuf-es's `localName`
 * (`sayHello`), the path from the service's type name, codecs on `toBinary` / `fromBinary`.
 * Reflection serves the service's file (and its imports) as protobuf-es describes them.
 */
export function definitionFromDescService(es: EsService): ServiceDefinition {
  const service = es as unknown as DescService;
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
