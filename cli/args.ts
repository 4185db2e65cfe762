// The CLI's command line: a verb, positionals, and flags anywhere (before or after the
// positionals), some repeatable. Bad usage throws UsageError.

/** A command line that cannot be run; the CLI prints it with the help hint. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** Everything the command line says. */
export interface CliArgs {
  verb: "list" | "describe" | "call" | "health" | "help";
  /** The positionals after the verb: ADDR, then the verb's own. */
  positionals: string[];
  /** `-d`/`--data`: JSON text, or `"@"` for JSON lines on stdin. */
  data?: string;
  /** `-H`/`--header` values, `"key: value"`, in order. */
  headers: string[];
  /** `-I`/`--import-path` directories, in order. */
  importPaths: string[];
  /** `--proto` files, in order; reflection is used when there are none. */
  protos: string[];
  /** `--plaintext`: no TLS. */
  plaintext: boolean;
  /** `--deadline`, in ms. */
  deadlineMs?: number;
  /** `--cacert`: PEM file of the CA(s) to trust instead of Deno's default roots. */
  cacert?: string;
  /** `--cert`: PEM file of a client certificate chain (mutual TLS; needs `key`). */
  cert?: string;
  /** `--key`: PEM file of the client certificate's private key. */
  key?: string;
  /** `--servername`: the name checked in the server's certificate and sent as SNI. */
  servername?: string;
  /** `--service-config`: the channel's default service config (JSON text, or `@file`). */
  serviceConfig?: string;
}

const VERBS = new Set(["list", "describe", "call", "health", "help"]);

// Flags that take a value, by every spelling, → the field they fill.
const VALUE_FLAGS: Record<
  string,
  | "data"
  | "headers"
  | "importPaths"
  | "protos"
  | "deadline"
  | "cacert"
  | "cert"
  | "key"
  | "servername"
  | "serviceConfig"
> = {
  "-d": "data",
  "--data": "data",
  "-H": "headers",
  "--header": "headers",
  "-I": "importPaths",
  "--import-path": "importPaths",
  "--proto": "protos",
  "--deadline": "deadline",
  "--cacert": "cacert",
  "--cert": "cert",
  "--key": "key",
  "--servername": "servername",
  "--service-config": "serviceConfig",
};

/**
 * Parses `argv` (without the program name).
 * @throws {UsageError} Unknown verb or flag, a flag without its value, a bad duration.
 */
export function parseArgs(argv: readonly string[]): CliArgs {
  const args: CliArgs = {
    verb: "help",
    positionals: [],
    headers: [],
    importPaths: [],
    protos: [],
    plaintext: false,
  };
  const rest: string[] = [];
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--") {
      rest.push(...argv.slice(i + 1));
      break;
    }
    if (arg === "-h" || arg === "--help") {
      help = true;
      continue;
    }
    if (arg === "--plaintext") {
      args.plaintext = true;
      continue;
    }
    if (arg.startsWith("-") && arg !== "-") {
      const eq = arg.indexOf("=");
      const name = eq > 0 ? arg.slice(0, eq) : arg;
      const field = VALUE_FLAGS[name];
      if (field === undefined) throw new UsageError(`unknown flag ${name}`);
      let value: string;
      if (eq > 0) value = arg.slice(eq + 1);
      else if (i + 1 < argv.length) value = argv[++i];
      else throw new UsageError(`flag ${name} needs a value`);
      if (field === "data") {
        if (args.data !== undefined) throw new UsageError("flag -d given twice");
        args.data = value;
      } else if (field === "deadline") {
        args.deadlineMs = parseDuration(value);
      } else if (field === "headers" || field === "importPaths" || field === "protos") {
        args[field].push(value);
      } else {
        if (args[field] !== undefined) throw new UsageError(`flag ${name} given twice`);
        args[field] = value;
      }
      continue;
    }
    rest.push(arg);
  }
  if (help || rest.length === 0) return { ...args, verb: "help", positionals: rest };
  const verb = rest[0];
  if (!VERBS.has(verb)) throw new UsageError(`unknown verb "${verb}"`);
  args.verb = verb as CliArgs["verb"];
  args.positionals = rest.slice(1);
  return args;
}

const UNITS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  "µs": 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/**
 * Parses a Go-style duration (`5s`, `500ms`, `1m30s`, `1.5s`) into ms.
 * @throws {UsageError} Not a positive duration.
 */
export function parseDuration(text: string): number {
  const re = /(\d+(?:\.\d+)?|\.\d+)(ns|us|µs|ms|s|m|h)/y;
  let ms = 0;
  let at = 0;
  while (at < text.length) {
    re.lastIndex = at;
    const m = re.exec(text);
    if (m === null) break;
    ms += Number(m[1]) * UNITS[m[2]];
    at = re.lastIndex;
  }
  if (text === "" || at !== text.length || !(ms > 0)) {
    throw new UsageError(`bad duration "${text}" (examples: 5s, 500ms, 1m30s)`);
  }
  return ms;
}
