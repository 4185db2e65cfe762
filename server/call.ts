// One server call: the handler's context and message stream — decode, decompress, encode,
// compress, response headers and trailers, cancellation and the deadline — and running the
// handler of each kind through its interceptors (grpc-go server.go processUnaryRPC,
// processStreamingRPC, and transport.ServerStream's send side).

import type { MethodDefinition } from "../codec.ts";
import { Code, codeName, encodeGrpcMessage, encodeStatusDetails, StatusError } from "../status.ts";
import { Metadata, type MetadataInit } from "../metadata.ts";
import {
  type Compressor,
  getCompressor,
  negotiateEncoding,
  supportedEncodings,
} from "../compression.ts";
import { encodeBinaryHeader } from "../internal/headers.ts";
import { errorText } from "../internal/error_message.ts";
import { decodeMessage, encodeMessage } from "../internal/message.ts";
import { isDeadlineReason } from "../internal/abort.ts";
import { errorMessage, errorStack } from "../internal/error_message.ts";
import type { DeadlineEntry, DeadlineTimers } from "../internal/deadline_timers.ts";
import type { CancelListener, ServerStream } from "../transport/http2_server.ts";
import { ErrorCode } from "../transport/frame.ts";
import type {
  BidiStreamingHandler,
  ClientStreamingHandler,
  Handler,
  ServerContext,
  ServerStreamingHandler,
  UnaryHandler,
} from "./handler.ts";
import { chainStream, chainUnary, type ServerCallStream } from "./interceptors.ts";
import type { ResolvedServerOptions } from "./options.ts";
import type { Peer } from "../peer.ts";

const CANCELLED_REASON = new DOMException("The call was cancelled", "AbortError");
const DEADLINE_REASON = new DOMException("The call's deadline passed", "TimeoutError");

/** One call on the server: implements the handler context and the message stream. */
export class ServerCall implements ServerContext, ServerCallStream, DeadlineEntry, CancelListener {
  readonly #opts: ResolvedServerOptions;
  readonly #s: ServerStream;
  readonly #m: MethodDefinition;
  readonly peer: Peer;
  readonly #decompressor: Compressor | undefined;
  readonly deadline: number | undefined;
  #metadata: Metadata | undefined;
  #controller: AbortController | undefined;
  #abortReason: unknown;
  readonly #deadlines: DeadlineTimers;
  /** @internal DeadlineEntry bookkeeping. */
  deadlineBucket = 0;
  #headerMd: Metadata | undefined;
  #trailerMd: Metadata | undefined;
  #encoding: string | undefined;
  #compressor: Compressor | undefined;
  #compressMessages = true;
  #done = false;
  requestCompressed = false;

  constructor(
    opts: ResolvedServerOptions,
    deadlines: DeadlineTimers,
    s: ServerStream,
    m: MethodDefinition,
    peer: Peer,
    decompressor: Compressor | undefined,
    deadline: number | undefined,
  ) {
    this.#opts = opts;
    this.#deadlines = deadlines;
    this.#s = s;
    this.#m = m;
    this.peer = peer;
    this.#decompressor = decompressor;
    this.deadline = deadline;
    // No per-call closure here (see CancelListener): the stream calls onStreamCancel.
    s.cancelListener = this;
    if (deadline !== undefined) deadlines.add(this, deadline);
    // Response encoding: the server's choice, else the request's (grpc-go), if the client takes it.
    const want = opts.compression ?? (decompressor !== undefined ? decompressor.name : undefined);
    if (want !== undefined) this.#chooseEncoding(want);
  }

  get method(): string {
    return this.#m.path;
  }

  get context(): ServerContext {
    return this;
  }

  get metadata(): Metadata {
    return this.#metadata ??= Metadata.fromHeaders(this.#s.headers);
  }

  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#abortReason !== undefined) this.#controller.abort(this.#abortReason);
    }
    return this.#controller.signal;
  }

  /** @internal The peer reset the stream, or the connection died. */
  onStreamCancel(): void {
    this.#abort(CANCELLED_REASON);
  }

  #abort(reason: unknown): void {
    if (this.#abortReason !== undefined) return;
    this.#abortReason = reason;
    this.#controller?.abort(reason);
  }

  /** @internal The shared deadline timer calls this once the call's deadline has passed. */
  onDeadline(): void {
    if (this.#done) return;
    this.#abort(DEADLINE_REASON);
    // The client is told now, whatever the handler does next.
    this.#finish(new StatusError(Code.DeadlineExceeded, "context deadline exceeded"));
  }

  #chooseEncoding(name: string): void {
    const accept = this.#s.acceptEncoding;
    const c = getCompressor(name);
    if (c === undefined) return;
    // The request's own encoding is acceptable even without grpc-accept-encoding.
    if (negotiateEncoding(accept, name) !== undefined || name === this.#s.encoding) {
      this.#encoding = name;
      this.#compressor = c;
    }
  }

  setHeader(md: Metadata | MetadataInit): void {
    if (this.#s.headersSent) return;
    this.#headerMd = addMetadata(this.#headerMd, md);
  }

  sendHeader(md?: Metadata | MetadataInit): void {
    if (md !== undefined) this.setHeader(md);
    this.#sendHeaders();
  }

  setTrailer(md: Metadata | MetadataInit): void {
    this.#trailerMd = addMetadata(this.#trailerMd, md);
  }

  setCompression(encoding: string): void {
    if (this.#s.headersSent) return;
    if (encoding === "identity") {
      this.#encoding = undefined;
      this.#compressor = undefined;
      return;
    }
    if (getCompressor(encoding) === undefined) {
      throw new RangeError(`Cannot set compression: unknown encoding "${encoding}"`);
    }
    this.#chooseEncoding(encoding);
  }

  setMessageCompression(enabled: boolean): void {
    this.#compressMessages = enabled;
  }

  #sendHeaders(): void {
    const s = this.#s;
    if (s.headersSent) return;
    const extra: string[] = [];
    if (this.#encoding !== undefined) extra.push("grpc-encoding", this.#encoding);
    // grpc-accept-encoding is optional on responses (PROTOCOL-HTTP2.md), and grpc-go's server
    // never sends it. We tell a client that compresses which codings we decode; everyone else
    // gets nothing: to a grpc-go client any response header it does not know is metadata, one
    // map per call.
    if (this.#decompressor !== undefined) extra.push("grpc-accept-encoding", supportedEncodings());
    this.#headerMd?.appendTo(extra);
    s.sendHeaders(extra);
  }

  async recvMsg(): Promise<unknown | null> {
    const s = this.#s;
    const received = await s.recvMsg();
    if (received === null) return null;
    const compressed = s.wasCompressed(received);
    this.requestCompressed = compressed;
    const o = this.#opts;
    return decodeMessage(
      this.#m.requestCodec,
      received,
      compressed,
      this.#decompressor,
      o.maxReceiveMessageSize,
    );
  }

  async sendMsg(message: unknown): Promise<void> {
    if (this.#done) throw this.#abortStatus();
    const o = this.#opts;
    const c = this.#compressMessages ? this.#compressor : undefined;
    const [data, compressed] = encodeMessage(
      this.#m.responseCodec,
      message,
      c,
      o.maxSendMessageSize,
      o.compressionMinSize,
    );
    if (!this.#s.headersSent) this.#sendHeaders();
    await this.#s.sendMsg(data, compressed);
  }

  #abortStatus(): StatusError {
    return isDeadlineReason(this.#abortReason)
      ? new StatusError(Code.DeadlineExceeded, "context deadline exceeded")
      : new StatusError(Code.Canceled, "context canceled");
  }

  // Sends trailers with the call's status (once). Never throws, and always ends the stream:
  // a status that cannot be sent as it is (details whose code is no int32, metadata that is not
  // a Metadata…) goes out as INTERNAL naming the cause; should even that fail, RST_STREAM.
  // Before, such a call stayed open for ever, holding up gracefulStop.
  #finish(err: StatusError | null): void {
    if (this.#done) return;
    this.#done = true;
    this.#deadlines.remove(this);
    const s = this.#s;
    if (s.cancelled) return;
    let code: number, message: string, extra: string[];
    try {
      extra = [];
      if (!s.headersSent) {
        // Trailers-only: response metadata goes into the one block.
        if (this.#encoding !== undefined && err === null) {
          extra.push("grpc-encoding", this.#encoding);
        }
        this.#headerMd?.appendTo(extra);
      }
      this.#trailerMd?.appendTo(extra);
      if (err === null) {
        code = Code.OK;
        message = "";
      } else {
        code = err.code;
        message = encodeGrpcMessage(err.rawMessage);
        err.metadata.appendTo(extra);
        if (err.details.length > 0) {
          const bin = encodeStatusDetails(err.code, err.rawMessage, err.details);
          extra.push("grpc-status-details-bin", encodeBinaryHeader(bin));
        }
      }
    } catch (cause) {
      const what = err === null ? "OK" : codeName(err.code);
      code = Code.Internal;
      message = encodeGrpcMessage(`Cannot send status ${what}: ${errorText(cause)}`);
      extra = [];
    }
    try {
      s.sendTrailers(code, message, extra);
    } catch {
      s.transport.resetStream(s, ErrorCode.INTERNAL_ERROR);
    }
  }

  /** Runs a unary handler through the interceptor chain. */
  async runUnary(handler: UnaryHandler): Promise<void> {
    try {
      const req = await this.recvMsg();
      if (req === null) {
        throw new StatusError(Code.Internal, "grpc: server received no request message");
      }
      const ics = this.#opts.unaryInterceptors;
      let res: unknown;
      if (ics.length === 0) res = await handler(req, this);
      else res = await chainUnary(ics, { method: this.#m }, handler)(req, this);
      if (this.#done) return;
      checkReturned(this.#m, res);
      await this.sendMsg(res);
      this.#finish(null);
    } catch (err) {
      this.#fail(err);
    } finally {
      this.#end();
    }
  }

  /** Runs a streaming handler (any of the three kinds) through the interceptor chain. */
  async runStreaming(handler: Handler): Promise<void> {
    const m = this.#m;
    const inner = (stream: ServerCallStream) => runStreamHandler(m, handler, stream);
    try {
      const ics = this.#opts.streamInterceptors;
      if (ics.length === 0) await inner(this);
      else await chainStream(ics, { method: m }, inner)(this);
      this.#finish(null);
    } catch (err) {
      this.#fail(err);
    } finally {
      this.#end();
    }
  }

  // Ends the call with the handler's error (#finish never throws).
  #fail(err: unknown): void {
    if (this.#done || this.#s.cancelled) {
      // The call is over (deadline, cancellation, a status already sent): nobody receives this
      // error, so it is logged, unless it is just the handler seeing that end (the abort
      // reason); a status (often the end itself, as a failed receive) is only info.
      if (err instanceof StatusError) {
        this.#opts.logger.info(
          `grpc: the handler for ${this.#m.path} ended after its call with ${err.message}`,
        );
      } else if (!isAbortReason(err)) {
        this.#opts.logger.warning(
          `grpc: the handler for ${this.#m.path} failed after its call ended: ${errorStack(err)}`,
        );
      }
      this.#finish(null); // a no-op: keeps the call's bookkeeping in one place
      return;
    }
    try {
      this.#finish(toStatusError(err));
    } catch (e) {
      // #end() below still releases the handler slot.
      this.#opts.logger.warning(
        `grpc: could not send the status of ${this.#m.path}: ${errorMessage(e)}`,
      );
    }
  }

  // The handler has returned: release its slot (after an INTERNAL status if it sent none).
  #end(): void {
    if (!this.#done) this.#finish(new StatusError(Code.Internal, "Handler ended without status"));
    this.#deadlines.remove(this);
    this.#s.handlerDone();
  }
}

async function runStreamHandler(
  m: MethodDefinition,
  handler: Handler,
  stream: ServerCallStream,
): Promise<void> {
  const ctx = stream.context;
  if (!m.requestStream) {
    // Server streaming: one request, then the handler's responses.
    const req = await stream.recvMsg();
    if (req === null) {
      throw new StatusError(Code.Internal, "grpc: server received no request message");
    }
    const out = (handler as ServerStreamingHandler)(req, ctx);
    await sendAll(m, out, stream);
    return;
  }
  const requests = requestIterable(stream);
  if (!m.responseStream) {
    const res = await (handler as ClientStreamingHandler)(requests, ctx);
    checkReturned(m, res);
    await stream.sendMsg(res);
    return;
  }
  await sendAll(m, (handler as BidiStreamingHandler)(requests, ctx), stream);
}

// A unary or client-streaming handler that returned nothing: say so, rather than the codec's
// "object expected" (a response type without fields encodes from `undefined` and is let through).
function checkReturned(m: MethodDefinition, res: unknown): void {
  if (res !== undefined && res !== null) return;
  try {
    m.responseCodec.encode(res);
  } catch (err) {
    throw new StatusError(
      Code.Internal,
      `grpc: the handler for ${m.path} returned ${res}: return the response message, or throw a StatusError`,
      { cause: err },
    );
  }
}

async function sendAll(
  m: MethodDefinition,
  out: unknown,
  stream: ServerCallStream,
) {
  if (!isIterable(out)) {
    // An `async` (not `async function*`) or plain function: the call would die with
    // "out is not async iterable".
    const got = out instanceof Promise ? "a Promise" : out === null ? "null" : typeof out;
    throw new StatusError(
      Code.Internal,
      `grpc: the handler for ${m.path} returned ${got}, not an iterable: a streaming handler is an async generator, async function* ${m.localName}(${
        m.requestStream ? "requests" : "request"
      }, ctx) { yield response; }`,
    );
  }
  const signal = stream.context.signal;
  for await (const res of out) {
    if (signal.aborted) break;
    await stream.sendMsg(res);
  }
}

function isIterable(x: unknown): x is AsyncIterable<unknown> | Iterable<unknown> {
  return typeof x === "object" && x !== null &&
    (Symbol.asyncIterator in x || Symbol.iterator in x);
}

async function* requestIterable(stream: ServerCallStream): AsyncGenerator<unknown> {
  while (true) {
    const m = await stream.recvMsg();
    if (m === null) return;
    yield m;
  }
}

// What a handler throws when ctx.signal told it the call ended: the abort reason.
function isAbortReason(err: unknown): boolean {
  return err instanceof DOMException && (err.name === "AbortError" || err.name === "TimeoutError");
}

// Adds `md` to `into` (a copy of `md` when there is none yet): a Metadata or what its
// constructor takes, such as a plain object.
function addMetadata(into: Metadata | undefined, md: Metadata | MetadataInit): Metadata {
  if (into === undefined) return md instanceof Metadata ? md.clone() : new Metadata(md);
  for (const [k, v] of md instanceof Metadata ? md : new Metadata(md)) into.append(k, v);
  return into;
}

function toStatusError(err: unknown): StatusError {
  if (err instanceof StatusError) return err;
  // Any other error is UNKNOWN (the message of a plain Error is passed on, as grpc-go does).
  return StatusError.from(err);
}
