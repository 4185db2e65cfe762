// protobufjs definitions → google.protobuf.FileDescriptorProto, one per .proto file, the way
// protoc describes them (protobuf-go: reflect/protodesc). Server reflection sends these; the code
// generator reads them. Input: the files a load read (internal/proto_sources.ts), each parsed
// again here with keepCase so field names are as written, whatever the codec options were.

import protobuf from "protobufjs";
import type {
  Enum,
  Field,
  INamespace,
  MapField,
  Method,
  Namespace,
  ReflectionObject,
  Service,
  Type,
} from "protobufjs";
import type { ProtoSourceFile } from "../internal/proto_sources.ts";
import { WELL_KNOWN_FILES } from "../internal/proto_sources.ts";
import type {
  DescriptorProto,
  EnumDescriptorProto,
  FieldDescriptorProto,
  FieldType,
  FileDescriptorProto,
  FileOptions,
  ServiceDescriptorProto,
} from "./descriptor_proto.ts";
import { decodeFileDescriptorProto } from "./descriptor_proto.ts";

/**
 * Describes `files` (each after the files it imports, as a load records them) as
 * FileDescriptorProtos, in the same order. Every file's imports must be among `files`.
 *
 * @throws {SyntaxError} A file does not parse, or uses a type no file declares.
 */
export function buildFileDescriptors(
  files: readonly ProtoSourceFile[],
): FileDescriptorProto[] {
  // Files that carry their descriptor (generated code, protobuf-es) need no parsing; the others
  // never import them (a set is one load, or one generated module's files).
  if (files.some((f) => f.descriptor !== undefined)) {
    const described = new Map<string, FileDescriptorProto>();
    for (const f of files) {
      if (f.descriptor !== undefined && !described.has(f.name)) {
        described.set(f.name, decodeFileDescriptorProto(f.descriptor));
      }
    }
    const rest = buildFileDescriptors(files.filter((f) => f.descriptor === undefined));
    for (const fd of rest) described.set(fd.name, fd);
    const order = [...new Set(files.map((f) => f.name))];
    return order.map((name) => described.get(name)!);
  }
  const root = new protobuf.Root();
  const meta = new Map<string, { pkg: string; syntax: string; options: FileOptions }>();
  for (const file of files) {
    if (meta.has(file.name)) continue;
    meta.set(file.name, file.source === undefined ? addBundled(root, file) : addParsed(root, file));
  }
  try {
    root.resolveAll();
  } catch (error) {
    throw new SyntaxError(`Cannot describe proto files: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const declared = new Map<string, ReflectionObject[]>();
  collectTopLevel(root, declared);
  const seen = new Set<string>();
  const out: FileDescriptorProto[] = [];
  for (const file of files) {
    if (seen.has(file.name)) continue;
    seen.add(file.name);
    const { pkg, syntax, options } = meta.get(file.name)!;
    const proto3 = syntax === "proto3";
    const fd: FileDescriptorProto = {
      name: file.name,
      dependency: [...file.dependencies],
      public_dependency: [...file.publicDependencies],
      weak_dependency: [...file.weakDependencies],
      message_type: [],
      enum_type: [],
      service: [],
      extension: [],
    };
    if (pkg !== "") fd.package = pkg;
    if (Object.keys(options).length > 0) fd.options = options;
    if (proto3) fd.syntax = "proto3";
    for (const object of declared.get(file.name) ?? []) {
      if (object instanceof protobuf.Type) fd.message_type.push(describeMessage(object));
      else if (object instanceof protobuf.Enum) fd.enum_type.push(describeEnum(object));
      else if (object instanceof protobuf.Service) fd.service.push(describeService(object));
      else if (object instanceof protobuf.Field) fd.extension.push(describeField(object));
    }
    out.push(fd);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Reading the files

const parseState = protobuf.parse as unknown as { filename: string | null };

function addParsed(
  root: protobuf.Root,
  file: ProtoSourceFile,
): { pkg: string; syntax: string; options: FileOptions } {
  const text = file.source!;
  parseState.filename = file.name; // protobufjs stamps each declaration with it
  let pkg: string;
  try {
    pkg = protobuf.parse(text, root, { keepCase: true }).package ?? "";
  } catch (error) {
    throw new SyntaxError(`Cannot parse ${file.name}: ${(error as Error).message}`, {
      cause: error,
    });
  } finally {
    parseState.filename = null;
  }
  // File options live on the package namespace, which files of one package share: read them
  // from a parse of this file alone.
  const alone = protobuf.parse(text, new protobuf.Root(), { keepCase: true }).root;
  const holder = pkg === "" ? alone : alone.lookup(pkg);
  return { pkg, syntax: syntaxOf(text), options: fileOptions(holder?.options) };
}

function addBundled(
  root: protobuf.Root,
  file: ProtoSourceFile,
): { pkg: string; syntax: string; options: FileOptions } {
  const info = WELL_KNOWN_FILES[file.name];
  const json = file.json as { nested?: Record<string, INamespace> } | undefined;
  const pkgJson = json?.nested?.google?.nested?.protobuf as
    | { nested?: Record<string, unknown>; options?: Record<string, unknown> }
    | undefined;
  const names = info === undefined || info.names.length === 0
    ? Object.keys(pkgJson?.nested ?? {})
    : info.names;
  const nested: Record<string, unknown> = {};
  for (const name of names) {
    const def = pkgJson?.nested?.[name];
    if (def === undefined || root.lookup(`google.protobuf.${name}`) !== null) continue;
    // protobufjs bundles most of these with camelCase field names; the files' own are
    // snake_case, and turning them back is exact for every name in them.
    nested[name] = snakeCaseFields(def);
  }
  root.addJSON({ google: { nested: { protobuf: { nested } } } } as Record<string, INamespace>);
  for (const name of Object.keys(nested)) {
    const object = root.lookup(`google.protobuf.${name}`);
    if (object !== null) object.filename = file.name;
  }
  return {
    pkg: "google.protobuf",
    syntax: info?.syntax ?? "proto3",
    options: fileOptions(pkgJson?.options),
  };
}

function snakeCaseFields(def: unknown): unknown {
  if (def === null || typeof def !== "object") return def;
  const d = def as Record<string, unknown>;
  const copy: Record<string, unknown> = { ...d };
  if (d.fields) {
    copy.fields = Object.fromEntries(
      Object.entries(d.fields as Record<string, unknown>).map((
        [k, v],
      ) => [k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`), v]),
    );
  }
  if (d.oneofs) {
    copy.oneofs = Object.fromEntries(
      Object.entries(d.oneofs as Record<string, { oneof: string[] }>).map(([k, v]) => [k, {
        ...v,
        oneof: v.oneof.map((f) => f.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)),
      }]),
    );
  }
  if (d.nested) {
    copy.nested = Object.fromEntries(
      Object.entries(d.nested as Record<string, unknown>).map(([k, v]) => [k, snakeCaseFields(v)]),
    );
  }
  return copy;
}

function syntaxOf(text: string): string {
  const bare = text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/\/\/[^\n]*/g, "");
  const m = /^\s*(?:syntax|edition)\s*=\s*["']([^"']+)["']/m.exec(bare);
  return m === null ? "proto2" : m[1];
}

const FILE_OPTIONS: readonly (keyof FileOptions)[] = [
  "java_package",
  "java_outer_classname",
  "java_multiple_files",
  "go_package",
  "cc_enable_arenas",
  "objc_class_prefix",
  "csharp_namespace",
  "swift_prefix",
  "php_namespace",
  "ruby_package",
  "deprecated",
];

function fileOptions(options: Record<string, unknown> | undefined): FileOptions {
  const out: Record<string, unknown> = {};
  if (options === undefined) return out;
  for (const key of FILE_OPTIONS) if (options[key] !== undefined) out[key] = options[key];
  return out as FileOptions;
}

// Declarations that are not inside a message, by file: messages, enums, services and
// extensions, in declaration order.
function collectTopLevel(ns: Namespace, out: Map<string, ReflectionObject[]>): void {
  for (const object of ns.nestedArray) {
    const isDecl = object instanceof protobuf.Type || object instanceof protobuf.Enum ||
      object instanceof protobuf.Service ||
      (object instanceof protobuf.Field && (object as Field).extend !== undefined);
    if (isDecl && object.filename) {
      let list = out.get(object.filename);
      if (list === undefined) out.set(object.filename, list = []);
      list.push(object);
    } else if (!(object instanceof protobuf.Type) && object instanceof protobuf.Namespace) {
      collectTopLevel(object, out); // a package
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Declarations

const SCALAR_TYPES: Readonly<Record<string, FieldType>> = {
  double: "TYPE_DOUBLE",
  float: "TYPE_FLOAT",
  int64: "TYPE_INT64",
  uint64: "TYPE_UINT64",
  int32: "TYPE_INT32",
  fixed64: "TYPE_FIXED64",
  fixed32: "TYPE_FIXED32",
  bool: "TYPE_BOOL",
  string: "TYPE_STRING",
  bytes: "TYPE_BYTES",
  uint32: "TYPE_UINT32",
  sfixed32: "TYPE_SFIXED32",
  sfixed64: "TYPE_SFIXED64",
  sint32: "TYPE_SINT32",
  sint64: "TYPE_SINT64",
};

function describeMessage(type: Type): DescriptorProto {
  const d: DescriptorProto = {
    name: type.name,
    field: [],
    extension: [],
    nested_type: [],
    enum_type: [],
    extension_range: [],
    oneof_decl: [],
    reserved_range: [],
    reserved_name: [],
  };
  // protoc puts synthetic oneofs (one per proto3 `optional` field) after the real ones.
  const oneofs = type.oneofsArray.filter((o) => !isSynthetic(o)).concat(
    type.oneofsArray.filter(isSynthetic),
  );
  for (const o of oneofs) d.oneof_decl.push({ name: o.name });
  const entries: DescriptorProto[] = [];
  for (const field of type.fieldsArray) {
    if (field.declaringField) continue; // another file's extension of this message
    const f = describeField(field);
    if (field.partOf) f.oneof_index = oneofs.indexOf(field.partOf);
    if (field.map) {
      const entry = mapEntry(field);
      f.type_name = `${type.fullName}.${entry.name}`;
      entries.push(entry);
    }
    d.field.push(f);
  }
  for (const object of type.nestedArray) {
    if (object instanceof protobuf.Type) d.nested_type.push(describeMessage(object));
    else if (object instanceof protobuf.Enum) d.enum_type.push(describeEnum(object));
    else if (object instanceof protobuf.Field) d.extension.push(describeField(object));
  }
  d.nested_type.push(...entries);
  for (const [start, end] of type.extensions ?? []) d.extension_range.push({ start, end: end + 1 });
  for (const r of type.reserved ?? []) {
    if (typeof r === "string") d.reserved_name.push(r);
    else d.reserved_range.push({ start: r[0], end: r[1] + 1 });
  }
  const options: DescriptorProto["options"] = {};
  if (type.options?.deprecated !== undefined) options.deprecated = !!type.options.deprecated;
  if (Object.keys(options).length > 0) d.options = options;
  return d;
}

function isSynthetic(o: protobuf.OneOf): boolean {
  return o.fieldsArray.length === 1 && o.fieldsArray[0].options?.proto3_optional === true;
}

function mapEntry(field: Field): DescriptorProto {
  const keyType = (field as unknown as MapField).keyType;
  // protoc: the entry is named after the field in CamelCase, plus "Entry".
  const name = field.name.split("_").map((p) => p.charAt(0).toUpperCase() + p.slice(1)).join("") +
    "Entry";
  const key: FieldDescriptorProto = {
    name: "key",
    number: 1,
    label: "LABEL_OPTIONAL",
    type: SCALAR_TYPES[keyType],
    json_name: "key",
  };
  const value = describeField(field, true);
  return {
    name,
    field: [key, value],
    extension: [],
    nested_type: [],
    enum_type: [],
    extension_range: [],
    oneof_decl: [],
    options: { map_entry: true },
    reserved_range: [],
    reserved_name: [],
  };
}

// A field, an extension, or (asValue) the `value` field of a map entry.
function describeField(field: Field, asValue = false): FieldDescriptorProto {
  const f: FieldDescriptorProto = asValue
    ? { name: "value", number: 2, label: "LABEL_OPTIONAL", type: "TYPE_MESSAGE" }
    : {
      name: field.name,
      number: field.id,
      label: field.map || field.repeated
        ? "LABEL_REPEATED"
        : field.required
        ? "LABEL_REQUIRED"
        : "LABEL_OPTIONAL",
      type: "TYPE_MESSAGE",
    };
  const resolved = field.resolvedType;
  if (field.map && !asValue) {
    f.type = "TYPE_MESSAGE"; // type_name set by the caller, which names the entry
  } else if (resolved instanceof protobuf.Enum) {
    f.type = "TYPE_ENUM";
    f.type_name = resolved.fullName;
  } else if (resolved instanceof protobuf.Type) {
    f.type = (resolved as Type & { group?: boolean }).group ? "TYPE_GROUP" : "TYPE_MESSAGE";
    f.type_name = resolved.fullName;
  } else {
    f.type = SCALAR_TYPES[field.type];
  }
  if (asValue) {
    f.json_name = "value";
    return f;
  }
  if (field.extend !== undefined) {
    f.extendee = field.extensionField?.parent?.fullName ??
      (field.parent as Namespace).lookupType(field.extend).fullName;
  }
  const options = field.options ?? {};
  const defaultValue = options.default;
  if (defaultValue !== undefined) {
    f.default_value = f.type === "TYPE_BYTES"
      ? cEscape(String(defaultValue))
      : defaultText(defaultValue);
  }
  f.json_name = typeof options.json_name === "string" ? options.json_name : jsonName(field.name);
  const fo: FieldDescriptorProto["options"] = {};
  if (options.packed !== undefined) fo.packed = !!options.packed;
  if (options.deprecated !== undefined) fo.deprecated = !!options.deprecated;
  if (options.lazy !== undefined) fo.lazy = !!options.lazy;
  if (typeof options.jstype === "string") fo.jstype = options.jstype as "JS_STRING";
  if (Object.keys(fo).length > 0) f.options = fo;
  if (options.proto3_optional === true) f.proto3_optional = true;
  return f;
}

function defaultText(value: unknown): string {
  if (typeof value === "number") {
    if (Number.isNaN(value)) return "nan";
    if (value === Infinity) return "inf";
    if (value === -Infinity) return "-inf";
  }
  return String(value);
}

// protoc writes bytes defaults C-escaped (CEscape): \n \r \t \" \' \\ and other
// unprintable bytes as three octal digits.
function cEscape(text: string): string {
  let out = "";
  for (const ch of text) {
    const c = ch.charCodeAt(0);
    if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (ch === '"' || ch === "'" || ch === "\\") out += `\\${ch}`;
    else if (c < 0x20 || c >= 0x7f) out += `\\${(c & 0xff).toString(8).padStart(3, "0")}`;
    else out += ch;
  }
  return out;
}

// protoc's ToJsonName: drop underscores, upper-casing the letter after each.
export function jsonName(name: string): string {
  let out = "";
  let upper = false;
  for (const c of name) {
    if (c === "_") upper = true;
    else if (upper) {
      out += c.toUpperCase();
      upper = false;
    } else out += c;
  }
  return out;
}

function describeEnum(e: Enum): EnumDescriptorProto {
  const d: EnumDescriptorProto = {
    name: e.name,
    value: [],
    reserved_range: [],
    reserved_name: [],
  };
  const valuesOptions = (e as unknown as {
    valuesOptions?: Record<string, Record<string, unknown>>;
  }).valuesOptions;
  for (const [name, number] of Object.entries(e.values)) {
    const v: EnumDescriptorProto["value"][number] = { name, number };
    const deprecated = valuesOptions?.[name]?.deprecated;
    if (deprecated !== undefined) v.options = { deprecated: !!deprecated };
    d.value.push(v);
  }
  for (const r of e.reserved ?? []) {
    if (typeof r === "string") d.reserved_name.push(r);
    else d.reserved_range.push({ start: r[0], end: r[1] });
  }
  const options: EnumDescriptorProto["options"] = {};
  if (e.options?.allow_alias !== undefined) options.allow_alias = !!e.options.allow_alias;
  if (e.options?.deprecated !== undefined) options.deprecated = !!e.options.deprecated;
  if (Object.keys(options).length > 0) d.options = options;
  return d;
}

function describeService(s: Service): ServiceDescriptorProto {
  const d: ServiceDescriptorProto = { name: s.name, method: [] };
  for (const m of s.methodsArray as Method[]) {
    const md: ServiceDescriptorProto["method"][number] = {
      name: m.name,
      input_type: m.resolvedRequestType!.fullName,
      output_type: m.resolvedResponseType!.fullName,
    };
    if (m.requestStream) md.client_streaming = true;
    if (m.responseStream) md.server_streaming = true;
    const options: ServiceDescriptorProto["method"][number]["options"] = {};
    if (m.options?.deprecated !== undefined) options.deprecated = !!m.options.deprecated;
    const level = m.options?.idempotency_level;
    if (typeof level === "string") options.idempotency_level = level as "IDEMPOTENT";
    if (Object.keys(options).length > 0) md.options = options;
    d.method.push(md);
  }
  if (s.options?.deprecated !== undefined) d.options = { deprecated: !!s.options.deprecated };
  return d;
}
