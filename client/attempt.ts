// One attempt of a call: pick a transport (waiting for a connection or a stream slot when
// needed) and open its stream; the call (client/call.ts) replays its requests on it and decides
// what follows its end (grpc-go stream.go: csAttempt, getTransport, newStream).

import { Code, StatusError } from "../status.ts";
import {
  ClientTransport,
  ClientTransportStream,
  TransportDrainingError,
} from "../transport/http2_client.ts";
import { ErrorCode } from "../transport/frame.ts";
import type { Channel } from "./channel.ts";
import { isDrop } from "./picker.ts";
import type { Metadata } from "../metadata.ts";

/** Opening retries of one attempt on transports that went away before its stream existed. */
const MAX_OPEN_RETRIES = 10;

function noop(): void {}

/** What an attempt needs from its call. */
export interface AttemptHost {
  readonly channel: Channel;
  readonly waitForReady: boolean;
  readonly maxReceiveMessageSize: number;
  /** The call's deadline (epoch ms; Infinity for none): the transport writes grpc-timeout. */
  readonly deadline: number;
  /** The method's path and the call's metadata (for the balancer's pick). */
  readonly path: string;
  readonly metadata: Metadata | undefined;
  /** The call's error once it has ended (then the attempt gives up), else null. */
  readonly endedWith: StatusError | null;
  /** The request headers of attempt `a` (with grpc-previous-rpc-attempts when > 0). */
  requestHeaders(a: Attempt): string[];
  /** Whether the call has call credentials (then every attempt opens asynchronously). */
  readonly hasCallCredentials: boolean;
  /** Runs the call credentials for one attempt: their metadata as flat pairs. */
  callCredentialHeaders(signal: AbortSignal): Promise<string[]>;
  /** The attempt's stream is open: replay the requests on it and watch its end. */
  attached(a: Attempt, s: ClientTransportStream): void;
  /** The attempt could not open a stream (`a.openError`; not called once the call ended). */
  openFailed(a: Attempt): void;
}

/** One attempt (grpc-go csAttempt): at most one transport stream. */
export class Attempt {
  readonly #host: AttemptHost;
  /** Attempts of the call before this one (grpc-previous-rpc-attempts; 0 sends none). */
  readonly previous: number;
  /** The stream, once open. */
  stream: ClientTransportStream | null = null;
  /** Settles when the stream is open (or opening failed); null once attached. */
  opening: Promise<ClientTransportStream> | null = null;
  /** Ended: failed, cancelled, or discarded in favour of another attempt. */
  ended = false;
  /** Why opening the stream failed (then `stream` stays null). */
  openError: StatusError | null = null;
  /** The pick dropped the call: it ends with `openError`, never retried (gRFC A6). */
  dropped = false;
  /** This attempt's call credentials metadata (flat pairs), once they have run. */
  credHeaders: string[] | undefined;
  #abortHook: ((err: StatusError) => void) | null = null;
  #openRetries = 0;

  constructor(host: AttemptHost, previous: number) {
    this.#host = host;
    this.previous = previous;
  }

  /**
   * Opens the stream: synchronously on the hot path (a READY transport with a free slot, no call
   * credentials to run).
   */
  start(): void {
    const host = this.#host;
    if (host.hasCallCredentials) {
      this.#startOpen(undefined, undefined);
      return;
    }
    const t = host.channel.readyTransport(host.path, host.metadata);
    if (t !== null) {
      let r: ClientTransportStream | Promise<ClientTransportStream> | undefined;
      try {
        r = t.newStream(
          this.#host.requestHeaders(this),
          this.#host.maxReceiveMessageSize,
          this.#host.deadline,
        );
      } catch {
        // Draining or closed since: the slow path below picks another transport.
      }
      if (r instanceof ClientTransportStream) {
        this.#attach(r);
        return;
      }
      if (r !== undefined) {
        this.#startOpen(t, r);
        return;
      }
    }
    this.#startOpen(undefined, undefined);
  }

  /** Ends the attempt: RST_STREAM CANCEL if its stream is open, else stops waiting. */
  cancel(err: StatusError): void {
    if (this.ended) return;
    this.ended = true;
    const s = this.stream;
    if (s !== null) s.cancel(err, ErrorCode.CANCEL);
    const h = this.#abortHook;
    if (h !== null) {
      this.#abortHook = null;
      h(err);
    }
  }

  #attach(s: ClientTransportStream): void {
    this.stream = s;
    this.opening = null;
    this.#host.attached(this, s);
  }

  #startOpen(
    t: ClientTransport | undefined,
    wait: Promise<ClientTransportStream> | undefined,
  ): void {
    const p = this.#openAsync(t, wait);
    // Failures reach the call through openFailed; this copy must not go unhandled.
    p.catch(noop);
    // #openAsync may have attached synchronously (and cleared `opening`) before returning.
    if (this.stream === null) this.opening = p;
  }

  // The call ended, or this attempt was discarded: the error to stop with, else null.
  #stopped(): StatusError | null {
    const e = this.#host.endedWith;
    if (e !== null) return e;
    return this.ended ? new StatusError(Code.Canceled, "Attempt discarded") : null;
  }

  /**
   * Opens the attempt's stream, waiting for a connection or a stream slot when needed. `wait`
   * is a slot wait `pendingOn` already gave.
   */
  async #openAsync(
    pendingOn: ClientTransport | undefined,
    wait: Promise<ClientTransportStream> | undefined,
  ): Promise<ClientTransportStream> {
    const host = this.#host;
    const ch = host.channel;
    try {
      for (;;) {
        let stop = this.#stopped();
        if (stop !== null) throw stop;
        let r = wait;
        let t = pendingOn;
        wait = pendingOn = undefined;
        if (r === undefined || t === undefined) {
          const picked = ch.pick(host.waitForReady, host.path, host.metadata);
          if (picked instanceof ClientTransport) {
            t = picked;
          } else {
            const w = picked;
            this.#abortHook = (err) => {
              ch.dropWaiter(w);
              w.reject(err);
            };
            t = await w.promise;
            this.#abortHook = null;
          }
          stop = this.#stopped();
          if (stop !== null) throw stop;
          if (host.hasCallCredentials && this.credHeaders === undefined) {
            // grpc-go runs PerRPCCredentials per attempt, once it has a transport (fresh tokens
            // for retries and hedges; none fetched while waiting for a connection).
            this.credHeaders = await this.#runCallCredentials();
            stop = this.#stopped();
            if (stop !== null) throw stop;
          }
          try {
            const s = t.newStream(
              host.requestHeaders(this),
              host.maxReceiveMessageSize,
              host.deadline,
            );
            if (s instanceof ClientTransportStream) {
              this.#attach(s);
              return s;
            }
            r = s;
          } catch (err) {
            if (this.#retryOpen(t, err)) continue;
            throw err;
          }
        }
        // Waiting for a MAX_CONCURRENT_STREAMS slot. Cancelling the attempt withdraws the
        // wait, so no stream is ever opened for it (opening and resetting it would count
        // against the server's rapid-reset budget).
        const slot = r, on = t;
        let s: ClientTransportStream;
        try {
          this.#abortHook = (err) => void on.withdraw(slot, err);
          s = await slot;
        } catch (err) {
          stop = this.#stopped();
          if (stop !== null) throw stop;
          // The transport went away (GOAWAY, closed) before the stream existed: nothing was
          // sent, so try again elsewhere. (Otherwise the deadline passed while waiting.)
          if (this.#retryOpen(on, err)) continue;
          throw err;
        } finally {
          this.#abortHook = null;
        }
        stop = this.#stopped();
        if (stop !== null) {
          // Granted just before the attempt ended (the wait was already over).
          s.cancel(stop, ErrorCode.CANCEL);
          throw stop;
        }
        this.#attach(s);
        return s;
      }
    } catch (err) {
      let e = StatusError.from(err);
      const dropped = isDrop(err);
      if (host.endedWith === null && !this.ended) {
        if (ch.closed && e.code === Code.Unavailable) {
          e = new StatusError(Code.Canceled, "grpc: the client connection is closing", {
            cause: e,
          });
        }
        this.ended = true;
        this.openError = e;
        this.dropped = dropped;
        host.openFailed(this);
      }
      throw e;
    }
  }

  // The call credentials for this attempt; cancel() aborts their signal and stops the wait.
  #runCallCredentials(): Promise<string[]> {
    const ac = new AbortController();
    return new Promise<string[]>((resolve, reject) => {
      this.#abortHook = (err) => {
        ac.abort(err);
        reject(err);
      };
      this.#host.callCredentialHeaders(ac.signal).then(resolve, reject);
    }).finally(() => this.#abortHook = null);
  }

  // newStream failed before anything was sent: retry elsewhere if the transport is going away.
  #retryOpen(t: ClientTransport, err: unknown): boolean {
    if (!(err instanceof TransportDrainingError) && !t.isClosed) return false;
    this.#host.channel.forgetTransport(t);
    return ++this.#openRetries < MAX_OPEN_RETRIES;
  }
}
