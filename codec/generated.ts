// The run-time side of generated code (codegen/): a generated file embeds its
// FileDescriptorProto and calls defineProtoFile; its service constants come from
// ProtoFile.service. The protobufjs types are rebuilt from the descriptors (codec/
// descriptor_json.ts), well-known files from protobufjs's bundled JSON as loadProto takes them,
// so generated codecs are loadProto's codecs, and no .proto file is read at run time.

import protobuf from "protobufjs";
import type { Root } from "protobufjs";
import type { Codec, ServiceDefinition } from "../codec.ts";
import { decodeFileDescriptorProto } from "../protodesc/descriptor_proto.ts";
import { type ProtoSourceFile, recordProtoSources } from "../internal/proto_sources.ts";
import { descriptorToJson } from "./descriptor_json.ts";
import {
  booleanOption,
  codecFor,
  type CodecOptions,
  DEFAULT_KEEP_CASE,
  protobufErrorMessage,
  resolveCodecOptions,
  type ResolvedCodecOptions,
} from "./protobuf.ts";
import { collectServices } from "./services.ts";
import { bundledProto } from "./proto_loader.ts";

/**
 * The codec options a file was generated with: {@linkcode CodecOptions} plus `keepCase` (as in
 * `loadProto`). Generated types describe exactly these, so they are fixed at generation time.
 *
 * @example Options as a generated file passes them
 * ```ts
 * import type { GeneratedCodecOptions } from "@seed/grpc";
 *
 * const options: GeneratedCodecOptions = { longs: "bigint", enums: "number", keepCase: false };
 * ```
 */
export interface GeneratedCodecOptions extends CodecOptions {
  /**
   * Field names as written in the `.proto` file, not lowerCamelCase.
   * @default {false}
   */
  keepCase?: boolean;
}

/**
 * One `.proto` file as generated code carries it: its descriptor and the files it imports.
 * Generated files make one with {@linkcode defineProtoFile} and take their service definitions
 * and codecs from it; applications rarely touch it.
 *
 * @example A file from its descriptor (generated code writes the base64 text)
 * ```ts
 * import { defineProtoFile, type MethodDefinition, type ServiceDefinition } from "@seed/grpc";
 * import { assertEquals } from "@std/assert";
 *
 * // FileDescriptorProto of: syntax = "proto3"; package p; message M { string v = 1; }
 * //   service S { rpc Do (M) returns (M); }
 * const file = defineProtoFile(
 *   "CgdwLnByb3RvEgFwIhEKAU0SDAoBdhgBIAEoCVIBdjIVCgFTEhAKAkRvEgQucC5NGgQucC5NYgZwcm90bzM=",
 *   [],
 * );
 * type M = { v: string };
 * const S = file.service<ServiceDefinition<{ do: MethodDefinition<M, M, false, false> }>>("p.S");
 * assertEquals(S.methods.do.path, "/p.S/Do");
 * assertEquals(file.codec<M>("p.M").decode(file.codec<M>("p.M").encode({ v: "x" })), { v: "x" });
 * ```
 */
export class ProtoFile {
  /** The file's name as importers write it, e.g. `"helloworld/hello.proto"`. */
  readonly name: string;
  /** Its encoded `google.protobuf.FileDescriptorProto`. */
  readonly descriptor: Uint8Array;
  /** The files it imports, in import order. */
  readonly imports: readonly ProtoFile[];
  readonly #options: ResolvedCodecOptions;
  readonly #keepCase: boolean;
  #root: Root | undefined;
  #services: Record<string, ServiceDefinition> | undefined;

  /**
   * Use {@linkcode defineProtoFile}.
   * @param descriptor The encoded FileDescriptorProto.
   * @param imports The files it imports.
   * @param options The codec options the file was generated with.
   */
  constructor(
    descriptor: Uint8Array,
    imports: readonly ProtoFile[],
    options: GeneratedCodecOptions = {},
  ) {
    this.descriptor = descriptor;
    this.name = decodeFileDescriptorProto(descriptor).name;
    this.imports = imports;
    this.#options = resolveCodecOptions(options);
    this.#keepCase = booleanOption(options.keepCase, "keepCase", DEFAULT_KEEP_CASE);
  }

  /**
   * A service declared in this file, as a definition for `Server.addService` and
   * `createClient`. Generated code gives `S`, the definition's exact type.
   *
   * @typeParam S The definition's type.
   * @param name The fully qualified name, e.g. `"helloworld.Greeter"`.
   * @returns The definition (the same object on every call).
   * @throws {TypeError} The file declares no such service.
   */
  // deno-lint-ignore no-explicit-any
  service<S extends ServiceDefinition<any>>(name: string): S {
    this.#services ??= this.#collect();
    const service = this.#services[name];
    if (service === undefined) {
      throw new TypeError(`Cannot find service ${name} in ${this.name}`);
    }
    return service as S;
  }

  /**
   * The codec of a message type declared in this file or one it imports.
   *
   * @typeParam T The decoded message type.
   * @typeParam In What `encode` accepts.
   * @param typeName The fully qualified name, e.g. `"helloworld.HelloRequest"`.
   * @returns The codec (cached).
   * @throws {TypeError} No such message type.
   */
  codec<T, In = T>(typeName: string): Codec<T, In> {
    const type = this.#rootOf().lookup(typeName);
    if (!(type instanceof protobuf.Type)) {
      throw new TypeError(`Cannot find message ${typeName} from ${this.name}`);
    }
    return codecFor(type, this.#options) as Codec<T, In>;
  }

  #collect(): Record<string, ServiceDefinition> {
    const root = this.#rootOf();
    const all = collectServices(root, this.#options);
    const own: Record<string, ServiceDefinition> = {};
    const sources = this.#sources();
    for (const [name, service] of Object.entries(all)) {
      const declared = root.lookup(name);
      if (declared?.filename !== this.name) continue;
      recordProtoSources(service, sources);
      own[name] = service;
    }
    return own;
  }

  #rootOf(): Root {
    if (this.#root !== undefined) return this.#root;
    const root = new protobuf.Root();
    const added = new Set<string>();
    for (const file of this.#closure()) {
      if (added.has(file.name)) continue;
      added.add(file.name);
      const bundled = bundledProto(file.name);
      try {
        const before = new Set(namesIn(root));
        if (bundled !== null) {
          if (bundled.nested) root.addJSON(bundled.nested);
        } else {
          const json = descriptorToJson(decodeFileDescriptorProto(file.descriptor), this.#keepCase);
          if (json.nested) root.addJSON(json.nested);
        }
        for (const object of namesIn(root)) if (!before.has(object)) object.filename = file.name;
      } catch (error) {
        throw new SyntaxError(`Cannot define ${file.name}: ${protobufErrorMessage(error)}`, {
          cause: error,
        });
      }
    }
    this.#root = root;
    return root;
  }

  // This file and every file it imports, each after its imports.
  #closure(): ProtoFile[] {
    const out: ProtoFile[] = [];
    const seen = new Set<ProtoFile>();
    const visit = (file: ProtoFile) => {
      if (seen.has(file)) return;
      seen.add(file);
      for (const dep of file.imports) visit(dep);
      out.push(file);
    };
    visit(this);
    return out;
  }

  #sources(): ProtoSourceFile[] {
    return this.#closure().map((file) => {
      const fd = decodeFileDescriptorProto(file.descriptor);
      return {
        name: file.name,
        descriptor: file.descriptor,
        dependencies: fd.dependency,
        publicDependencies: fd.public_dependency,
        weakDependencies: fd.weak_dependency,
      };
    });
  }
}

// Every type, enum and service under `root` (namespaces excluded), for stamping file names.
function* namesIn(ns: protobuf.Namespace): Generator<protobuf.ReflectionObject> {
  for (const object of ns.nestedArray) {
    if (object instanceof protobuf.Type || object instanceof protobuf.Enum) yield object;
    if (object instanceof protobuf.Service) yield object;
    if (object instanceof protobuf.Namespace && !(object instanceof protobuf.Service)) {
      yield* namesIn(object);
    }
  }
}

/**
 * Defines a `.proto` file from its embedded descriptor: what a generated file calls once, at
 * its top level. Needs no file system access.
 *
 * @param descriptor The file's `google.protobuf.FileDescriptorProto`, base64-encoded.
 * @param imports The {@linkcode ProtoFile}s of the files it imports (from their generated
 *   modules).
 * @param options The codec options it was generated with.
 * @returns The file.
 * @throws {TypeError} An option has the wrong type.
 *
 * @example Define a file
 * ```ts
 * import { defineProtoFile } from "@seed/grpc";
 * import { assertEquals } from "@std/assert";
 *
 * const file = defineProtoFile(
 *   "CgdwLnByb3RvEgFwIhEKAU0SDAoBdhgBIAEoCVIBdjIVCgFTEhAKAkRvEgQucC5NGgQucC5NYgZwcm90bzM=",
 *   [],
 * );
 * assertEquals(file.name, "p.proto");
 * ```
 */
export function defineProtoFile(
  descriptor: string,
  imports: readonly ProtoFile[],
  options?: GeneratedCodecOptions,
): ProtoFile {
  const binary = atob(descriptor);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return new ProtoFile(bytes, imports, options);
}
