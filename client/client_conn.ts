// The ClientConn facade: the public virtual connection (newClient, dial, invoke, newStream,
// close), with its interceptor chains over the channel (grpc-go clientconn.go's ClientConn,
// dialoptions' interceptors, call.go's invoke).

import { withCallerFrames } from "../internal/caller_frames.ts";
import type { MethodDefinition } from "../codec.ts";
import { Call } from "./call.ts";
import { Channel } from "./channel.ts";
import type { ConnectivityState } from "./connectivity.ts";
import type {
  StreamClientInterceptor,
  Streamer,
  UnaryClientInterceptor,
  UnaryInvoker,
} from "./interceptors.ts";
import { chainInterceptors } from "../internal/chain.ts";
import {
  type CallOptions,
  type DialOptions,
  forInterceptors,
  mergeCallOptions,
  resolveDialOptions,
} from "./options.ts";
import type { ClientStream } from "./stream.ts";

// dial() and createClient() reach a ClientConn's channel through this (set by its static block).
let channelOfConn: (conn: ClientConn) => Channel;

/** The channel behind `conn` (for dial and the stub factory). */
export function channelOf(conn: ClientConn): Channel {
  return channelOfConn(conn);
}

async function invokeCore<Req, Res>(
  ch: Channel,
  method: MethodDefinition<Req, Res>,
  request: Req,
  options: CallOptions | undefined,
): Promise<Res> {
  const call = new Call(ch, method, options);
  try {
    await call.sendLast(request);
  } catch {
    // The call's status comes from receiving (grpc-go invoke ignores SendMsg's io.EOF).
  }
  try {
    return await call.recvUnary();
  } catch (err) {
    throw withCallerFrames(err); // so the caller's line is in the stack
  }
}

/**
 * A virtual connection to one target (grpc-go: `ClientConn`): it connects lazily, reconnects
 * with backoff, and carries every call. Make one with {@linkcode newClient} or
 * {@linkcode dial}; close it with `close()` or `await using`.
 *
 * @example Unary call with the low-level API
 * ```ts
 * import { dial, loadProto, Server } from "@seed/grpc";
 * import { assertEquals } from "@std/assert";
 *
 * const services = await loadProto({
 *   source: `syntax = "proto3"; package demo;
 *     service Echo { rpc Say (Msg) returns (Msg); } message Msg { string text = 1; }`,
 * });
 * const echo = services["demo.Echo"];
 * const server = new Server();
 * server.addService(echo, { say: (req: { text: string }) => req });
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const serving = server.serve(listener);
 *
 * await using conn = await dial(`127.0.0.1:${listener.addr.port}`, { block: true });
 * assertEquals(await conn.invoke(echo.methods.say, { text: "hi" }), { text: "hi" });
 *
 * await conn.close();
 * await server.gracefulStop();
 * await serving;
 * ```
 */
export class ClientConn implements AsyncDisposable {
  readonly #target: string;
  readonly #ch: Channel;
  readonly #defaults: CallOptions | undefined;
  readonly #unary: UnaryInvoker | null;
  readonly #streamer: Streamer | null;

  /**
   * Creates a connection object without connecting; prefer {@linkcode newClient}.
   *
   * @param target A target URI (gRFC A5): `host:port` or `dns:[//nameserver/]host[:port]`
   *   (the default scheme), `ipv4:a:p,b:p`, `ipv6:[a]:p,…`, `unix:path`, `unix:///abs/path`,
   *   `unix-abstract:name`, `passthrough:///host:port`, or a scheme given to
   *   {@linkcode registerResolver} or {@linkcode DialOptions.resolvers}.
   * @param options Dial options.
   * @throws {TypeError} The target can't be parsed, an option has the wrong type, or the
   *   `defaultServiceConfig` is invalid (the message names the field).
   * @throws {RangeError} An option is out of range, or names an unknown compression.
   */
  constructor(target: string, options?: DialOptions) {
    const opts = resolveDialOptions(options);
    this.#target = target;
    this.#ch = new Channel(target, opts);
    this.#defaults = opts.defaultCallOptions;
    const ch = this.#ch;
    // Without interceptors, invoke() and newStream() take their direct paths (null here).
    const ui = opts.unaryInterceptors, si = opts.streamInterceptors;
    this.#unary = ui.length === 0 ? null : chainInterceptors<UnaryClientInterceptor, UnaryInvoker>(
      ui,
      (c) => invokeCore(ch, c.method, c.request, c.options),
      (ic, next) => (c) => ic(c, next),
    );
    this.#streamer = si.length === 0 ? null : chainInterceptors<StreamClientInterceptor, Streamer>(
      si,
      (c) => new Call(ch, c.method, c.options),
      (ic, next) => (c) => ic(c, next),
    );
  }

  /**
   * The target this connection was made for, as given.
   *
   * @returns The target string.
   */
  get target(): string {
    return this.#target;
  }

  /**
   * The channel's state, aggregated by its balancer from its subchannels' (round_robin: READY
   * if any backend is). grpc-go: `ClientConn.GetState`.
   *
   * @param tryToConnect Also leave IDLE, as {@linkcode ClientConn.connect} (grpc-js
   *   `getConnectivityState(true)`).
   * @returns One of {@linkcode ConnectivityState}.
   *
   * @example A closed connection
   * ```ts
   * import { ConnectivityState, newClient } from "@seed/grpc";
   * import { assertEquals } from "@std/assert";
   *
   * const conn = newClient("localhost:50051");
   * await conn.close();
   * assertEquals(conn.getState(), ConnectivityState.Shutdown);
   * ```
   */
  getState(tryToConnect = false): ConnectivityState {
    const s = this.#ch.state;
    if (tryToConnect && s === "IDLE") this.#ch.connect();
    return s;
  }

  /**
   * Waits until the state is no longer `from`. grpc-go: `ClientConn.WaitForStateChange`.
   *
   * @param from The state to wait to leave (usually the last one `getState()` returned).
   * @param signal Gives up when aborted.
   * @returns `true` when the state changed, `false` when `signal` aborted first.
   *
   * @example Watch a connection come up
   * ```ts
   * import { ConnectivityState, newClient } from "@seed/grpc";
   * import { assertEquals } from "@std/assert";
   *
   * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
   * const port = listener.addr.port;
   * listener.close(); // nothing listens: the attempt fails
   * await using conn = newClient(`127.0.0.1:${port}`);
   * let state = conn.getState(true); // IDLE, and start connecting
   * while (state !== ConnectivityState.TransientFailure) {
   *   await conn.waitForStateChange(state, AbortSignal.timeout(5000));
   *   state = conn.getState();
   * }
   * assertEquals(state, ConnectivityState.TransientFailure);
   * ```
   */
  waitForStateChange(from: ConnectivityState, signal?: AbortSignal): Promise<boolean> {
    return this.#ch.waitForStateChange(from, signal);
  }

  /**
   * Starts connecting if IDLE (calls do this by themselves). grpc-go: `ClientConn.Connect`.
   *
   * @example Connect early
   * ```ts
   * import { newClient } from "@seed/grpc";
   *
   * const conn = newClient("127.0.0.1:1"); // nothing listens there: the attempt fails
   * conn.connect();
   * await conn.close();
   * ```
   */
  connect(): void {
    this.#ch.connect();
  }

  /**
   * Makes a unary call: newStream → sendMsg (with END_STREAM) → recvMsg. grpc-go:
   * `ClientConn.Invoke`.
   *
   * @typeParam Req The request type.
   * @typeParam Res The response type.
   * @param method The method (from {@linkcode loadProto}).
   * @param request The request message.
   * @param options Call options, merged over the default call options.
   * @returns The response.
   * @throws {StatusError} The call's status when not OK: UNAVAILABLE (no connection),
   *   DEADLINE_EXCEEDED, CANCELLED, RESOURCE_EXHAUSTED (size limits), INTERNAL (bad response)…
   *
   * @example See {@linkcode ClientConn}
   * ```ts ignore
   * const reply = await conn.invoke(service.methods.sayHello, { name: "world" });
   * ```
   */
  invoke<Req, Res>(
    method: MethodDefinition<Req, Res>,
    request: Req,
    options?: CallOptions,
  ): Promise<Res> {
    const d = this.#defaults;
    const o = d === undefined ? options : mergeCallOptions(d, options);
    const u = this.#unary;
    if (u === null) return invokeCore(this.#ch, method, request, o);
    return u({
      method: method as MethodDefinition,
      request,
      options: forInterceptors(o),
    }) as Promise<
      Res
    >;
  }

  /**
   * Opens a stream for any kind of method. grpc-go: `ClientConn.NewStream`. The stream opens in
   * the background; errors (UNAVAILABLE, DEADLINE_EXCEEDED…) come from `sendMsg` / `recvMsg`.
   *
   * @typeParam Req The request type.
   * @typeParam Res The response type.
   * @param method The method.
   * @param options Call options, merged over the default call options.
   * @returns The stream.
   * @throws {RangeError} An option is out of range.
   *
   * @example Client streaming by hand
   * ```ts ignore
   * const stream = conn.newStream(service.methods.recordRoute);
   * for (const point of points) await stream.sendMsg(point);
   * stream.closeSend();
   * const summary = await stream.recvMsg();
   * ```
   */
  newStream<Req, Res>(method: MethodDefinition<Req, Res>, options?: CallOptions): ClientStream<
    Req,
    Res
  > {
    const d = this.#defaults;
    const o = d === undefined ? options : mergeCallOptions(d, options);
    const s = this.#streamer;
    if (s === null) return new Call(this.#ch, method, o);
    return s({ method: method as MethodDefinition, options: forInterceptors(o) }) as ClientStream<
      Req,
      Res
    >;
  }

  /**
   * Closes the connection: calls in flight fail CANCELLED, later calls too. grpc-go:
   * `ClientConn.Close`.
   *
   * @returns A promise resolved once the socket is closed.
   *
   * @example Close twice
   * ```ts
   * import { newClient } from "@seed/grpc";
   *
   * const conn = newClient("127.0.0.1:50051");
   * await conn.close();
   * await conn.close(); // no-op
   * ```
   */
  close(): Promise<void> {
    return this.#ch.close();
  }

  /**
   * Closes the connection (`await using conn = …`).
   *
   * @returns A promise resolved once closed.
   */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  static {
    channelOfConn = (conn) => conn.#ch;
  }
}

/**
 * Creates a {@linkcode ClientConn} that connects on its first call. grpc-go: `grpc.NewClient`.
 *
 * @param target `host:port`, `dns:///host:port`, `[::1]:port`, `localhost:port`,
 *   `unix:/path` or `unix:///abs/path` (see {@linkcode ClientConn}'s constructor for all).
 *   Not a URL: `http://host:port` and `https://host` are refused with the target to write.
 * @param options Dial options.
 * @returns The connection.
 * @throws {TypeError} The target can't be parsed (a URL, say), or an option has the wrong
 *   type.
 * @throws {RangeError} An option is out of range.
 *
 * @example Make a client without connecting
 * ```ts
 * import { ConnectivityState, newClient } from "@seed/grpc";
 * import { assertEquals } from "@std/assert";
 *
 * await using conn = newClient("dns:///localhost:50051");
 * assertEquals(conn.getState(), ConnectivityState.Idle);
 * ```
 */
export function newClient(target: string, options?: DialOptions): ClientConn {
  return new ClientConn(target, options);
}

/**
 * Creates a {@linkcode ClientConn}; with `block: true`, resolves once it is READY (grpc-go:
 * `grpc.DialContext` with `WithBlock`).
 *
 * @param target As for {@linkcode newClient}.
 * @param options Dial options; `block` and `signal` apply here.
 * @returns The connection.
 * @throws {StatusError} With `block`: UNAVAILABLE when the attempt fails (no `signal`), else
 *   DEADLINE_EXCEEDED or CANCELLED when `signal` aborts first.
 * @throws {TypeError} The target can't be parsed.
 *
 * @example Dial and wait for the connection
 * ```ts
 * import { Code, dial, StatusError } from "@seed/grpc";
 * import { assertEquals, assertRejects } from "@std/assert";
 *
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const port = listener.addr.port;
 * listener.close(); // nothing listens: the attempt fails
 * const err = await assertRejects(() => dial(`127.0.0.1:${port}`, { block: true }), StatusError);
 * assertEquals(err.code, Code.Unavailable);
 * ```
 */
export async function dial(target: string, options?: DialOptions): Promise<ClientConn> {
  const conn = new ClientConn(target, options);
  if (options?.block !== true) return conn;
  try {
    const signal = options.signal;
    await channelOf(conn).waitForReadyState(signal, signal === undefined);
  } catch (err) {
    await conn.close();
    throw err;
  }
  return conn;
}
