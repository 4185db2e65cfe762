// Ratio and speed of each compression algorithm and level on realistic protobuf messages (issue
// 21): the measurement behind the default levels in compression.ts. Run alone on a quiet machine:
//   deno run -A bench/compression_levels.ts [--runs 7]
// Prints one Markdown table: per payload size and algorithm/level, the compressed size ratio and
// the median compress and decompress times over the runs (each run times a loop of calls for at
// least 40 ms per row, rows interleaved).
import protobuf from "protobufjs";
import {
  type Compressor,
  createBrotli,
  createDeflate,
  createGzip,
  createZstd,
} from "../compression.ts";

const SCHEMA = `syntax = "proto3";
message Address { string street = 1; string city = 2; string country = 3; string postal_code = 4; }
message User {
  int64 id = 1; string name = 2; string email = 3; repeated string roles = 4;
  int64 created_at_ms = 5; bool active = 6; double score = 7; Address address = 8;
  bytes avatar_sha256 = 9; map<string, string> labels = 10; string bio = 11;
}
message ListUsersResponse { repeated User users = 1; string next_page_token = 2; }`;

const root = protobuf.parse(SCHEMA).root;
const List = root.lookupType("ListUsersResponse");

// Deterministic PRNG (mulberry32) so every run measures the same bytes.
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const FIRST = [
  "Ada",
  "Alan",
  "Grace",
  "Linus",
  "Barbara",
  "Ken",
  "Dennis",
  "Margaret",
  "Edsger",
  "Donald",
  "Frances",
  "John",
  "Radia",
  "Leslie",
  "Tim",
  "Sophie",
  "Guido",
  "Anders",
  "Niklaus",
  "Hedy",
  "Katherine",
  "Vint",
  "Bjarne",
  "Yukihiro",
  "Rob",
  "Robert",
  "Shafi",
  "Silvio",
];
const LAST = [
  "Lovelace",
  "Turing",
  "Hopper",
  "Torvalds",
  "Liskov",
  "Thompson",
  "Ritchie",
  "Hamilton",
  "Dijkstra",
  "Knuth",
  "Allen",
  "McCarthy",
  "Perlman",
  "Lamport",
  "Berners-Lee",
  "Wilson",
  "van Rossum",
  "Hejlsberg",
  "Wirth",
  "Lamarr",
  "Johnson",
  "Cerf",
  "Stroustrup",
  "Matsumoto",
  "Pike",
  "Griesemer",
  "Goldwasser",
  "Micali",
];
const DOMAINS = ["example.com", "mail.example.org", "corp.example.net", "users.example.io"];
const ROLES = ["admin", "editor", "viewer", "billing", "support", "owner", "auditor"];
const CITIES = ["Berlin", "Lisbon", "Osaka", "Toronto", "Nairobi", "Santiago", "Oslo", "Pune"];
const COUNTRIES = ["DE", "PT", "JP", "CA", "KE", "CL", "NO", "IN"];
const STREETS = ["Main St", "Harbour Rd", "Station Ave", "Park Lane", "Mill Way", "Hill St"];
const WORDS = [
  "distributed",
  "systems",
  "compiler",
  "kernel",
  "networking",
  "databases",
  "graphics",
  "security",
  "open",
  "source",
  "maintainer",
  "of",
  "the",
  "and",
  "loves",
  "hiking",
  "coffee",
  "chess",
  "writes",
  "about",
  "performance",
  "latency",
  "protocols",
  "teaching",
];

function pick<T>(r: () => number, a: readonly T[]): T {
  return a[Math.floor(r() * a.length)];
}

function user(r: () => number, i: number) {
  const first = pick(r, FIRST);
  const last = pick(r, LAST);
  const sha = new Uint8Array(32);
  for (let j = 0; j < 32; j++) sha[j] = Math.floor(r() * 256);
  const roles = ROLES.filter(() => r() < 0.3);
  const labels: Record<string, string> = { team: pick(r, WORDS), tier: String(1 + (i % 3)) };
  if (r() < 0.5) labels.region = pick(r, COUNTRIES).toLowerCase() + "-" + (1 + Math.floor(r() * 4));
  const bio = Array.from({ length: 4 + Math.floor(r() * 12) }, () => pick(r, WORDS)).join(" ");
  const c = Math.floor(r() * CITIES.length);
  return {
    id: 100000 + i * 7 + Math.floor(r() * 7),
    name: `${first} ${last}`,
    email: `${first}.${last}${Math.floor(r() * 100)}@${pick(r, DOMAINS)}`.toLowerCase()
      .replace(/ /g, ""),
    roles,
    createdAtMs: 1_600_000_000_000 + Math.floor(r() * 150_000_000_000),
    active: r() < 0.8,
    score: Math.round(r() * 10000) / 100,
    address: {
      street: `${1 + Math.floor(r() * 300)} ${pick(r, STREETS)}`,
      city: CITIES[c],
      country: COUNTRIES[c],
      postalCode: String(10000 + Math.floor(r() * 89999)),
    },
    avatarSha256: sha,
    labels,
    bio,
  };
}

/** A ListUsersResponse of about `size` bytes, serialized. */
export function payload(size: number): Uint8Array {
  const r = rng(size);
  const users = [];
  let bytes = List.encode(List.create({ users: [], nextPageToken: "tok_0123456789abcdef" }))
    .finish();
  while (bytes.length < size) {
    users.push(user(r, users.length));
    bytes = List.encode(List.fromObject({ users, nextPageToken: "tok_0123456789abcdef" }))
      .finish();
  }
  return bytes;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

function time(fn: () => void, minMs: number): number {
  // Calls fn in a loop for at least minMs; returns ms per call.
  let n = 0;
  const start = performance.now();
  let now = start;
  while (now - start < minMs) {
    fn();
    n++;
    now = performance.now();
  }
  return (now - start) / n;
}

if (import.meta.main) {
  const runsArg = Deno.args.indexOf("--runs");
  const runs = runsArg >= 0 ? Number(Deno.args[runsArg + 1]) : 7;
  const candidates: [string, Compressor][] = [
    ["gzip 1", createGzip({ level: 1 })],
    ["gzip 6", createGzip({ level: 6 })],
    ["gzip 9", createGzip({ level: 9 })],
    ["deflate 6", createDeflate({ level: 6 })],
    ["zstd -1", createZstd({ level: -1 })],
    ["zstd 1", createZstd({ level: 1 })],
    ["zstd 3", createZstd({ level: 3 })],
    ["zstd 6", createZstd({ level: 6 })],
    ["zstd 9", createZstd({ level: 9 })],
    ["zstd 19", createZstd({ level: 19 })],
    ["br 1", createBrotli({ level: 1 })],
    ["br 4", createBrotli({ level: 4 })],
    ["br 5", createBrotli({ level: 5 })],
    ["br 6", createBrotli({ level: 6 })],
    ["br 9", createBrotli({ level: 9 })],
    ["br 11", createBrotli({ level: 11 })],
  ];
  console.log(
    `Deno ${Deno.version.deno}; medians of ${runs} interleaved runs; times in µs per message\n`,
  );
  const sizes = [1024, 64 * 1024, 1024 * 1024];
  const rows = sizes.flatMap((size) => {
    const data = payload(size);
    return candidates.map(([name, c]) => ({
      size,
      data,
      name,
      c,
      packed: c.compress(data),
      ct: [] as number[],
      dt: [] as number[],
    }));
  });
  // Interleaved: every run times every row once, so a busy moment on a shared machine spreads
  // over all rows instead of skewing a few.
  for (let i = 0; i < runs; i++) {
    for (const row of rows) {
      const minMs = row.name === "br 11" || row.name === "zstd 19" ? 100 : 40;
      row.ct.push(time(() => row.c.compress(row.data), minMs));
      row.dt.push(time(() => row.c.decompress(row.packed, Infinity), minMs));
    }
  }
  console.log("| payload | algorithm level | ratio | compress µs | MB/s | decompress µs |");
  console.log("|---|---|---:|---:|---:|---:|");
  for (const { size, data, name, packed, ct, dt } of rows) {
    const label = size >= 1 << 20 ? `${size >> 20} MiB` : `${size >> 10} KiB`;
    const cUs = median(ct) * 1000;
    console.log(
      `| ${label} (${data.length} B) | ${name} | ${(data.length / packed.length).toFixed(2)} | ` +
        `${cUs.toFixed(cUs < 100 ? 1 : 0)} | ${(data.length / cUs).toFixed(0)} | ` +
        `${(median(dt) * 1000).toFixed(1)} |`,
    );
  }
}
