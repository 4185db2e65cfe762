// The client role against a hand-driven server: GOAWAY and refused streams, waiting for a
// MAX_CONCURRENT_STREAMS slot, RST_STREAM and HTTP status mapping (PROTOCOL-HTTP2.md,
// http-grpc-status-mapping.md), trailers-only responses, and connection loss.

import { assert, assertEquals, assertRejects, assertThrows } from "@std/assert";
import { ErrorCode, Flag, FrameType, SettingId } from "./frame.ts";
import { type ClientTransportStream, TransportDrainingError } from "./http2_client.ts";
import { grpcFrame, header, rawClient, req, resp, settle, until } from "./_testing.ts";
import { Code, StatusError } from "../status.ts";

function ok(extra: string[] = []): string[] {
  return ["grpc-status", "0", ...extra];
}

async function failure(s: ClientTransportStream): Promise<StatusError> {
  return await assertRejects(async () => {
    while ((await s.recvMsg()) !== null) { /* drain */ }
  }, StatusError);
}

Deno.test("ClientTransport sends request HEADERS, messages and END_STREAM as expected", async () => {
  const { client, peer } = await rawClient();
  const s = await client.newStream(req("/a.B/C"));
  await s.sendMsg(new Uint8Array([1, 2]), false);
  s.closeSend();
  await settle();
  const [h] = peer.written(FrameType.HEADERS, 1);
  assertEquals(h.flags & Flag.END_STREAM, 0);
  assertEquals(header(h.headers, ":path"), "/a.B/C");
  assertEquals(header(h.headers, "te"), "trailers");
  const data = peer.written(FrameType.DATA, 1);
  assertEquals(data.map((f) => [...f.payload]), [[0, 0, 0, 0, 2, 1, 2], []]);
  assertEquals(data[1].flags, Flag.END_STREAM);
  // Response: headers, one message, trailers.
  peer.headers(1, resp(["x-h", "1"])).message(1, new Uint8Array([9]))
    .headers(1, ok(["x-t", "2"]), { endStream: true }).send();
  assertEquals(header(await s.headers(), "x-h"), "1");
  assertEquals(await s.recvMsg(), new Uint8Array([9]));
  assertEquals(await s.recvMsg(), null);
  assertEquals(header(s.trailers, "x-t"), "2");
  assertEquals(s.error, null);
  assertEquals(client.streams.size, 0);
  client.close();
});

Deno.test("GOAWAY: streams above last-stream-id are refused (UNAVAILABLE), those below complete", async () => {
  const { client, peer } = await rawClient();
  const s1 = await client.newStream(req());
  const s3 = await client.newStream(req());
  const s5 = await client.newStream(req());
  const s7 = await client.newStream(req());
  let drained = 0;
  client.onDrain = () => drained++;
  peer.goaway(3, ErrorCode.NO_ERROR).send();
  for (const s of [s5, s7]) {
    const err = await failure(s);
    assertEquals(err.code, Code.Unavailable);
    assertEquals(s.refused, true);
  }
  assertEquals(s1.refused, false);
  assertEquals(drained, 1);
  assert(client.draining);
  // No new streams on this connection.
  assertThrows(() => client.newStream(req()), TransportDrainingError);
  // 1 and 3 still complete.
  for (const id of [1, 3]) {
    peer.headers(id, resp()).message(id, new Uint8Array([id])).headers(id, ok(), {
      endStream: true,
    });
  }
  peer.send();
  for (const [s, id] of [[s1, 1], [s3, 3]] as const) {
    assertEquals(await s.recvMsg(), new Uint8Array([id]));
    assertEquals(await s.recvMsg(), null);
  }
  // Once they are done, the connection closes by itself.
  await client.closed;
  // Streams 5 and 7 were cancelled on the wire.
  assertEquals(peer.rsts(5).map((f) => f.errorCode), [ErrorCode.CANCEL]);
  assertEquals(peer.rsts(7).map((f) => f.errorCode), [ErrorCode.CANCEL]);
});

Deno.test("GOAWAY with an error code and no open stream closes the connection", async () => {
  const { client, peer } = await rawClient();
  peer.goaway(0, ErrorCode.ENHANCE_YOUR_CALM, "too_many_pings").send();
  await client.closed;
  assert(client.goawayReceived);
  assertThrows(() => client.newStream(req()), StatusError);
});

Deno.test("newStream waits for a MAX_CONCURRENT_STREAMS slot and takes it when a stream ends", async () => {
  const { client, peer } = await rawClient({}, [SettingId.MAX_CONCURRENT_STREAMS, 1]);
  assertEquals(client.peerMaxConcurrentStreams, 1);
  const s1 = await client.newStream(req());
  let s2: ClientTransportStream | undefined;
  const p2 = Promise.resolve(client.newStream(req())).then((s) => (s2 = s));
  await settle();
  assertEquals(s2, undefined);
  assertEquals(peer.written(FrameType.HEADERS).length, 1);
  // Stream 1 ends (trailers-only): the waiting newStream proceeds as stream 3.
  peer.headers(1, [...resp(), ...ok()], { endStream: true }).send();
  assertEquals(await s1.recvMsg(), null);
  await p2;
  assertEquals(s2!.id, 3);
  await settle();
  assertEquals(peer.written(FrameType.HEADERS).map((f) => f.streamId), [1, 3]);
  client.close();
});

Deno.test("newStream waiters proceed when SETTINGS raise MAX_CONCURRENT_STREAMS, and fail on GOAWAY", async () => {
  const { client, peer } = await rawClient({}, [SettingId.MAX_CONCURRENT_STREAMS, 1]);
  await client.newStream(req());
  const waiting = [1, 2, 3].map(() => Promise.resolve(client.newStream(req())));
  await settle();
  peer.settings([SettingId.MAX_CONCURRENT_STREAMS, 3]).send();
  let woke = 0;
  for (const w of waiting) w.then(() => woke++, () => {});
  await until(() => woke === 2, "two waiters");
  const [a, b] = await Promise.all([waiting[0], waiting[1]]);
  assertEquals([a.id, b.id], [3, 5]);
  // The third still waits; GOAWAY sends it elsewhere.
  peer.goaway(5, ErrorCode.NO_ERROR).send();
  await assertRejects(() => waiting[2], TransportDrainingError);
  client.close();
});

Deno.test("a withdrawn slot wait never opens a stream; grpc-timeout is what is left when HEADERS go out", async () => {
  let now = 1_000_000;
  const { client, peer } = await rawClient({}, [SettingId.MAX_CONCURRENT_STREAMS, 1]);
  client.now = () => now;
  const s1 = await client.newStream(req());
  // Three calls wait for the slot: one is withdrawn (its call was cancelled), one runs out of
  // time while waiting, one has 10 s left when it starts waiting.
  const gone = client.newStream(req(), undefined, now + 60_000) as Promise<ClientTransportStream>;
  const late = client.newStream(req(), undefined, now + 1_000) as Promise<ClientTransportStream>;
  const kept = client.newStream(req(), undefined, now + 10_000) as Promise<ClientTransportStream>;
  assert(gone instanceof Promise && late instanceof Promise && kept instanceof Promise);
  const cancelled = new StatusError(Code.Canceled, "call cancelled");
  assertEquals(client.withdraw(gone, cancelled), true);
  assertEquals(await assertRejects(() => gone), cancelled);
  assertEquals(client.withdraw(gone, cancelled), false);
  // 4 s pass; then stream 1 ends and frees the slot.
  now += 4_000;
  s1.closeSend();
  peer.headers(1, [...resp(), ...ok()], { endStream: true }).send();
  assertEquals(await s1.recvMsg(), null);
  const err = await assertRejects(() => late, StatusError);
  assertEquals(err.code, Code.DeadlineExceeded);
  const s = await kept;
  assertEquals(s.id, 3);
  await settle();
  // Only the waiter still wanted opened a stream, and nothing was reset.
  assertEquals(peer.written(FrameType.HEADERS).map((f) => f.streamId), [1, 3]);
  assertEquals(peer.written(FrameType.RST_STREAM).length, 0);
  assertEquals(header(peer.written(FrameType.HEADERS, 3)[0].headers, "grpc-timeout"), "6000000u");
  client.close();
});

Deno.test("a slot waiter does not lose its place to a newStream() that came later", async () => {
  const { client, peer } = await rawClient({}, [SettingId.MAX_CONCURRENT_STREAMS, 1]);
  const s1 = await client.newStream(req());
  const first = client.newStream(req());
  assert(first instanceof Promise);
  peer.headers(1, [...resp(), ...ok()], { endStream: true }).send();
  assertEquals(await s1.recvMsg(), null);
  // The slot went to the waiter, so a newcomer waits behind it.
  assert(client.newStream(req()) instanceof Promise);
  assertEquals((await first).id, 3);
  client.close();
});

const RST_MAPPING: [number, number][] = [
  [ErrorCode.NO_ERROR, Code.Internal],
  [ErrorCode.PROTOCOL_ERROR, Code.Internal],
  [ErrorCode.INTERNAL_ERROR, Code.Internal],
  [ErrorCode.FLOW_CONTROL_ERROR, Code.Internal],
  [ErrorCode.REFUSED_STREAM, Code.Unavailable],
  [ErrorCode.CANCEL, Code.Canceled],
  [ErrorCode.ENHANCE_YOUR_CALM, Code.ResourceExhausted],
  [ErrorCode.INADEQUATE_SECURITY, Code.PermissionDenied],
  [0xabc, Code.Internal],
];

for (const [rst, code] of RST_MAPPING) {
  Deno.test(`RST_STREAM ${rst} from the server fails the call with gRPC code ${code}`, async () => {
    const { client, peer } = await rawClient();
    const s = await client.newStream(req());
    const other = await client.newStream(req());
    peer.rst(1, rst).send();
    const err = await failure(s);
    assertEquals(err.code, code);
    assertEquals(s.refused, rst === ErrorCode.REFUSED_STREAM);
    assertEquals(s.rstCode, rst);
    // The other stream is unaffected.
    peer.headers(3, [...resp(), ...ok()], { endStream: true }).send();
    assertEquals(await other.recvMsg(), null);
    client.close();
  });
}

const HTTP_MAPPING: [number, number][] = [
  [400, Code.Internal],
  [401, Code.Unauthenticated],
  [403, Code.PermissionDenied],
  [404, Code.Unimplemented],
  [429, Code.Unavailable],
  [502, Code.Unavailable],
  [503, Code.Unavailable],
  [504, Code.Unavailable],
  [500, Code.Unknown],
];

for (const [status, code] of HTTP_MAPPING) {
  Deno.test(`HTTP :status ${status} fails the call with gRPC code ${code} (headers, then with END_STREAM)`, async () => {
    const { client, peer } = await rawClient();
    const a = await client.newStream(req());
    const b = await client.newStream(req());
    peer.headers(1, [":status", String(status), "content-type", "text/html"]).send();
    assertEquals((await failure(a)).code, code);
    peer.headers(3, [":status", String(status)], { endStream: true }).send();
    assertEquals((await failure(b)).code, code);
    client.close();
  });
}

Deno.test("A non-200 :status with a grpc-status in trailers-only uses the grpc-status", async () => {
  const { client, peer } = await rawClient();
  const s = await client.newStream(req());
  peer.headers(1, [":status", "503", "grpc-status", "5", "grpc-message", "gone"], {
    endStream: true,
  }).send();
  const err = await failure(s);
  assertEquals(err.code, Code.NotFound);
  client.close();
});

Deno.test("A response without grpc-status fails with UNKNOWN", async () => {
  const { client, peer } = await rawClient();
  const s = await client.newStream(req());
  peer.headers(1, resp()).message(1, new Uint8Array([1])).headers(1, ["x-t", "1"], {
    endStream: true,
  }).send();
  assertEquals(await s.recvMsg(), new Uint8Array([1]));
  const err = await failure(s);
  assertEquals(err.code, Code.Unknown);
  client.close();
});

Deno.test("A 200 response with a non-gRPC content-type fails with UNKNOWN", async () => {
  const { client, peer } = await rawClient();
  const s = await client.newStream(req());
  peer.headers(1, [":status", "200", "content-type", "text/plain"]).send();
  assertEquals((await failure(s)).code, Code.Unknown);
  await settle();
  assertEquals(peer.rsts(1).map((f) => f.errorCode), [ErrorCode.CANCEL]);
  client.close();
});

Deno.test("Trailers-only: status, percent-decoded message and metadata; messages none", async () => {
  const { client, peer } = await rawClient();
  const s = await client.newStream(req());
  peer.headers(1, [
    ...resp(),
    "grpc-status",
    "5",
    "grpc-message",
    "not%20here%25",
    "x-md",
    "v",
  ], { endStream: true }).send();
  const err = await failure(s);
  assertEquals(err.code, Code.NotFound);
  assertEquals(err.rawMessage, "not here%");
  assertEquals(err.metadata.get("x-md"), "v");
  assertEquals(header(s.trailers, "grpc-status"), "5");
  // The stream is over on our side too: the server ended, we send RST_STREAM NO_ERROR.
  await settle();
  assertEquals(peer.rsts(1).map((f) => f.errorCode), [ErrorCode.NO_ERROR]);
  assertEquals(client.streams.size, 0);
  client.close();
});

Deno.test("Trailers-only with grpc-status 0 ends the call with no messages", async () => {
  const { client, peer } = await rawClient();
  const s = await client.newStream(req());
  await s.sendMsg(new Uint8Array([1]), false, true);
  peer.headers(1, [...resp(), ...ok()], { endStream: true }).send();
  assertEquals(await s.recvMsg(), null);
  assertEquals(s.error, null);
  client.close();
});

Deno.test("Informational 1xx headers are skipped", async () => {
  const { client, peer } = await rawClient();
  const s = await client.newStream(req());
  peer.headers(1, [":status", "100"]).headers(1, resp()).message(1, new Uint8Array([4]))
    .headers(1, ok(), { endStream: true }).send();
  assertEquals(await s.recvMsg(), new Uint8Array([4]));
  assertEquals(await s.recvMsg(), null);
  client.close();
});

Deno.test("Trailers without END_STREAM fail the call INTERNAL and reset it PROTOCOL_ERROR", async () => {
  const { client, peer } = await rawClient();
  const s = await client.newStream(req());
  peer.headers(1, resp()).headers(1, ok()).send();
  assertEquals((await failure(s)).code, Code.Internal);
  await settle();
  assertEquals(peer.rsts(1).map((f) => f.errorCode), [ErrorCode.PROTOCOL_ERROR]);
  client.close();
});

Deno.test("A response ending mid-message fails INTERNAL", async () => {
  const { client, peer } = await rawClient();
  const s = await client.newStream(req());
  peer.headers(1, resp()).data(1, grpcFrame(new Uint8Array(10)).subarray(0, 8))
    .headers(1, ok(), { endStream: true }).send();
  assertEquals((await failure(s)).code, Code.Internal);
  client.close();
});

Deno.test("cancel() sends RST_STREAM CANCEL and fails reads CANCELLED", async () => {
  const { client, peer } = await rawClient();
  const s = await client.newStream(req());
  const reading = failure(s);
  s.cancel(new StatusError(Code.Canceled, "user"));
  assertEquals((await reading).code, Code.Canceled);
  await settle();
  assertEquals(peer.rsts(1).map((f) => f.errorCode), [ErrorCode.CANCEL]);
  // Late frames for the cancelled stream are ignored; the connection carries on.
  peer.headers(1, resp()).message(1, new Uint8Array([1])).ping().send();
  await until(() => peer.pingAcks().length === 1, "PING ACK");
  assertEquals(peer.goaways(), []);
  client.close();
});

Deno.test("Connection lost mid-call fails every open call UNAVAILABLE", async () => {
  const { client, peer, remote } = await rawClient();
  const a = await client.newStream(req());
  const b = await client.newStream(req());
  peer.headers(1, resp()).message(1, new Uint8Array([1])).send();
  assertEquals(await a.recvMsg(), new Uint8Array([1]));
  remote.close();
  for (const s of [a, b]) {
    const err = await failure(s);
    assertEquals(err.code, Code.Unavailable);
    assertEquals(s.refused, false);
  }
  await client.closed;
  assertThrows(() => client.newStream(req()), StatusError);
});

Deno.test("close() fails every open call UNAVAILABLE and wakes headers() waiters", async () => {
  const { client } = await rawClient();
  const s = await client.newStream(req());
  const h = s.headers();
  client.close();
  assertEquals((await assertRejects(() => h, StatusError)).code, Code.Unavailable);
  assertEquals((await failure(s)).code, Code.Unavailable);
});

Deno.test("sendMsg after the call failed rejects with its error", async () => {
  const { client, peer } = await rawClient();
  const s = await client.newStream(req());
  peer.rst(1, ErrorCode.REFUSED_STREAM).send();
  await failure(s);
  const err = await assertRejects(() => s.sendMsg(new Uint8Array([1]), false), StatusError);
  assertEquals(err.code, Code.Unavailable);
  client.close();
});

Deno.test("sendMsg after the server ended the call OK rejects FAILED_PRECONDITION (grpc-go: io.EOF)", async () => {
  const { client, peer } = await rawClient();
  const s = await client.newStream(req());
  peer.headers(1, [...resp(), ...ok()], { endStream: true }).send();
  assertEquals(await s.recvMsg(), null);
  const err = await assertRejects(() => s.sendMsg(new Uint8Array([1]), false), StatusError);
  assertEquals(err.code, Code.FailedPrecondition);
  assertEquals(err.rawMessage, "Cannot send message: the call has ended");
  client.close();
});

Deno.test("A response header list over our maxHeaderListSize fails INTERNAL and resets FRAME_SIZE_ERROR; HPACK stays in sync", async () => {
  const { client, peer } = await rawClient({ maxHeaderListSize: 500 });
  const a = await client.newStream(req());
  const b = await client.newStream(req());
  peer.headers(1, [...resp(), "x-big", "b".repeat(1000)]).send();
  assertEquals((await failure(a)).code, Code.Internal);
  await settle();
  assertEquals(peer.rsts(1).map((f) => f.errorCode), [ErrorCode.FRAME_SIZE_ERROR]);
  peer.headers(3, [...resp(), ...ok()], { endStream: true }).send();
  assertEquals(await b.recvMsg(), null);
  client.close();
});
