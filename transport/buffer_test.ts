import { assertEquals } from "@std/assert";
import { WriteBuffer } from "./buffer.ts";

Deno.test("WriteBuffer grows from a zero capacity", () => {
  const b = new WriteBuffer(0);
  b.bytes(new Uint8Array(100).fill(7));
  b.u32(0x01020304);
  assertEquals(b.length, 104);
  assertEquals(b.view().subarray(100), new Uint8Array([1, 2, 3, 4]));
});

Deno.test("WriteBuffer writes big-endian integers and back-patches lengths", () => {
  const b = new WriteBuffer(4);
  b.u8(0xff);
  b.u16(0x0102);
  b.u24(0x030405);
  b.setU24(0, 0x0a0b0c);
  assertEquals([...b.view()], [0x0a, 0x0b, 0x0c, 0x03, 0x04, 0x05]);
  b.reset();
  b.ascii("hi");
  assertEquals([...b.view()], [104, 105]);
});
