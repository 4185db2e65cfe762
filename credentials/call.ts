/**
 * Per-call credentials: metadata (a bearer token, an API key) computed for each call and sent
 * with its headers. grpc-go: `credentials.PerRPCCredentials`; grpc-js: `CallCredentials`.
 *
 * @module
 */

import { Metadata, type MetadataInit } from "../metadata.ts";
import { Code, StatusError } from "../status.ts";

/** What a call credentials function learns about the call. */
export interface CallCredentialsContext {
  /** `https://<authority>/<package.Service>` (grpc-go's `uri` in GetRequestMetadata). */
  readonly serviceUrl: string;
  /** The method's name, e.g. `SayHello`. */
  readonly methodName: string;
  /** Aborts when the call is cancelled or its deadline passes. */
  readonly signal: AbortSignal;
}

/** Produces the metadata to add to one call. */
export type CallCredentialsFunction = (
  context: CallCredentialsContext,
) => Metadata | MetadataInit | Promise<Metadata | MetadataInit>;

/** Options of {@linkcode callCredentials}. */
export interface CallCredentialsOptions {
  /**
   * Send this metadata over plaintext channels too. Without it, a call on an insecure channel
   * fails UNAUTHENTICATED before anything is sent, as grpc-go does (`RequireTransportSecurity`).
   * @default {false}
   */
  allowInsecure?: boolean;
}

// gRFC A54: codes a control plane (here, a credentials plugin) must not produce; they become
// INTERNAL so a client never mistakes a credentials problem for the server's answer.
const A54_RESTRICTED = new Set<number>([
  Code.InvalidArgument,
  Code.NotFound,
  Code.AlreadyExists,
  Code.FailedPrecondition,
  Code.Aborted,
  Code.OutOfRange,
  Code.DataLoss,
]);

/**
 * Credentials attached to a channel (`DialOptions.callCredentials`) or to one call
 * (`CallOptions.callCredentials`); both apply, the channel's first. Make them with
 * {@linkcode callCredentials}, combine them with {@linkcode CallCredentials.compose}.
 */
export class CallCredentials {
  readonly #fns: readonly CallCredentialsFunction[];
  readonly #allowInsecure: boolean;

  /**
   * Use {@linkcode callCredentials} to make one.
   * @param fns The functions, run in order.
   * @param allowInsecure Whether they may be sent over plaintext.
   */
  constructor(fns: readonly CallCredentialsFunction[], allowInsecure: boolean) {
    for (const f of fns) {
      if (typeof f !== "function") {
        throw new TypeError("Cannot create call credentials: expected a function");
      }
    }
    this.#fns = Object.freeze([...fns]);
    this.#allowInsecure = allowInsecure;
  }

  /** Whether this metadata may travel over plaintext channels. */
  get allowInsecure(): boolean {
    return this.#allowInsecure;
  }

  /**
   * These credentials followed by `others`: every function runs, their metadata is merged. The
   * result allows insecure channels only if all parts do. grpc-js: `CallCredentials.compose`.
   * @param others More credentials.
   * @returns The combination.
   * @example Two headers from two sources
   * ```ts
   * import { callCredentials } from "@seed/grpc";
   * const both = callCredentials(() => ({ authorization: "Bearer t" }))
   *   .compose(callCredentials(() => ({ "x-api-key": "k" })));
   * ```
   */
  compose(...others: CallCredentials[]): CallCredentials {
    let allow = this.#allowInsecure;
    const fns = [...this.#fns];
    for (const o of others) {
      if (!(o instanceof CallCredentials)) {
        throw new TypeError("Cannot compose call credentials: expected CallCredentials");
      }
      allow &&= o.#allowInsecure;
      fns.push(...o.#fns);
    }
    return new CallCredentials(fns, allow);
  }

  /**
   * @internal Runs the functions for one call; the metadata as flat header pairs.
   * @throws {StatusError} UNAUTHENTICATED on an insecure channel unless allowed; a function's
   * `StatusError` (INTERNAL for gRFC A54's restricted codes); UNAVAILABLE for any other error.
   */
  async headersFor(ctx: CallCredentialsContext, secure: boolean): Promise<string[]> {
    if (!secure && !this.#allowInsecure) {
      throw new StatusError(
        Code.Unauthenticated,
        "transport: cannot send secure credentials on an insecure connection",
      );
    }
    const out: string[] = [];
    for (const fn of this.#fns) {
      let md: Metadata | MetadataInit;
      try {
        md = await fn(ctx);
      } catch (err) {
        throw credentialsError(err, ctx.signal);
      }
      try {
        (md instanceof Metadata ? md : new Metadata(md)).appendTo(out);
      } catch (err) {
        throw new StatusError(
          Code.Internal,
          `Cannot use call credentials metadata: ${err instanceof Error ? err.message : err}`,
          { cause: err },
        );
      }
    }
    return out;
  }
}

function credentialsError(err: unknown, signal: AbortSignal): StatusError {
  if (signal.aborted) return StatusError.from(signal.reason);
  if (err instanceof StatusError) {
    if (!A54_RESTRICTED.has(err.code)) return err;
    return new StatusError(
      Code.Internal,
      `call credentials returned illegal status code ${err.code}: ${err.rawMessage}`,
      { cause: err },
    );
  }
  const msg = err instanceof Error ? err.message : String(err);
  return new StatusError(Code.Unavailable, `call credentials failed: ${msg}`, { cause: err });
}

/**
 * Per-call credentials from a function returning metadata, run before each call is sent.
 * Refused on insecure channels unless `allowInsecure`. A function that throws fails the call
 * UNAVAILABLE with its message; a `StatusError` it throws keeps its code, except gRFC A54's
 * restricted codes (INVALID_ARGUMENT, NOT_FOUND, ALREADY_EXISTS, FAILED_PRECONDITION, ABORTED,
 * OUT_OF_RANGE, DATA_LOSS), which become INTERNAL. grpc-go: `credentials.PerRPCCredentials`,
 * `grpc.WithPerRPCCredentials`, `grpc.PerRPCCredentials` (call option).
 * @param fn Returns the metadata for a call.
 * @param options `allowInsecure`.
 * @returns The credentials, for `DialOptions.callCredentials` or `CallOptions.callCredentials`.
 * @example A bearer token on every call of a channel (ignored: needs a TLS server)
 * ```ts ignore
 * import { callCredentials, newClient, tls } from "@seed/grpc";
 * const conn = newClient("api.example.com:443", {
 *   credentials: tls(),
 *   callCredentials: callCredentials(async () => ({ authorization: `Bearer ${await token()}` })),
 * });
 * declare function token(): Promise<string>;
 * ```
 */
export function callCredentials(
  fn: CallCredentialsFunction,
  options: CallCredentialsOptions = {},
): CallCredentials {
  return new CallCredentials([fn], options.allowInsecure === true);
}
