// The grpc-timeout header (PROTOCOL-HTTP2.md):
//   Timeout      → "grpc-timeout" TimeoutValue TimeoutUnit
//   TimeoutValue → {positive integer as ASCII string of at most 8 digits}
//   TimeoutUnit  → "H" / "M" / "S" / "m" / "u" / "n"
// grpc-go: encodeTimeout / decodeTimeout in internal/transport/http_util.go.

/** The largest TimeoutValue: 8 digits. grpc-go: maxTimeoutValue. */
export const MAX_TIMEOUT_VALUE = 99_999_999;

/** The longest timeout the header can carry, in ms: 99999999 hours (about 11,400 years). */
export const MAX_TIMEOUT_MS: number = MAX_TIMEOUT_VALUE * 3_600_000;

// Units from finest to coarsest, with their length in ms.
const UNITS = ["n", "u", "m", "S", "M", "H"] as const;
const UNIT_MS = [1e-6, 1e-3, 1, 1_000, 60_000, 3_600_000] as const;

/**
 * Encodes a timeout in ms as a grpc-timeout value: the finest unit whose value fits in 8 digits,
 * rounded up so the peer never gets less time than we allow.
 *
 * - ms <= 0 (a deadline already past) gives "0n", as grpc-go does; the server then fails the
 *   call with DEADLINE_EXCEEDED at once.
 * - The ms value is first taken to the nearest nanosecond, so binary fractions such as
 *   0.1 ms (100000.00000000001 ns) do not round up to an extra unit.
 * - Timeouts above MAX_TIMEOUT_MS are capped at "99999999H".
 *
 * Throws RangeError for NaN; Infinity means "no deadline", which is sent as no header at all,
 * so it is refused too.
 */
export function encodeTimeout(ms: number): string {
  if (!(ms < Infinity)) {
    throw new RangeError(`Cannot encode grpc-timeout: ms must be finite, got ${ms}`);
  }
  if (ms <= 0) return "0n";
  // Nanoseconds and microseconds: via whole nanoseconds (exact for ms below 100 000).
  if (ms < 100_000) {
    const ns = Math.round(ms * 1e6);
    if (ns === 0) return "1n"; // below half a nanosecond, still positive: round up
    if (ns <= MAX_TIMEOUT_VALUE) return ns + "n";
    const us = Math.ceil(ns / 1_000);
    if (us <= MAX_TIMEOUT_VALUE) return us + "u";
  }
  for (let i = 2; i < UNITS.length; i++) {
    const value = Math.ceil(ms / UNIT_MS[i]);
    if (value <= MAX_TIMEOUT_VALUE) return value + UNITS[i];
  }
  return MAX_TIMEOUT_VALUE + "H";
}

/**
 * Decodes a grpc-timeout value into ms (fractional below 1 ms). Returns undefined when malformed:
 * empty, no digits, more than 8 digits, anything but ASCII digits before the unit (no sign, no
 * dot, no spaces), or an unknown unit. grpc-go rejects the same and fails the stream.
 */
export function decodeTimeout(value: string): number | undefined {
  const n = value.length;
  if (n < 2 || n > 9) return undefined;
  let v = 0;
  for (let i = 0; i < n - 1; i++) {
    const d = value.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) return undefined;
    v = v * 10 + d;
  }
  switch (value.charCodeAt(n - 1)) {
    case 0x6e: // n
      return v / 1e6;
    case 0x75: // u
      return v / 1e3;
    case 0x6d: // m
      return v;
    case 0x53: // S
      return v * 1_000;
    case 0x4d: // M
      return v * 60_000;
    case 0x48: // H
      return v * 3_600_000;
    default:
      return undefined;
  }
}
