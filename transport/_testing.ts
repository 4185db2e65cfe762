// Helpers for the transport tests: a hand-driven peer that writes raw frames into a role (server
// or client) over the in-memory pipe, and a reader that parses what the role wrote back, header
// blocks decoded, so tests can assert the exact GOAWAY / RST_STREAM codes on the wire.

import { WriteBuffer } from "./buffer.ts";
import {
  CONNECTION_PREFACE,
  Flag,
  FrameParser,
  FrameType,
  MAX_ALLOWED_FRAME_SIZE,
} from "./frame.ts";
import {
  writeContinuation,
  writeData,
  writeFrameHeader,
  writeGoaway,
  writePing,
  writeRstStream,
  writeSettings,
  writeSettingsAck,
  writeWindowUpdate,
} from "./frame_writer.ts";
import { HpackDecoder } from "./hpack.ts";
import { pipe, type PipeConn, type PipeOptions } from "./_pipe.ts";
import { ClientTransport, type ClientTransportExtras } from "./http2_client.ts";
import { type ServerStream, ServerTransport, type ServerTransportOptions } from "./http2_server.ts";
import { DEFAULT_TRANSPORT_OPTIONS, type TransportOptions } from "./options.ts";
import { type ServerKeepalive, SYSTEM_CLOCK } from "./keepalive.ts";

/** Server keepalive with every limit off (tests that need one set it). */
export const NO_SERVER_KEEPALIVE: ServerKeepalive = Object.freeze({
  maxConnectionIdleMs: Infinity,
  maxConnectionAgeMs: Infinity,
  maxConnectionAgeGraceMs: Infinity,
  timeMs: Infinity,
  timeoutMs: 20_000,
});

export const SERVER_OPTS: ServerTransportOptions = Object.freeze({
  ...DEFAULT_TRANSPORT_OPTIONS,
  keepaliveMinTimeMs: 300_000,
  permitKeepaliveWithoutStream: false,
  keepalive: NO_SERVER_KEEPALIVE,
  clock: SYSTEM_CLOCK,
});

/** A valid gRPC request header list (flat). */
export function req(path = "/test.Echo/Unary", extra: string[] = []): string[] {
  return [
    ":method",
    "POST",
    ":scheme",
    "http",
    ":path",
    path,
    ":authority",
    "x",
    "content-type",
    "application/grpc",
    "te",
    "trailers",
    ...extra,
  ];
}

/** A gRPC response header list. */
export function resp(extra: string[] = []): string[] {
  return [":status", "200", "content-type", "application/grpc", ...extra];
}

/** One frame a role wrote, decoded. */
export interface WireFrame {
  type: number;
  flags: number;
  streamId: number;
  length: number;
  payload: Uint8Array;
  /** RST_STREAM, GOAWAY. */
  errorCode: number;
  /** GOAWAY. */
  lastStreamId: number;
  /** GOAWAY debug data, as text. */
  debug: string;
  /** WINDOW_UPDATE. */
  increment: number;
  /** SETTINGS: flat [id, value, …]. */
  settings: number[];
  /** HEADERS (+ CONTINUATION): the decoded header list, on the frame that started the block. */
  headers: string[] | null;
}

/**
 * Parses a byte stream written by a role into frames (skipping the client preface when present),
 * decoding header blocks in order with one HPACK decoder, as the peer would.
 */
export function parseFrames(bytes: Uint8Array): WireFrame[] {
  let pos = 0;
  if (bytes.length >= 24 && startsWith(bytes, CONNECTION_PREFACE)) pos = 24;
  const p = new FrameParser(MAX_ALLOWED_FRAME_SIZE);
  const dec = new HpackDecoder({ maxHeaderListSize: 2 ** 31 });
  const frames: WireFrame[] = [];
  let block: number[] = [];
  let blockFrame: WireFrame | null = null;
  for (;;) {
    const next = p.next(bytes, pos, bytes.length);
    if (next < 0) break;
    const payload = bytes.slice(p.payloadStart, p.payloadEnd);
    const f: WireFrame = {
      type: p.type,
      flags: p.flags,
      streamId: p.streamId,
      length: p.length,
      payload,
      errorCode: p.errorCode,
      lastStreamId: p.lastStreamId,
      debug: p.type === FrameType.GOAWAY
        ? new TextDecoder().decode(bytes.subarray(p.payloadStart + 8, p.payloadEnd))
        : "",
      increment: p.windowIncrement,
      settings: [],
      headers: null,
    };
    if (p.type === FrameType.SETTINGS) {
      for (let i = 0; i < p.settingsCount; i++) {
        f.settings.push(p.readSettingId(i), p.readSettingValue(i));
      }
    }
    if (p.type === FrameType.HEADERS || p.type === FrameType.CONTINUATION) {
      if (p.type === FrameType.HEADERS) {
        block = [];
        blockFrame = f;
      }
      for (const b of payload) block.push(b);
      if ((p.flags & Flag.END_HEADERS) !== 0 && blockFrame !== null) {
        const out: string[] = [];
        const u = new Uint8Array(block);
        dec.decode(u, 0, u.length, out);
        blockFrame.headers = out;
        blockFrame = null;
      }
    }
    frames.push(f);
    pos = next;
  }
  return frames;
}

function startsWith(b: Uint8Array, prefix: Uint8Array): boolean {
  for (let i = 0; i < prefix.length; i++) if (b[i] !== prefix[i]) return false;
  return true;
}

/** Appends an HPACK integer with an N-bit prefix (RFC 7541 §5.1). */
function hpackInt(out: number[], first: number, prefixBits: number, v: number): void {
  const max = (1 << prefixBits) - 1;
  if (v < max) {
    out.push(first | v);
    return;
  }
  out.push(first | max);
  v -= max;
  while (v >= 128) {
    out.push((v % 128) + 128);
    v = Math.floor(v / 128);
  }
  out.push(v);
}

function hpackString(out: number[], s: string): void {
  hpackInt(out, 0, 7, s.length);
  for (let i = 0; i < s.length; i++) out.push(s.charCodeAt(i));
}

/**
 * Encodes a header list as HPACK literals without indexing, names and values raw, exactly as
 * given (no lower-casing, no validation): tests send malformed header lists with it.
 */
export function hpackLiterals(headers: readonly string[]): number[] {
  const out: number[] = [];
  for (let i = 0; i < headers.length; i += 2) {
    out.push(0x00);
    hpackString(out, headers[i]);
    hpackString(out, headers[i + 1]);
  }
  return out;
}

/** One literal header field with incremental indexing (it enters the dynamic table). */
export function hpackIndexing(name: string, value: string): number[] {
  const out: number[] = [0x40];
  hpackString(out, name);
  hpackString(out, value);
  return out;
}

/** An indexed header field (RFC 7541 §6.1); dynamic entries start at 62. */
export function hpackIndexed(index: number): number[] {
  const out: number[] = [];
  hpackInt(out, 0x80, 7, index);
  return out;
}

/**
 * A hand-driven HTTP/2 peer: frames are encoded into `out` and injected into the role's end of
 * the pipe with `send()`; `frames()` parses what the role wrote.
 */
export class RawPeer {
  readonly conn: PipeConn;
  readonly out = new WriteBuffer(1024);

  constructor(conn: PipeConn) {
    this.conn = conn;
  }

  /** Injects everything queued since the last send. */
  send(): this {
    if (this.out.length > 0) this.conn.inject(this.out.view().slice());
    this.out.reset();
    return this;
  }

  raw(bytes: ArrayLike<number>): this {
    this.out.bytes(bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes));
    return this;
  }

  preface(): this {
    return this.raw(CONNECTION_PREFACE);
  }

  settings(list: number[] = []): this {
    writeSettings(this.out, list);
    return this;
  }

  settingsAck(): this {
    writeSettingsAck(this.out);
    return this;
  }

  /** HEADERS with a header block (raw HPACK bytes or a header list sent as literals). */
  headers(
    id: number,
    block: readonly string[] | number[] | Uint8Array,
    { endStream = false, endHeaders = true } = {},
  ): this {
    const b = toBlock(block);
    let flags = endHeaders ? Flag.END_HEADERS : 0;
    if (endStream) flags |= Flag.END_STREAM;
    writeFrameHeader(this.out, b.length, FrameType.HEADERS, flags, id);
    this.out.bytes(b);
    return this;
  }

  continuation(id: number, block: number[] | Uint8Array, endHeaders: boolean): this {
    const b = block instanceof Uint8Array ? block : new Uint8Array(block);
    writeContinuation(this.out, id, b, 0, b.length, endHeaders);
    return this;
  }

  /** A DATA frame with raw bytes. */
  data(id: number, bytes: Uint8Array | number[], endStream = false): this {
    const b = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
    writeData(this.out, id, b, 0, b.length, endStream);
    return this;
  }

  /** A DATA frame carrying one gRPC message (5-byte prefix + body). */
  message(id: number, body: Uint8Array, endStream = false): this {
    return this.data(id, grpcFrame(body), endStream);
  }

  ping(data: number[] = [1, 2, 3, 4, 5, 6, 7, 8], ack = false): this {
    writePing(this.out, ack, new Uint8Array(data));
    return this;
  }

  rst(id: number, code: number): this {
    writeRstStream(this.out, id, code);
    return this;
  }

  windowUpdate(id: number, increment: number): this {
    writeWindowUpdate(this.out, id, increment);
    return this;
  }

  goaway(lastStreamId: number, code: number, debug?: string): this {
    writeGoaway(this.out, lastStreamId, code, debug ? new TextEncoder().encode(debug) : undefined);
    return this;
  }

  /** A frame header plus payload, of any type and length (the payload is zeros by default). */
  frame(type: number, flags: number, id: number, payload: Uint8Array | number[] = []): this {
    const b = payload instanceof Uint8Array ? payload : new Uint8Array(payload);
    writeFrameHeader(this.out, b.length, type, flags, id);
    this.out.bytes(b);
    return this;
  }

  /** Every frame the role wrote so far. */
  frames(): WireFrame[] {
    return parseFrames(this.conn.allWritten());
  }

  /** Frames the role wrote of `type` (optionally on stream `id`). */
  written(type: number, id?: number): WireFrame[] {
    return this.frames().filter((f) => f.type === type && (id === undefined || f.streamId === id));
  }

  /** The role's own first SETTINGS frame, once written. */
  async firstSettings(): Promise<WireFrame> {
    const find = () => this.written(FrameType.SETTINGS).find((f) => (f.flags & Flag.ACK) === 0);
    await until(() => find() !== undefined, "the role's SETTINGS");
    return find()!;
  }

  /** The role's PING ACKs (its own PINGs, e.g. BDP probes, left out). */
  pingAcks(): WireFrame[] {
    return this.written(FrameType.PING).filter((f) => (f.flags & Flag.ACK) !== 0);
  }

  /** The role's GOAWAY frames. */
  goaways(): WireFrame[] {
    return this.written(FrameType.GOAWAY);
  }

  /** The role's RST_STREAM frames (optionally on stream `id`). */
  rsts(id?: number): WireFrame[] {
    return this.written(FrameType.RST_STREAM, id);
  }
}

function toBlock(block: readonly string[] | number[] | Uint8Array): Uint8Array {
  if (block instanceof Uint8Array) return block;
  if (block.length > 0 && typeof block[0] === "string") {
    return new Uint8Array(hpackLiterals(block as string[]));
  }
  return new Uint8Array(block as number[]);
}

/** `parts` end to end in one new array. */
export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** A gRPC length-prefixed message. */
export function grpcFrame(body: Uint8Array, compressed = false): Uint8Array {
  const b = new Uint8Array(5 + body.length);
  b[0] = compressed ? 1 : 0;
  new DataView(b.buffer).setUint32(1, body.length);
  b.set(body, 5);
  return b;
}

/**
 * Waits (a macrotask at a time) until `pred()` holds; throws once `limitMs` of wall time passed
 * without it. The limit is a safety net, never the point of a test: it is generous (30 s) so a
 * busy machine, where each turn can take long, does not fail a test that would pass.
 */
export async function until(
  pred: () => boolean,
  what = "condition",
  limitMs = 30_000,
): Promise<void> {
  const end = Date.now() + limitMs;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 0));
  }
}

/** Lets queued microtasks and a few macrotasks run (the writer flushes, the reader reads). */
export async function settle(turns = 3): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise((r) => setTimeout(r, 0));
}

/** A server role on one end of a pipe, driven by a RawPeer on the other. */
export function rawServer(
  onStream: (s: ServerStream) => void = () => {},
  opts: Partial<ServerTransportOptions> = {},
  pipeOpts: PipeOptions = {},
) {
  const [a, b] = pipe(pipeOpts);
  const server = new ServerTransport(b, { ...SERVER_OPTS, ...opts }, onStream);
  server.begin();
  const peer = new RawPeer(b);
  // conn: the server's end (the peer injects into it); remote: the other end, where what the
  // server writes can be read (nobody reads it unless a test does).
  return { server, peer, conn: b, remote: a };
}

/** A server that has completed the handshake with a RawPeer (preface + empty SETTINGS sent). */
export async function handshakenServer(
  onStream: (s: ServerStream) => void = () => {},
  opts: Partial<ServerTransportOptions> = {},
  pipeOpts: PipeOptions = {},
) {
  const r = rawServer(onStream, opts, pipeOpts);
  r.peer.preface().settings().settingsAck().send();
  await r.server.handshaked;
  return r;
}

/** A client role on one end of a pipe, driven by a RawPeer acting as the server. */
export async function rawClient(
  opts: Partial<TransportOptions> = {},
  serverSettings: number[] = [],
  pipeOpts: PipeOptions = {},
  extras: ClientTransportExtras = {},
) {
  const [a, b] = pipe(pipeOpts);
  const client = new ClientTransport(a, { ...DEFAULT_TRANSPORT_OPTIONS, ...opts }, extras);
  client.begin();
  const peer = new RawPeer(a);
  peer.settings(serverSettings).settingsAck().send();
  await client.handshaked;
  return { client, peer, conn: a, remote: b };
}

/** Client and server roles over one pipe. */
export function connected(
  onStream: (s: ServerStream) => void,
  serverOpts: Partial<ServerTransportOptions> = {},
  clientOpts: Partial<TransportOptions> = {},
) {
  const [a, b] = pipe();
  const server = new ServerTransport(b, { ...SERVER_OPTS, ...serverOpts }, onStream);
  const client = new ClientTransport(a, { ...DEFAULT_TRANSPORT_OPTIONS, ...clientOpts });
  server.begin();
  client.begin();
  return { server, client, a, b };
}

/** A handler that echoes every message, then ends with OK. */
export async function echo(s: ServerStream): Promise<void> {
  try {
    for (;;) {
      const m = await s.recvMsg();
      if (m === null) break;
      await s.sendMsg(m, false);
    }
    s.sendTrailers(0, "");
  } catch {
    // The stream failed (reset, too large, connection gone): the transport answered already.
  } finally {
    s.handlerDone();
  }
}

/** The value of header `name` in a flat list, or undefined. */
export function header(
  list: readonly string[] | null | undefined,
  name: string,
): string | undefined {
  if (!list) return undefined;
  for (let i = 0; i < list.length; i += 2) if (list[i] === name) return list[i + 1];
  return undefined;
}

/**
 * Counts frames of `type` whose flags include `flags` in a byte stream a role wrote, reading
 * frame headers only (cheap enough to poll while tens of thousands of frames go by).
 */
export function countFrames(bytes: Uint8Array, type: number, flags = 0): number {
  let pos = bytes.length >= 24 && startsWith(bytes, CONNECTION_PREFACE) ? 24 : 0;
  let n = 0;
  while (pos + 9 <= bytes.length) {
    const len = (bytes[pos] << 16) | (bytes[pos + 1] << 8) | bytes[pos + 2];
    if (bytes[pos + 3] === type && (bytes[pos + 4] & flags) === flags) n++;
    pos += 9 + len;
  }
  return n;
}

/** Total DATA payload bytes on stream `id` among `frames`. */
export function dataBytes(frames: WireFrame[], id: number): number {
  let n = 0;
  for (const f of frames) if (f.type === FrameType.DATA && f.streamId === id) n += f.length;
  return n;
}
