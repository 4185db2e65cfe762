// The read loop, frame dispatch and lifecycle of an HTTP/2 connection, shared by both roles, after
// grpc-go's http2Server/http2Client reader loops (internal/transport/http2_{server,client}.go):
// one read loop into a reused buffer that parses every complete frame before the next read and
// switches on the frame type; SETTINGS, PING, GOAWAY, WINDOW_UPDATE and RST_STREAM handling;
// header-block assembly (HEADERS + CONTINUATION, §6.10); receive flow control and BDP (the
// accounting is flow_control.ts's); the defences against the published floods (counters in
// defences.ts); stream resets, GOAWAY and close. Sending HEADERS and DATA within the peer's
// windows is the base class's (outbound.ts); our PINGs are ping.ts's.
//
// Roles (http2_server.ts, http2_client.ts) subclass it and implement `onHeaderBlock` and
// `onGoaway`. Nothing here throws out of the read loop: a ConnectionError becomes GOAWAY and
// close, a StreamError becomes RST_STREAM, and every other stream carries on.

import { WriteBuffer } from "./buffer.ts";
import {
  asciiBytes,
  CONNECTION_PREFACE,
  ErrorCode,
  Flag,
  FrameParser,
  FrameType,
  SettingId,
} from "./frame.ts";
import {
  writeGoaway,
  writePing,
  writeRstStream,
  writeSettings,
  writeSettingsAck,
  writeWindowUpdate,
} from "./frame_writer.ts";
import { HpackDecoder, HpackError } from "./hpack.ts";
import { ConnectionError, type StreamError, unavailable } from "./errors.ts";
import { type Http2Stream, StreamState } from "./stream.ts";
import { BdpEstimator, ConnRecvFlow } from "./flow_control.ts";
import { EmptyDataBucket, RecentResets, ResetBudget } from "./defences.ts";
import type { RawConn } from "./writer.ts";
import type { TransportOptions } from "./options.ts";
import { Http2Outbound } from "./outbound.ts";
import {
  ourPingKind,
  PING_BDP,
  PING_DRAIN,
  PING_KEEPALIVE,
  PING_USER,
  PingWaiters,
  writeOurPing,
} from "./ping.ts";
import { StreamMap } from "./stream_map.ts";
import * as D from "./defaults.ts";
import { errorMessage } from "../internal/error_message.ts";
import { Code, StatusError } from "../status.ts";

export type { RawConn };

/** Initial capacity of the buffer that assembles HEADERS + CONTINUATION blocks. */
const HEADER_BLOCK_BUFFER_SIZE = 1024;

/** Shared HTTP/2 connection machinery; subclassed by ServerTransport and ClientTransport. */
export abstract class Http2Connection<S extends Http2Stream = Http2Stream>
  extends Http2Outbound<S> {
  readonly conn: RawConn;
  readonly opts: TransportOptions;
  readonly streams: StreamMap<S> = new StreamMap();
  protected readonly isServer: boolean;

  // Peer's settings.
  peerInitialWindowSize: number = D.DEFAULT_WINDOW_SIZE;
  peerMaxConcurrentStreams: number = D.UNLIMITED_STREAMS;
  peerMaxHeaderListSize: number = D.UNLIMITED_STREAMS;

  // Receive flow control (RFC 9113 §6.9; flow_control.ts). The send side: outbound.ts.
  readonly #connRecv: ConnRecvFlow;
  /** Our stream window as currently advertised (BDP may raise it). */
  streamRecvWindow: number;

  // Reading.
  readonly #parser = new FrameParser();
  readonly #decoder: HpackDecoder;
  readonly #headerList: string[] = [];
  // Not 0: WriteBuffer.ensure() doubles the capacity, and 0 × 2 never grows (it spun forever on
  // the first HEADERS without END_HEADERS).
  #block = new WriteBuffer(HEADER_BLOCK_BUFFER_SIZE);
  #blockStream = 0;
  #blockEndStream = false;
  /** The block's HEADERS had a stream error (already RST): decode it for HPACK, then drop it. */
  #blockSkip = false;
  #blockContinuations = 0;
  #prefaceLeft: number;
  #gotSettings = false;

  // Defences.
  #controlQueued = 0;
  readonly #emptyData: EmptyDataBucket;
  readonly #resets: ResetBudget;
  /** Streams we sent RST_STREAM on lately: the peer's frames still in flight are ignored. */
  readonly #resetByUs = new RecentResets();

  // BDP estimator (grpc-go bdp_estimator.go); null with static windows.
  readonly #bdp: BdpEstimator | null;

  // Lifecycle.
  #closed = false;
  #closeReason: StatusError | null = null;
  #closedResolve!: () => void;
  /** Resolves once the connection is closed and its streams are failed. */
  readonly closed: Promise<void>;
  #settingsResolve!: () => void;
  #settingsReject!: (e: unknown) => void;
  /** Resolves when the peer's first SETTINGS frame arrives (the handshake, from our side). */
  readonly handshaked: Promise<void>;
  /** ping() calls waiting for their ACK. */
  readonly #userPings = new PingWaiters();
  /** Set when a GOAWAY was sent; streams above goawayLastId are refused. */
  goawaySent = false;
  /** Set when the peer's GOAWAY arrived. */
  goawayReceived = false;
  /** Called after the connection closed. */
  onClose: (() => void) | undefined;
  /** Called after every read that returned bytes (keepalive watches read activity). */
  protected onRead: (() => void) | undefined;

  constructor(conn: RawConn, opts: TransportOptions, isServer: boolean) {
    super(conn);
    this.conn = conn;
    this.opts = opts;
    this.isServer = isServer;
    this.writer.onError = () => this.close(unavailable("Connection lost: write failed"));
    this.#decoder = new HpackDecoder({
      maxTableSize: opts.headerTableSize,
      maxHeaderListSize: opts.maxHeaderListSize,
    });
    this.#parser.maxFrameSize = opts.maxFrameSize;
    this.#connRecv = new ConnRecvFlow(opts.initialConnWindowSize);
    this.#emptyData = new EmptyDataBucket(opts.now);
    this.#resets = new ResetBudget(opts.now);
    this.streamRecvWindow = opts.initialWindowSize;
    this.#bdp = opts.dynamicWindow ? new BdpEstimator(opts.initialWindowSize) : null;
    this.#prefaceLeft = isServer ? CONNECTION_PREFACE.length : 0;
    this.closed = new Promise((r) => (this.#closedResolve = r));
    this.handshaked = new Promise((resolve, reject) => {
      this.#settingsResolve = resolve;
      this.#settingsReject = reject;
    });
    this.handshaked.catch(() => {});
  }

  /** Writes our preface (client) and SETTINGS, then runs the read loop until the end. */
  protected start(settings: number[]): void {
    const out = this.writer.out;
    if (!this.isServer) out.bytes(CONNECTION_PREFACE);
    writeSettings(out, settings);
    const extra = this.opts.initialConnWindowSize - D.DEFAULT_WINDOW_SIZE;
    if (extra > 0) writeWindowUpdate(out, 0, extra);
    this.writer.flushSoon();
    this.#readLoop();
  }

  /** The settings both roles send (flat [id, value, …]). */
  protected baseSettings(): number[] {
    const o = this.opts;
    const s: number[] = [];
    if (o.initialWindowSize !== D.DEFAULT_WINDOW_SIZE) {
      s.push(SettingId.INITIAL_WINDOW_SIZE, o.initialWindowSize);
    }
    if (o.maxFrameSize !== D.DEFAULT_MAX_FRAME_SIZE) {
      s.push(SettingId.MAX_FRAME_SIZE, o.maxFrameSize);
    }
    if (o.headerTableSize !== D.DEFAULT_HEADER_TABLE_SIZE) {
      s.push(SettingId.HEADER_TABLE_SIZE, o.headerTableSize);
    }
    s.push(SettingId.MAX_HEADER_LIST_SIZE, o.maxHeaderListSize);
    return s;
  }

  /** Bytes of a HEADERS + CONTINUATION block buffered now (bounded by maxHeaderBlockSize). */
  get headerBlockBuffered(): number {
    return this.#block.length;
  }

  get isClosed(): boolean {
    return this.#closed;
  }

  /** The error streams fail with once the connection is gone. */
  get closeReason(): StatusError | null {
    return this.#closeReason;
  }

  // ---- reading ---------------------------------------------------------------------------

  async #readLoop(): Promise<void> {
    let buf = new Uint8Array(D.INITIAL_READ_BUFFER_SIZE);
    let start = 0;
    let end = 0;
    const parser = this.#parser;
    try {
      while (!this.#closed) {
        if (end === buf.length) {
          if (start > 0) {
            buf.copyWithin(0, start, end);
            end -= start;
            start = 0;
          } else {
            // A frame larger than the buffer (max frame size is checked from its header).
            const next = new Uint8Array(Math.max(buf.length * 2, 9 + this.opts.maxFrameSize));
            next.set(buf.subarray(0, end));
            buf = next;
          }
        }
        const n = await this.conn.read(end === 0 ? buf : buf.subarray(end));
        if (n === null) {
          this.close(unavailable("Connection closed by peer"));
          return;
        }
        this.onRead?.();
        const space = buf.length - end;
        end += n;
        // A read that filled all the free space asks for a bigger buffer (bulk transfers), up to
        // the cap; idle connections keep the small one (DENO-PLATFORM.md §1: 256 KiB–1 MiB reads
        // are fastest for bulk data; grpc-go keeps 32 KiB per connection).
        if (n === space && buf.length < D.MAX_READ_BUFFER_SIZE) {
          const next = new Uint8Array(buf.length * 2);
          next.set(buf.subarray(start, end));
          end -= start;
          start = 0;
          buf = next;
        }
        if (this.#prefaceLeft > 0) {
          start = this.#readPreface(buf, start, end);
          if (this.#prefaceLeft > 0) continue;
        }
        while (!this.#closed) {
          const next = parser.next(buf, start, end);
          if (next < 0) break;
          this.#onFrame(parser);
          start = next;
          // Back-pressure on peer-triggered control frames (PING/SETTINGS/RST_STREAM floods):
          // stop parsing, mid-buffer too, while too many of our answers wait unwritten (grpc-go
          // controlbuf throttle). Checked per frame: one read can hold 60k PINGs, and checking
          // once per read let a peer that doesn't read queue a whole read buffer of ACKs.
          if (this.#controlQueued > D.MAX_QUEUED_CONTROL_FRAMES) {
            await this.writer.idle();
            this.#controlQueued = 0;
          }
        }
        if (start === end) start = end = 0;
      }
    } catch (err) {
      if (err instanceof ConnectionError) {
        this.#connectionError(err.code, err.message);
      } else if (err instanceof HpackError) {
        this.#connectionError(ErrorCode.COMPRESSION_ERROR, (err as Error).message);
      } else if (!this.#closed) {
        this.close(unavailable(`Connection lost: ${errorMessage(err)}`));
      }
    }
  }

  #readPreface(buf: Uint8Array, start: number, end: number): number {
    let i = start;
    let k = CONNECTION_PREFACE.length - this.#prefaceLeft;
    while (i < end && this.#prefaceLeft > 0) {
      if (buf[i] !== CONNECTION_PREFACE[k]) {
        throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "Bad connection preface");
      }
      i++;
      k++;
      this.#prefaceLeft--;
    }
    return i;
  }

  #onFrame(f: FrameParser): void {
    const type = f.type;
    if (this.#blockStream !== 0 && type !== FrameType.CONTINUATION) {
      throw new ConnectionError(
        ErrorCode.PROTOCOL_ERROR,
        "Expected CONTINUATION (RFC 9113 §6.10)",
      );
    }
    if (!this.#gotSettings && type !== FrameType.SETTINGS) {
      throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "First frame was not SETTINGS");
    }
    switch (type) {
      case FrameType.DATA:
        this.#onDataFrame(f);
        break;
      case FrameType.HEADERS:
        this.#onHeadersFrame(f);
        break;
      case FrameType.CONTINUATION:
        this.#onContinuation(f);
        break;
      case FrameType.RST_STREAM:
        this.#onRstStream(f.streamId, f.errorCode);
        break;
      case FrameType.SETTINGS:
        this.#onSettings(f);
        break;
      case FrameType.PING:
        this.#onPing(f);
        break;
      case FrameType.GOAWAY:
        this.goawayReceived = true;
        this.onGoaway(f.lastStreamId, f.errorCode, goawayDebug(f));
        break;
      case FrameType.WINDOW_UPDATE:
        this.#onWindowUpdate(f);
        break;
      case FrameType.PRIORITY:
        if (f.streamError !== 0) this.#streamError(f.streamId, f.streamError);
        break;
      case FrameType.PUSH_PROMISE:
        // Servers never receive it; our clients disable push (SETTINGS_ENABLE_PUSH = 0).
        throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "Unexpected PUSH_PROMISE");
      default:
        // RFC 9113 §4.1: unknown frame types are ignored.
        break;
    }
  }

  #onDataFrame(f: FrameParser): void {
    const id = f.streamId;
    const len = f.length;
    // Connection-level accounting first: it covers frames for closed streams and padding too,
    // and credits on receipt (flow_control.ts: a stalled stream must not stall the connection).
    if (len > 0) {
      const inc = this.#connRecv.onData(len);
      if (inc < 0) {
        throw new ConnectionError(ErrorCode.FLOW_CONTROL_ERROR, "Connection window exceeded");
      }
      if (inc > 0) {
        writeWindowUpdate(this.writer.out, 0, inc);
        this.writer.flushSoon();
      }
      if (this.#bdp !== null && this.#bdp.add(len)) this.#writeOurPing(PING_BDP);
    }
    const endStream = (f.flags & Flag.END_STREAM) !== 0;
    if (len === 0 && !endStream) this.#countEmptyData();
    const s = this.streams.get(id);
    if (s === undefined) {
      if (this.isIdleStream(id)) {
        throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "DATA on an idle stream");
      }
      // A stream we reset (or finished with RST_STREAM NO_ERROR while the peer still sent):
      // RFC 9113 §5.1 says to ignore frames that were in flight after our RST_STREAM, and one
      // RST per DATA frame of an upload that outlived its call helps nobody. Any other closed
      // stream (both sides ended, or the peer reset it) is a STREAM_CLOSED stream error (§6.1),
      // answered once: the RST_STREAM puts the id among ours. The connection window was
      // credited above either way.
      if (!this.#resetByUs.has(id)) this.#writeRst(id, ErrorCode.STREAM_CLOSED);
      return;
    }
    if (s.state === StreamState.HALF_CLOSED_REMOTE || s.state === StreamState.CLOSED) {
      this.#streamError(id, ErrorCode.STREAM_CLOSED);
      return;
    }
    if (!s.recvFlow.onData(len)) {
      this.#streamError(id, ErrorCode.FLOW_CONTROL_ERROR);
      return;
    }
    // Padding is flow-controlled but carries nothing: credit it back now.
    const data = f.payloadEnd - f.payloadStart;
    if (len > data) s.onPadding(len - data);
    // RFC 9113 §8.1.1: DATA that disagrees with content-length makes the message malformed.
    if (s.contentLength >= 0) {
      s.dataLength += data;
      if (s.dataLength > s.contentLength || (endStream && s.dataLength !== s.contentLength)) {
        this.#streamError(id, ErrorCode.PROTOCOL_ERROR);
        return;
      }
    }
    if (data > 0 && !s.onData(f.buf, f.payloadStart, f.payloadEnd)) {
      this.onMessageTooLarge(s);
      return;
    }
    if (endStream) this.#remoteEnd(s);
  }

  #remoteEnd(s: S): void {
    if (s.state === StreamState.HALF_CLOSED_LOCAL) {
      s.state = StreamState.CLOSED;
      this.streams.delete(s.id);
      s.onRemoteEnd();
      this.onStreamClosed(s);
    } else {
      s.state = StreamState.HALF_CLOSED_REMOTE;
      s.onRemoteEnd();
    }
  }

  #onHeadersFrame(f: FrameParser): void {
    const id = f.streamId;
    if (f.streamError !== 0) {
      // Still decode the block below? A PRIORITY self-dependency makes the stream invalid, but
      // the block must be decoded to keep HPACK in sync (RFC 9113 §4.3).
      this.#streamError(id, f.streamError);
    }
    this.#blockEndStream = (f.flags & Flag.END_STREAM) !== 0;
    this.#blockContinuations = 0;
    if ((f.flags & Flag.END_HEADERS) !== 0) {
      this.#decodeBlock(id, f.buf, f.payloadStart, f.payloadEnd, f.streamError !== 0);
      return;
    }
    this.#blockStream = id;
    this.#blockSkip = f.streamError !== 0;
    this.#block.reset();
    this.#appendBlock(f);
  }

  #onContinuation(f: FrameParser): void {
    if (this.#blockStream === 0 || f.streamId !== this.#blockStream) {
      throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "Unexpected CONTINUATION");
    }
    if (++this.#blockContinuations > D.MAX_CONTINUATION_FRAMES) {
      throw new ConnectionError(ErrorCode.ENHANCE_YOUR_CALM, "Too many CONTINUATION frames");
    }
    this.#appendBlock(f);
    if ((f.flags & Flag.END_HEADERS) !== 0) {
      const id = this.#blockStream;
      this.#blockStream = 0;
      const b = this.#block;
      this.#decodeBlock(id, b.buf, 0, b.length, this.#blockSkip);
      // Don't keep a large block's memory per connection.
      if (b.buf.length > 64 * 1024) this.#block = new WriteBuffer(HEADER_BLOCK_BUFFER_SIZE);
    }
  }

  #appendBlock(f: FrameParser): void {
    const n = f.payloadEnd - f.payloadStart;
    if (this.#block.length + n > this.opts.maxHeaderBlockSize) {
      // The block can't be decoded partially without desynchronising HPACK: connection error.
      throw new ConnectionError(
        ErrorCode.ENHANCE_YOUR_CALM,
        `Header block larger than ${this.opts.maxHeaderBlockSize} bytes`,
      );
    }
    this.#block.bytes(f.buf, f.payloadStart, f.payloadEnd);
  }

  #decodeBlock(id: number, buf: Uint8Array, start: number, end: number, skip: boolean): void {
    const list = this.#headerList;
    list.length = 0;
    const complete = this.#decoder.decode(buf, start, end, list);
    if (skip) return;
    this.onHeaderBlock(id, list, this.#blockEndStream, complete);
  }

  #onRstStream(id: number, code: number): void {
    const s = this.streams.get(id);
    if (s === undefined) {
      if (this.isIdleStream(id)) {
        throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "RST_STREAM on an idle stream");
      }
      return;
    }
    if (this.isServer) this.#countReset();
    this.#closeStream(s);
    this.onStreamReset(s, code);
  }

  // CVE-2019-9518 (empty frames flood; defences.ts: a leaky bucket).
  #countEmptyData(): void {
    if (!this.#emptyData.add()) {
      throw new ConnectionError(ErrorCode.ENHANCE_YOUR_CALM, "Too many empty DATA frames");
    }
  }

  // CVE-2023-44487 (rapid reset): a peer that opens and cancels streams faster than any real
  // client gets GOAWAY ENHANCE_YOUR_CALM. Counts the peer's RST_STREAMs on open streams and our
  // resets of open streams for the peer's errors (#streamError).
  #countReset(): void {
    if (!this.#resets.add()) {
      throw new ConnectionError(ErrorCode.ENHANCE_YOUR_CALM, "Too many stream resets");
    }
  }

  #onSettings(f: FrameParser): void {
    if ((f.flags & Flag.ACK) !== 0) return;
    const n = f.settingsCount;
    for (let i = 0; i < n; i++) {
      const id = f.readSettingId(i);
      const v = f.readSettingValue(i);
      switch (id) {
        case SettingId.HEADER_TABLE_SIZE:
          this.encoder.setMaxTableSize(v);
          break;
        case SettingId.MAX_CONCURRENT_STREAMS:
          this.peerMaxConcurrentStreams = v;
          this.onMaxConcurrentStreams();
          break;
        case SettingId.INITIAL_WINDOW_SIZE: {
          // RFC 9113 §6.9.2: adjust every open stream's send window by the difference.
          const delta = v - this.peerInitialWindowSize;
          this.peerInitialWindowSize = v;
          for (const s of this.streams.values()) {
            s.sendWindow += delta;
            if (s.sendWindow > D.MAX_WINDOW) {
              throw new ConnectionError(ErrorCode.FLOW_CONTROL_ERROR, "Window overflow");
            }
          }
          if (delta > 0) this.drainBlocked();
          break;
        }
        case SettingId.MAX_FRAME_SIZE:
          this.peerMaxFrameSize = v;
          break;
        case SettingId.MAX_HEADER_LIST_SIZE:
          this.peerMaxHeaderListSize = v;
          break;
        default:
          // ENABLE_PUSH is validated by the parser; unknown settings are ignored (§6.5.2).
          break;
      }
    }
    writeSettingsAck(this.writer.out);
    this.#controlQueued++;
    this.writer.flushSoon();
    if (!this.#gotSettings) {
      this.#gotSettings = true;
      this.#settingsResolve();
    }
  }

  #onPing(f: FrameParser): void {
    const b = f.buf;
    const p = f.payloadStart;
    if ((f.flags & Flag.ACK) !== 0) {
      const kind = ourPingKind(b, p);
      if (kind === PING_BDP) this.#bdpAck();
      else if (kind === PING_DRAIN) this.onDrainPingAck();
      else if (kind === PING_USER) this.#userPings.acked();
      return;
    }
    this.onPingReceived();
    if (this.#closed) return;
    writePing(this.writer.out, true, b.subarray(p, p + 8));
    this.#controlQueued++;
    this.writer.flushSoon();
  }

  #onWindowUpdate(f: FrameParser): void {
    const id = f.streamId;
    const inc = f.windowIncrement;
    if (id === 0) {
      this.connSendWindow += inc;
      if (this.connSendWindow > D.MAX_WINDOW) {
        throw new ConnectionError(ErrorCode.FLOW_CONTROL_ERROR, "Connection window overflow");
      }
      this.drainBlocked();
      return;
    }
    if (f.streamError !== 0) {
      this.#streamError(id, f.streamError);
      return;
    }
    const s = this.streams.get(id);
    if (s === undefined) {
      if (this.isIdleStream(id)) {
        throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "WINDOW_UPDATE on an idle stream");
      }
      return;
    }
    s.sendWindow += inc;
    if (s.sendWindow > D.MAX_WINDOW) {
      this.#streamError(id, ErrorCode.FLOW_CONTROL_ERROR);
      return;
    }
    if (s.blocked) this.drainBlocked();
  }

  // ---- receive-side flow control (flow_control.ts) ----------------------------------------

  /** Announces `n` more bytes of `s`'s receive window, unless the peer is done sending on it. */
  sendStreamWindowUpdate(s: Http2Stream, n: number): void {
    if (s.state === StreamState.OPEN || s.state === StreamState.HALF_CLOSED_LOCAL) {
      writeWindowUpdate(this.writer.out, s.id, n);
      this.writer.flushSoon();
    }
  }

  #bdpAck(): void {
    const n = this.#bdp?.onAck() ?? 0;
    if (n > 0) this.#updateWindows(n);
  }

  // grpc-go updateFlowControl: raise the connection window and every stream's window to n.
  #updateWindows(n: number): void {
    const out = this.writer.out;
    const connDelta = this.#connRecv.newLimit(n);
    if (connDelta > 0) writeWindowUpdate(out, 0, connDelta);
    if (n > this.streamRecvWindow) {
      // RFC 9113 §6.9.2: the peer adds the SETTINGS delta to every open stream's window itself,
      // so open streams get no WINDOW_UPDATE here (one would credit them twice and let the peer
      // overrun the window). grpc-go updateFlowControl: newLimit on each stream + SETTINGS.
      this.streamRecvWindow = n;
      for (const s of this.streams.values()) s.recvFlow.limit = n;
      writeSettings(out, [SettingId.INITIAL_WINDOW_SIZE, n]);
    }
    this.writer.flushSoon();
  }

  // ---- our PINGs (ping.ts) -----------------------------------------------------------------

  #writeOurPing(kind: number): void {
    writeOurPing(this.writer.out, kind);
    this.writer.flushSoon();
  }

  /**
   * Sends a PING and resolves on its ACK (a liveness check: keepalive, tests); rejects with the
   * close reason if the connection closes first, or is closed already.
   */
  ping(): Promise<void> {
    if (this.#closed) return Promise.reject(this.#closeReason ?? unavailable("Connection closed"));
    const acked = this.#userPings.add();
    this.#writeOurPing(PING_USER);
    return acked;
  }

  /** Sends a keepalive PING (its ACK, like any read, is a sign of life: `onRead`). */
  protected sendKeepalivePing(): void {
    this.#writeOurPing(PING_KEEPALIVE);
  }

  /** Sends the drain PING (gracefulStop); `onDrainPingAck` runs on its ACK. */
  protected sendDrainPing(): void {
    this.#writeOurPing(PING_DRAIN);
  }

  /** Resets stream `s` with `code` (RST_STREAM) and forgets it. */
  resetStream(s: S, code: number): void {
    if (s.state === StreamState.CLOSED) return;
    this.#closeStream(s);
    this.#writeRst(s.id, code);
  }

  #closeStream(s: S): void {
    const wasOpen = s.state !== StreamState.CLOSED;
    s.state = StreamState.CLOSED;
    this.streams.delete(s.id);
    s.pendingOut.length = 0;
    s.pendingBytes = 0;
    s.pendingTrailers = null;
    const d = s.pendingDrained;
    s.pendingDrained = null;
    if (d !== null) d();
    if (wasOpen) this.onStreamClosed(s);
  }

  #writeRst(id: number, code: number): void {
    this.#resetByUs.add(id);
    writeRstStream(this.writer.out, id, code);
    this.#controlQueued++;
    this.writer.flushSoon();
  }

  #streamError(id: number, code: number): void {
    const s = this.streams.get(id);
    if (s === undefined) {
      this.#writeRst(id, code);
      return;
    }
    this.#closeStream(s);
    this.#writeRst(id, code);
    this.onStreamReset(s, code, true);
    // MadeYouReset (CVE-2025-8671): a peer can make *us* reset its streams (window overflow,
    // DATA on a half-closed stream, …) to get the rapid-reset effect without sending RST_STREAM;
    // those resets share the same budget.
    if (this.isServer) this.#countReset();
  }

  /** Whether we sent RST_STREAM on `id` recently (the peer's frames may still be in flight). */
  protected wasResetByUs(id: number): boolean {
    return this.#resetByUs.has(id);
  }

  /** Answers a stream error found by a role (malformed request, refused stream). */
  protected streamError(err: StreamError): void {
    this.#streamError(err.streamId, err.code);
  }

  #connectionError(code: number, message: string): void {
    if (this.#closed) return;
    const last = this.lastPeerStreamId();
    writeGoaway(this.writer.out, last, code, asciiBytes(message));
    this.goawaySent = true;
    const reason = new StatusError(
      code === ErrorCode.ENHANCE_YOUR_CALM ? Code.ResourceExhausted : Code.Internal,
      `Connection error: ${message}`,
    );
    this.closeAfterFlush(reason);
    this.writer.flushSoon();
    // Stop reading now; the socket closes once GOAWAY is written.
    this.#closed = true;
    this.#failAll(reason);
    this.#userPings.failAll(reason);
  }

  /** Sends GOAWAY(lastStreamId, code) without closing. */
  protected sendGoaway(lastStreamId: number, code: number, debug = ""): void {
    if (this.#closed) return;
    writeGoaway(this.writer.out, lastStreamId, code, debug === "" ? undefined : asciiBytes(debug));
    this.goawaySent = true;
    this.writer.flushSoon();
  }

  /** Closes the connection now: fails every stream with `reason` and closes the socket. */
  close(reason: StatusError = unavailable("Connection closed")): void {
    if (this.#closeReason !== null) return;
    this.#closed = true;
    this.#closeReason = reason;
    this.#failAll(reason);
    this.writer.close();
    try {
      this.conn.close();
    } catch {
      // Already closed.
    }
    this.#settingsReject(reason);
    this.#userPings.failAll(reason);
    this.#closedResolve();
    this.onClose?.();
  }

  /** Flushes what is queued, then closes (used after a final GOAWAY). */
  closeAfterFlush(reason?: StatusError): void {
    // A peer that stopped reading must not keep the socket open: give the final frames
    // CLOSE_FLUSH_TIMEOUT_MS to go out, then close anyway.
    const timer = setTimeout(() => this.close(reason), D.CLOSE_FLUSH_TIMEOUT_MS);
    this.writer.idle().then(() => {
      clearTimeout(timer);
      this.close(reason);
    });
  }

  #failAll(reason: StatusError): void {
    if (this.streams.size === 0) return;
    const all = [...this.streams.values()];
    for (const s of all) {
      this.#closeStream(s);
      this.onStreamAborted(s, reason);
    }
  }

  // ---- role hooks ------------------------------------------------------------------------

  /** A complete header block arrived for stream `id`. `complete` is false if truncated. */
  protected abstract onHeaderBlock(
    id: number,
    headers: string[],
    endStream: boolean,
    complete: boolean,
  ): void;
  /** GOAWAY arrived; `debug` is its debug data as ASCII text. */
  protected abstract onGoaway(lastStreamId: number, code: number, debug: string): void;
  /** Whether `id` names a stream that was never opened (frames on it are PROTOCOL_ERROR). */
  protected abstract isIdleStream(id: number): boolean;
  /** The highest stream id the peer opened that we processed (for GOAWAY). */
  protected abstract lastPeerStreamId(): number;
  /** The peer reset `s` (or we did, `local`, for a stream error). */
  protected abstract onStreamReset(s: S, code: number, local?: boolean): void;
  /** The connection died under `s`. */
  protected abstract onStreamAborted(s: S, reason: StatusError): void;
  /** A message on `s` was over maxReceiveMessageSize; `s` has already failed. */
  protected abstract onMessageTooLarge(s: S): void;
  /** The peer's MAX_CONCURRENT_STREAMS changed. */
  protected onMaxConcurrentStreams(): void {}
  /** A PING (not an ACK) arrived; servers enforce their keepalive policy here. */
  protected onPingReceived(): void {}
  /** The drain PING was acknowledged. */
  protected onDrainPingAck(): void {}
}

// GOAWAY debug data as text (at most 256 bytes read; it is diagnostic only).
function goawayDebug(f: FrameParser): string {
  const start = f.payloadStart + 8;
  const end = Math.min(f.payloadEnd, start + 256);
  return end > start ? String.fromCharCode(...f.buf.subarray(start, end)) : "";
}
