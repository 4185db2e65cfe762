import { assertEquals, assertThrows } from "@std/assert";
import * as zlib from "node:zlib";
import {
  deflate,
  getCompressor,
  gzip,
  negotiateEncoding,
  registerCompressor,
  supportedEncodings,
} from "./compression.ts";
import { Code, StatusError } from "./status.ts";

function bytes(n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31) % 251;
  return b;
}

for (const c of [gzip, deflate]) {
  Deno.test(`${c.name}: round trips empty, 1 B and 1 MiB messages`, () => {
    for (const n of [0, 1, 1 << 20]) {
      const data = bytes(n);
      assertEquals(new Uint8Array(c.decompress(c.compress(data), n + 1)), data);
    }
  });

  Deno.test(`${c.name}: a zip bomb fails RESOURCE_EXHAUSTED without inflating it all`, () => {
    const bomb = c.compress(new Uint8Array(64 << 20)); // 64 MiB of zeros, ~64 KiB compressed
    const before = Deno.memoryUsage().rss;
    const err = assertThrows(() => c.decompress(bomb, 4 << 20), StatusError);
    assertEquals(err.code, Code.ResourceExhausted);
    // Bounded by the limit, not the bomb: far less than 64 MiB grows.
    const grown = Deno.memoryUsage().rss - before;
    assertEquals(grown < 48 << 20, true, `rss grew ${grown} bytes`);
  });

  Deno.test(`${c.name}: corrupt input fails INTERNAL`, () => {
    const err = assertThrows(
      () => c.decompress(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]), 1024),
      StatusError,
    );
    assertEquals(err.code, Code.Internal);
  });
}

Deno.test("gzip: output is standard gzip (DecompressionStream reads it, and back)", async () => {
  const data = new TextEncoder().encode("interoperable ".repeat(100));
  const viaStream = new Uint8Array(
    await new Response(
      new Blob([gzip.compress(data) as Uint8Array<ArrayBuffer>]).stream().pipeThrough(
        new DecompressionStream("gzip"),
      ),
    ).arrayBuffer(),
  );
  assertEquals(viaStream, data);
  const fromStream = new Uint8Array(
    await new Response(
      new Blob([data]).stream().pipeThrough(new CompressionStream("gzip")),
    ).arrayBuffer(),
  );
  assertEquals(new Uint8Array(gzip.decompress(fromStream, 1 << 20)), data);
  assertEquals(new Uint8Array(zlib.gunzipSync(gzip.compress(data))), data);
});

Deno.test("registerCompressor() adds an encoding and rejects bad names", () => {
  registerCompressor({ name: "x-test", compress: (d) => d, decompress: (d) => d });
  assertEquals(getCompressor("x-test")?.name, "x-test");
  assertEquals(supportedEncodings().split(",").includes("x-test"), true);
  assertThrows(
    () => registerCompressor({ name: "bad name", compress: (d) => d, decompress: (d) => d }),
    TypeError,
  );
  assertThrows(
    () => registerCompressor({ name: "identity", compress: (d) => d, decompress: (d) => d }),
    TypeError,
  );
  assertEquals(getCompressor("identity"), undefined);
});

Deno.test("negotiateEncoding() matches tokens in a comma-separated list", () => {
  assertEquals(negotiateEncoding("gzip, deflate", "gzip"), "gzip");
  assertEquals(negotiateEncoding(" deflate , gzip ", "gzip"), "gzip");
  assertEquals(negotiateEncoding("", "gzip"), undefined);
  assertEquals(negotiateEncoding("identity", "gzip"), undefined);
  assertEquals(negotiateEncoding("gzipx", "gzip"), undefined);
});
