// The text of a thrown value, for status messages and logs.

import { StatusError } from "../status.ts";

/** An error's message, or the value as text. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** A cause as text inside a status message: a StatusError's own message, else errorMessage. */
export function errorText(err: unknown): string {
  return err instanceof StatusError ? err.rawMessage : errorMessage(err);
}

/** An error with its stack (for logs: where a handler failed), or the value as text. */
export function errorStack(err: unknown): string {
  if (err instanceof Error) return err.stack ?? `${err.name}: ${err.message}`;
  return String(err);
}
