// The CLI against grpc-go 1.33 (Debian golang-google-grpc-dev), which serves reflection only as
// v1alpha: the CLI must fall back to it. The server (tests/go/src/reflectionpeer) is built here
// in GOPATH mode, like ../shared/bench/build.sh builds the harness (`deno task test:peers`).

import { assertEquals } from "@std/assert";
import { Code } from "@seed/grpc";
import { main } from "@seed/grpc/cli";
import { ROOT, startReady } from "./_procs.ts";

async function buildPeer(): Promise<string> {
  const dir = await Deno.makeTempDir();
  const out = await new Deno.Command("go", {
    args: ["build", "-o", `${dir}/reflectionpeer`, "reflectionpeer"],
    env: { GO111MODULE: "off", GOFLAGS: "", GOPATH: `${ROOT}tests/go:/usr/share/gocode` },
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(`go build failed: ${new TextDecoder().decode(out.stderr)}`);
  return `${dir}/reflectionpeer`;
}

async function cli(args: string[]): Promise<{ code: number; stdout: string[]; stderr: string[] }> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const code = await main(args, { stdout: (l) => stdout.push(l), stderr: (l) => stderr.push(l) });
  return { code, stdout, stderr };
}

Deno.test("CLI against grpc-go 1.33: reflection falls back to v1alpha; health", async () => {
  const binary = await buildPeer();
  try {
    await using peer = await startReady(binary, []);
    const addr = `127.0.0.1:${peer.port}`;
    assertEquals((await cli(["list", addr, "--plaintext"])).stdout, [
      "grpc.health.v1.Health",
      "grpc.reflection.v1alpha.ServerReflection",
    ]);
    assertEquals(
      (await cli(["describe", addr, "grpc.health.v1.Health.Watch", "--plaintext"])).stdout,
      [
        "grpc.health.v1.Health.Watch is a method:\n" +
        "rpc Watch ( .grpc.health.v1.HealthCheckRequest ) returns ( stream .grpc.health.v1.HealthCheckResponse );",
      ],
    );
    const check = await cli([
      "call",
      addr,
      "grpc.health.v1.Health/Check",
      "-d",
      "{}",
      "--plaintext",
    ]);
    assertEquals(check.stdout, ['{"status":"SERVING"}']);
    assertEquals((await cli(["health", addr, "--plaintext"])).stdout, ["SERVING"]);
    const down = await cli(["health", addr, "down.Service", "--plaintext"]);
    assertEquals([down.code, down.stdout], [Code.Unavailable, ["NOT_SERVING"]]);
    const unknown = await cli(["health", addr, "nope", "--plaintext"]);
    assertEquals([unknown.code, unknown.stderr], [Code.NotFound, [
      "ERROR: NOT_FOUND unknown service",
    ]]);
  } finally {
    await Deno.remove(binary.slice(0, binary.lastIndexOf("/")), { recursive: true });
  }
});
