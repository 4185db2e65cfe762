// RFC 9113 details an HTTP/2 conformance suite checks (issue #13): frames on half-closed and
// closed streams (§5.1, §6.1), content-length against DATA (§8.1.1), and NUL/CR/LF in field
// values of responses (§8.2.1; requests are in limits_test.ts).

import { assertEquals } from "@std/assert";
import { ErrorCode, FrameType } from "./frame.ts";
import type { ServerStream } from "./http2_server.ts";
import { handshakenServer, rawClient, req, resp, settle, until } from "./_testing.ts";
import { Code, type StatusError } from "../status.ts";

Deno.test("A second HEADERS on a half-closed (remote) stream is RST_STREAM STREAM_CLOSED, request headers or trailers alike (§5.1)", async () => {
  const streams: ServerStream[] = [];
  const { server, peer } = await handshakenServer((s) => streams.push(s)); // handlers never end
  peer.headers(1, req(), { endStream: true }).headers(3, req(), { endStream: true }).send();
  await until(() => streams.length === 2, "streams");
  peer.headers(1, req(), { endStream: true }).headers(3, ["x-t", "1"], { endStream: true }).send();
  await until(() => peer.rsts().length === 2, "two RST_STREAMs");
  assertEquals(peer.rsts().map((f) => [f.streamId, f.errorCode]), [
    [1, ErrorCode.STREAM_CLOSED],
    [3, ErrorCode.STREAM_CLOSED],
  ]);
  assertEquals(peer.goaways(), []);
  server.close();
});

Deno.test("DATA on a closed stream is RST_STREAM STREAM_CLOSED once; its bytes still count for the connection window (§6.1)", async () => {
  const { server, peer } = await handshakenServer((s) => {
    // Both sides end: the client with END_STREAM, the handler with trailers. No RST_STREAM.
    s.recvMsg().then(() => {
      s.sendTrailers(0, "");
      s.handlerDone();
    });
  }, { dynamicWindow: false });
  peer.headers(1, req()).message(1, new Uint8Array([1]), true).send();
  await until(() => peer.written(FrameType.HEADERS, 1).length === 1, "trailers-only response");
  await settle();
  assertEquals(peer.rsts(1), []);
  // The client breaks the rules: more DATA on the closed stream.
  for (let i = 0; i < 4; i++) peer.data(1, new Uint8Array(10_000));
  peer.ping().send();
  await until(() => peer.pingAcks().length === 1, "PING ACK");
  assertEquals(peer.rsts(1).map((f) => f.errorCode), [ErrorCode.STREAM_CLOSED]);
  let credited = 0;
  for (const f of peer.written(FrameType.WINDOW_UPDATE, 0)) credited += f.increment;
  assertEquals(credited, 6 + 40_000);
  assertEquals(peer.goaways(), []);
  server.close();
});

Deno.test("DATA after the peer's own RST_STREAM is RST_STREAM STREAM_CLOSED (§5.1)", async () => {
  const { server, peer } = await handshakenServer(() => {});
  peer.headers(1, req()).send();
  await settle();
  peer.rst(1, ErrorCode.CANCEL).data(1, new Uint8Array(5)).send();
  await until(() => peer.rsts(1).length === 1, "RST_STREAM");
  assertEquals(peer.rsts(1)[0].errorCode, ErrorCode.STREAM_CLOSED);
  assertEquals(peer.goaways(), []);
  server.close();
});

Deno.test("DATA that disagrees with content-length is RST_STREAM PROTOCOL_ERROR (§8.1.1); DATA that agrees is served", async () => {
  const streams: ServerStream[] = [];
  const { server, peer } = await handshakenServer((s) => streams.push(s));
  const cl = (n: number) => req(undefined, ["content-length", String(n)]);
  const msg = new Uint8Array(5); // 10 bytes of DATA with its prefix
  peer.headers(1, cl(20)).message(1, msg, true); // too little at END_STREAM
  peer.headers(3, cl(8)).message(3, msg); // too much, found at once
  peer.headers(5, cl(10), { endStream: true }); // nothing where 10 bytes were announced
  peer.headers(7, cl(20)).message(7, msg).headers(7, ["x-t", "1"], { endStream: true }); // trailers
  peer.headers(9, cl(10)).message(9, msg, true); // exact
  peer.send();
  await until(() => peer.rsts().length === 4, "four RST_STREAMs");
  assertEquals(peer.rsts().map((f) => [f.streamId, f.errorCode]), [
    [1, ErrorCode.PROTOCOL_ERROR],
    [3, ErrorCode.PROTOCOL_ERROR],
    [5, ErrorCode.PROTOCOL_ERROR],
    [7, ErrorCode.PROTOCOL_ERROR],
  ]);
  const served = streams.find((s) => s.id === 9)!;
  assertEquals(await served.recvMsg(), msg);
  assertEquals(await served.recvMsg(), null);
  assertEquals(peer.goaways(), []);
  server.close();
});

Deno.test("Client: response headers or trailers with NUL, CR or LF in a value fail the call INTERNAL and reset PROTOCOL_ERROR (§8.2.1)", async () => {
  for (const bad of ["a\0b", "a\rb", "a\nb"]) {
    for (const where of ["headers", "trailers"]) {
      const { client, peer } = await rawClient();
      const s = await client.newStream(req());
      if (where === "headers") peer.headers(1, resp(["x-a", bad]));
      else {peer.headers(1, resp()).headers(1, ["grpc-status", "0", "x-a", bad], {
          endStream: true,
        });}
      peer.send();
      let err: unknown;
      try {
        await s.recvMsg();
      } catch (e) {
        err = e;
      }
      assertEquals((err as StatusError).code, Code.Internal, `${where} ${JSON.stringify(bad)}`);
      await until(() => peer.rsts(1).length === 1, "RST_STREAM");
      assertEquals(peer.rsts(1)[0].errorCode, ErrorCode.PROTOCOL_ERROR);
      client.close();
    }
  }
});

Deno.test("Trailers still in flight after our RST_STREAM are ignored; HPACK stays in sync (§5.1)", async () => {
  const streams: ServerStream[] = [];
  const { server, peer } = await handshakenServer((s) => {
    streams.push(s);
    if (s.id === 1) {
      s.sendTrailers(0, ""); // answers at once while the client still sends: RST NO_ERROR
      s.handlerDone();
    }
  });
  peer.headers(1, req()).send();
  await until(() => peer.rsts(1).length === 1, "RST NO_ERROR");
  peer.headers(1, ["x-t", "1"], { endStream: true }).headers(3, req(), { endStream: true }).send();
  await until(() => streams.length === 2, "stream 3");
  assertEquals(peer.goaways(), []);
  assertEquals(peer.rsts(1).length, 1);
  server.close();
});
