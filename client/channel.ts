// The channel behind a ClientConn: one target, its subchannel and picker, the constant request
// headers, the shared deadline timer, and shutdown (grpc-go clientconn.go's ClientConn
// internals; resolver and balancer slot in here).

import { supportedEncodings } from "../compression.ts";
import type { StatusError } from "../status.ts";
import { DeadlineTimers } from "../internal/deadline_timers.ts";
import type { ClientTransport } from "../transport/http2_client.ts";
import type { ConnectivityState } from "./connectivity.ts";
import type { Target } from "./dialer.ts";
import { closingError } from "./errors.ts";
import type { ResolvedDialOptions } from "./options.ts";
import { Picker, type Waiter } from "./picker.ts";
import { Subchannel } from "./subchannel.ts";

/** One target, one connection at a time (grpc-go ClientConn with pick_first). */
export class Channel {
  readonly target: Target;
  readonly opts: ResolvedDialOptions;
  readonly acceptEncoding: string;
  readonly #prefixes = new Map<string, string[]>();
  readonly #subchannel: Subchannel;
  readonly #picker: Picker;
  /** One timer for every call's deadline (internal/deadline_timers.ts explains why). */
  readonly deadlines: DeadlineTimers = new DeadlineTimers();
  #closed = false;
  // Calls in progress: the sockets are ref'd only while there are some (Subchannel).
  #active = 0;

  constructor(target: Target, opts: ResolvedDialOptions) {
    this.target = target;
    this.opts = opts;
    this.acceptEncoding = supportedEncodings();
    this.#subchannel = new Subchannel(target, opts);
    this.#picker = new Picker(this.#subchannel);
  }

  get closed(): boolean {
    return this.#closed;
  }

  get state(): ConnectivityState {
    return this.#subchannel.state;
  }

  callStarted(): void {
    if (this.#active++ === 0) this.#subchannel.setReferenced(true);
  }

  callEnded(): void {
    if (--this.#active === 0) this.#subchannel.setReferenced(false);
  }

  /** The constant request headers of a method (cached; never mutated). */
  headerPrefix(path: string): string[] {
    let p = this.#prefixes.get(path);
    if (p === undefined) {
      p = [
        ":method",
        "POST",
        ":scheme",
        "http",
        ":path",
        path,
        ":authority",
        this.target.authority,
        "content-type",
        "application/grpc",
        "te",
        "trailers",
        "user-agent",
        this.opts.userAgent,
        "grpc-accept-encoding",
        this.acceptEncoding,
      ];
      if (this.#prefixes.size < 10_000) this.#prefixes.set(path, p);
    }
    return p;
  }

  /** The READY transport, or null (hot path: no promise). */
  readyTransport(): ClientTransport | null {
    return this.#subchannel.readyTransport();
  }

  /** See {@linkcode Picker.pick}. */
  pick(waitForReady: boolean): ClientTransport | Waiter {
    return this.#picker.pick(waitForReady);
  }

  /** The call behind `w` stopped waiting for a transport. */
  dropWaiter(w: Waiter): void {
    this.#picker.dropWaiter(w);
  }

  /** grpc-go ClientConn.Connect: leave IDLE now. */
  connect(): void {
    this.#subchannel.connect();
  }

  /** The transport `t` refused a new stream (draining): forget it. */
  forgetTransport(t: ClientTransport): void {
    this.#subchannel.lost(t);
  }

  /** Resolves once READY (`dial({ block })`). */
  waitForReadyState(signal: AbortSignal | undefined, failFast: boolean): Promise<void> {
    return this.#picker.waitForReadyState(signal, failFast);
  }

  /** Closes: queued and later calls fail CANCELLED, every transport closes. */
  async close(): Promise<void> {
    const err: StatusError = closingError();
    if (!this.#closed) {
      this.#closed = true;
      this.deadlines.clear();
      this.#picker.close(err);
    }
    await this.#subchannel.shutdown(err);
  }
}
