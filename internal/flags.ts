// Go-style command-line flags (`-port 0`, `-port=0`, `--port=0`) for the bench programs and
// examples: `parseArgs` from std reads `-port` as `-p -o -r -t`, so we read them ourselves.

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
