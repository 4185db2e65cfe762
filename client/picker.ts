// Picking a transport for a new call: the READY one at once, else the call queues until the
// subchannel connects; fail-fast calls fail UNAVAILABLE in TRANSIENT_FAILURE, waitForReady ones
// keep waiting (grpc-go picker_wrapper.go: pick, blocking picks, waitForReady).

import { Code, StatusError } from "../status.ts";
import { isDeadlineReason } from "../internal/abort.ts";
import { ClientTransport } from "../transport/http2_client.ts";
import { closingError } from "./errors.ts";
import type { Subchannel, SubchannelListener } from "./subchannel.ts";

const RESOLVED: Promise<void> = Promise.resolve();

function noop(): void {}

/** A queued pick: a call waiting for a READY transport. */
export interface Waiter {
  readonly waitForReady: boolean;
  readonly promise: Promise<ClientTransport>;
  resolve(t: ClientTransport): void;
  reject(e: StatusError): void;
}

function newWaiter(waitForReady: boolean): Waiter {
  let resolve!: (t: ClientTransport) => void;
  let reject!: (e: StatusError) => void;
  const promise = new Promise<ClientTransport>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(noop);
  return { waitForReady, promise, resolve, reject };
}

/** Picks over one subchannel, queueing calls while it connects. */
export class Picker implements SubchannelListener {
  readonly #sc: Subchannel;
  readonly #waiters = new Set<Waiter>();
  #closed = false;

  constructor(sc: Subchannel) {
    this.#sc = sc;
    sc.listener = this;
  }

  /**
   * A transport for a new stream: the READY one, or a waiter for the next one. Throws
   * UNAVAILABLE in TRANSIENT_FAILURE unless `waitForReady` (grpc-go pick fail-fast).
   */
  pick(waitForReady: boolean): ClientTransport | Waiter {
    if (this.#closed) throw closingError();
    const sc = this.#sc;
    const t = sc.currentTransport();
    if (t !== null) return t;
    sc.exitIdle();
    if (sc.inTransientFailure && !waitForReady) {
      const last = sc.lastError;
      throw new StatusError(
        Code.Unavailable,
        last?.rawMessage ?? "Connection in TRANSIENT_FAILURE",
        { cause: last ?? undefined },
      );
    }
    const w = newWaiter(waitForReady);
    this.#waiters.add(w);
    if (sc.inTransientFailure) sc.scheduleRetry();
    return w;
  }

  /** The call behind `w` stopped waiting. */
  dropWaiter(w: Waiter): void {
    this.#waiters.delete(w);
    if (this.#waiters.size === 0) this.#sc.cancelRetry();
  }

  /** Resolves once the channel is READY (`dial({ block })`); rejects as a pick would. */
  waitForReadyState(signal: AbortSignal | undefined, failFast: boolean): Promise<void> {
    if (this.#closed) return Promise.reject(closingError());
    if (this.#sc.readyTransport() !== null) return RESOLVED;
    let w: Waiter;
    try {
      const p = this.pick(!failFast);
      if (p instanceof ClientTransport) return RESOLVED;
      w = p;
    } catch (err) {
      return Promise.reject(err);
    }
    if (signal === undefined) return w.promise.then(noop);
    const onAbort = () => {
      this.dropWaiter(w);
      const reason = signal.reason;
      const lastError = this.#sc.lastError;
      const last = lastError ? `; last error: ${lastError.rawMessage}` : "";
      const timeout = isDeadlineReason(reason);
      w.reject(
        new StatusError(
          timeout ? Code.DeadlineExceeded : Code.Canceled,
          `${timeout ? "Deadline exceeded" : "Cancelled"} while connecting${last}`,
          { cause: reason },
        ),
      );
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
    return w.promise.then(
      () => signal.removeEventListener("abort", onAbort),
      (err) => {
        signal.removeEventListener("abort", onAbort);
        throw err;
      },
    );
  }

  /** Fails every queued pick with `err`; later picks fail with the closing error. */
  close(err: StatusError): void {
    this.#closed = true;
    const ws = [...this.#waiters];
    this.#waiters.clear();
    for (const w of ws) w.reject(err);
  }

  // ---- SubchannelListener ------------------------------------------------------------------

  /** The subchannel is READY: every queued pick gets `t`. */
  onReady(t: ClientTransport): void {
    const ws = [...this.#waiters];
    this.#waiters.clear();
    for (const w of ws) w.resolve(t);
  }

  /** The attempt failed: fail-fast picks fail now; waitForReady ones wait for the retry. */
  onFailure(e: StatusError): void {
    for (const w of [...this.#waiters]) {
      if (!w.waitForReady) {
        this.#waiters.delete(w);
        w.reject(new StatusError(Code.Unavailable, e.rawMessage, { cause: e }));
      }
    }
    if (this.#waiters.size > 0) this.#sc.scheduleRetry();
  }

  /** Whether calls wait for a connection. */
  hasWaiting(): boolean {
    return this.#waiters.size > 0;
  }
}
