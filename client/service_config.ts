// The service config: parse, validate, and look up per-method settings. grpc-go:
// service_config.go (parseServiceConfig, convertRetryPolicy), internal/serviceconfig; the JSON
// schema is grpc-proto grpc/service_config/service_config.proto; the canary choices of DNS TXT
// records are gRFC A2; retry and hedging validation is gRFC A6.

import { Code } from "../status.ts";
import { getBalancer } from "../balancer/balancer.ts";
// The built-in policies register themselves; configs may name them.
import "../balancer/pick_first.ts";
import "../balancer/round_robin.ts";

/**
 * The JSON form of a service config, as a user writes it (gRFC A2; grpc-proto
 * `grpc/service_config/service_config.proto`). Unknown fields are ignored, as in grpc-go.
 *
 * @example round_robin, a default timeout, and health checking
 * ```ts
 * import { newClient, type ServiceConfigJson } from "@seed/grpc";
 *
 * const config: ServiceConfigJson = {
 *   loadBalancingConfig: [{ round_robin: {} }],
 *   methodConfig: [{ name: [{}], timeout: "5s" }],
 *   healthCheckConfig: { serviceName: "" },
 * };
 * const conn = newClient("ipv4:127.0.0.1:50051,127.0.0.1:50052", { defaultServiceConfig: config });
 * await conn.close();
 * ```
 */
export interface ServiceConfigJson {
  /** Deprecated single policy name (`"round_robin"`), used when `loadBalancingConfig` is absent. */
  loadBalancingPolicy?: string;
  /** Policies in order of preference, each `{ name: config }`; the first known one is used. */
  loadBalancingConfig?: Record<string, unknown>[];
  /** Per-method settings, matched by `{service, method}`, then `{service}`, then `{}`. */
  methodConfig?: {
    name?: { service?: string; method?: string }[];
    waitForReady?: boolean;
    timeout?: string;
    maxRequestMessageBytes?: number | string;
    maxResponseMessageBytes?: number | string;
    retryPolicy?: Record<string, unknown>;
    hedgingPolicy?: Record<string, unknown>;
  }[];
  /** Retry throttling (gRFC A6): `{ maxTokens, tokenRatio }`. */
  retryThrottling?: { maxTokens: number; tokenRatio: number };
  /** Client-side health checking (gRFC A17): `{ serviceName }`. */
  healthCheckConfig?: { serviceName?: string };
}

/** A retry policy (gRFC A6), validated. grpc-go: internal/serviceconfig.RetryPolicy. */
export interface RetryPolicy {
  /** Attempts including the first, in [2, 5] (larger values are lowered to the limit). */
  readonly maxAttempts: number;
  readonly initialBackoffMs: number;
  readonly maxBackoffMs: number;
  readonly backoffMultiplier: number;
  readonly retryableStatusCodes: ReadonlySet<number>;
}

/** A hedging policy (gRFC A6), validated. */
export interface HedgingPolicy {
  /** Attempts including the first, in [2, 5]. */
  readonly maxAttempts: number;
  /** Delay between hedged attempts, in ms; 0 sends them all at once. */
  readonly hedgingDelayMs: number;
  readonly nonFatalStatusCodes: ReadonlySet<number>;
}

/** The settings of one method (or service, or every method). grpc-go: serviceconfig.MethodConfig. */
export interface MethodConfig {
  readonly waitForReady?: boolean;
  readonly timeoutMs?: number;
  readonly maxRequestMessageBytes?: number;
  readonly maxResponseMessageBytes?: number;
  readonly retryPolicy?: RetryPolicy;
  readonly hedgingPolicy?: HedgingPolicy;
}

/** Retry throttling (gRFC A6). grpc-go: retryThrottlingPolicy. */
export interface RetryThrottling {
  readonly maxTokens: number;
  readonly tokenRatio: number;
}

/** A parsed, validated service config. grpc-go: ServiceConfig. */
export interface ServiceConfig {
  /** The chosen load-balancing policy and its parsed config (pick_first when none is given). */
  readonly loadBalancing: { readonly name: string; readonly config: unknown };
  /** The health service to watch per subchannel (gRFC A17), or undefined for none. */
  readonly healthCheckServiceName: string | undefined;
  readonly retryThrottling: RetryThrottling | undefined;
  /** Keyed by `/service/method`, `/service/` or `""` (the default). */
  readonly methods: ReadonlyMap<string, MethodConfig>;
}

/**
 * The default of `maxCallAttempts`: retry and hedging policies are lowered to it. grpc-go:
 * defaultMaxCallAttempts.
 */
export const MAX_CALL_ATTEMPTS = 5;

/** The config used when there is none: pick_first, nothing per method. */
export const EMPTY_SERVICE_CONFIG: ServiceConfig = Object.freeze({
  loadBalancing: Object.freeze({ name: "pick_first", config: Object.freeze({}) }),
  healthCheckServiceName: undefined,
  retryThrottling: undefined,
  methods: new Map<string, MethodConfig>(),
});

function fail(field: string, why: string): never {
  throw new TypeError(`Invalid service config: ${field}: ${why}`);
}

function show(v: unknown): string {
  try {
    const s = JSON.stringify(v);
    return s === undefined ? String(v) : s.length > 60 ? s.slice(0, 57) + "..." : s;
  } catch {
    return String(v);
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function objectAt(v: unknown, field: string): Record<string, unknown> {
  if (!isObject(v)) fail(field, `expected an object, got ${show(v)}`);
  return v;
}

function arrayAt(v: unknown, field: string): unknown[] {
  if (!Array.isArray(v)) fail(field, `expected an array, got ${show(v)}`);
  return v;
}

function stringAt(v: unknown, field: string): string {
  if (typeof v !== "string") fail(field, `expected a string, got ${show(v)}`);
  return v;
}

function boolAt(v: unknown, field: string): boolean {
  if (typeof v !== "boolean") fail(field, `expected true or false, got ${show(v)}`);
  return v;
}

// Proto3 JSON Duration: decimal seconds with an "s" suffix, up to 9 fractional digits.
const DURATION = /^(-?)([0-9]{1,12})(?:\.([0-9]{1,9}))?s$/;

/** Parses a proto3 JSON Duration ("1.5s") into ms; negative values are refused. */
export function parseDuration(v: unknown, field: string): number {
  const m = typeof v === "string" ? DURATION.exec(v) : null;
  if (m === null) fail(field, `expected a duration like "1.5s", got ${show(v)}`);
  if (m[1] === "-" && /[1-9]/.test(m[2] + (m[3] ?? ""))) {
    fail(field, `must not be negative, got ${show(v)}`);
  }
  return Number(m[2]) * 1000 + Number((m[3] ?? "").padEnd(9, "0")) / 1e6;
}

// UInt32Value / Int64 in proto3 JSON: a number, or a decimal string.
function byteCountAt(v: unknown, field: string): number {
  const n = typeof v === "string" && /^[0-9]{1,16}$/.test(v) ? Number(v) : v;
  if (typeof n !== "number" || !Number.isSafeInteger(n) || n < 0) {
    fail(field, `expected a non-negative integer, got ${show(v)}`);
  }
  return n;
}

const CODE_BY_NAME: ReadonlyMap<string, number> = new Map([
  ["OK", Code.OK],
  ["CANCELLED", Code.Canceled],
  ["UNKNOWN", Code.Unknown],
  ["INVALID_ARGUMENT", Code.InvalidArgument],
  ["DEADLINE_EXCEEDED", Code.DeadlineExceeded],
  ["NOT_FOUND", Code.NotFound],
  ["ALREADY_EXISTS", Code.AlreadyExists],
  ["PERMISSION_DENIED", Code.PermissionDenied],
  ["RESOURCE_EXHAUSTED", Code.ResourceExhausted],
  ["FAILED_PRECONDITION", Code.FailedPrecondition],
  ["ABORTED", Code.Aborted],
  ["OUT_OF_RANGE", Code.OutOfRange],
  ["UNIMPLEMENTED", Code.Unimplemented],
  ["INTERNAL", Code.Internal],
  ["UNAVAILABLE", Code.Unavailable],
  ["DATA_LOSS", Code.DataLoss],
  ["UNAUTHENTICATED", Code.Unauthenticated],
]);

// Status codes by canonical name ("UNAVAILABLE") or number, as grpc-go's codes.Code JSON.
function codesAt(v: unknown, field: string, nonEmpty: boolean): ReadonlySet<number> {
  const list = arrayAt(v, field);
  if (nonEmpty && list.length === 0) fail(field, "must not be empty");
  const out = new Set<number>();
  list.forEach((c, i) => {
    const code = typeof c === "string" ? CODE_BY_NAME.get(c) : c;
    if (typeof code !== "number" || !Number.isInteger(code) || code < 0 || code > 16) {
      fail(`${field}[${i}]`, `expected a status code name like "UNAVAILABLE", got ${show(c)}`);
    }
    out.add(code);
  });
  return out;
}

function attemptsAt(v: unknown, field: string, max: number): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 2) {
    fail(field, `expected an integer greater than 1, got ${show(v)}`);
  }
  return Math.min(v, max);
}

function parseRetryPolicy(v: unknown, field: string, maxAttempts: number): RetryPolicy {
  const o = objectAt(v, field);
  const initialBackoffMs = parseDuration(o.initialBackoff, `${field}.initialBackoff`);
  if (initialBackoffMs <= 0) fail(`${field}.initialBackoff`, "must be greater than zero");
  const maxBackoffMs = parseDuration(o.maxBackoff, `${field}.maxBackoff`);
  if (maxBackoffMs <= 0) fail(`${field}.maxBackoff`, "must be greater than zero");
  const m = o.backoffMultiplier;
  if (typeof m !== "number" || !(m > 0) || !Number.isFinite(m)) {
    fail(`${field}.backoffMultiplier`, `expected a number greater than zero, got ${show(m)}`);
  }
  return Object.freeze({
    maxAttempts: attemptsAt(o.maxAttempts, `${field}.maxAttempts`, maxAttempts),
    initialBackoffMs,
    maxBackoffMs,
    backoffMultiplier: m,
    retryableStatusCodes: codesAt(
      o.retryableStatusCodes,
      `${field}.retryableStatusCodes`,
      true,
    ),
  });
}

function parseHedgingPolicy(v: unknown, field: string, maxAttempts: number): HedgingPolicy {
  const o = objectAt(v, field);
  return Object.freeze({
    maxAttempts: attemptsAt(o.maxAttempts, `${field}.maxAttempts`, maxAttempts),
    hedgingDelayMs: o.hedgingDelay === undefined
      ? 0
      : parseDuration(o.hedgingDelay, `${field}.hedgingDelay`),
    nonFatalStatusCodes: o.nonFatalStatusCodes === undefined
      ? new Set<number>()
      : codesAt(o.nonFatalStatusCodes, `${field}.nonFatalStatusCodes`, false),
  });
}

function parseMethodConfig(v: unknown, field: string, maxAttempts: number): MethodConfig {
  const o = objectAt(v, field);
  const mc: {
    -readonly [K in keyof MethodConfig]: MethodConfig[K];
  } = {};
  if (o.waitForReady != null) mc.waitForReady = boolAt(o.waitForReady, `${field}.waitForReady`);
  if (o.timeout != null) mc.timeoutMs = parseDuration(o.timeout, `${field}.timeout`);
  if (o.maxRequestMessageBytes != null) {
    mc.maxRequestMessageBytes = byteCountAt(
      o.maxRequestMessageBytes,
      `${field}.maxRequestMessageBytes`,
    );
  }
  if (o.maxResponseMessageBytes != null) {
    mc.maxResponseMessageBytes = byteCountAt(
      o.maxResponseMessageBytes,
      `${field}.maxResponseMessageBytes`,
    );
  }
  if (o.retryPolicy != null && o.hedgingPolicy != null) {
    fail(field, "retryPolicy and hedgingPolicy cannot both be set");
  }
  if (o.retryPolicy != null) {
    mc.retryPolicy = parseRetryPolicy(o.retryPolicy, `${field}.retryPolicy`, maxAttempts);
  }
  if (o.hedgingPolicy != null) {
    mc.hedgingPolicy = parseHedgingPolicy(o.hedgingPolicy, `${field}.hedgingPolicy`, maxAttempts);
  }
  return Object.freeze(mc);
}

// grpc-go jsonName.generatePath: "/service/method", "/service/" or "" (the default).
function methodKey(v: unknown, field: string): string {
  const o = objectAt(v, field);
  const service = o.service == null ? "" : stringAt(o.service, `${field}.service`);
  const method = o.method == null ? "" : stringAt(o.method, `${field}.method`);
  if (service === "") {
    if (method !== "") fail(field, `a method (${show(method)}) needs a service`);
    return "";
  }
  return `/${service}/${method}`;
}

// The first policy of loadBalancingConfig that is registered wins (gRFC A24 / grpc-go
// gracefulswitch.ParseConfig); its own parser validates its config.
function parseLoadBalancing(o: Record<string, unknown>): ServiceConfig["loadBalancing"] {
  if (o.loadBalancingConfig != null) {
    const list = arrayAt(o.loadBalancingConfig, "loadBalancingConfig");
    const names: string[] = [];
    for (let i = 0; i < list.length; i++) {
      const entry = objectAt(list[i], `loadBalancingConfig[${i}]`);
      const keys = Object.keys(entry);
      if (keys.length !== 1) {
        fail(`loadBalancingConfig[${i}]`, `expected one policy name, got ${show(keys)}`);
      }
      const name = keys[0];
      names.push(name);
      const b = getBalancer(name);
      if (b === undefined) continue;
      const field = `loadBalancingConfig[${i}].${name}`;
      const raw = entry[name] ?? {};
      let config: unknown = objectAt(raw, field);
      if (b.parseConfig !== undefined) {
        try {
          config = b.parseConfig(raw);
        } catch (err) {
          fail(field, err instanceof Error ? err.message : String(err));
        }
      }
      return Object.freeze({ name, config });
    }
    fail("loadBalancingConfig", `no supported policy among ${show(names)}`);
  }
  if (o.loadBalancingPolicy != null) {
    const name = stringAt(o.loadBalancingPolicy, "loadBalancingPolicy").toLowerCase();
    const b = getBalancer(name);
    if (b === undefined) fail("loadBalancingPolicy", `unknown policy ${show(name)}`);
    return Object.freeze({ name, config: b.parseConfig?.({}) ?? {} });
  }
  return EMPTY_SERVICE_CONFIG.loadBalancing;
}

/**
 * Parses and validates a service config (JSON text or the object it encodes). grpc-go:
 * parseServiceConfig. Unknown fields are ignored; a wrong value anywhere rejects the whole
 * config (gRFC A21).
 *
 * @param input The JSON text or object.
 * @param maxAttempts Retry and hedging `maxAttempts` are lowered to this. grpc-go:
 *   WithMaxCallAttempts (default 5).
 * @throws {TypeError} Invalid JSON or value; the message names the field, e.g.
 *   `Invalid service config: methodConfig[0].timeout: expected a duration like "1.5s", got 5`.
 */
export function parseServiceConfig(
  input: string | ServiceConfigJson,
  maxAttempts: number = MAX_CALL_ATTEMPTS,
): ServiceConfig {
  let v: unknown = input;
  if (typeof input === "string") {
    try {
      v = JSON.parse(input);
    } catch (err) {
      fail("JSON", err instanceof Error ? err.message : String(err));
    }
  }
  const o = objectAt(v, "(top level)");
  const loadBalancing = parseLoadBalancing(o);
  let healthCheckServiceName: string | undefined;
  if (o.healthCheckConfig != null) {
    const h = objectAt(o.healthCheckConfig, "healthCheckConfig");
    healthCheckServiceName = h.serviceName == null
      ? ""
      : stringAt(h.serviceName, "healthCheckConfig.serviceName");
  }
  let retryThrottling: RetryThrottling | undefined;
  if (o.retryThrottling != null) {
    const t = objectAt(o.retryThrottling, "retryThrottling");
    const mt = t.maxTokens;
    if (typeof mt !== "number" || !(mt > 0 && mt <= 1000)) {
      fail("retryThrottling.maxTokens", `expected a number in (0, 1000], got ${show(mt)}`);
    }
    const tr = t.tokenRatio;
    if (typeof tr !== "number" || !(tr > 0) || !Number.isFinite(tr)) {
      fail("retryThrottling.tokenRatio", `expected a number greater than zero, got ${show(tr)}`);
    }
    // gRFC A6: tokenRatio keeps three decimal places.
    retryThrottling = Object.freeze({ maxTokens: mt, tokenRatio: Math.floor(tr * 1000) / 1000 });
  }
  const methods = new Map<string, MethodConfig>();
  if (o.methodConfig != null) {
    arrayAt(o.methodConfig, "methodConfig").forEach((raw, i) => {
      const field = `methodConfig[${i}]`;
      const mc = parseMethodConfig(raw, field, maxAttempts);
      const names = (raw as Record<string, unknown>).name;
      if (names == null) return; // no names: skipped (service_config.proto)
      arrayAt(names, `${field}.name`).forEach((n, j) => {
        const key = methodKey(n, `${field}.name[${j}]`);
        if (methods.has(key)) fail(`${field}.name[${j}]`, `duplicate name ${show(n)}`);
        methods.set(key, mc);
      });
    });
  }
  return Object.freeze({ loadBalancing, healthCheckServiceName, retryThrottling, methods });
}

/**
 * The method config for a call to `path` (`/package.Service/Method`): the exact match, else the
 * service's, else the default (`{}`), else undefined. grpc-go: getMethodConfig.
 */
export function methodConfigFor(sc: ServiceConfig, path: string): MethodConfig | undefined {
  const m = sc.methods;
  if (m.size === 0) return undefined;
  const exact = m.get(path);
  if (exact !== undefined) return exact;
  const slash = path.lastIndexOf("/");
  if (slash > 0) {
    const svc = m.get(path.slice(0, slash + 1));
    if (svc !== undefined) return svc;
  }
  return m.get("");
}

/** Who this client is, for choosing among gRFC A2 canary choices. */
export interface ChoiceContext {
  /** Lower case language names we answer to. @default {["deno"]} */
  readonly languages?: readonly string[];
  /** This host's name (`Deno.hostname()`), or undefined if unknown. */
  readonly hostname?: string;
  /** A number in [0, 100) for `percentage`. @default {Math.random() * 100} */
  readonly percentile?: number;
}

const CHOICE_FIELDS = new Set(["clientLanguage", "percentage", "clientHostname", "serviceConfig"]);

/**
 * Picks the service config from the value of a DNS `grpc_config=` TXT attribute: a JSON list of
 * canary choices, the first matching one wins (gRFC A2). Returns null when none matches.
 *
 * @throws {TypeError} The list or a choice is malformed (unknown field, bad percentage…).
 */
export function selectServiceConfigChoice(
  json: string,
  ctx: ChoiceContext = {},
): ServiceConfigJson | null {
  let v: unknown;
  try {
    v = JSON.parse(json);
  } catch (err) {
    fail("grpc_config", err instanceof Error ? err.message : String(err));
  }
  const list = arrayAt(v, "grpc_config");
  const languages = ctx.languages ?? ["deno"];
  const percentile = ctx.percentile ?? Math.random() * 100;
  for (let i = 0; i < list.length; i++) {
    const field = `grpc_config[${i}]`;
    const c = objectAt(list[i], field);
    for (const k of Object.keys(c)) {
      if (!CHOICE_FIELDS.has(k)) fail(`${field}.${k}`, "unknown field");
    }
    const sc = objectAt(c.serviceConfig, `${field}.serviceConfig`);
    if (c.clientLanguage != null) {
      const langs = arrayAt(c.clientLanguage, `${field}.clientLanguage`).map((l, j) =>
        stringAt(l, `${field}.clientLanguage[${j}]`).toLowerCase()
      );
      if (langs.length > 0 && !langs.some((l) => languages.includes(l))) continue;
    }
    if (c.percentage != null) {
      const p = c.percentage;
      if (typeof p !== "number" || !Number.isInteger(p) || p < 0 || p > 100) {
        fail(`${field}.percentage`, `expected an integer in [0, 100], got ${show(p)}`);
      }
      if (percentile >= p) continue;
    }
    if (c.clientHostname != null) {
      const hosts = arrayAt(c.clientHostname, `${field}.clientHostname`).map((h, j) =>
        stringAt(h, `${field}.clientHostname[${j}]`)
      );
      if (hosts.length > 0 && (ctx.hostname === undefined || !hosts.includes(ctx.hostname))) {
        continue;
      }
    }
    return sc as ServiceConfigJson;
  }
  return null;
}
