// HPACK: header blocks <-> header lists (RFC 7541).
//
// Primitive types (RFC 7541 §5). An integer starts in the low N bits of an octet (the prefix);
// values of 2^N-1 or more fill the prefix with ones and continue in 7-bit groups, least
// significant first, the high bit of each octet saying "more follows" (§5.1):
//
//     0   1   2   3   4   5   6   7
//   +---+---+---+---+---+---+---+---+
//   | ? | ? | ? | 1   1   1   1   1 |     prefix (N = 5 here) all ones
//   +---+---+---+-------------------+
//   | 1 |    Value-(2^N-1) LSB      |
//   +---+---------------------------+
//   | 0 |    Value-(2^N-1) MSB      |     last octet: high bit 0
//   +---+---------------------------+
//
// A string literal is a length with a 7-bit prefix and the Huffman flag H in front (§5.2):
//
//   +---+---+---+---+---+---+---+---+
//   | H |    String Length (7+)     |
//   +---+---------------------------+
//   |  String Data (Length octets)  |     Huffman-coded (huffman.ts) when H = 1
//   +-------------------------------+
//
// Field representations (RFC 7541 §6), told apart by their leading bits:
//
//   1xxxxxxx  Indexed Header Field (§6.1)            | 1 |        Index (7+)         |
//   01xxxxxx  Literal with Incremental Indexing      | 0 | 1 |      Index (6+)       |
//             (§6.2.1), then adds the field to the   [Name Length + Name, when Index = 0]
//             dynamic table                          Value Length (7+) + Value
//   0000xxxx  Literal without Indexing (§6.2.2)      | 0 | 0 | 0 | 0 |  Index (4+)   |  + same
//   0001xxxx  Literal Never Indexed (§6.2.3)         | 0 | 0 | 0 | 1 |  Index (4+)   |  + same
//   001xxxxx  Dynamic Table Size Update (§6.3)       | 0 | 0 | 1 |   Max size (5+)   |
//
// Indexes address one space (§2.3.3): 1–61 the static table (Appendix A), 62 and up the dynamic
// table, newest entry first. The dynamic table holds entries of size name + value + 32 octets
// (§4.1), evicting the oldest to stay within its maximum size (§4.4). The encoder and the decoder
// keep theirs as ring buffers of parallel name/value arrays addressed by an absolute insertion
// count: entry `abs` lives in slot `abs & mask` and has index `61 + inserted - abs`, so no entry
// is ever moved.
//
// Strings are byte strings: one char per octet (Latin-1), as everywhere in our transport.

import type { WriteBuffer } from "./buffer.ts";
import {
  HpackError,
  huffmanDecode,
  huffmanDecodedLength,
  huffmanEncode,
  huffmanEncodedLength,
  latin1,
} from "./huffman.ts";

export { HpackError };

/** Default SETTINGS_HEADER_TABLE_SIZE (RFC 9113 §6.5.2) and our encoder's cap on the peer's. */
const DEFAULT_TABLE_SIZE = 4096;
/** Default HpackDecoder.maxHeaderListSize: 16 MiB (grpc-go defaultServerMaxHeaderListSize). */
const DEFAULT_MAX_HEADER_LIST_SIZE = 16 * 1024 * 1024;
/** Per-entry overhead in the table size and header list size (RFC 7541 §4.1). */
const ENTRY_OVERHEAD = 32;
/** Largest integer we decode (RFC 7541 §5.1: an implementation limit; 2^31-1 as in HTTP/2). */
const MAX_INT = 0x7fffffff;

// RFC 7541 Appendix A. STATIC_NAMES[i], STATIC_VALUES[i] is entry i (1–61); slot 0 is unused.
// deno-fmt-ignore
const STATIC_TABLE: readonly string[] = [
  ":authority", "",
  ":method", "GET",
  ":method", "POST",
  ":path", "/",
  ":path", "/index.html",
  ":scheme", "http",
  ":scheme", "https",
  ":status", "200",
  ":status", "204",
  ":status", "206",
  ":status", "304",
  ":status", "400",
  ":status", "404",
  ":status", "500",
  "accept-charset", "",
  "accept-encoding", "gzip, deflate",
  "accept-language", "",
  "accept-ranges", "",
  "accept", "",
  "access-control-allow-origin", "",
  "age", "",
  "allow", "",
  "authorization", "",
  "cache-control", "",
  "content-disposition", "",
  "content-encoding", "",
  "content-language", "",
  "content-length", "",
  "content-location", "",
  "content-range", "",
  "content-type", "",
  "cookie", "",
  "date", "",
  "etag", "",
  "expect", "",
  "expires", "",
  "from", "",
  "host", "",
  "if-match", "",
  "if-modified-since", "",
  "if-none-match", "",
  "if-range", "",
  "if-unmodified-since", "",
  "last-modified", "",
  "link", "",
  "location", "",
  "max-forwards", "",
  "proxy-authenticate", "",
  "proxy-authorization", "",
  "range", "",
  "referer", "",
  "refresh", "",
  "retry-after", "",
  "server", "",
  "set-cookie", "",
  "strict-transport-security", "",
  "transfer-encoding", "",
  "user-agent", "",
  "vary", "",
  "via", "",
  "www-authenticate", "",
];
/** Number of static entries; dynamic indexes start after it (RFC 7541 §2.3.3). */
const STATIC_COUNT = 61;
const STATIC_NAMES: string[] = [""];
const STATIC_VALUES: string[] = [""];
/** name → lowest static index with that name. */
const STATIC_NAME_INDEX = new Map<string, number>();
/** name → (value → static index). */
const STATIC_PAIR_INDEX = new Map<string, Map<string, number>>();
for (let i = 1; i <= STATIC_COUNT; i++) {
  const name = STATIC_TABLE[2 * i - 2], value = STATIC_TABLE[2 * i - 1];
  STATIC_NAMES.push(name);
  STATIC_VALUES.push(value);
  if (!STATIC_NAME_INDEX.has(name)) STATIC_NAME_INDEX.set(name, i);
  let values = STATIC_PAIR_INDEX.get(name);
  if (values === undefined) STATIC_PAIR_INDEX.set(name, values = new Map());
  values.set(value, i);
}

/** Header names whose values must never enter a compression table (RFC 7541 §7.1.3). */
const SENSITIVE = new Set(["authorization", "proxy-authorization", "cookie"]);

/** Smallest power of two ≥ n (n ≥ 1). */
function pow2AtLeast(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/**
 * The dynamic table (RFC 7541 §2.3.2, §4): a ring of names and values addressed by absolute
 * insertion number. With `indexed`, it also keeps the maps the encoder searches; a map entry
 * always points at the newest entry for its key, and eviction removes it only if it still points
 * at the evicted entry (an older duplicate leaves a newer one's mapping alone).
 */
class DynamicTable {
  names: string[];
  values: string[];
  mask: number;
  /** Entries ever inserted; the newest entry is `inserted - 1`. */
  inserted = 0;
  /** Live entries: `inserted - count … inserted - 1`. */
  count = 0;
  /** Sum of entry sizes (RFC 7541 §4.1). */
  size = 0;
  /** Maximum size (RFC 7541 §4.2). */
  capacity: number;
  /** name → (value → abs) for the newest live entry of each pair; encoder only. */
  readonly pairs: Map<string, Map<string, number>> | null;
  /** name → abs of the newest live entry with that name; encoder only. */
  readonly nameAbs: Map<string, number> | null;

  constructor(capacity: number, indexed: boolean) {
    this.capacity = capacity;
    // Every entry takes at least 32 octets, so capacity / 32 slots always suffice; start smaller
    // when that is large and grow on demand (a peer cannot make us allocate for a table it does
    // not fill).
    const slots = pow2AtLeast(Math.min(64, Math.max(1, Math.floor(capacity / ENTRY_OVERHEAD))));
    this.names = new Array<string>(slots).fill("");
    this.values = new Array<string>(slots).fill("");
    this.mask = slots - 1;
    this.pairs = indexed ? new Map() : null;
    this.nameAbs = indexed ? new Map() : null;
  }

  /** Sets the maximum size, evicting as needed (RFC 7541 §4.3). */
  setCapacity(capacity: number): void {
    this.capacity = capacity;
    while (this.size > capacity) this.evict();
  }

  #grow(slots: number): void {
    const names = new Array<string>(slots).fill("");
    const values = new Array<string>(slots).fill("");
    const mask = slots - 1;
    for (let abs = this.inserted - this.count; abs < this.inserted; abs++) {
      names[abs & mask] = this.names[abs & this.mask];
      values[abs & mask] = this.values[abs & this.mask];
    }
    this.names = names;
    this.values = values;
    this.mask = mask;
  }

  /** Removes the oldest entry. */
  evict(): void {
    const abs = this.inserted - this.count;
    const slot = abs & this.mask;
    const name = this.names[slot], value = this.values[slot];
    this.names[slot] = this.values[slot] = "";
    this.size -= name.length + value.length + ENTRY_OVERHEAD;
    this.count--;
    if (this.pairs !== null) {
      const values = this.pairs.get(name)!;
      if (values.get(value) === abs) {
        values.delete(value);
        if (values.size === 0) this.pairs.delete(name);
      }
      if (this.nameAbs!.get(name) === abs) this.nameAbs!.delete(name);
    }
  }

  /** Adds an entry, evicting older ones; an entry larger than the table empties it (§4.4). */
  add(name: string, value: string): void {
    const size = name.length + value.length + ENTRY_OVERHEAD;
    while (this.count > 0 && this.size + size > this.capacity) this.evict();
    if (size > this.capacity) return;
    if (this.count > this.mask) this.#grow((this.mask + 1) * 2);
    const abs = this.inserted++;
    const slot = abs & this.mask;
    this.names[slot] = name;
    this.values[slot] = value;
    this.count++;
    this.size += size;
    if (this.pairs !== null) {
      let values = this.pairs.get(name);
      if (values === undefined) this.pairs.set(name, values = new Map());
      values.set(value, abs);
      this.nameAbs!.set(name, abs);
    }
  }

  /** Empties the table (an entry larger than the whole table, RFC 7541 §4.4). */
  clear(): void {
    while (this.count > 0) this.evict();
  }

  /** Flat [name, value, …], newest first (index 62 first). */
  entries(): string[] {
    const out: string[] = [];
    for (let abs = this.inserted - 1; abs >= this.inserted - this.count; abs--) {
      out.push(this.names[abs & this.mask], this.values[abs & this.mask]);
    }
    return out;
  }
}

/** Appends an integer with an N-bit prefix; `flags` holds the bits above the prefix (§5.1). */
function writeInt(out: WriteBuffer, flags: number, prefixBits: number, v: number): void {
  const max = (1 << prefixBits) - 1;
  if (v < max) {
    out.u8(flags | v);
    return;
  }
  out.u8(flags | max);
  v -= max;
  while (v >= 128) {
    out.u8((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.u8(v);
}

/**
 * Encodes header lists into header blocks (RFC 7541), one instance per connection (its dynamic
 * table mirrors the peer's decoder).
 *
 * Per field: a full match in the static or dynamic table is sent indexed (§6.1); otherwise a
 * literal with incremental indexing (§6.2.1), naming by index when the name is in a table. Never
 * indexed (§6.2.3): `authorization`, `proxy-authorization`, `cookie` (§7.1.3). Not indexed
 * (§6.2.2): values longer than a quarter of the table, which would only churn it. Strings go
 * Huffman-coded when that is strictly shorter.
 */
export class HpackEncoder {
  #table: DynamicTable;
  /** A size update is owed at the start of the next block (RFC 7541 §4.2). */
  #updatePending = false;
  /** Smallest size set since the last block; sent first when below the final size. */
  #minSize = 0;
  /** Use Huffman coding when shorter (default); false sends every string raw (tests, C.3). */
  huffman = true;

  /**
   * @param maxTableSize the dynamic table size both sides start from (RFC 9113: 4096); no update
   * is sent for it.
   */
  constructor(maxTableSize: number = DEFAULT_TABLE_SIZE) {
    if (!(maxTableSize >= 0 && maxTableSize <= MAX_INT && Number.isInteger(maxTableSize))) {
      throw new RangeError(`Cannot create HpackEncoder: maxTableSize ${maxTableSize} is invalid`);
    }
    this.#table = new DynamicTable(maxTableSize, true);
  }

  /**
   * Applies the peer's SETTINGS_HEADER_TABLE_SIZE: our table becomes min(n, 4096), announced at
   * the start of the next block. When it shrank and then grew before that block, the smallest
   * value is announced first, then the final one (RFC 7541 §4.2).
   */
  setMaxTableSize(n: number): void {
    const size = Math.min(n, DEFAULT_TABLE_SIZE);
    if (!this.#updatePending) {
      if (size === this.#table.capacity) return;
      this.#updatePending = true;
      this.#minSize = size;
    } else if (size < this.#minSize) {
      this.#minSize = size;
    }
    this.#table.setCapacity(size);
  }

  /** Size of the dynamic table in octets (RFC 7541 §4.1). */
  get dynamicTableSize(): number {
    return this.#table.size;
  }

  /** The dynamic table as flat [name, value, …] pairs, newest (index 62) first. */
  dynamicTableEntries(): string[] {
    return this.#table.entries();
  }

  /** Appends the header block for `headers` (flat [name, value, …], names lower case). */
  encode(out: WriteBuffer, headers: readonly string[]): void {
    const table = this.#table;
    if (this.#updatePending) {
      this.#updatePending = false;
      if (this.#minSize < table.capacity) writeInt(out, 0x20, 5, this.#minSize);
      writeInt(out, 0x20, 5, table.capacity);
    }
    const pairs = table.pairs!, nameAbs = table.nameAbs!;
    for (let i = 0; i + 1 < headers.length; i += 2) {
      const name = headers[i], value = headers[i + 1];
      // Full match: indexed field (§6.1).
      const staticValues = STATIC_PAIR_INDEX.get(name);
      if (staticValues !== undefined) {
        const idx = staticValues.get(value);
        if (idx !== undefined) {
          out.u8(0x80 | idx); // idx ≤ 61 fits the 7-bit prefix
          continue;
        }
      }
      const dynValues = pairs.get(name);
      if (dynValues !== undefined) {
        const abs = dynValues.get(value);
        if (abs !== undefined) {
          writeInt(out, 0x80, 7, STATIC_COUNT + table.inserted - abs);
          continue;
        }
      }
      // Literal: name by index when either table has it.
      let nameIdx = STATIC_NAME_INDEX.get(name) ?? 0;
      if (nameIdx === 0) {
        const abs = nameAbs.get(name);
        if (abs !== undefined) nameIdx = STATIC_COUNT + table.inserted - abs;
      }
      if (SENSITIVE.has(name)) {
        writeInt(out, 0x10, 4, nameIdx); // never indexed (§6.2.3, §7.1.3)
      } else if (
        value.length <= table.capacity >>> 2 &&
        name.length + value.length + ENTRY_OVERHEAD <= table.capacity
      ) {
        writeInt(out, 0x40, 6, nameIdx); // incremental indexing (§6.2.1)
        if (nameIdx === 0) this.#writeString(out, name);
        this.#writeString(out, value);
        table.add(name, value);
        continue;
      } else {
        writeInt(out, 0x00, 4, nameIdx); // without indexing (§6.2.2)
      }
      if (nameIdx === 0) this.#writeString(out, name);
      this.#writeString(out, value);
    }
  }

  /** String literal (§5.2), Huffman-coded when strictly shorter. */
  #writeString(out: WriteBuffer, s: string): void {
    if (this.huffman && s.length > 0) {
      const h = huffmanEncodedLength(s);
      if (h < s.length) {
        writeInt(out, 0x80, 7, h);
        huffmanEncode(out, s);
        return;
      }
    }
    writeInt(out, 0x00, 7, s.length);
    out.ascii(s);
  }
}

/** Options of `HpackDecoder`. */
export interface HpackDecoderOptions {
  /** Our SETTINGS_HEADER_TABLE_SIZE: the most the peer may size our table to with a size
   * update. The table itself starts at 4096 octets (the protocol's initial value).
   * @default {4096} */
  maxTableSize?: number;
  /** Largest header list (sum of name + value + 32 per field, RFC 7541 §4.1) we accept.
   * @default {16777216} */
  maxHeaderListSize?: number;
}

/**
 * Decodes header blocks into header lists (RFC 7541), one instance per connection; its dynamic
 * table mirrors the peer's encoder.
 */
export class HpackDecoder {
  #table: DynamicTable;
  #maxTableSize: number;
  /** Largest header list accepted; `decode` returns false past it. */
  maxHeaderListSize: number;
  /** Read position inside `decode` (lets the integer and string readers advance it). */
  #pos = 0;
  /** Decoded length of the last string read by `#readString`. */
  #len = 0;

  constructor(opts: HpackDecoderOptions = {}) {
    const maxTableSize = opts.maxTableSize ?? DEFAULT_TABLE_SIZE;
    const maxHeaderListSize = opts.maxHeaderListSize ?? DEFAULT_MAX_HEADER_LIST_SIZE;
    if (!(maxTableSize >= 0 && maxTableSize <= MAX_INT && Number.isInteger(maxTableSize))) {
      throw new RangeError(`Cannot create HpackDecoder: maxTableSize ${maxTableSize} is invalid`);
    }
    if (!(maxHeaderListSize >= 0)) {
      throw new RangeError(
        `Cannot create HpackDecoder: maxHeaderListSize ${maxHeaderListSize} is invalid`,
      );
    }
    this.#maxTableSize = maxTableSize;
    this.maxHeaderListSize = maxHeaderListSize;
    // The table starts at the protocol's initial 4096 octets (RFC 9113 §6.5.2), whatever we
    // advertise: the peer's encoder uses that until it has seen our SETTINGS, then announces
    // its new size with an update (RFC 7541 §4.2). Starting smaller would drop entries the peer
    // may still reference; starting larger would only keep entries it no longer references.
    this.#table = new DynamicTable(DEFAULT_TABLE_SIZE, false);
  }

  /**
   * Our SETTINGS_HEADER_TABLE_SIZE: size updates above it are errors. Lowering it also shrinks
   * the table now (the peer must send an update at or below it anyway, RFC 7541 §4.2); set it
   * once the peer has acknowledged our SETTINGS.
   */
  get maxTableSize(): number {
    return this.#maxTableSize;
  }
  set maxTableSize(n: number) {
    this.#maxTableSize = n;
    if (this.#table.capacity > n) this.#table.setCapacity(n);
  }

  /** Size of the dynamic table in octets (RFC 7541 §4.1). */
  get dynamicTableSize(): number {
    return this.#table.size;
  }

  /** The dynamic table as flat [name, value, …] pairs, newest (index 62) first. */
  dynamicTableEntries(): string[] {
    return this.#table.entries();
  }

  /**
   * Decodes the header block `buf[start, end)`, appending flat [name, value, …] pairs to `out`.
   * Returns false when the header list is larger than `maxHeaderListSize`: fields past the limit
   * are not appended, but the whole block is still decoded so the table stays in sync.
   * @throws {HpackError} on a malformed block (→ COMPRESSION_ERROR).
   */
  decode(buf: Uint8Array, start: number, end: number, out: string[]): boolean {
    const table = this.#table;
    const maxList = this.maxHeaderListSize;
    let listSize = 0;
    let fits = true;
    let fieldSeen = false;
    this.#pos = start;
    while (this.#pos < end) {
      const b = buf[this.#pos];
      if (b & 0x80) {
        // Indexed Header Field (§6.1).
        const idx = this.#readInt(buf, end, 7);
        let name: string, value: string;
        if (idx <= STATIC_COUNT) {
          if (idx === 0) throw new HpackError("Cannot decode header block: index 0");
          name = STATIC_NAMES[idx];
          value = STATIC_VALUES[idx];
        } else {
          const i = idx - STATIC_COUNT;
          if (i > table.count) throw this.#indexError(idx);
          const slot = (table.inserted - i) & table.mask;
          name = table.names[slot];
          value = table.values[slot];
        }
        fieldSeen = true;
        if (fits) {
          listSize += name.length + value.length + ENTRY_OVERHEAD;
          if (listSize > maxList) fits = false;
          else out.push(name, value);
        }
        continue;
      }
      if ((b & 0xe0) === 0x20) {
        // Dynamic Table Size Update (§6.3); only at the start of a block (§4.2).
        if (fieldSeen) {
          throw new HpackError("Cannot decode header block: table size update after a field");
        }
        const size = this.#readInt(buf, end, 5);
        if (size > this.#maxTableSize) {
          throw new HpackError(
            `Cannot decode header block: table size update ${size} exceeds ${this.#maxTableSize}`,
          );
        }
        table.setCapacity(size);
        continue;
      }
      // Literal Header Field (§6.2): 01 with incremental indexing, 0000 without, 0001 never.
      fieldSeen = true;
      const indexing = (b & 0x40) !== 0;
      const nameIdx = this.#readInt(buf, end, indexing ? 6 : 4);
      // Longest name + value we must materialise: one that still fits the header list, or one
      // that will enter the table. Anything longer is validated and measured but never built
      // (HPACK bomb defence: decoding allocates about maxHeaderListSize at most).
      const budget = fits ? maxList - listSize - ENTRY_OVERHEAD : -1;
      const room = indexing ? table.capacity - ENTRY_OVERHEAD : -1;
      const limit = budget > room ? budget : room;
      let name: string | null, nameLen: number;
      if (nameIdx === 0) {
        name = this.#readString(buf, end, limit);
        nameLen = this.#len;
      } else if (nameIdx <= STATIC_COUNT) {
        name = STATIC_NAMES[nameIdx];
        nameLen = name.length;
      } else {
        const i = nameIdx - STATIC_COUNT;
        if (i > table.count) throw this.#indexError(nameIdx);
        name = table.names[(table.inserted - i) & table.mask];
        nameLen = name.length;
      }
      const value = this.#readString(buf, end, limit - nameLen);
      const fieldLen = nameLen + this.#len;
      if (fits) {
        if (fieldLen > budget) fits = false;
        else {
          listSize += fieldLen + ENTRY_OVERHEAD;
          out.push(name!, value!);
        }
      }
      if (indexing) {
        // Strings longer than `room` were skipped; such an entry empties the table (§4.4).
        if (fieldLen > room) table.clear();
        else table.add(name!, value!);
      }
    }
    return fits;
  }

  #indexError(idx: number): HpackError {
    return new HpackError(
      `Cannot decode header block: index ${idx} is past the table (${
        STATIC_COUNT + this.#table.count
      } entries)`,
    );
  }

  /** Reads an integer with an N-bit prefix at `#pos` (§5.1). */
  #readInt(buf: Uint8Array, end: number, prefixBits: number): number {
    let pos = this.#pos;
    const max = (1 << prefixBits) - 1;
    let v = buf[pos++] & max;
    if (v === max) {
      let shift = 1;
      for (;;) {
        if (pos >= end) throw new HpackError("Cannot decode header block: truncated integer");
        const b = buf[pos++];
        v += (b & 0x7f) * shift;
        if (v > MAX_INT) throw new HpackError("Cannot decode header block: integer overflow");
        if ((b & 0x80) === 0) break;
        shift *= 128;
        // Five continuation octets carry 35 bits; a sixth is only zero padding or overflow.
        if (shift > 2 ** 28) throw new HpackError("Cannot decode header block: integer overflow");
      }
    }
    this.#pos = pos;
    return v;
  }

  /**
   * Reads a string literal at `#pos` (§5.2) and sets `#len` to its decoded length. Returns null,
   * without building it, when that length is above `limit` (the string is still validated).
   */
  #readString(buf: Uint8Array, end: number, limit: number): string | null {
    if (this.#pos >= end) throw new HpackError("Cannot decode header block: truncated string");
    const huffman = (buf[this.#pos] & 0x80) !== 0;
    const len = this.#readInt(buf, end, 7);
    const start = this.#pos;
    if (len > end - start) {
      throw new HpackError(
        `Cannot decode header block: string length ${len} is past the end of the block`,
      );
    }
    const stop = start + len;
    this.#pos = stop;
    if (!huffman) {
      this.#len = len;
      return len > limit ? null : latin1(buf, start, stop);
    }
    // A Huffman string decodes to at most 8/5 of its length; measure first only when that bound
    // is above the limit.
    if (Math.floor((len * 8) / 5) > limit) {
      const n = huffmanDecodedLength(buf, start, stop);
      if (n > limit) {
        this.#len = n;
        return null;
      }
    }
    const s = huffmanDecode(buf, start, stop);
    this.#len = s.length;
    return s;
  }
}
