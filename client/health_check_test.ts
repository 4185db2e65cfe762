import { assertEquals } from "@std/assert";
import {
  decodeHealthCheckResponse,
  encodeHealthCheckRequest,
  ServingStatus,
} from "./health_check.ts";

Deno.test("encodeHealthCheckRequest() is HealthCheckRequest { service = 1 }", () => {
  assertEquals(encodeHealthCheckRequest(""), new Uint8Array([]));
  assertEquals(encodeHealthCheckRequest("a.B"), new Uint8Array([0x0a, 3, 0x61, 0x2e, 0x42]));
  const long = encodeHealthCheckRequest("x".repeat(200));
  assertEquals([...long.subarray(0, 3)], [0x0a, 0xc8, 0x01]); // varint 200
  assertEquals(long.length, 203);
});

Deno.test("decodeHealthCheckResponse() reads status, skips unknown fields, refuses junk", () => {
  assertEquals(decodeHealthCheckResponse(new Uint8Array([])), ServingStatus.Unknown);
  assertEquals(decodeHealthCheckResponse(new Uint8Array([0x08, 1])), ServingStatus.Serving);
  assertEquals(decodeHealthCheckResponse(new Uint8Array([0x08, 2])), ServingStatus.NotServing);
  // unknown length-delimited field 2, fixed32 field 3, fixed64 field 4, then status
  assertEquals(
    decodeHealthCheckResponse(
      new Uint8Array([0x12, 1, 0, 0x1d, 0, 0, 0, 0, 0x21, 0, 0, 0, 0, 0, 0, 0, 0, 0x08, 1]),
    ),
    ServingStatus.Serving,
  );
  for (const bad of [[0x08], [0x12, 5, 0], [0x0b], [0x08, 0x80], [0x1d, 0]]) {
    assertEquals(decodeHealthCheckResponse(new Uint8Array(bad)), -1, String(bad));
  }
});
