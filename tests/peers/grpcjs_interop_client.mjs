// A grpc-js (@grpc/grpc-js 1.14.7) interop client that @seed/grpc's tests run under Node.
//
//   node grpcjs_interop_client.mjs --server_host=127.0.0.1 --server_port=P --test_case=NAME
//
// Flags also take the space-separated form (--test_case NAME). --server_host defaults to
// 127.0.0.1, --server_host_override sets the :authority, --use_tls=true is refused (plaintext
// only). Exit 0 and last stdout line `PASS <case>` on success; exit 1 and last stdout line
// `FAIL <case>: <reason>` on failure (also after 30 s without an end); exit 2 for an unknown case
// or bad flags.
//
// Cases follow grpc/grpc doc/interop-test-descriptions.md: empty_unary, large_unary,
// client_streaming, server_streaming, ping_pong, empty_stream, timeout_on_sleeping_server,
// cancel_after_begin, cancel_after_first_response, status_code_and_message,
// special_status_message, custom_metadata, unimplemented_method, unimplemented_service,
// client_compressed_unary, server_compressed_unary, client_compressed_streaming,
// server_compressed_streaming. Payload bodies received are checked to be all zeros.
//
// Compression. grpc-js compresses every request message of a channel created with
// `grpc.default_compression_algorithm` (gzip here), unless a streaming write passes the
// NoCompress write flag; unary calls can't pass flags, so the client_compressed_* cases use one
// channel without compression and one with gzip. grpc-js also stops compressing on a channel
// once the server's grpc-accept-encoding lacks gzip. grpc-js does not expose the compressed
// flag of messages, so this file wraps two methods of grpc-js's internal CompressionFilter
// (version pinned exactly in package.json) to record the flag byte of every message sent and
// received. With that the cases check the flags the descriptions require:
//   client_compressed_unary: probe sent with flag 0 fails INVALID_ARGUMENT; the compressed call
//     went out with flag 1 (so the server advertised gzip) and succeeds; the uncompressed call
//     went out with flag 0 and succeeds.
//   client_compressed_streaming: probe (flag 0, expect_compressed) fails INVALID_ARGUMENT; then
//     one call sends flags [1, 0] and gets aggregated_payload_size 73086.
//   server_compressed_unary / server_compressed_streaming: responses arrive with flag 1 exactly
//     where compression was asked for and flag 0 elsewhere.

import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { finish, parseClientArgs, runReported } from "./_cli.mjs";

const require = createRequire(import.meta.url);
const grpc = require("@grpc/grpc-js");
const protoLoader = require("@grpc/proto-loader");
const { CompressionFilter } = require(
  "@grpc/grpc-js/build/src/compression-filter.js",
);

const INTEROP_ROOT = fileURLToPath(new URL("../interop/", import.meta.url));
const ECHO_INITIAL_KEY = "x-grpc-test-echo-initial";
const ECHO_TRAILING_KEY = "x-grpc-test-echo-trailing-bin";
const GZIP = 2; // grpc-js CompressionAlgorithms.gzip
const NO_COMPRESS = 2; // grpc-js WriteFlags.NoCompress
const CASE_TIMEOUT_MS = 30_000;
const { status: Status } = grpc;

// --- compressed-flag recording (grpc-js internals) ----------------------------------------------

/** The compressed-flag byte of every message framed or received by grpc-js, in order. */
const wire = { sent: [], received: [] };

const filterProto = CompressionFilter.prototype;
if (
  typeof filterProto.sendMessage !== "function" ||
  typeof filterProto.receiveMessage !== "function"
) {
  throw new Error(
    "Cannot patch grpc-js: CompressionFilter changed; check the pin",
  );
}
const sendMessage = filterProto.sendMessage;
filterProto.sendMessage = async function (message) {
  const framed = await sendMessage.call(this, message);
  wire.sent.push(framed.message[0]);
  return framed;
};
const receiveMessage = filterProto.receiveMessage;
filterProto.receiveMessage = async function (message) {
  const framed = await message;
  wire.received.push(framed[0]);
  return receiveMessage.call(this, framed);
};

function resetWire() {
  wire.sent.length = 0;
  wire.received.length = 0;
}

// --- helpers ------------------------------------------------------------------------------------

class CaseFailure extends Error {}

function check(condition, reason) {
  if (!condition) throw new CaseFailure(reason);
}

function equal(actual, expected, what) {
  check(
    actual === expected,
    `${what}: got ${JSON.stringify(actual)}, want ${JSON.stringify(expected)}`,
  );
}

function sameList(actual, expected, what) {
  equal(JSON.stringify(actual), JSON.stringify(expected), what);
}

function zeros(size) {
  return Buffer.alloc(size);
}

function checkPayload(payload, size, what) {
  check(payload !== null && payload !== undefined, `${what}: no payload`);
  equal(payload.type, "COMPRESSABLE", `${what} payload type`);
  equal(payload.body.length, size, `${what} payload size`);
  check(
    payload.body.every((b) => b === 0),
    `${what}: payload body is not all zeros`,
  );
}

function codeName(code) {
  return Object.keys(Status).find((k) => Status[k] === code) ?? String(code);
}

function checkCode(status, code, what) {
  check(
    status.code === code,
    `${what}: got status ${codeName(status.code)} (${JSON.stringify(status.details)}), want ${
      codeName(code)
    }`,
  );
}

/**
 * Runs a unary call; resolves once the status arrived (never rejects).
 * @returns {{ response, error, headers: grpc.Metadata | null, status }}
 */
function unary(client, method, request, { metadata, options } = {}) {
  return new Promise((resolve) => {
    const out = { response: null, error: null, headers: null, status: null };
    const call = client[method](
      request,
      metadata ?? new grpc.Metadata(),
      options ?? {},
      (err, res) => {
        out.error = err;
        out.response = res ?? null;
      },
    );
    call.on("metadata", (md) => {
      out.headers = md;
    });
    call.on("status", (status) => {
      out.status = status;
      // grpc-js calls the callback before emitting 'status'; wait a turn to be sure.
      setImmediate(() => resolve(out));
    });
  });
}

/**
 * Wraps a streaming call: collects responses, headers and the final status.
 * `next()` resolves with the next response (or null at the end); `done` with the status.
 */
function track(call) {
  const t = {
    call,
    responses: [],
    headers: null,
    status: null,
    waiters: [],
    queue: [],
    ended: false,
  };
  call.on("metadata", (md) => {
    t.headers = md;
  });
  call.on("data", (msg) => {
    t.responses.push(msg);
    const w = t.waiters.shift();
    if (w) w(msg);
    else t.queue.push(msg);
  });
  call.on("error", () => {}); // the status carries it
  t.done = new Promise((resolve) => {
    call.on("status", (status) => {
      t.status = status;
      t.ended = true;
      for (const w of t.waiters.splice(0)) w(null);
      resolve(status);
    });
  });
  t.next = () => {
    if (t.queue.length > 0) return Promise.resolve(t.queue.shift());
    if (t.ended) return Promise.resolve(null);
    return new Promise((resolve) => t.waiters.push(resolve));
  };
  return t;
}

/** Runs a client-streaming call: writes each [message, flags?], half-closes, awaits status. */
function clientStream(client, method, writes, { metadata, options } = {}) {
  return new Promise((resolve) => {
    const out = { response: null, error: null, headers: null, status: null };
    const call = client[method](
      metadata ?? new grpc.Metadata(),
      options ?? {},
      (err, res) => {
        out.error = err;
        out.response = res ?? null;
      },
    );
    call.on("metadata", (md) => {
      out.headers = md;
    });
    call.on("status", (status) => {
      out.status = status;
      setImmediate(() => resolve(out));
    });
    for (const [message, flags] of writes) {
      if (flags === undefined) call.write(message);
      else call.write(message, flags);
    }
    call.end();
  });
}

// --- test cases -----------------------------------------------------------------------------------

const LARGE_REQUEST = {
  response_type: "COMPRESSABLE",
  response_size: 314159,
  payload: { body: zeros(271828) },
};

async function emptyUnary({ test }) {
  const r = await unary(test, "EmptyCall", {});
  checkCode(r.status, Status.OK, "EmptyCall");
  check(r.response !== null, "EmptyCall: no response");
}

async function largeUnary({ test }) {
  const r = await unary(test, "UnaryCall", LARGE_REQUEST);
  checkCode(r.status, Status.OK, "UnaryCall");
  checkPayload(r.response.payload, 314159, "UnaryCall response");
}

async function clientCompressedUnary({ test, gzipTest }) {
  const request = (expect) => ({
    ...LARGE_REQUEST,
    expect_compressed: { value: expect },
  });

  resetWire();
  const probe = await unary(test, "UnaryCall", request(true));
  sameList(wire.sent, [0], "probe: compressed flags sent");
  checkCode(
    probe.status,
    Status.INVALID_ARGUMENT,
    "probe (uncompressed, expect_compressed)",
  );

  resetWire();
  const compressed = await unary(gzipTest, "UnaryCall", request(true));
  sameList(
    wire.sent,
    [1],
    "compressed call: compressed flags sent (0 means grpc-js saw no gzip in the server's " +
      "grpc-accept-encoding)",
  );
  checkCode(compressed.status, Status.OK, "compressed call");
  checkPayload(compressed.response.payload, 314159, "compressed call response");

  resetWire();
  const plain = await unary(test, "UnaryCall", request(false));
  sameList(wire.sent, [0], "uncompressed call: compressed flags sent");
  checkCode(plain.status, Status.OK, "uncompressed call");
  checkPayload(plain.response.payload, 314159, "uncompressed call response");
}

async function serverCompressedUnary({ test }) {
  for (const compress of [true, false]) {
    resetWire();
    const r = await unary(test, "UnaryCall", {
      ...LARGE_REQUEST,
      response_compressed: { value: compress },
    });
    const what = `response_compressed=${compress}`;
    checkCode(r.status, Status.OK, what);
    checkPayload(r.response.payload, 314159, what);
    sameList(
      wire.received,
      [compress ? 1 : 0],
      `${what}: compressed flags received`,
    );
  }
}

async function clientStreaming({ test }) {
  const writes = [27182, 8, 1828, 45904].map((
    n,
  ) => [{ payload: { body: zeros(n) } }]);
  const r = await clientStream(test, "StreamingInputCall", writes);
  checkCode(r.status, Status.OK, "StreamingInputCall");
  equal(r.response.aggregated_payload_size, 74922, "aggregated_payload_size");
}

async function clientCompressedStreaming({ test, gzipTest }) {
  resetWire();
  const probe = await clientStream(test, "StreamingInputCall", [
    [{ expect_compressed: { value: true }, payload: { body: zeros(27182) } }],
  ]);
  sameList(wire.sent, [0], "probe: compressed flags sent");
  checkCode(
    probe.status,
    Status.INVALID_ARGUMENT,
    "probe (uncompressed, expect_compressed)",
  );

  resetWire();
  const r = await clientStream(gzipTest, "StreamingInputCall", [
    [{ expect_compressed: { value: true }, payload: { body: zeros(27182) } }],
    [
      { expect_compressed: { value: false }, payload: { body: zeros(45904) } },
      NO_COMPRESS,
    ],
  ]);
  sameList(
    wire.sent,
    [1, 0],
    "compressed flags sent (0 first means grpc-js saw no gzip in the server's " +
      "grpc-accept-encoding)",
  );
  checkCode(r.status, Status.OK, "StreamingInputCall");
  equal(r.response.aggregated_payload_size, 73086, "aggregated_payload_size");
}

async function serverStreaming({ test }) {
  const sizes = [31415, 9, 2653, 58979];
  const t = track(test.StreamingOutputCall({
    response_type: "COMPRESSABLE",
    response_parameters: sizes.map((size) => ({ size })),
  }));
  const status = await t.done;
  checkCode(status, Status.OK, "StreamingOutputCall");
  equal(t.responses.length, sizes.length, "number of responses");
  t.responses.forEach((res, i) => checkPayload(res.payload, sizes[i], `response ${i}`));
}

async function serverCompressedStreaming({ test }) {
  resetWire();
  const t = track(test.StreamingOutputCall({
    response_parameters: [
      { compressed: { value: true }, size: 31415 },
      { compressed: { value: false }, size: 92653 },
    ],
  }));
  const status = await t.done;
  checkCode(status, Status.OK, "StreamingOutputCall");
  equal(t.responses.length, 2, "number of responses");
  checkPayload(t.responses[0].payload, 31415, "response 0");
  checkPayload(t.responses[1].payload, 92653, "response 1");
  sameList(wire.received, [1, 0], "compressed flags received");
}

async function pingPong({ test }) {
  const requestSizes = [27182, 8, 1828, 45904];
  const responseSizes = [31415, 9, 2653, 58979];
  const t = track(test.FullDuplexCall());
  for (let i = 0; i < requestSizes.length; i++) {
    t.call.write({
      response_type: "COMPRESSABLE",
      response_parameters: [{ size: responseSizes[i] }],
      payload: { body: zeros(requestSizes[i]) },
    });
    const res = await t.next();
    check(
      res !== null,
      `no response ${i} (status ${t.status && codeName(t.status.code)})`,
    );
    checkPayload(res.payload, responseSizes[i], `response ${i}`);
  }
  t.call.end();
  const status = await t.done;
  checkCode(status, Status.OK, "FullDuplexCall");
  equal(t.responses.length, 4, "number of responses");
}

async function emptyStream({ test }) {
  const t = track(test.FullDuplexCall());
  t.call.end();
  const status = await t.done;
  checkCode(status, Status.OK, "FullDuplexCall");
  equal(t.responses.length, 0, "number of responses");
}

async function timeoutOnSleepingServer({ test }) {
  const t = track(test.FullDuplexCall({ deadline: Date.now() + 1 }));
  t.call.write({ payload: { body: zeros(27182) } });
  const status = await t.done;
  checkCode(status, Status.DEADLINE_EXCEEDED, "FullDuplexCall");
}

async function cancelAfterBegin({ test }) {
  // Cancel right after starting the call: no message sent, no half-close.
  const r = await new Promise((resolve) => {
    const call = test.StreamingInputCall(() => {});
    call.on("status", (status) => resolve(status));
    call.cancel();
  });
  checkCode(r, Status.CANCELLED, "StreamingInputCall");
}

async function cancelAfterFirstResponse({ test }) {
  const t = track(test.FullDuplexCall());
  t.call.write({
    response_type: "COMPRESSABLE",
    response_parameters: [{ size: 31415 }],
    payload: { body: zeros(27182) },
  });
  const res = await t.next();
  check(
    res !== null,
    `no response (status ${t.status && codeName(t.status.code)})`,
  );
  checkPayload(res.payload, 31415, "response");
  t.call.cancel();
  const status = await t.done;
  checkCode(status, Status.CANCELLED, "FullDuplexCall");
}

async function statusCodeAndMessage({ test }) {
  const request = {
    response_status: { code: 2, message: "test status message" },
  };
  const r = await unary(test, "UnaryCall", request);
  checkCode(r.status, Status.UNKNOWN, "UnaryCall");
  equal(r.status.details, "test status message", "UnaryCall status message");

  const t = track(test.FullDuplexCall());
  t.call.write(request);
  t.call.end();
  const status = await t.done;
  checkCode(status, Status.UNKNOWN, "FullDuplexCall");
  equal(status.details, "test status message", "FullDuplexCall status message");
}

async function specialStatusMessage({ test }) {
  const message = "\t\ntest with whitespace\r\nand Unicode BMP \u263A and non-BMP \u{1F608}\t\n";
  const r = await unary(test, "UnaryCall", {
    response_status: { code: 2, message },
  });
  checkCode(r.status, Status.UNKNOWN, "UnaryCall");
  equal(r.status.details, message, "status message");
}

function checkEchoedMetadata(headers, trailers, what) {
  check(headers !== null, `${what}: no response headers`);
  sameList(
    headers.get(ECHO_INITIAL_KEY),
    ["test_initial_metadata_value"],
    `${what}: ${ECHO_INITIAL_KEY} in headers`,
  );
  const trailing = trailers.get(ECHO_TRAILING_KEY).map((b) => Buffer.from(b).toString("hex"));
  sameList(trailing, ["ababab"], `${what}: ${ECHO_TRAILING_KEY} in trailers`);
}

async function customMetadata({ test }) {
  const metadata = () => {
    const md = new grpc.Metadata();
    md.set(ECHO_INITIAL_KEY, "test_initial_metadata_value");
    md.set(ECHO_TRAILING_KEY, Buffer.from([0xab, 0xab, 0xab]));
    return md;
  };
  const r = await unary(test, "UnaryCall", LARGE_REQUEST, {
    metadata: metadata(),
  });
  checkCode(r.status, Status.OK, "UnaryCall");
  checkPayload(r.response.payload, 314159, "UnaryCall response");
  checkEchoedMetadata(r.headers, r.status.metadata, "UnaryCall");

  const t = track(test.FullDuplexCall(metadata()));
  t.call.write({
    response_parameters: [{ size: 314159 }],
    payload: { body: zeros(271828) },
  });
  t.call.end();
  const status = await t.done;
  checkCode(status, Status.OK, "FullDuplexCall");
  equal(t.responses.length, 1, "FullDuplexCall number of responses");
  checkPayload(t.responses[0].payload, 314159, "FullDuplexCall response");
  checkEchoedMetadata(t.headers, status.metadata, "FullDuplexCall");
}

async function unimplementedMethod({ test }) {
  const r = await unary(test, "UnimplementedCall", {});
  checkCode(r.status, Status.UNIMPLEMENTED, "TestService/UnimplementedCall");
}

async function unimplementedService({ unimplemented }) {
  const r = await unary(unimplemented, "UnimplementedCall", {});
  checkCode(
    r.status,
    Status.UNIMPLEMENTED,
    "UnimplementedService/UnimplementedCall",
  );
}

const CASES = {
  empty_unary: emptyUnary,
  large_unary: largeUnary,
  client_streaming: clientStreaming,
  server_streaming: serverStreaming,
  ping_pong: pingPong,
  empty_stream: emptyStream,
  timeout_on_sleeping_server: timeoutOnSleepingServer,
  cancel_after_begin: cancelAfterBegin,
  cancel_after_first_response: cancelAfterFirstResponse,
  status_code_and_message: statusCodeAndMessage,
  special_status_message: specialStatusMessage,
  custom_metadata: customMetadata,
  unimplemented_method: unimplementedMethod,
  unimplemented_service: unimplementedService,
  client_compressed_unary: clientCompressedUnary,
  server_compressed_unary: serverCompressedUnary,
  client_compressed_streaming: clientCompressedStreaming,
  server_compressed_streaming: serverCompressedStreaming,
};

// --- main -----------------------------------------------------------------------------------------

async function main() {
  const { flags, name, run, address } = parseClientArgs(
    process.argv.slice(2),
    "test_case",
    CASES,
    "test case",
  );
  if (flags.use_tls !== undefined && flags.use_tls !== "false") {
    finish(2, "--use_tls=true is not supported: this client is plaintext only");
  }

  const definition = protoLoader.loadSync("grpc/testing/test.proto", {
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
    includeDirs: [INTEROP_ROOT],
  });
  const testing = grpc.loadPackageDefinition(definition).grpc.testing;
  const options = {};
  if (flags.server_host_override) {
    options["grpc.default_authority"] = flags.server_host_override;
  }
  const insecure = grpc.credentials.createInsecure();
  const clients = {
    test: new testing.TestService(address, insecure, options),
    gzipTest: new testing.TestService(address, insecure, {
      ...options,
      "grpc.default_compression_algorithm": GZIP,
    }),
    unimplemented: new testing.UnimplementedService(address, insecure, options),
  };

  await runReported(
    name,
    async () => {
      await run(clients);
      for (const client of Object.values(clients)) client.close();
    },
    CASE_TIMEOUT_MS,
    CaseFailure,
  );
}

main();
