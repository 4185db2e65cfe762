// Command-line helpers shared by the grpc-js peer clients.

/** Parses `--name=value` and `--name value` flags; throws on anything else. */
export function parseFlags(argv) {
  const flags = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith("--")) {
      throw new Error(`unexpected argument ${JSON.stringify(arg)}`);
    }
    const eq = arg.indexOf("=");
    if (eq >= 0) {
      flags[arg.slice(2, eq)] = arg.slice(eq + 1);
    } else {
      if (i + 1 >= argv.length) throw new Error(`flag ${arg} needs a value`);
      flags[arg.slice(2)] = argv[++i];
    }
  }
  return flags;
}

/** Prints `line` as the last stdout line and exits with `code`. */
export function finish(code, line) {
  process.stdout.write(`${line}\n`);
  process.exit(code);
}
