// Stopping a server from the process's signals: the first SIGINT / SIGTERM drains it (bounded),
// a second one stops it at once (what a user pressing Ctrl-C twice means).

import { checkNonNegative } from "../internal/option_checks.ts";
import type { GracefulStopOptions } from "../server.ts";

/** What {@linkcode stopOnSignals} needs of a server ({@linkcode Server} has both). */
export interface Stoppable {
  /** Drains, bounded by `options`. */
  gracefulStop(options?: GracefulStopOptions): Promise<void>;
  /** Stops now. */
  stop(): Promise<void>;
}

/** Options of {@linkcode stopOnSignals}. */
export interface StopOnSignalsOptions {
  /**
   * The signals that stop the server.
   * @default {["SIGINT", "SIGTERM"]} (`["SIGINT", "SIGBREAK"]` on Windows)
   */
  signals?: readonly Deno.Signal[];
  /**
   * How long the drain may take after the first signal, in ms; then running calls are
   * cancelled and connections closed. A second signal does that at once.
   * @default {10_000}
   */
  timeoutMs?: number;
}

/**
 * Stops `server` on the process's signals: the first one drains it
 * ({@linkcode Server.gracefulStop} bounded by `timeoutMs`), a second one stops it at once
 * ({@linkcode Server.stop}). The listeners are removed once the server has stopped, or when the
 * returned function is called.
 * @param server The server to stop.
 * @param options Which signals, and how long the drain may take.
 * @returns A function that removes the signal listeners.
 * @throws {RangeError} When `timeoutMs` is negative or not a number.
 * @example Serve until Ctrl-C
 * ```ts
 * import { Server, stopOnSignals } from "@seed/grpc";
 * const server = new Server();
 * const serving = server.serve(Deno.listen({ hostname: "127.0.0.1", port: 0 }));
 * const remove = stopOnSignals(server, { timeoutMs: 5_000 });
 * // ... a Ctrl-C would end `serving`; here we stop it ourselves:
 * remove();
 * await server.stop();
 * await serving;
 * ```
 */
export function stopOnSignals(server: Stoppable, options: StopOnSignalsOptions = {}): () => void {
  const timeoutMs = checkNonNegative(
    "Cannot stop on signals",
    "timeoutMs",
    options.timeoutMs,
    10_000,
  );
  const signals = options.signals ??
    (Deno.build.os === "windows" ? ["SIGINT", "SIGBREAK"] : ["SIGINT", "SIGTERM"]);
  let signalled = 0;
  let removed = false;
  const remove = () => {
    if (removed) return;
    removed = true;
    for (const s of signals) Deno.removeSignalListener(s, onSignal);
  };
  const onSignal = () => {
    signalled++;
    if (signalled === 1) server.gracefulStop({ timeoutMs }).then(remove, remove);
    else void server.stop();
  };
  for (const s of signals) Deno.addSignalListener(s, onSignal);
  return remove;
}
