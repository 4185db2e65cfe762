// For the runnable servers (examples, bench, interop): stop gracefully on SIGINT / SIGTERM, and
// forcibly if the drain takes longer than `forceAfterMs` (the bench harness kills after 3 s).

/** What stopOnSignals needs of a server. */
export interface Stoppable {
  gracefulStop(): Promise<void>;
  stop(): Promise<void>;
}

/** Registers signal handlers that drain `server`, then stop it outright after `forceAfterMs`. */
export function stopOnSignals(
  server: Stoppable,
  signals: readonly Deno.Signal[] = ["SIGINT", "SIGTERM"],
  forceAfterMs = 2000,
): void {
  let stopping = false;
  const onSignal = () => {
    if (stopping) return;
    stopping = true;
    const force = setTimeout(() => void server.stop(), forceAfterMs);
    server.gracefulStop().finally(() => {
      clearTimeout(force);
      for (const s of signals) Deno.removeSignalListener(s, onSignal);
    });
  };
  for (const s of signals) Deno.addSignalListener(s, onSignal);
}
