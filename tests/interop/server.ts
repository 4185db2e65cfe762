// The gRPC interop test server (grpc/grpc doc/interop-test-descriptions.md, "Server"):
// grpc.testing.TestService over h2c (or TLS) on 127.0.0.1, written with the public API.
//
//   deno run -A tests/interop/server.ts --port=0      prints "READY port=N", exits on SIGTERM
//     [--use_tls=true --tls_cert_file=PATH --tls_key_file=PATH [--client_ca_file=PATH]]
//
// Every call echoes `x-grpc-test-echo-initial` in its response headers and
// `x-grpc-test-echo-trailing-bin` in its trailers. UnimplementedCall is left out, so it answers
// UNIMPLEMENTED.

import { delay } from "@std/async/delay";
import {
  Code,
  loadProto,
  Metadata,
  Server,
  type ServerContext,
  type ServerListener,
  serverTls,
  StatusError,
  stopOnSignals,
} from "@seed/grpc";
import { HealthServer } from "@seed/grpc/health";
import { registerReflection } from "@seed/grpc/reflection";
import { parseGoFlags } from "../../internal/flags.ts";

interface Payload {
  type?: string;
  body: Uint8Array;
}
interface EchoStatus {
  code: number;
  message: string;
}
interface BoolValue {
  value: boolean;
}
interface SimpleRequest {
  responseSize: number;
  payload: Payload | null;
  responseCompressed: BoolValue | null;
  responseStatus: EchoStatus | null;
  expectCompressed: BoolValue | null;
}
interface ResponseParameters {
  size: number;
  intervalUs: number;
  compressed: BoolValue | null;
}
interface StreamingOutputCallRequest {
  responseParameters: ResponseParameters[];
  payload: Payload | null;
  responseStatus: EchoStatus | null;
}
interface StreamingInputCallRequest {
  payload: Payload | null;
  expectCompressed: BoolValue | null;
}

const INTEROP_DIR = new URL("./", import.meta.url).pathname;

/** Loads the interop protos (grpc.testing.*). */
export function loadInteropServices(): ReturnType<typeof loadProto> {
  return loadProto(new URL("./grpc/testing/test.proto", import.meta.url), {
    includeDirs: [INTEROP_DIR],
  });
}

function payload(size: number): Payload {
  return { type: "COMPRESSABLE", body: new Uint8Array(size) };
}

// Echo the test metadata: initial into headers now, trailing-bin into trailers.
function echoMetadata(ctx: ServerContext): void {
  const initial = ctx.metadata.get("x-grpc-test-echo-initial");
  if (typeof initial === "string") {
    ctx.setHeader(new Metadata({ "x-grpc-test-echo-initial": initial }));
  }
  const trailing = ctx.metadata.get("x-grpc-test-echo-trailing-bin");
  if (trailing instanceof Uint8Array) {
    ctx.setTrailer(new Metadata({ "x-grpc-test-echo-trailing-bin": trailing }));
  }
}

function checkStatus(status: EchoStatus | null): void {
  if (status !== null && status.code !== 0) {
    throw new StatusError(status.code as Code, status.message);
  }
}

function checkCompressed(expect: BoolValue | null, ctx: ServerContext): void {
  if (expect?.value === true && !ctx.requestCompressed) {
    throw new StatusError(Code.InvalidArgument, "Expected a compressed request");
  }
}

// Per-message compression as the response parameters ask.
function compressNext(ctx: ServerContext, compressed: BoolValue | null): void {
  if (compressed?.value === true) {
    ctx.setCompression("gzip");
    ctx.setMessageCompression(true);
  } else {
    ctx.setMessageCompression(false);
  }
}

function unary(req: SimpleRequest, ctx: ServerContext) {
  echoMetadata(ctx);
  checkCompressed(req.expectCompressed, ctx);
  checkStatus(req.responseStatus);
  compressNext(ctx, req.responseCompressed);
  return { payload: payload(req.responseSize) };
}

async function* streamOut(params: ResponseParameters[], ctx: ServerContext) {
  for (const p of params) {
    if (p.intervalUs > 0) await delay(p.intervalUs / 1000, { signal: ctx.signal });
    compressNext(ctx, p.compressed);
    yield { payload: payload(p.size) };
  }
}

/** Builds the interop server (not yet serving). */
export async function createInteropServer(): Promise<Server> {
  const services = await loadInteropServices();
  const server = new Server();
  server.addService(services["grpc.testing.TestService"], {
    emptyCall: (_req: unknown, ctx: ServerContext) => {
      echoMetadata(ctx);
      return {};
    },
    unaryCall: unary,
    cacheableUnaryCall: unary,
    streamingOutputCall: async function* (req: StreamingOutputCallRequest, ctx: ServerContext) {
      echoMetadata(ctx);
      checkStatus(req.responseStatus);
      yield* streamOut(req.responseParameters, ctx);
    },
    streamingInputCall: async (
      reqs: AsyncIterable<StreamingInputCallRequest>,
      ctx: ServerContext,
    ) => {
      echoMetadata(ctx);
      let size = 0;
      for await (const r of reqs) {
        checkCompressed(r.expectCompressed, ctx);
        size += r.payload?.body.length ?? 0;
      }
      return { aggregatedPayloadSize: size };
    },
    fullDuplexCall: async function* (
      reqs: AsyncIterable<StreamingOutputCallRequest>,
      ctx: ServerContext,
    ) {
      echoMetadata(ctx);
      for await (const r of reqs) {
        checkStatus(r.responseStatus);
        yield* streamOut(r.responseParameters, ctx);
      }
    },
    halfDuplexCall: async function* (
      reqs: AsyncIterable<StreamingOutputCallRequest>,
      ctx: ServerContext,
    ) {
      echoMetadata(ctx);
      const all: StreamingOutputCallRequest[] = [];
      for await (const r of reqs) all.push(r);
      for (const r of all) {
        checkStatus(r.responseStatus);
        yield* streamOut(r.responseParameters, ctx);
      }
    },
  });
  // Standard services, so any standard tool can talk to it.
  new HealthServer().register(server, { shutdownOnGracefulStop: true });
  registerReflection(server);
  return server;
}

if (import.meta.main) {
  // grpc-go interop server flags: --port, --use_tls, --tls_cert_file, --tls_key_file, plus
  // --client_ca_file (client certificates required and verified against it).
  const flags = parseGoFlags(Deno.args);
  const port = Number(flags.get("port") ?? "0");
  const server = await createInteropServer();
  let listener: Deno.Listener | ServerListener;
  if (flags.get("use_tls") === "true") {
    const file = (name: string) => {
      const path = flags.get(name);
      if (path === undefined) throw new TypeError(`--use_tls=true needs --${name}`);
      return Deno.readTextFileSync(path);
    };
    const ca = flags.get("client_ca_file");
    const creds = serverTls({
      cert: file("tls_cert_file"),
      key: file("tls_key_file"),
      caCerts: ca === undefined ? undefined : [Deno.readTextFileSync(ca)],
    });
    listener = await creds.listen({ hostname: "127.0.0.1", port });
  } else {
    listener = Deno.listen({ hostname: "127.0.0.1", port });
  }
  const serving = server.serve(listener);
  console.log(`READY port=${(listener.addr as Deno.NetAddr).port}`);
  stopOnSignals(server, { timeoutMs: 2000 });
  await serving;
}
