import { assert, assertEquals, assertStrictEquals, assertThrows } from "@std/assert";
import * as zlib from "node:zlib";
import {
  brotli,
  type Compressor,
  createBrotli,
  createDeflate,
  createGzip,
  createZstd,
  DEFAULT_COMPRESSION_MIN_SIZE,
  deflate,
  getCompressor,
  gzip,
  negotiateEncoding,
  registerCompressor,
  supportedEncodings,
  zstd,
} from "./compression.ts";
import { Code, StatusError } from "./status.ts";

const MiB = 1 << 20;

// Compressible but not trivial: a repeating 251-byte pattern with a counter mixed in.
function bytes(n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = ((i * 31) % 251) ^ ((i >>> 12) & 0xff);
  return b;
}

function isPlain(u: Uint8Array): boolean {
  return Object.getPrototypeOf(u) === Uint8Array.prototype;
}

async function pipe(
  data: Uint8Array,
  t: CompressionStream | DecompressionStream,
): Promise<Uint8Array> {
  const body = new Blob([data as Uint8Array<ArrayBuffer>]).stream().pipeThrough(t);
  return new Uint8Array(await new Response(body).arrayBuffer());
}

function assertStatus(fn: () => unknown, code: Code): StatusError {
  const err = assertThrows(fn, StatusError);
  assertEquals(err.code, code, err.message);
  assert(err.rawMessage.startsWith("Cannot decompress message"), err.rawMessage);
  return err;
}

// --- zip bombs -------------------------------------------------------------------------------
// A 1 GiB bomb is ~1 MiB: `raw` is 64 MiB of zeros deflated (level 9, ~1030:1) and ended with a
// sync flush, so it is a run of non-final blocks on a byte boundary that can be repeated (each copy
// only refers back to zeros). Then a final empty block (fixed Huffman: BFINAL=1, BTYPE=01, EOB)
// and the format's trailer.

const FINAL_EMPTY_BLOCK = [0x03, 0x00];

function rawZeros(size: number): Uint8Array {
  return zlib.deflateRawSync(new Uint8Array(size), {
    level: 9,
    finishFlush: zlib.constants.Z_SYNC_FLUSH,
  });
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

// zlib format (RFC 1950) of copies × size zeros. Adler-32 of N zeros: a = 1, b = N mod 65521.
function zlibBomb(raw: Uint8Array, size: number, copies: number): Uint8Array {
  const total = size * copies;
  const b = total % 65521;
  const trailer = [b >>> 8, b & 0xff, 0x00, 0x01];
  return concat([
    new Uint8Array([0x78, 0xda]),
    ...Array<Uint8Array>(copies).fill(raw),
    new Uint8Array([...FINAL_EMPTY_BLOCK, ...trailer]),
  ]);
}

// One gzip member (RFC 1952) of copies × size zeros, with a real CRC-32 and an ISIZE that may lie.
function gzipBomb(raw: Uint8Array, size: number, copies: number, isize?: number): Uint8Array {
  const zeros = new Uint8Array(size);
  let crc = 0;
  for (let i = 0; i < copies; i++) crc = zlib.crc32(zeros, crc);
  const trailer = new Uint8Array(10);
  const view = new DataView(trailer.buffer);
  trailer.set(FINAL_EMPTY_BLOCK);
  view.setUint32(2, crc >>> 0, true);
  view.setUint32(6, (isize ?? size * copies) >>> 0, true);
  return concat([
    new Uint8Array([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]),
    ...Array<Uint8Array>(copies).fill(raw),
    trailer,
  ]);
}

Deno.test("zip bomb builders make valid streams (checked small)", () => {
  const raw = rawZeros(MiB);
  assertEquals(zlib.inflateSync(zlibBomb(raw, MiB, 3)).length, 3 * MiB);
  assertEquals(zlib.gunzipSync(gzipBomb(raw, MiB, 3)).length, 3 * MiB);
  const member = zlib.gzipSync(new Uint8Array(MiB));
  assertEquals(zlib.gunzipSync(concat([member, member, member])).length, 3 * MiB);
});

Deno.test("decompress() stops a 1 GiB zip bomb at maxSize, fast and without a large RSS", async () => {
  const size = 64 * MiB;
  const copies = 16; // 1 GiB
  const maxSize = 4 * MiB;
  const raw = rawZeros(size);
  const member = zlib.gzipSync(new Uint8Array(size));
  const bombs: [string, Compressor, Uint8Array][] = [
    ["gzip, 16 concatenated members", gzip, concat(Array<Uint8Array>(copies).fill(member))],
    ["gzip, one member", gzip, gzipBomb(raw, size, copies)],
    // ISIZE claiming exactly maxSize takes the one-chunk path: a maxSize + 1 chunk, then stop.
    ["gzip, ISIZE lying maxSize", gzip, gzipBomb(raw, size, copies, maxSize)],
    ["gzip, ISIZE lying 20 KiB", gzip, gzipBomb(raw, size, copies, 20 << 10)],
    ["deflate, one zlib stream", deflate, zlibBomb(raw, size, copies)],
  ];
  const tooLarge = `Cannot decompress message: size exceeds maxReceiveMessageSize ${maxSize}`;
  for (const [what, c, bomb] of bombs) {
    assert(bomb.length < 2 * MiB, `${what}: ${bomb.length} bytes`);
    const err = assertStatus(() => c.decompress(bomb, maxSize), Code.ResourceExhausted);
    assertEquals(err.rawMessage, tooLarge, what);
  }
  // Memory, measured in a process of its own (this one runs other test modules in parallel).
  // Inflating a bomb whole would take 1 GiB of RSS; bounded decompression stays near maxSize.
  const dir = await Deno.makeTempDir({ prefix: "bombs" });
  try {
    const specs = [];
    for (const [i, [, c, bomb]] of bombs.entries()) {
      const file = `${dir}/${i}`;
      await Deno.writeFile(file, bomb);
      specs.push(`${c.name}:${file}`);
    }
    const script = new URL("./tests/fixtures/decompress_rss.ts", import.meta.url);
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--no-check",
        `--allow-read=${dir}`,
        script.pathname,
        String(maxSize),
        ...specs,
      ],
      stdin: "null",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert(out.success, `decompress_rss.ts failed: ${stderr}`);
    const results: { grown: number; code: number | null; message: string }[] = JSON.parse(
      new TextDecoder().decode(out.stdout),
    );
    assertEquals(results.length, bombs.length);
    for (const [i, r] of results.entries()) {
      const what = bombs[i][0];
      assertEquals([r.code, r.message], [Code.ResourceExhausted, tooLarge], what);
      assert(r.grown < 64 * MiB, `${what}: RSS grew ${(r.grown / MiB).toFixed(1)} MiB`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

// --- round trips, formats, limits ------------------------------------------------------------

const compressors: [string, Compressor][] = [
  ["gzip", gzip],
  ["deflate", deflate],
  ["createGzip({ level: 1 })", createGzip({ level: 1 })],
  ["createDeflate({ level: 9 })", createDeflate({ level: 9 })],
  ["createGzip({ level: 0 })", createGzip({ level: 0 })],
  ["zstd", zstd],
  ["createZstd({ level: -5 })", createZstd({ level: -5 })],
  ["createZstd({ level: 19 })", createZstd({ level: 19 })],
  ["brotli", brotli],
  ["createBrotli({ level: 0 })", createBrotli({ level: 0 })],
  ["createBrotli({ level: 11 })", createBrotli({ level: 11 })],
];

for (const [what, c] of compressors) {
  Deno.test(`${what}: round trips empty, 1 B, 100 B, 20 KiB and 1 MiB messages`, () => {
    for (const n of [0, 1, 100, 20 << 10, MiB]) {
      const data = bytes(n);
      const packed = c.compress(data);
      assert(isPlain(packed), "compress() returns a plain Uint8Array");
      const out = c.decompress(packed, n);
      assert(isPlain(out), "decompress() returns a plain Uint8Array");
      assertEquals(out, data);
      // Outputs are not views pinning a mostly unused buffer.
      assert(out.buffer.byteLength <= 2 * n + 1, `${n}: buffer ${out.buffer.byteLength}`);
    }
  });

  Deno.test(`${what}: decompress() allows exactly maxSize and refuses one byte more`, () => {
    for (const n of [1, 1000, 40 << 10]) {
      const packed = c.compress(bytes(n));
      assertEquals(c.decompress(packed, n).length, n);
      assertEquals(c.decompress(packed, Infinity).length, n);
      assertStatus(() => c.decompress(packed, n - 1), Code.ResourceExhausted);
    }
    assertEquals(c.decompress(c.compress(new Uint8Array(0)), 0).length, 0);
    assertStatus(() => c.decompress(c.compress(new Uint8Array(1)), 0), Code.ResourceExhausted);
  });
}

Deno.test("gzip and deflate use the gRPC wire formats", () => {
  const data = bytes(100);
  const g = gzip.compress(data);
  assertEquals([g[0], g[1], g[2]], [0x1f, 0x8b, 8]); // RFC 1952 magic, CM = deflate
  const d = deflate.compress(data);
  assertEquals(d[0] & 0x0f, 8); // RFC 1950: CM = deflate
  assertEquals(((d[0] << 8) | d[1]) % 31, 0); // FCHECK
  assertEquals(gzip.name, "gzip");
  assertEquals(deflate.name, "deflate");
});

for (const [c, format] of [[gzip, "gzip"], [deflate, "deflate"]] as const) {
  Deno.test(`${c.name}: interoperates with CompressionStream("${format}") both ways`, async () => {
    for (const n of [0, 1, 300 << 10]) {
      const data = bytes(n);
      assertEquals(await pipe(c.compress(data), new DecompressionStream(format)), data);
      assertEquals(c.decompress(await pipe(data, new CompressionStream(format)), n), data);
    }
  });
}

Deno.test("gzip decodes concatenated members, whatever the last ISIZE says", () => {
  const big = bytes(100 << 10);
  const small = bytes(10);
  const mid = bytes(20 << 10);
  for (
    const parts of [
      [big, small], // ISIZE 10: the default chunks
      [big, mid], // ISIZE 20 KiB < the total: the hinted chunk is too small, more follow
      [small, small, small],
    ]
  ) {
    const packed = concat(parts.map((p) => zlib.gzipSync(p)));
    assertEquals(gzip.decompress(packed, 1 * MiB), concat(parts));
  }
});

Deno.test("compress() and decompress() work detached from their object", () => {
  const { compress, decompress } = gzip;
  const data = bytes(1000);
  assertEquals(decompress(compress(data), 1000), data);
  assert(Object.isFrozen(gzip) && Object.isFrozen(deflate));
  assert(Object.isFrozen(zstd) && Object.isFrozen(brotli));
});

Deno.test("decompress() fails INTERNAL on corrupt or truncated input", () => {
  const data = bytes(5000);
  for (const [c, other] of [[gzip, deflate], [deflate, gzip]]) {
    const good = c.compress(data);
    const flipped = good.slice();
    flipped[flipped.length - 6] ^= 0x40; // inside the checksum
    const corrupt: [string, Uint8Array][] = [
      ["empty", new Uint8Array(0)],
      ["garbage", new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])],
      ["truncated", good.subarray(0, good.length - 5)],
      ["header only", good.subarray(0, 2)],
      ["bad checksum", flipped],
      ["other format", other.compress(data)],
      ["raw deflate", zlib.deflateRawSync(data)],
    ];
    if (c === gzip) corrupt.push(["trailing bytes", concat([good, new Uint8Array([1, 2, 3])])]);
    for (const [what, input] of corrupt) {
      const err = assertStatus(() => c.decompress(input, MiB), Code.Internal);
      assert(err.cause instanceof Error, `${c.name} ${what}: cause`);
    }
  }
});

Deno.test("compress() and decompress() reject bad arguments", () => {
  for (const c of [gzip, deflate, zstd, brotli]) {
    assertThrows(() => c.compress("text" as unknown as Uint8Array), TypeError);
    assertThrows(() => c.decompress([1, 2] as unknown as Uint8Array, 10), TypeError);
    const packed = c.compress(bytes(10));
    for (const bad of [-1, NaN, 1.5, -Infinity, "10" as unknown as number]) {
      assertThrows(() => c.decompress(packed, bad), RangeError, "maxSize");
    }
  }
  for (const level of [-1, 10, 1.5, NaN]) {
    assertThrows(() => createGzip({ level }), RangeError, "level");
    assertThrows(() => createDeflate({ level }), RangeError, "level");
  }
});

Deno.test("createGzip() levels trade ratio for speed; every level decodes with gzip", () => {
  const text = new TextEncoder().encode(
    Array.from({ length: 5000 }, (_, i) => `{"id":${i},"name":"feature-${i % 97}"}`).join(","),
  );
  const sizes = [1, 6].map((level) => {
    const packed = createGzip({ level }).compress(text);
    assertEquals(gzip.decompress(packed, text.length), text);
    return packed.length;
  });
  assert(sizes[0] > sizes[1], `sizes ${sizes}`);
  assertEquals(gzip.compress(text).length, sizes[1]); // gzip is level 6, as grpc-go
});

// --- registry and negotiation ----------------------------------------------------------------

Deno.test("getCompressor() finds the built-ins; identity and unknown names are undefined", () => {
  assertStrictEquals(getCompressor("gzip"), gzip);
  assertStrictEquals(getCompressor("deflate"), deflate);
  assertStrictEquals(getCompressor("zstd"), zstd);
  assertStrictEquals(getCompressor("br"), brotli);
  assertEquals(getCompressor("identity"), undefined);
  assertEquals(getCompressor("snappy"), undefined);
  assertEquals(getCompressor("GZIP"), undefined); // case-sensitive
  assertEquals(getCompressor(""), undefined);
  assert(supportedEncodings().startsWith("gzip,deflate,zstd,br"), supportedEncodings());
  assertEquals(DEFAULT_COMPRESSION_MIN_SIZE, 0);
});

Deno.test("registerCompressor() adds and replaces encodings", () => {
  const test: Compressor = {
    name: "test",
    compress: (d) => d.slice().reverse(),
    decompress: (d) => d.slice().reverse(),
  };
  registerCompressor(test);
  assertStrictEquals(getCompressor("test"), test);
  assertEquals(supportedEncodings().split(","), ["gzip", "deflate", "zstd", "br", "test"]);

  // Same name: replaced in place (the last registration wins), listed once.
  const test2 = { ...test };
  registerCompressor(test2);
  assertStrictEquals(getCompressor("test"), test2);
  const fast = createGzip({ level: 1 });
  registerCompressor(fast);
  assertStrictEquals(getCompressor("gzip"), fast);
  assertEquals(supportedEncodings(), "gzip,deflate,zstd,br,test");
  registerCompressor(gzip);
  assertStrictEquals(getCompressor("gzip"), gzip);
});

Deno.test("registerCompressor() rejects bad names and objects with TypeError", () => {
  const ok = { compress: (d: Uint8Array) => d, decompress: (d: Uint8Array) => d };
  for (const name of ["", "a b", "gzip,br", "gzip ", "gz\u00fcp", "a/b", "a;q=1", "identity"]) {
    assertThrows(() => registerCompressor({ ...ok, name }), TypeError, undefined, name);
  }
  for (const name of [undefined, 7, null]) {
    assertThrows(() => registerCompressor({ ...ok, name } as unknown as Compressor), TypeError);
  }
  assertThrows(() => registerCompressor(null as unknown as Compressor), TypeError);
  assertThrows(
    () => registerCompressor({ name: "x-half", compress: ok.compress } as unknown as Compressor),
    TypeError,
  );
  assertEquals(getCompressor("x-half"), undefined);
  for (const name of ["x-snappy", "zstd", "x.y_z~1", "Br"]) {
    registerCompressor({ ...ok, name }); // tokens, any case
    assertEquals(getCompressor(name)?.name, name);
  }
});

Deno.test("negotiateEncoding() finds the preferred token in grpc-accept-encoding", () => {
  const cases: [string | undefined, string, string | undefined][] = [
    ["gzip, deflate", "gzip", "gzip"],
    ["gzip, deflate", "deflate", "deflate"],
    ["deflate,gzip", "gzip", "gzip"],
    [" gzip", "gzip", "gzip"],
    ["identity,deflate, gzip ", "gzip", "gzip"],
    ["\tgzip\t,x", "gzip", "gzip"],
    [",,gzip,", "gzip", "gzip"],
    ["gzip", "gzip", "gzip"],
    ["", "gzip", undefined],
    [undefined, "gzip", undefined],
    ["identity", "gzip", undefined],
    ["deflate", "gzip", undefined],
    ["gzipx, xgzip, gzi", "gzip", undefined],
    ["GZIP", "gzip", undefined], // tokens are compared case-sensitively
    ["g zip", "gzip", undefined],
    ["identity, gzip", "identity", undefined], // identity: send uncompressed
    ["gzip", "", undefined],
    [",", "gzip", undefined],
  ];
  for (const [accept, preferred, want] of cases) {
    assertEquals(negotiateEncoding(accept, preferred), want, `${accept} / ${preferred}`);
  }
});
