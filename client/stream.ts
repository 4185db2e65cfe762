// The public view of one client call: ClientStream, ResponseStream and SendOptions (grpc-go's
// ClientStream interface in stream.go). client/call.ts implements them.

import type { MethodDefinition } from "../codec.ts";
import type { Metadata } from "../metadata.ts";

/**
 * One call's stream, as {@linkcode ClientConn.newStream} returns it (grpc-go: `ClientStream`).
 * It is also an async iterable of the responses.
 *
 * @typeParam Req The request message type.
 * @typeParam Res The response message type.
 *
 * @example Drive a bidi stream by hand
 * ```ts ignore
 * const stream = conn.newStream(service.methods.routeChat);
 * await stream.sendMsg({ message: "hi" });
 * stream.closeSend();
 * for await (const note of stream) console.log(note);
 * console.log(await stream.trailers);
 * ```
 */
export interface ClientStream<Req = unknown, Res = unknown> extends ResponseStream<Res> {
  /** The method being called. */
  readonly method: MethodDefinition<Req, Res>;
  /**
   * Sends one request message. Resolves once it is queued (waits while flow control or the
   * writer push back).
   *
   * Once the call has ended — the server may end it before the client is done sending — the
   * message is not sent and the promise rejects: with the call's error when it failed, or with
   * FAILED_PRECONDITION "Cannot send message: the call has ended" when the server ended it OK.
   * This is grpc-go's `SendMsg` returning `io.EOF`: stop sending; the call's status is what
   * `recvMsg` (or `trailers`) reports.
   *
   * @param message The request.
   * @param options `compress: false` sends this message uncompressed even when the call has an
   *   encoding (grpc-java: `setMessageCompression`); the default follows the call's
   *   `compression`.
   * @returns A promise resolved when the message is on its way.
   * @throws {StatusError} The call failed (its status), or ended OK (FAILED_PRECONDITION);
   *   RESOURCE_EXHAUSTED if larger than `maxSendMessageSize`; INTERNAL after `closeSend()` or
   *   if the message cannot be encoded.
   */
  sendMsg(message: Req, options?: SendOptions): Promise<void>;
  /** Half-closes the call: no more requests (END_STREAM). Idempotent. */
  closeSend(): void;
  /**
   * Receives the next response.
   *
   * @returns The response, or `null` once the server ended the call with OK.
   * @throws {StatusError} The call's status, when not OK.
   */
  recvMsg(): Promise<Res | null>;
}

/** Per-message options of {@linkcode ClientStream.sendMsg}. */
export interface SendOptions {
  /**
   * Compress this message with the call's encoding; `false` sends it uncompressed.
   * @default {true}
   */
  compress?: boolean;
}

/**
 * The responses of a streaming call: iterate with `for await`; `headers`, `trailers` and
 * `cancel()` as on {@linkcode ClientStream}. A server-streaming method of a client from
 * {@linkcode createClient} returns one. Leaving the loop early (`break`, `throw`) cancels the
 * call; a failed call throws its {@linkcode StatusError} from the loop.
 *
 * @typeParam Res The response message type.
 *
 * @example Read a server stream with its headers and trailers
 * ```ts
 * import {
 *   createClient,
 *   dial,
 *   loadProto,
 *   Metadata,
 *   Server,
 *   type ServerContext,
 *   type ServerStreamingMethod,
 * } from "@seed/grpc";
 * import { assertEquals } from "@std/assert";
 *
 * const services = await loadProto({
 *   source: `syntax = "proto3"; package c;
 *     service Count { rpc Up (N) returns (stream N); } message N { int32 n = 1; }`,
 * });
 * const server = new Server();
 * server.addService(services["c.Count"], {
 *   async *up(req: { n: number }, ctx: ServerContext) {
 *     ctx.setTrailer(new Metadata({ "x-total": String(req.n) }));
 *     for (let n = 1; n <= req.n; n++) yield { n };
 *   },
 * });
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const serving = server.serve(listener);
 * await using conn = await dial(`127.0.0.1:${listener.addr.port}`);
 * const client = createClient<{ up: ServerStreamingMethod<{ n: number }, { n: number }> }>(
 *   services["c.Count"],
 *   conn,
 * );
 *
 * const stream = client.up({ n: 3 });
 * const got: number[] = [];
 * for await (const { n } of stream) got.push(n);
 * assertEquals(got, [1, 2, 3]);
 * assertEquals((await stream.trailers).get("x-total"), "3");
 *
 * await server.stop();
 * await serving;
 * ```
 */
export interface ResponseStream<Res> extends AsyncIterable<Res> {
  /**
   * The response headers. Resolves with empty metadata for a Trailers-Only response; rejects
   * with the call's error if it failed before any response.
   */
  readonly headers: Promise<Metadata>;
  /**
   * The trailers, once the call has ended (after the last response was read), also when the
   * server ended it with an error status (the error's `metadata` holds them too). Rejects with
   * the call's error if it ended without trailers (cancelled, deadline, lost connection).
   */
  readonly trailers: Promise<Metadata>;
  /**
   * Cancels the call (RST_STREAM CANCEL); pending and later reads fail CANCELLED.
   *
   * @param reason Kept as the `cause` of the CANCELLED error.
   */
  cancel(reason?: unknown): void;
}
