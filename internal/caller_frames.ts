// A call's error is made where the call fails: in the connection's read loop, a timer, the
// transport. Its stack then holds only library frames, and users cannot find the line that made
// the call. Called in a catch block of an async function on the caller's side, withCallerFrames
// appends the frames of the async functions awaiting it (V8's async stack trace: the user's
// function is among them), once per error. Only errors pay for it; a call that succeeds, nothing.

const extended = new WeakSet<object>();

/** `err`, its stack extended with the async frames awaiting the caller; for `throw`. */
export function withCallerFrames(err: unknown): unknown {
  if (!(err instanceof Error) || extended.has(err)) return err;
  extended.add(err);
  const here: { stack?: string } = {};
  Error.captureStackTrace(here, withCallerFrames);
  const frames = here.stack?.slice(here.stack.indexOf("\n") + 1);
  if (frames && typeof err.stack === "string") {
    try {
      err.stack = `${err.stack}\n${frames}`;
    } catch {
      // a frozen error keeps its stack
    }
  }
  return err;
}
