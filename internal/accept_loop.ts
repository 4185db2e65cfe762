// grpc-go Server.Serve's accept loop: on a temporary accept error (too many open files, …) retry
// after 5 ms, doubling to a 1 s cap, reset after a good accept (each retry reported to onRetry,
// which the server logs as grpc-go does: "Accept error: …; retrying in …"); the delay races the quit event so
// stop() ends it at once. A non-temporary error ends the loop with that error, unless quit has
// fired (the listener was closed by stop()), which ends it quietly.

import { delay as stdDelay } from "@std/async/delay";
import type { OnceEvent } from "./event.ts";

/** What the loop needs of a listener (a `Deno.Listener`, or a fake in tests). */
export interface Acceptor<C> {
  accept(): Promise<C>;
}

/** A delay that rejects when `signal` aborts, like `@std/async/delay`. */
export type DelayFn = (ms: number, options: { signal: AbortSignal }) => Promise<void>;

/** grpc-go: the first temporary-error delay. */
export const ACCEPT_BACKOFF_START_MS = 5;
/** grpc-go: the cap on the temporary-error delay. */
export const ACCEPT_BACKOFF_MAX_MS = 1000;

const defaultDelay: DelayFn = stdDelay as DelayFn;

/**
 * Accepts connections until quit fires or a fatal error occurs; hands each to `handle`.
 * Resolves when quit has fired; rejects with the fatal accept error otherwise.
 */
export async function acceptLoop<C>(
  listener: Acceptor<C>,
  handle: (conn: C) => void,
  quit: OnceEvent,
  delay: DelayFn = defaultDelay,
  onRetry?: (err: unknown, delayMs: number) => void,
): Promise<void> {
  let tempDelay = 0;
  while (!quit.hasFired()) {
    let conn: C;
    try {
      conn = await listener.accept();
    } catch (err) {
      if (quit.hasFired()) return;
      if (!isTemporaryAcceptError(err)) throw err;
      tempDelay = tempDelay === 0
        ? ACCEPT_BACKOFF_START_MS
        : Math.min(tempDelay * 2, ACCEPT_BACKOFF_MAX_MS);
      onRetry?.(err, tempDelay);
      try {
        await delay(tempDelay, { signal: quit.signal });
      } catch {
        // quit fired during the delay
      }
      continue;
    }
    tempDelay = 0;
    if (quit.hasFired()) {
      // grpc-go handleRawConn: a connection accepted as the server stops is closed at once.
      (conn as { close?: () => void }).close?.();
      return;
    }
    handle(conn);
  }
}

const TEMPORARY_CODES = new Set([
  "EMFILE",
  "ENFILE",
  "ENOBUFS",
  "ENOMEM",
  "ECONNABORTED",
  "ECONNRESET",
  "EINTR",
  "EAGAIN",
  "EPROTO",
  "EPERM",
]);

/** Whether an accept error is worth retrying (grpc-go: `Temporary()` net errors). */
export function isTemporaryAcceptError(err: unknown): boolean {
  if (err instanceof Deno.errors.BadResource) return false;
  if (
    err instanceof Deno.errors.ConnectionAborted || err instanceof Deno.errors.ConnectionReset ||
    err instanceof Deno.errors.Interrupted || err instanceof Deno.errors.WouldBlock
  ) {
    return true;
  }
  const code = (err as { code?: unknown })?.code;
  if (typeof code === "string" && TEMPORARY_CODES.has(code)) return true;
  const msg = err instanceof Error ? err.message : "";
  return /too many open files|os error 24|os error 23/i.test(msg);
}
