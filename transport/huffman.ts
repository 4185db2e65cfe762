// The static Huffman code of HPACK string literals (RFC 7541 §5.2, Appendix B).
//
// A string literal whose H bit is set carries its octets as Huffman codes, most significant bit
// first, with the last octet filled up by the high bits of the EOS code (all ones):
//
//      symbols:   'n'     'o'     '-'     'c'  …
//      codes:   101010  00111   010110  00100  …  + 1…1 padding (at most 7 bits, RFC 7541 §5.2)
//      octets:  |10101000|11101011|00010000| …
//
// The code is canonical (Appendix B: codes of equal length count up in symbol order, shorter
// codes first), so the code lengths below are the whole table: `buildCodes()` derives each code
// from them, and huffman_test.ts checks the result against rows of the appendix.
//
// Decoding walks the code tree four bits at a time. The tree has 257 leaves and 256 inner nodes;
// the inner nodes are the states of a machine built once at module load. For each state and each
// nibble, DECODE_TABLE holds the state reached, and the symbol completed on the way if any (no
// code is shorter than 5 bits, so a nibble completes at most one). Decoding is two table reads
// per input octet, with no per-bit loop.

import type { WriteBuffer } from "./buffer.ts";

/**
 * A malformed header block (RFC 7541 §3, §5, §6). The connection answers it with
 * COMPRESSION_ERROR (RFC 9113 §4.3). Re-exported by hpack.ts, where it belongs by name; it is
 * declared here so that huffman.ts does not import hpack.ts (no import cycle).
 */
export class HpackError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "HpackError";
  }
}

// RFC 7541 Appendix B, column "len in bits", for symbols 0–255 and EOS (256), in symbol order.
// Each row of this literal is 16 symbols.
// deno-fmt-ignore
const CODE_LENGTHS = [
  13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28, //   0–15
  28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28, //  16–31
   6, 10, 10, 12, 13,  6,  8, 11, 10, 10,  8, 11,  8,  6,  6,  6, //  32–47  ' ' … '/'
   5,  5,  5,  6,  6,  6,  6,  6,  6,  6,  7,  8, 15,  6, 12, 10, //  48–63  '0' … '?'
  13,  6,  7,  7,  7,  7,  7,  7,  7,  7,  7,  7,  7,  7,  7,  7, //  64–79  '@' … 'O'
   7,  7,  7,  7,  7,  7,  7,  7,  8,  7,  8, 13, 19, 13, 14,  6, //  80–95  'P' … '_'
  15,  5,  6,  5,  6,  5,  6,  6,  6,  5,  7,  7,  6,  6,  6,  5, //  96–111 '`' … 'o'
   6,  7,  6,  5,  5,  6,  7,  7,  7,  7,  7, 15, 11, 14, 13, 28, // 112–127 'p' … DEL
  20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23, // 128–143
  24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24, // 144–159
  22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23, // 160–175
  21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23, // 176–191
  26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25, // 192–207
  19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27, // 208–223
  20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23, // 224–239
  26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26, // 240–255
  30,                                                             // 256 EOS
];

/** The EOS symbol (RFC 7541 §5.2): never valid inside a string, its prefix is the padding. */
const EOS = 256;

/** Code of each symbol, aligned to the least significant bit (Appendix B "code as hex"). */
export const HUFFMAN_CODES: Uint32Array = new Uint32Array(257);
/** Length in bits of each symbol's code. */
export const HUFFMAN_LENGTHS: Uint8Array = new Uint8Array(CODE_LENGTHS);

// Canonical assignment: visit symbols by (length, symbol); each code is the previous one plus 1,
// shifted left by the growth in length.
function buildCodes(): void {
  let code = 0;
  let prevLen = 0;
  for (let len = 1; len <= 30; len++) {
    for (let sym = 0; sym <= EOS; sym++) {
      if (HUFFMAN_LENGTHS[sym] !== len) continue;
      if (prevLen !== 0) code = (code + 1) * 2 ** (len - prevLen);
      HUFFMAN_CODES[sym] = code;
      prevLen = len;
    }
  }
}
buildCodes();

// Decoder machine. Entry for (state, nibble) at DECODE_TABLE[state << 4 | nibble]:
//   bits 0–7   next state (an inner node; 0 is the root)
//   bits 8–15  symbol completed by this nibble, when EMIT is set
//   EMIT       a symbol was completed
//   FAIL       the nibble runs into EOS: a decoding error (RFC 7541 §5.2)
const EMIT = 0x10000;
const FAIL = 0x20000;
const DECODE_TABLE = new Uint32Array(256 * 16);
// ACCEPT[state] = 1 when a string may end in that state: the bits read since the last symbol
// are all ones (a prefix of EOS) and fewer than 8 (RFC 7541 §5.2).
const ACCEPT = new Uint8Array(256);

function buildDecoder(): void {
  // Tree of inner nodes: child[node * 2 + bit] is an inner node id, or ~symbol for a leaf.
  const child = new Int32Array(256 * 2);
  let nodes = 1;
  for (let sym = 0; sym <= EOS; sym++) {
    const code = HUFFMAN_CODES[sym], len = HUFFMAN_LENGTHS[sym];
    let node = 0;
    for (let i = len - 1; i > 0; i--) {
      const slot = node * 2 + ((code >>> i) & 1);
      if (child[slot] === 0) child[slot] = nodes++;
      node = child[slot];
    }
    child[node * 2 + (code & 1)] = ~sym;
  }
  // The all-ones path: its first 7 inner nodes (depth 0–7 bits) are the accepting states.
  let node = 0;
  for (let depth = 0; depth < 8; depth++) {
    ACCEPT[node] = 1;
    node = child[node * 2 + 1];
  }
  for (let state = 0; state < 256; state++) {
    for (let nibble = 0; nibble < 16; nibble++) {
      let cur = state, entry = 0;
      for (let i = 3; i >= 0; i--) {
        const next = child[cur * 2 + ((nibble >>> i) & 1)];
        if (next < 0) {
          const sym = ~next;
          if (sym === EOS) {
            entry = FAIL;
            break;
          }
          entry = EMIT | (sym << 8);
          cur = 0;
        } else {
          cur = next;
        }
      }
      DECODE_TABLE[(state << 4) | nibble] = entry === FAIL ? FAIL : entry | cur;
    }
  }
}
buildDecoder();

/** Number of octets `huffmanEncode` writes for `s` (Latin-1: one octet per char, low 8 bits). */
export function huffmanEncodedLength(s: string): number {
  let bits = 0;
  for (let i = 0; i < s.length; i++) bits += HUFFMAN_LENGTHS[s.charCodeAt(i) & 0xff];
  return (bits + 7) >>> 3;
}

/** Appends the Huffman encoding of `s`, padded with ones to an octet boundary (RFC 7541 §5.2). */
export function huffmanEncode(out: WriteBuffer, s: string): void {
  // Worst case is 30 bits a symbol.
  out.ensure(Math.ceil((s.length * 30) / 8));
  const b = out.buf;
  let j = out.length;
  // `acc` holds the pending bits in its low `n` bits (n < 8 between symbols); bits above are
  // stale and never read. Codes up to 24 bits fit beside them in 32 bits, longer ones (rare
  // control and high octets) go in two steps.
  let acc = 0, n = 0;
  for (let i = 0; i < s.length; i++) {
    const sym = s.charCodeAt(i) & 0xff;
    const code = HUFFMAN_CODES[sym], len = HUFFMAN_LENGTHS[sym];
    if (len <= 24) {
      acc = (acc << len) | code;
      n += len;
    } else {
      acc = (acc << (len - 16)) | (code >>> 16);
      n += len - 16;
      while (n >= 8) b[j++] = acc >>> (n -= 8);
      acc = (acc << 16) | (code & 0xffff);
      n += 16;
    }
    while (n >= 8) b[j++] = acc >>> (n -= 8);
  }
  if (n > 0) b[j++] = (acc << (8 - n)) | (0xff >>> n);
  out.length = j;
}

// Reused output for decoding strings up to SCRATCH_MAX octets; longer ones get a buffer of their
// own so that one huge header does not pin its memory for the life of the process.
const SCRATCH_MAX = 64 * 1024;
let scratch = new Uint8Array(1024);

/**
 * Decodes the Huffman-coded octets `buf[start, end)` into `out` and returns the symbol count;
 * with `out` null, only validates and counts.
 */
function decodeInto(
  buf: Uint8Array,
  start: number,
  end: number,
  out: Uint8Array | null,
): number {
  const table = DECODE_TABLE;
  let state = 0, n = 0;
  for (let i = start; i < end; i++) {
    const octet = buf[i];
    let e = table[(state << 4) | (octet >>> 4)];
    if (e & (EMIT | FAIL)) {
      if (e & FAIL) throw new HpackError("Cannot decode Huffman string: it contains EOS");
      if (out !== null) out[n] = e >>> 8;
      n++;
    }
    e = table[((e & 0xff) << 4) | (octet & 0x0f)];
    if (e & (EMIT | FAIL)) {
      if (e & FAIL) throw new HpackError("Cannot decode Huffman string: it contains EOS");
      if (out !== null) out[n] = e >>> 8;
      n++;
    }
    state = e & 0xff;
  }
  if (ACCEPT[state] === 0) {
    throw new HpackError(
      "Cannot decode Huffman string: padding is longer than 7 bits or not all ones",
    );
  }
  return n;
}

/**
 * Decodes the Huffman-coded string literal `buf[start, end)` (RFC 7541 §5.2).
 * @throws {HpackError} on EOS in the input, padding longer than 7 bits, or padding not all ones.
 */
export function huffmanDecode(buf: Uint8Array, start: number, end: number): string {
  // No code is shorter than 5 bits.
  const max = Math.floor(((end - start) * 8) / 5);
  let out = scratch;
  if (max > out.length) {
    if (max <= SCRATCH_MAX) {
      let cap = out.length * 2;
      while (cap < max) cap *= 2;
      out = scratch = new Uint8Array(cap);
    } else {
      out = new Uint8Array(max);
    }
  }
  const n = decodeInto(buf, start, end, out);
  return latin1(out, 0, n);
}

/**
 * Validates `buf[start, end)` like `huffmanDecode` and returns the decoded length, without
 * producing the string (HpackDecoder uses it to skip oversized literals).
 * @throws {HpackError} as `huffmanDecode`.
 */
export function huffmanDecodedLength(buf: Uint8Array, start: number, end: number): number {
  return decodeInto(buf, start, end, null);
}

/** `buf[start, end)` as a string with one char per octet (ISO-8859-1, not windows-1252). */
export function latin1(buf: Uint8Array, start: number, end: number): string {
  const n = end - start;
  if (n <= 0) return "";
  // apply() takes the typed array as its argument list; chunk it to stay far from the engine's
  // argument count limit.
  if (n <= 4096) {
    return String.fromCharCode.apply(null, buf.subarray(start, end) as unknown as number[]);
  }
  let s = "";
  for (let i = start; i < end; i += 4096) {
    const e = Math.min(end, i + 4096);
    s += String.fromCharCode.apply(null, buf.subarray(i, e) as unknown as number[]);
  }
  return s;
}
