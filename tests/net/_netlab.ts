// Helpers for the real-link tests: the link emulator's control socket, processes run inside the
// test network's namespaces (JSON-line events on stdout), and the kernel's view of a port's TCP
// connections (`ss`). tests/net/run.sh brings the network up (netlab.sh) and sets NETLAB_CTL.

/** The clients' namespace and the servers' namespace (netlab.sh). */
export const NS_CLIENT = "gk-a";
export const NS_SERVER = "gk-b";
/** The servers' address on the test link. */
export const SERVER_IP = "10.201.0.2";

const HERE = new URL(".", import.meta.url).pathname;
/** The grpc-go peers built by build_go.sh. */
export const GO_BIN = `${HERE}go/bin`;
/** Our peer program (tests/net/peer.ts). */
export const PEER = `${HERE}peer.ts`;

/** Sends one command to the link emulator ("delay 50", "blackhole 1", "stats", …). */
export async function link(command: string): Promise<Record<string, unknown>> {
  const path = Deno.env.get("NETLAB_CTL");
  if (path === undefined) throw new Error("NETLAB_CTL is not set: run `deno task test:net`");
  const conn = await Deno.connect({ transport: "unix", path });
  try {
    await conn.write(new TextEncoder().encode(command + "\n"));
    let text = "";
    const buf = new Uint8Array(65536);
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) break;
      text += new TextDecoder().decode(buf.subarray(0, n));
      if (text.includes("\n")) break;
    }
    const reply = JSON.parse(text);
    if (reply.error) throw new Error(`link ${command}: ${reply.error}`);
    return reply;
  } finally {
    conn.close();
  }
}

/** Sets the link's one-way delay and loss and lifts any blackhole. */
export async function resetLink(delayMs = 0, loss = 0): Promise<void> {
  await link(`delay ${delayMs}`);
  await link(`loss ${loss}`);
  await link("blackhole 0");
  await link("reset");
}

/** One event line of a peer process. */
export type PeerEvent = { event?: string; at?: number; [k: string]: unknown };

/** A process inside a namespace whose stdout is JSON lines. */
export class NsProc {
  readonly name: string;
  readonly events: PeerEvent[] = [];
  stderr = "";
  readonly #child: Deno.ChildProcess;
  readonly #pumped: Promise<void>;
  #waiters: (() => void)[] = [];
  readonly status: Promise<Deno.CommandStatus>;

  constructor(ns: string, name: string, cmd: string[]) {
    this.name = name;
    this.#child = new Deno.Command("ip", {
      args: ["netns", "exec", ns, ...cmd],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#pumped = Promise.all([this.#pumpOut(), this.#pumpErr()]).then(() => {});
    this.status = this.#child.status;
  }

  /** Our peer program in `ns`. */
  static peer(ns: string, args: string[]): NsProc {
    return new NsProc(ns, `peer ${args[0]}`, [Deno.execPath(), "run", "-A", PEER, ...args]);
  }

  async #pumpOut(): Promise<void> {
    let rest = "";
    for await (const chunk of this.#child.stdout.pipeThrough(new TextDecoderStream())) {
      rest += chunk;
      let i;
      while ((i = rest.indexOf("\n")) >= 0) {
        const line = rest.slice(0, i).trim();
        rest = rest.slice(i + 1);
        if (line === "") continue;
        try {
          this.events.push(JSON.parse(line));
        } catch {
          this.events.push({ event: "text", text: line });
        }
        for (const w of this.#waiters.splice(0)) w();
      }
    }
    for (const w of this.#waiters.splice(0)) w();
  }

  async #pumpErr(): Promise<void> {
    for await (const chunk of this.#child.stderr.pipeThrough(new TextDecoderStream())) {
      this.stderr += chunk;
    }
  }

  /** Waits for the first event named `event` (or any line when `event` is "*"). */
  async next(event: string, timeoutMs: number): Promise<PeerEvent> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const e = this.events.find((x) => event === "*" || x.event === event);
      if (e !== undefined) return e;
      const left = end - Date.now();
      if (left <= 0) {
        throw new Error(
          `${this.name}: no "${event}" within ${timeoutMs} ms; events ${
            JSON.stringify(this.events)
          }; stderr ${this.stderr}`,
        );
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((r) => {
        this.#waiters.push(r);
        timer = setTimeout(r, Math.min(left, 1000));
      });
      clearTimeout(timer);
    }
  }

  /** Sends a signal to the process (`ip netns exec` execs it, so the pid is the program's). */
  kill(signal: Deno.Signal = "SIGTERM"): void {
    try {
      this.#child.kill(signal);
    } catch {
      // Already exited.
    }
  }

  /**
   * Waits for the process to end by itself within `timeoutMs`; kills it and returns false if it
   * does not (something — a timer, a socket — kept it alive).
   */
  async exited(timeoutMs: number): Promise<boolean> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<false>((r) => (timer = setTimeout(() => r(false), timeoutMs)));
    const ended = await Promise.race([this.status.then(() => true), timedOut]);
    clearTimeout(timer);
    if (!ended) {
      this.kill("SIGKILL");
      await this.status;
    }
    await this.#pumped;
    return ended;
  }
}

/** Remote `addr:port` of each ESTABLISHED TCP connection on local port `port` in `ns`. */
export async function established(ns: string, port: number): Promise<string[]> {
  const out = await new Deno.Command("ip", {
    args: ["netns", "exec", ns, "ss", "-tnH", "state", "established", `( sport = :${port} )`],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(`ss: ${new TextDecoder().decode(out.stderr)}`);
  const lines = new TextDecoder().decode(out.stdout).split("\n").filter((l) => l.trim() !== "");
  // Columns: Recv-Q Send-Q Local:Port Peer:Port (state is filtered, so not shown).
  return lines.map((l) => l.trim().split(/\s+/)[3]);
}

/** `ss -tno` lines (with timers) of the established TCP connections matching `filter` in `ns`. */
export async function socketTimers(ns: string, filter: string): Promise<string[]> {
  const out = await new Deno.Command("ip", {
    args: ["netns", "exec", ns, "ss", "-tnoH", "state", "established", filter],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(`ss: ${new TextDecoder().decode(out.stderr)}`);
  return new TextDecoder().decode(out.stdout).split("\n").filter((l) => l.trim() !== "");
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
