import { assert, assertEquals, assertRejects, assertStrictEquals } from "@std/assert";
import {
  ACCEPT_BACKOFF_MAX_MS,
  ACCEPT_BACKOFF_START_MS,
  acceptLoop,
  type Acceptor,
  type DelayFn,
  isTemporaryAcceptError,
} from "./accept_loop.ts";
import { OnceEvent } from "./event.ts";

/** A connection handed out by {@linkcode FakeListener}. */
class FakeConn {
  readonly id: number;
  closed = false;
  constructor(id: number) {
    this.id = id;
  }
  close(): void {
    this.closed = true;
  }
}

/** One scripted result of accept(): a connection, or an error to throw. */
type Step = { conn: FakeConn } | { error: unknown } | { run: () => Step };

/**
 * Plays `script` one step per accept(); once it is used up, accept() waits until close(), then
 * rejects with BadResource, as a closed Deno.Listener does.
 */
class FakeListener implements Acceptor<FakeConn> {
  readonly #script: Step[];
  accepts = 0;
  #closed = false;
  #wake: (() => void) | undefined;

  constructor(script: Step[]) {
    this.#script = script;
  }

  accept(): Promise<FakeConn> {
    this.accepts++;
    let step = this.#script.shift();
    while (step !== undefined && "run" in step) step = step.run();
    if (step === undefined) {
      if (this.#closed) return Promise.reject(new Deno.errors.BadResource("Listener closed"));
      return new Promise((_, reject) => {
        this.#wake = () => reject(new Deno.errors.BadResource("Listener closed"));
      });
    }
    if ("error" in step) return Promise.reject(step.error);
    return Promise.resolve(step.conn);
  }

  close(): void {
    this.#closed = true;
    this.#wake?.();
  }
}

function emfile(): Error {
  return Object.assign(new Error("Too many open files (os error 24)"), { code: "EMFILE" });
}

/** Lets microtasks run until `pred()` holds; throws after `turns` of them (no timers involved). */
async function spin(pred: () => boolean, what: string, turns = 10_000): Promise<void> {
  for (let i = 0; i < turns; i++) {
    if (pred()) return;
    await Promise.resolve();
  }
  throw new Error(`Timed out waiting for ${what}`);
}

/** A delay that records each wait and returns at once. */
function recordingDelay(): { delays: number[]; delay: DelayFn } {
  const delays: number[] = [];
  return { delays, delay: (ms) => (delays.push(ms), Promise.resolve()) };
}

Deno.test("acceptLoop() backs off 5 ms, doubling to 1 s, and resets after a good accept", async () => {
  const temp = (): Step => ({ error: emfile() });
  const conn = new FakeConn(1);
  const listener = new FakeListener([
    ...Array.from({ length: 10 }, temp),
    { conn },
    temp(),
    temp(),
    temp(),
  ]);
  const { delays, delay } = recordingDelay();
  const handled: FakeConn[] = [];
  const quit = new OnceEvent();
  const loop = acceptLoop(listener, (c) => handled.push(c), quit, delay);
  // Let the loop run through the script, to the accept() that waits for close().
  await spin(() => listener.accepts === 15, "the 15th accept()");
  assertEquals(delays, [5, 10, 20, 40, 80, 160, 320, 640, 1000, 1000, 5, 10, 20]);
  assertEquals(delays[0], ACCEPT_BACKOFF_START_MS);
  assertEquals(Math.max(...delays), ACCEPT_BACKOFF_MAX_MS);
  assertEquals(handled, [conn]);
  assert(!conn.closed);
  quit.fire();
  listener.close();
  await loop;
});

Deno.test("acceptLoop() treats ConnectionAborted and ConnectionReset as temporary", async () => {
  const a = new FakeConn(1);
  const listener = new FakeListener([
    { error: new Deno.errors.ConnectionAborted("aborted") },
    { error: new Deno.errors.ConnectionReset("reset") },
    { conn: a },
  ]);
  const { delays, delay } = recordingDelay();
  const handled: FakeConn[] = [];
  const quit = new OnceEvent();
  const loop = acceptLoop(listener, (c) => handled.push(c), quit, delay);
  await spin(() => listener.accepts === 4, "the 4th accept()");
  assertEquals(delays, [5, 10]);
  assertEquals(handled, [a]);
  quit.fire();
  listener.close();
  await loop;
});

Deno.test("acceptLoop() ends a pending backoff delay at once when quit fires", async () => {
  const listener = new FakeListener([{ error: emfile() }]);
  const quit = new OnceEvent();
  let waiting: number | undefined;
  // A delay that never ends by itself: only quit's signal can end it.
  const delay: DelayFn = (ms, { signal }) => {
    waiting = ms;
    return new Promise((_, reject) => {
      signal.addEventListener("abort", () => reject(signal.reason), { once: true });
    });
  };
  const loop = acceptLoop(listener, () => {}, quit, delay);
  await spin(() => waiting !== undefined, "the backoff delay");
  assertEquals(waiting, 5);
  quit.fire();
  await loop; // resolves: quit fired during the delay
  assertEquals(listener.accepts, 1, "no accept() after quit");
});

Deno.test("acceptLoop() rejects with a non-temporary accept error", async () => {
  const boom = new Error("boom");
  const listener = new FakeListener([{ error: emfile() }, { error: boom }]);
  const { delays, delay } = recordingDelay();
  const quit = new OnceEvent();
  const err = await assertRejects(() => acceptLoop(listener, () => {}, quit, delay));
  assertStrictEquals(err, boom);
  assertEquals(delays, [5]);
});

Deno.test("acceptLoop() resolves on an accept error once quit has fired", async () => {
  const quit = new OnceEvent();
  // stop() fires quit, then closes the listener: the pending accept() fails with BadResource.
  const listener = new FakeListener([{
    run: () => {
      quit.fire();
      return { error: new Deno.errors.BadResource("Listener closed") };
    },
  }]);
  const { delays, delay } = recordingDelay();
  await acceptLoop(listener, () => {}, quit, delay);
  assertEquals(delays, []);
  assertEquals(listener.accepts, 1);
});

Deno.test("acceptLoop() closes a connection accepted after quit fired, unhandled", async () => {
  const quit = new OnceEvent();
  const late = new FakeConn(2);
  const listener = new FakeListener([{
    run: () => {
      quit.fire();
      return { conn: late };
    },
  }]);
  const handled: FakeConn[] = [];
  await acceptLoop(listener, (c) => handled.push(c), quit, recordingDelay().delay);
  assert(late.closed);
  assertEquals(handled, []);
});

Deno.test("acceptLoop() returns at once when quit fired before it started", async () => {
  const quit = new OnceEvent();
  quit.fire();
  const listener = new FakeListener([{ conn: new FakeConn(1) }]);
  await acceptLoop(listener, () => {}, quit, recordingDelay().delay);
  assertEquals(listener.accepts, 0);
});

Deno.test("acceptLoop() with the default delay: a temporary error, then a connection", async () => {
  const conn = new FakeConn(1);
  const listener = new FakeListener([{ error: emfile() }, { conn }]);
  const quit = new OnceEvent();
  const handled: FakeConn[] = [];
  const loop = acceptLoop(listener, (c) => handled.push(c), quit);
  for (let i = 0; handled.length === 0; i++) {
    if (i === 5000) throw new Error("Timed out waiting for the connection after the backoff");
    await new Promise((r) => setTimeout(r, 1));
  }
  assertEquals(handled, [conn]);
  quit.fire();
  listener.close();
  await loop;
});

Deno.test("isTemporaryAcceptError() sorts accept errors as grpc-go's Temporary() does", () => {
  assert(isTemporaryAcceptError(emfile()));
  assert(isTemporaryAcceptError(Object.assign(new Error("x"), { code: "ENFILE" })));
  assert(isTemporaryAcceptError(new Error("Too many open files (os error 24)")));
  assert(isTemporaryAcceptError(new Deno.errors.ConnectionAborted("x")));
  assert(isTemporaryAcceptError(new Deno.errors.ConnectionReset("x")));
  assert(isTemporaryAcceptError(new Deno.errors.Interrupted("x")));
  assert(isTemporaryAcceptError(new Deno.errors.WouldBlock("x")));
  assert(!isTemporaryAcceptError(new Deno.errors.BadResource("closed")));
  assert(!isTemporaryAcceptError(new Error("boom")));
  assert(!isTemporaryAcceptError(new TypeError("not a listener")));
  assert(!isTemporaryAcceptError(undefined));
  assert(!isTemporaryAcceptError("EMFILE"));
});
