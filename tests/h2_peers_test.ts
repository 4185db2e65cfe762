// Our HTTP/2 server role against real HTTP/2 peers from Debian's nghttp2-client: `nghttp` (one
// client, verbose frame log) and `h2load` (load, many streams per connection), driving
// bench/server.ts (the real Server from server.ts serving bench/bench.proto) over loopback.
// Needs nghttp and h2load on PATH: fails, never skips, when they are missing
// (`deno task test:peers`; `apt-get install nghttp2-client`).

import { assert, assertEquals, assertMatch } from "@std/assert";
import { ROOT, run, startReady } from "./_procs.ts";

const GRPC_HEADERS = ["-H", "content-type: application/grpc", "-H", "te: trailers"];

/** A gRPC request body for bench.Bench/Unary: 5-byte prefix + protobuf Payload{body}. */
function unaryBody(body: Uint8Array): Uint8Array {
  const varint: number[] = [];
  let n = body.length;
  do {
    const b = n & 0x7f;
    n = Math.floor(n / 128);
    varint.push(n > 0 ? b | 0x80 : b);
  } while (n > 0);
  const msg = new Uint8Array(1 + varint.length + body.length);
  msg[0] = 0x0a; // field 1, length-delimited
  msg.set(varint, 1);
  msg.set(body, 1 + varint.length);
  const out = new Uint8Array(5 + msg.length);
  new DataView(out.buffer).setUint32(1, msg.length);
  out.set(msg, 5);
  return out;
}

async function tempFile(bytes: Uint8Array): Promise<string> {
  const path = await Deno.makeTempFile({ prefix: "h2peers-", suffix: ".bin" });
  await Deno.writeFile(path, bytes);
  return path;
}

/** Sum of the lengths of the DATA frames nghttp -v says it received. */
function receivedData(log: string): number {
  let n = 0;
  for (const m of log.matchAll(/recv DATA frame <length=(\d+)/g)) n += Number(m[1]);
  return n;
}

function count(log: string, re: RegExp): number {
  return [...log.matchAll(re)].length;
}

Deno.test("nghttp and h2load are installed (Debian nghttp2-client)", async () => {
  for (const tool of ["nghttp", "h2load"]) {
    const r = await run(tool, ["--version"]).catch((err) => {
      throw new Error(`${tool} is missing (apt-get install nghttp2-client): ${err}`);
    });
    assertEquals(r.code, 0, `${tool} --version failed: ${r.stderr}`);
  }
});

Deno.test("bench/server.ts against nghttp and h2load", async (t) => {
  await using server = await startReady(
    "deno",
    ["run", "-A", "bench/server.ts", "-port", "0"],
    ROOT,
  );
  const url = `http://127.0.0.1:${server.port}/bench.Bench/Unary`;
  const text = new TextEncoder().encode("hello from nghttp; ".repeat(6));
  const small = await tempFile(unaryBody(text));
  const big = await tempFile(unaryBody(new Uint8Array(1 << 20).fill(0x61)));
  try {
    await t.step(
      "nghttp: a unary POST answers :status 200, the echo and grpc-status 0",
      async () => {
        const r = await run("nghttp", ["-v", "-d", small, ...GRPC_HEADERS, url]);
        assertEquals(r.code, 0, r.stderr + r.stdout);
        assertMatch(r.stdout, /recv \(stream_id=\d+\) :status: 200/);
        assertMatch(r.stdout, /recv \(stream_id=\d+\) content-type: application\/grpc/);
        assertMatch(r.stdout, /recv \(stream_id=\d+\) grpc-status: 0/);
        // The trailers end the stream.
        assertMatch(r.stdout, /recv HEADERS frame <length=\d+, flags=0x05/);
        assert(r.stdout.includes("hello from nghttp; ".repeat(6)), "the echoed payload");
        assertEquals(receivedData(r.stdout), unaryBody(text).length);
        assertEquals(count(r.stdout, /recv (RST_STREAM|GOAWAY)/g), 0, r.stdout);
      },
    );

    await t.step(
      "nghttp: 1 MiB each way through 16 KiB stream / 64 KiB connection windows",
      async () => {
        const r = await run("nghttp", [
          "-v",
          "-n",
          "-w",
          "14",
          "-W",
          "16",
          "-d",
          big,
          ...GRPC_HEADERS,
          url,
        ]);
        assertEquals(r.code, 0, r.stderr + r.stdout.slice(-2000));
        assertMatch(r.stdout, /grpc-status: 0/);
        assertEquals(receivedData(r.stdout), unaryBody(new Uint8Array(1 << 20)).length);
        // We never sent more than nghttp's 16 KiB stream window allowed in one frame.
        for (const m of r.stdout.matchAll(/recv DATA frame <length=(\d+)/g)) {
          assert(Number(m[1]) <= 16383, `DATA frame of ${m[1]} bytes`);
        }
        assertEquals(count(r.stdout, /recv (RST_STREAM|GOAWAY)/g), 0);
      },
    );

    await t.step(
      "nghttp: 100 concurrent streams on one connection all end with grpc-status 0",
      async () => {
        const r = await run("nghttp", ["-v", "-n", "-m", "100", "-d", small, ...GRPC_HEADERS, url]);
        assertEquals(r.code, 0, r.stderr);
        assertEquals(count(r.stdout, /grpc-status: 0/g), 100);
        assertEquals(count(r.stdout, /recv (RST_STREAM|GOAWAY)/g), 0);
      },
    );

    await t.step(
      "nghttp: a GET is answered 405 with grpc-status 13, and the connection lives",
      async () => {
        const r = await run("nghttp", ["-v", url]);
        assertMatch(r.stdout, /:status: 405/);
        assertMatch(r.stdout, /grpc-status: 13/);
        assertEquals(count(r.stdout, /recv GOAWAY/g), 0);
      },
    );

    await t.step("nghttp: an unknown method gets grpc-status 12 (UNIMPLEMENTED)", async () => {
      const r = await run("nghttp", [
        "-v",
        "-d",
        small,
        ...GRPC_HEADERS,
        `http://127.0.0.1:${server.port}/bench.Bench/Nope`,
      ]);
      assertMatch(r.stdout, /grpc-status: 12/);
      assertEquals(count(r.stdout, /recv GOAWAY/g), 0);
    });

    await t.step("h2load -n 2000 -c 4 -m 16: all 2000 succeed, none errored", async () => {
      const r = await run("h2load", [
        "-n",
        "2000",
        "-c",
        "4",
        "-m",
        "16",
        "-d",
        small,
        ...GRPC_HEADERS,
        url,
      ]);
      assertEquals(r.code, 0, r.stderr + r.stdout);
      assertMatch(
        r.stdout,
        /requests: 2000 total, 2000 started, 2000 done, 2000 succeeded, 0 failed, 0 errored, 0 timeout/,
      );
      assertMatch(r.stdout, /status codes: 2000 2xx/);
    });

    await t.step("h2load with 16 KiB windows and 64 KiB bodies: all 200 succeed", async () => {
      const mid = await tempFile(unaryBody(new Uint8Array(64 * 1024).fill(0x62)));
      try {
        const r = await run("h2load", [
          "-n",
          "200",
          "-c",
          "2",
          "-m",
          "8",
          "-w",
          "14",
          "-W",
          "16",
          "-d",
          mid,
          ...GRPC_HEADERS,
          url,
        ]);
        assertEquals(r.code, 0, r.stderr + r.stdout);
        assertMatch(
          r.stdout,
          /requests: 200 total, 200 started, 200 done, 200 succeeded, 0 failed, 0 errored/,
        );
      } finally {
        await Deno.remove(mid);
      }
    });
  } finally {
    await Deno.remove(small);
    await Deno.remove(big);
  }
});
