// Checking option values, for both sides and in one wording ("Cannot create server: …"): sizes
// and counts (integers in a range), durations, encodings, and the flow-control windows with
// grpc-go's rule that a window under 64 KiB is ignored.

import { type Compressor, getCompressor } from "../compression.ts";
import { DEFAULT_WINDOW_SIZE } from "../transport/defaults.ts";

/** The largest int32: grpc-go's bound for sizes and windows. */
export const MAX_INT32 = 2 ** 31 - 1;

/**
 * `v`, an integer in [`min`, `max`], or `def` when unset.
 * @throws {RangeError} "`context`: `name` must be an integer in [min, max], got `v`".
 */
export function checkInt(
  context: string,
  name: string,
  v: number | undefined,
  def: number,
  min = 0,
  max = MAX_INT32,
): number {
  if (v === undefined) return def;
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
    throw new RangeError(`${context}: ${name} must be an integer in [${min}, ${max}], got ${v}`);
  }
  return v;
}

/**
 * `v`, a finite number >= 0 (a duration in ms, a factor), or `def` when unset.
 * @throws {RangeError} When `v` is negative, NaN or infinite.
 */
export function checkNonNegative(
  context: string,
  name: string,
  v: number | undefined,
  def: number,
): number {
  if (v === undefined) return def;
  if (typeof v !== "number" || !(v >= 0) || v === Infinity) {
    throw new RangeError(`${context}: ${name} must be a finite number >= 0, got ${v}`);
  }
  return v;
}

/**
 * `v`, a duration in ms > 0 that may be `Infinity` (none, grpc-go's infinity), or `def` when
 * unset: the keepalive and connection-lifetime options.
 * @throws {RangeError} When `v` is 0, negative or NaN.
 */
export function checkPositiveMs(
  context: string,
  name: string,
  v: number | undefined,
  def: number,
): number {
  if (v === undefined) return def;
  if (typeof v !== "number" || !(v > 0)) {
    throw new RangeError(`${context}: ${name} must be > 0 ms or Infinity, got ${v}`);
  }
  return v;
}

/**
 * The compressor of encoding `name`; `undefined` for none (unset or `"identity"`).
 * @throws {RangeError} When no compressor is registered under `name`.
 */
export function checkCompression(
  context: string,
  name: string | undefined,
): Compressor | undefined {
  if (name === undefined || name === "identity") return undefined;
  const c = getCompressor(name);
  if (c === undefined) {
    throw new RangeError(`${context}: unknown compression ${JSON.stringify(name)}`);
  }
  return c;
}

/** Flow-control windows as the transport takes them. */
export interface Windows {
  /** Our stream receive window. */
  initialWindowSize: number;
  /** Our connection receive window. */
  initialConnWindowSize: number;
  /** Whether BDP estimation may grow them: true unless a window was set. */
  dynamicWindow: boolean;
}

/**
 * The windows from the options: a window of 64 KiB (65535) or more is used as given and turns
 * BDP estimation off; a smaller one is ignored, as grpc-go's InitialWindowSize and
 * InitialConnWindowSize say ("any value smaller than that will be ignored"), on both sides.
 * @throws {RangeError} When a window is not an integer in [0, 2^31-1].
 */
export function checkWindows(
  context: string,
  stream: number | undefined,
  conn: number | undefined,
): Windows {
  let win = checkInt(context, "initialWindowSize", stream, 0);
  let connWin = checkInt(context, "initialConnWindowSize", conn, 0);
  if (win < DEFAULT_WINDOW_SIZE) win = 0;
  if (connWin < DEFAULT_WINDOW_SIZE) connWin = 0;
  return {
    initialWindowSize: win || DEFAULT_WINDOW_SIZE,
    initialConnWindowSize: connWin || DEFAULT_WINDOW_SIZE,
    dynamicWindow: win === 0 && connWin === 0,
  };
}
