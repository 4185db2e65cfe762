// Test helper (compression/zstd_brotli_test.ts): decompresses the bomb in file Deno.args[1] with
// the built-in compressor named Deno.args[0] and limit Deno.args[2], then prints one JSON line:
// the status code it failed with and how much the peak RSS (VmHWM) grew past the RSS before the
// call. A child process of its own, so the peak is this call's alone.
import { getCompressor } from "../compression.ts";
import { StatusError } from "../status.ts";

function kib(field: "VmRSS" | "VmHWM"): number {
  const status = Deno.readTextFileSync("/proc/self/status");
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(status);
  if (m === null) throw new Error(`no ${field} in /proc/self/status`);
  return Number(m[1]) * 1024;
}

const [name, path, limit] = Deno.args;
const compressor = getCompressor(name);
if (compressor === undefined) throw new Error(`no compressor ${name}`);
const bomb = Deno.readFileSync(path);
const maxSize = Number(limit);
const before = kib("VmRSS");
let code = 0;
try {
  compressor.decompress(bomb, maxSize);
} catch (err) {
  if (!(err instanceof StatusError)) throw err;
  code = err.code;
}
console.log(JSON.stringify({ code, peakGrowth: kib("VmHWM") - before }));
