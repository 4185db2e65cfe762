// A one-time event. grpc-go: internal/grpcsync/event.go (Event: Fire, Done, HasFired).
//
// Go closes a channel; here the waiters are an AbortSignal (for APIs that take a signal, such as
// delay() or a pending read) and a Promise (for `await`). Both are created only when first asked
// for, so an event nobody waits on costs one object and a boolean.

/**
 * An event that happens at most once. The server keeps two: `quit` (fired when shutdown starts)
 * and `done` (fired when teardown ends).
 */
export class OnceEvent {
  #fired = false;
  #controller: AbortController | undefined;
  #done: Promise<void> | undefined;
  #resolve: (() => void) | undefined;

  /**
   * Fires the event; safe to call repeatedly.
   * Returns true only for the call that fired it (grpc-go: Event.Fire).
   */
  fire(): boolean {
    if (this.#fired) return false;
    this.#fired = true;
    // The reason is made once per event, only if someone holds the signal.
    this.#controller?.abort(abortReason());
    this.#resolve?.();
    this.#resolve = undefined;
    return true;
  }

  /** Reports whether fire() has been called: a plain boolean for loops and per-frame code. */
  hasFired(): boolean {
    return this.#fired;
  }

  /** An AbortSignal that aborts (with an "AbortError" DOMException) when the event fires. */
  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#fired) this.#controller.abort(abortReason());
    }
    return this.#controller.signal;
  }

  /** A promise resolved when the event fires (grpc-go: Event.Done). Never rejects. */
  get done(): Promise<void> {
    if (this.#done === undefined) {
      if (this.#fired) {
        this.#done = Promise.resolve();
      } else {
        this.#done = new Promise<void>((resolve) => {
          this.#resolve = resolve;
        });
      }
    }
    return this.#done;
  }
}

function abortReason(): DOMException {
  return new DOMException("The event has fired", "AbortError");
}
