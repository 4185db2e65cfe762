// Where the CLI gets descriptors: server reflection (v1, then v1alpha), or .proto files given
// with --proto. Either way the result is a protobuf-es registry, which does the proto3 JSON
// mapping (well-known types included) from descriptors.

import { create, createFileRegistry, type FileRegistry, fromBinary } from "@bufbuild/protobuf";
import {
  type DescriptorProto,
  type FieldDescriptorProto,
  type FileDescriptorProto,
  FileDescriptorProtoSchema,
  FileDescriptorSetSchema,
} from "@bufbuild/protobuf/wkt";
import { isAbsolute, join } from "node:path";
import type { CallOptions, ClientConn } from "../client.ts";
import { loadProto } from "../codec.ts";
import { protoSourcesOf } from "../internal/proto_sources.ts";
import { buildFileDescriptors } from "../protodesc/build.ts";
import { encodeFileDescriptorProto } from "../protodesc/descriptor_proto.ts";
import { ReflectionClient } from "../reflection/client.ts";
import { Code, StatusError } from "../status.ts";

/** Descriptors for the CLI's verbs. */
export interface DescriptorSource {
  /** Service names, sorted as the source gives them. */
  listServices(): Promise<string[]>;
  /**
   * A registry holding the file that declares `symbol` and everything it imports.
   * @throws {StatusError} NOT_FOUND for an unknown symbol.
   */
  registryFor(symbol: string): Promise<FileRegistry>;
  close(): void;
}

/** Descriptors from the server, over reflection. */
export class ReflectionSource implements DescriptorSource {
  readonly #client: ReflectionClient;
  readonly #files = new Map<string, FileDescriptorProto>();

  constructor(conn: ClientConn, options: CallOptions) {
    this.#client = new ReflectionClient(conn, options);
  }

  listServices(): Promise<string[]> {
    return this.#client.listServices();
  }

  async registryFor(symbol: string): Promise<FileRegistry> {
    this.#take(await this.#client.fileContainingSymbol(symbol));
    // The server skips imports it sent earlier on this stream; fetch any still missing.
    for (;;) {
      const missing = [...this.#files.values()].flatMap((f) => f.dependency).find((d) =>
        !this.#files.has(d)
      );
      if (missing === undefined) break;
      this.#take(await this.#client.fileByFilename(missing));
    }
    return registryOf(this.#files);
  }

  close(): void {
    this.#client.close();
  }

  #take(list: Uint8Array[]): void {
    for (const bytes of list) {
      const file = fromBinary(FileDescriptorProtoSchema, bytes);
      if (!this.#files.has(file.name)) this.#files.set(file.name, file);
    }
  }
}

/** Descriptors from .proto files (`--proto`, imports found through `-I`). */
export class ProtoFileSource implements DescriptorSource {
  readonly #registry: FileRegistry;

  private constructor(registry: FileRegistry) {
    this.#registry = registry;
  }

  /**
   * Loads the files.
   * @throws {StatusError} INVALID_ARGUMENT when a file cannot be loaded or declares no service.
   */
  static async load(paths: readonly string[], importPaths: readonly string[]) {
    const files = new Map<string, FileDescriptorProto>();
    for (const path of paths) {
      let services;
      try {
        services = await loadProto(await findProto(path, importPaths), {
          includeDirs: importPaths,
        });
      } catch (error) {
        throw new StatusError(Code.InvalidArgument, (error as Error).message, { cause: error });
      }
      const first = Object.values(services)[0];
      const sources = first === undefined ? undefined : protoSourcesOf(first);
      if (sources === undefined) {
        throw new StatusError(Code.InvalidArgument, `${path} declares no service`);
      }
      for (const fd of buildFileDescriptors(sources)) {
        if (files.has(fd.name)) continue;
        files.set(fd.name, fromBinary(FileDescriptorProtoSchema, encodeFileDescriptorProto(fd)));
      }
    }
    return new ProtoFileSource(registryOf(files));
  }

  listServices(): Promise<string[]> {
    const names: string[] = [];
    for (const type of this.#registry) if (type.kind === "service") names.push(type.typeName);
    return Promise.resolve(names.sort());
  }

  registryFor(symbol: string): Promise<FileRegistry> {
    const parent = symbol.includes(".") ? symbol.slice(0, symbol.lastIndexOf(".")) : "";
    if (this.#registry.get(symbol) === undefined && this.#registry.get(parent) === undefined) {
      return Promise.reject(new StatusError(Code.NotFound, `symbol not found: ${symbol}`));
    }
    return Promise.resolve(this.#registry);
  }

  close(): void {}
}

// protobuf-es wants every file after the files it imports, every type reference fully
// qualified (a leading dot) and every import listed. Some servers send less: grpc-js's
// @grpc/reflection sends one file per package, relative type names (descriptor.proto allows
// them, resolved with C++ scoping rules), no json_name and no dependencies. Repair that first.
function registryOf(files: ReadonlyMap<string, FileDescriptorProto>): FileRegistry {
  repairReferences(files);
  const ordered: FileDescriptorProto[] = [];
  const visited = new Set<string>();
  const visit = (name: string) => {
    const file = files.get(name);
    if (file === undefined || visited.has(name)) return;
    visited.add(name);
    for (const dep of file.dependency) visit(dep);
    ordered.push(file);
  };
  for (const name of files.keys()) visit(name);
  return createFileRegistry(create(FileDescriptorSetSchema, { file: ordered }));
}

function repairReferences(files: ReadonlyMap<string, FileDescriptorProto>): void {
  const types = new Map<string, FileDescriptorProto>(); // full name → declaring file
  const collect = (
    file: FileDescriptorProto,
    scope: string,
    messages: DescriptorProto[],
    enums: { name: string }[],
  ) => {
    for (const e of enums) types.set(`${scope}.${e.name}`, file);
    for (const m of messages) {
      types.set(`${scope}.${m.name}`, file);
      collect(file, `${scope}.${m.name}`, m.nestedType, m.enumType);
    }
  };
  for (const file of files.values()) {
    collect(file, file.package ? `.${file.package}` : "", file.messageType, file.enumType);
  }
  let current: FileDescriptorProto;
  // A reference to another file's type that the file does not import: import it.
  const use = (name: string) => {
    const declaring = types.get(name);
    if (declaring === undefined || declaring === current) return;
    if (!current.dependency.includes(declaring.name)) current.dependency.push(declaring.name);
  };
  // From the innermost scope outwards: scope.name, then the scope's parent, … then .name.
  const resolve = (scope: string, name: string): string => {
    if (name === "" || name.startsWith(".")) return name;
    for (let s = scope;; s = s.slice(0, s.lastIndexOf("."))) {
      if (types.has(`${s}.${name}`)) return `${s}.${name}`;
      if (s === "") return name; // unknown: left for protobuf-es to report
    }
  };
  const fields = (scope: string, list: FieldDescriptorProto[]) => {
    for (const f of list) {
      f.typeName = resolve(scope, f.typeName);
      f.extendee = resolve(scope, f.extendee);
      use(f.typeName);
      use(f.extendee);
      // protoc always sets json_name; without it protobuf-es would use "".
      if (f.jsonName === "") f.jsonName = f.name.replace(/_(.)/g, (_, c) => c.toUpperCase());
    }
  };
  const messages = (scope: string, list: DescriptorProto[]) => {
    for (const m of list) {
      const inner = `${scope}.${m.name}`;
      // protobufjs-based servers list each extension inside the extended message too, named
      // by its full name; the extension itself is declared where it belongs.
      m.field = m.field.filter((f) => !f.name.startsWith("."));
      fields(inner, m.field);
      fields(inner, m.extension);
      messages(inner, m.nestedType);
    }
  };
  for (const file of files.values()) {
    current = file;
    const scope = file.package ? `.${file.package}` : "";
    messages(scope, file.messageType);
    fields(scope, file.extension);
    for (const service of file.service) {
      for (const m of service.method) {
        m.inputType = resolve(scope, m.inputType);
        m.outputType = resolve(scope, m.outputType);
        use(m.inputType);
        use(m.outputType);
      }
    }
  }
}

// Like protoc and grpcurl: a --proto file is looked up in the import paths too.
async function findProto(path: string, importPaths: readonly string[]): Promise<string> {
  if (isAbsolute(path)) return path;
  for (const dir of importPaths) {
    const candidate = join(dir, path);
    if (await Deno.stat(candidate).then(() => true, () => false)) return candidate;
  }
  return path;
}
