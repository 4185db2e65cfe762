// Interim: the retry parts of a service config (gRFC A6 `retryPolicy`, `hedgingPolicy`,
// `retryThrottling`), parsed from `defaultServiceConfig` until the channel's full service-config
// parser (client/service_config.ts) lands; then this file goes.

import { codeName } from "../status.ts";
import type { HedgingPolicy, RetryPolicy } from "./retry.ts";

/** The retry settings of one method. */
export interface MethodRetryConfig {
  readonly retryPolicy?: RetryPolicy;
  readonly hedgingPolicy?: HedgingPolicy;
}

/** The retry parts of a service config. */
export interface RetryServiceConfig {
  /** Keyed by `/service/method`, `/service/` or `""` (every method). */
  readonly methods: ReadonlyMap<string, MethodRetryConfig>;
  readonly retryThrottling: { readonly maxTokens: number; readonly tokenRatio: number } | undefined;
}

function bad(field: string, v: unknown): never {
  throw new TypeError(`Invalid service config: ${field}: bad value ${JSON.stringify(v)}`);
}

function durationMs(v: unknown, field: string): number {
  const m = typeof v === "string" ? /^([0-9]+)(?:\.([0-9]{1,9}))?s$/.exec(v) : null;
  if (m === null) bad(field, v);
  return Number(m[1]) * 1000 + Number(`0.${m[2] ?? "0"}`) * 1000;
}

// Status codes by number or case-insensitive canonical name ("UNAVAILABLE", "unavailable").
function codes(v: unknown, field: string): Set<number> {
  if (!Array.isArray(v)) bad(field, v);
  const out = new Set<number>();
  for (const c of v) {
    let n = -1;
    if (typeof c === "number" && Number.isInteger(c) && c >= 0 && c <= 16) n = c;
    else if (typeof c === "string") {
      for (let i = 0; i <= 16; i++) if (codeName(i) === c.toUpperCase()) n = i;
    }
    if (n < 0) bad(field, c);
    out.add(n);
  }
  return out;
}

function attempts(v: unknown, field: string): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 2) bad(field, v);
  return v;
}

function positiveMs(v: unknown, field: string): number {
  const ms = durationMs(v, field);
  if (!(ms > 0)) bad(field, v);
  return ms;
}

/** Parses the retry parts of a service config object; throws TypeError on invalid values. */
export function parseRetryServiceConfig(input: unknown): RetryServiceConfig {
  const sc = (typeof input === "string" ? JSON.parse(input) : input) as Record<string, unknown>;
  const methods = new Map<string, MethodRetryConfig>();
  const list = (sc.methodConfig ?? []) as Record<string, unknown>[];
  list.forEach((mc, i) => {
    const f = `methodConfig[${i}]`;
    let retryPolicy: RetryPolicy | undefined;
    let hedgingPolicy: HedgingPolicy | undefined;
    const r = mc.retryPolicy as Record<string, unknown> | undefined;
    const h = mc.hedgingPolicy as Record<string, unknown> | undefined;
    if (r != null && h != null) bad(f, "retryPolicy and hedgingPolicy");
    if (r != null) {
      const m = r.backoffMultiplier;
      if (typeof m !== "number" || !(m > 0)) bad(`${f}.retryPolicy.backoffMultiplier`, m);
      const rc = codes(r.retryableStatusCodes, `${f}.retryPolicy.retryableStatusCodes`);
      if (rc.size === 0) bad(`${f}.retryPolicy.retryableStatusCodes`, []);
      retryPolicy = {
        maxAttempts: attempts(r.maxAttempts, `${f}.retryPolicy.maxAttempts`),
        initialBackoffMs: positiveMs(r.initialBackoff, `${f}.retryPolicy.initialBackoff`),
        maxBackoffMs: positiveMs(r.maxBackoff, `${f}.retryPolicy.maxBackoff`),
        backoffMultiplier: m,
        retryableStatusCodes: rc,
      };
    }
    if (h != null) {
      hedgingPolicy = {
        maxAttempts: attempts(h.maxAttempts, `${f}.hedgingPolicy.maxAttempts`),
        hedgingDelayMs: h.hedgingDelay == null
          ? 0
          : durationMs(h.hedgingDelay, `${f}.hedgingPolicy.hedgingDelay`),
        nonFatalStatusCodes: h.nonFatalStatusCodes == null
          ? new Set()
          : codes(h.nonFatalStatusCodes, `${f}.hedgingPolicy.nonFatalStatusCodes`),
      };
    }
    for (const n of (mc.name ?? []) as { service?: string; method?: string }[]) {
      const key = n.service ? `/${n.service}/${n.method ?? ""}` : "";
      methods.set(key, { retryPolicy, hedgingPolicy });
    }
  });
  let retryThrottling: RetryServiceConfig["retryThrottling"];
  const t = sc.retryThrottling as Record<string, unknown> | undefined;
  if (t != null) {
    const mt = t.maxTokens, tr = t.tokenRatio;
    if (typeof mt !== "number" || !(mt > 0 && mt <= 1000)) bad("retryThrottling.maxTokens", mt);
    if (typeof tr !== "number" || !(tr > 0)) bad("retryThrottling.tokenRatio", tr);
    retryThrottling = { maxTokens: mt, tokenRatio: Math.floor(tr * 1000) / 1000 };
  }
  return { methods, retryThrottling };
}

/** The method's retry settings: exact, then its service's, then the default. */
export function retryConfigFor(
  sc: RetryServiceConfig,
  path: string,
): MethodRetryConfig | undefined {
  const m = sc.methods;
  if (m.size === 0) return undefined;
  return m.get(path) ?? m.get(path.slice(0, path.lastIndexOf("/") + 1)) ?? m.get("");
}
