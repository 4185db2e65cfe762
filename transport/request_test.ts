import { assertEquals, assertInstanceOf } from "@std/assert";
import { type ParsedRequest, RequestError, validateRequest } from "./request.ts";
import { Code } from "../status.ts";

const BASE = [":method", "POST", ":scheme", "http", ":path", "/a.B/C", ":authority", "x"];
const GRPC = [...BASE, "content-type", "application/grpc"];

Deno.test("validateRequest() extracts what gRPC needs from a good request", () => {
  const list = [...GRPC, "grpc-timeout", "2S", "grpc-encoding", "gzip", "x-a", "1"];
  const r = validateRequest(list) as ParsedRequest;
  assertEquals(r.path, "/a.B/C");
  assertEquals(r.authority, "x");
  assertEquals(r.timeoutMs, 2000);
  assertEquals(r.encoding, "gzip");
  assertEquals(r.headers, list);
  assertEquals((validateRequest(GRPC) as ParsedRequest).timeoutMs, undefined);
});

Deno.test("validateRequest() refuses in grpc-go's order: malformed, 405, 415, 400", () => {
  const cases: [string[], number, number][] = [
    [[...GRPC, "Upper", "x"], 0, 0], // malformed: RST_STREAM PROTOCOL_ERROR
    [[":method", "GET", ...GRPC.slice(2), "grpc-timeout", "x"], 405, Code.Internal],
    [[...BASE, "content-type", "text/plain", "grpc-timeout", "x"], 415, Code.InvalidArgument],
    [[...GRPC, "grpc-timeout", "1x"], 400, Code.Internal],
  ];
  for (const [list, status, code] of cases) {
    const e = validateRequest(list);
    assertInstanceOf(e, RequestError);
    if (!(e instanceof RequestError)) continue;
    assertEquals([e.httpStatus, e.code], [status, code], e.reason);
  }
});
