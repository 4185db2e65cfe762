// Loading `.proto` files: loadProto / loadProtoSync, import lookup as @grpc/proto-loader does it
// (bundled well-known types, then includeDirs, then the importing file's directory), and
// parse errors that name the file.

import protobuf from "protobufjs";
import type { INamespace, IParserResult, Root } from "protobufjs";
import apiJson from "protobufjs/google/protobuf/api.json" with { type: "json" };
import descriptorJson from "protobufjs/google/protobuf/descriptor.json" with { type: "json" };
import sourceContextJson from "protobufjs/google/protobuf/source_context.json" with {
  type: "json",
};
import typeJson from "protobufjs/google/protobuf/type.json" with { type: "json" };
import { basename, dirname, isAbsolute, join, normalize, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { ServiceDefinition } from "../codec.ts";
import {
  booleanOption,
  type CodecOptions,
  DEFAULT_KEEP_CASE,
  protobufErrorMessage,
  resolveCodecOptions,
  type ResolvedCodecOptions,
} from "./protobuf.ts";
import { collectServices } from "./services.ts";
import {
  type ProtoSourceFile,
  recordProtoSources,
  WELL_KNOWN_FILES,
} from "../internal/proto_sources.ts";

/**
 * Options of {@linkcode loadProto} and {@linkcode loadProtoSync}: how to parse and find `.proto`
 * files, plus the {@linkcode CodecOptions} of the codecs made from them.
 *
 * @example Load a file whose imports live in another directory
 * ```ts
 * import { loadProto } from "@seed/grpc";
 * import { assertEquals } from "@std/assert";
 *
 * const dir = await Deno.makeTempDir();
 * try {
 *   await Deno.mkdir(`${dir}/common`);
 *   await Deno.writeTextFile(
 *     `${dir}/common/money.proto`,
 *     `syntax = "proto3"; package common; message Money { int64 cents = 1; }`,
 *   );
 *   const services = await loadProto({
 *     source: `syntax = "proto3";
 *       import "common/money.proto";
 *       service Bank { rpc Balance (common.Money) returns (common.Money); }`,
 *   }, { includeDirs: [dir], keepCase: true });
 *   const balance = services["Bank"].methods.balance;
 *   assertEquals(balance.responseCodec.decode(balance.requestCodec.encode({ cents: 5 })), {
 *     cents: "5",
 *   });
 * } finally {
 *   await Deno.remove(dir, { recursive: true });
 * }
 * ```
 */
export interface LoadProtoOptions extends CodecOptions {
  /**
   * Keep field names as written in the `.proto` file (`point_count`). When `false`, fields are
   * renamed to lowerCamelCase (`pointCount`), both in objects passed to `encode` and in decoded
   * ones. It applies while parsing, so {@linkcode servicesFromRoot} has no such option.
   * The bundled well-known types have fixed field names, as protobufjs bundles them
   * (`google.protobuf.Any` has `type_url`, `google.protobuf.Value` has `stringValue`).
   * @default {false}
   */
  keepCase?: boolean;
  /**
   * Directories searched, in order, for files named by `import` statements, before the
   * importing file's own directory (a `{ source }` input has none). Relative paths are relative
   * to the current working directory; a `URL` must be a `file:` URL.
   * @default {[]}
   */
  includeDirs?: readonly (string | URL)[];
}

/**
 * What {@linkcode loadProto} reads: a file path (relative to the current working directory), a
 * `file:` URL, or `.proto` text with an optional `name` used in error messages.
 *
 * @example The three forms
 * ```ts
 * import type { ProtoInput } from "@seed/grpc";
 *
 * const inputs: ProtoInput[] = [
 *   "examples/helloworld/hello.proto",
 *   new URL("file:///srv/protos/hello.proto"),
 *   { source: `syntax = "proto3"; message Empty {}`, name: "empty.proto" },
 * ];
 * ```
 */
export type ProtoInput = string | URL | {
  /** The `.proto` text. */
  readonly source: string;
  /**
   * Name shown in error messages, and the file's name in server reflection (give it the path
   * importers would use, e.g. `"shop/v1/cart.proto"`; without one reflection calls it
   * `source_N.proto`). @default {"<source>"}
   */
  readonly name?: string;
};

/**
 * Loads a `.proto` file and everything it imports, and returns the services found in them (in
 * any package, at any depth).
 *
 * Imports are looked up first among Google's well-known types bundled with protobufjs
 * (`google/protobuf/any.proto`, `duration`, `empty`, `field_mask`, `struct`, `timestamp`,
 * `wrappers`, `descriptor`, `api`, `type`, `source_context`), then in each of
 * `options.includeDirs`, then in the importing file's directory. A `{ source }` input has no
 * directory, so its own imports are found only in the first two places. Reading files needs
 * `--allow-read`.
 *
 * @param input A path, a `file:` URL or `{ source, name? }`.
 * @param options Parsing, import lookup and codec options.
 * @returns The services, keyed by fully qualified name (`"helloworld.Hello"`).
 * @throws {Deno.errors.NotFound} The file, or a file it imports, does not exist.
 * @throws {SyntaxError} A file is not valid `.proto` text (the message names the file and line),
 *   or it uses a type that is not defined (the message names the file).
 * @throws {TypeError} An option has the wrong type, a URL is not a `file:` URL, or a service has
 *   two methods whose local names collide.
 * @throws {RangeError} `longs` or `enums` is not one of its allowed values.
 *
 * @example Load a service from a file and encode a request
 * ```ts
 * import { loadProto } from "@seed/grpc";
 * import { assertEquals } from "@std/assert";
 *
 * const dir = await Deno.makeTempDir();
 * try {
 *   await Deno.writeTextFile(
 *     `${dir}/hello.proto`,
 *     `syntax = "proto3";
 *     package helloworld;
 *     service Hello { rpc SayHello (HelloReq) returns (HelloRep); }
 *     message HelloReq { string name = 1; }
 *     message HelloRep { string message = 1; }`,
 *   );
 *   const services = await loadProto(`${dir}/hello.proto`);
 *   const sayHello = services["helloworld.Hello"].methods.sayHello;
 *   assertEquals(sayHello.path, "/helloworld.Hello/SayHello");
 *   assertEquals([...sayHello.requestCodec.encode({ name: "world" })], [
 *     0x0a, 0x05, 0x77, 0x6f, 0x72, 0x6c, 0x64,
 *   ]);
 * } finally {
 *   await Deno.remove(dir, { recursive: true });
 * }
 * ```
 *
 * @example Load a service from text
 * ```ts
 * import { loadProto } from "@seed/grpc";
 * import { assertEquals } from "@std/assert";
 *
 * const services = await loadProto({
 *   source: `syntax = "proto3";
 *     import "google/protobuf/empty.proto";
 *     package health;
 *     service Pinger { rpc Ping (google.protobuf.Empty) returns (google.protobuf.Empty); }`,
 *   name: "pinger.proto",
 * });
 * assertEquals(Object.keys(services), ["health.Pinger"]);
 * ```
 */
export async function loadProto(
  input: ProtoInput,
  options?: LoadProtoOptions,
): Promise<Record<string, ServiceDefinition>> {
  const [loader, codecOptions] = startLoad(input, options);
  let step = loader.generator.next();
  while (!step.done) step = loader.generator.next(await readProtoFile(step.value));
  return finishLoad(loader, codecOptions);
}

/**
 * Synchronous {@linkcode loadProto}: the same lookup, results and errors, reading files with
 * `Deno.readTextFileSync`. Suits module top level and startup code.
 *
 * @param input A path, a `file:` URL or `{ source, name? }`.
 * @param options Parsing, import lookup and codec options.
 * @returns The services, keyed by fully qualified name (`"helloworld.Hello"`).
 * @throws {Deno.errors.NotFound} The file, or a file it imports, does not exist.
 * @throws {SyntaxError} A file is not valid `.proto` text (the message names the file and line),
 *   or it uses a type that is not defined (the message names the file).
 * @throws {TypeError} An option has the wrong type, a URL is not a `file:` URL, or a service has
 *   two methods whose local names collide.
 * @throws {RangeError} `longs` or `enums` is not one of its allowed values.
 *
 * @example Load text synchronously, keeping field names as written
 * ```ts
 * import { loadProtoSync } from "@seed/grpc";
 * import { assertEquals } from "@std/assert";
 *
 * const services = loadProtoSync({
 *   source: `syntax = "proto3";
 *     service Stats { rpc Get (Query) returns (Summary); }
 *     message Query {}
 *     message Summary { int32 point_count = 1; }`,
 * }, { keepCase: true });
 * const codec = services["Stats"].methods.get.responseCodec;
 * assertEquals(codec.decode(codec.encode({ point_count: 3 })), { point_count: 3 });
 * ```
 */
export function loadProtoSync(
  input: ProtoInput,
  options?: LoadProtoOptions,
): Record<string, ServiceDefinition> {
  const [loader, codecOptions] = startLoad(input, options);
  let step = loader.generator.next();
  while (!step.done) step = loader.generator.next(readProtoFileSync(step.value));
  return finishLoad(loader, codecOptions);
}

/** What the code generator loads: the root (types unresolved), every file, the entries' names. */
export interface LoadedFiles {
  readonly root: Root;
  /** Every file loaded, each after its imports. */
  readonly files: readonly ProtoSourceFile[];
  /** The entry files' names as importers write them (relative to their include directory). */
  readonly entries: readonly string[];
}

/**
 * Loads several entry files into one root with loadProto's import lookup, keeping comments
 * (`//` and `/* *\/` as well as doc comments) on the parsed objects. For the code generator.
 */
export function loadFilesSync(
  paths: readonly string[],
  options: { readonly includeDirs?: readonly string[]; readonly keepCase?: boolean },
): LoadedFiles {
  const state: LoadState = {
    root: new protobuf.Root(),
    includeDirs: (options.includeDirs ?? []).map((dir) => resolve(dir)),
    parseOptions: { keepCase: options.keepCase ?? DEFAULT_KEEP_CASE, alternateCommentMode: true },
    loaded: new Set(),
    files: [],
    names: new Map(),
  };
  const entries: string[] = [];
  for (const input of paths) {
    const path = resolve(input);
    if (state.loaded.has(path)) {
      entries.push(state.names.get(path)!);
      continue;
    }
    const generator = loadEntryFile(state, path);
    let step = generator.next();
    while (!step.done) step = generator.next(readProtoFileSync(step.value));
    entries.push(state.names.get(path)!);
  }
  stampFileNames(state);
  return { root: state.root, files: state.files, entries };
}

// protobufjs stamps parsed objects with the path they were parsed from, and bundled ones with
// nothing: give every top-level declaration its file's name as importers write it.
function stampFileNames(state: LoadState): void {
  const wellKnown = new Map<string, string>();
  for (const file of state.files) {
    if (file.source !== undefined) continue;
    for (const name of WELL_KNOWN_FILES[file.name]?.names ?? []) wellKnown.set(name, file.name);
  }
  const hasDescriptor = state.files.some((f) => f.name === "google/protobuf/descriptor.proto");
  const visit = (ns: protobuf.Namespace, pkg: string) => {
    for (const object of ns.nestedArray) {
      const isType = object instanceof protobuf.Type || object instanceof protobuf.Enum ||
        object instanceof protobuf.Service;
      if (isType) {
        if (object.filename) object.filename = state.names.get(object.filename) ?? object.filename;
        else if (pkg === "google.protobuf") {
          object.filename = wellKnown.get(object.name) ??
            (hasDescriptor ? "google/protobuf/descriptor.proto" : null);
        }
        if (object instanceof protobuf.Type) stampNested(object, object.filename);
      } else if (object instanceof protobuf.Namespace) {
        visit(object, pkg === "" ? object.name : `${pkg}.${object.name}`);
      }
    }
  };
  visit(state.root, "");
}

function stampNested(type: protobuf.Namespace, filename: string | null): void {
  for (const object of type.nestedArray) {
    object.filename = filename;
    if (object instanceof protobuf.Namespace) stampNested(object, filename);
  }
}

// ---------------------------------------------------------------------------------------------
// Loading files
//
// One generator does the whole load; it yields each path it wants read and receives the text,
// or null when there is no such file. loadProto drives it with async reads, loadProtoSync with
// sync ones, so both share every rule.

// Google's well-known types: those protobufjs bundles (protobuf.common), plus the four
// @grpc/proto-loader adds from the JSON files protobufjs ships.
const EXTRA_BUNDLED: Readonly<Record<string, INamespace>> = {
  "google/protobuf/api.proto": apiJson as INamespace,
  "google/protobuf/descriptor.proto": descriptorJson as INamespace,
  "google/protobuf/source_context.proto": sourceContextJson as INamespace,
  "google/protobuf/type.proto": typeJson as INamespace,
};

/** The protobufjs JSON of a well-known file (`google/protobuf/timestamp.proto`), or null. */
export function bundledProto(name: string): INamespace | null {
  return bundled(name)?.[1] ?? null;
}

function bundled(target: string): [name: string, json: INamespace] | null {
  // Like protobufjs Root.load: any path ending in google/protobuf/<file> names the bundled file.
  const at = target.lastIndexOf("google/protobuf/");
  if (at < 0) return null;
  const name = target.slice(at);
  const json = EXTRA_BUNDLED[name] ?? (protobuf.common.get(name) as INamespace | null);
  return json ? [name, json] : null;
}

interface Loader {
  readonly root: Root;
  /** Every file loaded, each after its imports (for reflection; internal/proto_sources.ts). */
  readonly files: ProtoSourceFile[];
  readonly generator: Generator<string, void, string | null>;
}

function startLoad(
  input: ProtoInput,
  options: LoadProtoOptions | undefined,
): [Loader, ResolvedCodecOptions] {
  const codecOptions = resolveCodecOptions(options);
  const keepCase = booleanOption(options?.keepCase, "keepCase", DEFAULT_KEEP_CASE);
  const includeDirs = options?.includeDirs ?? [];
  if (!Array.isArray(includeDirs)) {
    throw new TypeError(
      `Cannot use includeDirs option: value is ${typeof includeDirs}, expected array`,
    );
  }
  const state: LoadState = {
    root: new protobuf.Root(),
    includeDirs: includeDirs.map((dir) => resolve(toPath(dir, "includeDirs entry"))),
    parseOptions: { keepCase },
    loaded: new Set(),
    files: [],
    names: new Map(),
  };
  let generator: Generator<string, void, string | null>;
  if (typeof input === "object" && !(input instanceof URL)) {
    if (typeof input?.source !== "string") {
      throw new TypeError(
        `Cannot load proto: input.source is ${typeof input?.source}, expected string`,
      );
    }
    const name = input.name ?? "<source>";
    // Reflection needs a file name; an unnamed source gets one of its own.
    const fileName = input.name ?? `source_${++unnamedSources}.proto`;
    generator = loadText(state, name, input.source, undefined, fileName);
  } else {
    generator = loadEntryFile(state, resolve(toPath(input, "input")));
  }
  return [{ root: state.root, generator, files: state.files }, codecOptions];
}

function finishLoad(
  loader: Loader,
  options: ResolvedCodecOptions,
): Record<string, ServiceDefinition> {
  const services = collectServices(loader.root, options);
  const files = Object.freeze(loader.files);
  for (const service of Object.values(services)) recordProtoSources(service, files);
  return services;
}

interface LoadState {
  readonly root: Root;
  readonly includeDirs: readonly string[];
  readonly parseOptions: { readonly keepCase: boolean; readonly alternateCommentMode?: boolean };
  /** Absolute paths and bundled names already loaded (or being loaded). */
  readonly loaded: Set<string>;
  /** The files loaded so far, each after its imports. */
  readonly files: ProtoSourceFile[];
  /** Absolute path (or bundled name) → the file's name as importers write it. */
  readonly names: Map<string, string>;
}

let unnamedSources = 0;

// The entry file's name as protoc would give it: relative to the first include directory that
// holds it, else its base name.
function entryFileName(state: LoadState, path: string): string {
  for (const dir of state.includeDirs) {
    const rel = relative(dir, path);
    if (rel !== "" && !rel.startsWith("..") && !isAbsolute(rel)) return rel;
  }
  return basename(path);
}

// A bundled well-known file and the bundled files it imports, recorded once each.
function recordBundled(state: LoadState, name: string): void {
  if (state.names.has(name)) return;
  state.names.set(name, name);
  const info = WELL_KNOWN_FILES[name];
  const imports = info?.imports ?? [];
  for (const dep of imports) recordBundled(state, dep);
  state.files.push({
    name,
    json: bundled(name)?.[1],
    dependencies: imports,
    publicDependencies: [],
    weakDependencies: [],
  });
}

// `import public "x";` targets (protobufjs lists them with the plain imports).
function publicImports(text: string): Set<string> {
  const found = new Set<string>();
  for (const m of text.matchAll(/\bimport\s+public\s+"([^"]+)"/g)) found.add(m[1]);
  return found;
}

function* loadEntryFile(state: LoadState, path: string): Generator<string, void, string | null> {
  const text = yield path;
  if (text === null) throw new Deno.errors.NotFound(`Cannot load proto: no file at ${path}`);
  state.loaded.add(path);
  yield* loadText(state, path, text, dirname(path), entryFileName(state, path));
}

function* loadText(
  state: LoadState,
  name: string,
  text: string,
  directory: string | undefined,
  fileName: string,
): Generator<string, void, string | null> {
  state.names.set(name, fileName);
  const parsed = parseInto(state, name, text);
  const dependencies: string[] = [];
  const publicDependencies: number[] = [];
  const weakDependencies: number[] = [];
  const publicTargets = publicImports(text);
  for (const target of parsed.imports ?? []) {
    const dep = yield* loadImport(state, target, name, directory, false);
    if (publicTargets.has(target)) publicDependencies.push(dependencies.length);
    if (dep !== undefined) dependencies.push(dep);
  }
  for (const target of parsed.weakImports ?? []) {
    const dep = yield* loadImport(state, target, name, directory, true);
    if (dep === undefined) continue;
    weakDependencies.push(dependencies.length);
    dependencies.push(dep);
  }
  state.files.push({
    name: fileName,
    source: text,
    dependencies,
    publicDependencies,
    weakDependencies,
  });
}

function* loadImport(
  state: LoadState,
  target: string,
  importer: string,
  directory: string | undefined,
  weak: boolean,
): Generator<string, string | undefined, string | null> {
  const known = bundled(target);
  if (known !== null) {
    const [name, json] = known;
    recordBundled(state, name);
    if (state.loaded.has(name)) return name;
    state.loaded.add(name);
    if (json.nested) state.root.addJSON(json.nested);
    return name;
  }
  const candidates = isAbsolute(target)
    ? [target]
    : [...state.includeDirs, ...(directory === undefined ? [] : [directory])].map((dir) =>
      join(dir, target)
    );
  for (const path of candidates) {
    // The first existing candidate wins, so if it was loaded already there is nothing to do.
    if (state.loaded.has(path)) return state.names.get(path);
    const text = yield path;
    if (text === null) continue;
    state.loaded.add(path);
    const fileName = isAbsolute(target) ? basename(target) : normalize(target);
    yield* loadText(state, path, text, dirname(path), fileName);
    return fileName;
  }
  if (weak) return undefined;
  throw new Deno.errors.NotFound(
    `Cannot find "${target}" imported by ${importer}: looked in ${
      candidates.length ? candidates.join(", ") : "no directories (no includeDirs given)"
    }`,
  );
}

// protobufjs keeps the file being parsed in a global; it stamps parsed objects with it (for
// describeResolveError) and puts it into syntax errors.
const parseState = protobuf.parse as unknown as { filename: string | null };

function parseInto(state: LoadState, name: string, text: string): IParserResult {
  parseState.filename = name;
  try {
    return protobuf.parse(text, state.root, state.parseOptions);
  } catch (error) {
    // Errors read "illegal token 'x' (<file>, line 3)", tokenizer ones "… (line 3)".
    const message = protobufErrorMessage(error).replace(`(${name}, line`, "(line");
    throw new SyntaxError(`Cannot parse ${name}: ${message}`, { cause: error });
  } finally {
    parseState.filename = null;
  }
}

async function readProtoFile(path: string): Promise<string | null> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
}

function readProtoFileSync(path: string): string | null {
  try {
    return Deno.readTextFileSync(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
}

function toPath(value: unknown, what: string): string {
  if (typeof value === "string") return value;
  if (value instanceof URL) {
    if (value.protocol !== "file:") {
      throw new TypeError(`Cannot load proto from ${value.href}: ${what} must be a file: URL`);
    }
    return fileURLToPath(value);
  }
  throw new TypeError(`Cannot load proto: ${what} is ${typeof value}, expected string or URL`);
}
