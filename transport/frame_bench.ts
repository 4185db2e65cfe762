// Micro-benchmarks for frame.ts and frame_writer.ts: `deno bench transport/frame_bench.ts`. Each iteration handles a
// whole batch, so divide the time per iteration by the frame count for a per-frame cost.

import { WriteBuffer } from "./buffer.ts";
import { FrameParser, FrameType } from "./frame.ts";
import { writeData, writeHeaders, writeWindowUpdate } from "./frame_writer.ts";

const FRAMES = 64;
const payload = new Uint8Array(100).map((_, i) => i);
const block = new Uint8Array(40).map((_, i) => 0x80 | i); // a small HPACK block stand-in

// One HEADERS + 64 DATA frames of 100 B (the last with END_STREAM), as one read would deliver.
const input = (() => {
  const out = new WriteBuffer(16 * 1024);
  writeHeaders(out, 1, block, 0, block.length, false, 16384);
  for (let i = 0; i < FRAMES; i++) writeData(out, 1, payload, 0, 100, i === FRAMES - 1);
  return out.view().slice();
})();

const parser = new FrameParser();
let sink = 0;

Deno.bench({
  name: "FrameParser.next(): HEADERS + 64 DATA of 100 B",
  group: "parse",
  baseline: true,
  fn() {
    const p = parser, buf = input, end = input.length;
    let pos = 0, next, n = 0;
    while ((next = p.next(buf, pos, end)) !== -1) {
      if (p.type === FrameType.DATA) n += p.payloadEnd - p.payloadStart;
      pos = next;
    }
    if (pos !== end || n !== FRAMES * 100) throw new Error("bad parse");
    sink += n;
  },
});

const out = new WriteBuffer(64 * 1024);

Deno.bench({
  name: "writeData(): 64 DATA of 100 B into a reused WriteBuffer",
  group: "write",
  baseline: true,
  fn() {
    out.reset();
    for (let i = 0; i < FRAMES; i++) writeData(out, 1, payload, 0, 100, false);
    sink += out.length;
  },
});

Deno.bench({
  name: "writeData(): 64 DATA of 10 B (loop copy) into a reused WriteBuffer",
  group: "write",
  fn() {
    out.reset();
    for (let i = 0; i < FRAMES; i++) writeData(out, 1, payload, 0, 10, false);
    sink += out.length;
  },
});

Deno.bench({
  name: "writeWindowUpdate(): 64 frames into a reused WriteBuffer",
  group: "write",
  fn() {
    out.reset();
    for (let i = 0; i < FRAMES; i++) writeWindowUpdate(out, 1, 65535);
    sink += out.length;
  },
});

addEventListener("unload", () => {
  if (sink === 0) console.log(sink); // keep the results observable
});
