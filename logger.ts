/**
 * The library's logger, after grpc-go's grpclog: three severities, info off by default, warnings
 * and errors to stderr. Servers and channels take one through their `logger` option and use it
 * where they would otherwise swallow an error (a failed TLS handshake, a refused connection).
 *
 * @module
 */

/**
 * Where the library writes what it cannot report to a caller. grpc-go: `grpclog.LoggerV2`
 * (Info, Warning, Error; Fatal is left out: a library never exits the process). Messages are one
 * line, starting `grpc: `.
 *
 * @example A logger that collects warnings in memory
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import type { Logger } from "@seed/grpc";
 * const lines: string[] = [];
 * const logger: Logger = {
 *   info() {},
 *   warning: (m) => lines.push(`W ${m}`),
 *   error: (m) => lines.push(`E ${m}`),
 * };
 * logger.warning("grpc: something happened");
 * assertEquals(lines, ["W grpc: something happened"]);
 * ```
 */
export interface Logger {
  /** Routine events. Off in {@linkcode defaultLogger}. */
  info(message: string): void;
  /** Something went wrong with one peer or one connection; the server or channel carries on. */
  warning(message: string): void;
  /** Something went wrong that affects more than one call. */
  error(message: string): void;
}

/** Levels a {@linkcode consoleLogger} can start at; grpc-go: GRPC_GO_LOG_SEVERITY_LEVEL. */
export type LogLevel = "info" | "warning" | "error" | "none";

const RANK: Record<LogLevel, number> = { info: 0, warning: 1, error: 2, none: 3 };

function noop(_message: string): void {}

/**
 * A logger writing to stderr (`console.error`) every message at `level` or above, each line
 * prefixed with its severity as grpclog does (`WARNING: grpc: …`).
 * @param level The lowest severity written.
 * @returns The logger.
 * @throws {RangeError} When `level` is not one of `info`, `warning`, `error`, `none`.
 * @example Log everything, info included
 * ```ts
 * import { consoleLogger } from "@seed/grpc";
 * const logger = consoleLogger("info");
 * logger.info("grpc: shown on stderr");
 * ```
 */
export function consoleLogger(level: LogLevel = "warning"): Logger {
  const rank = RANK[level];
  if (rank === undefined) {
    throw new RangeError(`Cannot create logger: unknown level ${JSON.stringify(level)}`);
  }
  const at = (min: number, tag: string) =>
    rank <= min ? (m: string) => console.error(`${tag}: ${m}`) : noop;
  return Object.freeze({ info: at(0, "INFO"), warning: at(1, "WARNING"), error: at(2, "ERROR") });
}

/**
 * The logger servers and channels use unless given one: info off, warnings and errors to
 * stderr (grpc-go's default severity).
 * @example Pass it explicitly
 * ```ts
 * import { defaultLogger, Server } from "@seed/grpc";
 * const server = new Server({ logger: defaultLogger });
 * await server.stop();
 * ```
 */
export const defaultLogger: Logger = consoleLogger("warning");

/**
 * A logger that drops everything (tests, or callers who log by other means).
 * @example Silence a server
 * ```ts
 * import { Server, silentLogger } from "@seed/grpc";
 * const server = new Server({ logger: silentLogger });
 * await server.stop();
 * ```
 */
export const silentLogger: Logger = consoleLogger("none");
