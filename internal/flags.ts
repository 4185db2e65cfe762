// Go-style command lines for the bench programs, the interop programs and the CLI: flags
// (`-port 0`, `-port=0`, `--port=0`; std's `parseArgs` reads `-port` as `-p -o -r -t`) and Go
// durations (`5s`, `1m30s`).

/** Parses Go-style flags into a name → value map; a flag without a value maps to "true". */
export function parseGoFlags(args: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (!a.startsWith("-")) continue;
    const body = a.replace(/^--?/, "");
    const eq = body.indexOf("=");
    if (eq >= 0) {
      out.set(body.slice(0, eq), body.slice(eq + 1));
    } else if (i + 1 < args.length && !args[i + 1].startsWith("-")) {
      out.set(body, args[++i]);
    } else {
      out.set(body, "true");
    }
  }
  return out;
}

const DURATION_UNITS_MS: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  "µs": 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/**
 * Reads a Go duration (time.ParseDuration's units: `5s`, `500ms`, `1.5s`, `1m30s`, and `0`) in
 * ms; `undefined` when `text` is not one.
 */
export function parseGoDuration(text: string): number | undefined {
  if (text === "0") return 0;
  const re = /(\d+(?:\.\d+)?|\.\d+)(ns|us|µs|ms|s|m|h)/y;
  let ms = 0;
  let at = 0;
  while (at < text.length) {
    re.lastIndex = at;
    const m = re.exec(text);
    if (m === null) return undefined;
    ms += Number(m[1]) * DURATION_UNITS_MS[m[2]];
    at = re.lastIndex;
  }
  return at === 0 ? undefined : ms;
}
