/**
 * `grpc`: a command-line gRPC client in the spirit of grpcurl, on this package's client, with
 * nothing to install but Deno. Descriptors come from server reflection (v1, then v1alpha) or
 * from `--proto` files; messages are read and written as proto3 JSON.
 *
 * ```sh
 * deno run -A jsr:@seed/grpc/cli list localhost:50051 --plaintext
 * deno run -A jsr:@seed/grpc/cli call localhost:50051 helloworld.Greeter/SayHello \
 *   -d '{"name": "world"}' --plaintext
 * ```
 *
 * Run with `--help` for every verb and flag. The exit code is the gRPC status code of the
 * failure (0 on success); errors print as `ERROR: <CODE> <message>`.
 *
 * @example Run the CLI in-process
 * ```ts
 * import { main } from "@seed/grpc/cli";
 * import { assertEquals } from "@std/assert";
 *
 * const out: string[] = [];
 * const code = await main(["--help"], { stdout: (s) => out.push(s) });
 * assertEquals(code, 0);
 * ```
 *
 * @module
 */

import {
  type DescMessage,
  type FileRegistry,
  fromBinary,
  fromJson,
  type JsonValue,
  toBinary,
  toJson,
} from "@bufbuild/protobuf";
import {
  type CallOptions,
  type ChannelCredentials,
  type ClientConn,
  insecure,
  newClient,
  tls,
} from "../client.ts";
import type { Codec, MethodDefinition } from "../codec.ts";
import { Metadata } from "../metadata.ts";
import { Code, codeName, StatusError } from "../status.ts";
import { checkHealth } from "../health/client.ts";
import { type CliArgs, parseArgs, UsageError } from "./args.ts";
import { type DescriptorSource, ProtoFileSource, ReflectionSource } from "./descriptors.ts";
import { describeSymbol } from "./describe.ts";

/** Where {@linkcode main} reads and writes; each defaults to the process's own. */
export interface CliIo {
  /** Request JSON lines for `-d @`. */
  stdin?: ReadableStream<Uint8Array>;
  /** Receives each output line, without its newline. */
  stdout?: (line: string) => void;
  /** Receives each error line, without its newline. */
  stderr?: (line: string) => void;
}

const HELP = `Usage: grpc <verb> ADDR [args] [flags]

Verbs:
  list ADDR [SERVICE]          list services, or the methods of SERVICE
  describe ADDR SYMBOL         print a service, method, message, enum or field as .proto text
  call ADDR SERVICE/METHOD     call a method (unary or streaming); responses are JSON lines
  health ADDR [SERVICE]        grpc.health.v1 Check; prints the status, exits 0 only if SERVING

Flags (before or after the positionals):
  --plaintext                  connect without TLS (the default is TLS with Deno's root CAs;
                               DENO_TLS_CA_STORE=system uses the OS store)
  --cacert FILE                trust the CA(s) in this PEM file instead of the default roots
  --cert FILE, --key FILE      client certificate chain and key (PEM) for mutual TLS
  --servername NAME            name to verify in the server certificate and send as SNI
                               (also when ADDR is an IP address)
  -d, --data JSON | @          request(s): JSON text (one message, or one per line), or @ to
                               read JSON lines from stdin (streamed as they arrive)
  -H, --header 'KEY: VALUE'    request metadata (repeatable; -bin keys take base64)
  --deadline DURATION          deadline of each call, e.g. 5s, 500ms, 1m30s
  --proto FILE                 use .proto files instead of server reflection (repeatable)
  -I, --import-path DIR        where --proto files' imports are found (repeatable)
  --service-config JSON|@FILE   the channel's default service config (gRFC A2): load
                               balancing, per-method timeouts, waitForReady, message limits
  -h, --help                   this text

Exit code: 0 on success, else the gRPC status code (INVALID_ARGUMENT for bad usage);
errors print as "ERROR: <CODE> <message>".`;

/**
 * Runs the CLI.
 * @param argv The arguments after the program name.
 * @param io Where to read and write; defaults to the process's stdin, stdout and stderr.
 * @returns The exit code: 0, or the gRPC status code of the failure.
 */
export async function main(argv: readonly string[], io: CliIo = {}): Promise<number> {
  const stdout = io.stdout ?? ((line: string) => console.log(line));
  const stderr = io.stderr ?? ((line: string) => console.error(line));
  let registry: FileRegistry | undefined;
  try {
    const args = parseArgs(argv);
    if (args.verb === "help") {
      stdout(HELP);
      return 0;
    }
    return await run(args, () => io.stdin ?? Deno.stdin.readable, stdout, (r) => registry = r);
  } catch (error) {
    const status = error instanceof UsageError
      ? new StatusError(Code.InvalidArgument, `${error.message} (see --help)`)
      : StatusError.from(error);
    stderr(`ERROR: ${codeName(status.code)} ${status.rawMessage}`);
    for (const detail of status.details) stderr(`  details: ${detailText(detail, registry)}`);
    return status.code;
  }
}

// How many positionals each verb takes after the address.
const ARITY = { list: [0, 1], describe: [1, 1], call: [1, 1], health: [0, 1] } as const;

async function run(
  args: CliArgs,
  stdin: () => ReadableStream<Uint8Array>,
  stdout: (line: string) => void,
  onRegistry: (r: FileRegistry) => void,
): Promise<number> {
  const [addr, ...rest] = args.positionals;
  if (addr === undefined) throw new UsageError(`${args.verb} needs an address`);
  const [min, max] = ARITY[args.verb as Exclude<CliArgs["verb"], "help">];
  if (rest.length < min || rest.length > max) {
    const expected = min === max ? `${min}` : `${min} to ${max}`;
    throw new UsageError(
      `${args.verb} takes ${expected} argument(s) after the address, got ${rest.length}`,
    );
  }
  if (args.data !== undefined && args.verb !== "call") throw new UsageError("-d is for call");
  const options: CallOptions = { metadata: headers(args.headers) };
  if (args.deadlineMs !== undefined) options.timeoutMs = args.deadlineMs;
  const creds = credentials(args);
  let conn: ClientConn;
  try {
    conn = newClient(addr, { credentials: creds, defaultServiceConfig: serviceConfig(args) });
  } catch (error) {
    // A target or service config the channel refuses is bad usage.
    if (error instanceof TypeError) throw new UsageError(error.message);
    throw error;
  }
  let source: DescriptorSource | undefined;
  try {
    if (args.verb === "health") {
      const status = await checkHealth(conn, rest[0] ?? "", options);
      stdout(status);
      return status === "SERVING" ? 0 : Code.Unavailable;
    }
    source = args.protos.length > 0
      ? await ProtoFileSource.load(args.protos, args.importPaths)
      : new ReflectionSource(conn, options);
    if (args.verb === "list") {
      if (rest.length === 0) {
        for (const name of await source.listServices()) stdout(name);
        return 0;
      }
      const registry = await source.registryFor(rest[0]);
      const service = registry.getService(rest[0]);
      if (service === undefined) throw new StatusError(Code.NotFound, `no service ${rest[0]}`);
      for (const m of service.methods) stdout(`${service.typeName}.${m.name}`);
      return 0;
    }
    if (args.verb === "describe") {
      stdout(describeSymbol(await source.registryFor(rest[0]), rest[0]));
      return 0;
    }
    // call
    const [serviceName, methodName] = splitMethod(rest[0]);
    const registry = await source.registryFor(serviceName);
    onRegistry(registry);
    const service = registry.getService(serviceName);
    const method = service?.methods.find((m) => m.name === methodName);
    if (method === undefined) {
      throw new StatusError(
        Code.NotFound,
        service === undefined
          ? `no service ${serviceName}`
          : `service ${serviceName} has no method ${methodName}`,
      );
    }
    source.close(); // the reflection stream is done before the call starts
    const definition = rawMethod(
      `/${serviceName}/${methodName}`,
      method.methodKind === "client_streaming" || method.methodKind === "bidi_streaming",
      method.methodKind === "server_streaming" || method.methodKind === "bidi_streaming",
    );
    const encode = (json: string) => encodeJson(registry, method.input, json);
    const print = (bytes: Uint8Array) =>
      stdout(JSON.stringify(toJson(method.output, fromBinary(method.output, bytes), { registry })));
    const requests = requestTexts(args.data, stdin);
    if (!definition.requestStream) {
      const [one, ...more] = await collect(requests, 2);
      if (more.length > 0) {
        throw new StatusError(Code.InvalidArgument, `${methodName} takes exactly one request`);
      }
      const request = encode(one ?? "{}");
      if (!definition.responseStream) {
        print(await conn.invoke(definition, request, options));
        return 0;
      }
      const stream = conn.newStream(definition, options);
      await stream.sendMsg(request);
      stream.closeSend();
      for await (const response of stream) print(response);
      return 0;
    }
    const stream = conn.newStream(definition, options);
    let sendError: unknown;
    const sending = (async () => {
      try {
        for await (const text of requests) await stream.sendMsg(encode(text));
        stream.closeSend();
      } catch (error) {
        sendError = error;
        stream.cancel(error);
      }
    })();
    try {
      for await (const response of stream) print(response);
    } catch (error) {
      await sending;
      throw sendError ?? error;
    }
    await sending;
    if (sendError !== undefined) throw sendError;
    return 0;
  } finally {
    source?.close();
    await conn.close();
  }
}

// --service-config: JSON text, or @path to a file holding it (the channel checks it).
function serviceConfig(args: CliArgs): string | undefined {
  const v = args.serviceConfig;
  return v?.startsWith("@") ? Deno.readTextFileSync(v.slice(1)) : v;
}

// --plaintext, or TLS from --cacert, --cert, --key, --servername (grpcurl's flags).
function credentials(args: CliArgs): ChannelCredentials {
  const tlsFlags = [args.cacert, args.cert, args.key, args.servername];
  if (args.plaintext) {
    if (tlsFlags.some((f) => f !== undefined)) {
      throw new UsageError(
        "--plaintext cannot be combined with --cacert, --cert, --key or --servername",
      );
    }
    return insecure();
  }
  if ((args.cert === undefined) !== (args.key === undefined)) {
    throw new UsageError("--cert and --key go together");
  }
  const read = (path: string) => Deno.readTextFileSync(path);
  return tls({
    caCerts: args.cacert === undefined ? undefined : [read(args.cacert)],
    cert: args.cert === undefined ? undefined : read(args.cert),
    key: args.key === undefined ? undefined : read(args.key),
    serverName: args.servername,
  });
}

function headers(lines: readonly string[]): Metadata {
  const md = new Metadata();
  for (const line of lines) {
    const colon = line.indexOf(":");
    if (colon <= 0) throw new UsageError(`header "${line}" is not "key: value"`);
    const key = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    try {
      if (key.endsWith("-bin")) {
        md.append(key, Uint8Array.from(atob(value), (c) => c.charCodeAt(0)));
      } else md.append(key, value);
    } catch (error) {
      throw new UsageError(`header "${line}": ${(error as Error).message}`);
    }
  }
  return md;
}

function splitMethod(text: string): [string, string] {
  const at = text.includes("/") ? text.lastIndexOf("/") : text.lastIndexOf(".");
  if (at <= 0 || at === text.length - 1) {
    throw new UsageError(`"${text}" is not SERVICE/METHOD (e.g. helloworld.Greeter/SayHello)`);
  }
  return [text.slice(0, at).replace(/^\//, ""), text.slice(at + 1)];
}

const passBytes: Codec<Uint8Array> = { encode: (b) => b, decode: (b) => b };

function rawMethod(
  path: string,
  requestStream: boolean,
  responseStream: boolean,
): MethodDefinition<Uint8Array, Uint8Array> {
  const name = path.slice(path.lastIndexOf("/") + 1);
  return {
    name,
    localName: name.charAt(0).toLowerCase() + name.slice(1),
    path,
    requestStream,
    responseStream,
    requestCodec: passBytes,
    responseCodec: passBytes,
  };
}

function encodeJson(registry: FileRegistry, type: DescMessage, text: string): Uint8Array {
  let json: JsonValue;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new StatusError(Code.InvalidArgument, `bad request JSON: ${(error as Error).message}`);
  }
  try {
    return toBinary(type, fromJson(type, json, { registry }));
  } catch (error) {
    throw new StatusError(
      Code.InvalidArgument,
      `bad ${type.typeName} request: ${(error as Error).message}`,
    );
  }
}

// The request messages' JSON texts: -d's text (one JSON value, or one per line), stdin's lines
// for -d @ (as they arrive), or one empty message.
async function* requestTexts(
  data: string | undefined,
  stdin: () => ReadableStream<Uint8Array>,
): AsyncGenerator<string> {
  if (data === undefined) {
    yield "{}";
    return;
  }
  if (data !== "@") {
    try {
      JSON.parse(data);
      yield data;
    } catch {
      for (const line of data.split("\n")) if (line.trim() !== "") yield line;
    }
    return;
  }
  let buffered = "";
  for await (const chunk of stdin().pipeThrough(new TextDecoderStream())) {
    buffered += chunk;
    let nl;
    while ((nl = buffered.indexOf("\n")) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      if (line.trim() !== "") yield line;
    }
  }
  if (buffered.trim() !== "") yield buffered;
}

async function collect(texts: AsyncGenerator<string>, max: number): Promise<string[]> {
  const out: string[] = [];
  for await (const text of texts) {
    out.push(text);
    if (out.length >= max) break;
  }
  return out;
}

function detailText(
  detail: { typeUrl: string; value: Uint8Array },
  registry: FileRegistry | undefined,
): string {
  const name = detail.typeUrl.slice(detail.typeUrl.lastIndexOf("/") + 1);
  const type = registry?.getMessage(name);
  if (type !== undefined) {
    try {
      return `${detail.typeUrl} ${
        JSON.stringify(toJson(type, fromBinary(type, detail.value), { registry }))
      }`;
    } catch {
      // fall through to base64
    }
  }
  return `${detail.typeUrl} ${btoa(String.fromCharCode(...detail.value))}`;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
