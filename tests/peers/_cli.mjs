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

/**
 * Reads a peer client's flags: the entry of `table` named by flag `key` (`what` names it in
 * errors) and --server_host / --server_port. Exits 2 on bad flags, like the interop clients.
 */
export function parseClientArgs(argv, key, table, what) {
  let flags;
  try {
    flags = parseFlags(argv);
  } catch (err) {
    finish(2, `bad flags: ${err.message}`);
  }
  const name = flags[key];
  const run = table[name];
  if (run === undefined) {
    finish(2, `unknown ${what} ${JSON.stringify(name)}; known: ${Object.keys(table).join(" ")}`);
  }
  const host = flags.server_host ?? "127.0.0.1";
  const port = Number(flags.server_port);
  if (!Number.isInteger(port) || port <= 0 || port > 65535) {
    finish(2, `bad --server_port ${JSON.stringify(flags.server_port)}`);
  }
  const address = host.includes(":") && !host.startsWith("[")
    ? `[${host}]:${port}`
    : `${host}:${port}`;
  return { flags, name, run, address };
}

/**
 * Runs `body` for the case or scenario `name` and exits: `PASS name` (0), or `FAIL name: reason`
 * (1) when it throws (an instance of `Failure` gives its message; anything else its stack) or
 * has no result after `timeoutMs`.
 */
export async function runReported(name, body, timeoutMs, Failure) {
  const timer = setTimeout(() => {
    finish(1, `FAIL ${name}: no result after ${timeoutMs} ms`);
  }, timeoutMs);
  try {
    await body();
  } catch (err) {
    const reason = err instanceof Failure ? err.message : `unexpected error: ${err.stack}`;
    finish(1, `FAIL ${name}: ${reason.replace(/\n/g, " | ")}`);
  }
  clearTimeout(timer);
  finish(0, `PASS ${name}`);
}
