// Client-side health checking (gRFC A17): a `grpc.health.v1.Health/Watch` stream per connected
// subchannel; the subchannel counts as READY only while the server says SERVING. grpc-go:
// health/client.go (clientHealthCheck), with the two messages of grpc/health/v1/health.proto
// encoded by hand (one field each).

import { Code, StatusError } from "../status.ts";
import { backoffDelay } from "../internal/backoff.ts";
import { type ClientTransport, statusFromTrailers } from "../transport/http2_client.ts";

/** The Watch method's path. */
export const HEALTH_WATCH_PATH = "/grpc.health.v1.Health/Watch";

/** HealthCheckResponse.ServingStatus. */
export const ServingStatus = { Unknown: 0, Serving: 1, NotServing: 2, ServiceUnknown: 3 } as const;

const encoder = new TextEncoder();

/** HealthCheckRequest { string service = 1; } */
export function encodeHealthCheckRequest(service: string): Uint8Array {
  const name = encoder.encode(service);
  const out: number[] = [];
  if (name.length > 0) {
    out.push(0x0a);
    for (let n = name.length;; n >>>= 7) {
      if (n < 0x80) {
        out.push(n);
        break;
      }
      out.push((n & 0x7f) | 0x80);
    }
  }
  const b = new Uint8Array(out.length + name.length);
  b.set(out);
  b.set(name, out.length);
  return b;
}

/** HealthCheckResponse { ServingStatus status = 1; }: the status, or -1 when malformed. */
export function decodeHealthCheckResponse(b: Uint8Array): number {
  let status: number = ServingStatus.Unknown;
  let i = 0;
  const varint = (): number => {
    let v = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      if (i >= b.length) return -1;
      const x = b[i++];
      v += (x & 0x7f) * 2 ** shift;
      if (x < 0x80) return v;
    }
    return -1;
  };
  while (i < b.length) {
    const tag = varint();
    if (tag < 0) return -1;
    const field = Math.floor(tag / 8), wire = tag & 7;
    if (wire === 0) {
      const v = varint();
      if (v < 0) return -1;
      if (field === 1) status = v;
    } else if (wire === 2) {
      const n = varint();
      if (n < 0 || i + n > b.length) return -1;
      i += n;
    } else if (wire === 1 || wire === 5) {
      i += wire === 1 ? 8 : 4;
      if (i > b.length) return -1;
    } else {
      return -1;
    }
  }
  return status;
}

/** What the health watch reports: healthy, or not (with why). */
export type HealthReport = { healthy: true } | { healthy: false; error: StatusError };

/**
 * Watches `service` on transport `t` until `signal` aborts or the transport closes, calling
 * `report` on each change. UNIMPLEMENTED (a server without the health service) counts as
 * healthy, as in grpc-go; other stream failures retry with backoff, reporting not healthy.
 */
export async function watchHealth(
  t: ClientTransport,
  headers: readonly string[],
  service: string,
  signal: AbortSignal,
  report: (r: HealthReport) => void,
): Promise<void> {
  const request = encodeHealthCheckRequest(service);
  let retries = 0;
  while (!signal.aborted && !t.draining) {
    let gotMessage = false;
    let err: StatusError;
    try {
      let s = t.newStream(headers);
      if (s instanceof Promise) s = await s;
      const stream = s;
      const onAbort = () => stream.cancel(new StatusError(Code.Canceled, "health check stopped"));
      signal.addEventListener("abort", onAbort, { once: true });
      try {
        await stream.sendMsg(request, false, true);
        for (;;) {
          const m = await stream.recvMsg();
          if (m === null) break;
          gotMessage = true;
          const status = decodeHealthCheckResponse(m);
          if (status === ServingStatus.Serving) report({ healthy: true });
          else {
            report({
              healthy: false,
              error: new StatusError(
                Code.Unavailable,
                `health check for ${JSON.stringify(service)}: status ${status}`,
              ),
            });
          }
        }
        err = stream.error ?? statusFromTrailers(stream.trailers ?? [], 200, false) ??
          new StatusError(Code.Unavailable, "health check stream ended");
      } finally {
        signal.removeEventListener("abort", onAbort);
      }
    } catch (e) {
      err = StatusError.from(e);
    }
    if (signal.aborted || t.draining) return;
    if (err.code === Code.Unimplemented) {
      // grpc-go: the server has no health service; health checking is disabled.
      report({ healthy: true });
      return;
    }
    report({
      healthy: false,
      error: new StatusError(Code.Unavailable, `health check failed: ${err.rawMessage}`, {
        cause: err,
      }),
    });
    if (gotMessage) retries = 0;
    const ms = backoffDelay(retries++);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      Deno.unrefTimer(timer); // a health retry alone does not keep the process alive
      signal.addEventListener("abort", done, { once: true });
      function done() {
        clearTimeout(timer);
        signal.removeEventListener("abort", done);
        resolve();
      }
    });
  }
}
