// A grpc-js (@grpc/grpc-js 1.14.7) client that drives a peer.Echo server (echo.proto; the
// semantics are documented at the top of grpcjs_interop_server.mjs) through named scenarios.
// @seed/grpc's tests/server_grpcjs_test.ts runs it under Node against our Server.
//
//   node grpcjs_echo_client.mjs --scenario=NAME --server_port=P [--server_host=H] [--calls=N]
//
// Flags also take the space-separated form (--scenario NAME). Exit 0 and last stdout line
// `PASS <scenario>` on success; exit 1 and last stdout line `FAIL <scenario>: <reason>` on
// failure (also after 30 s without an end); exit 2 for an unknown scenario or bad flags.
//
// Beyond echo.proto's semantics, the scenarios rely on two things the Deno test's server does:
//   - request metadata `test-throw: M` makes the handler throw a plain `Error(M)` (not a status);
//   - request metadata `call-id: ID` names the call, so the Deno side can check what its
//     handler saw (e.g. that `ctx.signal` aborted).
//
// Scenarios:
//   unary, server_stream, client_stream, bidi   the four RPC kinds, echo semantics checked
//                        (unary: also 100 calls at once)
//   large_messages       3 MiB each way (unary), 8 × 256 KiB ping-pong (bidi), 40 × 128 KiB
//                        responses (server stream), 24 × 128 KiB requests (client stream)
//   metadata             x- keys (one string, one -bin) echoed in headers and trailers, all kinds
//   error_details        a failing call's code, special-character message, echoed trailers and
//                        grpc-status-details-bin (google.rpc.Status with one Any, hand-decoded);
//                        unary, server stream (after its responses), client stream and bidi
//   deadline_exceeded    on a READY channel, a 2 s deadline on a 60 s sleep (unary and server
//                        stream at once): DEADLINE_EXCEEDED (call-ids deadline-unary,
//                        deadline-stream)
//   cancel               cancel mid-call, after the first response, while the handler sleeps:
//                        CANCELLED (call-ids cancel-bidi, cancel-stream)
//   unknown_method       /peer.Echo/Nope → UNIMPLEMENTED
//   unknown_service      /peer.Nope/Unary → UNIMPLEMENTED
//   oversized_request    a request over 4 MiB → RESOURCE_EXHAUSTED (unary, client stream); the
//                        channel still works afterwards
//   oversized_response   (server with a maxSendMessageSize of 1024) a 2048-byte echo →
//                        RESOURCE_EXHAUSTED (unary, server stream); small ones still work
//   handler_error        `test-throw` → UNKNOWN with the thrown message (unary, bidi)
//   interceptors         (server whose interceptors A then B demand `authorization: Bearer
//                        let-me-in`, add their letter to each request's text on the way in and
//                        the lower-case letter to each response's on the way out, and which does
//                        not implement ClientStream): no token → PERMISSION_DENIED; with it the
//                        text "t" comes back "tABba"; ClientStream → UNIMPLEMENTED
//   graceful_stop        starts --calls=N (default 8) calls of all four kinds, which the server
//                        holds; prints `GOAWAY` once the channel leaves READY (the server's
//                        GOAWAY arrived); then a new call must fail UNAVAILABLE; the held calls
//                        (released by the Deno side on seeing `GOAWAY`) must all complete OK;
//                        and a call after them fails UNAVAILABLE too

import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { finish, parseClientArgs, runReported } from "./_cli.mjs";

const require = createRequire(import.meta.url);
const grpc = require("@grpc/grpc-js");
const protoLoader = require("@grpc/proto-loader");

const ECHO_PROTO = fileURLToPath(new URL("./echo.proto", import.meta.url));
const SCENARIO_TIMEOUT_MS = 30_000;
// deadline_exceeded: long enough for a request to reach its handler on a busy machine.
const DEADLINE_MS = 2_000;
const SPECIAL_MESSAGE =
  "\t\ntest with whitespace\r\nand Unicode BMP \u263A and non-BMP \u{1F608}\t\n";
const DETAIL_TYPE_URL = "type.googleapis.com/peer.EchoMsg";
const TOKEN = "Bearer let-me-in";
const MiB = 1024 * 1024;
const { status: Status } = grpc;

// --- helpers ------------------------------------------------------------------------------------

class ScenarioFailure extends Error {}

function check(condition, reason) {
  if (!condition) throw new ScenarioFailure(reason);
}

function equal(actual, expected, what) {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  check(a === e, `${what}: got ${a}, want ${e}`);
}

function sameBytes(actual, expected, what) {
  check(actual !== null && actual !== undefined, `${what}: missing`);
  const a = Buffer.from(actual);
  const e = Buffer.from(expected);
  check(
    a.equals(e),
    `${what}: got ${a.length} bytes (${a.subarray(0, 16).toString("hex")}…), want ${e.length} ` +
      `(${e.subarray(0, 16).toString("hex")}…)`,
  );
}

function codeName(code) {
  return Object.keys(Status).find((k) => Status[k] === code) ?? String(code);
}

function checkCode(status, code, what) {
  check(status !== null, `${what}: no status`);
  check(
    status.code === code,
    `${what}: got status ${codeName(status.code)} (${JSON.stringify(status.details)}), want ${
      codeName(code)
    }`,
  );
}

function bytes(n, seed = 1) {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
}

function metadata(pairs = {}) {
  const md = new grpc.Metadata();
  for (const [k, v] of Object.entries(pairs)) md.set(k, v);
  return md;
}

/** Runs a unary call; resolves once the status arrived (never rejects). */
function unary(client, request, { md, options } = {}) {
  return new Promise((resolve) => {
    const out = { response: null, error: null, headers: null, status: null };
    const call = client.Unary(
      request,
      md ?? new grpc.Metadata(),
      options ?? {},
      (err, res) => {
        out.error = err;
        out.response = res ?? null;
      },
    );
    call.on("metadata", (h) => (out.headers = h));
    call.on("status", (status) => {
      out.status = status;
      setImmediate(() => resolve(out)); // the callback runs before 'status'; be sure
    });
  });
}

/** Runs a client-streaming call: writes each message, half-closes, awaits the status. */
function clientStream(client, messages, { md, options } = {}) {
  return new Promise((resolve) => {
    const out = { response: null, error: null, headers: null, status: null };
    const call = client.ClientStream(
      md ?? new grpc.Metadata(),
      options ?? {},
      (err, res) => {
        out.error = err;
        out.response = res ?? null;
      },
    );
    call.on("metadata", (h) => (out.headers = h));
    call.on("status", (status) => {
      out.status = status;
      setImmediate(() => resolve(out));
    });
    for (const m of messages) call.write(m);
    call.end();
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
  };
  let ended = false;
  call.on("metadata", (h) => (t.headers = h));
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
      ended = true;
      for (const w of t.waiters.splice(0)) w(null);
      resolve(status);
    });
  });
  t.next = () => {
    if (t.queue.length > 0) return Promise.resolve(t.queue.shift());
    if (ended) return Promise.resolve(null);
    return new Promise((resolve) => t.waiters.push(resolve));
  };
  return t;
}

function checkEcho(res, want, what) {
  check(res !== null && res !== undefined, `${what}: no response`);
  equal(res.text, want.text ?? "", `${what}: text`);
  sameBytes(res.data, want.data ?? Buffer.alloc(0), `${what}: data`);
  equal(res.count, want.count ?? 0, `${what}: count`);
}

// --- protobuf by hand: google.rpc.Status { int32 code = 1; string message = 2; repeated
// google.protobuf.Any details = 3 } and Any { string type_url = 1; bytes value = 2 } --------------

function readVarint(buf, pos) {
  let value = 0;
  let shift = 0;
  for (;;) {
    check(pos.i < buf.length, "protobuf: truncated varint");
    const b = buf[pos.i++];
    value += (b & 0x7f) * 2 ** shift; // exact up to 2^53, enough for codes and lengths
    if ((b & 0x80) === 0) return value;
    shift += 7;
    check(shift < 64, "protobuf: varint too long");
  }
}

/** Decodes a message into { fieldNumber: [values] }: varints as numbers, length-delimited as Buffers. */
function decodeFields(buf) {
  const fields = {};
  const pos = { i: 0 };
  while (pos.i < buf.length) {
    const key = readVarint(buf, pos);
    const field = Math.floor(key / 8);
    const wire = key & 7;
    let value;
    if (wire === 0) {
      value = readVarint(buf, pos);
    } else if (wire === 2) {
      const len = readVarint(buf, pos);
      check(pos.i + len <= buf.length, "protobuf: truncated field");
      value = buf.subarray(pos.i, pos.i + len);
      pos.i += len;
    } else if (wire === 5) {
      value = buf.readUInt32LE(pos.i);
      pos.i += 4;
    } else if (wire === 1) {
      value = buf.subarray(pos.i, pos.i + 8);
      pos.i += 8;
    } else {
      throw new ScenarioFailure(`protobuf: unexpected wire type ${wire}`);
    }
    (fields[field] ??= []).push(value);
  }
  return fields;
}

function decodeRpcStatus(buf) {
  const f = decodeFields(buf);
  return {
    code: f[1]?.at(-1) ?? 0,
    message: f[2] ? f[2].at(-1).toString("utf8") : "",
    details: (f[3] ?? []).map((any) => {
      const a = decodeFields(any);
      return {
        typeUrl: a[1] ? a[1].at(-1).toString("utf8") : "",
        value: a[2] ? a[2].at(-1) : Buffer.alloc(0),
      };
    }),
  };
}

/** Checks a failed call's status: code, message, and the details naming the request. */
function checkFailure(status, request, what, ctx) {
  checkCode(status, request.code, what);
  equal(status.details, request.message, `${what}: status message`);
  const bin = status.metadata.get("grpc-status-details-bin");
  equal(bin.length, 1, `${what}: grpc-status-details-bin values`);
  const rpc = decodeRpcStatus(Buffer.from(bin[0]));
  equal(rpc.code, request.code, `${what}: google.rpc.Status code`);
  equal(rpc.message, request.message, `${what}: google.rpc.Status message`);
  equal(rpc.details.length, 1, `${what}: google.rpc.Status details`);
  equal(rpc.details[0].typeUrl, DETAIL_TYPE_URL, `${what}: Any type_url`);
  const detail = ctx.deserialize(rpc.details[0].value);
  checkEcho(detail, request, `${what}: Any value`);
  equal(detail.code, request.code, `${what}: Any value code`);
  equal(detail.message, request.message, `${what}: Any value message`);
}

// --- scenarios ------------------------------------------------------------------------------------

async function unaryScenario({ echo }) {
  const req = { text: "hello", data: bytes(1000), count: 7 };
  const r = await unary(echo, req);
  checkCode(r.status, Status.OK, "Unary");
  checkEcho(r.response, req, "Unary");
  // Empty message both ways.
  const empty = await unary(echo, {});
  checkCode(empty.status, Status.OK, "Unary (empty)");
  checkEcho(empty.response, {}, "Unary (empty)");
  // Many at once on the one connection.
  const many = await Promise.all(
    Array.from(
      { length: 100 },
      (_, i) => unary(echo, { text: `n${i}`, count: i }),
    ),
  );
  many.forEach((r, i) => {
    checkCode(r.status, Status.OK, `Unary ${i} of 100`);
    checkEcho(r.response, { text: `n${i}`, count: i }, `Unary ${i} of 100`);
  });
}

async function serverStreamScenario({ echo }) {
  const req = { text: "s", data: bytes(100), count: 5 };
  const t = track(echo.ServerStream(req));
  checkCode(await t.done, Status.OK, "ServerStream");
  equal(
    t.responses.map((r) => r.count),
    [0, 1, 2, 3, 4],
    "ServerStream counts",
  );
  t.responses.forEach((r, i) => checkEcho(r, { ...req, count: i }, `ServerStream response ${i}`));
  const none = track(echo.ServerStream({ text: "none" }));
  checkCode(await none.done, Status.OK, "ServerStream (count 0)");
  equal(none.responses.length, 0, "ServerStream (count 0) responses");
}

async function clientStreamScenario({ echo }) {
  const r = await clientStream(echo, [
    { text: "a", data: Buffer.from([1]) },
    { text: "b", data: Buffer.from([2, 3]) },
    { text: "c", data: Buffer.from([4]) },
  ]);
  checkCode(r.status, Status.OK, "ClientStream");
  checkEcho(r.response, {
    text: "abc",
    data: Buffer.from([1, 2, 3, 4]),
    count: 3,
  }, "ClientStream");
  const empty = await clientStream(echo, []);
  checkCode(empty.status, Status.OK, "ClientStream (no messages)");
  checkEcho(empty.response, { count: 0 }, "ClientStream (no messages)");
}

async function bidiScenario({ echo }) {
  // Ping-pong: each answer arrives before the next request is written.
  const t = track(echo.Bidi());
  const sent = [
    { text: "one", data: bytes(10, 1), count: 1 },
    { text: "two", data: bytes(20, 2), count: 3 },
    { text: "three" },
  ];
  for (const [i, m] of sent.entries()) {
    t.call.write(m);
    for (let k = 0; k < Math.max(m.count ?? 0, 1); k++) {
      const res = await t.next();
      check(
        res !== null,
        `Bidi: no answer ${k} to message ${i} (status ${t.status?.code})`,
      );
      checkEcho(res, m, `Bidi answer ${k} to message ${i}`);
    }
  }
  t.call.end();
  checkCode(await t.done, Status.OK, "Bidi");
  equal(t.responses.length, 5, "Bidi responses");
  // Half-close at once: no responses, OK.
  const empty = track(echo.Bidi());
  empty.call.end();
  checkCode(await empty.done, Status.OK, "Bidi (no messages)");
  equal(empty.responses.length, 0, "Bidi (no messages) responses");
}

async function largeMessagesScenario({ echo }) {
  const req = { text: "big", data: bytes(3 * MiB, 7) };
  const r = await unary(echo, req);
  checkCode(r.status, Status.OK, "Unary 3 MiB");
  checkEcho(r.response, req, "Unary 3 MiB");

  const t = track(echo.Bidi());
  for (let i = 0; i < 8; i++) {
    const m = { text: `chunk${i}`, data: bytes(256 * 1024, i) };
    t.call.write(m);
    checkEcho(await t.next(), m, `Bidi 256 KiB answer ${i}`);
  }
  t.call.end();
  checkCode(await t.done, Status.OK, "Bidi 256 KiB");

  // Streams of 128 KiB messages: both sides wait on flow control.
  const sreq = { text: "s", data: bytes(128 * 1024, 3), count: 40 };
  const ss = track(echo.ServerStream(sreq));
  checkCode(await ss.done, Status.OK, "ServerStream 40 × 128 KiB");
  equal(ss.responses.length, 40, "ServerStream 40 × 128 KiB responses");
  ss.responses.forEach((r, i) => checkEcho(r, { ...sreq, count: i }, `ServerStream response ${i}`));
  // (24 only: the aggregated response must stay under grpc-js's 4 MiB receive limit.)
  const parts = Array.from(
    { length: 24 },
    (_, i) => ({ text: "c", data: bytes(131072, i) }),
  );
  const cs = await clientStream(echo, parts);
  checkCode(cs.status, Status.OK, "ClientStream 24 × 128 KiB");
  checkEcho(cs.response, {
    text: "c".repeat(24),
    data: Buffer.concat(parts.map((p) => p.data)),
    count: 24,
  }, "ClientStream 24 × 128 KiB");
}

const MD_BIN = Buffer.from([0, 1, 2, 0x7f, 0x80, 0xfe, 0xff]);

function echoMetadata() {
  return metadata({
    "x-user": "ada lovelace",
    "x-trace-bin": MD_BIN,
    "not-echoed": "n",
  });
}

function checkEchoedMetadata(md, what) {
  check(md !== null && md !== undefined, `${what}: none received`);
  equal(md.get("x-user"), ["ada lovelace"], `${what}: x-user`);
  const bin = md.get("x-trace-bin");
  equal(bin.length, 1, `${what}: x-trace-bin values`);
  sameBytes(bin[0], MD_BIN, `${what}: x-trace-bin`);
  equal(md.get("not-echoed"), [], `${what}: not-echoed`);
}

async function metadataScenario({ echo }) {
  const u = await unary(echo, { text: "md" }, { md: echoMetadata() });
  checkCode(u.status, Status.OK, "Unary");
  checkEchoedMetadata(u.headers, "Unary headers");
  checkEchoedMetadata(u.status.metadata, "Unary trailers");

  const ss = track(echo.ServerStream({ text: "md", count: 2 }, echoMetadata()));
  checkCode(await ss.done, Status.OK, "ServerStream");
  checkEchoedMetadata(ss.headers, "ServerStream headers");
  checkEchoedMetadata(ss.status.metadata, "ServerStream trailers");

  const cs = await clientStream(echo, [{ text: "m" }, { text: "d" }], {
    md: echoMetadata(),
  });
  checkCode(cs.status, Status.OK, "ClientStream");
  checkEchoedMetadata(cs.headers, "ClientStream headers");
  checkEchoedMetadata(cs.status.metadata, "ClientStream trailers");

  // Bidi: the headers come at once, before any message is written.
  const b = track(echo.Bidi(echoMetadata()));
  const headers = await new Promise((resolve) => {
    if (b.headers !== null) resolve(b.headers);
    else b.call.once("metadata", resolve);
  });
  checkEchoedMetadata(headers, "Bidi headers (before any message)");
  b.call.write({ text: "md" });
  checkEcho(await b.next(), { text: "md" }, "Bidi answer");
  b.call.end();
  checkCode(await b.done, Status.OK, "Bidi");
  checkEchoedMetadata(b.status.metadata, "Bidi trailers");
}

async function errorDetailsScenario(ctx) {
  const { echo } = ctx;
  const req = {
    text: "fail",
    data: bytes(5),
    code: Status.INVALID_ARGUMENT,
    message: SPECIAL_MESSAGE,
  };
  const u = await unary(echo, req, { md: echoMetadata() });
  checkFailure(u.status, req, "Unary", ctx);
  check(u.error !== null, "Unary: the callback got no error");
  checkEchoedMetadata(u.status.metadata, "Unary trailers (on failure)");

  // A plain code and message too.
  const plain = { text: "x", code: Status.NOT_FOUND, message: "Cannot find x" };
  checkFailure(
    (await unary(echo, plain)).status,
    plain,
    "Unary NOT_FOUND",
    ctx,
  );

  // Server stream: the responses, then the failure.
  const sreq = {
    text: "s",
    count: 2,
    code: Status.ABORTED,
    message: SPECIAL_MESSAGE,
  };
  const ss = track(echo.ServerStream(sreq));
  checkFailure(await ss.done, sreq, "ServerStream", ctx);
  equal(
    ss.responses.map((r) => r.count),
    [0, 1],
    "ServerStream counts before the failure",
  );

  // Client stream: a message asking for a failure ends the call.
  const creq = {
    text: "b",
    code: Status.OUT_OF_RANGE,
    message: SPECIAL_MESSAGE,
  };
  const cs = await clientStream(echo, [{ text: "a" }, creq]);
  checkFailure(cs.status, creq, "ClientStream", ctx);

  // Bidi: the first message is answered, the second fails the call.
  const breq = {
    text: "q",
    code: Status.FAILED_PRECONDITION,
    message: SPECIAL_MESSAGE,
  };
  const b = track(echo.Bidi());
  b.call.write({ text: "p" });
  checkEcho(await b.next(), { text: "p" }, "Bidi answer");
  b.call.write(breq);
  b.call.end();
  checkFailure(await b.done, breq, "Bidi", ctx);
  equal(b.responses.length, 1, "Bidi responses before the failure");
}

async function deadlineExceededScenario({ echo }) {
  // The calls must reach their handlers before the deadline (the Deno side checks that each
  // handler saw its ctx.signal abort), so: a channel already READY, and a deadline that is long
  // next to getting a request to a handler even on a busy machine, short next to the sleep.
  checkCode((await unary(echo, { text: "warm-up" })).status, Status.OK, "Unary before");
  const deadline = Date.now() + DEADLINE_MS;
  const slow = { text: "slow", count: 1, sleep_ms: 60_000 };
  const t = track(
    echo.ServerStream(slow, metadata({ "call-id": "deadline-stream" }), { deadline }),
  );
  const u = await unary(echo, slow, {
    md: metadata({ "call-id": "deadline-unary" }),
    options: { deadline },
  });
  checkCode(u.status, Status.DEADLINE_EXCEEDED, "Unary");
  checkCode(await t.done, Status.DEADLINE_EXCEEDED, "ServerStream");
  equal(t.responses.length, 0, "ServerStream responses");

  // The channel is fine afterwards.
  checkCode(
    (await unary(echo, { text: "after" })).status,
    Status.OK,
    "Unary after",
  );
}

async function cancelScenario({ echo }) {
  const b = track(echo.Bidi(metadata({ "call-id": "cancel-bidi" })));
  b.call.write({ text: "first" });
  checkEcho(await b.next(), { text: "first" }, "Bidi answer");
  // Node's http2 sends an empty DATA with END_STREAM just before RST_STREAM on cancel: a handler
  // waiting for the next request would see the requests end, finish OK and never see the
  // cancel. So the handler first gets a message to sleep on (cancel once grpc-js wrote it).
  await new Promise((resolve) => b.call.write({ text: "sleepy", sleep_ms: 60000 }, resolve));
  b.call.cancel();
  checkCode(await b.done, Status.CANCELLED, "Bidi");

  const s = track(
    echo.ServerStream(
      { text: "many", count: 100000, sleep_ms: 5 },
      metadata({ "call-id": "cancel-stream" }),
    ),
  );
  check(
    (await s.next()) !== null,
    `ServerStream: no first response (status ${s.status?.code})`,
  );
  s.call.cancel();
  checkCode(await s.done, Status.CANCELLED, "ServerStream");

  checkCode(
    (await unary(echo, { text: "after" })).status,
    Status.OK,
    "Unary after",
  );
}

function rawUnary(client, path) {
  return new Promise((resolve) => {
    const call = client.makeUnaryRequest(
      path,
      (b) => b,
      (b) => b,
      Buffer.alloc(0),
      new grpc.Metadata(),
      {},
      () => {},
    );
    call.on("status", (status) => setImmediate(() => resolve(status)));
  });
}

async function unknownMethodScenario({ echo }) {
  const status = await rawUnary(echo, "/peer.Echo/Nope");
  checkCode(status, Status.UNIMPLEMENTED, "/peer.Echo/Nope");
  check(
    status.details.includes("Nope"),
    `message names the method: ${status.details}`,
  );
}

async function unknownServiceScenario({ echo }) {
  const status = await rawUnary(echo, "/peer.Nope/Unary");
  checkCode(status, Status.UNIMPLEMENTED, "/peer.Nope/Unary");
  check(
    status.details.includes("peer.Nope"),
    `message names the service: ${status.details}`,
  );
}

async function oversizedRequestScenario({ echo }) {
  const u = await unary(echo, { text: "big", data: bytes(4 * MiB + 1) });
  checkCode(u.status, Status.RESOURCE_EXHAUSTED, "Unary 4 MiB + 1");

  const cs = await clientStream(echo, [{ text: "ok" }, {
    text: "big",
    data: bytes(4 * MiB + 1),
  }]);
  checkCode(
    cs.status,
    Status.RESOURCE_EXHAUSTED,
    "ClientStream with a 4 MiB + 1 message",
  );

  // Just under the limit passes (the message is a little larger than its data field).
  const near = { text: "", data: bytes(4 * MiB - 16) };
  const n = await unary(echo, near);
  checkCode(n.status, Status.OK, "Unary just under 4 MiB");
  checkEcho(n.response, near, "Unary just under 4 MiB");
}

async function oversizedResponseScenario({ echo }) {
  const u = await unary(echo, { text: "big", data: bytes(2048) });
  checkCode(u.status, Status.RESOURCE_EXHAUSTED, "Unary 2048-byte response");

  const s = track(
    echo.ServerStream({ text: "big", data: bytes(2048), count: 3 }),
  );
  checkCode(
    await s.done,
    Status.RESOURCE_EXHAUSTED,
    "ServerStream 2048-byte responses",
  );
  equal(s.responses.length, 0, "ServerStream responses");

  const small = { text: "small", data: bytes(100) };
  const ok = await unary(echo, small);
  checkCode(ok.status, Status.OK, "Unary small");
  checkEcho(ok.response, small, "Unary small");
}

async function handlerErrorScenario({ echo }) {
  const message = "handler failed: plain Error";
  const u = await unary(echo, { text: "x" }, {
    md: metadata({ "test-throw": message }),
  });
  checkCode(u.status, Status.UNKNOWN, "Unary");
  equal(u.status.details, message, "Unary status message");

  const b = track(echo.Bidi(metadata({ "test-throw": message })));
  b.call.write({ text: "x" });
  b.call.end();
  checkCode(await b.done, Status.UNKNOWN, "Bidi");
  equal(b.status.details, message, "Bidi status message");
}

async function interceptorsScenario({ echo }) {
  const auth = () => metadata({ authorization: TOKEN });

  const denied = await unary(echo, { text: "t" }, {
    md: metadata({ "call-id": "denied-unary" }),
  });
  checkCode(denied.status, Status.PERMISSION_DENIED, "Unary without a token");
  const wrong = await unary(echo, { text: "t" }, {
    md: metadata({ authorization: "Bearer nope", "call-id": "denied-unary" }),
  });
  checkCode(wrong.status, Status.PERMISSION_DENIED, "Unary with a wrong token");

  const u = await unary(echo, { text: "t" }, { md: auth() });
  checkCode(u.status, Status.OK, "Unary with the token");
  equal(u.response.text, "tABba", "Unary text through A, B, handler, B, A");

  const ds = track(
    echo.ServerStream(
      { text: "t", count: 2 },
      metadata({ "call-id": "denied-stream" }),
    ),
  );
  checkCode(
    await ds.done,
    Status.PERMISSION_DENIED,
    "ServerStream without a token",
  );
  equal(ds.responses.length, 0, "ServerStream responses without a token");

  const ss = track(echo.ServerStream({ text: "t", count: 2 }, auth()));
  checkCode(await ss.done, Status.OK, "ServerStream with the token");
  equal(
    ss.responses.map((r) => r.text),
    ["tABba", "tABba"],
    "ServerStream texts",
  );

  const b = track(echo.Bidi(auth()));
  b.call.write({ text: "t" });
  equal((await b.next())?.text, "tABba", "Bidi answer text");
  b.call.write({ text: "u" });
  equal((await b.next())?.text, "uABba", "Bidi second answer text");
  b.call.end();
  checkCode(await b.done, Status.OK, "Bidi with the token");

  const cs = await clientStream(echo, [{ text: "t" }], { md: auth() });
  checkCode(cs.status, Status.UNIMPLEMENTED, "ClientStream (not implemented)");
}

/** Resolves once the channel's state satisfies `ok` (checked now and on every change). */
function channelState(client, ok, what) {
  const channel = client.getChannel();
  return new Promise((resolve, reject) => {
    const watch = () => {
      const state = channel.getConnectivityState(false);
      if (ok(state)) return resolve(state);
      channel.watchConnectivityState(
        state,
        Date.now() + SCENARIO_TIMEOUT_MS,
        (err) => {
          if (err) reject(new ScenarioFailure(`the channel never ${what}`));
          else watch();
        },
      );
    };
    watch();
  });
}

async function gracefulStopScenario({ echo, flags }) {
  const n = Number(flags.calls ?? 8); // checked in main()
  const calls = [];
  for (let i = 0; i < n; i++) {
    const text = `held-${i}`;
    const md = metadata({ "call-id": text });
    switch (i % 4) {
      case 0:
        calls.push(
          unary(echo, { text }, { md }).then((r) => {
            checkCode(r.status, Status.OK, `${text} (Unary)`);
            checkEcho(r.response, { text }, `${text} (Unary)`);
          }),
        );
        break;
      case 1: {
        const t = track(echo.ServerStream({ text, count: 3 }, md));
        calls.push(t.done.then((status) => {
          checkCode(status, Status.OK, `${text} (ServerStream)`);
          equal(
            t.responses.map((r) => r.count),
            [0, 1, 2],
            `${text} (ServerStream) counts`,
          );
        }));
        break;
      }
      case 2:
        calls.push(
          clientStream(echo, [{ text }, { text: "!" }], { md }).then((r) => {
            checkCode(r.status, Status.OK, `${text} (ClientStream)`);
            checkEcho(
              r.response,
              { text: `${text}!`, count: 2 },
              `${text} (ClientStream)`,
            );
          }),
        );
        break;
      case 3: {
        const t = track(echo.Bidi(md));
        t.call.write({ text, count: 2 });
        t.call.end();
        calls.push(t.done.then((status) => {
          checkCode(status, Status.OK, `${text} (Bidi)`);
          equal(
            t.responses.map((r) => r.text),
            [text, text],
            `${text} (Bidi) answers`,
          );
        }));
        break;
      }
    }
  }
  // Don't let one failure leave the others unobserved.
  const settled = Promise.allSettled(calls);

  // The Deno side calls gracefulStop() once its handlers hold all n calls; grpc-js then gets
  // GOAWAY, which takes the channel from READY to IDLE.
  const { READY } = grpc.connectivityState;
  await channelState(echo, (s) => s === READY, "became READY");
  await channelState(echo, (s) => s !== READY, "left READY (no GOAWAY?)");
  process.stdout.write("GOAWAY\n");

  const during = await unary(echo, { text: "during" });
  checkCode(during.status, Status.UNAVAILABLE, "a new call after GOAWAY");

  for (const r of await settled) {
    if (r.status === "rejected") throw r.reason;
  }
  const after = await unary(echo, { text: "after" });
  checkCode(after.status, Status.UNAVAILABLE, "a new call after the drain");
}

const SCENARIOS = {
  unary: unaryScenario,
  server_stream: serverStreamScenario,
  client_stream: clientStreamScenario,
  bidi: bidiScenario,
  large_messages: largeMessagesScenario,
  metadata: metadataScenario,
  error_details: errorDetailsScenario,
  deadline_exceeded: deadlineExceededScenario,
  cancel: cancelScenario,
  unknown_method: unknownMethodScenario,
  unknown_service: unknownServiceScenario,
  oversized_request: oversizedRequestScenario,
  oversized_response: oversizedResponseScenario,
  handler_error: handlerErrorScenario,
  interceptors: interceptorsScenario,
  graceful_stop: gracefulStopScenario,
};

// --- main -----------------------------------------------------------------------------------------

async function main() {
  const { flags, name, run, address } = parseClientArgs(
    process.argv.slice(2),
    "scenario",
    SCENARIOS,
    "scenario",
  );

  const calls = Number(flags.calls ?? 8);
  if (!Number.isInteger(calls) || calls < 4) {
    finish(
      2,
      `bad --calls ${JSON.stringify(flags.calls)}: want an integer ≥ 4`,
    );
  }

  const definition = protoLoader.loadSync(ECHO_PROTO, {
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  const { Echo } = grpc.loadPackageDefinition(definition).peer;
  const echo = new Echo(address, grpc.credentials.createInsecure());
  const ctx = {
    echo,
    flags,
    deserialize: Echo.service.Unary.requestDeserialize,
  };

  await runReported(
    name,
    async () => {
      await run(ctx);
      echo.close();
    },
    SCENARIO_TIMEOUT_MS,
    ScenarioFailure,
  );
}

main();
