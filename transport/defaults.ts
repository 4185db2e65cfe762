// Transport defaults, each once, after grpc-go's internal/transport/defaults.go and the HTTP/2
// initial values (RFC 9113 §6.5.2). Options documented in server/options.ts and
// client/options.ts point here.

/** RFC 9113 §6.9.2: initial stream and connection flow-control window. */
export const DEFAULT_WINDOW_SIZE = 65535;
/** grpc-go bdp_estimator.go bdpLimit: the BDP estimator grows windows up to 16 MiB. */
export const MAX_BDP_WINDOW = 16 * 1024 * 1024;
/** grpc-go http2MaxFrameLen: frames we accept and send. */
export const DEFAULT_MAX_FRAME_SIZE = 16384;
/** grpc-go defaultServerMaxHeaderListSize / defaultClientMaxHeaderListSize: 16 MiB. */
export const DEFAULT_MAX_HEADER_LIST_SIZE = 16 * 1024 * 1024;
/** Raw HEADERS+CONTINUATION bytes buffered for one block before decoding (CVE-2024-27316). */
export const DEFAULT_MAX_HEADER_BLOCK_SIZE = 1024 * 1024;
/** RFC 7541 default dynamic table size. */
export const DEFAULT_HEADER_TABLE_SIZE = 4096;
/** grpc-go defaultServerMaxReceiveMessageSize: 4 MiB. */
export const DEFAULT_MAX_RECEIVE_MESSAGE_SIZE = 4 * 1024 * 1024;
/** grpc-go defaultServerMaxSendMessageSize: math.MaxInt32. */
export const DEFAULT_MAX_SEND_MESSAGE_SIZE = 2 ** 31 - 1;
/** RFC 9113 §6.5.2: unlimited concurrent streams (what grpc-go advertises by default). */
export const UNLIMITED_STREAMS = 2 ** 32 - 1;
/** grpc-go's client opens a new transport before stream ids run out: 3/4 of 2^31-1. */
export const MAX_STREAM_ID = Math.floor((2 ** 31 - 1) * 0.75);
/** grpc-go maxQueuedTransportResponseFrames is 50; STYLE.md §10 names 100 for reads to pause. */
export const MAX_QUEUED_CONTROL_FRAMES = 100;
/** Unflushed bytes past which producers wait for the writer (write back-pressure). */
export const WRITE_HIGH_WATER_MARK = 1024 * 1024;
/** grpc-go: GracefulStop waits this long for the drain PING's ACK before the second GOAWAY. */
export const DRAIN_PING_TIMEOUT_MS = 5000;
/** Peer resets of streams it opened, per second, before GOAWAY ENHANCE_YOUR_CALM. */
export const MAX_RESETS_PER_SECOND = 200;
/** Empty DATA frames without END_STREAM tolerated in a burst before ENHANCE_YOUR_CALM. */
export const MAX_EMPTY_DATA_FRAMES = 1000;
/** How fast the empty-DATA allowance comes back (frames per second, a leaky bucket). */
export const EMPTY_DATA_FRAMES_PER_SECOND = 100;
/** CONTINUATION frames tolerated in one header block before ENHANCE_YOUR_CALM. */
export const MAX_CONTINUATION_FRAMES = 1000;
/** grpc-go keepalive.EnforcementPolicy defaults. */
export const KEEPALIVE_MIN_TIME_MS = 5 * 60 * 1000;
/** grpc-go maxPingStrikes. */
export const MAX_PING_STRIKES = 2;
/** Read buffer: starts small (idle connections stay cheap), doubles while reads fill it. */
export const INITIAL_READ_BUFFER_SIZE = 16 * 1024;
/** Read buffer cap (DENO-PLATFORM.md §1: 256 KiB–1 MiB reads are fastest for bulk data). */
export const MAX_READ_BUFFER_SIZE = 1024 * 1024;
/** RFC 9113 §6.9.1: the largest flow-control window. */
export const MAX_WINDOW = 2 ** 31 - 1;
/** How long a closing connection waits for its last frames (GOAWAY) to be written. */
export const CLOSE_FLUSH_TIMEOUT_MS = 1000;
/** grpc-go defaultServerKeepaliveTime: the server pings after 2 h without reads. */
export const SERVER_KEEPALIVE_TIME_MS = 2 * 60 * 60 * 1000;
/** grpc-go defaultServerKeepaliveTimeout / defaultClientKeepaliveTimeout: 20 s. */
export const KEEPALIVE_TIMEOUT_MS = 20_000;
/** grpc-go: a server keepalive time below 1 s is raised to 1 s. */
export const SERVER_KEEPALIVE_MIN_TIME_MS = 1000;
/** grpc-go (gRFC A8): a client keepalive time below 10 s is raised to 10 s. */
export const CLIENT_KEEPALIVE_MIN_TIME_MS = 10_000;
