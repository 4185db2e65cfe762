// A fault-injecting test server for retries and hedging (gRFC A6): fails the first N attempts
// with a chosen code (and pushback), delays chosen attempts, and records every attempt it sees
// (request headers incl. grpc-previous-rpc-attempts, the requests, whether it was cancelled).
// One `FaultPlan` may be shared by several servers (round_robin backends): attempts are
// numbered across all of them in order of arrival.

import {
  Code,
  type Codec,
  codeName,
  Metadata,
  type MethodDefinition,
  Server,
  type ServerContext,
  type ServiceDefinition,
  StatusError,
} from "../mod.ts";

export const text: Codec<string> = {
  encode: (s) => new TextEncoder().encode(s),
  decode: (b) => new TextDecoder().decode(b),
};

function method(
  name: string,
  requestStream: boolean,
  responseStream: boolean,
): MethodDefinition<string, string> {
  return {
    name,
    localName: name[0].toLowerCase() + name.slice(1),
    path: `/test.Retry/${name}`,
    requestStream,
    responseStream,
    requestCodec: text,
    responseCodec: text,
  };
}

/** The four RPC kinds of the test service `test.Retry`, string messages. */
export const UNARY = method("Unary", false, false);
export const SERVER_STREAM = method("ServerStream", false, true);
export const CLIENT_STREAM = method("ClientStream", true, false);
export const BIDI = method("Bidi", true, true);
export const RETRY_SERVICE: ServiceDefinition = {
  name: "test.Retry",
  methods: { unary: UNARY, serverStream: SERVER_STREAM, clientStream: CLIENT_STREAM, bidi: BIDI },
};

/** What the server saw of one attempt. */
export interface AttemptRecord {
  /** 0 for the first attempt to arrive (at any server sharing the plan). */
  readonly index: number;
  /** The `grpc-previous-rpc-attempts` request header, if sent. */
  readonly previousAttempts: string | undefined;
  readonly metadata: Metadata;
  /** The attempt's deadline as the server saw it (from grpc-timeout), epoch ms. */
  readonly deadline: number | undefined;
  /** The port of the server that got it. */
  readonly port: number;
  /** Request messages read. */
  readonly requests: string[];
  /** The call's signal aborted (client cancel, RST_STREAM) before the handler finished. */
  cancelled: boolean;
  /** The status this attempt ended with as the handler saw it ("OK" or the code's name). */
  outcome: string | undefined;
  /** Resolves when the handler is done with the attempt. */
  readonly done: Promise<void>;
}

/** How attempts are answered; change fields between calls. */
export class FaultPlan {
  /** Attempts with an index below this fail with `code`. */
  failFirst = 0;
  /** The code failing attempts end with. */
  code: Code = Code.Unavailable;
  /** `grpc-retry-pushback-ms` sent by a failing attempt (by index), if any. */
  pushback: (index: number) => string | undefined = () => undefined;
  /** ms an attempt waits before answering (by index); the wait ends early when cancelled. */
  delayMs: (index: number) => number = () => 0;
  /** Failing attempts send response headers first (they commit the call). */
  headersBeforeFailure = false;
  /** Streaming-request attempts that fail do so at once, before reading any request. */
  failBeforeReading = false;
  /** Every attempt seen, in order of arrival. */
  readonly attempts: AttemptRecord[] = [];
  #waiters: (() => void)[] = [];

  /** Resolves once `n` attempts arrived. */
  async waitForAttempts(n: number): Promise<void> {
    while (this.attempts.length < n) {
      await new Promise<void>((r) => this.#waiters.push(r));
    }
  }

  /** @internal */
  record(ctx: ServerContext, port: number): [AttemptRecord, () => void] {
    let end!: () => void;
    const done = new Promise<void>((r) => (end = r));
    const rec: AttemptRecord = {
      index: this.attempts.length,
      previousAttempts: ctx.metadata.get("grpc-previous-rpc-attempts"),
      metadata: ctx.metadata,
      deadline: ctx.deadline,
      port,
      requests: [],
      cancelled: false,
      outcome: undefined,
      done,
    };
    ctx.signal.addEventListener("abort", () => {
      if (rec.outcome === undefined) rec.cancelled = true;
    }, { once: true });
    this.attempts.push(rec);
    const ws = this.#waiters;
    this.#waiters = [];
    for (const w of ws) w();
    return [rec, end];
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0 || signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}

/** A running fault server on 127.0.0.1; `await using` stops it. */
export interface FaultServer extends AsyncDisposable {
  readonly target: string;
  readonly port: number;
  readonly plan: FaultPlan;
  readonly server: Server;
}

/** Starts a fault server answering by `plan` (a new one when not given). */
export function startFaultServer(plan: FaultPlan = new FaultPlan()): FaultServer {
  const server = new Server();
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;

  // Runs the plan for one attempt: the delay, then the failure (or nothing for success).
  async function answer(rec: AttemptRecord, ctx: ServerContext): Promise<void> {
    await sleep(plan.delayMs(rec.index), ctx.signal);
    if (ctx.signal.aborted) throw new StatusError(Code.Canceled, "cancelled");
    if (rec.index < plan.failFirst) {
      if (plan.headersBeforeFailure) ctx.sendHeader();
      const p = plan.pushback(rec.index);
      if (p !== undefined) ctx.setTrailer(new Metadata({ "grpc-retry-pushback-ms": p }));
      throw new StatusError(plan.code, `injected failure of attempt ${rec.index}`);
    }
  }

  async function run<T>(
    ctx: ServerContext,
    body: (rec: AttemptRecord) => Promise<T>,
  ): Promise<T> {
    const [rec, end] = plan.record(ctx, port);
    try {
      const r = await body(rec);
      rec.outcome = "OK";
      return r;
    } catch (err) {
      rec.outcome = err instanceof StatusError ? codeName(err.code) : "UNKNOWN";
      throw err;
    } finally {
      end();
    }
  }

  server.addService(RETRY_SERVICE, {
    unary: (req: string, ctx: ServerContext) =>
      run(ctx, async (rec) => {
        rec.requests.push(req);
        await answer(rec, ctx);
        return `${req} (attempt ${rec.index})`;
      }),
    serverStream: async function* (req: string, ctx: ServerContext) {
      const out = await run(ctx, async (rec) => {
        rec.requests.push(req);
        await answer(rec, ctx);
        return [`${req} 1 (attempt ${rec.index})`, `${req} 2 (attempt ${rec.index})`];
      });
      yield* out;
    },
    clientStream: (reqs: AsyncIterable<string>, ctx: ServerContext) =>
      run(ctx, async (rec) => {
        if (plan.failBeforeReading && rec.index < plan.failFirst) await answer(rec, ctx);
        for await (const r of reqs) rec.requests.push(r);
        await answer(rec, ctx);
        return `${rec.requests.join(",")} (attempt ${rec.index})`;
      }),
    // Reads every request before answering, so a failing attempt sends no headers.
    bidi: async function* (reqs: AsyncIterable<string>, ctx: ServerContext) {
      const out = await run(ctx, async (rec) => {
        for await (const r of reqs) rec.requests.push(r);
        await answer(rec, ctx);
        return rec.requests.map((r) => `${r} (attempt ${rec.index})`);
      });
      yield* out;
    },
  });
  const serving = server.serve(listener);
  return {
    target: `127.0.0.1:${port}`,
    port,
    plan,
    server,
    async [Symbol.asyncDispose]() {
      await server.stop();
      await serving;
    },
  };
}
