import { assert, assertEquals, assertThrows } from "@std/assert";
import * as zlib from "node:zlib";
import { Buffer } from "node:buffer";
import { brotli, createBrotli, createZstd, DEFAULT_BROTLI_LEVEL, zstd } from "../compression.ts";
import { DEFAULT_ZSTD_LEVEL } from "./zstd.ts";
import { Code, StatusError } from "../status.ts";

const MiB = 1 << 20;

function bytes(n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = ((i * 31) % 251) ^ ((i >>> 12) & 0xff);
  return b;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function assertStatus(fn: () => unknown, code: Code): StatusError {
  const err = assertThrows(fn, StatusError);
  assertEquals(err.code, code, err.message);
  return err;
}

// --- zstd frames built by hand (RFC 8878 §3.1.1) ---------------------------------------------
// Magic 0xFD2FB528 (little endian), a Frame_Header_Descriptor, then a Window_Descriptor (absent
// in single-segment frames) and a Frame_Content_Size of 0, 1, 2, 4 or 8 bytes. Blocks: a 3-byte
// little-endian header (bit 0 Last_Block, bits 1-2 Block_Type, bits 3-23 Block_Size); an RLE
// block (type 1) is that header and one byte, repeated Block_Size times (at most 128 KiB).
const MAGIC = [0x28, 0xb5, 0x2f, 0xfd];
const BLOCK = 128 * 1024;

/** A frame of `total` zero bytes (a multiple of 128 KiB) in RLE blocks: 4 bytes per 128 KiB. */
function zstdZeros(total: number, contentSize?: number): Uint8Array {
  // Window_Descriptor exponent 17: a 2^(10+17) = 128 MiB window, zstd's default decoder limit.
  const header = contentSize === undefined
    ? [...MAGIC, 0x00, 17 << 3]
    : [...MAGIC, 0xc0, 17 << 3, ...le64(contentSize)]; // FCS_Field_Size 8
  const blocks = total / BLOCK;
  const out = new Uint8Array(header.length + 4 * blocks);
  out.set(header);
  for (let i = 0, at = header.length; i < blocks; i++, at += 4) {
    const h = (i === blocks - 1 ? 1 : 0) | (1 << 1) | (BLOCK << 3);
    out[at] = h & 0xff;
    out[at + 1] = (h >>> 8) & 0xff;
    out[at + 2] = h >>> 16;
    out[at + 3] = 0; // the repeated byte
  }
  return out;
}

function le64(n: number): number[] {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(n), true);
  return [...b];
}

/** A skippable frame (RFC 8878 §3.1.2) holding `n` bytes of user data. */
function skippable(n: number): Uint8Array {
  return new Uint8Array([0x50, 0x2a, 0x4d, 0x18, n & 0xff, (n >>> 8) & 0xff, 0, 0, ...bytes(n)]);
}

/** A brotli stream of `total` zeros, compressed in 1 MiB writes (never all in memory). */
async function brotliZeros(total: number): Promise<Uint8Array> {
  const c = zlib.createBrotliCompress({ params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 5 } });
  const parts: Uint8Array[] = [];
  c.on("data", (d: Buffer) => parts.push(new Uint8Array(d)));
  const done = new Promise<void>((resolve, reject) => {
    c.on("end", resolve);
    c.on("error", reject);
  });
  const zeros = new Uint8Array(MiB);
  for (let i = 0; i < total / MiB; i++) {
    if (!c.write(zeros)) await new Promise((resolve) => c.once("drain", resolve));
  }
  c.end();
  await done;
  return concat(parts);
}

Deno.test("zstd: the hand-built frames decode as specified (checked small)", () => {
  assertEquals(zlib.zstdDecompressSync(zstdZeros(3 * BLOCK)), Buffer.alloc(3 * BLOCK));
  assertEquals(
    zstd.decompress(zstdZeros(3 * BLOCK, 3 * BLOCK), Infinity),
    new Uint8Array(3 * BLOCK),
  );
});

Deno.test("zstd and brotli: a 1 GiB bomb fails RESOURCE_EXHAUSTED with peak RSS near the limit", async () => {
  const GiB = 1024 * MiB;
  const maxSize = 4 * MiB;
  const bombs: [string, string, Uint8Array, Code?][] = [
    ["zstd, one frame, no content size", "zstd", zstdZeros(GiB)],
    ["zstd, one frame, honest content size", "zstd", zstdZeros(GiB, GiB)],
    // The decoder finds the lie (corrupt data) after 1 MiB, before the limit.
    ["zstd, one frame, content size lying 1 MiB", "zstd", zstdZeros(GiB, MiB), Code.Internal],
    ["zstd, one frame, content size lying 8 MiB", "zstd", zstdZeros(GiB, 8 * MiB)],
    ["zstd, 16 frames of 64 MiB", "zstd", concat(Array(16).fill(zstdZeros(64 * MiB)))],
    ["br, one stream", "br", await brotliZeros(GiB)],
  ];
  const dir = await Deno.makeTempDir();
  try {
    for (const [what, name, bomb, expected = Code.ResourceExhausted] of bombs) {
      assert(bomb.length < 64 * 1024, `${what}: ${bomb.length} bytes`);
      const path = `${dir}/bomb`;
      await Deno.writeFile(path, bomb);
      const child = new URL("./_bomb_child.ts", import.meta.url).pathname;
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", child, name, path, String(maxSize)],
        stdout: "piped",
        stderr: "inherit",
      }).output();
      assert(out.success, `${what}: child failed`);
      const { code, peakGrowth } = JSON.parse(new TextDecoder().decode(out.stdout));
      assertEquals(code, expected, what);
      // Decoding it all would take over 1 GiB; the bounded decoder stays near maxSize (memory,
      // not time: tests never assert durations on this shared machine).
      assert(peakGrowth < 48 * MiB, `${what}: peak RSS grew ${(peakGrowth / MiB).toFixed(1)} MiB`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("zstd: several frames and skippable frames decode as one message", () => {
  const a = bytes(100 << 10);
  const b = bytes(7);
  const packed = concat([zstd.compress(a), skippable(5), zstd.compress(b), skippable(0)]);
  assertEquals(zstd.decompress(packed, a.length + b.length), concat([a, b]));
  assertStatus(() => zstd.decompress(packed, a.length + b.length - 1), Code.ResourceExhausted);
  // A frame with a checksum (zstd's CLI default) from node:zlib.
  const checked = zlib.zstdCompressSync(a, {
    params: { [zlib.constants.ZSTD_c_checksumFlag]: 1 },
  });
  assertEquals(zstd.decompress(new Uint8Array(checked), a.length), a);
  // Neither format checks its content by default (gzip has a CRC-32); a zstd checksum, when
  // present, is verified.
  const flipped = new Uint8Array(checked);
  flipped[flipped.length - 2] ^= 0x01;
  assertStatus(() => zstd.decompress(flipped, a.length), Code.Internal);
});

Deno.test("zstd and brotli: decompress() fails INTERNAL on corrupt, truncated or trailing input", () => {
  const data = bytes(50 << 10);
  for (const c of [zstd, brotli]) {
    const good = c.compress(data);
    const cases: [string, Uint8Array][] = [
      ["empty", new Uint8Array(0)],
      ["garbage", new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])],
      ["truncated by 1", good.subarray(0, good.length - 1)],
      ["truncated by half", good.subarray(0, good.length >> 1)],
      ["header only", good.subarray(0, 4)],
      ["trailing bytes", concat([good, new Uint8Array([1, 2, 3])])],
      ["other format", (c === zstd ? brotli : zstd).compress(data)],
    ];
    for (const [what, input] of cases) {
      const err = assertStatus(() => c.decompress(input, MiB), Code.Internal);
      assert(err.rawMessage.startsWith(`Cannot decompress message: invalid ${c.name}`), what);
    }
  }
});

Deno.test("zstd and brotli: outputs are exact, plain and independent of the compressed input", () => {
  for (const c of [zstd, brotli]) {
    for (const n of [0, 1, 16 << 10, (16 << 10) + 1, 3 * MiB + 5]) {
      const data = bytes(n);
      const packed = c.compress(data);
      const out = c.decompress(packed, n);
      assertEquals(out, data);
      assert(out.buffer.byteLength <= 2 * n + 1, `${c.name} ${n}: buffer ${out.buffer.byteLength}`);
      packed.fill(0);
      assertEquals(out, data);
    }
  }
});

Deno.test("zstd and brotli: interoperate with node:zlib and DecompressionStream", async () => {
  const data = bytes(300 << 10);
  assertEquals(new Uint8Array(zlib.zstdDecompressSync(zstd.compress(data))), data);
  assertEquals(zstd.decompress(new Uint8Array(zlib.zstdCompressSync(data)), data.length), data);
  assertEquals(new Uint8Array(zlib.brotliDecompressSync(brotli.compress(data))), data);
  assertEquals(
    brotli.decompress(new Uint8Array(zlib.brotliCompressSync(data)), data.length),
    data,
  );
  const stream = new Blob([brotli.compress(data) as Uint8Array<ArrayBuffer>]).stream()
    .pipeThrough(new DecompressionStream("brotli" as CompressionFormat));
  assertEquals(new Uint8Array(await new Response(stream).arrayBuffer()), data);
});

Deno.test("zstd and brotli: wire format, names and levels", () => {
  const text = new TextEncoder().encode(
    Array.from({ length: 5000 }, (_, i) => `{"id":${i},"name":"feature-${i % 97}"}`).join(","),
  );
  const z = zstd.compress(text);
  assertEquals([...z.subarray(0, 4)], MAGIC);
  // pledgedSrcSize: the frame records the content size (Frame_Content_Size_flag != 0).
  assert((z[4] >> 6) !== 0 || (z[4] & 0x20) !== 0, `descriptor ${z[4]}`);
  assertEquals([zstd.name, brotli.name], ["zstd", "br"]);
  assertEquals([DEFAULT_ZSTD_LEVEL, DEFAULT_BROTLI_LEVEL], [3, 5]);
  assertEquals(z.length, createZstd({ level: 3 }).compress(text).length);
  assertEquals(brotli.compress(text).length, createBrotli({ level: 5 }).compress(text).length);
  const zs = [1, 19].map((level) => createZstd({ level }).compress(text).length);
  assert(zs[0] > zs[1], `zstd sizes ${zs}`);
  const bs = [0, 11].map((level) => createBrotli({ level }).compress(text).length);
  assert(bs[0] > bs[1], `brotli sizes ${bs}`);
  for (const level of [-131073, 23, 1.5, NaN]) {
    assertThrows(() => createZstd({ level }), RangeError, "level");
  }
  for (const level of [-1, 12, 1.5, NaN]) {
    assertThrows(() => createBrotli({ level }), RangeError, "level");
  }
});
