// google.protobuf.FileDescriptorProto → protobufjs JSON (INamespace), so that a file described by
// its descriptor (generated code embeds one) gets the same protobufjs types, and so the same
// codecs, as loadProto parsing its .proto text: field names cased as protobufjs's parser cases
// them, maps as map fields, proto3 `optional` as protobufjs's synthetic oneof, proto2 files
// marked as such (protobufjs derives packing and presence from the edition).

import protobuf from "protobufjs";
import type { INamespace } from "protobufjs";
import type {
  DescriptorProto,
  EnumDescriptorProto,
  FieldDescriptorProto,
  FileDescriptorProto,
  ServiceDescriptorProto,
} from "../protodesc/descriptor_proto.ts";

type Json = Record<string, unknown>;

/**
 * The protobufjs JSON of `file`'s declarations, nested under its package, ready for
 * `Root.addJSON`. Type references stay fully qualified (`.pkg.Msg`).
 *
 * @param keepCase Field and oneof names as written; otherwise lowerCamelCase (protobufjs
 *   `util.camelCase`, as its parser does without `keepCase`).
 * @throws {SyntaxError} The file uses something not supported here (groups, editions).
 */
export function descriptorToJson(file: FileDescriptorProto, keepCase: boolean): INamespace {
  const syntax = file.syntax ?? "proto2";
  if (syntax !== "proto2" && syntax !== "proto3") {
    throw new SyntaxError(`Cannot use ${file.name}: syntax "${syntax}" is not supported`);
  }
  const ctx: Context = {
    file: file.name,
    proto2: syntax === "proto2",
    name: keepCase ? (n) => n : protobuf.util.camelCase,
  };
  const nested: Json = {};
  for (const m of file.message_type) nested[m.name] = topLevel(ctx, messageJson(ctx, m));
  for (const e of file.enum_type) nested[e.name] = topLevel(ctx, enumJson(e));
  for (const s of file.service) nested[s.name] = serviceJson(s);
  // Extensions (custom options, mostly) change no codec of the file's own messages: left out.
  let json: Json = { nested };
  for (const part of (file.package ?? "").split(".").reverse()) {
    if (part !== "") json = { nested: { [part]: json } };
  }
  return json as INamespace;
}

interface Context {
  readonly file: string;
  readonly proto2: boolean;
  readonly name: (name: string) => string;
}

// protobufjs marks proto2 declarations with their edition at the top level; nested ones inherit.
function topLevel(ctx: Context, json: Json): Json {
  return ctx.proto2 ? { edition: "proto2", ...json } : json;
}

const SCALARS: Readonly<Record<string, string>> = {
  TYPE_DOUBLE: "double",
  TYPE_FLOAT: "float",
  TYPE_INT64: "int64",
  TYPE_UINT64: "uint64",
  TYPE_INT32: "int32",
  TYPE_FIXED64: "fixed64",
  TYPE_FIXED32: "fixed32",
  TYPE_BOOL: "bool",
  TYPE_STRING: "string",
  TYPE_BYTES: "bytes",
  TYPE_UINT32: "uint32",
  TYPE_SFIXED32: "sfixed32",
  TYPE_SFIXED64: "sfixed64",
  TYPE_SINT32: "sint32",
  TYPE_SINT64: "sint64",
};

function messageJson(ctx: Context, m: DescriptorProto): Json {
  const json: Json = {};
  const mapEntries = new Map<string, DescriptorProto>();
  for (const n of m.nested_type) if (n.options?.map_entry) mapEntries.set(n.name, n);
  const fields: Json = {};
  const oneofs: Record<string, string[]> = {};
  // protobufjs names a proto3 optional field's synthetic oneof "_" + the field's (cased) name.
  const oneofNames = m.oneof_decl.map((o) => ctx.name(o.name));
  for (const f of m.field) {
    const name = ctx.name(f.name);
    if (f.type === "TYPE_GROUP") {
      throw new SyntaxError(`Cannot use ${ctx.file}: group ${m.name}.${f.name} is not supported`);
    }
    const entry = f.type === "TYPE_MESSAGE" && f.label === "LABEL_REPEATED"
      ? mapEntries.get(lastPart(f.type_name!))
      : undefined;
    let field: Json;
    if (entry !== undefined && f.type_name!.endsWith(`.${m.name}.${entry.name}`)) {
      const [key, value] = entry.field;
      field = { keyType: SCALARS[key.type], type: typeOf(value), id: f.number };
    } else {
      field = { type: typeOf(f), id: f.number };
      if (f.label === "LABEL_REPEATED") field.rule = "repeated";
      else if (f.label === "LABEL_REQUIRED") field.rule = "required";
    }
    const options: Json = {};
    if (f.options?.packed !== undefined) options.packed = f.options.packed;
    if (f.options?.deprecated) options.deprecated = true;
    if (f.proto3_optional) options.proto3_optional = true;
    if (f.default_value !== undefined) options.default = defaultValue(f);
    if (Object.keys(options).length > 0) field.options = options;
    fields[name] = field;
    if (f.oneof_index !== undefined) {
      const oneof = f.proto3_optional ? `_${name}` : oneofNames[f.oneof_index];
      (oneofs[oneof] ??= []).push(name);
    }
  }
  if (Object.keys(oneofs).length > 0) {
    json.oneofs = Object.fromEntries(
      Object.entries(oneofs).map(([name, members]) => [name, { oneof: members }]),
    );
  }
  json.fields = fields;
  const reserved: (number[] | string)[] = [
    ...m.reserved_range.map((r) => [r.start, r.end - 1]),
    ...m.reserved_name,
  ];
  if (reserved.length > 0) json.reserved = reserved;
  if (m.extension_range.length > 0) {
    json.extensions = m.extension_range.map((r) => [r.start, r.end - 1]);
  }
  const nested: Json = {};
  for (const n of m.nested_type) if (!mapEntries.has(n.name)) nested[n.name] = messageJson(ctx, n);
  for (const e of m.enum_type) nested[e.name] = enumJson(e);
  if (Object.keys(nested).length > 0) json.nested = nested;
  return json;
}

function typeOf(f: FieldDescriptorProto): string {
  return SCALARS[f.type] ?? f.type_name!;
}

function lastPart(name: string): string {
  return name.slice(name.lastIndexOf(".") + 1);
}

// default_value is text: numbers, "inf"/"-inf"/"nan", "true"/"false", enum value names, strings
// as written, bytes C-escaped.
function defaultValue(f: FieldDescriptorProto): unknown {
  const text = f.default_value!;
  switch (f.type) {
    case "TYPE_BOOL":
      return text === "true";
    case "TYPE_STRING":
    case "TYPE_ENUM":
      return text;
    case "TYPE_BYTES":
      return cUnescape(text);
    case "TYPE_DOUBLE":
    case "TYPE_FLOAT":
      if (text === "inf") return Infinity;
      if (text === "-inf") return -Infinity;
      if (text === "nan") return NaN;
      return Number(text);
    case "TYPE_INT64":
    case "TYPE_UINT64":
    case "TYPE_SINT64":
    case "TYPE_FIXED64":
    case "TYPE_SFIXED64":
      // protobufjs keeps an exact default only as a number when it fits; larger stay text.
      return Number.isSafeInteger(Number(text)) ? Number(text) : text;
    default:
      return Number(text);
  }
}

function cUnescape(text: string): string {
  // protobufjs keeps a bytes default as the string the .proto wrote (it encodes it as UTF-8).
  return text.replace(/\\(x[0-9a-fA-F]{1,2}|[0-7]{1,3}|.)/g, (_, e: string) => {
    if (e[0] === "x") return String.fromCharCode(parseInt(e.slice(1), 16));
    if (/^[0-7]/.test(e)) return String.fromCharCode(parseInt(e, 8));
    const simple: Record<string, string> = { n: "\n", r: "\r", t: "\t", "0": "\0" };
    return simple[e] ?? e;
  });
}

function enumJson(e: EnumDescriptorProto): Json {
  const values: Record<string, number> = {};
  for (const v of e.value) values[v.name] = v.number;
  const json: Json = { values };
  if (e.options?.allow_alias) json.options = { allow_alias: true };
  const reserved: (number[] | string)[] = [
    ...e.reserved_range.map((r) => [r.start, r.end]),
    ...e.reserved_name,
  ];
  if (reserved.length > 0) json.reserved = reserved;
  return json;
}

function serviceJson(s: ServiceDescriptorProto): Json {
  const methods: Json = {};
  for (const m of s.method) {
    const method: Json = { requestType: m.input_type, responseType: m.output_type };
    if (m.client_streaming) method.requestStream = true;
    if (m.server_streaming) method.responseStream = true;
    methods[m.name] = method;
  }
  return { methods };
}
