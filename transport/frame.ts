// HTTP/2 frames (RFC 9113 §4, §6): constants and the pull parser (the writers: frame_writer.ts).
//
// Every frame starts with a 9-octet header (RFC 9113 §4.1):
//
//   0                   1                   2                   3
//   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//  +-----------------------------------------------+
//  |                 Length (24)                   |  payload octets, header excluded
//  +---------------+---------------+---------------+
//  |   Type (8)    |   Flags (8)   |
//  +-+-------------+---------------+-------------------------------+
//  |R|                 Stream Identifier (31)                      |  R is reserved: ignored on
//  +=+=============================================================+  receipt, sent as 0
//  |                   Frame Payload (0...)                      ...
//  +---------------------------------------------------------------+
//
// Header octets at `pos`: [0..2] length, [3] type, [4] flags, [5..8] R + stream id.
//
// Hot path (DENO-PLATFORM.md §0, §10): `new Uint8Array` costs ~0.5–0.9 µs in Deno, so the parser
// decodes headers in place with shifts and exposes payloads as offsets into the caller's buffer
// (the writers in frame_writer.ts encode straight into a WriteBuffer, one `ensure()` per frame).
// Nothing here allocates per frame; errors are the exception, they build a message only when
// thrown.
//
// The parser enforces the stateless rules of §6 (lengths, stream 0 or not, padding, SETTINGS
// values). Stateful rules (CONTINUATION sequencing, stream states, flow-control windows) belong to
// connection.ts.

import { ConnectionError } from "./errors.ts";

/** Octets in a frame header (RFC 9113 §4.1). */
export const FRAME_HEADER_LENGTH = 9;
/** Initial SETTINGS_MAX_FRAME_SIZE (RFC 9113 §6.5.2): 2^14. */
export const DEFAULT_MAX_FRAME_SIZE = 16384;
/** Largest SETTINGS_MAX_FRAME_SIZE a peer may announce (RFC 9113 §6.5.2): 2^24 - 1. */
export const MAX_ALLOWED_FRAME_SIZE = 16777215;
/** Largest flow-control window (RFC 9113 §6.9.1): 2^31 - 1. */
export const MAX_WINDOW = 2147483647;
/** Initial SETTINGS_INITIAL_WINDOW_SIZE and connection window (RFC 9113 §6.5.2, §6.9.2). */
export const DEFAULT_INITIAL_WINDOW_SIZE = 65535;

/** Frame types (RFC 9113 §6, registry in §11.2). */
export const FrameType = {
  DATA: 0x0,
  HEADERS: 0x1,
  PRIORITY: 0x2,
  RST_STREAM: 0x3,
  SETTINGS: 0x4,
  PUSH_PROMISE: 0x5,
  PING: 0x6,
  GOAWAY: 0x7,
  WINDOW_UPDATE: 0x8,
  CONTINUATION: 0x9,
} as const;
/** A known frame type number. */
export type FrameType = typeof FrameType[keyof typeof FrameType];

/**
 * Frame flags (RFC 9113 §6). The meaning of a bit depends on the frame type: END_STREAM (DATA,
 * HEADERS) and ACK (SETTINGS, PING) share 0x1. Flags not defined for a type must be ignored
 * (§4.1), so callers mask the ones they care about.
 */
export const Flag = {
  END_STREAM: 0x1,
  ACK: 0x1,
  END_HEADERS: 0x4,
  PADDED: 0x8,
  PRIORITY: 0x20,
} as const;

/** Error codes for RST_STREAM and GOAWAY (RFC 9113 §7). */
export const ErrorCode = {
  NO_ERROR: 0x0,
  PROTOCOL_ERROR: 0x1,
  INTERNAL_ERROR: 0x2,
  FLOW_CONTROL_ERROR: 0x3,
  SETTINGS_TIMEOUT: 0x4,
  STREAM_CLOSED: 0x5,
  FRAME_SIZE_ERROR: 0x6,
  REFUSED_STREAM: 0x7,
  CANCEL: 0x8,
  COMPRESSION_ERROR: 0x9,
  CONNECT_ERROR: 0xa,
  ENHANCE_YOUR_CALM: 0xb,
  INADEQUATE_SECURITY: 0xc,
  HTTP_1_1_REQUIRED: 0xd,
} as const;
/** A known HTTP/2 error code (unknown codes may still arrive, §7: treat as INTERNAL_ERROR). */
export type ErrorCode = typeof ErrorCode[keyof typeof ErrorCode];

const ERROR_CODE_NAMES: readonly string[] = [
  "NO_ERROR",
  "PROTOCOL_ERROR",
  "INTERNAL_ERROR",
  "FLOW_CONTROL_ERROR",
  "SETTINGS_TIMEOUT",
  "STREAM_CLOSED",
  "FRAME_SIZE_ERROR",
  "REFUSED_STREAM",
  "CANCEL",
  "COMPRESSION_ERROR",
  "CONNECT_ERROR",
  "ENHANCE_YOUR_CALM",
  "INADEQUATE_SECURITY",
  "HTTP_1_1_REQUIRED",
];

/**
 * The RFC 9113 §7 name of an HTTP/2 error code, e.g. `"FRAME_SIZE_ERROR"`.
 * @param code an error code from RST_STREAM or GOAWAY (any 32-bit value)
 * @returns the name, or `"UNKNOWN_0x…"` (lower-case hex) for a code outside §7
 */
export function errorCodeName(code: number): string {
  if (Number.isInteger(code) && code >= 0 && code < ERROR_CODE_NAMES.length) {
    return ERROR_CODE_NAMES[code];
  }
  return "UNKNOWN_0x" + code.toString(16);
}

/** SETTINGS parameters (RFC 9113 §6.5.2). */
export const SettingId = {
  HEADER_TABLE_SIZE: 0x1,
  ENABLE_PUSH: 0x2,
  MAX_CONCURRENT_STREAMS: 0x3,
  INITIAL_WINDOW_SIZE: 0x4,
  MAX_FRAME_SIZE: 0x5,
  MAX_HEADER_LIST_SIZE: 0x6,
} as const;
/** A known SETTINGS parameter id (unknown ids must be ignored, §6.5.2). */
export type SettingId = typeof SettingId[keyof typeof SettingId];

/** The client connection preface (RFC 9113 §3.4): "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 24 octets. */
export const CONNECTION_PREFACE: Uint8Array = asciiBytes("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

/**
 * The bytes of an ASCII string (the preface, GOAWAY debug data); a non-ASCII character becomes
 * "?" (masking its code unit would turn "§" into "'").
 */
export function asciiBytes(s: string): Uint8Array {
  const b = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    b[i] = c < 0x80 ? c : 0x3f;
  }
  return b;
}

const EMPTY = new Uint8Array(0);

// Local copies of the codes and types used in the hot path (plain numbers for the switch).
const DATA = 0x0, HEADERS = 0x1, PRIORITY = 0x2, RST_STREAM = 0x3, SETTINGS = 0x4;
const PUSH_PROMISE = 0x5, PING = 0x6, GOAWAY = 0x7, WINDOW_UPDATE = 0x8, CONTINUATION = 0x9;
const FLAG_ACK = 0x1, FLAG_PADDED = 0x8;
const FLAG_PRIORITY = 0x20;
const PROTOCOL_ERROR = 0x1, FLOW_CONTROL_ERROR = 0x3, FRAME_SIZE_ERROR = 0x6;

function connError(code: number, what: string): ConnectionError {
  return new ConnectionError(code, "Cannot accept frame: " + what);
}

// ---------------------------------------------------------------------------------------------
// Parser
// ---------------------------------------------------------------------------------------------

/**
 * A pull parser for HTTP/2 frames: one reused instance per connection, no allocation per frame.
 *
 * `next()` parses the frame at `pos` and fills the public fields below; they stay valid until the
 * next call. Payload bytes are not copied: read them from `buf[payloadStart, payloadEnd)`.
 */
export class FrameParser {
  /** Largest payload we accept: our SETTINGS_MAX_FRAME_SIZE (RFC 9113 §4.2). */
  maxFrameSize: number;

  /** Frame type (any 8-bit value; unknown types are returned too). */
  type = 0;
  /** Flags as on the wire; bits undefined for the type are left set (callers mask). */
  flags = 0;
  /** Stream identifier, reserved bit cleared. */
  streamId = 0;
  /** Payload length on the wire (including padding and priority fields). */
  length = 0;
  /** The buffer passed to the last `next()` that returned a frame. */
  buf: Uint8Array = EMPTY;
  /**
   * Start of the payload in `buf`. For DATA, HEADERS and PUSH_PROMISE: the data or field block
   * fragment, after the pad length, HEADERS priority fields and PUSH_PROMISE promised id.
   * Otherwise the whole payload.
   */
  payloadStart = 0;
  /** End of the payload in `buf` (padding excluded for DATA, HEADERS, PUSH_PROMISE). */
  payloadEnd = 0;
  /**
   * 0, or the error code of a stream error found in this frame (RFC 9113 §5.4.2): the caller
   * answers with RST_STREAM on `streamId`. Reset on every call.
   */
  streamError = 0;
  /** RST_STREAM and GOAWAY: the error code (32 bits, unsigned). */
  errorCode = 0;
  /** GOAWAY: last stream id, reserved bit cleared. Debug data is `buf[payloadStart + 8, payloadEnd)`. */
  lastStreamId = 0;
  /** WINDOW_UPDATE: the increment, reserved bit cleared; never 0 unless `streamError` is set. */
  windowIncrement = 0;
  /** PUSH_PROMISE: the promised stream id, reserved bit cleared. */
  promisedStreamId = 0;
  /** SETTINGS: number of (id, value) pairs; 0 for an ACK. */
  settingsCount = 0;

  /**
   * @param maxFrameSize our SETTINGS_MAX_FRAME_SIZE, in [2^14, 2^24 - 1]
   * @throws {RangeError} when `maxFrameSize` is out of range
   */
  constructor(maxFrameSize: number = DEFAULT_MAX_FRAME_SIZE) {
    if (
      !Number.isInteger(maxFrameSize) || maxFrameSize < DEFAULT_MAX_FRAME_SIZE ||
      maxFrameSize > MAX_ALLOWED_FRAME_SIZE
    ) {
      throw new RangeError(
        `Cannot create FrameParser: maxFrameSize ${maxFrameSize} is outside [16384, 16777215]`,
      );
    }
    this.maxFrameSize = maxFrameSize;
  }

  /** SETTINGS: the id of pair `i` (RFC 9113 §6.5.1: 16-bit id, 32-bit value). */
  readSettingId(i: number): number {
    const b = this.buf, p = this.payloadStart + 6 * i;
    return (b[p] << 8) | b[p + 1];
  }

  /** SETTINGS: the value of pair `i`, unsigned 32-bit. */
  readSettingValue(i: number): number {
    const b = this.buf, p = this.payloadStart + 6 * i + 2;
    return b[p] * 0x1000000 + ((b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]);
  }

  /**
   * Parses the frame starting at `buf[pos]`.
   * @param buf the read buffer
   * @param pos offset of the frame header
   * @param end end of the valid bytes in `buf`
   * @returns the offset just after the frame, or -1 when `buf[pos, end)` holds no complete frame
   * @throws {ConnectionError} on a connection error (RFC 9113 §5.4.1); the caller sends GOAWAY
   */
  next(buf: Uint8Array, pos: number, end: number): number {
    this.streamError = 0;
    this.errorCode = 0;
    this.lastStreamId = 0;
    this.windowIncrement = 0;
    this.promisedStreamId = 0;
    this.settingsCount = 0;

    if (end - pos < 9) return -1;
    const length = (buf[pos] << 16) | (buf[pos + 1] << 8) | buf[pos + 2];
    // §4.2: a frame larger than our SETTINGS_MAX_FRAME_SIZE is a FRAME_SIZE_ERROR. Checked on the
    // header alone, so a peer cannot make us buffer 16 MiB before we notice. We always make it a
    // connection error: we cannot skip the frame without buffering it, and it may carry a field
    // block (HEADERS, CONTINUATION), which §4.2 says must be a connection error.
    if (length > this.maxFrameSize) {
      throw connError(
        FRAME_SIZE_ERROR,
        `length ${length} exceeds SETTINGS_MAX_FRAME_SIZE ${this.maxFrameSize}`,
      );
    }
    const frameEnd = pos + 9 + length;
    if (frameEnd > end) return -1;

    const type = buf[pos + 3];
    const flags = buf[pos + 4];
    const streamId = ((buf[pos + 5] & 0x7f) << 24) | (buf[pos + 6] << 16) | (buf[pos + 7] << 8) |
      buf[pos + 8];
    const start = pos + 9;
    this.type = type;
    this.flags = flags;
    this.streamId = streamId;
    this.length = length;
    this.buf = buf;
    this.payloadStart = start;
    this.payloadEnd = frameEnd;

    switch (type) {
      case DATA:
        // §6.1: DATA on stream 0 is a connection PROTOCOL_ERROR.
        if (streamId === 0) throw connError(PROTOCOL_ERROR, "DATA on stream 0");
        if ((flags & FLAG_PADDED) !== 0) this.#unpad(buf, start, frameEnd, 0, "DATA");
        break;

      case HEADERS:
        // §6.2: HEADERS on stream 0 is a connection PROTOCOL_ERROR.
        if (streamId === 0) throw connError(PROTOCOL_ERROR, "HEADERS on stream 0");
        if ((flags & (FLAG_PADDED | FLAG_PRIORITY)) !== 0) {
          this.#headersFields(buf, start, frameEnd);
        }
        break;

      case PRIORITY:
        // §6.3: PRIORITY on stream 0 is a connection PROTOCOL_ERROR; a length other than 5 is a
        // *stream* error FRAME_SIZE_ERROR.
        if (streamId === 0) throw connError(PROTOCOL_ERROR, "PRIORITY on stream 0");
        if (length !== 5) {
          this.streamError = FRAME_SIZE_ERROR;
        } else if (readU31(buf, start) === streamId) {
          // §5.3.1: a stream cannot depend on itself: stream error PROTOCOL_ERROR.
          this.streamError = PROTOCOL_ERROR;
        }
        break;

      case RST_STREAM:
        // §6.4: stream 0 → connection PROTOCOL_ERROR; length other than 4 → connection
        // FRAME_SIZE_ERROR.
        if (streamId === 0) throw connError(PROTOCOL_ERROR, "RST_STREAM on stream 0");
        if (length !== 4) {
          throw connError(FRAME_SIZE_ERROR, `RST_STREAM of length ${length}, want 4`);
        }
        this.errorCode = readU32(buf, start);
        break;

      case SETTINGS:
        this.#settings(buf, start, flags, streamId, length);
        break;

      case PUSH_PROMISE:
        // §6.6: stream 0 → connection PROTOCOL_ERROR. Whether push is allowed at all (only to a
        // client that left SETTINGS_ENABLE_PUSH on) is the connection's rule (§8.4).
        if (streamId === 0) throw connError(PROTOCOL_ERROR, "PUSH_PROMISE on stream 0");
        this.#pushPromiseFields(buf, start, frameEnd, flags);
        break;

      case PING:
        // §6.7: stream ≠ 0 → connection PROTOCOL_ERROR; length ≠ 8 → connection FRAME_SIZE_ERROR.
        if (streamId !== 0) throw connError(PROTOCOL_ERROR, `PING on stream ${streamId}`);
        if (length !== 8) throw connError(FRAME_SIZE_ERROR, `PING of length ${length}, want 8`);
        break;

      case GOAWAY:
        // §6.8: stream ≠ 0 → connection PROTOCOL_ERROR. Last-Stream-ID (31) + Error Code (32) are
        // mandatory, so a payload under 8 octets is a FRAME_SIZE_ERROR (§4.2: too small to
        // contain mandatory frame data; connection error as it concerns stream 0).
        if (streamId !== 0) throw connError(PROTOCOL_ERROR, `GOAWAY on stream ${streamId}`);
        if (length < 8) {
          throw connError(FRAME_SIZE_ERROR, `GOAWAY of length ${length}, want at least 8`);
        }
        this.lastStreamId = readU31(buf, start);
        this.errorCode = readU32(buf, start + 4);
        break;

      case WINDOW_UPDATE: {
        // §6.9: length ≠ 4 → connection FRAME_SIZE_ERROR. An increment of 0 is a PROTOCOL_ERROR:
        // a connection error on stream 0, a stream error otherwise.
        if (length !== 4) {
          throw connError(FRAME_SIZE_ERROR, `WINDOW_UPDATE of length ${length}, want 4`);
        }
        const inc = readU31(buf, start);
        if (inc === 0) {
          if (streamId === 0) {
            throw connError(PROTOCOL_ERROR, "WINDOW_UPDATE with increment 0 on stream 0");
          }
          this.streamError = PROTOCOL_ERROR;
        }
        this.windowIncrement = inc;
        break;
      }

      case CONTINUATION:
        // §6.10: CONTINUATION on stream 0 is a connection PROTOCOL_ERROR.
        if (streamId === 0) throw connError(PROTOCOL_ERROR, "CONTINUATION on stream 0");
        break;

      default:
        // §4.1, §5.5: unknown frame types must be ignored; returned for the caller to skip.
        break;
    }
    return frameEnd;
  }

  // DATA (§6.1) and the padding part of HEADERS / PUSH_PROMISE:
  //   +---------------+-----------------------------------------------+
  //   |Pad Length? (8)| Data / fixed fields / fragment (*) | Padding (*) ...
  //   +---------------+-----------------------------------------------+
  // `fixed` is the number of mandatory octets after Pad Length (0 for DATA).
  #unpad(buf: Uint8Array, start: number, end: number, fixed: number, name: string): void {
    // §4.2: a frame too small for its mandatory fields (here the Pad Length octet) is a
    // FRAME_SIZE_ERROR. For DATA §4.2 would allow a stream error; we make it a connection error,
    // since the frame still counts against flow control (§6.9) and only a broken or hostile peer
    // sends it.
    if (end - start < 1 + fixed) {
      throw connError(FRAME_SIZE_ERROR, `${name} with PADDED flag has length ${end - start}`);
    }
    const padLength = buf[start];
    // §6.1: "If the length of the padding is the length of the frame payload or greater, the
    // recipient MUST treat this as a connection error of type PROTOCOL_ERROR." (§6.2, §6.6: the
    // same for padding that exceeds what remains for the field block fragment.) Equivalently: the
    // padding must fit in what follows the Pad Length octet and the fixed fields.
    if (padLength > end - start - 1 - fixed) {
      throw connError(
        PROTOCOL_ERROR,
        `${name} pad length ${padLength} exceeds the ${end - start - 1 - fixed} octets available`,
      );
    }
    this.payloadStart = start + 1;
    this.payloadEnd = end - padLength;
  }

  // HEADERS (§6.2):
  //   +---------------+
  //   |Pad Length? (8)|
  //   +-+-------------+-----------------------------------------------+
  //   |E|                 Stream Dependency? (31)                     |
  //   +-+-------------+-----------------------------------------------+
  //   |  Weight? (8)  |
  //   +-+-------------+-----------------------------------------------+
  //   |                   Field Block Fragment (*)                ...
  //   +---------------------------------------------------------------+
  //   |                           Padding (*)                       ...
  //   +---------------------------------------------------------------+
  #headersFields(buf: Uint8Array, start: number, end: number): void {
    const flags = this.flags;
    const fixed = (flags & FLAG_PRIORITY) !== 0 ? 5 : 0;
    if ((flags & FLAG_PADDED) !== 0) {
      this.#unpad(buf, start, end, fixed, "HEADERS");
    } else if (end - start < fixed) {
      // §4.2: too small for the priority fields: FRAME_SIZE_ERROR, a connection error because
      // HEADERS carries a field block (§4.2).
      throw connError(FRAME_SIZE_ERROR, `HEADERS with PRIORITY flag has length ${end - start}`);
    }
    if (fixed !== 0) {
      const p = this.payloadStart;
      // §5.3.1: a stream cannot depend on itself: stream error PROTOCOL_ERROR. (The priority
      // scheme itself is deprecated by RFC 9113 §5.3.2; the fields are otherwise ignored.)
      if (readU31(buf, p) === this.streamId) this.streamError = PROTOCOL_ERROR;
      this.payloadStart = p + 5;
    }
  }

  // PUSH_PROMISE (§6.6):
  //   +---------------+
  //   |Pad Length? (8)|
  //   +-+-------------+-----------------------------------------------+
  //   |R|                  Promised Stream ID (31)                    |
  //   +-+-----------------------------+-------------------------------+
  //   |                   Field Block Fragment (*)                ...
  //   +---------------------------------------------------------------+
  //   |                           Padding (*)                       ...
  //   +---------------------------------------------------------------+
  #pushPromiseFields(buf: Uint8Array, start: number, end: number, flags: number): void {
    if ((flags & FLAG_PADDED) !== 0) {
      this.#unpad(buf, start, end, 4, "PUSH_PROMISE");
    } else if (end - start < 4) {
      // §4.2: too small for the Promised Stream ID: FRAME_SIZE_ERROR, a connection error because
      // PUSH_PROMISE carries a field block.
      throw connError(FRAME_SIZE_ERROR, `PUSH_PROMISE of length ${end - start}, want at least 4`);
    }
    const p = this.payloadStart;
    this.promisedStreamId = readU31(buf, p);
    this.payloadStart = p + 4;
  }

  // SETTINGS (§6.5): zero or more of
  //   +-------------------------------+
  //   |       Identifier (16)         |
  //   +-------------------------------+-------------------------------+
  //   |                        Value (32)                             |
  //   +---------------------------------------------------------------+
  #settings(
    buf: Uint8Array,
    start: number,
    flags: number,
    streamId: number,
    length: number,
  ): void {
    // §6.5: stream ≠ 0 → connection PROTOCOL_ERROR; ACK with a payload → connection
    // FRAME_SIZE_ERROR; length not a multiple of 6 → connection FRAME_SIZE_ERROR.
    if (streamId !== 0) throw connError(PROTOCOL_ERROR, `SETTINGS on stream ${streamId}`);
    if ((flags & FLAG_ACK) !== 0) {
      if (length !== 0) throw connError(FRAME_SIZE_ERROR, `SETTINGS ACK of length ${length}`);
      return;
    }
    if (length % 6 !== 0) {
      throw connError(FRAME_SIZE_ERROR, `SETTINGS of length ${length}, not a multiple of 6`);
    }
    const count = length / 6;
    for (let p = start, i = 0; i < count; i++, p += 6) {
      const id = (buf[p] << 8) | buf[p + 1];
      const value = buf[p + 2] * 0x1000000 + ((buf[p + 3] << 16) | (buf[p + 4] << 8) | buf[p + 5]);
      switch (id) {
        case 0x2: // ENABLE_PUSH (§6.5.2): 0 or 1, else connection PROTOCOL_ERROR.
          if (value > 1) {
            throw connError(PROTOCOL_ERROR, `SETTINGS_ENABLE_PUSH ${value}, want 0 or 1`);
          }
          break;
        case 0x4: // INITIAL_WINDOW_SIZE (§6.5.2): above 2^31-1 → connection FLOW_CONTROL_ERROR.
          if (value > MAX_WINDOW) {
            throw connError(
              FLOW_CONTROL_ERROR,
              `SETTINGS_INITIAL_WINDOW_SIZE ${value} exceeds ${MAX_WINDOW}`,
            );
          }
          break;
        case 0x5: // MAX_FRAME_SIZE (§6.5.2): outside [2^14, 2^24-1] → connection PROTOCOL_ERROR.
          if (value < DEFAULT_MAX_FRAME_SIZE || value > MAX_ALLOWED_FRAME_SIZE) {
            throw connError(
              PROTOCOL_ERROR,
              `SETTINGS_MAX_FRAME_SIZE ${value} is outside [16384, 16777215]`,
            );
          }
          break;
        default:
          // HEADER_TABLE_SIZE, MAX_CONCURRENT_STREAMS, MAX_HEADER_LIST_SIZE take any value;
          // unknown ids must be ignored (§6.5.2).
          break;
      }
    }
    this.settingsCount = count;
  }
}

/** A 31-bit big-endian value at `p`, reserved (top) bit cleared. */
function readU31(b: Uint8Array, p: number): number {
  return ((b[p] & 0x7f) << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3];
}

/** An unsigned 32-bit big-endian value at `p`. */
function readU32(b: Uint8Array, p: number): number {
  return b[p] * 0x1000000 + ((b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]);
}
