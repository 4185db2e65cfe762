// Request validation (RFC 9113 §8.2–8.3) and the configurable limits: MAX_CONCURRENT_STREAMS,
// header list size (with HPACK kept in sync), header block size, MAX_FRAME_SIZE and
// maxReceiveMessageSize.

import { assert, assertEquals, assertRejects } from "@std/assert";
import { ErrorCode, Flag, FrameType } from "./frame.ts";
import type { ServerStream } from "./http2_server.ts";
import {
  connected,
  echo,
  handshakenServer,
  header,
  hpackIndexed,
  hpackIndexing,
  hpackLiterals,
  parseFrames,
  req,
  settle,
  until,
} from "./_testing.ts";
import { Code, StatusError } from "../status.ts";

// ---- request validation --------------------------------------------------------------------

const BASE = [":method", "POST", ":scheme", "http", ":path", "/a.B/C", ":authority", "x"];
const MALFORMED: [string, string[]][] = [
  ["an upper-case header name", [...BASE, "Content-Type", "application/grpc"]],
  ["a pseudo-header after a regular one", [
    ":method",
    "POST",
    ":scheme",
    "http",
    "content-type",
    "application/grpc",
    ":path",
    "/a.B/C",
  ]],
  ["an unknown pseudo-header", [...BASE, ":protocol", "websocket"]],
  ["a response pseudo-header in a request", [...BASE, ":status", "200"]],
  ["a duplicate :path", [...BASE, ":path", "/a.B/D"]],
  ["a duplicate :method", [":method", "POST", ...BASE]],
  ["no :path", [":method", "POST", ":scheme", "http", ":authority", "x"]],
  ["no :method", [":scheme", "http", ":path", "/a.B/C"]],
  ["no :scheme", [":method", "POST", ":path", "/a.B/C"]],
  ["connection: keep-alive", [...BASE, "connection", "keep-alive"]],
  ["transfer-encoding", [...BASE, "transfer-encoding", "chunked"]],
  ["upgrade", [...BASE, "upgrade", "h2c"]],
  ["keep-alive", [...BASE, "keep-alive", "timeout=5"]],
  ["proxy-connection", [...BASE, "proxy-connection", "close"]],
  ["te: gzip", [...BASE, "te", "gzip"]],
  ["a header name with a space", [...BASE, "x y", "1"]],
  ["an empty header name", [...BASE, "", "1"]],
  // RFC 9113 §8.2.1: NUL, CR and LF never appear in a field value.
  ["a NUL in a header value", [...BASE, "x-a", "a\0b"]],
  ["a CR in a header value", [...BASE, "x-a", "a\rb"]],
  ["a LF in a header value", [...BASE, "x-a", "a\nb"]],
  ["a LF in a pseudo-header value", [...BASE.slice(0, 4), ":path", "/a.B/C\n", ...BASE.slice(6)]],
  ["a content-length that is not a number", [...BASE, "content-length", "1x"]],
  ["two content-lengths that disagree", [...BASE, "content-length", "1", "content-length", "2"]],
];

for (const [what, list] of MALFORMED) {
  Deno.test(`A request with ${what} is RST_STREAM PROTOCOL_ERROR; the next stream is served`, async () => {
    const streams: ServerStream[] = [];
    const { server, peer } = await handshakenServer((s) => {
      streams.push(s);
      void echo(s);
    });
    peer.headers(1, list, { endStream: true }).send();
    await until(() => peer.rsts(1).length === 1, "RST_STREAM");
    assertEquals(peer.rsts(1)[0].errorCode, ErrorCode.PROTOCOL_ERROR);
    assertEquals(streams.length, 0);
    // A valid request on the same connection works.
    peer.headers(3, req()).message(3, new Uint8Array([42]), true).send();
    await until(() => peer.written(FrameType.HEADERS, 3).length === 2, "response + trailers");
    const [h, t] = peer.written(FrameType.HEADERS, 3);
    assertEquals(header(h.headers, ":status"), "200");
    assertEquals(header(t.headers, "grpc-status"), "0");
    assertEquals(peer.written(FrameType.DATA, 3)[0].payload, new Uint8Array([0, 0, 0, 0, 1, 42]));
    assertEquals(peer.goaways(), []);
    server.close();
  });
}

Deno.test("A well-formed GET is answered 405 + grpc-status 13 (trailers-only), as grpc-go does, not reset", async () => {
  const streams: ServerStream[] = [];
  const { server, peer } = await handshakenServer((s) => streams.push(s));
  peer.headers(1, [":method", "GET", ":scheme", "http", ":path", "/a.B/C"], { endStream: true })
    .headers(3, [":method", "PUT", ":scheme", "http", ":path", "/a.B/C"]).send();
  await until(() => peer.written(FrameType.HEADERS).length === 2, "two responses");
  for (const id of [1, 3]) {
    const [h] = peer.written(FrameType.HEADERS, id);
    assertEquals(h.flags & Flag.END_STREAM, Flag.END_STREAM);
    assertEquals(header(h.headers, ":status"), "405");
    assertEquals(header(h.headers, "grpc-status"), "13");
  }
  assertEquals(peer.rsts(1), []); // the client had ended: nothing to stop
  assertEquals(peer.rsts(3).map((f) => f.errorCode), [ErrorCode.NO_ERROR]);
  assertEquals(streams.length, 0);
  assertEquals(server.streams.size, 0);
  assertEquals(peer.goaways(), []);
  server.close();
});

Deno.test("A non-gRPC content-type is answered 415 + grpc-status 3, a malformed grpc-timeout 400 + 13 (trailers-only), before any handler", async () => {
  const streams: ServerStream[] = [];
  const { server, peer } = await handshakenServer((s) => streams.push(s));
  peer.headers(1, [...BASE, "content-type", "application/json"], { endStream: true })
    .headers(3, [...BASE, "content-type", "application/grpc", "grpc-timeout", "1x"])
    .headers(5, BASE, { endStream: true }).send();
  await until(() => peer.written(FrameType.HEADERS).length === 3, "three responses");
  const answers = [[1, "415", "3"], [3, "400", "13"], [5, "415", "3"]] as const;
  for (const [id, status, code] of answers) {
    const [h] = peer.written(FrameType.HEADERS, id);
    assertEquals(h.flags & Flag.END_STREAM, Flag.END_STREAM);
    assertEquals(header(h.headers, ":status"), status);
    assertEquals(header(h.headers, "grpc-status"), code);
  }
  assertEquals(peer.rsts(1), []);
  assertEquals(peer.rsts(3).map((f) => f.errorCode), [ErrorCode.NO_ERROR]); // still sending
  assertEquals(streams.length, 0);
  assertEquals(server.streams.size, 0);
  assertEquals(peer.goaways(), []);
  server.close();
});

Deno.test("A request with te: trailers and lower-case names is accepted", async () => {
  const streams: ServerStream[] = [];
  const { server, peer } = await handshakenServer((s) => streams.push(s));
  peer.headers(1, [...BASE, "content-type", "application/grpc", "te", "trailers", "x-custom", "v"])
    .send();
  await until(() => streams.length === 1, "stream");
  assertEquals(streams[0].method, "/a.B/C");
  assertEquals(header(streams[0].headers, "x-custom"), "v");
  assertEquals(peer.rsts(), []);
  server.close();
});

Deno.test("Request trailers with a pseudo-header are RST_STREAM PROTOCOL_ERROR", async () => {
  const streams: ServerStream[] = [];
  const { server, peer } = await handshakenServer((s) => streams.push(s));
  peer.headers(1, req()).headers(1, [":path", "/x"], { endStream: true }).send();
  await until(() => peer.rsts(1).length === 1, "RST_STREAM");
  assertEquals(peer.rsts(1)[0].errorCode, ErrorCode.PROTOCOL_ERROR);
  server.close();
});

// ---- limits --------------------------------------------------------------------------------

Deno.test("Streams over MAX_CONCURRENT_STREAMS are RST_STREAM REFUSED_STREAM; a freed slot is reused", async () => {
  const streams: ServerStream[] = [];
  const { server, peer } = await handshakenServer((s) => streams.push(s), {
    maxConcurrentStreams: 2,
  });
  const ours = await peer.firstSettings();
  assertEquals(ours.settings.includes(3), true); // SETTINGS_MAX_CONCURRENT_STREAMS advertised
  peer.headers(1, req()).headers(3, req()).headers(5, req()).send();
  await until(() => peer.rsts(5).length === 1, "RST 5");
  assertEquals(peer.rsts(5)[0].errorCode, ErrorCode.REFUSED_STREAM);
  assertEquals(streams.map((s) => s.id), [1, 3]);
  // Finish stream 1 (handler returns, stream closes): the next stream is admitted.
  peer.data(1, [], true).send();
  await until(() => streams[0].remoteEnded, "end of 1");
  streams[0].sendTrailers(0, "");
  streams[0].handlerDone();
  peer.headers(7, req()).send();
  await until(() => streams.length === 3, "stream 7");
  assertEquals(streams[2].id, 7);
  assertEquals(peer.rsts(7), []);
  server.close();
});

Deno.test("A handler still running after its stream ended holds its MAX_CONCURRENT_STREAMS slot", async () => {
  const streams: ServerStream[] = [];
  const { server, peer } = await handshakenServer((s) => streams.push(s), {
    maxConcurrentStreams: 1,
  });
  peer.headers(1, req()).rst(1, ErrorCode.CANCEL).headers(3, req()).send();
  await until(() => peer.rsts(3).length === 1, "RST 3");
  assertEquals(peer.rsts(3)[0].errorCode, ErrorCode.REFUSED_STREAM);
  streams[0].handlerDone();
  peer.headers(5, req()).send();
  await until(() => streams.length === 2, "stream 5");
  server.close();
});

Deno.test("A header list over maxHeaderListSize is RST_STREAM FRAME_SIZE_ERROR; HPACK stays in sync", async () => {
  const streams: ServerStream[] = [];
  const { server, peer } = await handshakenServer((s) => streams.push(s), {
    maxHeaderListSize: 1024,
  });
  // Advertised in our SETTINGS.
  const ours = await peer.firstSettings();
  assertEquals(ours.settings[ours.settings.indexOf(6) + 1], 1024);
  // Stream 1: too large (a 2000-byte header), and *after* it an entry for the dynamic table.
  const block1 = [
    ...hpackLiterals(req()),
    ...hpackLiterals(["x-pad", "p".repeat(2000)]),
    ...hpackIndexing("x-kept", "dynamic-value"),
  ];
  peer.headers(1, block1, { endStream: true }).send();
  await until(() => peer.rsts(1).length === 1, "RST 1");
  assertEquals(peer.rsts(1)[0].errorCode, ErrorCode.FRAME_SIZE_ERROR);
  assertEquals(streams.length, 0);
  // Stream 3 refers to that entry by index (62): it must decode to the same field.
  peer.headers(3, [...hpackLiterals(req()), ...hpackIndexed(62)], { endStream: true }).send();
  await until(() => streams.length === 1, "stream 3");
  assertEquals(header(streams[0].headers, "x-kept"), "dynamic-value");
  assertEquals(peer.goaways(), []);
  server.close();
});

Deno.test("A header block over maxHeaderBlockSize is GOAWAY ENHANCE_YOUR_CALM, buffering no more than the limit", async () => {
  const { server, peer } = await handshakenServer(() => {}, { maxHeaderBlockSize: 20_000 });
  const filler = hpackLiterals(["x-a", "a".repeat(9000)]);
  peer.headers(1, hpackLiterals(req()), { endHeaders: false })
    .continuation(1, filler, false).send();
  await settle();
  assertEquals(server.isClosed, false);
  assert(server.headerBlockBuffered > 9000 && server.headerBlockBuffered <= 20_000);
  peer.continuation(1, filler, false).continuation(1, filler, true).send();
  await server.closed;
  const g = peer.goaways();
  assertEquals(g.map((f) => f.errorCode), [ErrorCode.ENHANCE_YOUR_CALM]);
  assert(server.headerBlockBuffered <= 20_000);
});

Deno.test("A frame over our MAX_FRAME_SIZE is GOAWAY FRAME_SIZE_ERROR, detected from its header alone", async () => {
  const { server, peer } = await handshakenServer();
  // Only the 9-byte header of a 16385-byte DATA frame: the server must not wait for the rest.
  peer.raw([0x00, 0x40, 0x01, FrameType.DATA, 0, 0, 0, 0, 1]).send();
  await server.closed;
  assertEquals(peer.goaways().map((f) => f.errorCode), [ErrorCode.FRAME_SIZE_ERROR]);
});

Deno.test("A larger MAX_FRAME_SIZE is advertised and accepted", async () => {
  const streams: ServerStream[] = [];
  const { server, peer } = await handshakenServer((s) => streams.push(s), {
    maxFrameSize: 65536,
    dynamicWindow: false,
  });
  const ours = await peer.firstSettings();
  assertEquals(ours.settings[ours.settings.indexOf(5) + 1], 65536);
  peer.headers(1, req()).message(1, new Uint8Array(40_000)).send();
  await until(() => streams.length === 1, "stream");
  assertEquals((await streams[0].recvMsg())?.length, 40_000);
  assertEquals(peer.goaways(), []);
  server.close();
});

Deno.test("A message over maxReceiveMessageSize fails that stream with grpc-status 8; others are unaffected", async () => {
  const { server, client } = connected((s) => void echo(s), { maxReceiveMessageSize: 1000 });
  const ok = await client.newStream(req());
  const big = await client.newStream(req());
  await big.sendMsg(new Uint8Array(1001), false, true);
  const err = await assertRejects(() => big.recvMsg(), StatusError);
  assertEquals(err.code, Code.ResourceExhausted);
  assertEquals(header(big.trailers, "grpc-status"), "8");
  assert(/maxReceiveMessageSize/.test(err.message), err.message);
  // The other stream, and new ones, work.
  await ok.sendMsg(new Uint8Array(1000), false, true);
  assertEquals((await ok.recvMsg())?.length, 1000);
  assertEquals(await ok.recvMsg(), null);
  const again = await client.newStream(req());
  await again.sendMsg(new Uint8Array([1]), false, true);
  assertEquals(await again.recvMsg(), new Uint8Array([1]));
  client.close();
  server.close();
});

Deno.test("ClientTransport fails a response message over maxReceiveMessageSize with RESOURCE_EXHAUSTED and cancels it", async () => {
  const { server, client, a } = connected((s) => void echo(s), {}, { maxReceiveMessageSize: 100 });
  const s = await client.newStream(req());
  await s.sendMsg(new Uint8Array(101), false, true);
  const err = await assertRejects(() => s.recvMsg(), StatusError);
  assertEquals(err.code, Code.ResourceExhausted);
  await settle();
  const rst = parseFrames(a.allWritten()).filter((f) => f.type === FrameType.RST_STREAM);
  assertEquals(rst.map((f) => [f.streamId, f.errorCode]), [[1, ErrorCode.CANCEL]]);
  // The connection is fine.
  const s2 = await client.newStream(req());
  await s2.sendMsg(new Uint8Array(100), false, true);
  assertEquals((await s2.recvMsg())?.length, 100);
  client.close();
  server.close();
});

Deno.test("Trailers-only and END_STREAM flags on the wire for a handler that fails at once", async () => {
  const { server, peer } = await handshakenServer((s) => {
    s.sendTrailers(Code.NotFound, "nope");
    s.handlerDone();
  });
  peer.headers(1, req(), { endStream: true }).send();
  await until(() => peer.written(FrameType.HEADERS, 1).length === 1, "trailers-only");
  const [h] = peer.written(FrameType.HEADERS, 1);
  assertEquals(h.flags & Flag.END_STREAM, Flag.END_STREAM);
  assertEquals(header(h.headers, ":status"), "200");
  assertEquals(header(h.headers, "grpc-status"), "5");
  assertEquals(header(h.headers, "grpc-message"), "nope");
  await settle();
  assertEquals(server.streams.size, 0);
  server.close();
});
