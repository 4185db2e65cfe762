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
  return new Proxy(services, { get: rememberMisses });
}

// ---------------------------------------------------------------------------------------------
// Lookups that miss: `services["KeyValue"]` (no package) is `undefined`, and createClient /
// addService then receive `undefined`. Throwing on the lookup would break `await loadProto()`
// (which reads `.then`) and `services[x] ?? y`, so a miss is only remembered, until the current
// synchronous run ends, for the error that follows it.

interface Miss {
  readonly key: string;
  readonly available: readonly string[];
}
let lastMiss: Miss | undefined;

function rememberMisses(
  target: Record<string, ServiceDefinition>,
  key: string | symbol,
  receiver: unknown,
): unknown {
  if (typeof key === "string" && key !== "then" && !(key in target)) {
    const miss = { key, available: Object.keys(target) };
    lastMiss = miss;
    queueMicrotask(() => {
      if (lastMiss === miss) lastMiss = undefined;
    });
  }
  return Reflect.get(target, key, receiver);
}

/**
 * The error for a service definition that is not one: `undefined` (a lookup that missed) or
 * another value. Names the key that missed and the keys there are, when the lookup just happened.
 * @param context "Cannot create client" or "Cannot add service".
 */
export function notAServiceError(context: string, service: unknown): TypeError {
  if (service !== undefined && service !== null) {
    return new TypeError(
      `${context}: service is not a service definition (got ${typeof service}); use one from loadProto()`,
    );
  }
  const miss = lastMiss;
  if (miss === undefined) {
    return new TypeError(
      `${context}: service is ${service}. loadProto() keys services by their full name, with the package: services["helloworld.Greeter"]`,
    );
  }
  const key = JSON.stringify(miss.key);
  const suffix = `.${miss.key}`;
  const match = miss.available.filter((name) => name.endsWith(suffix));
  const hint = match.length === 1 ? `; did you mean services[${JSON.stringify(match[0])}]?` : "";
  const list = miss.available.length === 0
    ? "none were loaded"
    : `the services are ${miss.available.map((n) => JSON.stringify(n)).join(", ")}`;
  return new TypeError(
    `${context}: service is undefined: there is no service ${key} (keys are full names, with the package); ${list}${hint}`,
  );
}

/** Whether `service` looks like a {@linkcode ServiceDefinition}. */
export function isServiceDefinition(service: unknown): service is ServiceDefinition {
  return typeof service === "object" && service !== null &&
    typeof (service as ServiceDefinition).name === "string" &&
    typeof (service as ServiceDefinition).methods === "object" &&
    (service as ServiceDefinition).methods !== null;
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
