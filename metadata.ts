/**
 * gRPC metadata: the custom key-value pairs sent as request headers, response headers and
 * trailers (PROTOCOL-HTTP2.md "Custom-Metadata").
 *
 * @module
 */

import { decodeBinaryHeader, encodeBinaryHeader } from "./internal/headers.ts";

/**
 * A metadata value: a `string` for ASCII keys, a `Uint8Array` for keys ending in `-bin`.
 *
 * @example Values of both kinds
 * ```ts
 * import type { MetadataValue } from "@seed/grpc";
 *
 * const values: MetadataValue[] = ["text", new Uint8Array([1, 2])];
 * ```
 */
export type MetadataValue = string | Uint8Array;

/**
 * The value type for key `K`: `Uint8Array` when `K` is a literal ending in `-bin` (in any case),
 * `string` for other literals, and either when `K` is only known to be a `string`.
 *
 * @typeParam K The key type.
 *
 * @example Value types follow the key
 * ```ts
 * import type { MetadataValueFor } from "@seed/grpc";
 *
 * const bin: MetadataValueFor<"trace-bin"> = new Uint8Array([1]);
 * const text: MetadataValueFor<"x-user"> = "ada";
 * const either: MetadataValueFor<string> = Math.random() < 0.5 ? "a" : new Uint8Array();
 * ```
 */
export type MetadataValueFor<K extends string> = string extends K ? MetadataValue
  : Lowercase<K> extends `${string}-bin` ? Uint8Array
  : string;

/**
 * What the {@linkcode Metadata} constructor accepts: a record whose values may be arrays (one
 * pair per element), or any iterable of `[key, value]` pairs, including another `Metadata`.
 *
 * @example Both forms
 * ```ts
 * import { Metadata, type MetadataInit } from "@seed/grpc";
 * import { assertEquals } from "@std/assert";
 *
 * const record: MetadataInit = { "x-tag": ["a", "b"] };
 * const pairs: MetadataInit = [["x-tag", "a"], ["x-tag", "b"]];
 * assertEquals([...new Metadata(record)], [...new Metadata(pairs)]);
 * ```
 */
export type MetadataInit =
  | Record<string, MetadataValue | readonly MetadataValue[]>
  | Iterable<readonly [string, MetadataValue]>;

// Keys an application may not set: they belong to HTTP/2 or to gRPC itself. Every key starting
// with "grpc-" is reserved too (PROTOCOL-HTTP2.md: "reserved for future GRPC use").
const RESERVED_KEYS: ReadonlySet<string> = new Set([
  "content-type",
  "te",
  "connection",
  "host",
  "transfer-encoding",
  "upgrade",
  "keep-alive",
  "proxy-connection",
]);

// Headers the transport consumes, so fromHeaders() leaves them out of the metadata the
// application sees. grpc-go: isReservedHeader (internal/transport/http_util.go); unlike
// grpc-go we keep "user-agent" (grpc-go whitelists it) and drop the connection-specific
// headers RFC 9113 §8.2.2 forbids anyway. Other "grpc-" headers (grpc-previous-rpc-attempts,
// grpc-retry-pushback-ms, grpc-trace-bin…) stay visible, as in grpc-go.
const TRANSPORT_HEADERS: ReadonlySet<string> = new Set([
  "content-type",
  "te",
  "grpc-status",
  "grpc-message",
  "grpc-status-details-bin",
  "grpc-timeout",
  "grpc-encoding",
  "grpc-accept-encoding",
  "grpc-message-type",
  "connection",
  "host",
  "transfer-encoding",
  "upgrade",
  "keep-alive",
  "proxy-connection",
]);

// Header-Name → 1*( %x30-39 / %x61-7A / "_" / "-" / "." ) (PROTOCOL-HTTP2.md).
function isValidKey(key: string): boolean {
  const n = key.length;
  if (n === 0) return false;
  for (let i = 0; i < n; i++) {
    const c = key.charCodeAt(i);
    if (
      !((c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x5f ||
        c === 0x2e)
    ) {
      return false;
    }
  }
  return true;
}

// "grpc-" keys an application does set: a server's retry pushback (gRFC A6; grpc-go servers set
// it with grpc.SetTrailer).
const SETTABLE_GRPC_KEYS: ReadonlySet<string> = new Set(["grpc-retry-pushback-ms"]);

function isReservedKey(key: string): boolean {
  return (key.startsWith("grpc-") && !SETTABLE_GRPC_KEYS.has(key)) || RESERVED_KEYS.has(key);
}

function isBinaryKey(key: string): boolean {
  return key.endsWith("-bin");
}

// ASCII-Value → *( %x20-%x7E ). The spec's grammar says 1*, but empty header values are valid
// HTTP and grpc-go accepts them, so we do too.
function isValidAsciiValue(value: string): boolean {
  const n = value.length;
  for (let i = 0; i < n; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

// True when a pair may be sent as it is: the same checks set() and append() make.
function isSendable(key: string, value: MetadataValue): boolean {
  if (!isValidKey(key) || isReservedKey(key)) return false;
  if (isBinaryKey(key)) return value instanceof Uint8Array;
  return typeof value === "string" && isValidAsciiValue(value);
}

function quote(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (value instanceof Uint8Array) return `Uint8Array(${value.length})`;
  try {
    return String(value);
  } catch {
    return typeof value;
  }
}

// Lower-cases and validates a key for set()/append(); throws TypeError.
function checkKey(key: string): string {
  if (typeof key !== "string") {
    throw new TypeError(`Cannot set metadata: key must be a string, got ${quote(key)}`);
  }
  const k = key.toLowerCase();
  if (!isValidKey(k)) {
    throw new TypeError(`Cannot set metadata: invalid key ${quote(key)}`);
  }
  if (isReservedKey(k)) {
    throw new TypeError(`Cannot set metadata: key ${quote(k)} is reserved`);
  }
  return k;
}

function checkValue(key: string, value: unknown): MetadataValue {
  if (isBinaryKey(key)) {
    if (!(value instanceof Uint8Array)) {
      const k = quote(key);
      throw new TypeError(
        `Cannot set metadata: value for binary key ${k} must be a Uint8Array, got ${quote(value)}`,
      );
    }
    return value;
  }
  if (typeof value !== "string") {
    throw new TypeError(
      `Cannot set metadata: value for key ${quote(key)} must be a string, got ${quote(value)}`,
    );
  }
  if (!isValidAsciiValue(value)) {
    const k = quote(key);
    throw new TypeError(
      `Cannot set metadata: value for key ${k} is not printable ASCII: ${quote(value)}`,
    );
  }
  return value;
}

/**
 * gRPC metadata: an insertion-ordered, multi-valued map from lower-case keys to values.
 *
 * Keys are lower-cased and must match `[0-9a-z_.-]+`. Keys ending in `-bin` hold `Uint8Array`
 * values (sent base64-encoded); other keys hold strings of printable ASCII (0x20–0x7E). Keys
 * starting with `grpc-` and the HTTP/2 headers `content-type`, `te`, `connection`, `host`,
 * `transfer-encoding`, `upgrade`, `keep-alive` and `proxy-connection` are reserved and refused.
 *
 * @example Build request metadata
 * ```ts
 * import { Metadata } from "@seed/grpc";
 * import { assertEquals } from "@std/assert";
 *
 * const md = new Metadata({ authorization: "Bearer abc", "trace-bin": new Uint8Array([1, 2]) });
 * md.append("x-tag", "a").append("x-tag", "b");
 * assertEquals(md.get("authorization"), "Bearer abc");
 * assertEquals(md.getAll("x-tag"), ["a", "b"]);
 * assertEquals(md.get("trace-bin"), new Uint8Array([1, 2]));
 * assertEquals(md.size, 4);
 * ```
 */
export class Metadata implements Iterable<[string, MetadataValue]> {
  // Parallel arrays of pairs in insertion order; metadata is small, so linear scans win over
  // maps, and fromHeaders()/appendTo() stay plain array pushes.
  #keys: string[] = [];
  #values: MetadataValue[] = [];
  // True when some pair came from fromHeaders() without passing set()'s checks; appendTo() then
  // leaves such pairs out ("lenient in, strict out").
  #unchecked = false;

  /**
   * Creates metadata, optionally filled from a record or from `[key, value]` pairs.
   *
   * @param init A record (array values add one pair per element) or an iterable of pairs. Each
   * pair is checked as by {@linkcode Metadata.prototype.append}; another `Metadata` is copied as
   * by {@linkcode Metadata.prototype.clone}.
   * @throws {TypeError} If a key is invalid or reserved, or a value does not suit its key.
   *
   * @example From a record and from pairs
   * ```ts
   * import { Metadata } from "@seed/grpc";
   * import { assertEquals } from "@std/assert";
   *
   * const a = new Metadata({ "x-id": ["1", "2"] });
   * const b = new Metadata([["x-id", "1"], ["x-id", "2"]]);
   * assertEquals([...a], [...b]);
   * ```
   */
  constructor(init?: MetadataInit) {
    if (init === undefined || init === null) return;
    if (init instanceof Metadata) {
      this.#copyFrom(init);
      return;
    }
    if (typeof (init as Iterable<unknown>)[Symbol.iterator] === "function") {
      for (const pair of init as Iterable<readonly [string, MetadataValue]>) {
        this.append(pair[0], pair[1]);
      }
      return;
    }
    const record = init as Record<string, MetadataValue | readonly MetadataValue[]>;
    for (const key of Object.keys(record)) {
      const value = record[key];
      if (Array.isArray(value)) {
        for (const v of value) this.append(key, v);
      } else {
        this.append(key, value as MetadataValue);
      }
    }
  }

  /**
   * The number of `[key, value]` pairs (not of distinct keys).
   *
   * @returns The number of pairs.
   *
   * @example Count pairs
   * ```ts
   * import { Metadata } from "@seed/grpc";
   * import { assertEquals } from "@std/assert";
   *
   * assertEquals(new Metadata({ a: ["1", "2"], b: "3" }).size, 3);
   * ```
   */
  get size(): number {
    return this.#keys.length;
  }

  /**
   * Returns the first value for `key`, or `undefined` when there is none.
   *
   * @typeParam K The key type; a literal key ending in `-bin` gives a `Uint8Array`.
   * @param key The key, in any case.
   * @returns The first value, or `undefined`.
   *
   * @example Read a value
   * ```ts
   * import { Metadata } from "@seed/grpc";
   * import { assertEquals } from "@std/assert";
   *
   * const md = new Metadata({ "x-user": "ada" });
   * assertEquals(md.get("X-User"), "ada");
   * assertEquals(md.get("x-missing"), undefined);
   * ```
   */
  get<K extends string>(key: K): MetadataValueFor<K> | undefined {
    const k = key.toLowerCase();
    const keys = this.#keys;
    for (let i = 0; i < keys.length; i++) {
      if (keys[i] === k) return this.#values[i] as MetadataValueFor<K>;
    }
    return undefined;
  }

  /**
   * Returns every value for `key`, in insertion order.
   *
   * @typeParam K The key type; a literal key ending in `-bin` gives `Uint8Array`s.
   * @param key The key, in any case.
   * @returns A new array, empty when the key is absent.
   *
   * @example Read all values
   * ```ts
   * import { Metadata } from "@seed/grpc";
   * import { assertEquals } from "@std/assert";
   *
   * const md = new Metadata([["x-tag", "a"], ["x-other", "z"], ["x-tag", "b"]]);
   * assertEquals(md.getAll("x-tag"), ["a", "b"]);
   * ```
   */
  getAll<K extends string>(key: K): MetadataValueFor<K>[] {
    const k = key.toLowerCase();
    const keys = this.#keys;
    const out: MetadataValueFor<K>[] = [];
    for (let i = 0; i < keys.length; i++) {
      if (keys[i] === k) out.push(this.#values[i] as MetadataValueFor<K>);
    }
    return out;
  }

  /**
   * Reports whether `key` has at least one value.
   *
   * @param key The key, in any case.
   * @returns `true` if present.
   *
   * @example Test for a key
   * ```ts
   * import { Metadata } from "@seed/grpc";
   * import { assert } from "@std/assert";
   *
   * assert(new Metadata({ a: "1" }).has("A"));
   * ```
   */
  has(key: string): boolean {
    return this.#keys.includes(key.toLowerCase());
  }

  /**
   * Replaces all values for `key` with `value`. The pair takes the place of the key's first
   * existing pair, or goes last when the key is new.
   *
   * @typeParam K The key type.
   * @param key The key; lower-cased, must match `[0-9a-z_.-]+` and not be reserved.
   * @param value A `Uint8Array` for a `-bin` key, else a string of printable ASCII.
   * @returns This metadata, for chaining.
   * @throws {TypeError} If the key is invalid or reserved, or the value does not suit the key.
   *
   * @example Replace values
   * ```ts
   * import { Metadata } from "@seed/grpc";
   * import { assertEquals, assertThrows } from "@std/assert";
   *
   * const md = new Metadata({ "x-tag": ["a", "b"] });
   * md.set("x-tag", "c");
   * assertEquals(md.getAll("x-tag"), ["c"]);
   * assertThrows(() => md.set("grpc-status", "0"), TypeError);
   * assertThrows(() => md.set("Foo Bar", "x"), TypeError);
   * ```
   */
  set<K extends string>(key: K, value: MetadataValueFor<K>): this {
    const k = checkKey(key);
    const v = checkValue(k, value);
    const keys = this.#keys;
    const values = this.#values;
    let first = -1;
    let w = 0;
    for (let r = 0; r < keys.length; r++) {
      if (keys[r] === k) {
        if (first !== -1) continue; // drop later duplicates
        first = w;
      }
      keys[w] = keys[r];
      values[w] = values[r];
      w++;
    }
    keys.length = w;
    values.length = w;
    if (first === -1) {
      keys.push(k);
      values.push(v);
    } else {
      values[first] = v;
    }
    return this;
  }

  /**
   * Adds a `[key, value]` pair after the existing ones.
   *
   * @typeParam K The key type.
   * @param key The key; lower-cased, must match `[0-9a-z_.-]+` and not be reserved.
   * @param value A `Uint8Array` for a `-bin` key, else a string of printable ASCII.
   * @returns This metadata, for chaining.
   * @throws {TypeError} If the key is invalid or reserved, or the value does not suit the key.
   *
   * @example Add values
   * ```ts
   * import { Metadata } from "@seed/grpc";
   * import { assertEquals, assertThrows } from "@std/assert";
   *
   * const md = new Metadata();
   * md.append("x-tag", "a").append("X-Tag", "b");
   * assertEquals(md.getAll("x-tag"), ["a", "b"]);
   * // A -bin key needs bytes, and other keys need printable ASCII.
   * assertThrows(() => md.append("x-bin", "text" as never), TypeError);
   * assertThrows(() => md.append("x-tag", "caf\u00e9"), TypeError);
   * ```
   */
  append<K extends string>(key: K, value: MetadataValueFor<K>): this {
    const k = checkKey(key);
    const v = checkValue(k, value);
    this.#keys.push(k);
    this.#values.push(v);
    return this;
  }

  /**
   * Removes every value for `key`.
   *
   * @param key The key, in any case.
   * @returns `true` if any pair was removed.
   *
   * @example Delete a key
   * ```ts
   * import { Metadata } from "@seed/grpc";
   * import { assertEquals } from "@std/assert";
   *
   * const md = new Metadata({ a: ["1", "2"], b: "3" });
   * assertEquals(md.delete("a"), true);
   * assertEquals([...md], [["b", "3"]]);
   * ```
   */
  delete(key: string): boolean {
    const k = key.toLowerCase();
    const keys = this.#keys;
    const values = this.#values;
    let w = 0;
    for (let r = 0; r < keys.length; r++) {
      if (keys[r] === k) continue;
      keys[w] = keys[r];
      values[w] = values[r];
      w++;
    }
    const removed = w !== keys.length;
    keys.length = w;
    values.length = w;
    return removed;
  }

  /**
   * Iterates over the distinct keys, in order of first insertion.
   *
   * @returns An iterator of keys.
   *
   * @example List keys
   * ```ts
   * import { Metadata } from "@seed/grpc";
   * import { assertEquals } from "@std/assert";
   *
   * const md = new Metadata([["b", "1"], ["a", "2"], ["b", "3"]]);
   * assertEquals([...md.keys()], ["b", "a"]);
   * ```
   */
  *keys(): IterableIterator<string> {
    const keys = this.#keys;
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i];
      if (keys.indexOf(k) === i) yield k;
    }
  }

  /**
   * Iterates over every `[key, value]` pair, in insertion order.
   *
   * @returns An iterator of pairs.
   *
   * @example Iterate over pairs
   * ```ts
   * import { Metadata } from "@seed/grpc";
   * import { assertEquals } from "@std/assert";
   *
   * const md = new Metadata({ a: ["1", "2"] });
   * assertEquals([...md], [["a", "1"], ["a", "2"]]);
   * ```
   */
  *[Symbol.iterator](): IterableIterator<[string, MetadataValue]> {
    const keys = this.#keys;
    const values = this.#values;
    for (let i = 0; i < keys.length; i++) yield [keys[i], values[i]];
  }

  /**
   * Returns a copy. The arrays of pairs are copied; `Uint8Array` values are shared.
   *
   * @returns A new `Metadata` with the same pairs.
   *
   * @example Copy, then change the copy
   * ```ts
   * import { Metadata } from "@seed/grpc";
   * import { assertEquals } from "@std/assert";
   *
   * const a = new Metadata({ x: "1" });
   * const b = a.clone().set("x", "2");
   * assertEquals([a.get("x"), b.get("x")], ["1", "2"]);
   * ```
   */
  clone(): Metadata {
    const md = new Metadata();
    md.#copyFrom(this);
    return md;
  }

  /**
   * Appends every pair of `init` after this metadata's pairs (like grpc-go's `metadata.Join`).
   *
   * @param init The metadata to add: a `Metadata`, or what the constructor takes (a plain
   *   object, pairs).
   * @returns This metadata, for chaining.
   *
   * @example Merge defaults and per-call metadata
   * ```ts
   * import { Metadata } from "@seed/grpc";
   * import { assertEquals } from "@std/assert";
   *
   * const md = new Metadata({ a: "1" }).merge(new Metadata({ a: "2", b: "3" }));
   * assertEquals([...md], [["a", "1"], ["a", "2"], ["b", "3"]]);
   * md.merge({ c: "4" });
   * assertEquals(md.get("c"), "4");
   * ```
   */
  merge(init: Metadata | MetadataInit): this {
    const other = init instanceof Metadata ? init : new Metadata(init);
    if (other === this) {
      const n = this.#keys.length;
      for (let i = 0; i < n; i++) {
        this.#keys.push(this.#keys[i]);
        this.#values.push(this.#values[i]);
      }
      return this;
    }
    const keys = other.#keys;
    const values = other.#values;
    for (let i = 0; i < keys.length; i++) {
      this.#keys.push(keys[i]);
      this.#values.push(values[i]);
    }
    if (other.#unchecked) this.#unchecked = true;
    return this;
  }

  /**
   * Internal, hidden from the documentation (`@ignore`): the transport's bridge, used by the
   * server and client, not needed by applications. Pushes every pair
   * onto a flat `[name, value, name, value, …]` header list, `-bin` values as unpadded standard
   * base64. Pairs that could not be sent (received invalid or reserved, see
   * {@linkcode Metadata.fromHeaders}) are left out, so received metadata can be echoed safely.
   *
   * @param flat The header list to append to.
   *
   * @example Encode as headers
   * ```ts
   * import { Metadata } from "@seed/grpc";
   * import { assertEquals } from "@std/assert";
   *
   * const flat: string[] = [":status", "200"];
   * new Metadata({ a: "1", "b-bin": new Uint8Array([0xfb, 0xff]) }).appendTo(flat);
   * assertEquals(flat, [":status", "200", "a", "1", "b-bin", "+/8"]);
   * ```
   * @ignore
   */
  appendTo(flat: string[]): void {
    const keys = this.#keys;
    const values = this.#values;
    const checked = !this.#unchecked;
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i];
      const v = values[i];
      if (!checked && !isSendable(k, v)) continue;
      flat.push(k, typeof v === "string" ? v : encodeBinaryHeader(v));
    }
  }

  /**
   * Internal, hidden from the documentation (`@ignore`): the transport's bridge, used by the
   * server and client, not needed by applications. Builds metadata
   * from the flat header list `flat[start, end)` (`[name, value, …]`, names already lower case).
   *
   * Leaves out pseudo-headers (`:path`…) and the headers the transport consumes (`content-type`,
   * `te`, `grpc-status`, `grpc-message`, `grpc-status-details-bin`, `grpc-timeout`,
   * `grpc-encoding`, `grpc-accept-encoding`, `grpc-message-type`, and HTTP/1 connection
   * headers); keeps `user-agent` and other `grpc-` headers. `-bin` values are split on `,` and
   * base64-decoded, padded or not, standard or URL-safe alphabet; a malformed one is dropped.
   * Other values are kept as they are, even when they would not be accepted by `set()`.
   *
   * @param flat The header list.
   * @param start Index of the first name.
   * @param end Index just past the last value.
   * @returns New metadata. Never throws on malformed values.
   *
   * @example Decode headers
   * ```ts
   * import { Metadata } from "@seed/grpc";
   * import { assertEquals } from "@std/assert";
   *
   * const md = Metadata.fromHeaders([
   *   ":path", "/pkg.Svc/Method", "content-type", "application/grpc",
   *   "x-user", "ada", "trace-bin", "AQI", "bad-bin", "!!",
   * ]);
   * assertEquals([...md], [["x-user", "ada"], ["trace-bin", new Uint8Array([1, 2])]]);
   * ```
   * @ignore
   */
  static fromHeaders(flat: readonly string[], start = 0, end: number = flat.length): Metadata {
    const md = new Metadata();
    const keys = md.#keys;
    const values = md.#values;
    let unchecked = false;
    for (let i = start; i + 1 < end; i += 2) {
      const k = flat[i];
      if (k.length === 0 || k.charCodeAt(0) === 0x3a /* ":" */ || TRANSPORT_HEADERS.has(k)) {
        continue;
      }
      const v = flat[i + 1];
      if (!unchecked && (!isValidKey(k) || isReservedKey(k))) unchecked = true;
      if (!isBinaryKey(k)) {
        if (!unchecked && !isValidAsciiValue(v)) unchecked = true;
        keys.push(k);
        values.push(v);
        continue;
      }
      // Duplicates may have been joined with "," (PROTOCOL-HTTP2.md): split before decoding.
      const parts = v.includes(",") ? v.split(",") : undefined;
      if (parts === undefined) {
        const bytes = decodeBinaryHeader(v);
        if (bytes !== undefined) {
          keys.push(k);
          values.push(bytes);
        }
        continue;
      }
      for (const part of parts) {
        const bytes = decodeBinaryHeader(part);
        if (bytes !== undefined) {
          keys.push(k);
          values.push(bytes);
        }
      }
    }
    md.#unchecked = unchecked;
    return md;
  }

  #copyFrom(other: Metadata): void {
    this.#keys = other.#keys.slice();
    this.#values = other.#values.slice();
    this.#unchecked = other.#unchecked;
  }
}
