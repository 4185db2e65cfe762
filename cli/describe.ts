// `describe`: a symbol as .proto text, from protobuf-es descriptors (the way grpcurl prints
// them: fully qualified type names with a leading dot).

import type {
  DescEnum,
  DescExtension,
  DescField,
  DescMessage,
  DescMethod,
  DescService,
  FileRegistry,
} from "@bufbuild/protobuf";
import { Code, StatusError } from "../status.ts";

const SCALARS: Record<number, string> = {
  1: "double",
  2: "float",
  3: "int64",
  4: "uint64",
  5: "int32",
  6: "fixed64",
  7: "fixed32",
  8: "bool",
  9: "string",
  12: "bytes",
  13: "uint32",
  15: "sfixed32",
  16: "sfixed64",
  17: "sint32",
  18: "sint64",
};

/**
 * `SYMBOL is a KIND:` and its .proto text.
 * @throws {StatusError} NOT_FOUND when the registry has no such symbol.
 */
export function describeSymbol(registry: FileRegistry, symbol: string): string {
  const desc = registry.get(symbol);
  if (desc !== undefined) {
    switch (desc.kind) {
      case "service":
        return `${symbol} is a service:\n${service(desc)}`;
      case "message":
        return `${symbol} is a message:\n${message(desc, "")}`;
      case "enum":
        return `${symbol} is an enum:\n${enumText(desc, "")}`;
      case "extension":
        return `${symbol} is an extension:\n${extension(desc)}`;
    }
  }
  const dot = symbol.lastIndexOf(".");
  const parent = dot < 0 ? undefined : registry.get(symbol.slice(0, dot));
  const name = symbol.slice(dot + 1);
  if (parent?.kind === "service") {
    const m = parent.methods.find((m) => m.name === name);
    if (m !== undefined) return `${symbol} is a method:\n${method(m)}`;
  } else if (parent?.kind === "message") {
    const f = parent.fields.find((f) => f.name === name);
    if (f !== undefined) return `${symbol} is a field:\n${field(f)}`;
    const o = parent.oneofs.find((o) => o.name === name);
    if (o !== undefined) {
      const body = o.fields.map((f) => `  ${field(f)}\n`).join("");
      return `${symbol} is a oneof:\noneof ${o.name} {\n${body}}`;
    }
  }
  throw new StatusError(Code.NotFound, `symbol not found: ${symbol}`);
}

function service(s: DescService): string {
  return `service ${s.name} {\n${s.methods.map((m) => `  ${method(m)}\n`).join("")}}`;
}

function method(m: DescMethod): string {
  const input = m.methodKind === "client_streaming" || m.methodKind === "bidi_streaming";
  const output = m.methodKind === "server_streaming" || m.methodKind === "bidi_streaming";
  return `rpc ${m.name} ( ${input ? "stream " : ""}.${m.input.typeName} ) returns ( ${
    output ? "stream " : ""
  }.${m.output.typeName} );`;
}

function message(m: DescMessage, indent: string): string {
  const lines: string[] = [];
  const inner = `${indent}  `;
  const printedOneofs = new Set<string>();
  for (const f of m.fields) {
    const o = f.oneof;
    if (o !== undefined && !f.proto.proto3Optional) {
      if (printedOneofs.has(o.name)) continue;
      printedOneofs.add(o.name);
      lines.push(`${inner}oneof ${o.name} {`);
      for (const member of o.fields) lines.push(`${inner}  ${field(member)}`);
      lines.push(`${inner}}`);
      continue;
    }
    lines.push(inner + field(f));
  }
  for (const n of m.nestedMessages) {
    if (n.proto.options?.mapEntry) continue;
    lines.push(message(n, inner));
  }
  for (const e of m.nestedEnums) lines.push(enumText(e, inner));
  for (const x of m.nestedExtensions) lines.push(inner + extension(x));
  return `${indent}message ${m.name} {\n${lines.map((l) => `${l}\n`).join("")}${indent}}`;
}

function enumText(e: DescEnum, indent: string): string {
  const values = e.values.map((v) => `${indent}  ${v.name} = ${v.number};\n`).join("");
  return `${indent}enum ${e.name} {\n${values}${indent}}`;
}

function extension(x: DescExtension): string {
  return `extend .${x.extendee.typeName} { ${fieldLine(x)} }`;
}

function field(f: DescField): string {
  return fieldLine(f);
}

function fieldLine(f: DescField | DescExtension): string {
  let type: string;
  let label = "";
  switch (f.fieldKind) {
    case "scalar":
      type = SCALARS[f.scalar];
      break;
    case "enum":
      type = `.${f.enum.typeName}`;
      break;
    case "message":
      type = `.${f.message.typeName}`;
      break;
    case "list":
      label = "repeated ";
      type = f.listKind === "scalar"
        ? SCALARS[f.scalar]
        : f.listKind === "enum"
        ? `.${f.enum.typeName}`
        : `.${f.message.typeName}`;
      break;
    case "map": {
      const value = f.mapKind === "scalar"
        ? SCALARS[f.scalar]
        : f.mapKind === "enum"
        ? `.${f.enum.typeName}`
        : `.${f.message.typeName}`;
      type = `map<${SCALARS[f.mapKey]}, ${value}>`;
      break;
    }
  }
  if (f.proto.proto3Optional || f.proto.label === 1 && f.parent?.file.edition === 998) {
    label = "optional ";
  } else if (f.proto.label === 2) label = "required ";
  const json = f.proto.jsonName && f.proto.jsonName !== protocJsonName(f.name)
    ? ` [json_name = "${f.proto.jsonName}"]`
    : "";
  return `${label}${type} ${f.name} = ${f.number}${json};`;
}

function protocJsonName(name: string): string {
  return name.replace(/_(.)/g, (_, c: string) => c.toUpperCase());
}
