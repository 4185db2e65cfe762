import { assertEquals } from "@std/assert";
import {
  decodeBinaryHeader,
  encodeBinaryHeader,
  headerValue,
  isGrpcContentType,
} from "./headers.ts";

Deno.test("isGrpcContentType() takes application/grpc, +suffixes and parameters only", () => {
  for (const ct of ["application/grpc", "application/grpc+proto", "application/grpc;charset=x"]) {
    assertEquals(isGrpcContentType(ct), true, ct);
  }
  for (
    const ct of ["", "application/grpcx", "application/grpc-web", "text/plain", "application/json"]
  ) {
    assertEquals(isGrpcContentType(ct), false, ct);
  }
});

Deno.test("encodeBinaryHeader() is unpadded; decodeBinaryHeader() takes padded, unpadded, URL-safe", () => {
  const b = new Uint8Array([0xfb, 0xff, 0x01]);
  assertEquals(encodeBinaryHeader(new Uint8Array([1])), "AQ");
  assertEquals(decodeBinaryHeader(encodeBinaryHeader(b)), b);
  assertEquals(decodeBinaryHeader("AQ=="), new Uint8Array([1]));
  assertEquals(decodeBinaryHeader("-_8B"), b);
});

Deno.test("decodeBinaryHeader() returns undefined for malformed base64, never throws", () => {
  for (const bad of ["!!!", "A", "AQ=x", "é"]) {
    assertEquals(decodeBinaryHeader(bad), undefined, bad);
  }
});

Deno.test("headerValue() finds the first value of a name in a flat list", () => {
  const list = ["a", "1", "b", "2", "a", "3"];
  assertEquals(headerValue(list, "a"), "1");
  assertEquals(headerValue(list, "b"), "2");
  assertEquals(headerValue(list, "c"), undefined);
  assertEquals(headerValue(null, "a"), undefined);
});
