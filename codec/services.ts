// Service definitions from a protobufjs root: servicesFromRoot, and the walk that finds every
// service and turns its methods into MethodDefinitions with codecs (what grpc-js's
// proto-loader produces).

import protobuf from "protobufjs";
import type { Namespace, Service } from "protobufjs";
import type { MethodDefinition, ServiceDefinition } from "../codec.ts";
import {
  codecFor,
  type CodecOptions,
  protobufErrorMessage,
  PROTOBUFJS,
  resolveCodecOptions,
  type ResolvedCodecOptions,
  trimDot,
} from "./protobuf.ts";

/**
 * Makes service definitions from a protobufjs `Root` you built yourself (with `protobuf.parse`,
 * `Root.load`, `Root.fromJSON` or static code's reflection). Every service in the root, at any
 * depth, is returned. Field names are used as the root has them: protobufjs applies `keepCase`
 * while parsing.
 *
 * @param root The root (any protobufjs namespace works); it is resolved (`root.resolveAll()`)
 *   if it is not yet.
 * @param options Codec options for every request and response codec.
 * @returns The services, keyed by fully qualified name (`"helloworld.Hello"`).
 * @throws {SyntaxError} The root uses a type that it does not define.
 * @throws {TypeError} `root` is not a protobufjs namespace of this module's copy, a service has
 *   two methods whose local names collide, or an option has the wrong type.
 * @throws {RangeError} `longs` or `enums` is not one of its allowed values.
 *
 * @example Services from a parsed root
 * ```ts
 * import { servicesFromRoot } from "@seed/grpc";
 * import { assertEquals } from "@std/assert";
 * import protobuf from "protobufjs";
 *
 * const { root } = protobuf.parse(`syntax = "proto3";
 *   package a.b;
 *   service Clock { rpc Now (Req) returns (stream Tick); }
 *   message Req {}
 *   message Tick { int64 unix_ms = 1; }`);
 * const now = servicesFromRoot(root, { longs: "number" })["a.b.Clock"].methods.now;
 * assertEquals(now.responseStream, true);
 * assertEquals(now.responseCodec.decode(now.responseCodec.encode({ unixMs: 1700000000000 })), {
 *   unixMs: 1700000000000,
 * });
 * ```
 */
export function servicesFromRoot(
  root: ProtobufRoot,
  options?: CodecOptions,
): Record<string, ServiceDefinition> {
  if (!(root instanceof protobuf.Namespace)) {
    throw new TypeError(`Cannot read services: root is not a Root of ${PROTOBUFJS}`);
  }
  return collectServices(root, resolveCodecOptions(options));
}

/**
 * A protobufjs `Root`, e.g. `protobuf.parse(text).root`, `new protobuf.Root()` or
 * `protobuf.Root.fromJSON(json)`, made by the copy of protobufjs this module imports
 * (`npm:protobufjs@7.6.6`; `instanceof` must hold). Only the members this module relies on
 * are declared, so that its documentation need not carry protobufjs's.
 *
 * @example Parse a root
 * ```ts
 * import type { ProtobufRoot } from "@seed/grpc";
 * import protobuf from "protobufjs";
 *
 * const root: ProtobufRoot = protobuf.parse(`syntax = "proto3"; message Empty {}`).root;
 * ```
 */
export interface ProtobufRoot {
  /** The namespaces, types and services at the top level. */
  readonly nestedArray: readonly unknown[];
  /** Resolves every type reference. */
  resolveAll(): unknown;
}

// ---------------------------------------------------------------------------------------------
// Services

/** Every service in `root`, resolved first, keyed by fully qualified name. */
export function collectServices(
  root: Namespace,
  options: ResolvedCodecOptions,
): Record<string, ServiceDefinition> {
  resolveRoot(root);
  const services: Record<string, ServiceDefinition> = {};
  walk(root, services, options);
  return services;
}

function walk(
  namespace: Namespace,
  out: Record<string, ServiceDefinition>,
  options: ResolvedCodecOptions,
): void {
  for (const object of namespace.nestedArray) {
    if (object instanceof protobuf.Service) {
      const service = serviceDefinition(object, options);
      out[service.name] = service;
    } else if (object instanceof protobuf.Namespace) {
      walk(object, out, options); // packages, and messages (which may nest more packages' types)
    }
  }
}

function serviceDefinition(service: Service, options: ResolvedCodecOptions): ServiceDefinition {
  const name = trimDot(service.fullName);
  const methods: Record<string, MethodDefinition> = {};
  for (const method of service.methodsArray) {
    const localName = protobuf.util.lcFirst(method.name);
    const previous = methods[localName];
    if (previous !== undefined) {
      throw new TypeError(
        `Cannot define service ${name}: methods ${previous.name} and ${method.name} have the same local name ${localName}`,
      );
    }
    methods[localName] = Object.freeze({
      name: method.name,
      localName,
      path: `/${name}/${method.name}`,
      requestStream: method.requestStream === true,
      responseStream: method.responseStream === true,
      // resolveRoot() resolved every method, so these are set.
      requestCodec: codecFor(method.resolvedRequestType!, options),
      responseCodec: codecFor(method.resolvedResponseType!, options),
    });
  }
  return Object.freeze({ name, methods: Object.freeze(methods) });
}

// Resolves every type reference, turning protobufjs's terse errors into ones that say where.
function resolveRoot(root: Namespace): void {
  try {
    root.resolveAll();
  } catch (error) {
    throw new SyntaxError(`Cannot resolve proto types: ${describeResolveError(root, error)}`, {
      cause: error,
    });
  }
}

function describeResolveError(root: Namespace, error: unknown): string {
  const message = protobufErrorMessage(error);
  // Field errors read "no such Type or Enum 'Foo' in Type .pkg.Msg"; name the file it came from.
  const inType = / in \w+ \.([\w.]+)$/.exec(message);
  const owner = inType === null ? null : root.lookup(inType[1]);
  if (owner?.filename) return `${owner.filename}: ${message}`;
  // Method errors read "no such type: Foo"; find the method that names it.
  const noType = /^no such type: (.+)$/.exec(message);
  if (noType !== null) {
    for (const service of servicesOf(root)) {
      for (const method of service.methodsArray) {
        if (method.requestType !== noType[1] && method.responseType !== noType[1]) continue;
        const where = service.filename ? `${service.filename}: ` : "";
        return `${where}rpc ${trimDot(service.fullName)}.${method.name} uses undefined type ${
          noType[1]
        }`;
      }
    }
  }
  return message;
}

function* servicesOf(namespace: Namespace): Generator<Service> {
  for (const object of namespace.nestedArray) {
    if (object instanceof protobuf.Service) yield object;
    else if (object instanceof protobuf.Namespace) yield* servicesOf(object);
  }
}
