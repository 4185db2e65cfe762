// A server reflection client: one ServerReflectionInfo stream, v1 first, v1alpha when the
// server does not have v1. Used by the CLI.

import type { CallOptions, ClientConn, ClientStream } from "../client.ts";
import { Code, StatusError } from "../status.ts";
import { reflectionServiceV1, reflectionServiceV1Alpha } from "./proto.ts";

interface Response {
  fileDescriptorResponse?: { fileDescriptorProto: Uint8Array[] } | null;
  allExtensionNumbersResponse?: { baseTypeName: string; extensionNumber: number[] } | null;
  listServicesResponse?: { service: { name: string }[] } | null;
  errorResponse?: { errorCode: number; errorMessage: string } | null;
}

/**
 * Asks a server what it serves, over the server reflection protocol. Requests go one at a time
 * over one stream, opened on first use: `grpc.reflection.v1`, or `v1alpha` when the server
 * answers v1 with UNIMPLEMENTED (grpc-go before 1.45 has only v1alpha). File answers are
 * serialized `google.protobuf.FileDescriptorProto`s, the requested file first, then those of
 * its imports that this stream has not sent yet.
 *
 * @example List services and fetch a descriptor
 * ```ts
 * import { dial, insecure, Server } from "@seed/grpc";
 * import { ReflectionClient, registerReflection } from "@seed/grpc/reflection";
 * import { assertEquals } from "@std/assert";
 *
 * const server = new Server();
 * registerReflection(server);
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const serving = server.serve(listener);
 * const conn = await dial(`127.0.0.1:${listener.addr.port}`, { credentials: insecure() });
 * const reflection = new ReflectionClient(conn);
 * const files = await reflection.fileContainingSymbol("grpc.reflection.v1.ServerReflection");
 * assertEquals(files.length, 1);
 * assertEquals(reflection.version, "v1");
 * reflection.close();
 * await conn.close();
 * await server.stop();
 * await serving;
 * ```
 */
export class ReflectionClient {
  readonly #conn: ClientConn;
  readonly #options: CallOptions | undefined;
  #stream: ClientStream | undefined;
  #version: "v1" | "v1alpha" = "v1";
  #answered = false;
  #queue: Promise<unknown> = Promise.resolve();

  /**
   * Makes a client; the stream opens on the first request.
   * @param conn The connection to ask over.
   * @param options Call options of the stream (metadata, deadline for the whole stream, signal).
   */
  constructor(conn: ClientConn, options?: CallOptions) {
    this.#conn = conn;
    this.#options = options;
  }

  /** The protocol version in use: `"v1"` until the server turned it down. */
  get version(): "v1" | "v1alpha" {
    return this.#version;
  }

  /**
   * The fully qualified names of the services the server lists.
   * @returns The names, in the server's order.
   * @throws {StatusError} The stream failed (UNIMPLEMENTED: no reflection service).
   */
  async listServices(): Promise<string[]> {
    const r = await this.#ask({ listServices: "*" });
    return (r.listServicesResponse?.service ?? []).map((s) => s.name);
  }

  /**
   * The file named `filename`, with its imports not sent yet.
   * @param filename A file name as importers write it (`grpc/health/v1/health.proto`).
   * @returns Serialized FileDescriptorProtos.
   * @throws {StatusError} NOT_FOUND when the server has no such file, or the stream's error.
   */
  async fileByFilename(filename: string): Promise<Uint8Array[]> {
    return files(await this.#ask({ fileByFilename: filename }));
  }

  /**
   * The file declaring `symbol`, with its imports not sent yet.
   * @param symbol A fully qualified name: service, method, message, field, enum, enum value.
   * @returns Serialized FileDescriptorProtos.
   * @throws {StatusError} NOT_FOUND when the server knows no such symbol, or the stream's error.
   */
  async fileContainingSymbol(symbol: string): Promise<Uint8Array[]> {
    return files(await this.#ask({ fileContainingSymbol: symbol }));
  }

  /**
   * The file declaring extension `number` of message `containingType`.
   * @param containingType The extended message's fully qualified name.
   * @param number The extension's field number.
   * @returns Serialized FileDescriptorProtos.
   * @throws {StatusError} NOT_FOUND when there is no such extension, or the stream's error.
   */
  async fileContainingExtension(containingType: string, number: number): Promise<Uint8Array[]> {
    return files(
      await this.#ask({
        fileContainingExtension: { containingType, extensionNumber: number },
      }),
    );
  }

  /**
   * The extension numbers the server knows for message `type`.
   * @param type The message's fully qualified name.
   * @returns The numbers.
   * @throws {StatusError} NOT_FOUND when there is no such message, or the stream's error.
   */
  async allExtensionNumbersOfType(type: string): Promise<number[]> {
    const r = await this.#ask({ allExtensionNumbersOfType: type });
    return r.allExtensionNumbersResponse?.extensionNumber ?? [];
  }

  /** Ends the stream (half-close; the server then ends it OK). Idempotent. */
  close(): void {
    this.#stream?.closeSend();
    this.#stream = undefined;
  }

  #ask(request: Record<string, unknown>): Promise<Response> {
    const next = this.#queue.then(() => this.#roundTrip(request));
    this.#queue = next.catch(() => {});
    return next;
  }

  async #roundTrip(request: Record<string, unknown>): Promise<Response> {
    try {
      return await this.#once(request);
    } catch (error) {
      // An error response leaves the stream usable; anything else ended it: the next request
      // opens a new one.
      if (!(error instanceof ErrorResponse)) this.#stream = undefined;
      // No v1 on this server: ask again over v1alpha (same messages, another package).
      const unimplemented = error instanceof StatusError && error.code === Code.Unimplemented;
      if (!unimplemented || this.#answered || this.#version === "v1alpha") throw error;
      this.#version = "v1alpha";
      this.#stream = undefined;
      return await this.#once(request);
    }
  }

  async #once(request: Record<string, unknown>): Promise<Response> {
    if (this.#stream === undefined) {
      const service = this.#version === "v1" ? reflectionServiceV1 : reflectionServiceV1Alpha;
      this.#stream = this.#conn.newStream(service.methods.serverReflectionInfo, this.#options);
    }
    const stream = this.#stream;
    await stream.sendMsg({ host: "", ...request });
    const reply = await stream.recvMsg() as Response | null;
    if (reply === null) {
      this.#stream = undefined;
      throw new StatusError(Code.Internal, "reflection stream ended without an answer");
    }
    this.#answered = true;
    const error = reply.errorResponse;
    if (error) {
      const code =
        (error.errorCode > 0 && error.errorCode <= 16 ? error.errorCode : Code.Unknown) as Code;
      throw new ErrorResponse(code, error.errorMessage);
    }
    return reply;
  }
}

// An error_response: the request failed, the stream goes on.
class ErrorResponse extends StatusError {}

function files(r: Response): Uint8Array[] {
  return r.fileDescriptorResponse?.fileDescriptorProto ?? [];
}
