// Protocol Buffers for gRPC: `.proto` loading and message codecs, on protobufjs reflection.
//
// What it does, and where the semantics come from:
// - `loadProto` / `loadProtoSync` parse a `.proto` file and its imports into one protobufjs
//   `Root`, then `servicesFromRoot` turns every `service` in it into a `ServiceDefinition` (the
//   shape grpc-js's `@grpc/proto-loader` produces, keyed by fully qualified name).
// - Import lookup follows @grpc/proto-loader: Google's well-known types bundled with protobufjs
//   (plus descriptor/api/type/source_context, which proto-loader adds) first, then each of
//   `includeDirs` in order, then the importing file's own directory.
// - Codec options are protobufjs `IConversionOptions` spelled as strings ("string" rather than the
//   `String` constructor). The defaults are the combination grpc-js's examples pass to
//   proto-loader, not proto-loader's own defaults (see `CodecOptions`).
// - Encoding is `Type.fromObject` then `Type.encode().finish()`, exactly what proto-loader's
//   serializers do, so objects are coerced the same way grpc-js users are used to.

import protobuf from "protobufjs";
import type {
  IConversionOptions,
  INamespace,
  IParserResult,
  Namespace,
  Root,
  Service,
  Type,
} from "protobufjs";
import apiJson from "protobufjs/google/protobuf/api.json" with { type: "json" };
import descriptorJson from "protobufjs/google/protobuf/descriptor.json" with { type: "json" };
import sourceContextJson from "protobufjs/google/protobuf/source_context.json" with {
  type: "json",
};
import typeJson from "protobufjs/google/protobuf/type.json" with { type: "json" };
import { basename, dirname, isAbsolute, join, normalize, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { errorMessage } from "./internal/wire.ts";
import {
  type ProtoSourceFile,
  recordProtoSources,
  WELL_KNOWN_FILES,
} from "./internal/proto_sources.ts";

/**
 * Turns messages into bytes and back. `server.ts` and `client.ts` use one per request and
 * response type.
 *
 * @typeParam T The message as the application sees it (for protobuf codecs, a plain object).
 *
 * @example A hand-written codec for UTF-8 strings
 * ```ts
 * import type { Codec } from "@seed/grpc";
 * import { assertEquals } from "@std/assert";
 *
 * const text: Codec<string> = {
 *   encode: (value) => new TextEncoder().encode(value),
 *   decode: (bytes) => new TextDecoder().decode(bytes),
 * };
 * assertEquals(text.decode(text.encode("hi")), "hi");
 * ```
 */
export interface Codec<T> {
  /**
   * Serializes one message.
   *
   * @param value The message.
   * @returns Its wire bytes.
   */
  encode(value: T): Uint8Array;
  /**
   * Parses one message.
   *
   * @param bytes Exactly one message's wire bytes.
   * @returns The message.
   */
  decode(bytes: Uint8Array): T;
}

/**
 * One RPC of a service: its HTTP/2 path, whether each side streams, and the codecs for its
 * messages.
 *
 * @typeParam Req The request message type.
 * @typeParam Res The response message type.
 *
 * @example Read a method definition
 * ```ts
 * import { loadProto } from "@seed/grpc";
 * import { assertEquals } from "@std/assert";
 *
 * const services = await loadProto({
 *   source: `syntax = "proto3";
 *     package demo;
 *     service Echo { rpc Chat (stream Msg) returns (stream Msg); }
 *     message Msg { string text = 1; }`,
 * });
 * const chat = services["demo.Echo"].methods.chat;
 * assertEquals(chat.name, "Chat");
 * assertEquals(chat.path, "/demo.Echo/Chat");
 * assertEquals([chat.requestStream, chat.responseStream], [true, true]);
 * assertEquals(chat.requestCodec.decode(chat.requestCodec.encode({ text: "hi" })), { text: "hi" });
 * ```
 */
export interface MethodDefinition<Req = unknown, Res = unknown> {
  /** The method's name as written in the `.proto` file, e.g. `"SayHello"`. */
  readonly name: string;
  /** `name` with its first letter lower-cased, e.g. `"sayHello"` (protobufjs `util.lcFirst`). */
  readonly localName: string;
  /** The HTTP/2 `:path`: `/` fully qualified service name `/` method name. */
  readonly path: string;
  /** Whether the client sends a stream of requests (`rpc M (stream Req)`). */
  readonly requestStream: boolean;
  /** Whether the server sends a stream of responses (`returns (stream Res)`). */
  readonly responseStream: boolean;
  /** Encodes and decodes requests. */
  readonly requestCodec: Codec<Req>;
  /** Encodes and decodes responses. */
  readonly responseCodec: Codec<Res>;
}

/**
 * A gRPC service: its fully qualified name and its methods.
 *
 * @example List the methods of a service
 * ```ts
 * import { loadProto } from "@seed/grpc";
 * import { assertEquals } from "@std/assert";
 *
 * const services = await loadProto({
 *   source: `syntax = "proto3";
 *     package helloworld;
 *     service Hello { rpc SayHello (HelloReq) returns (HelloRep); }
 *     message HelloReq { string name = 1; }
 *     message HelloRep { string message = 1; }`,
 * });
 * const hello = services["helloworld.Hello"];
 * assertEquals(hello.name, "helloworld.Hello");
 * assertEquals(Object.keys(hello.methods), ["sayHello"]);
 * ```
 */
export interface ServiceDefinition {
  /** Fully qualified name, package included, e.g. `"helloworld.Hello"`. */
  readonly name: string;
  /** The methods, keyed by {@linkcode MethodDefinition.localName}, in `.proto` order. */
  readonly methods: Readonly<Record<string, MethodDefinition>>;
}

/**
 * How protobuf codecs convert decoded messages to plain objects (protobufjs `toObject`), as in
 * `@grpc/proto-loader`. The defaults are the options grpc-js's own examples pass to
 * proto-loader (`longs: String, enums: String, defaults: true, oneofs: true`), so they differ
 * from proto-loader's defaults for `longs`, `enums`, `defaults` and `oneofs`.
 *
 * Encoding accepts every representation decoding can produce, whatever the options: numbers,
 * decimal strings, `bigint`s or long.js `Long`s for 64-bit fields; enum names or numbers;
 * `Uint8Array`s, arrays of byte values or base64 strings for `bytes` fields.
 *
 * @example Decode int64 fields as bigint and enums as numbers
 * ```ts
 * import { protobufCodec } from "@seed/grpc";
 * import { assertEquals } from "@std/assert";
 * import protobuf from "protobufjs";
 *
 * const { root } = protobuf.parse(`syntax = "proto3";
 *   message Account { int64 balance = 1; Kind kind = 2; }
 *   enum Kind { BASIC = 0; GOLD = 1; }`);
 * const codec = protobufCodec(root.lookupType("Account"), { longs: "bigint", enums: "number" });
 * const bytes = codec.encode({ balance: 9007199254740993n, kind: "GOLD" });
 * assertEquals(codec.decode(bytes), { balance: 9007199254740993n, kind: 1 });
 * ```
 */
export interface CodecOptions {
  /**
   * How 64-bit integer fields (`int64`, `uint64`, `sint64`, `fixed64`, `sfixed64`) decode:
   * `"string"` (decimal, exact), `"number"` (loses precision past 2^53) or `"bigint"` (exact).
   * proto-loader's default is a long.js `Long`, which is not offered.
   * @default {"string"}
   */
  longs?: "string" | "number" | "bigint";
  /**
   * How enum fields decode: `"string"` (the value's name; a number the `.proto` does not name
   * stays a number) or `"number"`. proto-loader's default is `"number"`.
   * @default {"string"}
   */
  enums?: "string" | "number";
  /**
   * Whether decoded objects carry every field: fields absent on the wire get their default
   * (`0`, `""`, `false`, the first enum value, `[]`, `{}`, `null` for message fields, and for
   * `bytes` one shared, frozen, empty `Uint8Array`). Members of a `oneof` are never defaulted.
   * proto-loader's default is `false`.
   * @default {true}
   */
  defaults?: boolean;
  /**
   * Whether absent repeated fields decode as `[]` when `defaults` is `false`.
   * @default {false}
   */
  arrays?: boolean;
  /**
   * Whether absent map fields decode as `{}` when `defaults` is `false`.
   * @default {false}
   */
  objects?: boolean;
  /**
   * Whether each `oneof` that has a member set decodes with a virtual property, named after
   * the oneof, holding the set member's field name. proto-loader's default is `false`.
   * @default {true}
   */
  oneofs?: boolean;
  /**
   * Whether `float` and `double` fields decode `NaN` and `±Infinity` as strings, and
   * `google.protobuf.Any` decodes to its JSON form (`{"@type": …}`), as protobufjs `json`.
   * @default {false}
   */
  json?: boolean;
}

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

/**
 * Makes service definitions from a protobufjs `Root` you built yourself (with `protobuf.parse`,
 * `Root.load`, `Root.fromJSON` or static code's reflection). Every service in the root, at any
 * depth, is returned. Field names are used as the root has them: protobufjs applies `keepCase`
 * while parsing.
 *
 * @param root The root (any protobufjs namespace works); it is resolved (`root.resolveAll()`)
 *   if it is not yet.
 * @param options Codec options for every request and response codec.
 * @returns The services, keyed by fully qualified name (`"helloworld.Hello"`).
 * @throws {SyntaxError} The root uses a type that it does not define.
 * @throws {TypeError} `root` is not a protobufjs namespace of this module's copy, a service has
 *   two methods whose local names collide, or an option has the wrong type.
 * @throws {RangeError} `longs` or `enums` is not one of its allowed values.
 *
 * @example Services from a parsed root
 * ```ts
 * import { servicesFromRoot } from "@seed/grpc";
 * import { assertEquals } from "@std/assert";
 * import protobuf from "protobufjs";
 *
 * const { root } = protobuf.parse(`syntax = "proto3";
 *   package a.b;
 *   service Clock { rpc Now (Req) returns (stream Tick); }
 *   message Req {}
 *   message Tick { int64 unix_ms = 1; }`);
 * const now = servicesFromRoot(root, { longs: "number" })["a.b.Clock"].methods.now;
 * assertEquals(now.responseStream, true);
 * assertEquals(now.responseCodec.decode(now.responseCodec.encode({ unixMs: 1700000000000 })), {
 *   unixMs: 1700000000000,
 * });
 * ```
 */
export function servicesFromRoot(
  root: ProtobufRoot,
  options?: CodecOptions,
): Record<string, ServiceDefinition> {
  if (!(root instanceof protobuf.Namespace)) {
    throw new TypeError(`Cannot read services: root is not a Root of ${PROTOBUFJS}`);
  }
  return collectServices(root, resolveCodecOptions(options));
}

/**
 * Makes a codec for one protobufjs message type. Codecs are cached per type and options, so
 * calling this again returns the same codec.
 *
 * `encode` accepts a plain object (converted with protobufjs `Type.fromObject`) or an instance
 * of the type's message class (encoded as is). Like grpc-js, conversion is lenient for scalar
 * fields: a number given for a `string` field is sent as its decimal text, a non-numeric string
 * for a number field as `0`, and unknown properties, unknown enum names and a non-array,
 * non-string value for a `bytes` field are left out. A value that is not an object for a
 * message or map field, or not an array for a repeated field, throws `TypeError`. A field
 * set explicitly, even to its default (`""`, `0`), is written. `encode` returns a Node.js
 * `Buffer` (a `Uint8Array` subclass) that may be a view into a shared 8 KiB pool: use its
 * `byteOffset` and `length`, never its whole `buffer`.
 *
 * `decode` returns a plain object shaped by `options`. Its `bytes` fields are plain
 * `Uint8Array`s (never `Buffer`s) that view `bytes` without copying, so do not overwrite the
 * input while they are in use.
 *
 * @typeParam T The plain-object shape of the message.
 * @param type A message type from a resolved protobufjs root.
 * @param options How decoded messages are shaped.
 * @returns The codec. Its `encode` and `decode` throw `TypeError` naming the message type when
 *   the value cannot be encoded or the bytes are not a valid message.
 * @throws {TypeError} `type` is not a protobufjs message type of this module's copy, or an
 *   option has the wrong type.
 * @throws {RangeError} `longs` or `enums` is not one of its allowed values.
 *
 * @example Encode and decode with the default options
 * ```ts
 * import { protobufCodec } from "@seed/grpc";
 * import { assertEquals, assertThrows } from "@std/assert";
 * import protobuf from "protobufjs";
 *
 * const { root } = protobuf.parse(`syntax = "proto3";
 *   message Note { string text = 1; Point at = 2; repeated string tags = 3; }
 *   message Point { int32 x = 1; int32 y = 2; }`);
 * interface Note {
 *   text: string;
 *   at: { x: number; y: number } | null;
 *   tags: string[];
 * }
 * const codec = protobufCodec<Note>(root.lookupType("Note"));
 * assertEquals(codec.decode(codec.encode({ text: "hi", at: null, tags: [] })), {
 *   text: "hi",
 *   at: null, // defaults: true fills in absent fields
 *   tags: [],
 * });
 * const wrong = { text: "hi", at: 5, tags: [] } as unknown as Note;
 * assertThrows(() => codec.encode(wrong), TypeError, "Note.at: object expected");
 * ```
 */
export function protobufCodec<T = unknown>(type: ProtobufType, options?: CodecOptions): Codec<T> {
  if (!(type instanceof protobuf.Type)) {
    throw new TypeError(`Cannot make a codec: type is not a message Type of ${PROTOBUFJS}`);
  }
  return codecFor(type, resolveCodecOptions(options)) as Codec<T>;
}

/**
 * A protobufjs `Root`, e.g. `protobuf.parse(text).root`, `new protobuf.Root()` or
 * `protobuf.Root.fromJSON(json)`, made by the copy of protobufjs this module imports
 * (`npm:protobufjs@7.6.6`; `instanceof` must hold). Only the members this module relies on
 * are declared, so that its documentation need not carry protobufjs's.
 *
 * @example Parse a root
 * ```ts
 * import type { ProtobufRoot } from "@seed/grpc";
 * import protobuf from "protobufjs";
 *
 * const root: ProtobufRoot = protobuf.parse(`syntax = "proto3"; message Empty {}`).root;
 * ```
 */
export interface ProtobufRoot {
  /** The namespaces, types and services at the top level. */
  readonly nestedArray: readonly unknown[];
  /** Resolves every type reference. */
  resolveAll(): unknown;
}

/**
 * A protobufjs message `Type`, e.g. `root.lookupType("helloworld.HelloReq")`, made by the copy
 * of protobufjs this module imports (`npm:protobufjs@7.6.6`; `instanceof` must hold). Only the
 * members this module relies on are declared, so that its documentation need not carry
 * protobufjs's.
 *
 * @example Look up a message type
 * ```ts
 * import type { ProtobufType } from "@seed/grpc";
 * import { assertEquals } from "@std/assert";
 * import protobuf from "protobufjs";
 *
 * const { root } = protobuf.parse(`syntax = "proto3"; package p; message Empty {}`);
 * const type: ProtobufType = root.lookupType("p.Empty");
 * assertEquals(type.fullName, ".p.Empty");
 * ```
 */
export interface ProtobufType {
  /** The fully qualified name with a leading dot, e.g. `".helloworld.HelloReq"`. */
  readonly fullName: string;
  /** The message's fields. */
  readonly fieldsArray: readonly unknown[];
}

// ---------------------------------------------------------------------------------------------
// Options

// Defaults: the options grpc-js's examples give proto-loader (see CodecOptions). Written once.
const DEFAULT_LONGS = "string";
const DEFAULT_ENUMS = "string";
const DEFAULT_DEFAULTS = true;
const DEFAULT_ARRAYS = false;
const DEFAULT_OBJECTS = false;
const DEFAULT_ONEOFS = true;
const DEFAULT_JSON = false;
const DEFAULT_KEEP_CASE = false;

// How errors name the protobufjs copy that roots and types must come from.
const PROTOBUFJS = "this module's protobufjs (npm:protobufjs@7.6.6)";

const LONGS: Readonly<Record<string, IConversionOptions["longs"]>> = {
  string: String,
  number: Number,
  bigint: BigInt,
};
const ENUMS: Readonly<Record<string, IConversionOptions["enums"]>> = {
  string: String,
  number: Number,
};

interface ResolvedCodecOptions {
  /** The protobufjs `toObject` options, built once and shared by every decode. */
  readonly conversion: Readonly<IConversionOptions>;
  /** Identifies equal option sets, for the codec cache. */
  readonly key: string;
}

function resolveCodecOptions(options: CodecOptions | undefined): ResolvedCodecOptions {
  const o = options ?? {};
  const longs = o.longs ?? DEFAULT_LONGS;
  const enums = o.enums ?? DEFAULT_ENUMS;
  if (!Object.hasOwn(LONGS, longs)) {
    throw new RangeError(
      `Cannot use longs option: value is ${
        JSON.stringify(longs)
      }, expected "string", "number" or "bigint"`,
    );
  }
  if (!Object.hasOwn(ENUMS, enums)) {
    throw new RangeError(
      `Cannot use enums option: value is ${JSON.stringify(enums)}, expected "string" or "number"`,
    );
  }
  const defaults = booleanOption(o.defaults, "defaults", DEFAULT_DEFAULTS);
  const arrays = booleanOption(o.arrays, "arrays", DEFAULT_ARRAYS);
  const objects = booleanOption(o.objects, "objects", DEFAULT_OBJECTS);
  const oneofs = booleanOption(o.oneofs, "oneofs", DEFAULT_ONEOFS);
  const json = booleanOption(o.json, "json", DEFAULT_JSON);
  return {
    conversion: Object.freeze({
      longs: LONGS[longs],
      enums: ENUMS[enums],
      defaults,
      arrays,
      objects,
      oneofs,
      json,
    }),
    key: `${longs},${enums},${+defaults}${+arrays}${+objects}${+oneofs}${+json}`,
  };
}

function booleanOption(value: boolean | undefined, name: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== "boolean") {
    throw new TypeError(`Cannot use ${name} option: value is ${typeof value}, expected boolean`);
  }
  return value;
}

// ---------------------------------------------------------------------------------------------
// Codecs

class ProtobufCodec implements Codec<unknown> {
  readonly #type: Type;
  readonly #ctor: unknown;
  readonly #conversion: IConversionOptions;
  readonly #name: string;

  constructor(type: Type, conversion: IConversionOptions) {
    this.#type = type;
    this.#ctor = type.ctor; // built lazily by protobufjs; build it now, off the hot path
    this.#conversion = conversion;
    this.#name = trimDot(type.fullName);
  }

  encode(value: unknown): Uint8Array {
    try {
      // fromObject returns message instances as they are; checking here skips the call.
      const message = value instanceof (this.#ctor as typeof protobuf.Message)
        ? value
        : this.#type.fromObject(value as Record<string, unknown>);
      return this.#type.encode(message).finish();
    } catch (error) {
      throw new TypeError(`Cannot encode ${this.#name}: ${protobufErrorMessage(error)}`, {
        cause: error,
      });
    }
  }

  decode(bytes: Uint8Array): unknown {
    // See PlainReader and plainNewBuffer: decoded bytes fields must be plain Uint8Arrays. The
    // swap is undone before anything else can run (this is synchronous and calls no user code).
    const newBuffer = pbUtil.newBuffer;
    pbUtil.newBuffer = plainNewBuffer;
    try {
      const view = bytes.constructor === Uint8Array ? bytes : plainView(bytes);
      return this.#type.toObject(this.#type.decode(new PlainReader(view)), this.#conversion);
    } catch (error) {
      throw new TypeError(`Cannot decode ${this.#name}: ${protobufErrorMessage(error)}`, {
        cause: error,
      });
    } finally {
      pbUtil.newBuffer = newBuffer;
    }
  }
}

// Decoded bytes fields are plain Uint8Arrays, never Node Buffers: Buffer#slice shares memory
// where Uint8Array#slice copies, and assertEquals tells the two apart. protobufjs (which sees
// Deno's global Buffer) makes Buffers in three places, each handled here without reconfiguring
// protobufjs for the rest of the program:
// - a BufferReader's views, for a Buffer input: decode() reads a plain Uint8Array view instead;
// - Reader#bytes for an empty field (Buffer.alloc(0)): PlainReader overrides bytes();
// - toObject's defaults (util.newBuffer([]) per absent bytes field per decode): decode() swaps
//   util.newBuffer for plainNewBuffer while it runs. This also saves an allocation per absent
//   field: typed arrays cost ~0.15-0.9 µs each here, and bench.Payload decoded 2x faster.

/** An empty Uint8Array shared by every absent bytes field; frozen, so nothing can be added. */
const EMPTY_BYTES: Uint8Array = Object.freeze(new Uint8Array(0));

const pbUtil = protobuf.util as unknown as {
  newBuffer: (sizeOrArray: number | readonly number[]) => Uint8Array;
};

function plainNewBuffer(sizeOrArray: number | readonly number[]): Uint8Array {
  if (typeof sizeOrArray === "number") return new Uint8Array(sizeOrArray);
  return sizeOrArray.length === 0 ? EMPTY_BYTES : new Uint8Array(sizeOrArray);
}

function plainView(bytes: Uint8Array): Uint8Array {
  if (!(bytes instanceof Uint8Array)) {
    throw new TypeError(`bytes is ${bytes === null ? "null" : typeof bytes}, expected Uint8Array`);
  }
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** A protobufjs Reader whose bytes fields are plain views of its input, empty ones included. */
class PlainReader extends protobuf.Reader {
  override bytes(): Uint8Array {
    const length = this.uint32();
    const start = this.pos;
    const end = start + length;
    if (end > this.len) {
      throw new RangeError(`index out of range: ${start} + ${length} > ${this.len}`);
    }
    this.pos = end;
    return this.buf.subarray(start, end);
  }
}

const codecCache = new WeakMap<Type, Map<string, Codec<unknown>>>();

function codecFor(type: Type, options: ResolvedCodecOptions): Codec<unknown> {
  let byOptions = codecCache.get(type);
  if (byOptions === undefined) {
    byOptions = new Map();
    codecCache.set(type, byOptions);
  }
  let codec = byOptions.get(options.key);
  if (codec === undefined) {
    codec = new ProtobufCodec(type, options.conversion);
    byOptions.set(options.key, codec);
  }
  return codec;
}

// ---------------------------------------------------------------------------------------------
// Services

function collectServices(
  root: Namespace,
  options: ResolvedCodecOptions,
): Record<string, ServiceDefinition> {
  resolveRoot(root);
  const services: Record<string, ServiceDefinition> = {};
  walk(root, services, options);
  return services;
}

function walk(
  namespace: Namespace,
  out: Record<string, ServiceDefinition>,
  options: ResolvedCodecOptions,
): void {
  for (const object of namespace.nestedArray) {
    if (object instanceof protobuf.Service) {
      const service = serviceDefinition(object, options);
      out[service.name] = service;
    } else if (object instanceof protobuf.Namespace) {
      walk(object, out, options); // packages, and messages (which may nest more packages' types)
    }
  }
}

function serviceDefinition(service: Service, options: ResolvedCodecOptions): ServiceDefinition {
  const name = trimDot(service.fullName);
  const methods: Record<string, MethodDefinition> = {};
  for (const method of service.methodsArray) {
    const localName = protobuf.util.lcFirst(method.name);
    const previous = methods[localName];
    if (previous !== undefined) {
      throw new TypeError(
        `Cannot define service ${name}: methods ${previous.name} and ${method.name} have the same local name ${localName}`,
      );
    }
    methods[localName] = Object.freeze({
      name: method.name,
      localName,
      path: `/${name}/${method.name}`,
      requestStream: method.requestStream === true,
      responseStream: method.responseStream === true,
      // resolveRoot() resolved every method, so these are set.
      requestCodec: codecFor(method.resolvedRequestType!, options),
      responseCodec: codecFor(method.resolvedResponseType!, options),
    });
  }
  return Object.freeze({ name, methods: Object.freeze(methods) });
}

// Resolves every type reference, turning protobufjs's terse errors into ones that say where.
function resolveRoot(root: Namespace): void {
  try {
    root.resolveAll();
  } catch (error) {
    throw new SyntaxError(`Cannot resolve proto types: ${describeResolveError(root, error)}`, {
      cause: error,
    });
  }
}

function describeResolveError(root: Namespace, error: unknown): string {
  const message = protobufErrorMessage(error);
  // Field errors read "no such Type or Enum 'Foo' in Type .pkg.Msg"; name the file it came from.
  const inType = / in \w+ \.([\w.]+)$/.exec(message);
  const owner = inType === null ? null : root.lookup(inType[1]);
  if (owner?.filename) return `${owner.filename}: ${message}`;
  // Method errors read "no such type: Foo"; find the method that names it.
  const noType = /^no such type: (.+)$/.exec(message);
  if (noType !== null) {
    for (const service of servicesOf(root)) {
      for (const method of service.methodsArray) {
        if (method.requestType !== noType[1] && method.responseType !== noType[1]) continue;
        const where = service.filename ? `${service.filename}: ` : "";
        return `${where}rpc ${trimDot(service.fullName)}.${method.name} uses undefined type ${
          noType[1]
        }`;
      }
    }
  }
  return message;
}

function* servicesOf(namespace: Namespace): Generator<Service> {
  for (const object of namespace.nestedArray) {
    if (object instanceof protobuf.Service) yield object;
    else if (object instanceof protobuf.Namespace) yield* servicesOf(object);
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
  readonly parseOptions: { readonly keepCase: boolean };
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

// ---------------------------------------------------------------------------------------------
// Helpers

// protobufjs full names start with a dot: ".helloworld.Hello".
function trimDot(name: string): string {
  return name.charCodeAt(0) === 46 ? name.slice(1) : name;
}

function protobufErrorMessage(error: unknown): string {
  const message = errorMessage(error);
  // protobufjs prefixes type names with a dot (".pkg.Msg.field: object expected").
  return message.charCodeAt(0) === 46 ? message.slice(1) : message;
}
