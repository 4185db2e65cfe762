// The sending half of an HTTP/2 connection, after grpc-go's loopyWriter (internal/transport/
// controlbuf.go: processData, the outbound stream list, the connection send quota): HEADERS
// blocks, and gRPC messages as DATA within the peer's windows (send-side flow control, RFC 9113
// §6.9); what does not fit waits on its stream, and the stream waits in a queue until
// WINDOW_UPDATE or SETTINGS give it room. The bytes go to the connection's one ConnWriter
// (writer.ts). Http2Connection (connection.ts) extends it with the read loop, frame dispatch and
// lifecycle, so a send is a plain method call on the connection, with no object in between.

import type { StreamMap } from "./stream_map.ts";
import { WriteBuffer } from "./buffer.ts";
import { Flag, FrameType } from "./frame.ts";
import { writeData, writeFrameHeader, writeHeaders } from "./frame_writer.ts";
import { HpackEncoder } from "./hpack.ts";
import { type Http2Stream, StreamState } from "./stream.ts";
import { ConnWriter, type RawConn } from "./writer.ts";
import * as D from "./defaults.ts";

const EMPTY = new Uint8Array(0);

/** HEADERS and DATA out within the peer's windows; base of Http2Connection. */
export abstract class Http2Outbound<S extends Http2Stream> {
  /** The connection's one batched writer. */
  readonly writer: ConnWriter;
  /** The stream table (Http2Connection's): a stream that ends on our side may leave it. */
  abstract readonly streams: StreamMap<S>;
  /** The peer's SETTINGS_MAX_FRAME_SIZE. */
  peerMaxFrameSize: number = D.DEFAULT_MAX_FRAME_SIZE;
  /** What the peer lets us send on the connection (its connection window). */
  connSendWindow: number = D.DEFAULT_WINDOW_SIZE;
  /** Streams with data that waits for window, in the order they blocked. */
  #blocked: S[] = [];
  /** Our HPACK encoder (its table size follows the peer's SETTINGS_HEADER_TABLE_SIZE). */
  protected readonly encoder = new HpackEncoder();
  readonly #scratch = new WriteBuffer(1024);

  constructor(conn: RawConn) {
    this.writer = new ConnWriter(conn);
  }

  /** Encodes and queues a HEADERS block for stream `id`. */
  writeHeaderBlock(id: number, headers: readonly string[], endStream: boolean): void {
    const scratch = this.#scratch;
    scratch.reset();
    this.encoder.encode(scratch, headers);
    writeHeaders(
      this.writer.out,
      id,
      scratch.buf,
      0,
      scratch.length,
      endStream,
      this.peerMaxFrameSize,
    );
    this.writer.flushSoon();
  }

  /**
   * Sends one gRPC message on `s` (prefix + data), as DATA frames within the flow-control
   * windows; what doesn't fit waits for WINDOW_UPDATE. With `endStream`, the last frame carries
   * END_STREAM. Resolves at once (a shared promise) unless the writer or the windows push back.
   */
  sendMessage(s: S, data: Uint8Array, compressed: boolean, endStream: boolean): Promise<void> {
    const total = 5 + data.length;
    if (
      s.pendingBytes === 0 && total <= s.sendWindow && total <= this.connSendWindow &&
      total <= this.peerMaxFrameSize
    ) {
      // Fast path: straight into the output buffer, as one frame, or appended to this stream's
      // DATA frame when that is still the last thing queued (see #extendTailData).
      const out = this.writer.out;
      if (!this.#extendTailData(out, s.id, total, endStream)) {
        out.ensure(9 + total);
        this.#tailStart = out.length;
        writeFrameHeader(out, total, FrameType.DATA, endStream ? Flag.END_STREAM : 0, s.id);
      }
      out.u8(compressed ? 1 : 0);
      out.u32(data.length);
      out.bytes(data);
      if (!endStream) {
        this.#tailOut = out;
        this.#tailGeneration = out.generation;
        this.#tailEnd = out.length;
        this.#tailStream = s.id;
      } else this.#tailOut = null;
      s.sendWindow -= total;
      this.connSendWindow -= total;
      this.onDataSent();
      if (endStream) this.#localEnd(s);
      this.writer.flushSoon();
      return this.writer.ready();
    }
    const prefix = new Uint8Array(5);
    prefix[0] = compressed ? 1 : 0;
    prefix[1] = data.length >>> 24;
    prefix[2] = data.length >>> 16;
    prefix[3] = data.length >>> 8;
    prefix[4] = data.length;
    s.pendingOut.push(prefix);
    if (data.length > 0) s.pendingOut.push(data);
    s.pendingBytes += total;
    if (endStream) s.pendingEndStream = true;
    this.#sendPending(s);
    if (s.pendingBytes > 0) {
      if (!s.blocked) {
        s.blocked = true;
        this.#blocked.push(s);
      }
      return s.waitPending();
    }
    return this.writer.ready();
  }

  // The last fast-path DATA frame: its buffer (and that buffer's generation), where its header
  // starts, where it ends, its stream. Messages a stream sends within one turn (a server-streaming
  // handler's burst) then share DATA frames up to the peer's SETTINGS_MAX_FRAME_SIZE: gRPC
  // messages are a byte stream, and a peer pays per frame (grpc-go's reader allocates a frame,
  // takes the transport's locks and wakes the reading goroutine once per DATA frame), so a 1 KiB
  // stream costs it a frame per ~15 messages instead of one each. grpc-go sends a frame per
  // message.
  #tailOut: WriteBuffer | null = null;
  #tailGeneration = 0;
  #tailStart = 0;
  #tailEnd = 0;
  #tailStream = 0;

  // Grows the last fast-path DATA frame by `n` bytes (the caller appends them) when it is still
  // the last frame queued (same buffer, not reset, nothing appended since), belongs to stream
  // `id`, has no END_STREAM, and stays within the peer's frame size.
  #extendTailData(out: WriteBuffer, id: number, n: number, endStream: boolean): boolean {
    if (
      endStream || out !== this.#tailOut || out.generation !== this.#tailGeneration ||
      out.length !== this.#tailEnd || id !== this.#tailStream
    ) {
      return false;
    }
    const at = this.#tailStart;
    const grown = out.length - at - 9 + n;
    if (grown > this.peerMaxFrameSize) return false;
    out.ensure(n);
    const b = out.buf;
    b[at] = grown >>> 16;
    b[at + 1] = grown >>> 8;
    b[at + 2] = grown;
    return true;
  }

  /** Ends our side of `s` with an empty DATA frame (after any pending data). */
  sendEndStream(s: S): void {
    if (s.pendingBytes > 0) {
      s.pendingEndStream = true;
      return;
    }
    writeData(this.writer.out, s.id, EMPTY, 0, 0, true);
    this.#localEnd(s);
    this.writer.flushSoon();
  }

  /** Sends trailers (HEADERS with END_STREAM) on `s`, after any data still pending. */
  sendTrailers(s: S, headers: string[]): void {
    if (s.pendingBytes > 0) {
      s.pendingTrailers = headers;
      return;
    }
    this.writeHeaderBlock(s.id, headers, true);
    this.#localEnd(s);
  }

  // Writes as much of s's pending data as both windows allow.
  #sendPending(s: S): void {
    const out = this.writer.out;
    while (s.pendingBytes > 0) {
      const room = Math.min(s.sendWindow, this.connSendWindow, this.peerMaxFrameSize);
      if (room <= 0) break;
      const n = Math.min(room, s.pendingBytes);
      const last = n === s.pendingBytes;
      const endStream = last && s.pendingEndStream && s.pendingTrailers === null;
      out.ensure(9 + n);
      writeFrameHeader(out, n, FrameType.DATA, endStream ? Flag.END_STREAM : 0, s.id);
      let left = n;
      while (left > 0) {
        const seg = s.pendingOut[0];
        const take = Math.min(left, seg.length - s.pendingOffset);
        out.bytes(seg, s.pendingOffset, s.pendingOffset + take);
        left -= take;
        s.pendingOffset += take;
        if (s.pendingOffset === seg.length) {
          s.pendingOut.shift();
          s.pendingOffset = 0;
        }
      }
      s.pendingBytes -= n;
      s.sendWindow -= n;
      this.connSendWindow -= n;
      this.onDataSent();
    }
    this.writer.flushSoon();
    if (s.pendingBytes === 0) {
      if (s.pendingTrailers !== null) {
        const t = s.pendingTrailers;
        s.pendingTrailers = null;
        this.writeHeaderBlock(s.id, t, true);
        this.#localEnd(s);
        this.onDeferredTrailersSent(s);
      } else if (s.pendingEndStream) {
        s.pendingEndStream = false;
        // END_STREAM went out on the last DATA frame above.
        this.#localEnd(s);
      }
      const d = s.pendingDrained;
      if (d !== null) {
        s.pendingDrained = null;
        this.writer.ready().then(d);
      }
    }
  }

  /** Sends what blocked streams hold, as far as the windows now allow (after WINDOW_UPDATE). */
  protected drainBlocked(): void {
    if (this.#blocked.length === 0) return;
    const list = this.#blocked;
    this.#blocked = [];
    for (const s of list) {
      if (this.connSendWindow <= 0 || s.state === StreamState.CLOSED && s.pendingBytes === 0) {
        if (s.pendingBytes > 0 && s.state !== StreamState.CLOSED) this.#blocked.push(s);
        else s.blocked = false;
        continue;
      }
      this.#sendPending(s);
      if (s.pendingBytes > 0) this.#blocked.push(s);
      else s.blocked = false;
    }
  }

  #localEnd(s: S): void {
    if (s.state === StreamState.HALF_CLOSED_REMOTE) {
      s.state = StreamState.CLOSED;
      this.streams.delete(s.id);
      this.onStreamClosed(s);
    } else if (s.state === StreamState.OPEN) {
      s.state = StreamState.HALF_CLOSED_LOCAL;
    }
  }

  /** `s` is closed and out of the stream table. */
  protected onStreamClosed(_s: S): void {}
  /** We sent DATA or HEADERS (servers reset ping strikes). */
  protected onDataSent(): void {}
  /** Trailers that waited behind flow-controlled data (sendTrailers) were just written. */
  protected onDeferredTrailersSent(_s: S): void {}
}
