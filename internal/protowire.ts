// Protocol Buffers wire format (protobuf.dev/programming-guides/encoding), for the few messages
// this module encodes by hand: google.rpc.Status (status.ts) and the google.rpc error details
// (errdetails.ts). grpc-go: google.golang.org/protobuf/encoding/protowire.
//
// Each field is a varint tag (field_number << 3 | wire_type), then for wire type 0 a varint,
// 1 eight bytes, 2 a varint length and that many bytes, 5 four bytes. proto3 leaves fields
// holding their default value (0, "", empty bytes) out.

export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_LEN = 2;
export const WIRE_START_GROUP = 3;
export const WIRE_END_GROUP = 4;
export const WIRE_FIXED32 = 5;

// Size of an unsigned varint holding n (0 <= n < 2^53).
export function varintSize(n: number): number {
  let size = 1;
  while (n >= 128) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

// Writes an unsigned varint (0 <= n < 2^53); returns the new position.
export function writeVarint(buf: Uint8Array, pos: number, n: number): number {
  while (n >= 128) {
    buf[pos++] = (n & 0x7f) | 0x80; // & keeps the low 7 bits even past 2^31
    n = Math.floor(n / 128);
  }
  buf[pos++] = n;
  return pos;
}

// A length-delimited field's size: tag, length, payload.
export function lenFieldSize(length: number): number {
  return 1 + varintSize(length) + length;
}

// A bounds-checked cursor over protobuf bytes; every read past `end` throws TypeError.
export class ProtoReader {
  readonly buf: Uint8Array;
  pos: number;
  end: number;

  constructor(buf: Uint8Array, pos: number, end: number) {
    this.buf = buf;
    this.pos = pos;
    this.end = end;
  }

  // A varint's low 32 bits, unsigned (int32 fields are sign-extended to 10 bytes on the wire).
  uint32(): number {
    let result = 0;
    for (let shift = 0; shift < 70; shift += 7) {
      if (this.pos >= this.end) throw new TypeError("Cannot decode protobuf: truncated varint");
      const b = this.buf[this.pos++];
      if (shift < 32) result |= (b & 0x7f) << shift;
      if (b < 0x80) return result >>> 0;
    }
    throw new TypeError("Cannot decode protobuf: varint longer than 10 bytes");
  }

  // A length prefix: checked against the bytes left.
  length(): number {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new TypeError("Cannot decode protobuf: truncated varint");
      const b = this.buf[this.pos++];
      result += (b & 0x7f) * scale;
      scale *= 128;
      if (b < 0x80) {
        const left = this.end - this.pos;
        if (result > left) {
          throw new TypeError(
            `Cannot decode protobuf: length ${result} exceeds ${left} bytes left`,
          );
        }
        return result;
      }
    }
    throw new TypeError("Cannot decode protobuf: varint longer than 10 bytes");
  }

  // Reads a tag; returns it, checked for a valid field number.
  tag(): number {
    const tag = this.uint32();
    if (tag >>> 3 === 0) throw new TypeError("Cannot decode protobuf: field number 0");
    return tag;
  }

  // Skips the value of a field we do not know.
  skip(tag: number, depth = 0): void {
    switch (tag & 7) {
      case WIRE_VARINT:
        this.uint32();
        return;
      case WIRE_FIXED64:
        this.advance(8);
        return;
      case WIRE_LEN: {
        const n = this.length(); // read first: `this.pos += this.length()` would use the old pos
        this.pos += n;
        return;
      }
      case WIRE_FIXED32:
        this.advance(4);
        return;
      case WIRE_START_GROUP: {
        // Deprecated groups: skip fields until the matching END_GROUP.
        if (depth >= 64) throw new TypeError("Cannot decode protobuf: groups nested too deep");
        for (;;) {
          if (this.pos >= this.end) throw new TypeError("Cannot decode protobuf: truncated group");
          const inner = this.tag();
          if ((inner & 7) === WIRE_END_GROUP) {
            if (inner >>> 3 !== tag >>> 3) {
              throw new TypeError("Cannot decode protobuf: mismatched end of group");
            }
            return;
          }
          this.skip(inner, depth + 1);
        }
      }
      default:
        throw new TypeError(`Cannot decode protobuf: unexpected wire type ${tag & 7}`);
    }
  }

  advance(n: number): void {
    if (n > this.end - this.pos) throw new TypeError("Cannot decode protobuf: truncated field");
    this.pos += n;
  }
}

/** Reads a varint as a signed 64-bit integer (int64), in decimal: exact past 2^53. */
export function readInt64(r: ProtoReader): string {
  let result = 0n;
  for (let shift = 0n; shift < 70n; shift += 7n) {
    if (r.pos >= r.end) throw new TypeError("Cannot decode protobuf: truncated varint");
    const b = r.buf[r.pos++];
    result |= BigInt(b & 0x7f) << shift;
    if (b < 0x80) return BigInt.asIntN(64, result).toString();
  }
  throw new TypeError("Cannot decode protobuf: varint longer than 10 bytes");
}

const utf8Encoder = new TextEncoder();

/**
 * A growable protobuf writer for small messages (error details): fields are appended in the
 * order written; a sub-message is written into its own writer, then framed with `bytes()`.
 */
export class ProtoWriter {
  #buf = new Uint8Array(64);
  #pos = 0;

  #ensure(n: number): void {
    if (this.#pos + n <= this.#buf.length) return;
    let size = this.#buf.length * 2;
    while (size < this.#pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.#buf.subarray(0, this.#pos));
    this.#buf = next;
  }

  /** An unsigned varint, 0 <= n < 2^53. */
  uint(n: number): void {
    this.#ensure(10);
    this.#pos = writeVarint(this.#buf, this.#pos, n);
  }

  /** A field tag. */
  tag(fieldNumber: number, wireType: number): void {
    this.uint(fieldNumber * 8 + wireType);
  }

  /** A signed 64-bit varint (int64, and int32 sign-extended as protobuf does). */
  int64(n: bigint): void {
    let v = BigInt.asUintN(64, n);
    this.#ensure(10);
    while (v >= 0x80n) {
      this.#buf[this.#pos++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.#buf[this.#pos++] = Number(v);
  }

  /** A length-delimited value: its length, then the bytes. */
  bytes(b: Uint8Array): void {
    this.uint(b.length);
    this.#ensure(b.length);
    this.#buf.set(b, this.#pos);
    this.#pos += b.length;
  }

  /** A string as UTF-8, length-delimited. */
  string(s: string): void {
    this.bytes(utf8Encoder.encode(s));
  }

  /** The bytes written so far (a copy). */
  finish(): Uint8Array {
    return this.#buf.slice(0, this.#pos);
  }
}
