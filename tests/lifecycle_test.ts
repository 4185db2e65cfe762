// How calls end, on our own client and server over loopback (issue 13): a status the server
// cannot send still ends the call; a call cancelled while it waits for a MAX_CONCURRENT_STREAMS
// slot never opens a stream; the client stops sending once the server ended the call; the
// server checks maxSendMessageSize after compression.
//
// Every call here has a deadline far longer than the test needs (SAFETY): it is a safety net,
// so a call the bug leaves open fails the test instead of hanging it.

import { assert, assertEquals, assertInstanceOf, assertRejects } from "@std/assert";
import {
  type CallOptions,
  Code,
  createClient,
  dial,
  loadProto,
  type Metadata,
  Server,
  type ServerContext,
  type ServerOptions,
  StatusError,
} from "@seed/grpc";
import { until } from "../transport/_testing.ts";

const SAFETY: CallOptions = { timeoutMs: 20_000 };

const services = await loadProto({
  source: `syntax = "proto3"; package l;
    service L {
      rpc Unary (M) returns (M);
      rpc Upload (stream M) returns (M);
      rpc Chat (stream M) returns (stream M);
    }
    message M { string text = 1; bytes body = 2; }`,
});
const L = services["l.L"];

interface M {
  text?: string;
  body?: Uint8Array;
}

interface LClient {
  unary(m: M, o?: CallOptions): Promise<M>;
  upload(ms: Iterable<M> | AsyncIterable<M>, o?: CallOptions): Promise<M>;
  chat(ms: Iterable<M> | AsyncIterable<M>, o?: CallOptions): AsyncIterable<M>;
}

type Impl = Parameters<Server["addService"]>[1];

async function withServer(
  opts: ServerOptions,
  impl: Impl,
  fn: (client: LClient, server: Server, port: number) => Promise<void>,
): Promise<void> {
  const server = new Server(opts);
  server.addService(L, impl);
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const serving = server.serve(listener);
  try {
    const conn = await dial(`127.0.0.1:${listener.addr.port}`, { block: true });
    try {
      await fn(createClient<LClient>(L, conn), server, listener.addr.port);
    } finally {
      await conn.close();
    }
  } finally {
    await server.stop();
    await serving;
  }
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

async function statusOf(p: Promise<unknown>): Promise<StatusError> {
  const err = await assertRejects(() => p);
  assertInstanceOf(err, StatusError);
  return err;
}

// --- a status that cannot be sent ------------------------------------------------------------

Deno.test("a StatusError with plain-object metadata reaches the client with its trailers", async () => {
  await withServer({}, {
    unary() {
      // As an untyped caller writes it (`deno run` does not type-check).
      throw new StatusError(Code.NotFound, "nope", { metadata: { "x-b": "2" } });
    },
  }, async (c) => {
    const err = await statusOf(c.unary({}, SAFETY));
    assertEquals([err.code, err.rawMessage], [Code.NotFound, "nope"]);
    assertEquals(err.metadata.get("x-b"), "2");
  });
});

Deno.test("ctx.setHeader, sendHeader and setTrailer take plain objects", async () => {
  let headers: Metadata | undefined;
  let trailers: Metadata | undefined;
  await withServer({}, {
    unary(m: M, ctx: ServerContext) {
      ctx.setHeader({ "x-h": "1" });
      ctx.setTrailer({ "x-t": ["a", "b"] });
      return m;
    },
    async *chat(ms: AsyncIterable<M>, ctx: ServerContext) {
      ctx.sendHeader({ "x-s": "2" });
      for await (const m of ms) yield m;
    },
  }, async (c) => {
    await c.unary({ text: "x" }, {
      ...SAFETY,
      onHeader: (h) => (headers = h),
      onTrailer: (t) => (trailers = t),
    });
    assertEquals(headers?.get("x-h"), "1");
    assertEquals(trailers?.getAll("x-t"), ["a", "b"]);
    let chatHeaders: Metadata | undefined;
    for await (
      const _ of c.chat([{ text: "y" }], { ...SAFETY, onHeader: (h) => (chatHeaders = h) })
    ) {
      // drain
    }
    assertEquals(chatHeaders?.get("x-s"), "2");
  });
});

Deno.test("a status that cannot be encoded ends the call INTERNAL, naming the cause; gracefulStop completes", async () => {
  await withServer({}, {
    unary(m: M) {
      if (m.text === "int32") {
        // google.rpc.Status.code is an int32: with details, 2^31 cannot be sent.
        throw new StatusError(2 ** 31 as Code, "too big", {
          details: [{ typeUrl: "type.googleapis.com/l.M", value: new Uint8Array([1]) }],
        });
      }
      const err = new StatusError(Code.NotFound, "broken trailers");
      Object.defineProperty(err, "metadata", { value: { "x-b": "2" } }); // not a Metadata
      throw err;
    },
  }, async (c, server) => {
    const err = await statusOf(c.unary({ text: "int32" }, SAFETY));
    assertEquals(err.code, Code.Internal, err.message);
    assert(err.rawMessage.includes("int32"), err.rawMessage);
    const err2 = await statusOf(c.unary({ text: "metadata" }, SAFETY));
    assertEquals(err2.code, Code.Internal, err2.message);
    assert(err2.rawMessage.includes("NOT_FOUND"), err2.rawMessage);
    // No stream was left open: a graceful stop finishes.
    await server.gracefulStop();
  });
});

// --- a call cancelled while it waits for a stream slot ----------------------------------------

Deno.test("calls cancelled while waiting for a MAX_CONCURRENT_STREAMS slot never open a stream", async () => {
  const WAITING = 300; // more than the server's rapid-reset budget (200 resets a second)
  let opened = 0;
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  await withServer({ maxConcurrentStreams: 1 }, {
    async *chat(ms: AsyncIterable<M>) {
      opened++;
      for await (const m of ms) {
        if (m.text === "hold") await gate;
        yield m;
      }
    },
  }, async (c) => {
    const held = c.chat([{ text: "hold" }], SAFETY)[Symbol.asyncIterator]();
    const first = held.next();
    await until(() => opened === 1, "the held call's handler");
    // Calls that queue for the slot, then are cancelled (half by their signal, half by their
    // deadline) before it frees up.
    const aborts: AbortController[] = [];
    const waiting: Promise<StatusError>[] = [];
    for (let i = 0; i < WAITING; i++) {
      const opts: CallOptions = { timeoutMs: 1 };
      if (i % 2 === 0) {
        const ac = new AbortController();
        aborts.push(ac);
        Object.assign(opts, { signal: ac.signal, timeoutMs: SAFETY.timeoutMs });
      }
      waiting.push(statusOf(collect(c.chat([{ text: `w${i}` }], opts))));
    }
    for (const ac of aborts) ac.abort();
    const codes = new Set((await Promise.all(waiting)).map((e) => e.code));
    assertEquals([...codes].sort(), [Code.Canceled, Code.DeadlineExceeded].sort());
    release();
    assertEquals((await first).value, { text: "hold", body: new Uint8Array() });
    await held.return?.();
    // The next call is the second stream the server ever sees, on the same connection (a reset
    // storm would have cost the connection: GOAWAY ENHANCE_YOUR_CALM).
    const out: M[] = [];
    for await (const m of c.chat([{ text: "after" }], SAFETY)) out.push(m);
    assertEquals(out.map((m) => m.text), ["after"]);
    assertEquals(opened, 2);
  });
});

// --- the client stops sending once the server ended the call ---------------------------------

/** A sync iterable of up to `limit` requests that counts what was taken and sees return(). */
function requests(limit: number) {
  const seen = { pulled: 0, returned: false };
  const body = new Uint8Array(1000);
  const iterable: Iterable<M> = {
    [Symbol.iterator]: () => ({
      next: () =>
        seen.pulled < limit ? { value: { text: `r${seen.pulled++}`, body }, done: false } : {
          value: undefined,
          done: true,
        },
      return: () => {
        seen.returned = true;
        return { value: undefined, done: true };
      },
    }),
  };
  return { iterable, seen };
}

// What the pump may still take after the server's answer: what flow control let through.
const LIMIT = 100_000;

Deno.test("client streaming: once the server answered, the request pump stops and return()s the iterable", async () => {
  await withServer({}, {
    async upload(ms: AsyncIterable<M>) {
      for await (const m of ms) return { text: `got ${m.text}` };
      return {};
    },
  }, async (c) => {
    const { iterable, seen } = requests(LIMIT);
    assertEquals((await c.upload(iterable, SAFETY)).text, "got r0");
    await until(() => seen.returned, "the iterable's return()");
    const pulled = seen.pulled;
    assert(pulled < LIMIT, `the pump took all ${pulled} requests`);
    await new Promise((r) => setTimeout(r, 0));
    assertEquals(seen.pulled, pulled);
  });
});

Deno.test("bidi: once the server ended the call, the request pump stops and return()s the iterable", async () => {
  await withServer({}, {
    async *chat(ms: AsyncIterable<M>) {
      for await (const m of ms) {
        yield m;
        return;
      }
    },
  }, async (c) => {
    const { iterable, seen } = requests(LIMIT);
    const out: M[] = [];
    for await (const m of c.chat(iterable, SAFETY)) out.push(m);
    assertEquals(out.map((m) => m.text), ["r0"]);
    await until(() => seen.returned, "the iterable's return()");
    assert(seen.pulled < LIMIT, `the pump took all ${seen.pulled} requests`);
  });
});

Deno.test("bidi: an async iterable waiting for its next request is closed when the call ends", async () => {
  let returned = false;
  const requests: AsyncIterable<M> = {
    [Symbol.asyncIterator]: () => {
      let first = true;
      return {
        next: () => {
          if (!first) return new Promise<IteratorResult<M>>(() => {}); // never produces
          first = false;
          return Promise.resolve({ value: { text: "only" }, done: false });
        },
        return: () => {
          returned = true;
          return Promise.resolve({ value: undefined, done: true });
        },
      };
    },
  };
  await withServer({}, {
    async *chat(ms: AsyncIterable<M>) {
      for await (const m of ms) {
        yield m;
        return;
      }
    },
  }, async (c) => {
    assertEquals((await collect(c.chat(requests, SAFETY))).map((m) => m.text), ["only"]);
    await until(() => returned, "the iterable's return()");
  });
});

Deno.test("sendMsg after the server ended the call rejects (grpc-go: io.EOF)", async () => {
  await withServer({}, {
    async upload(ms: AsyncIterable<M>) {
      for await (const m of ms) return { text: `got ${m.text}` };
      return {};
    },
  }, async (_c, _server, port) => {
    await using conn = await dial(`127.0.0.1:${port}`, { block: true });
    const s = conn.newStream(L.methods.upload, SAFETY);
    await s.sendMsg({ text: "one" });
    assertEquals((await s.recvMsg() as M).text, "got one");
    assertEquals(await s.recvMsg(), null);
    const err = await statusOf(s.sendMsg({ text: "two" }));
    assertEquals(err.code, Code.FailedPrecondition);
    assertEquals(err.rawMessage, "Cannot send message: the call has ended");
  });
});

// --- maxSendMessageSize after compression ----------------------------------------------------

Deno.test("server: maxSendMessageSize applies to the message as sent, after compression (grpc-go)", async () => {
  const random = crypto.getRandomValues(new Uint8Array(4096));
  await withServer({ maxSendMessageSize: 1024, compression: "gzip" }, {
    unary: (m: M) => ({ body: m.text === "random" ? random : new Uint8Array(4096) }),
  }, async (c) => {
    // 4 KiB of zeros gzip to far under 1 KiB: sent.
    assertEquals((await c.unary({ text: "zeros" }, SAFETY)).body?.length, 4096);
    // 4 KiB of noise stays over 1 KiB compressed: RESOURCE_EXHAUSTED.
    const err = await statusOf(c.unary({ text: "random" }, SAFETY));
    assertEquals(err.code, Code.ResourceExhausted);
  });
});
