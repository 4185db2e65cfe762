// Issue #13's attack over TCP (tests/flow_attack.ts): a peer that honours every window floods
// 100 KiB messages, split over DATA frames, into a stream nobody reads. The interop server runs
// in a child process (its RSS is its own); the mirror attack targets our client in-process.
// Before receive credit waited for the application, all three accepted 1 GiB and more.

import { assert, assertEquals } from "@std/assert";
import { attackClient, attackServer, rssOf } from "./flow_attack.ts";
import { startReady } from "./_procs.ts";

const MiB = 1 << 20;
const CAP = 64 * MiB; // a receiver without a bound takes all of it
const MAX_UNREAD = 32 * MiB;

for (const method of ["StreamingOutputCall", "FullDuplexCall"] as const) {
  Deno.test(`attack on the interop server's ${method} (handler alive, not reading): the windows shut, memory stays bounded`, async () => {
    await using server = await startReady(Deno.execPath(), [
      "run",
      "-A",
      new URL("./interop/server.ts", import.meta.url).pathname,
      "--port=0",
    ]);
    const before = rssOf(server.process.pid);
    const r = await attackServer(server.port, method, CAP);
    const growth = rssOf(server.process.pid) - before;
    assertEquals([r.rstCode, r.goawayCode], [-1, -1]);
    assert(r.stalled, `the server kept granting: ${r.accepted} bytes accepted`);
    assert(r.unread <= MAX_UNREAD, `${r.unread} bytes accepted into the unread stream`);
    assert(growth < 64 * MiB, `server RSS grew by ${growth} bytes`);
  });
}

Deno.test("mirror attack on our client (a for-await consumer that stalls): the windows shut", async () => {
  const r = await attackClient(CAP);
  assertEquals([r.rstCode, r.goawayCode], [-1, -1]);
  assert(r.stalled, `the client kept granting: ${r.accepted} bytes accepted`);
  assert(r.unread <= MAX_UNREAD, `${r.unread} bytes accepted into the unread stream`);
});
