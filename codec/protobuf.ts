// Protobuf message codecs on protobufjs reflection: CodecOptions and their defaults (grpc-js's
// proto-loader options), protobufCodec, and the codec cache (one codec per type and options).

import protobuf from "protobufjs";
import type { IConversionOptions, MapField, Type } from "protobufjs";
import type { Codec } from "../codec.ts";
import { errorMessage } from "../internal/error_message.ts";
import { MessageShapeError, messageVerifier } from "./verify.ts";

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
  /**
   * Whether `encode` checks a plain object against the message type first, and throws a
   * `TypeError` naming the field for what protobufjs would otherwise send as an empty or
   * zero field: an unknown property (`{ kee: "x" }`), a wrong type (`"abc"` for an int64, a
   * number for a string, a `Date` for a message, a JS `Map` for a map field), an out-of-range
   * integer, an unknown enum name, a string that is not base64 in a `bytes` field. Every
   * representation decoding produces passes (decimal strings, `bigint`s and `Long`s for 64-bit
   * fields, enum names and numbers, the virtual oneof property, `@type` for `Any`). Message
   * class instances are not checked. A call whose request fails the check fails on the client
   * with INVALID_ARGUMENT; a handler's response, INTERNAL. Its cost (`codec/verify_bench.ts`,
   * medians on a busy machine): about 0.1 µs per one-field message, 0.7 µs (+40%) for an 8-field
   * message with a nested message, an int64, an enum, a repeated and a map field; small next to
   * a call. Not in grpc-js, whose proto-loader is lenient.
   * @default {true}
   */
  verify?: boolean;
}

/**
 * Makes a codec for one protobufjs message type. Codecs are cached per type and options, so
 * calling this again returns the same codec.
 *
 * `encode` accepts a plain object (checked against the type, see {@linkcode CodecOptions.verify},
 * then converted with protobufjs `Type.fromObject`) or an instance of the type's message class
 * (encoded as is). With `verify: false`, conversion is lenient as in grpc-js: a number given
 * for a `string` field is sent as its decimal text, a non-numeric string for a number field as
 * `0`, and unknown properties, unknown enum names and a non-array, non-string value for a
 * `bytes` field are left out. A field set explicitly, even to its default (`""`, `0`), is
 * written. `encode` returns a Node.js
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
 * assertThrows(() => codec.encode(wrong), TypeError, "field at: expected an object (Point)");
 * ```
 */
export function protobufCodec<T = unknown>(type: ProtobufType, options?: CodecOptions): Codec<T> {
  if (!(type instanceof protobuf.Type)) {
    throw new TypeError(`Cannot make a codec: type is not a message Type of ${PROTOBUFJS}`);
  }
  return codecFor(type, resolveCodecOptions(options)) as Codec<T>;
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
const DEFAULT_VERIFY = true;
/** loadProto's keepCase default (here with the other option defaults). */
export const DEFAULT_KEEP_CASE = false;

/** How errors name the protobufjs copy that roots and types must come from. */
export const PROTOBUFJS = "this module's protobufjs (npm:protobufjs@7.6.6)";

const LONGS: Readonly<Record<string, IConversionOptions["longs"]>> = {
  string: String,
  number: Number,
  bigint: BigInt,
};
const ENUMS: Readonly<Record<string, IConversionOptions["enums"]>> = {
  string: String,
  number: Number,
};

/** Codec options after defaults and checks. */
export interface ResolvedCodecOptions {
  /** The protobufjs `toObject` options, built once and shared by every decode. */
  readonly conversion: Readonly<IConversionOptions>;
  /** Whether encode checks plain objects against the type first (`verify`). */
  readonly verify: boolean;
  /** Identifies equal option sets, for the codec cache. */
  readonly key: string;
}

/** Checks codec options and fills in the defaults. */
export function resolveCodecOptions(options: CodecOptions | undefined): ResolvedCodecOptions {
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
  const verify = booleanOption(o.verify, "verify", DEFAULT_VERIFY);
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
    verify,
    key: `${longs},${enums},${+defaults}${+arrays}${+objects}${+oneofs}${+json}${+verify}`,
  };
}

/** A boolean option, or `fallback` when unset; TypeError when not a boolean. */
export function booleanOption(
  value: boolean | undefined,
  name: string,
  fallback: boolean,
): boolean {
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
  readonly #fixKeys: KeyFixer | null;
  // Built on the first encode: decode-only codecs never pay for it.
  #verifier: ((value: unknown) => void) | undefined;
  readonly #verify: boolean;

  constructor(type: Type, conversion: IConversionOptions, verify: boolean) {
    this.#type = type;
    this.#verify = verify;
    this.#ctor = type.ctor; // built lazily by protobufjs; build it now, off the hot path
    this.#conversion = conversion;
    this.#name = trimDot(type.fullName);
    this.#fixKeys = longKeyFixer(type, conversion, new Map());
  }

  encode(value: unknown): Uint8Array {
    try {
      // fromObject returns message instances as they are; checking here skips the call.
      let message;
      if (value instanceof (this.#ctor as typeof protobuf.Message)) message = value;
      else {
        if (this.#verify) (this.#verifier ??= messageVerifier(this.#type))(value);
        message = this.#type.fromObject(value as Record<string, unknown>);
      }
      return this.#type.encode(message).finish();
    } catch (error) {
      if (error instanceof MessageShapeError) {
        throw new MessageShapeError(error.path, `Cannot encode ${this.#name}: ${error.message}`);
      }
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
      const object = this.#type.toObject(
        this.#type.decode(new PlainReader(view)),
        this.#conversion,
      );
      if (this.#fixKeys !== null) this.#fixKeys(object);
      return object;
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

// 64-bit map keys. protobufjs's decoder keys such maps by util.longToHash (8 characters, one
// per byte of the value), and toObject copies those keys as they are: `map<uint64, …>` decoded
// `{123: 7}` as `{"{\0\0\0\0\0\0\0": 7}`, which encoded again as key 0. The codec turns them
// into decimal strings (what encode takes, and how JSON maps spell them). A key that was absent on
// the wire is "0" already: only a long decodes to a hash, and a hash is always 8 characters.
// Types without such a map, at any depth, get no fixer and pay nothing.

type KeyFixer = (object: Record<string, unknown>) => void;

const LONG_KEYS: Readonly<Record<string, boolean>> = {
  int64: false,
  sint64: false,
  sfixed64: false,
  uint64: true,
  fixed64: true,
};

function longKeyFixer(
  type: Type,
  conversion: IConversionOptions,
  seen: Map<Type, KeyFixer | null>,
): KeyFixer | null {
  if (seen.has(type)) return seen.get(type) ?? null;
  // A recursive type: decided once its own fields are; the indirection sees the final answer.
  let self: KeyFixer | null = null;
  seen.set(type, (o) => self?.(o));
  const steps: KeyFixer[] = [];
  for (const field of type.fieldsArray) {
    const name = field.name;
    const unsigned = field.map ? LONG_KEYS[(field as unknown as MapField).keyType] : undefined;
    const inner = field.resolvedType instanceof protobuf.Type
      ? longKeyFixer(field.resolvedType, conversion, seen)
      : null;
    if (unsigned === undefined && inner === null) continue;
    if (field.map) {
      steps.push((o) => {
        const map = o[name] as Record<string, unknown> | undefined;
        if (map == null) return;
        if (inner !== null) {
          for (const k in map) inner(map[k] as Record<string, unknown>);
        }
        if (unsigned !== undefined) o[name] = decimalKeys(map, unsigned);
      });
    } else if (field.repeated) {
      steps.push((o) => {
        const list = o[name] as Record<string, unknown>[] | undefined;
        if (list != null) { for (const item of list) inner!(item); }
      });
    } else {
      steps.push((o) => {
        const value = o[name] as Record<string, unknown> | null | undefined;
        if (value != null) inner!(value);
      });
    }
  }
  if (steps.length > 0) {
    self = (o) => {
      for (const step of steps) step(o);
    };
  }
  seen.set(type, self);
  return self;
}

function decimalKeys(map: Record<string, unknown>, unsigned: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key in map) out[key.length === 8 ? hashToDecimal(key, unsigned) : key] = map[key];
  return out;
}

function hashToDecimal(hash: string, unsigned: boolean): string {
  let value = 0n;
  for (let i = 7; i >= 0; i--) value = (value << 8n) | BigInt(hash.charCodeAt(i) & 0xff);
  return (unsigned ? value : BigInt.asIntN(64, value)).toString();
}

const codecCache = new WeakMap<Type, Map<string, Codec<unknown>>>();

/** The cached codec for `type` with `options`. */
export function codecFor(type: Type, options: ResolvedCodecOptions): Codec<unknown> {
  let byOptions = codecCache.get(type);
  if (byOptions === undefined) {
    byOptions = new Map();
    codecCache.set(type, byOptions);
  }
  let codec = byOptions.get(options.key);
  if (codec === undefined) {
    codec = new ProtobufCodec(type, options.conversion, options.verify);
    byOptions.set(options.key, codec);
  }
  return codec;
}

// ---------------------------------------------------------------------------------------------
// Helpers

/** A protobufjs full name without its leading dot: ".helloworld.Hello" → "helloworld.Hello". */
export function trimDot(name: string): string {
  return name.charCodeAt(0) === 46 ? name.slice(1) : name;
}

/** A protobufjs error's message without the leading dot of type names. */
export function protobufErrorMessage(error: unknown): string {
  const message = errorMessage(error);
  // protobufjs prefixes type names with a dot (".pkg.Msg.field: object expected").
  return message.charCodeAt(0) === 46 ? message.slice(1) : message;
}
