// The text of a thrown value, for status messages and logs.

/** An error's message, or the value as text. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
