// Helpers shared by frame_test.ts (the parser) and frame_writer_test.ts (the writers).

import { assert, assertEquals } from "@std/assert";
import { WriteBuffer } from "./buffer.ts";
import { FrameParser } from "./frame.ts";

export function u8(...bytes: number[]): Uint8Array {
  return new Uint8Array(bytes);
}

/** Runs a writer against a fresh buffer (pre-filled with 0xee to catch unwritten octets). */
export function written(write: (out: WriteBuffer) => void): Uint8Array {
  const out = new WriteBuffer(16);
  out.buf.fill(0xee);
  write(out);
  return out.view().slice();
}

/** A raw frame for malformed-input tests: header fields as given, payload as given. */
export function raw(
  type: number,
  flags: number,
  streamId: number,
  payload: number[],
  length: number = payload.length,
): Uint8Array {
  return u8(
    length >>> 16 & 0xff,
    length >>> 8 & 0xff,
    length & 0xff,
    type,
    flags,
    streamId >>> 24 & 0xff,
    streamId >>> 16 & 0xff,
    streamId >>> 8 & 0xff,
    streamId & 0xff,
    ...payload,
  );
}

/** Parses the single frame in `bytes`, asserting it is consumed entirely. */
export function parseOne(bytes: Uint8Array, parser: FrameParser = new FrameParser()): FrameParser {
  assertEquals(parser.next(bytes, 0, bytes.length), bytes.length);
  assert(parser.buf === bytes);
  return parser;
}

export function payload(p: FrameParser): number[] {
  return Array.from(p.buf.subarray(p.payloadStart, p.payloadEnd));
}

export const BLOCK = u8(0x82, 0x86, 0x84); // :method GET, :scheme http, :path / (RFC 7541 C.2.4)
