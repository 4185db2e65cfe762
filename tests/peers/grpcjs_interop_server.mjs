// A grpc-js (@grpc/grpc-js 1.14.7) test server that @seed/grpc's tests run under Node as a peer.
//
//   node grpcjs_interop_server.mjs --port=0      (or --port 0; 0 picks a free port)
//   node grpcjs_interop_server.mjs --unix=PATH   (a unix socket instead)
//
// Binds 127.0.0.1 (or the unix socket), plaintext, and prints `READY port=N` on stdout once
// bound (N is 0 for a unix socket).
//   SIGTERM / SIGINT: forceShutdown() (every call is cancelled), exit 0.
//   SIGUSR2: tryShutdown(): GOAWAY, running calls go on, new streams are refused; prints
//            `DRAINING`, then `STOPPED` and exits 0 once every connection has closed.
//
// It serves two services.
//
// grpc.testing.TestService (tests/interop/grpc/testing/test.proto), as grpc/grpc's
// doc/interop-test-descriptions.md "Server" section describes it:
//   EmptyCall, UnaryCall, CacheableUnaryCall (payload = current time in ns as ASCII, plus
//   `cache-control: max-age=60, public`), StreamingOutputCall, StreamingInputCall,
//   FullDuplexCall, HalfDuplexCall (requests buffered until the client half-closes);
//   UnimplementedCall ends UNIMPLEMENTED, and so does anything in grpc.testing.UnimplementedService
//   (not registered). For every method:
//   - `x-grpc-test-echo-initial` comes back in the response headers and
//     `x-grpc-test-echo-trailing-bin` in the trailers, on success and on failure.
//   - response_status with code != 0 ends the call with that code and message (streams: after
//     the responses already queued; later requests are ignored).
//   - response_type other than COMPRESSABLE, or a negative size: INVALID_ARGUMENT.
//   - ResponseParameters.interval_us is slept before each response (a cancel stops the stream).
//   - Headers go out lazily: unary and server-streaming methods send them at once when there is
//     something to say (echo, gzip); duplex methods send them with the first response or the
//     status. With nothing to echo, a failing call gets a Trailers-Only response from grpc-js.
//   Compression. grpc-js 1.14.7 decompresses requests but hides the per-message compressed flag
//   from handlers, and never compresses responses. This file patches two methods of grpc-js's
//   internal BaseServerInterceptingCall (version pinned exactly in package.json) so that:
//   - expect_compressed.value == true on a request whose message arrived with the compressed
//     flag 0 fails the call INVALID_ARGUMENT (CompressedRequest).
//   - response_compressed (unary) / ResponseParameters.compressed (streams) == true sends that
//     response gzip-compressed with the flag set, under `grpc-encoding: gzip` (CompressedResponse).
//     The response headers say gzip when any response of the call may be compressed (duplex
//     calls: decided by the request that triggers the first response; a later request asking
//     for compression after identity headers went out gets uncompressed responses). The
//     server does not look at the client's grpc-accept-encoding: a client asking for a
//     compressed response is trusted to accept gzip.
//
// peer.Echo (echo.proto), for @seed/grpc's own tests. In every method:
//   - request metadata whose key starts with "x-" is echoed back, every value, in the response
//     headers (sent at once when there is any) and in the trailers. (Node's HTTP/2 joins a
//     repeated request header into one value, "a, b", so that is what comes back.)
//   - sleep_ms > 0: wait that long (a cancelled call stops waiting and sends nothing more).
//   - code != 0: the call fails with that code and `message`, and the trailers carry
//     grpc-status-details-bin = google.rpc.Status { code, message, details: [google.protobuf.Any
//     { type_url: "type.googleapis.com/peer.EchoMsg", value: <the EchoMsg that asked for it> }] }.
//   Unary(EchoMsg): sleeps, then fails if code != 0, else returns the request unchanged.
//   ServerStream(EchoMsg): `count` responses, each after sleeping sleep_ms; response i is the
//     request with count = i (0-based). Then fails if code != 0 (after the responses), else OK.
//   ClientStream(stream EchoMsg): a message with code != 0 fails the call at once. After the
//     client half-closes it sleeps the last message's sleep_ms, then returns { text: all texts
//     joined, data: all data concatenated, count: number of messages }.
//   Bidi(stream EchoMsg): answers each message in turn: sleeps its sleep_ms, fails if code != 0,
//     else sends max(count, 1) copies of it. Ends OK once the client half-closed and all answers
//     went out.

import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

const require = createRequire(import.meta.url);
const grpc = require("@grpc/grpc-js");
const protoLoader = require("@grpc/proto-loader");
const { BaseServerInterceptingCall } = require(
  "@grpc/grpc-js/build/src/server-interceptors.js",
);

const INTEROP_ROOT = fileURLToPath(new URL("../interop/", import.meta.url));
const ECHO_PROTO = fileURLToPath(new URL("./echo.proto", import.meta.url));
const LOAD_OPTIONS = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
};

const ECHO_INITIAL_KEY = "x-grpc-test-echo-initial";
const ECHO_TRAILING_KEY = "x-grpc-test-echo-trailing-bin";
const { status: Status } = grpc;

// --- compression patches (grpc-js internals) --------------------------------------------------

/** Set on decoded requests: did the message arrive with the compressed flag set? */
const REQUEST_COMPRESSED = Symbol("requestCompressed");
/** Set on response objects that must go out gzip-compressed. */
const COMPRESS_RESPONSE = Symbol("compressResponse");

const callProto = BaseServerInterceptingCall.prototype;
if (
  typeof callProto.decompressMessage !== "function" ||
  typeof callProto.serializeMessage !== "function"
) {
  throw new Error(
    "Cannot patch grpc-js: BaseServerInterceptingCall changed; check the pin",
  );
}

// decompressMessage(framed, encoding) gets the 5-byte-prefixed message and returns the bare
// bytes (or a promise of them); tag those bytes with the flag so deserialize can see it.
const decompressMessage = callProto.decompressMessage;
callProto.decompressMessage = function (framed, encoding) {
  const compressed = framed[0] === 1;
  const tag = (bytes) => {
    bytes[REQUEST_COMPRESSED] = compressed;
    return bytes;
  };
  const out = decompressMessage.call(this, framed, encoding);
  return out instanceof Promise ? out.then(tag) : tag(out);
};

// serializeMessage(value) returns the framed message, always uncompressed; re-frame it
// compressed when the handler asked for it.
const serializeMessage = callProto.serializeMessage;
callProto.serializeMessage = function (value) {
  const framed = serializeMessage.call(this, value);
  if (
    value === null || typeof value !== "object" ||
    value[COMPRESS_RESPONSE] !== true
  ) {
    return framed;
  }
  const body = gzipSync(framed.subarray(5));
  const out = Buffer.allocUnsafe(body.length + 5);
  out[0] = 1;
  out.writeUInt32BE(body.length, 1);
  body.copy(out, 5);
  return out;
};

/** Copies a service definition, making each request deserializer record the compressed flag. */
function withCompressedFlag(service) {
  const out = {};
  for (const [name, method] of Object.entries(service)) {
    out[name] = {
      ...method,
      requestDeserialize(bytes) {
        const value = method.requestDeserialize(bytes);
        if (value !== null && typeof value === "object") {
          value[REQUEST_COMPRESSED] = bytes[REQUEST_COMPRESSED] === true;
        }
        return value;
      },
    };
  }
  return out;
}

// --- helpers ------------------------------------------------------------------------------------

function statusError(code, details, metadata) {
  return { code, details, metadata };
}

/** Resolves after `ms`, or early when the call is cancelled. */
function sleep(ms, call) {
  if (!(ms > 0) || call.cancelled) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      call.off("cancelled", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    call.once("cancelled", done);
  });
}

/** Writes one message; waits for 'drain' when the stream buffer is full. False if cancelled. */
function send(call, message) {
  if (call.cancelled) return Promise.resolve(false);
  if (call.write(message)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = () => {
      call.off("drain", done);
      call.off("cancelled", done);
      resolve(!call.cancelled);
    };
    call.once("drain", done);
    call.once("cancelled", done);
  });
}

/** Runs async tasks one after another, in the order they were queued. */
function serialQueue() {
  let tail = Promise.resolve();
  return (task) => {
    tail = tail.then(task).catch((err) => {
      console.error("handler task failed:", err);
    });
    return tail;
  };
}

// --- grpc.testing.TestService -------------------------------------------------------------------

/** Per-call state: the echoed metadata and whether the headers went out. */
class InteropCall {
  constructor(call) {
    this.call = call;
    this.headersSent = false;
    this.gzip = false;
    this.echoInitial = call.metadata.get(ECHO_INITIAL_KEY);
    this.trailers = new grpc.Metadata();
    for (const value of call.metadata.get(ECHO_TRAILING_KEY)) {
      this.trailers.add(ECHO_TRAILING_KEY, value);
    }
  }

  /** Sends the response headers once: echo value, and grpc-encoding when gzip. */
  sendHeaders(gzip) {
    if (this.headersSent) return;
    this.headersSent = true;
    this.gzip = gzip;
    if (!gzip && this.echoInitial.length === 0) return; // grpc-js sends defaults when needed
    const md = new grpc.Metadata();
    for (const value of this.echoInitial) md.add(ECHO_INITIAL_KEY, value);
    if (gzip) md.set("grpc-encoding", "gzip");
    this.call.sendMetadata(md);
  }

  /** A failure status with the echoed trailers, headers first if there is something to echo. */
  fail(code, details) {
    this.sendHeaders(false);
    return statusError(code, details, this.trailers);
  }

  /** The status a request asks for via response_status, or null. */
  requestedFailure(req) {
    const st = req.response_status;
    if (st && st.code !== 0) return this.fail(st.code, st.message);
    return null;
  }

  /** StreamingOutputCallResponse for one ResponseParameters. */
  response(type, size, compressed) {
    const res = { payload: payload(type, size) };
    if (compressed && this.gzip) res[COMPRESS_RESPONSE] = true;
    return res;
  }
}

function payload(type, size) {
  return { type, body: Buffer.alloc(size) };
}

function isTrue(boolValue) {
  return boolValue !== null && boolValue !== undefined &&
    boolValue.value === true;
}

/** INVALID_ARGUMENT reason for a request this server can't answer, else null. */
function badRequest(req, sizes) {
  if (req.response_type !== "COMPRESSABLE") {
    return `unsupported response_type ${req.response_type}`;
  }
  for (const size of sizes) {
    if (!(size >= 0)) return `invalid response size ${size}`;
  }
  if (isTrue(req.expect_compressed) && req[REQUEST_COMPRESSED] !== true) {
    return "expected a compressed request but it arrived uncompressed";
  }
  return null;
}

function emptyCall(call, callback) {
  const ic = new InteropCall(call);
  ic.sendHeaders(false);
  callback(null, {}, ic.trailers);
}

function unaryCall(call, callback) {
  const ic = new InteropCall(call);
  const req = call.request;
  const bad = badRequest(req, [req.response_size]);
  if (bad !== null) return callback(ic.fail(Status.INVALID_ARGUMENT, bad));
  const failure = ic.requestedFailure(req);
  if (failure !== null) return callback(failure);
  const compress = isTrue(req.response_compressed);
  ic.sendHeaders(compress);
  const res = { payload: payload(req.response_type, req.response_size) };
  if (compress) res[COMPRESS_RESPONSE] = true;
  callback(null, res, ic.trailers);
}

function cacheableUnaryCall(call, callback) {
  const ic = new InteropCall(call);
  const md = new grpc.Metadata();
  for (const value of ic.echoInitial) md.add(ECHO_INITIAL_KEY, value);
  md.set("cache-control", "max-age=60, public");
  ic.headersSent = true;
  call.sendMetadata(md);
  const now = process.hrtime.bigint().toString();
  callback(
    null,
    { payload: { type: "COMPRESSABLE", body: Buffer.from(now) } },
    ic.trailers,
  );
}

async function streamingOutputCall(call) {
  const ic = new InteropCall(call);
  const req = call.request;
  const params = req.response_parameters;
  const bad = badRequest(req, params.map((p) => p.size));
  if (bad !== null) {
    return call.emit("error", ic.fail(Status.INVALID_ARGUMENT, bad));
  }
  const failure = ic.requestedFailure(req);
  if (failure !== null) return call.emit("error", failure);
  ic.sendHeaders(params.some((p) => isTrue(p.compressed)));
  for (const p of params) {
    await sleep(p.interval_us / 1000, call);
    if (
      !await send(
        call,
        ic.response(req.response_type, p.size, isTrue(p.compressed)),
      )
    ) return;
  }
  call.end(ic.trailers);
}

function streamingInputCall(call, callback) {
  const ic = new InteropCall(call);
  ic.sendHeaders(false);
  let total = 0;
  let failed = false;
  call.on("data", (req) => {
    if (failed) return;
    if (isTrue(req.expect_compressed) && req[REQUEST_COMPRESSED] !== true) {
      failed = true;
      callback(
        ic.fail(Status.INVALID_ARGUMENT, "expected a compressed request"),
      );
      return;
    }
    total += req.payload ? req.payload.body.length : 0;
  });
  call.on("end", () => {
    if (!failed) {
      callback(null, { aggregated_payload_size: total }, ic.trailers);
    }
  });
}

/**
 * Answers one StreamingOutputCallRequest of a duplex call; false once the call is over (failed
 * or cancelled). `state.failed` stops later requests.
 */
async function answer(ic, req, state) {
  const call = ic.call;
  const params = req.response_parameters;
  const bad = badRequest(req, params.map((p) => p.size));
  if (bad !== null) {
    state.failed = true;
    call.emit("error", ic.fail(Status.INVALID_ARGUMENT, bad));
    return false;
  }
  const failure = ic.requestedFailure(req);
  if (failure !== null) {
    state.failed = true;
    call.emit("error", failure);
    return false;
  }
  for (const p of params) {
    await sleep(p.interval_us / 1000, call);
    if (call.cancelled) return false;
    ic.sendHeaders(params.some((q) => isTrue(q.compressed)));
    if (
      !await send(
        call,
        ic.response(req.response_type, p.size, isTrue(p.compressed)),
      )
    ) {
      return false;
    }
  }
  return true;
}

function fullDuplexCall(call) {
  const ic = new InteropCall(call);
  const state = { failed: false };
  const run = serialQueue();
  call.on("data", (req) => {
    run(async () => {
      if (!state.failed && !call.cancelled) await answer(ic, req, state);
    });
  });
  call.on("end", () => {
    run(() => {
      if (state.failed || call.cancelled) return;
      ic.sendHeaders(false);
      call.end(ic.trailers);
    });
  });
}

function halfDuplexCall(call) {
  const ic = new InteropCall(call);
  const state = { failed: false };
  const requests = [];
  call.on("data", (req) => requests.push(req));
  call.on("end", async () => {
    for (const req of requests) {
      if (!await answer(ic, req, state)) return;
    }
    ic.sendHeaders(false);
    call.end(ic.trailers);
  });
}

function unimplementedCall(_call, callback) {
  callback(
    statusError(Status.UNIMPLEMENTED, "UnimplementedCall is not implemented"),
  );
}

// --- peer.Echo ------------------------------------------------------------------------------------

function encodeVarint(out, n) {
  let v = n >>> 0 === n ? n : BigInt.asUintN(64, BigInt(n));
  if (typeof v === "bigint") {
    while (v > 0x7fn) {
      out.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    out.push(Number(v));
    return;
  }
  while (v > 0x7f) {
    out.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  out.push(v);
}

function encodeBytesField(out, field, bytes) {
  encodeVarint(out, (field << 3) | 2);
  encodeVarint(out, bytes.length);
  for (const b of bytes) out.push(b);
}

/** google.rpc.Status { code = 1; message = 2; repeated Any details = 3 }, encoded by hand. */
function encodeRpcStatus(code, message, details) {
  const out = [];
  if (code !== 0) {
    encodeVarint(out, (1 << 3) | 0);
    encodeVarint(out, code);
  }
  if (message !== "") encodeBytesField(out, 2, Buffer.from(message, "utf8"));
  for (const { typeUrl, value } of details) {
    const any = [];
    encodeBytesField(any, 1, Buffer.from(typeUrl, "utf8"));
    encodeBytesField(any, 2, value);
    encodeBytesField(out, 3, any);
  }
  return Buffer.from(out);
}

/** Per-call state of an Echo call: the echoed x- metadata. */
class EchoCall {
  constructor(call, serializeMsg) {
    this.call = call;
    this.serializeMsg = serializeMsg;
    this.echo = new grpc.Metadata();
    let any = false;
    for (const [key, values] of Object.entries(call.metadata.toJSON())) {
      if (!key.startsWith("x-")) continue;
      for (const value of values) this.echo.add(key, value);
      any = true;
    }
    if (any) call.sendMetadata(this.echo.clone());
  }

  trailers() {
    return this.echo.clone();
  }

  /** The failure a message asks for (code != 0), with status details, or null. */
  failure(msg) {
    if (msg.code === 0) return null;
    const md = this.trailers();
    const value = this.serializeMsg(msg);
    md.set(
      "grpc-status-details-bin",
      encodeRpcStatus(msg.code, msg.message, [{
        typeUrl: "type.googleapis.com/peer.EchoMsg",
        value,
      }]),
    );
    return statusError(msg.code, msg.message, md);
  }
}

function echoService(definition) {
  const serializeMsg = definition.Unary.requestSerialize;
  return {
    async Unary(call, callback) {
      const ec = new EchoCall(call, serializeMsg);
      const msg = call.request;
      await sleep(msg.sleep_ms, call);
      if (call.cancelled) return;
      const failure = ec.failure(msg);
      if (failure !== null) return callback(failure);
      callback(null, msg, ec.trailers());
    },

    async ServerStream(call) {
      const ec = new EchoCall(call, serializeMsg);
      const msg = call.request;
      for (let i = 0; i < msg.count; i++) {
        await sleep(msg.sleep_ms, call);
        if (!await send(call, { ...msg, count: i })) return;
      }
      const failure = ec.failure(msg);
      if (failure !== null) return call.emit("error", failure);
      call.end(ec.trailers());
    },

    ClientStream(call, callback) {
      const ec = new EchoCall(call, serializeMsg);
      const texts = [];
      const data = [];
      let last = null;
      let failed = false;
      call.on("data", (msg) => {
        if (failed) return;
        const failure = ec.failure(msg);
        if (failure !== null) {
          failed = true;
          callback(failure);
          return;
        }
        texts.push(msg.text);
        data.push(msg.data);
        last = msg;
      });
      call.on("end", async () => {
        if (failed) return;
        await sleep(last ? last.sleep_ms : 0, call);
        if (call.cancelled) return;
        const res = {
          text: texts.join(""),
          data: Buffer.concat(data),
          count: texts.length,
        };
        callback(null, res, ec.trailers());
      });
    },

    Bidi(call) {
      const ec = new EchoCall(call, serializeMsg);
      const run = serialQueue();
      let failed = false;
      call.on("data", (msg) => {
        run(async () => {
          if (failed || call.cancelled) return;
          await sleep(msg.sleep_ms, call);
          if (call.cancelled) return;
          const failure = ec.failure(msg);
          if (failure !== null) {
            failed = true;
            call.emit("error", failure);
            return;
          }
          for (let i = 0; i < Math.max(msg.count, 1); i++) {
            if (!await send(call, msg)) return;
          }
        });
      });
      call.on("end", () => {
        run(() => {
          if (!failed && !call.cancelled) call.end(ec.trailers());
        });
      });
    },
  };
}

// --- main -----------------------------------------------------------------------------------------

function parsePort(argv) {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg.startsWith("--port=")) return Number(arg.slice("--port=".length));
    if (arg === "--port") return Number(argv[i + 1]);
  }
  return 0;
}

function parseUnix(argv) {
  const arg = argv.find((a) => a.startsWith("--unix="));
  return arg === undefined ? undefined : arg.slice("--unix=".length);
}

function main() {
  const port = parsePort(process.argv.slice(2));
  const unix = parseUnix(process.argv.slice(2));
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`Cannot start: invalid --port ${port}`);
    process.exit(2);
  }

  const interopDef = protoLoader.loadSync("grpc/testing/test.proto", {
    ...LOAD_OPTIONS,
    includeDirs: [INTEROP_ROOT],
  });
  const testing = grpc.loadPackageDefinition(interopDef).grpc.testing;
  const echoDef = protoLoader.loadSync(ECHO_PROTO, LOAD_OPTIONS);
  const echo = grpc.loadPackageDefinition(echoDef).peer;

  const server = new grpc.Server();
  server.addService(withCompressedFlag(testing.TestService.service), {
    EmptyCall: emptyCall,
    UnaryCall: unaryCall,
    CacheableUnaryCall: cacheableUnaryCall,
    StreamingOutputCall: streamingOutputCall,
    StreamingInputCall: streamingInputCall,
    FullDuplexCall: fullDuplexCall,
    HalfDuplexCall: halfDuplexCall,
    UnimplementedCall: unimplementedCall,
  });
  server.addService(echo.Echo.service, echoService(echo.Echo.service));

  const address = unix === undefined ? `127.0.0.1:${port}` : `unix:${unix}`;
  server.bindAsync(
    address,
    grpc.ServerCredentials.createInsecure(),
    (err, boundPort) => {
      if (err) {
        console.error(`Cannot bind ${address}: ${err.message}`);
        process.exit(1);
      }
      process.stdout.write(`READY port=${unix === undefined ? boundPort : 0}\n`);
    },
  );

  const stopNow = () => {
    server.forceShutdown();
    process.exit(0);
  };
  process.on("SIGTERM", stopNow);
  process.on("SIGINT", stopNow);
  process.on("SIGUSR2", () => {
    process.stdout.write("DRAINING\n");
    server.tryShutdown((err) => {
      if (err) console.error(`tryShutdown: ${err.message}`);
      process.stdout.write("STOPPED\n");
      process.exit(0);
    });
  });
}

main();
