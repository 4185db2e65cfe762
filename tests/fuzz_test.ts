// Seeded fuzzing of both roles over real TCP with random and half-valid HTTP/2 frame sequences
// (every frame type, odd flags and stream ids, wrong lengths, broken HPACK, truncated frames):
// - the server keeps answering a well-behaved client on another connection throughout, answers
//   each fuzzing connection's EOF by closing it, and drains to nothing afterwards;
// - a client whose server speaks garbage ends every call (a StatusError, or OK when the garbage
//   happens to add up to a valid answer) and leaves nothing running.
// Deno's test runner fails a test on any uncaught error or unhandled rejection, so "never
// crashes" is checked on every path the fuzzer reaches. The seed is fixed, so a failure replays;
// FUZZ_SEED=N explores other sequences.
//
//   deno test -A --sanitize-ops --sanitize-resources tests/fuzz_test.ts
//   FUZZ_SEED=7 deno test -A --sanitize-ops --sanitize-resources tests/fuzz_test.ts

import { assert, assertEquals } from "@std/assert";
import { codeName, createClient, newClient, silentLogger, StatusError } from "@seed/grpc";
import { echo, fourKinds, startServer } from "./_echo_server.ts";
import { concat, grpcFrame, hpackIndexed, hpackLiterals, req } from "../transport/_testing.ts";

const PREFACE = new TextEncoder().encode("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
const METHODS = ["Unary", "ServerStream", "ClientStream", "Bidi"];
const SEED = Number(Deno.env.get("FUZZ_SEED") ?? 0);
const EMPTY_SETTINGS = encodeFrame(0x4, 0, 0, new Uint8Array(0));

/** A frame: its header (the declared length may lie), then `payload`. */
function encodeFrame(
  type: number,
  flags: number,
  id: number,
  payload: Uint8Array,
  declared = payload.length,
): Uint8Array {
  const b = new Uint8Array(9 + payload.length);
  b[0] = declared >>> 16;
  b[1] = declared >>> 8;
  b[2] = declared;
  b[3] = type;
  b[4] = flags;
  new DataView(b.buffer).setUint32(5, id);
  b.set(payload, 9);
  return b;
}

/** mulberry32: a small seeded PRNG, so every run sends the same bytes. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Fuzzer {
  readonly #r: () => number;
  /** Set when a frame's declared length disagrees with its bytes (the stream is then misframed). */
  misframed = false;
  constructor(seed: number) {
    this.#r = prng(seed);
  }
  int(n: number): number {
    return Math.floor(this.#r() * n);
  }
  chance(p: number): boolean {
    return this.#r() < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)];
  }
  bytes(n: number): Uint8Array {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) b[i] = this.int(256);
    return b;
  }
  /** Flips a few random bytes of `b` (in place). */
  mutate(b: Uint8Array): Uint8Array {
    const flips = 1 + this.int(3);
    for (let i = 0; i < flips && b.length > 0; i++) b[this.int(b.length)] = this.int(256);
    return b;
  }
  streamId(): number {
    return this.pick([0, 1, 1, 3, 3, 5, 2, 4, 7, 0x7fffffff, this.int(0x80000000)]);
  }

  /** A header block: a valid gRPC request or response, mutated, indexed junk, or random. */
  headerBlock(server: boolean): Uint8Array {
    const headers = server
      ? req(`/peer.Echo/${this.pick(METHODS)}`, this.chance(0.3) ? ["grpc-timeout", "1S"] : [])
      : [":status", this.pick(["200", "200", "503", "x"]), "content-type", "application/grpc"];
    switch (this.int(5)) {
      case 0:
      case 1:
        return new Uint8Array(hpackLiterals(headers));
      case 2:
        return this.mutate(new Uint8Array(hpackLiterals(headers)));
      case 3: {
        // Indexed fields (static, dynamic, out of range), size updates, Huffman flags.
        const out: number[] = [];
        for (let i = 0, n = 1 + this.int(6); i < n; i++) {
          if (this.chance(0.2)) out.push(0x20 | this.int(32));
          else out.push(...hpackIndexed(this.int(this.chance(0.5) ? 62 : 5000)));
        }
        return new Uint8Array(out);
      }
      default:
        return this.bytes(this.int(64));
    }
  }

  /** One frame: type, flags, stream id and payload picked at random, lengths mostly honest. */
  frame(server: boolean): Uint8Array {
    // DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PUSH_PROMISE, PING, GOAWAY, WINDOW_UPDATE,
    // CONTINUATION, and unknown types.
    const type = this.chance(0.9) ? this.int(10) : 10 + this.int(246);
    let flags = this.chance(0.5) ? this.pick([0, 1, 4, 5, 8, 0x20, 0x24, 0x25]) : this.int(256);
    let payload: Uint8Array;
    switch (type) {
      case 0x0: // DATA
        payload = this.chance(0.7) ? grpcFrame(this.bytes(this.int(40))) : this.bytes(this.int(40));
        break;
      case 0x1: // HEADERS
      case 0x9: // CONTINUATION
        payload = this.headerBlock(server);
        if (type === 0x1 && this.chance(0.6)) flags = this.pick([4, 5]);
        break;
      case 0x4: { // SETTINGS: whole entries mostly, some odd lengths
        const n = this.chance(0.8) ? 6 * this.int(4) : this.int(20);
        payload = this.bytes(n);
        if (this.chance(0.5)) flags &= ~1; // not an ACK
        break;
      }
      case 0x6: // PING
        payload = this.bytes(this.chance(0.8) ? 8 : this.int(16));
        break;
      case 0x8: { // WINDOW_UPDATE: zero, huge, or ordinary increments
        payload = new Uint8Array(this.chance(0.9) ? 4 : this.int(8));
        const v = this.pick([0, 1, 65535, 0x7fffffff, this.int(0x80000000)]);
        if (payload.length >= 4) new DataView(payload.buffer).setUint32(0, v);
        break;
      }
      case 0x3: // RST_STREAM
        payload = this.bytes(this.chance(0.8) ? 4 : this.int(8));
        break;
      case 0x7: // GOAWAY
        payload = this.bytes(8 + this.int(16));
        break;
      default:
        payload = this.bytes(this.int(32));
    }
    const id = this.streamId();
    // The declared length: honest, or off by a little, or over the 16 KiB default maximum.
    let len = payload.length;
    if (this.chance(0.05)) len = Math.max(0, len + this.int(5) - 2);
    else if (this.chance(0.02)) len = 16385 + this.int(1000);
    if (len !== payload.length) this.misframed = true;
    return encodeFrame(type, flags, id, payload, len);
  }

  /** A request's HEADERS opening stream `id`, for one of the four methods. */
  headersFrame(id: number, flags = this.pick([4, 4, 5])): Uint8Array {
    const h = req(`/peer.Echo/${this.pick(METHODS)}`);
    return encodeFrame(0x1, flags, id, new Uint8Array(hpackLiterals(h)));
  }

  /** A SETTINGS frame with random (sometimes invalid) entries, or a plain empty one. */
  settings(): Uint8Array {
    const n = this.chance(0.6) ? 0 : 1 + this.int(3);
    const entries = new Uint8Array(6 * n);
    const v = new DataView(entries.buffer);
    for (let i = 0; i < n; i++) {
      v.setUint16(6 * i, 1 + this.int(8));
      v.setUint32(2 + 6 * i, this.pick([0, 1, 100, 16384, 65535, 0x7fffffff, 0xffffffff]));
    }
    return encodeFrame(0x4, 0, 0, entries);
  }

  /**
   * A frame that is valid on its own, for a call on stream `id`: HEADERS (END_HEADERS, sometimes
   * END_STREAM), DATA with a gRPC message, WINDOW_UPDATE, PING, RST_STREAM, an empty SETTINGS,
   * or trailers; what such frames add up to (order, states) is left to chance.
   */
  validFrame(server: boolean, id: number): Uint8Array {
    const u32 = (v: number) => {
      const b = new Uint8Array(4);
      new DataView(b.buffer).setUint32(0, v);
      return b;
    };
    switch (this.int(9)) {
      case 0:
      case 1: {
        const h = server
          ? req(`/peer.Echo/${this.pick(METHODS)}`)
          : [":status", "200", "content-type", "application/grpc"];
        return encodeFrame(0x1, this.pick([4, 4, 5]), id, new Uint8Array(hpackLiterals(h)));
      }
      case 2:
      case 3: {
        // An EchoMsg: field 3 (count) as a small varint, or random bytes the codec may refuse.
        const body = this.chance(0.5)
          ? new Uint8Array([0x18, this.int(5)])
          : this.bytes(this.int(12));
        return encodeFrame(0x0, this.pick([0, 0, 1]), id, grpcFrame(body));
      }
      case 4:
        return encodeFrame(0x8, 0, this.pick([0, id]), u32(1 + this.int(1 << 20)));
      case 5:
        return encodeFrame(0x6, 0, 0, this.bytes(8));
      case 6:
        return encodeFrame(0x3, 0, id, u32(this.int(14)));
      case 7:
        return EMPTY_SETTINGS;
      default: {
        const t = server ? ["grpc-timeout", "1S"] : ["grpc-status", String(this.int(17))];
        return encodeFrame(0x1, 5, id, new Uint8Array(hpackLiterals(t)));
      }
    }
  }

  /**
   * `n` frames in one buffer: either all random, or valid frames for a few calls (a server's
   * new streams in increasing order, other frames on streams already opened) with now and then
   * one random frame among them.
   */
  frames(n: number, server: boolean): Uint8Array {
    const structured = this.chance(0.6);
    let next = 1;
    const open: number[] = []; // streams opened by HEADERS alone: later frames go to them
    const parts = Array.from({ length: n }, () => {
      if (!structured || this.chance(0.03)) return this.frame(server);
      if (!server) return this.validFrame(false, 1);
      if (open.length === 0 || this.chance(0.25)) {
        const id = next;
        next += 2;
        if (this.chance(0.5)) {
          open.push(id);
          return this.headersFrame(id);
        }
        // A whole call, left alone afterwards: HEADERS, one EchoMsg (count 0–3), END_STREAM.
        const msg = grpcFrame(new Uint8Array([0x18, this.int(4)]));
        return new Uint8Array([...this.headersFrame(id, 4), ...encodeFrame(0x0, 1, id, msg)]);
      }
      return this.validFrame(true, this.pick(open));
    });
    return concat(parts);
  }
}

// Writes what it can: the peer may close (GOAWAY, then close) before all of it is written.
async function writeAll(conn: Deno.Conn, b: Uint8Array): Promise<boolean> {
  try {
    for (let o = 0; o < b.length;) o += await conn.write(b.subarray(o));
    return true;
  } catch {
    return false;
  }
}

const MARKER = new Uint8Array([0xf0, 0x0d, 1, 2, 3, 4, 5, 6]);
const MARKER_PING = encodeFrame(0x6, 0, 0, MARKER);

/** Reads a connection's frames, keeping what it has read across calls; notes each type seen. */
class FrameReader {
  readonly types = new Set<number>();
  #buf = new Uint8Array(0);
  readonly #chunk = new Uint8Array(64 * 1024);
  constructor(readonly conn: Deno.Conn) {}

  /** Reads until the ACK of MARKER_PING (the peer handled all sent before it) or the end. */
  async untilMarkerAck(): Promise<void> {
    for (;;) {
      if (this.#scan()) return;
      const n = await this.conn.read(this.#chunk).catch(() => null);
      if (n === null) return;
      const next = new Uint8Array(this.#buf.length + n);
      next.set(this.#buf);
      next.set(this.#chunk.subarray(0, n), this.#buf.length);
      this.#buf = next;
    }
  }

  // Consumes whole frames up to and including a marker ACK; true if it found one.
  #scan(): boolean {
    const buf = this.#buf;
    let o = 0;
    let found = false;
    while (!found && buf.length - o >= 9) {
      const len = (buf[o] << 16) | (buf[o + 1] << 8) | buf[o + 2];
      if (buf.length - o < 9 + len) break;
      const type = buf[o + 3], flags = buf[o + 4];
      this.types.add(type);
      const p = buf.subarray(o + 9, o + 9 + len);
      found = type === 6 && (flags & 1) === 1 && p.every((b, i) => b === MARKER[i]);
      o += 9 + len;
    }
    this.#buf = buf.slice(o);
    return found;
  }
}

// Reads until the peer closes; a peer that never does fails the test (safety net, not a timing).
async function readToEnd(conn: Deno.Conn, what: string): Promise<number> {
  const buf = new Uint8Array(64 * 1024);
  let total = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${what}: the peer kept the connection open`)),
      30_000,
    );
  });
  try {
    for (;;) {
      const n = await Promise.race([conn.read(buf).catch(() => null), guard]);
      if (n === null) return total;
      total += n;
    }
  } finally {
    clearTimeout(timer);
  }
}

Deno.test("fuzz: the server survives 240 connections of random frames, serves a good client throughout and drains", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const srv = await startServer(listener);
  const target = `127.0.0.1:${srv.port}`;
  const good = newClient(target);
  let goodCalls = 0;
  let fuzzing = true;
  const goodLoop = (async () => {
    while (fuzzing) {
      await fourKinds(good);
      goodCalls++;
    }
  })();

  const fz = new Fuzzer(0x5eed + SEED);
  let closedByServer = 0;
  let answered = 0;
  const one = async (i: number) => {
    // Everything random is drawn before the first await, so the bytes do not depend on timing.
    // Mostly a proper preface; sometimes a broken one.
    const preface = i % 16 === 0 ? fz.mutate(PREFACE.slice()) : PREFACE;
    const opening = new Uint8Array([...preface, ...fz.settings()]);
    fz.misframed = false;
    const body = fz.frames(1 + fz.int(30), true);
    const misframed = fz.misframed;
    // Sometimes split mid-frame across writes, sometimes cut short.
    const cut = fz.chance(0.3) ? fz.int(body.length + 1) : body.length;
    const rest = fz.chance(0.5);
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: srv.port });
    conn.setNoDelay(true);
    let ok = await writeAll(conn, opening);
    if (ok) ok = await writeAll(conn, body.subarray(0, cut));
    if (ok && rest) ok = await writeAll(conn, body.subarray(cut));
    // Unless the body was cut or misframed (the server then rightly waits for the rest of a
    // frame): wait until the server has handled it all (its handlers answer meanwhile), so the
    // fuzzing reaches past the connection's first frames.
    if (ok && cut === body.length && !misframed && await writeAll(conn, MARKER_PING)) {
      const r = new FrameReader(conn);
      await r.untilMarkerAck();
      // A second round trip: the handlers of the first batch have answered before its ACK.
      if (await writeAll(conn, MARKER_PING)) await r.untilMarkerAck();
      if (r.types.has(0x1)) answered++;
    }
    if (!ok) closedByServer++;
    try {
      conn.closeWrite();
    } catch {
      // already closed by the server
    }
    await readToEnd(conn, `fuzz connection ${i}`);
    conn.close();
  };
  for (let i = 0; i < 240; i += 4) await Promise.all([one(i), one(i + 1), one(i + 2), one(i + 3)]);

  fuzzing = false;
  await goodLoop;
  assert(goodCalls > 0);
  // The good client still gets all four kinds answered after the fuzzing.
  assertEquals(await fourKinds(good), "");
  await good.close();
  // Every connection closed: a graceful stop finishes with nothing running.
  await srv.server.gracefulStop();
  await srv[Symbol.asyncDispose]();
  // Some fuzzing connections got as far as HEADERS back (a call answered or refused).
  assert(answered > 0);
  console.log(
    `fuzz: ${goodCalls} good rounds; ${answered} fuzz connections got HEADERS back; ` +
      `${closedByServer} were closed before all was written`,
  );
});

Deno.test("fuzz: a client whose server sends random frames ends every call with a status", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const fz = new Fuzzer(0xc1e7 + SEED);
  const served: Promise<void>[] = [];
  const accepting = (async () => {
    for await (const conn of listener) {
      served.push((async () => {
        const buf = new Uint8Array(64 * 1024);
        // Drawn before any await, so the bytes do not depend on timing.
        const first = fz.int(20);
        const opening = first < 12 ? EMPTY_SETTINGS : first < 17 ? fz.settings() : fz.frame(false);
        const garbage = fz.frames(1 + fz.int(20), false);
        const closeWrite = fz.chance(0.5);
        // The client's preface and SETTINGS; our SETTINGS; then its request (the client opens
        // streams once it has our SETTINGS), answered with the garbage.
        if (await conn.read(buf).catch(() => null) !== null && await writeAll(conn, opening)) {
          if (await conn.read(buf).catch(() => null) !== null) await writeAll(conn, garbage);
        }
        if (closeWrite) {
          try {
            conn.closeWrite();
          } catch {
            // the client closed first
          }
        }
        await readToEnd(conn, "fuzz server connection");
        conn.close();
      })());
    }
  })();

  const outcomes = new Map<string, number>();
  const choose = new Fuzzer(0xca11 + SEED);
  for (let i = 0; i < 120; i++) {
    const conn = newClient(`127.0.0.1:${port}`, { logger: silentLogger });
    // deno-lint-ignore no-explicit-any
    const c = createClient(echo, conn) as any;
    const method = choose.pick(["unary", "serverStream", "bidi"]);
    let outcome = "OK"; // garbage can add up to a valid answer: trailers with grpc-status 0
    try {
      if (method === "unary") await c.unary({ text: "x" }, { timeoutMs: 500 });
      else if (method === "serverStream") {
        for await (const _ of c.serverStream({ text: "x", count: 2 }, { timeoutMs: 500 })) {
          // drain
        }
      } else {
        for await (const _ of c.bidi([{ text: "x" }], { timeoutMs: 500 })) {
          // drain
        }
      }
    } catch (err) {
      // Whatever arrived, the call ends with a status, never another kind of error.
      if (!(err instanceof StatusError)) throw err;
      outcome = codeName(err.code);
    }
    outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
    await conn.close();
  }
  listener.close();
  await accepting;
  await Promise.all(served);
  // Every call ended (none hung), and the fuzzing reached well past the handshake.
  assertEquals([...outcomes.values()].reduce((a, b) => a + b, 0), 120);
  assert(outcomes.size >= 4, JSON.stringify(Object.fromEntries(outcomes)));
  console.log(`fuzz: client outcomes ${JSON.stringify(Object.fromEntries(outcomes))}`);
});
