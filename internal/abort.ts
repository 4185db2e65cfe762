// What an abort reason means for a call's status, in one place for both sides and for
// StatusError.from: a deadline (a `TimeoutError`, as `AbortSignal.timeout` gives, or
// `Deno.errors.TimedOut`) is DEADLINE_EXCEEDED; any other reason is a cancellation.

/** Whether an abort reason (or a thrown value) means a deadline passed. */
export function isDeadlineReason(reason: unknown): boolean {
  return (reason instanceof Error || reason instanceof DOMException) &&
    (reason.name === "TimeoutError" || reason instanceof Deno.errors.TimedOut);
}
