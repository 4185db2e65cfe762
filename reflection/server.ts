// The server reflection service, v1 and v1alpha from one implementation: what a server serves,
// described with FileDescriptorProtos of the .proto files it loaded. grpc-go:
// reflection/serverreflection.go, reflection/internal/internal.go.

import type { ServiceDefinition } from "../codec.ts";
import type { Server, ServerContext } from "../server.ts";
import { Code, StatusError } from "../status.ts";
import { type ProtoSourceSet, protoSourcesOf } from "../internal/proto_sources.ts";
import { buildFileDescriptors } from "../protodesc/build.ts";
import {
  encodeFileDescriptorProto,
  type FileDescriptorProto,
} from "../protodesc/descriptor_proto.ts";
import { DescriptorRegistry } from "../protodesc/registry.ts";
import { reflectionServiceV1, reflectionServiceV1Alpha } from "./proto.ts";

/** Options of {@linkcode registerReflection}. */
export interface ReflectionOptions {
  /**
   * More service definitions whose .proto files reflection describes, beyond the server's own
   * (for example services another process serves behind this one). Their names are not listed.
   * @default {[]}
   */
  extraServices?: readonly ServiceDefinition[];
}

// The request and response shapes, as the embedded protos decode with the default codec
// options (camelCase names, a virtual property naming the set oneof member).
interface ReflectionRequest {
  host: string;
  messageRequest?: string;
  fileByFilename?: string;
  fileContainingSymbol?: string;
  fileContainingExtension?: { containingType: string; extensionNumber: number };
  allExtensionNumbersOfType?: string;
  listServices?: string;
}

type ReflectionResponse = {
  validHost: string;
  originalRequest: ReflectionRequest;
  fileDescriptorResponse?: { fileDescriptorProto: Uint8Array[] };
  allExtensionNumbersResponse?: { baseTypeName: string; extensionNumber: number[] };
  listServicesResponse?: { service: { name: string }[] };
  errorResponse?: { errorCode: number; errorMessage: string };
};

/**
 * Adds the server reflection service to `server`, in both versions
 * (`grpc.reflection.v1.ServerReflection` and `grpc.reflection.v1alpha.ServerReflection`), so
 * grpcurl, Postman, `grpc_cli` and this package's CLI can list and call its services without
 * .proto files. grpc-go: `reflection.Register`.
 *
 * It lists every registered service (itself included), and describes every file loaded along
 * with them (with {@linkcode loadProto} or {@linkcode loadProtoSync}): each file's
 * `FileDescriptorProto`, built as protoc would, sent with the dependencies the stream has not
 * sent yet. Symbols are looked up across all those files, registered service or not. The
 * descriptors are built on the first request. Services built another way are listed but not
 * described.
 *
 * @param server The server, before `serve`; register every other service first or after, as
 *   long as it is before `serve`.
 * @param options See {@linkcode ReflectionOptions}.
 * @throws {TypeError} The server already has a reflection service or is serving.
 *
 * @example Serve reflection and list the services
 * ```ts
 * import { dial, insecure, loadProto, Server } from "@seed/grpc";
 * import { ReflectionClient, registerReflection } from "@seed/grpc/reflection";
 * import { assertEquals } from "@std/assert";
 *
 * const services = await loadProto({
 *   source: `syntax = "proto3"; package demo;
 *     service Echo { rpc Say (Msg) returns (Msg); } message Msg { string text = 1; }`,
 *   name: "demo/echo.proto",
 * });
 * const server = new Server();
 * server.addService(services["demo.Echo"], { say: (m: { text: string }) => m });
 * registerReflection(server);
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const serving = server.serve(listener);
 *
 * const conn = await dial(`127.0.0.1:${listener.addr.port}`, { credentials: insecure() });
 * const reflection = new ReflectionClient(conn);
 * assertEquals(await reflection.listServices(), [
 *   "demo.Echo",
 *   "grpc.reflection.v1.ServerReflection",
 *   "grpc.reflection.v1alpha.ServerReflection",
 * ]);
 * reflection.close();
 * await conn.close();
 * await server.stop();
 * await serving;
 * ```
 */
export function registerReflection(server: Server, options: ReflectionOptions = {}): void {
  const index = new ReflectionIndex(server, options.extraServices ?? []);
  const handler = (requests: AsyncIterable<ReflectionRequest>, ctx: ServerContext) =>
    serveReflection(index, requests, ctx);
  server.addService(reflectionServiceV1, { serverReflectionInfo: handler });
  server.addService(reflectionServiceV1Alpha, { serverReflectionInfo: handler });
}

// The server's services and files, indexed on first use (after every addService).
class ReflectionIndex {
  readonly #server: Server;
  readonly #extra: readonly ServiceDefinition[];
  #registry: DescriptorRegistry | undefined;
  #encoded = new Map<string, Uint8Array>();
  #services: string[] | undefined;

  constructor(server: Server, extra: readonly ServiceDefinition[]) {
    this.#server = server;
    this.#extra = extra;
  }

  get registry(): DescriptorRegistry {
    if (this.#registry === undefined) {
      const registry = new DescriptorRegistry();
      // One build per load: files of different loads never share a protobufjs root, and a file
      // two loads share (a well-known type, a common import) is described once.
      const sets = new Set<ProtoSourceSet>();
      for (const definition of [...this.#server.getServiceInfo().values(), ...this.#extra]) {
        const set = protoSourcesOf(definition);
        if (set !== undefined) sets.add(set);
      }
      for (const set of sets) registry.add(buildFileDescriptors(set));
      this.#registry = registry;
    }
    return this.#registry;
  }

  get services(): string[] {
    this.#services ??= [...this.#server.getServiceInfo().keys()].sort();
    return this.#services;
  }

  encoded(file: FileDescriptorProto): Uint8Array {
    let bytes = this.#encoded.get(file.name);
    if (bytes === undefined) this.#encoded.set(file.name, bytes = encodeFileDescriptorProto(file));
    return bytes;
  }

  // The file and its transitive imports not yet sent on this stream; the file itself always
  // (grpc-go fileDescWithDependencies: breadth first).
  withDependencies(file: FileDescriptorProto, sent: Set<string>): Uint8Array[] {
    const out: Uint8Array[] = [];
    const queue = [file];
    while (queue.length > 0) {
      const current = queue.shift()!;
      if (out.length === 0 || !sent.has(current.name)) {
        sent.add(current.name);
        out.push(this.encoded(current));
      }
      for (const dep of current.dependency) {
        const d = this.registry.file(dep);
        if (d !== undefined && !sent.has(dep)) queue.push(d);
      }
    }
    return out;
  }
}

async function* serveReflection(
  index: ReflectionIndex,
  requests: AsyncIterable<ReflectionRequest>,
  _ctx: ServerContext,
): AsyncGenerator<ReflectionResponse> {
  const sent = new Set<string>();
  for await (const req of requests) {
    yield answer(index, req, sent);
  }
}

function notFound(req: ReflectionRequest, message: string): ReflectionResponse {
  return {
    validHost: req.host,
    originalRequest: req,
    errorResponse: { errorCode: Code.NotFound, errorMessage: message },
  };
}

function files(req: ReflectionRequest, list: Uint8Array[]): ReflectionResponse {
  return {
    validHost: req.host,
    originalRequest: req,
    fileDescriptorResponse: { fileDescriptorProto: list },
  };
}

function answer(index: ReflectionIndex, req: ReflectionRequest, sent: Set<string>) {
  const registry = index.registry;
  switch (req.messageRequest) {
    case "fileByFilename": {
      const file = registry.file(req.fileByFilename!);
      if (file === undefined) return notFound(req, `file not found: ${req.fileByFilename}`);
      return files(req, index.withDependencies(file, sent));
    }
    case "fileContainingSymbol": {
      const symbol = req.fileContainingSymbol!;
      const file = registry.fileContainingSymbol(symbol);
      if (file === undefined) return notFound(req, `symbol not found: ${symbol}`);
      return files(req, index.withDependencies(file, sent));
    }
    case "fileContainingExtension": {
      const { containingType, extensionNumber } = req.fileContainingExtension!;
      const file = registry.fileContainingExtension(containingType, extensionNumber);
      if (file === undefined) {
        return notFound(req, `extension not found: ${containingType} ${extensionNumber}`);
      }
      return files(req, index.withDependencies(file, sent));
    }
    case "allExtensionNumbersOfType": {
      const type = req.allExtensionNumbersOfType!;
      const numbers = registry.extensionNumbers(type);
      if (numbers === undefined) return notFound(req, `type not found: ${type}`);
      return {
        validHost: req.host,
        originalRequest: req,
        allExtensionNumbersResponse: { baseTypeName: type, extensionNumber: numbers },
      };
    }
    case "listServices":
      return {
        validHost: req.host,
        originalRequest: req,
        listServicesResponse: { service: index.services.map((name) => ({ name })) },
      };
    default:
      throw new StatusError(Code.InvalidArgument, "invalid MessageRequest: none set");
  }
}
