// Helpers for tests that start programs: a Deno or native server that prints "READY port=N",
// and a free loopback port. Every spawned process is reaped and its pipes drained, so Deno's
// resource sanitizer stays quiet.

/** A running child process that announced its port. */
export interface ReadyProcess extends AsyncDisposable {
  readonly port: number;
  readonly process: Deno.ChildProcess;
  /** SIGTERM (or `signal`), then wait for exit. */
  stop(signal?: Deno.Signal): Promise<void>;
  /** Everything it printed so far. */
  output(): string;
}

/** Spawns `cmd args…` and waits (up to 30 s) for a `READY port=N` line on stdout. */
export async function startReady(cmd: string, args: string[], cwd?: string): Promise<ReadyProcess> {
  const child = new Deno.Command(cmd, {
    args,
    cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  })
    .spawn();
  let out = "";
  let port = 0;
  let resolveReady!: (p: number) => void;
  const ready = new Promise<number>((r) => (resolveReady = r));
  const dec = new TextDecoder();
  const pump = async (s: ReadableStream<Uint8Array>) => {
    for await (const chunk of s) {
      out += dec.decode(chunk, { stream: true });
      const m = /READY port=(\d+)/.exec(out);
      if (m !== null && port === 0) {
        port = Number(m[1]);
        resolveReady(port);
      }
    }
  };
  const pumps = Promise.all([pump(child.stdout), pump(child.stderr)]);
  const status = child.status;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${cmd} did not print READY in 30 s:\n${out}`)),
      30_000,
    );
  });
  const died = status.then((s) => {
    throw new Error(`${cmd} exited (${s.code}) before READY:\n${out}`);
  });
  const stop = async (signal: Deno.Signal = "SIGTERM") => {
    try {
      child.kill(signal);
    } catch {
      // already gone
    }
    await status;
    await pumps;
  };
  try {
    await Promise.race([ready, timeout, died]);
  } catch (err) {
    await stop("SIGKILL");
    throw err;
  } finally {
    clearTimeout(timer);
    died.catch(() => {});
  }
  return { port, process: child, stop, output: () => out, [Symbol.asyncDispose]: () => stop() };
}

/** A loopback port that was free a moment ago. */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = l.addr.port;
  l.close();
  return port;
}

/** Runs a command to its end and returns its exit code and output. */
export async function run(
  cmd: string,
  args: string[],
  cwd?: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const o = await new Deno.Command(cmd, {
    args,
    cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  const dec = new TextDecoder();
  return { code: o.code, stdout: dec.decode(o.stdout), stderr: dec.decode(o.stderr) };
}

/** The repository root, from this file's location. */
export const ROOT: string = new URL("../", import.meta.url).pathname;
/** The shared benchmark harness beside the repository. */
export const BENCH: string = new URL("../../shared/bench/", import.meta.url).pathname;
