// Picking a transport for a new call through the balancer's current picker: a READY
// subchannel's transport at once, else the call queues until a new picker (or a subchannel
// change) lets it through; a picker error fails fail-fast calls UNAVAILABLE while
// waitForReady ones keep waiting, and a StatusError from the picker fails every call (grpc-go
// picker_wrapper.go: pick, blocking picks, dropError).

import { Code, StatusError } from "../status.ts";
import type { Metadata } from "../metadata.ts";
import type { ClientTransport } from "../transport/http2_client.ts";
import type { Picker, PickInfo } from "../balancer/balancer.ts";
import { Subchannel } from "./subchannel.ts";

function noop(): void {}

/** A queued pick: a call waiting for a READY transport. */
export interface Waiter {
  readonly waitForReady: boolean;
  readonly info: PickInfo;
  readonly promise: Promise<ClientTransport>;
  resolve(t: ClientTransport): void;
  reject(e: StatusError): void;
}

function newWaiter(waitForReady: boolean, info: PickInfo): Waiter {
  let resolve!: (t: ClientTransport) => void;
  let reject!: (e: StatusError) => void;
  const promise = new Promise<ClientTransport>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(noop);
  return { waitForReady, info, promise, resolve, reject };
}

/** The balancer's picker plus the calls waiting for a better one. grpc-go: pickerWrapper. */
// Errors that end a call unconditionally (gRFC A6: a DROP pick is never retried): a picker's
// own StatusError, a picker that threw, the closed channel. grpc-go: dropError.
const DROPS = new WeakSet<StatusError>();

/** Whether `err` came from a pick that dropped the call (no retry may follow). */
export function isDrop(err: unknown): boolean {
  return err instanceof StatusError && DROPS.has(err);
}

function drop(err: StatusError): StatusError {
  DROPS.add(err);
  return err;
}

export class PickerWrapper {
  #picker: Picker;
  readonly #waiters = new Set<Waiter>();
  #closedError: StatusError | null = null;

  constructor(initial: Picker) {
    this.#picker = initial;
  }

  /** Installs a new picker and retries every queued pick with it. */
  update(picker: Picker): void {
    this.#picker = picker;
    this.retryQueued();
  }

  /** Retries every queued pick (a new picker, or a subchannel became READY). */
  retryQueued(): void {
    if (this.#waiters.size === 0) return;
    for (const w of [...this.#waiters]) {
      let r: ClientTransport | null;
      try {
        r = this.#tryPick(w.waitForReady, w.info);
      } catch (err) {
        this.#waiters.delete(w);
        w.reject(err as StatusError);
        continue;
      }
      if (r !== null) {
        this.#waiters.delete(w);
        w.resolve(r);
      }
    }
  }

  /** The transport the picker gives now, or null (hot path: no promise, no throw). */
  pickNow(method: string, metadata: Metadata | undefined): ClientTransport | null {
    if (this.#closedError !== null) return null;
    let r;
    try {
      r = this.#picker.pick({ method, metadata });
    } catch {
      return null; // the slow path reports it
    }
    return r instanceof Subchannel ? r.readyTransport() : null;
  }

  // One pick: a transport, null to wait, or a throw to fail the call.
  #tryPick(waitForReady: boolean, info: PickInfo): ClientTransport | null {
    if (this.#closedError !== null) throw drop(this.#closedError);
    let r;
    try {
      r = this.#picker.pick(info);
    } catch (err) {
      // A picker that throws (a custom balancer's bug) fails the call, not the process.
      throw drop(new StatusError(Code.Internal, "grpc: the picker failed", { cause: err }));
    }
    if (r === null) return null;
    if (r instanceof Subchannel) return r.readyTransport(); // not READY any more: wait
    if (r instanceof StatusError) throw drop(r); // the balancer dropped the call
    if (r instanceof Error) {
      if (waitForReady) return null;
      throw new StatusError(Code.Unavailable, r.message, { cause: r });
    }
    // A SubConn the channel did not make: a broken balancer.
    throw new StatusError(Code.Internal, "the balancer picked a subchannel of another channel");
  }

  /**
   * A transport for a new stream, or a waiter for one. Throws UNAVAILABLE when the picker
   * fails and the call is not `waitForReady` (grpc-go pick fail-fast).
   */
  pick(
    waitForReady: boolean,
    method: string,
    metadata: Metadata | undefined,
  ): ClientTransport | Waiter {
    const info: PickInfo = { method, metadata };
    const t = this.#tryPick(waitForReady, info);
    if (t !== null) return t;
    const w = newWaiter(waitForReady, info);
    this.#waiters.add(w);
    return w;
  }

  /** The call behind `w` stopped waiting. */
  dropWaiter(w: Waiter): void {
    this.#waiters.delete(w);
  }

  /** Fails every queued pick with `err`; later picks fail with it too. */
  close(err: StatusError): void {
    this.#closedError = drop(err);
    const ws = [...this.#waiters];
    this.#waiters.clear();
    for (const w of ws) w.reject(err);
  }
}
