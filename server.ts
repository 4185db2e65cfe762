/**
 * The gRPC server, after grpc-go's server.go: `serve(listener)` runs the accept loop,
 * each connection goes through `handleRawConn` (handshake deadline, HTTP/2 server transport,
 * addConn, serveStreams), and each stream through `handleStream` (routing, deadline,
 * decompression, the handler, status and trailers).
 *
 * @module
 */

import type { MethodDefinition, ServiceDefinition } from "./codec.ts";
import { Code, encodeGrpcMessage } from "./status.ts";
import { type Compressor, getCompressor, supportedEncodings } from "./compression.ts";
import { OnceEvent } from "./internal/event.ts";
import { acceptLoop } from "./internal/accept_loop.ts";
import { DeadlineTimers } from "./internal/deadline_timers.ts";
import { checkNonNegative } from "./internal/option_checks.ts";
import { isServiceDefinition, notAServiceError } from "./codec/services.ts";
import {
  type ServerStream,
  ServerTransport,
  type ServerTransportOptions,
} from "./transport/http2_server.ts";
import { unavailable } from "./transport/errors.ts";
import type { RawConn } from "./transport/writer.ts";
import { INSECURE_AUTH_INFO, type Peer } from "./peer.ts";
import {
  denoTlsHandshaker,
  type ServerHandshaker,
  type ServerListener,
} from "./credentials/tls_server.ts";
import { errorMessage, errorStack } from "./internal/error_message.ts";
import { ServerCall } from "./server/call.ts";
import type { EsService } from "./codec/protobuf_es.ts";
import { definitionFromDescService, isDescService } from "./codec/protobuf_es.ts";
import type { Handler, ImplementationOf, UnaryHandler } from "./server/handler.ts";
import {
  type ResolvedServerOptions,
  resolveServerOptions,
  type ServerOptions,
  transportOptions,
} from "./server/options.ts";

export type {
  BidiStreamingHandler,
  ClientStreamingHandler,
  EsHandler,
  Handler,
  HandlerFor,
  ImplementationOf,
  ServerContext,
  ServerStreamingHandler,
  ServiceImplementation,
  UnaryHandler,
} from "./server/handler.ts";
export type {
  ServerCallStream,
  StreamServerInfo,
  StreamServerInterceptor,
  UnaryServerInfo,
  UnaryServerInterceptor,
} from "./server/interceptors.ts";
export { stopOnSignals, type StopOnSignalsOptions, type Stoppable } from "./server/signals.ts";
export type { ServerOptions } from "./server/options.ts";

/** Bounds {@linkcode Server.gracefulStop}: when the drain gives up and stops outright. */
export interface GracefulStopOptions {
  /**
   * How long the drain may take, in ms; then it is cut short as {@linkcode Server.stop} does.
   * @default {undefined} no bound: wait for every running call
   */
  timeoutMs?: number;
  /** When this aborts, the drain is cut short as {@linkcode Server.stop} does. */
  signal?: AbortSignal;
}

interface Route {
  readonly method: MethodDefinition;
  readonly handler: Handler | undefined;
  readonly service: string;
}

/**
 * A gRPC server: HTTP/2 cleartext (h2c) on `Deno.listen` (TCP, unix, unix abstract), or TLS and
 * mutual TLS on the listener of {@linkcode serverTls} (or `Deno.listenTls` with ALPN `h2`).
 *
 * @example Serve the helloworld service and stop
 * ```ts
 * import { loadProto, Server } from "@seed/grpc";
 * const services = await loadProto({
 *   source: `syntax = "proto3"; package helloworld;
 *     service Hello { rpc SayHello (HelloReq) returns (HelloRep); }
 *     message HelloReq { string name = 1; } message HelloRep { string message = 1; }`,
 * });
 * const server = new Server();
 * server.addService(services["helloworld.Hello"], {
 *   sayHello: (req: { name: string }) => ({ message: `Hello ${req.name}` }),
 * });
 * const serving = server.serve(Deno.listen({ hostname: "127.0.0.1", port: 0 }));
 * await server.gracefulStop();
 * await serving;
 * ```
 */
export class Server {
  readonly #opts: ResolvedServerOptions;
  readonly #transportOpts: ServerTransportOptions;
  readonly #routes = new Map<string, Route>();
  readonly #services = new Map<string, ServiceDefinition>();
  readonly #gracefulStopHooks: (() => void)[] = [];
  readonly #quit = new OnceEvent();
  readonly #done = new OnceEvent();
  readonly #listeners = new Set<Listener>();
  // Connections whose security handshake is running (closed by stop() and gracefulStop()).
  readonly #handshaking = new Set<ServerHandshaker>();
  readonly #conns = new Set<ServerTransport>();
  readonly #serving = new Set<Promise<void>>();
  #draining = false;
  #started = false;
  // One timer for every call's deadline (internal/deadline_timers.ts explains why).
  readonly #deadlines = new DeadlineTimers();

  /**
   * Creates a server; options are checked and resolved now.
   * @param options Server options; see {@linkcode ServerOptions} for defaults.
   * @throws {RangeError} When an option is out of range.
   */
  constructor(options?: ServerOptions) {
    this.#opts = resolveServerOptions(options ?? {});
    this.#transportOpts = transportOptions(this.#opts);
  }

  /**
   * Registers a service. Implementation keys are lowerCamelCase method names (`sayHello`);
   * methods left out answer UNIMPLEMENTED. The implementation is an object of handlers or a
   * class instance (its methods, own or inherited, are called with the instance as `this`).
   * For a typed definition (generated code, or a protobuf-es `GenService`), every handler is
   * type-checked against its method ({@linkcode ImplementationOf}).
   * @param service A service definition (generated, or from {@linkcode loadProto}) or a
   * protobuf-es v2 `GenService` / `DescService`.
   * @param implementation Handlers keyed by method name.
   * @throws {TypeError} When `service` is not a definition (a lookup such as
   * `services["Hello"]` that missed: the message names the keys there are), the service is
   * already registered, `serve` has started, or the implementation names a method the service
   * does not have.
   * @example Add a service
   * ```ts
   * import { loadProto, Server } from "@seed/grpc";
   * const s = await loadProto({ source: `syntax = "proto3"; package p;
   *   service S { rpc Do (M) returns (M); } message M { string v = 1; }` });
   * const server = new Server();
   * server.addService(s["p.S"], { do: (m: { v: string }) => m });
   * ```
   */
  // deno-lint-ignore no-explicit-any
  addService<S extends ServiceDefinition<any> | EsService>(
    service: S,
    implementation: ImplementationOf<S>,
  ): void {
    if (!isDescService(service) && !isServiceDefinition(service)) {
      throw notAServiceError("Cannot add service", service);
    }
    const definition: ServiceDefinition = isDescService(service)
      ? definitionFromDescService(service)
      : service;
    const impl = implementation as Record<string, unknown>;
    if (this.#started) throw new TypeError("Cannot add service: the server is already serving");
    if (this.#services.has(definition.name)) {
      throw new TypeError(`Cannot add service: ${definition.name} is already registered`);
    }
    if (typeof impl !== "object" || impl === null) {
      throw new TypeError(
        `Cannot add service: implementation must be an object of handlers keyed by method name, got ${impl}`,
      );
    }
    // A plain object's keys must all be methods; a class instance may hold other state.
    const proto = Object.getPrototypeOf(impl);
    const plain = proto === Object.prototype || proto === null;
    if (plain) {
      for (const key of Object.keys(impl)) {
        if (!(key in definition.methods)) {
          throw new TypeError(`Cannot add service: ${definition.name} has no method "${key}"`);
        }
      }
    }
    const handlers = new Map<string, Handler>();
    for (const m of Object.values(definition.methods)) {
      const handler = impl[m.localName];
      if (handler === undefined || (!plain && !(m.localName in impl))) continue;
      if (typeof handler !== "function") {
        throw new TypeError(`Cannot add service: handler "${m.localName}" is not a function`);
      }
      handlers.set(m.localName, plain ? handler as Handler : handler.bind(impl));
    }
    this.#services.set(definition.name, definition);
    for (const m of Object.values(definition.methods)) {
      this.#routes.set(m.path, {
        method: m,
        handler: handlers.get(m.localName),
        service: definition.name,
      });
    }
  }

  /**
   * The registered services, keyed by fully qualified name, in registration order. grpc-go:
   * `Server.GetServiceInfo` (server reflection lists these).
   * @returns A new map each call; the definitions are the ones given to `addService`.
   * @example List registered services
   * ```ts
   * import { loadProto, Server } from "@seed/grpc";
   * import { assertEquals } from "@std/assert";
   * const s = await loadProto({ source: `syntax = "proto3"; package p;
   *   service S { rpc Do (M) returns (M); } message M {}` });
   * const server = new Server();
   * server.addService(s["p.S"], {});
   * assertEquals([...server.getServiceInfo().keys()], ["p.S"]);
   * ```
   */
  getServiceInfo(): Map<string, ServiceDefinition> {
    return new Map(this.#services);
  }

  /**
   * Runs `hook` once, synchronously, when {@linkcode Server.gracefulStop} starts: before
   * listeners close and connections drain. The health service uses it to report NOT_SERVING
   * first, so load balancers stop sending before the drain.
   * @param hook Called with no arguments; what it throws is ignored.
   * @example Log when draining starts
   * ```ts
   * import { Server } from "@seed/grpc";
   * import { assert } from "@std/assert";
   * const server = new Server();
   * let draining = false;
   * server.onGracefulStop(() => draining = true);
   * await server.gracefulStop();
   * assert(draining);
   * ```
   */
  onGracefulStop(hook: () => void): void {
    this.#gracefulStopHooks.push(hook);
  }

  /**
   * Accepts connections on `listener` and serves them until {@linkcode Server.stop} or
   * {@linkcode Server.gracefulStop}; resolves once the server has stopped. Temporary accept
   * errors are retried after 5 ms, doubling to 1 s. Each connection's security handshake (TLS)
   * runs apart from the accept loop, bounded by `connectionTimeoutMs`: a client that fails it or
   * stays silent costs one connection and a logged warning.
   * @param listener Plaintext: `Deno.listen` (TCP or unix). TLS: the listener of
   * {@linkcode ServerTlsCredentials.listen}, or `Deno.listenTls` with `alpnProtocols: ["h2"]`.
   * @returns Resolves when the server stops; rejects on a fatal accept error.
   * @example Serve on a free port
   * ```ts
   * import { Server } from "@seed/grpc";
   * const server = new Server();
   * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
   * const serving = server.serve(listener);
   * await server.stop();
   * await serving;
   * ```
   */
  async serve(listener: Deno.Listener | ServerListener): Promise<void> {
    if (this.#quit.hasFired()) {
      listener.close();
      throw new Error("Cannot serve: the server has stopped");
    }
    this.#started = true;
    this.#listeners.add(listener);
    const loop = acceptLoop<Deno.Conn | ServerHandshaker>(
      listener,
      (c) => this.#handleRawConn(c),
      this.#quit,
      undefined,
      (err, ms) =>
        this.#opts.logger.warning(
          `grpc: Server.Serve accept error: ${errorMessage(err)}; retrying in ${ms} ms`,
        ),
    );
    this.#serving.add(loop.catch(() => {}));
    try {
      await loop;
    } finally {
      this.#listeners.delete(listener);
      try {
        listener.close();
      } catch {
        // closed by stop()
      }
    }
    // Stopped: resolve once the stop has finished tearing down.
    await this.#done.done;
  }

  // grpc-go handleRawConn: deadline for the handshake, then the transport, addConn, serveStreams.
  #handleRawConn(raw: Deno.Conn | ServerHandshaker): void {
    if (this.#quit.hasFired()) {
      raw.close();
      return;
    }
    let hs: ServerHandshaker | undefined;
    if ("serverHandshake" in raw) hs = raw;
    else if (typeof (raw as Deno.TlsConn).handshake === "function") {
      hs = denoTlsHandshaker(raw as Deno.TlsConn);
    }
    if (hs === undefined) {
      // Plaintext: no handshake, the transport starts now (and its timer covers the preface).
      const conn = raw as Deno.Conn;
      try {
        (conn as Deno.TcpConn).setNoDelay?.(true);
        // TCP keepalive with the OS's intervals, as Go's net.Listen sets on accepted conns
        // (grpc-go serves on them); Deno exposes only on/off (no TCP_KEEPIDLE, no
        // TCP_USER_TIMEOUT).
        (conn as Deno.TcpConn).setKeepAlive?.(true);
      } catch {
        // unix sockets have no Nagle and no keepalive
      }
      this.#startTransport(conn, { addr: conn.remoteAddr, authInfo: INSECURE_AUTH_INFO }, 0);
      return;
    }
    void this.#secureHandshake(hs);
  }

  // The credentials' server handshake under connectionTimeoutMs (grpc-go
  // useTransportAuthenticator with the conn deadline set); the rest of the deadline then covers
  // the HTTP/2 preface and SETTINGS.
  async #secureHandshake(hs: ServerHandshaker): Promise<void> {
    const started = Date.now();
    this.#handshaking.add(hs);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      hs.close();
    }, this.#opts.connectionTimeoutMs);
    try {
      const { conn, authInfo } = await hs.serverHandshake();
      if (this.#quit.hasFired()) {
        conn.close();
        return;
      }
      this.#startTransport(conn, { addr: hs.remoteAddr, authInfo }, Date.now() - started);
    } catch (err) {
      hs.close();
      if (this.#quit.hasFired()) return;
      const cause = timedOut
        ? `handshake not completed within connectionTimeoutMs ${this.#opts.connectionTimeoutMs}`
        : errorMessage(err);
      this.#opts.logger.warning(
        `grpc: Server.Serve failed to complete security handshake from ${
          addrString(hs.remoteAddr)
        }: ${cause}`,
      );
    } finally {
      clearTimeout(timer);
      this.#handshaking.delete(hs);
    }
  }

  #startTransport(conn: RawConn, peer: Peer, elapsedMs: number): void {
    const t = new ServerTransport(conn, this.#transportOpts, (s) => this.#handleStream(s, peer));
    this.#conns.add(t);
    const timer = setTimeout(
      () => t.close(unavailable("Connection handshake timed out")),
      Math.max(1, this.#opts.connectionTimeoutMs - elapsedMs),
    );
    let handshaked = false;
    t.handshaked.then(() => {
      handshaked = true;
      clearTimeout(timer);
      if (this.#draining) t.drain();
    }, () => clearTimeout(timer));
    t.closed.then(() => {
      clearTimeout(timer);
      this.#conns.delete(t);
      this.#logClosed(t, peer, handshaked);
    });
    t.begin();
  }

  // A connection that ended other than by our stop() or drain: grpc-go logs a failed setup (bad
  // preface, handshake timeout) and a peer's protocol violation as warnings, and a connection
  // that was lost or closed by the peer only verbosely (info here).
  #logClosed(t: ServerTransport, peer: Peer, handshaked: boolean): void {
    if (this.#quit.hasFired() || this.#draining) return;
    const reason = t.closeReason;
    if (reason === null) return;
    const from = addrString(peer.addr);
    const why = reason.rawMessage;
    const byPeer = why === "Connection closed by peer";
    if (why.startsWith("Connection error:") || (!handshaked && !byPeer)) {
      const what = handshaked
        ? "closed the connection"
        : "Server.Serve failed to create ServerTransport";
      this.#opts.logger.warning(`grpc: ${what} from ${from}: ${why}`);
    } else {
      this.#opts.logger.info(`grpc: connection from ${from} ended: ${why}`);
    }
  }

  #handleStream(s: ServerStream, peer: Peer): void {
    // Request validation (405, 415, 400) happened in the transport (transport/request.ts).
    const deadline = s.timeoutMs === undefined ? undefined : Date.now() + s.timeoutMs;
    const route = this.#routes.get(s.method);
    if (route === undefined || route.handler === undefined) {
      const msg = route === undefined
        ? unknownMethodMessage(s.method, this.#services)
        : `unknown method ${route.method.name} for service ${route.service}`;
      s.sendTrailers(Code.Unimplemented, encodeGrpcMessage(msg));
      s.handlerDone();
      return;
    }
    let decompressor: Compressor | undefined;
    if (s.encoding !== "" && s.encoding !== "identity") {
      decompressor = getCompressor(s.encoding);
      if (decompressor === undefined) {
        s.sendTrailers(
          Code.Unimplemented,
          encodeGrpcMessage(
            `grpc: Decompressor is not installed for grpc-encoding "${s.encoding}"`,
          ),
          ["grpc-accept-encoding", supportedEncodings()],
        );
        s.handlerDone();
        return;
      }
    }
    const call = new ServerCall(
      this.#opts,
      this.#deadlines,
      s,
      route.method,
      peer,
      decompressor,
      deadline,
    );
    const m = route.method;
    // Neither run method rejects; each ends the call (trailers, handler slot) itself.
    if (!m.requestStream && !m.responseStream) void call.runUnary(route.handler as UnaryHandler);
    else void call.runStreaming(route.handler);
  }

  /**
   * Stops gracefully: stops accepting, sends GOAWAY and a PING on every connection, then a
   * second GOAWAY with the last stream id; running calls finish, new ones are refused. Resolves
   * when every connection has closed.
   *
   * Without a bound the drain waits for every running call, however long (a Watch stream may
   * never end). grpc-go users pair `GracefulStop` with a timer that calls `Stop`; here
   * `options.timeoutMs` or `options.signal` does it: once either fires, the drain is cut short
   * as {@linkcode Server.stop} does (running handlers see `ctx.signal` abort, clients get
   * UNAVAILABLE), and the returned promise resolves once that is done.
   * @param options The bound on the drain; none by default.
   * @throws {RangeError} When `timeoutMs` is negative or not a number.
   * @example Drain and stop
   * ```ts
   * import { Server } from "@seed/grpc";
   * const server = new Server();
   * const serving = server.serve(Deno.listen({ hostname: "127.0.0.1", port: 0 }));
   * await server.gracefulStop();
   * await serving;
   * ```
   * @example Drain for at most 5 s, then cancel what still runs
   * ```ts
   * import { Server } from "@seed/grpc";
   * const server = new Server();
   * const serving = server.serve(Deno.listen({ hostname: "127.0.0.1", port: 0 }));
   * await server.gracefulStop({ timeoutMs: 5_000 });
   * await serving;
   * ```
   */
  async gracefulStop(options: GracefulStopOptions = {}): Promise<void> {
    const timeoutMs = checkNonNegative(
      "Cannot stop gracefully",
      "timeoutMs",
      options.timeoutMs,
      Infinity,
    );
    const drained = this.#drain(); // runs the hooks and closes listeners before returning
    const cut = () => void this.stop();
    const signal = options.signal;
    let timer: ReturnType<typeof setTimeout> | undefined;
    if (timeoutMs !== Infinity) timer = setTimeout(cut, timeoutMs);
    if (signal?.aborted) cut();
    else signal?.addEventListener("abort", cut, { once: true });
    try {
      await drained;
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener("abort", cut);
    }
  }

  async #drain(): Promise<void> {
    if (!this.#draining) {
      for (const hook of this.#gracefulStopHooks) {
        try {
          hook();
        } catch (err) {
          // A hook's failure must not keep the server from stopping.
          this.#opts.logger.warning(`grpc: an onGracefulStop hook failed: ${errorStack(err)}`);
        }
      }
    }
    this.#draining = true;
    this.#quit.fire();
    this.#closeListeners();
    await Promise.all(this.#serving);
    const conns = [...this.#conns];
    for (const t of conns) t.drain();
    await Promise.all(conns.map((t) => t.closed));
    // Connections accepted while we waited were drained by handleRawConn.
    while (this.#conns.size > 0) await Promise.all([...this.#conns].map((t) => t.closed));
    this.#deadlines.clear();
    this.#done.fire();
  }

  /**
   * Stops now: closes listeners and connections; running handlers see `ctx.signal` abort and
   * clients get UNAVAILABLE.
   * @example Stop a serving server
   * ```ts
   * import { Server } from "@seed/grpc";
   * const server = new Server();
   * const serving = server.serve(Deno.listen({ hostname: "127.0.0.1", port: 0 }));
   * await server.stop();
   * await serving; // serve() resolves once stopped
   * ```
   */
  async stop(): Promise<void> {
    this.#quit.fire();
    this.#closeListeners();
    await Promise.all(this.#serving);
    const conns = [...this.#conns];
    for (const t of conns) t.close(unavailable("Server stopped"));
    await Promise.all(conns.map((t) => t.closed));
    this.#deadlines.clear();
    this.#done.fire();
  }

  /** Stops the server now (`await using server = new Server()`); see {@linkcode Server.stop}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }

  #closeListeners(): void {
    for (const l of this.#listeners) {
      try {
        l.close();
      } catch {
        // already closed
      }
    }
    for (const hs of this.#handshaking) hs.close();
  }
}

/** What the server needs of a listener: `Deno.Listener` and {@linkcode ServerListener} both fit. */
type Listener = Deno.Listener | ServerListener;

function addrString(a: Deno.Addr): string {
  if (a.transport === "tcp" || a.transport === "udp") {
    return a.hostname.includes(":") ? `[${a.hostname}]:${a.port}` : `${a.hostname}:${a.port}`;
  }
  if (!("path" in a)) return String(a.transport);
  return a.path.startsWith("\0") ? `unix-abstract:${a.path.slice(1)}` : `unix:${a.path}`;
}

function unknownMethodMessage(path: string, services: Map<string, ServiceDefinition>): string {
  // grpc-go handleStream: "unknown service X" or "unknown method M for service X"; a :path
  // that is not /service/method is a "malformed method name".
  const slash = path.lastIndexOf("/");
  if (path.charCodeAt(0) !== 47 /* / */ || slash === 0) {
    return `malformed method name: ${JSON.stringify(path)}`;
  }
  const service = path.slice(1, slash);
  if (!services.has(service)) return `unknown service ${service}`;
  return `unknown method ${path.slice(slash + 1)} for service ${service}`;
}
