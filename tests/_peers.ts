/**
 * Helpers that run the grpc-js and Connect-ES peers in `tests/peers/` (Node programs) from
 * `deno test`.
 *
 * - {@linkcode ensureNodePeers} installs their npm packages once (`npm ci`).
 * - {@linkcode startNodeServer} starts a peer server on a free loopback port.
 * - {@linkcode runNodeClient} runs a peer client to its end.
 *
 * Paths come from `import.meta.url`, so tests run from any working directory. Node must be on
 * `PATH`; the npm registry must be reachable the first time (or `tests/peers/node_modules`
 * present).
 *
 * @module
 */

/** Absolute path of `tests/peers/` (the Node peers and their package.json), with a final `/`. */
export const PEERS_DIR: string = filePath(new URL("./peers/", import.meta.url));

/** Absolute path of `tests/interop/`, the import root of `grpc/testing/test.proto`. */
export const INTEROP_DIR: string = filePath(
  new URL("./interop/", import.meta.url),
);

/** The test cases `grpcjs_interop_client.mjs` implements, in the order the descriptions list. */
export const INTEROP_CASES: readonly string[] = Object.freeze([
  "empty_unary",
  "large_unary",
  "client_compressed_unary",
  "server_compressed_unary",
  "client_streaming",
  "client_compressed_streaming",
  "server_streaming",
  "server_compressed_streaming",
  "ping_pong",
  "empty_stream",
  "custom_metadata",
  "status_code_and_message",
  "special_status_message",
  "unimplemented_method",
  "unimplemented_service",
  "cancel_after_begin",
  "cancel_after_first_response",
  "timeout_on_sleeping_server",
]);

const READY_TIMEOUT_MS = 30_000;
const READY_LINE = /^READY port=(\d+)$/;
const INSTALL_LOCK = `${PEERS_DIR}.npm-ci.lock`;
const INSTALL_LOCK_STALE_MS = 5 * 60_000;
/** Most output kept per stream of a peer, in characters (the tail is kept). */
const OUTPUT_LIMIT = 256 * 1024;

function filePath(url: URL): string {
  return decodeURIComponent(url.pathname);
}

function resolveScript(script: string): string {
  return script.startsWith("/") ? script : `${PEERS_DIR}${script}`;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

let installing: Promise<void> | undefined;

/**
 * Installs the peers' npm packages (`npm ci --no-audit --no-fund` in {@linkcode PEERS_DIR}) when
 * `node_modules` lacks them. Runs once per process; concurrent test processes take turns
 * through a lock directory.
 *
 * @throws {Error} when npm fails, with its output.
 */
export function ensureNodePeers(): Promise<void> {
  installing ??= install().catch((err) => {
    installing = undefined; // let a later call try again
    throw err;
  });
  return installing;
}

async function installed(): Promise<boolean> {
  return await exists(`${PEERS_DIR}node_modules/@grpc/grpc-js/package.json`) &&
    await exists(`${PEERS_DIR}node_modules/@grpc/proto-loader/package.json`) &&
    await exists(`${PEERS_DIR}node_modules/grpc-health-check/package.json`) &&
    await exists(`${PEERS_DIR}node_modules/@grpc/reflection/package.json`) &&
    await exists(`${PEERS_DIR}node_modules/@connectrpc/connect-node/package.json`) &&
    await exists(`${PEERS_DIR}node_modules/@bufbuild/protoc-gen-es/package.json`);
}

async function install(): Promise<void> {
  if (await installed()) return;
  await takeInstallLock();
  try {
    if (await installed()) return; // another process installed while we waited
    const out = await new Deno.Command("npm", {
      args: ["ci", "--no-audit", "--no-fund"],
      cwd: PEERS_DIR,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) {
      const dec = new TextDecoder();
      throw new Error(
        `Cannot install the Node peers: npm ci exited with ${out.code} in ${PEERS_DIR}\n` +
          `${dec.decode(out.stdout)}${dec.decode(out.stderr)}`,
      );
    }
  } finally {
    await Deno.remove(INSTALL_LOCK).catch(() => {});
  }
}

async function takeInstallLock(): Promise<void> {
  for (;;) {
    try {
      await Deno.mkdir(INSTALL_LOCK);
      return;
    } catch (err) {
      if (!(err instanceof Deno.errors.AlreadyExists)) throw err;
    }
    const info = await Deno.stat(INSTALL_LOCK).catch(() => null);
    const age = info?.mtime ? Date.now() - info.mtime.getTime() : 0;
    if (age > INSTALL_LOCK_STALE_MS) {
      await Deno.remove(INSTALL_LOCK).catch(() => {}); // left by a run that died
    } else {
      await delay(200);
    }
  }
}

/** Collects a child's output stream as text, keeping the last {@linkcode OUTPUT_LIMIT} chars. */
class OutputTail {
  text = "";
  #partial = "";
  #onLine: (line: string) => void;

  constructor(onLine: (line: string) => void = () => {}) {
    this.#onLine = onLine;
  }

  async drain(stream: ReadableStream<Uint8Array>): Promise<void> {
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      this.text += chunk;
      if (this.text.length > OUTPUT_LIMIT) {
        this.text = this.text.slice(-OUTPUT_LIMIT);
      }
      const lines = (this.#partial + chunk).split("\n");
      this.#partial = lines.pop()!;
      for (const line of lines) this.#onLine(line.replace(/\r$/, ""));
    }
    if (this.#partial !== "") this.#onLine(this.#partial);
  }
}

/** A running peer server, from {@linkcode startNodeServer}. */
export interface NodeServer {
  /** The loopback port it listens on (127.0.0.1). */
  port: number;
  /** The Node child process. */
  process: Deno.ChildProcess;
  /**
   * Sends `signal` (default SIGTERM: the peer stops at once; SIGUSR2: it drains, then exits) and
   * waits for the process to exit and its output to be read. Calling it again waits for the
   * same end.
   * @throws {Error} when the peer exited unsuccessfully for another reason than the signal
   * sent (e.g. it crashed), with its stderr.
   */
  stop(signal?: Deno.Signal): Promise<void>;
  /** Everything the peer printed so far (the last 256 KiB of each stream). */
  output(): { stdout: string; stderr: string };
  /** Same as `stop()`, for `await using`. */
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Starts a Node peer server: `node <script> --port=0 ...args`, in {@linkcode PEERS_DIR}, and
 * waits for its `READY port=N` line. Its stdout and stderr are read to the end in the
 * background so the child never blocks on a full pipe. Call `stop()` (or use `await using`).
 *
 * @param script path of the script, relative to {@linkcode PEERS_DIR} unless absolute.
 * @param args more arguments; `--port=0` is added unless they hold a `--port` flag.
 * @returns the server, once it is listening.
 * @throws {Error} when the peer exits or prints no READY line within 30 s, with its stderr.
 */
export async function startNodeServer(
  script: string,
  args: string[] = [],
): Promise<NodeServer> {
  const hasPort = args.some((a) => a === "--port" || a.startsWith("--port="));
  const child = new Deno.Command("node", {
    args: [resolveScript(script), ...(hasPort ? [] : ["--port=0"]), ...args],
    cwd: PEERS_DIR,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();

  let onReady!: (port: number) => void;
  const ready = new Promise<number>((resolve) => {
    onReady = resolve;
  });
  const stdout = new OutputTail((line) => {
    const m = READY_LINE.exec(line);
    if (m) onReady(Number(m[1]));
  });
  const stderr = new OutputTail();
  const drained = Promise.all([
    stdout.drain(child.stdout),
    stderr.drain(child.stderr),
  ]);
  const status = child.status;

  let sent: Deno.Signal | undefined;
  let stopping: Promise<void> | undefined;
  const output = () => ({ stdout: stdout.text, stderr: stderr.text });
  const describe = () =>
    `${script}\n--- stdout ---\n${stdout.text}--- stderr ---\n${stderr.text}`
      .trimEnd();

  const stop = (signal: Deno.Signal = "SIGTERM"): Promise<void> => {
    stopping ??= (async () => {
      sent = signal;
      try {
        child.kill(signal);
      } catch {
        // already exited
      }
      const st = await status;
      await drained;
      if (!st.success && st.signal !== sent) {
        throw new Error(
          `Node peer exited with code ${st.code} (signal ${st.signal}): ${describe()}`,
        );
      }
    })();
    return stopping;
  };

  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), READY_TIMEOUT_MS);
  });
  const exitedEarly = status.then(() => "exited" as const);
  const first = await Promise.race([ready, timeout, exitedEarly]);
  clearTimeout(timer);
  if (typeof first !== "number") {
    sent = "SIGKILL";
    try {
      child.kill("SIGKILL");
    } catch {
      // already exited
    }
    const st = await status;
    await drained;
    const why = first === "timeout"
      ? `printed no READY line within ${READY_TIMEOUT_MS} ms`
      : `exited with code ${st.code} before printing READY`;
    throw new Error(`Cannot start Node peer: it ${why}: ${describe()}`);
  }

  return {
    port: first,
    process: child,
    stop,
    output,
    [Symbol.asyncDispose]: () => stop(),
  };
}

/** What a peer client run left behind, from {@linkcode runNodeClient}. */
export interface NodeClientResult {
  /** Exit code (for a peer killed by a signal: 128 + its number). */
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs a Node peer client to its end: `node <script> ...args` in {@linkcode PEERS_DIR}.
 *
 * @param script path of the script, relative to {@linkcode PEERS_DIR} unless absolute.
 * @param args its arguments, e.g. `["--server_port=50051", "--test_case=empty_unary"]`.
 * @returns its exit code and everything it printed.
 */
export async function runNodeClient(
  script: string,
  args: string[],
): Promise<NodeClientResult> {
  const out = await new Deno.Command("node", {
    args: [resolveScript(script), ...args],
    cwd: PEERS_DIR,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return {
    code: out.code,
    stdout: dec.decode(out.stdout),
    stderr: dec.decode(out.stderr),
  };
}
