// A small schema-driven protobuf codec for messages this module defines itself (the google.rpc
// error details, errdetails.ts): proto3 strings, int32, int64, sub-messages, repeated fields and
// map<string, string>. It writes what grpc-go writes: fields in number order, default values
// left out (except repeated elements and proto3 `optional` fields that are set), map entries
// sorted by key (Go's deterministic order) with key and value always present.

import { ProtoReader, ProtoWriter, readInt64, WIRE_LEN, WIRE_VARINT } from "./protowire.ts";

export type Kind = "string" | "int32" | "int64" | "message" | "map";

export interface FieldSpec {
  readonly no: number;
  readonly name: string;
  readonly kind: Kind;
  readonly repeated?: boolean;
  /** proto3 `optional`: presence tracked, written even when zero, absent when unset. */
  readonly optional?: boolean;
  readonly type?: MessageSpec;
}

export interface MessageSpec {
  readonly name: string;
  readonly fields: readonly FieldSpec[];
}

/** Declares a message: its fully qualified name and fields, in number order. */
export function spec(name: string, fields: FieldSpec[]): MessageSpec {
  return Object.freeze({ name, fields: Object.freeze(fields) });
}

// --- encoding -----------------------------------------------------------------------------

type Obj = Record<string, unknown>;

/** Encodes `value` as message `m`; throws TypeError on a value of the wrong shape. */
export function encodeMessage(m: MessageSpec, value: unknown): Uint8Array {
  const w = new ProtoWriter();
  writeMessage(w, m, value);
  return w.finish();
}

function writeMessage(w: ProtoWriter, m: MessageSpec, value: unknown): void {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new TypeError(`Cannot encode ${m.name}: expected an object, current value is ${value}`);
  }
  const o = value as Obj;
  for (const f of m.fields) {
    const v = o[f.name];
    if (v === undefined || v === null) continue;
    if (f.repeated) {
      if (!Array.isArray(v)) throw fieldError(m, f, "an array", v);
      for (const item of v) writeValue(w, m, f, item, true);
    } else if (f.kind === "map") {
      if (typeof v !== "object" || Array.isArray(v)) throw fieldError(m, f, "an object", v);
      // Go's deterministic marshaling sorts map keys; entries always carry key and value.
      for (const key of Object.keys(v).sort()) {
        const val = (v as Obj)[key];
        if (typeof val !== "string") throw fieldError(m, f, "string values", val);
        const entry = new ProtoWriter();
        entry.tag(1, WIRE_LEN);
        entry.string(key);
        entry.tag(2, WIRE_LEN);
        entry.string(val);
        w.tag(f.no, WIRE_LEN);
        w.bytes(entry.finish());
      }
    } else {
      writeValue(w, m, f, v, f.optional === true);
    }
  }
}

// One value of a field; `always` writes it even when it holds the default (repeated elements,
// proto3 optional fields).
function writeValue(w: ProtoWriter, m: MessageSpec, f: FieldSpec, v: unknown, always: boolean) {
  switch (f.kind) {
    case "string":
      if (typeof v !== "string") throw fieldError(m, f, "a string", v);
      if (v === "" && !always) return;
      w.tag(f.no, WIRE_LEN);
      w.string(v);
      return;
    case "int32": {
      if (typeof v !== "number" || !Number.isInteger(v) || v < -(2 ** 31) || v >= 2 ** 31) {
        throw fieldError(m, f, "an int32", v);
      }
      if (v === 0 && !always) return;
      w.tag(f.no, WIRE_VARINT);
      w.int64(BigInt(v));
      return;
    }
    case "int64": {
      const n = toInt64(v);
      if (n === undefined) throw fieldError(m, f, "an int64 (number, decimal string or bigint)", v);
      if (n === 0n && !always) return;
      w.tag(f.no, WIRE_VARINT);
      w.int64(n);
      return;
    }
    case "message": {
      const sub = new ProtoWriter();
      writeMessage(sub, f.type!, v);
      w.tag(f.no, WIRE_LEN);
      w.bytes(sub.finish());
      return;
    }
    default:
      throw new TypeError(`Cannot encode ${m.name}.${f.name}`);
  }
}

function toInt64(v: unknown): bigint | undefined {
  let n: bigint;
  if (typeof v === "bigint") n = v;
  else if (typeof v === "number" && Number.isSafeInteger(v)) n = BigInt(v);
  else if (typeof v === "string" && /^-?\d{1,20}$/.test(v)) n = BigInt(v);
  else return undefined;
  return n >= -(2n ** 63n) && n < 2n ** 63n ? n : undefined;
}

function fieldError(m: MessageSpec, f: FieldSpec, want: string, v: unknown): TypeError {
  const got = typeof v === "string" ? JSON.stringify(v) : typeof v;
  return new TypeError(
    `Cannot encode ${m.name}: field ${f.name} must be ${want}, current value is ${got}`,
  );
}

// --- decoding -----------------------------------------------------------------------------

const utf8Decoder = new TextDecoder("utf-8", { ignoreBOM: true });

/** Decodes message `m`; throws TypeError on malformed bytes. */
export function decodeMessage(m: MessageSpec, bytes: Uint8Array): Obj {
  if (!(bytes instanceof Uint8Array)) {
    throw new TypeError(`Cannot decode ${m.name}: expected a Uint8Array`);
  }
  return readMessage(m, new ProtoReader(bytes, 0, bytes.length), undefined);
}

function defaults(m: MessageSpec): Obj {
  const o: Obj = {};
  for (const f of m.fields) {
    if (f.repeated) o[f.name] = [];
    else if (f.kind === "map") o[f.name] = {};
    else if (f.kind === "string") o[f.name] = "";
    else if (f.kind === "int32") o[f.name] = 0;
    else if (f.kind === "int64") {
      if (!f.optional) o[f.name] = "0";
    } else o[f.name] = null;
  }
  return o;
}

// Reads fields up to r.end into `into` (a message seen twice merges, as protobuf specifies).
function readMessage(m: MessageSpec, r: ProtoReader, into: Obj | undefined): Obj {
  const o = into ?? defaults(m);
  while (r.pos < r.end) {
    const tag = r.tag();
    const no = tag >>> 3;
    const f = m.fields.find((x) => x.no === no);
    if (f === undefined) {
      r.skip(tag);
      continue;
    }
    const wire = tag & 7;
    const want = f.kind === "int32" || f.kind === "int64" ? WIRE_VARINT : WIRE_LEN;
    if (wire !== want) {
      throw new TypeError(`Cannot decode ${m.name}: field ${f.name} has wire type ${wire}`);
    }
    if (f.kind === "int32") {
      o[f.name] = r.uint32() | 0; // int32: the low 32 bits of the sign-extended varint
      continue;
    }
    if (f.kind === "int64") {
      o[f.name] = readInt64(r);
      continue;
    }
    const n = r.length();
    const end = r.pos + n;
    if (f.kind === "string") {
      const s = utf8Decoder.decode(r.buf.subarray(r.pos, end));
      if (f.repeated) (o[f.name] as string[]).push(s);
      else o[f.name] = s;
    } else if (f.kind === "map") {
      const entry = new ProtoReader(r.buf, r.pos, end);
      let key = "";
      let value = "";
      while (entry.pos < entry.end) {
        const t = entry.tag();
        if (t === ((1 << 3) | WIRE_LEN) || t === ((2 << 3) | WIRE_LEN)) {
          const len = entry.length();
          const s = utf8Decoder.decode(r.buf.subarray(entry.pos, entry.pos + len));
          entry.pos += len;
          if (t >>> 3 === 1) key = s;
          else value = s;
        } else {
          entry.skip(t);
        }
      }
      (o[f.name] as Record<string, string>)[key] = value;
    } else {
      const sub = new ProtoReader(r.buf, r.pos, end);
      if (f.repeated) (o[f.name] as Obj[]).push(readMessage(f.type!, sub, undefined));
      else o[f.name] = readMessage(f.type!, sub, (o[f.name] as Obj | null) ?? undefined);
    }
    r.pos = end;
  }
  return o;
}
