// Checking an outgoing plain object against its message type before protobufjs converts it.
// `Type.fromObject` is lenient: an unknown property is dropped, "abc" for an int64 becomes 0, a
// `Date` for a Timestamp an empty one, a JS `Map` for a map field an empty map; the message goes
// out with the field silently empty. protobufjs's own `verify` is no help: it rejects the decimal
// strings our decoder produces for 64-bit fields and passes unknown property names. This check
// accepts exactly what encoding takes without loss (every representation decoding produces, see
// CodecOptions) and names the first field that does not fit.
//
// One verifier per message type, built on first use from the reflection (a field table and a
// check per field kind); values are walked once, with no allocation unless a check fails.

import protobuf from "protobufjs";
import type { Enum, Field, MapField, Type } from "protobufjs";

/** An outgoing message that does not fit its type; `path` names the field (`a.b[2].c`). */
export class MessageShapeError extends TypeError {
  /** The field's path from the message, e.g. `items[2].revision`; "" for the message itself. */
  readonly path: string;
  constructor(path: string, message: string) {
    super(message);
    this.name = "TypeError";
    this.path = path;
  }
}

/**
 * The check for `type`: a function that throws {@linkcode MessageShapeError} when its argument
 * does not fit. Built once per type (a codec keeps it).
 */
export function messageVerifier(type: Type): (value: unknown) => void {
  const v = verifierOf(type);
  const fieldless = type.fieldsArray.length === 0;
  return (value) => {
    // protobufjs encodes a type without fields from nothing (a handler returning nothing for
    // google.protobuf.Empty).
    if (value == null && fieldless) return;
    checkMessage(v, value, "", 0);
  };
}

function fail(path: string, problem: string): MessageShapeError {
  return new MessageShapeError(path, path === "" ? problem : `field ${path}: ${problem}`);
}

// Nesting past this is a cycle in the object (protobufjs would overflow the stack).
const MAX_DEPTH = 100;

interface Verifier {
  readonly type: Type;
  readonly ctor: unknown;
  readonly fields: Map<string, FieldCheck>;
  /** Oneof name → its member field names (the virtual property decoding adds with `oneofs`). */
  readonly oneofs: Map<string, readonly string[]>;
  /** google.protobuf.Any: protobufjs also takes its JSON form, `{ "@type": … }`. */
  readonly isAny: boolean;
}

interface FieldCheck {
  readonly field: Field;
  readonly kind: Kind;
  readonly repeated: boolean;
  /** For map fields: the key's kind. */
  readonly mapKey: Kind | undefined;
  /** For enum fields: the value names. */
  readonly enumValues: Readonly<Record<string, number>> | undefined;
}

type Kind =
  | "double"
  | "int32"
  | "uint32"
  | "int64"
  | "uint64"
  | "bool"
  | "string"
  | "bytes"
  | "enum"
  | "message";

const SCALAR_KINDS: Readonly<Record<string, Kind>> = {
  double: "double",
  float: "double",
  int32: "int32",
  sint32: "int32",
  sfixed32: "int32",
  uint32: "uint32",
  fixed32: "uint32",
  int64: "int64",
  sint64: "int64",
  sfixed64: "int64",
  uint64: "uint64",
  fixed64: "uint64",
  bool: "bool",
  string: "string",
  bytes: "bytes",
};

const verifiers = new WeakMap<Type, Verifier>();

function verifierOf(type: Type): Verifier {
  let v = verifiers.get(type);
  if (v === undefined) {
    const fields = new Map<string, FieldCheck>();
    for (const field of type.fieldsArray) {
      field.resolve();
      const resolved = field.resolvedType;
      const kind: Kind = resolved instanceof protobuf.Type
        ? "message"
        : resolved instanceof protobuf.Enum
        ? "enum"
        : SCALAR_KINDS[field.type];
      const map = field instanceof protobuf.MapField ? (field as unknown as MapField) : undefined;
      fields.set(field.name, {
        field,
        kind,
        repeated: field.repeated,
        mapKey: map === undefined ? undefined : SCALAR_KINDS[map.keyType],
        enumValues: resolved instanceof protobuf.Enum ? (resolved as Enum).values : undefined,
      });
    }
    const oneofs = new Map<string, readonly string[]>();
    for (const oneof of type.oneofsArray) oneofs.set(oneof.name, oneof.oneof);
    v = {
      type,
      ctor: type.ctor,
      fields,
      oneofs,
      isAny: type.fullName === ".google.protobuf.Any",
    };
    verifiers.set(type, v);
  }
  return v;
}

function checkMessage(v: Verifier, value: unknown, path: string, depth: number): void {
  if (typeof value !== "object" || value === null || !isPlainish(value)) {
    throw fail(
      path,
      `expected an object (${typeName(v.type)}), got ${describe(value)}`,
    );
  }
  if (value instanceof (v.ctor as typeof protobuf.Message)) return; // encoded as it is
  if (depth > MAX_DEPTH) {
    throw fail(path, `nested more than ${MAX_DEPTH} deep (a cycle?)`);
  }
  if (v.isAny && "@type" in value) return; // protobufjs's JSON form of Any
  const obj = value as Record<string, unknown>;
  for (const key in obj) {
    const x = obj[key];
    const f = v.fields.get(key);
    if (f === undefined) {
      const members = v.oneofs.get(key);
      // The virtual oneof property decoding adds: the name of the member that is set.
      if (members !== undefined && (x == null || members.includes(x as string))) continue;
      throw fail(join(path, key), unknownField(v, key, members, x));
    }
    if (x == null) continue; // unset (protobufjs skips null and undefined)
    const at = path === "" ? key : `${path}.${key}`;
    if (f.mapKey !== undefined) checkMap(f, x, at, depth);
    else if (f.repeated) {
      if (!Array.isArray(x)) {
        throw fail(at, `expected an array (repeated field), got ${describe(x)}`);
      }
      for (let i = 0; i < x.length; i++) checkValue(f, x[i], `${at}[${i}]`, depth);
    } else checkValue(f, x, at, depth);
  }
}

function checkMap(f: FieldCheck, x: unknown, at: string, depth: number): void {
  if (typeof x !== "object" || x === null || Array.isArray(x) || x instanceof Map) {
    throw fail(
      at,
      `expected a plain object (map field), got ${describe(x)}${
        x instanceof Map ? ": use Object.fromEntries(map)" : ""
      }`,
    );
  }
  const entries = x as Record<string, unknown>;
  for (const k in entries) {
    const keyProblem = mapKeyProblem(f.mapKey!, k);
    if (keyProblem !== undefined) {
      throw fail(`${at}[${JSON.stringify(k)}]`, keyProblem);
    }
    checkValue(f, entries[k], `${at}[${JSON.stringify(k)}]`, depth);
  }
}

function mapKeyProblem(kind: Kind, k: string): string | undefined {
  switch (kind) {
    case "string":
      return undefined;
    case "bool":
      return k === "true" || k === "false" ? undefined : `map key must be "true" or "false"`;
    case "int32":
    case "uint32":
    case "int64":
    case "uint64":
      // Keys are strings: wide kinds read them as decimal strings, narrow ones as numbers.
      return integerProblem(kind, INT_RANGES[kind].wide || !DECIMAL.test(k) ? k : Number(k));
    default:
      return `map key of kind ${kind}`;
  }
}

function checkValue(f: FieldCheck, x: unknown, at: string, depth: number): void {
  let problem: string | undefined;
  switch (f.kind) {
    case "string":
      if (typeof x !== "string") problem = expected("a string", x);
      break;
    case "bool":
      if (typeof x !== "boolean") problem = expected("a boolean", x);
      break;
    case "double":
      if (
        typeof x !== "number" && x !== "NaN" && x !== "Infinity" && x !== "-Infinity"
      ) problem = expected("a number", x);
      break;
    case "int32":
    case "uint32":
    case "int64":
    case "uint64":
      problem = integerProblem(f.kind, x);
      break;
    case "bytes":
      problem = bytesProblem(x);
      break;
    case "enum":
      problem = enumProblem(f, x);
      break;
    case "message":
      if (x === null) problem = expected("an object", x);
      else checkMessage(verifierOf(f.field.resolvedType as Type), x, at, depth + 1);
      break;
  }
  if (problem !== undefined) throw fail(at, problem);
}

interface IntRange {
  readonly min: number;
  readonly max: number;
  readonly bigMin: bigint;
  readonly bigMax: bigint;
  readonly wide: boolean;
}

function intRange(bigMin: bigint, bigMax: bigint, wide: boolean): IntRange {
  return { min: Number(bigMin), max: Number(bigMax), bigMin, bigMax, wide };
}

const INT_RANGES: Readonly<Record<string, IntRange>> = {
  int32: intRange(-(2n ** 31n), 2n ** 31n - 1n, false),
  uint32: intRange(0n, 2n ** 32n - 1n, false),
  int64: intRange(-(2n ** 63n), 2n ** 63n - 1n, true),
  uint64: intRange(0n, 2n ** 64n - 1n, true),
};

const DECIMAL = /^-?\d+$/;

function integerProblem(kind: Kind, x: unknown): string | undefined {
  const r = INT_RANGES[kind];
  if (typeof x === "number") {
    // Past 2^53 a number is already rounded; only the range is checked.
    if (Number.isInteger(x) && x >= r.min && x <= r.max) return undefined;
  } else if (r.wide) {
    if (typeof x === "string" && DECIMAL.test(x)) {
      // Up to 18 digits fits int64; only a sign can put it out of uint64's range.
      const negative = x.charCodeAt(0) === 45;
      if (x.length <= 18 && !(negative && r.bigMin === 0n)) return undefined;
      const n = BigInt(x);
      if (n >= r.bigMin && n <= r.bigMax) return undefined;
    } else if (typeof x === "bigint") {
      if (x >= r.bigMin && x <= r.bigMax) return undefined;
    } else if (isLong(x)) return undefined;
  }
  if ((typeof x === "number" && Number.isInteger(x)) || typeof x === "bigint") {
    return `${x} is out of range for ${kind}`;
  }
  if (typeof x === "string" && r.wide && DECIMAL.test(x)) return `${x} is out of range for ${kind}`;
  return expected(
    r.wide ? `an ${kind} (a number, bigint or decimal string)` : `an ${kind} (a number)`,
    x,
  );
}

// A long.js Long (what protobufjs decodes 64-bit fields to by default).
function isLong(x: unknown): boolean {
  return typeof x === "object" && x !== null &&
    typeof (x as { low?: unknown }).low === "number" &&
    typeof (x as { high?: unknown }).high === "number";
}

function bytesProblem(x: unknown): string | undefined {
  if (x instanceof Uint8Array) return undefined;
  if (typeof x === "string") {
    // protobufjs reads a string in a bytes field as base64 (proto3 JSON).
    if (protobuf.util.base64.test(x)) return undefined;
    return `expected a Uint8Array (or base64 text), got a string that is not base64 ${
      preview(x)
    }: for text, send new TextEncoder().encode(s)`;
  }
  if (Array.isArray(x) && x.every((b) => Number.isInteger(b) && b >= 0 && b <= 255)) {
    return undefined;
  }
  return expected("a Uint8Array", x);
}

function enumProblem(f: FieldCheck, x: unknown): string | undefined {
  const values = f.enumValues!;
  if (typeof x === "number") {
    return Number.isInteger(x) && x >= -(2 ** 31) && x < 2 ** 31
      ? undefined // open enums take numbers they do not name
      : expected("an enum value (a name or an int32)", x);
  }
  if (typeof x === "string") {
    if (Object.hasOwn(values, x)) return undefined;
    const names = Object.keys(values);
    return `${preview(x)} is not a value of ${typeName(f.field.resolvedType!)} (${
      names.slice(0, 8).join(", ")
    }${names.length > 8 ? ", …" : ""})`;
  }
  return expected("an enum value (a name or an int32)", x);
}

function unknownField(
  v: Verifier,
  key: string,
  members: readonly string[] | undefined,
  x: unknown,
): string {
  if (members !== undefined) {
    return `oneof ${key} names the member that is set, one of ${members.join(", ")}; got ${
      describe(x)
    }`;
  }
  const names = [...v.fields.keys()];
  const norm = (s: string) => s.replaceAll("_", "").toLowerCase();
  const close = names.find((n) => norm(n) === norm(key));
  const hint = close !== undefined ? `; did you mean ${close}?` : "";
  const list = names.length === 0 ? "no fields" : `fields ${names.join(", ")}`;
  return `unknown field (${typeName(v.type)} has ${list})${hint}`;
}

// Objects protobufjs reads as messages; a Date, Map, Set, Promise or typed array it would read
// as an empty message, so they are refused.
function isPlainish(x: object): boolean {
  const proto = Object.getPrototypeOf(x);
  if (proto === Object.prototype || proto === null) return true;
  return !(Array.isArray(x) || x instanceof Date || x instanceof Map || x instanceof Set ||
    x instanceof Promise || ArrayBuffer.isView(x));
}

function expected(what: string, x: unknown): string {
  return `expected ${what}, got ${describe(x)}`;
}

function describe(x: unknown): string {
  if (x === null) return "null";
  if (x === undefined) return "undefined";
  switch (typeof x) {
    case "string":
      return `string ${preview(x)}`;
    case "number":
    case "boolean":
      return `${typeof x} ${x}`;
    case "bigint":
      return `bigint ${x}n`;
    case "object":
      if (Array.isArray(x)) return "an array";
      return x.constructor === Object || x.constructor === undefined
        ? "an object"
        : `a ${x.constructor.name}`;
    default:
      return typeof x;
  }
}

function preview(s: string): string {
  return JSON.stringify(s.length > 40 ? `${s.slice(0, 40)}…` : s);
}

function typeName(t: { fullName: string }): string {
  return t.fullName.charCodeAt(0) === 46 ? t.fullName.slice(1) : t.fullName;
}

function join(path: string, key: string): string {
  return path === "" ? key : `${path}.${key}`;
}
