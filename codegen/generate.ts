// TypeScript from loaded .proto files: one module per file, holding message interfaces (as the
// codec decodes them, and `…Init` as it encodes them), enums as const objects plus a type,
// services as typed definitions with client and handler interfaces, and the file's descriptor
// (protodesc/) for the run time (codec/generated.ts). Pure: text in, text out, no I/O.

import protobuf from "protobufjs";
import type {
  Enum,
  Field,
  Method,
  Namespace,
  OneOf,
  ReflectionObject,
  Service,
  Type,
} from "protobufjs";
import { posix } from "node:path";
import type { FileDescriptorProto } from "../protodesc/descriptor_proto.ts";
import { encodeFileDescriptorProto } from "../protodesc/descriptor_proto.ts";

/** The codec options the generated types describe (see `CodecOptions`). */
export interface GenerateOptions {
  longs: "string" | "number" | "bigint";
  enums: "string" | "number";
  defaults: boolean;
  arrays: boolean;
  objects: boolean;
  oneofs: boolean;
  keepCase: boolean;
  /** The module generated code imports the library from. */
  importSpecifier: string;
}

/** The defaults: the library's codec defaults, imported as `@seed/grpc`. */
export const DEFAULT_GENERATE_OPTIONS: Readonly<GenerateOptions> = {
  longs: "string",
  enums: "string",
  defaults: true,
  arrays: false,
  objects: false,
  oneofs: true,
  keepCase: false,
  importSpecifier: "@seed/grpc",
};

/** One generated module. */
export interface GeneratedFile {
  /** Path relative to the output directory, `/`-separated, e.g. `helloworld/hello_pb.ts`. */
  readonly path: string;
  readonly content: string;
}

/** The module path for a .proto file name: `a/b.proto` → `a/b_pb.ts`. */
export function modulePath(protoName: string): string {
  return protoName.replace(/\.proto$/, "") + "_pb.ts";
}

// Names a generated module declares itself or uses from the global scope; a message or enum
// of the same name gets a `$` appended.
const TAKEN = new Set([
  "file",
  "Promise",
  "Uint8Array",
  "Record",
  "AsyncIterable",
  "Iterable",
  "Object",
  "Array",
  "String",
  "Number",
  "Boolean",
  "BigInt",
  "Symbol",
  "Error",
]);

/**
 * Generates the modules of `files` (their descriptors in load order) from `root`, the protobufjs
 * root they were loaded into with the same `keepCase` (resolved, comments kept).
 */
export function generate(
  root: protobuf.Root,
  descriptors: readonly FileDescriptorProto[],
  targets: readonly string[],
  options: GenerateOptions,
): GeneratedFile[] {
  // Every message and enum by full name (no leading dot) → its file and TypeScript name.
  const symbols = new Map<string, { file: string; ts: string }>();
  const byFile = new Map<string, ReflectionObject[]>();
  collect(root, symbols, byFile);
  const out: GeneratedFile[] = [];
  for (const fd of descriptors) {
    if (!targets.includes(fd.name)) continue;
    out.push({
      path: modulePath(fd.name),
      content: new FileWriter(fd, byFile.get(fd.name) ?? [], symbols, options).write(),
    });
  }
  return out;
}

function collect(
  ns: Namespace,
  symbols: Map<string, { file: string; ts: string }>,
  byFile: Map<string, ReflectionObject[]>,
  prefix = "",
): void {
  for (const object of ns.nestedArray) {
    const file = object.filename ?? "";
    if (object instanceof protobuf.Type || object instanceof protobuf.Enum) {
      let ts = prefix + object.name;
      if (prefix === "" && TAKEN.has(ts)) ts += "$";
      symbols.set(object.fullName.slice(1), { file, ts });
      if (prefix === "") push(byFile, file, object);
      if (object instanceof protobuf.Type) collect(object, symbols, byFile, `${ts}_`);
    } else if (object instanceof protobuf.Service) {
      push(byFile, file, object);
    } else if (object instanceof protobuf.Namespace) {
      collect(object, symbols, byFile, prefix); // a package
    }
  }
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]);
  else list.push(value);
}

const LONG_TYPES = new Set(["int64", "uint64", "sint64", "fixed64", "sfixed64"]);
const NUMBER_TYPES = new Set([
  "double",
  "float",
  "int32",
  "uint32",
  "sint32",
  "fixed32",
  "sfixed32",
]);

class FileWriter {
  readonly #fd: FileDescriptorProto;
  readonly #objects: readonly ReflectionObject[];
  readonly #symbols: Map<string, { file: string; ts: string }>;
  readonly #o: GenerateOptions;
  readonly #lines: string[] = [];
  // Modules this one imports: .proto file name → namespace alias.
  readonly #imports = new Map<string, string>();
  readonly #runtime = new Set<string>(["defineProtoFile", "type ProtoFile"]);

  constructor(
    fd: FileDescriptorProto,
    objects: readonly ReflectionObject[],
    symbols: Map<string, { file: string; ts: string }>,
    options: GenerateOptions,
  ) {
    this.#fd = fd;
    this.#objects = objects;
    this.#symbols = symbols;
    this.#o = options;
    for (const dep of fd.dependency) this.#alias(dep);
  }

  write(): string {
    const body = this.#lines;
    const deps = this.#fd.dependency.map((d) => `${this.#imports.get(d)}.file`);
    const options = this.#optionsLiteral();
    body.push(
      `/** The file \`${this.#fd.name}\`: its descriptor and imports, for the run time. */`,
      `export const file: ProtoFile = defineProtoFile(`,
      `  ${JSON.stringify(base64(encodeFileDescriptorProto(this.#fd)))},`,
      `  [${deps.join(", ")}],`,
      `  ${options},`,
      `);`,
      "",
    );
    for (const object of this.#objects) {
      if (object instanceof protobuf.Type) this.#message(object);
      else if (object instanceof protobuf.Enum) this.#enum(object);
    }
    for (const object of this.#objects) {
      if (object instanceof protobuf.Service) this.#service(object);
    }
    const head: string[] = [
      `// Code generated by ${this.#o.importSpecifier}/codegen from ${this.#fd.name}. DO NOT EDIT.`,
      "",
      "/**",
      ` * Types and services of \`${this.#fd.name}\`${
        this.#fd.package ? ` (package \`${this.#fd.package}\`)` : ""
      }.`,
      ...wrap(`Codec options: ${this.#describeOptions()}.`, 96).map((l) => ` * ${l}`),
      " *",
      " * @module",
      " */",
      "",
      `import { ${[...this.#runtime].sort(byName).join(", ")} } from ${
        JSON.stringify(this.#o.importSpecifier)
      };`,
    ];
    for (const [name, alias] of [...this.#imports].sort((a, b) => a[1] < b[1] ? -1 : 1)) {
      let rel = posix.relative(posix.dirname(this.#fd.name), modulePath(name));
      if (!rel.startsWith(".")) rel = `./${rel}`;
      head.push(`import * as ${alias} from ${JSON.stringify(rel)};`);
    }
    head.push("");
    return [...head, ...body].join("\n").replace(/\n+$/, "\n");
  }

  #optionsLiteral(): string {
    const o = this.#o;
    return `{ longs: "${o.longs}", enums: "${o.enums}", defaults: ${o.defaults}, arrays: ${o.arrays}, objects: ${o.objects}, oneofs: ${o.oneofs}, keepCase: ${o.keepCase} }`;
  }

  #describeOptions(): string {
    const o = this.#o;
    return `longs "${o.longs}", enums "${o.enums}", defaults ${o.defaults}, arrays ${o.arrays}, objects ${o.objects}, oneofs ${o.oneofs}, keepCase ${o.keepCase}`;
  }

  #alias(protoName: string): string {
    let alias = this.#imports.get(protoName);
    if (alias === undefined) {
      alias = `$${protoName.replace(/\.proto$/, "").replace(/[^A-Za-z0-9]/g, "_")}`;
      this.#imports.set(protoName, alias);
    }
    return alias;
  }

  // A message or enum's TypeScript name as this module refers to it.
  #ref(object: ReflectionObject, init = false): string {
    const sym = this.#symbols.get(object.fullName.slice(1))!;
    const name = init && object instanceof protobuf.Type ? `${sym.ts}Init` : sym.ts;
    if (sym.file === this.#fd.name) return name;
    return `${this.#alias(sym.file)}.${name}`;
  }

  #doc(comment: string | null | undefined, fallback: string, indent = ""): void {
    const text = (comment ?? "").trim() || fallback;
    const width = 96 - indent.length;
    const lines = text.replace(/\*\//g, "*\\/").split("\n").flatMap((l) =>
      wrap(l.trimEnd(), width)
    );
    if (lines.length === 1 && indent.length + lines[0].length + 7 <= 100) {
      this.#lines.push(`${indent}/** ${lines[0]} */`);
      return;
    }
    this.#lines.push(`${indent}/**`);
    for (const line of lines) this.#lines.push(line === "" ? `${indent} *` : `${indent} * ${line}`);
    this.#lines.push(`${indent} */`);
  }

  #message(type: Type): void {
    const name = this.#ref(type);
    const full = type.fullName.slice(1);
    this.#doc(type.comment, `The message \`${full}\`.`);
    if (type.fieldsArray.length === 0 && !(this.#o.oneofs && type.oneofsArray.length > 0)) {
      this.#lines.push("// deno-lint-ignore no-empty-interface");
    }
    this.#lines.push(`export interface ${name} {`);
    for (const field of type.fieldsArray) {
      this.#doc(field.comment, `Field \`${field.name}\` = ${field.id}.`, "  ");
      this.#lines.push(`  ${this.#property(field, false)};`);
    }
    if (this.#o.oneofs) {
      for (const oneof of type.oneofsArray) {
        this.#doc(
          oneof.comment,
          `Which member of oneof \`${oneof.name}\` is set, if any.`,
          "  ",
        );
        const members = oneof.oneof.map((m) => JSON.stringify(m)).join(" | ");
        this.#lines.push(`  ${key(oneof.name)}?: ${members};`);
      }
    }
    this.#lines.push("}", "");
    this.#doc(
      null,
      `What the codec encodes as {@linkcode ${name}}: every field optional, \`null\` meaning unset.`,
    );
    if (type.fieldsArray.length === 0) this.#lines.push("// deno-lint-ignore no-empty-interface");
    this.#lines.push(`export interface ${name}Init {`);
    for (const field of type.fieldsArray) {
      this.#doc(field.comment, `Field \`${field.name}\` = ${field.id}.`, "  ");
      this.#lines.push(`  ${this.#property(field, true)};`);
    }
    this.#lines.push("}", "");
    for (const nested of type.nestedArray) {
      if (nested instanceof protobuf.Type) this.#message(nested);
      else if (nested instanceof protobuf.Enum) this.#enum(nested);
    }
  }

  #property(field: Field, init: boolean): string {
    field.resolve();
    const partOf: OneOf | null = field.partOf;
    if (init) return `${key(field.name)}?: ${this.#fieldType(field, true)} | null`;
    const always = partOf === null && (
      field.map
        ? this.#o.defaults || this.#o.objects
        : field.repeated
        ? this.#o.defaults || this.#o.arrays
        : this.#o.defaults
    );
    let type = this.#fieldType(field, false);
    if (always && !field.map && !field.repeated && field.resolvedType instanceof protobuf.Type) {
      type += " | null";
    }
    return `${key(field.name)}${always ? "" : "?"}: ${type}`;
  }

  #fieldType(field: Field, init: boolean): string {
    const value = this.#valueType(field, init);
    if (field.map) return `Record<string, ${value}>`;
    if (field.repeated) return init ? `readonly (${value})[]` : `(${value})[]`;
    return value;
  }

  #valueType(field: Field, init: boolean): string {
    const resolved = field.resolvedType;
    if (resolved instanceof protobuf.Type) return this.#ref(resolved, init);
    if (resolved instanceof protobuf.Enum) {
      const ref = this.#ref(resolved);
      return init ? `keyof typeof ${ref} | number` : `${ref} | number`;
    }
    const t = field.type;
    if (LONG_TYPES.has(t)) return init ? "string | number | bigint" : this.#o.longs;
    if (NUMBER_TYPES.has(t)) return "number";
    if (t === "bool") return "boolean";
    if (t === "string") return "string";
    if (t === "bytes") return init ? "Uint8Array | string" : "Uint8Array";
    throw new SyntaxError(`Cannot generate field ${field.fullName.slice(1)}: type ${t}`);
  }

  #enum(e: Enum): void {
    const name = this.#ref(e);
    const full = e.fullName.slice(1);
    this.#doc(e.comment, `The enum \`${full}\`: its values by name.`);
    this.#lines.push(`export const ${name} = {`);
    for (const [valueName, number] of Object.entries(e.values)) {
      const comment = e.comments[valueName];
      if (comment) this.#doc(comment, "", "  ");
      this.#lines.push(`  ${key(valueName)}: ${number},`);
    }
    this.#lines.push("} as const;");
    this.#doc(
      null,
      this.#o.enums === "string"
        ? `A value of \`${full}\`, by name (as the codec decodes it).`
        : `A value of \`${full}\`, by number (as the codec decodes it).`,
    );
    this.#lines.push(
      this.#o.enums === "string"
        ? `export type ${name} = keyof typeof ${name};`
        : `export type ${name} = (typeof ${name})[keyof typeof ${name}];`,
      "",
    );
  }

  #service(service: Service): void {
    const name = service.name;
    const full = service.fullName.slice(1);
    const methods = service.methodsArray.map((m) => {
      m.resolve();
      return {
        method: m,
        local: protobuf.util.lcFirst(m.name),
        req: this.#ref(m.resolvedRequestType!),
        res: this.#ref(m.resolvedResponseType!),
        reqInit: this.#ref(m.resolvedRequestType!, true),
        resInit: this.#ref(m.resolvedResponseType!, true),
        rs: m.requestStream === true,
        ss: m.responseStream === true,
      };
    });
    this.#runtime.add("type MethodDefinition");
    this.#runtime.add("type ServiceDefinition");
    this.#doc(
      null,
      `The type of {@linkcode ${name}}: its methods with their message types and kinds.`,
    );
    this.#lines.push(`export type ${name}Definition = ServiceDefinition<{`);
    for (const m of methods) {
      this.#lines.push(
        `  readonly ${
          key(m.local)
        }: MethodDefinition<${m.req}, ${m.res}, ${m.rs}, ${m.ss}, ${m.reqInit}, ${m.resInit}>;`,
      );
    }
    this.#lines.push("}>;", "");
    this.#doc(
      service.comment ? `${service.comment}\n\nThe service \`${full}\`.` : null,
      `The service \`${full}\`: give it to \`Server.addService\` or \`createClient\`.`,
    );
    this.#lines.push(
      `export const ${name}: ${name}Definition = file.service(${JSON.stringify(full)});`,
      "",
    );
    this.#doc(null, `A client of \`${full}\`, as \`createClient(${name}, conn)\` makes it.`);
    this.#lines.push(`export interface ${name}Client {`);
    for (const m of methods) {
      const kind = m.rs
        ? (m.ss ? "BidiStreamingMethod" : "ClientStreamingMethod")
        : (m.ss ? "ServerStreamingMethod" : "UnaryMethod");
      this.#runtime.add(`type ${kind}`);
      this.#methodDoc(m.method);
      this.#lines.push(`  ${key(m.local)}: ${kind}<${m.reqInit}, ${m.res}>;`);
    }
    this.#lines.push("}", "");
    this.#doc(
      null,
      `Handlers of \`${full}\`, for \`Server.addService(${name}, …)\` (which takes any subset of them).`,
    );
    this.#lines.push(`export interface ${name}Handlers {`);
    for (const m of methods) {
      const kind = m.rs
        ? (m.ss ? "BidiStreamingHandler" : "ClientStreamingHandler")
        : (m.ss ? "ServerStreamingHandler" : "UnaryHandler");
      this.#runtime.add(`type ${kind}`);
      this.#methodDoc(m.method);
      this.#lines.push(`  ${key(m.local)}: ${kind}<${m.req}, ${m.resInit}>;`);
    }
    this.#lines.push("}", "");
  }

  #methodDoc(m: Method): void {
    const kind = m.requestStream
      ? (m.responseStream ? "bidi streaming" : "client streaming")
      : (m.responseStream ? "server streaming" : "unary");
    this.#doc(m.comment, `\`${m.name}\` (${kind}).`, "  ");
  }
}

// Splits a line longer than `width` at spaces (a word longer than `width` stays whole).
function wrap(line: string, width: number): string[] {
  if (line.length <= width) return [line];
  const out: string[] = [];
  let current = "";
  for (const word of line.split(" ")) {
    if (current !== "" && current.length + 1 + word.length > width) {
      out.push(current);
      current = word;
    } else {
      current = current === "" ? word : `${current} ${word}`;
    }
  }
  if (current !== "") out.push(current);
  return out;
}

function byName(a: string, b: string): number {
  const x = a.replace(/^type /, "");
  const y = b.replace(/^type /, "");
  return x < y ? -1 : x > y ? 1 : 0;
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

function key(name: string): string {
  return IDENTIFIER.test(name) ? name : JSON.stringify(name);
}

function base64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]);
  return btoa(binary);
}
