// grpc-go (1.33, the Debian package built by ../shared/bench/build.sh) against us, both ways,
// and our client against grpcio (Python, Debian python3-grpcio, ../shared/bench/python):
// the Go load generator drives every harness scenario against bench/server.ts, and our
// bench/loadgen.ts drives every scenario against the grpc-go server. Needs the built harness:
// fails, never skips, when it is missing (`deno task test:peers`; .ci/run builds it).

import { assert, assertEquals } from "@std/assert";
import { BENCH, ROOT, run, startReady } from "./_procs.ts";

const GO_SERVER = `${BENCH}go/bin/server`;
const GO_LOADGEN = `${BENCH}go/bin/loadgen`;
const PY_SERVER = `${BENCH}python/server.py`;

const SCENARIOS: [string, string[]][] = [
  ["unary_1x1", ["-scenario", "unary", "-concurrency", "1", "-size", "100"]],
  ["unary_1x64", ["-scenario", "unary", "-concurrency", "64", "-size", "100"]],
  ["sstream_1k", [
    "-scenario",
    "server_stream",
    "-concurrency",
    "1",
    "-size",
    "1024",
    "-stream-msgs",
    "1000",
  ]],
  ["cstream_1k", [
    "-scenario",
    "client_stream",
    "-concurrency",
    "1",
    "-size",
    "1024",
    "-stream-msgs",
    "1000",
  ]],
  ["bidi_100", ["-scenario", "bidi_pingpong", "-concurrency", "1", "-size", "100"]],
  ["unary_1mb", ["-scenario", "unary", "-concurrency", "1", "-size", "1048576"]],
];
const WINDOW = ["-conns", "1", "-duration", "1s", "-warmup", "300ms"];

function lastJson(stdout: string): Record<string, number> {
  const line = stdout.trim().split("\n").at(-1) ?? "{}";
  return JSON.parse(line);
}

Deno.test("grpc-go peers are built (../shared/bench/build.sh)", async () => {
  for (const p of [GO_SERVER, GO_LOADGEN]) {
    const st = await Deno.stat(p).catch(() => null);
    assert(st?.isFile, `missing ${p}: run ../shared/bench/build.sh`);
  }
});

Deno.test("grpc-go load generator → bench/server.ts: every scenario, 0 errors", async (t) => {
  await using server = await startReady(
    "deno",
    ["run", "-A", "bench/server.ts", "-port", "0"],
    ROOT,
  );
  for (const [name, args] of SCENARIOS) {
    await t.step(name, async () => {
      const r = await run(GO_LOADGEN, ["-addr", `127.0.0.1:${server.port}`, ...args, ...WINDOW]);
      assertEquals(r.code, 0, r.stderr);
      const j = lastJson(r.stdout);
      assertEquals(j.errors, 0, r.stdout);
      assert(j.calls > 0, `no call completed: ${r.stdout}`);
    });
  }
});

// Our load generator (bench/loadgen.ts) through every scenario against a peer server.
async function ourLoadgenAgainst(t: Deno.TestContext, cmd: string, args: string[]) {
  await using server = await startReady(cmd, args);
  for (const [name, scenario] of SCENARIOS) {
    await t.step(name, async () => {
      const r = await run(
        "deno",
        [
          "run",
          "-A",
          "bench/loadgen.ts",
          "-addr",
          `127.0.0.1:${server.port}`,
          ...scenario,
          ...WINDOW,
        ],
        ROOT,
      );
      assertEquals(r.code, 0, r.stderr);
      const j = lastJson(r.stdout);
      assertEquals(j.errors, 0, r.stdout);
      assert(j.calls > 0, `no call completed: ${r.stdout}`);
    });
  }
}

Deno.test("bench/loadgen.ts → grpc-go server: every scenario, 0 errors", async (t) => {
  await ourLoadgenAgainst(t, GO_SERVER, ["-port", "0"]);
});

Deno.test("bench/loadgen.ts → grpcio (Python) server: every scenario, 0 errors", async (t) => {
  await ourLoadgenAgainst(t, "/usr/bin/python3", [PY_SERVER, "-port", "0"]);
});

Deno.test("grpcio (Python) client → bench/server.ts: four kinds, metadata, errors", async () => {
  await using server = await startReady(
    "deno",
    ["run", "-A", "bench/server.ts", "-port", "0"],
    ROOT,
  );
  const r = await run("/usr/bin/python3", [
    `${ROOT}tests/peers/grpcio_client.py`,
    `${BENCH}python`,
    String(server.port),
  ]);
  const last = r.stdout.trim().split("\n").at(-1) ?? "";
  assertEquals(last, "PASS grpcio", `${r.stdout}\n${r.stderr}`);
});
