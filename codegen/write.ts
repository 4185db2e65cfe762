// Writing the generated modules: all of them formatted in a staging directory inside the output
// directory first (`deno fmt`, line width 100), then moved into place. A failure before the moves
// leaves the output directory as it was.

import { dirname, join } from "node:path";
import type { GeneratedFile } from "./generate.ts";

/**
 * Formats `files` and writes them under `out` (created if missing).
 * @throws {Error} Formatting or writing failed; nothing was moved into place.
 */
export async function writeOutput(out: string, files: readonly GeneratedFile[]): Promise<void> {
  await Deno.mkdir(out, { recursive: true });
  const stage = await Deno.makeTempDir({ dir: out, prefix: ".codegen-" });
  try {
    for (const f of files) {
      const path = join(stage, f.path);
      await Deno.mkdir(dirname(path), { recursive: true });
      await Deno.writeTextFile(path, f.content);
    }
    const fmt = await new Deno.Command(Deno.execPath(), {
      args: ["fmt", "--no-config", "--line-width", "100", "--quiet", stage],
      stdout: "inherit",
      stderr: "piped",
    }).output();
    if (!fmt.success) {
      throw new Error(`Cannot format generated code: ${new TextDecoder().decode(fmt.stderr)}`);
    }
    for (const f of files) {
      const target = join(out, f.path);
      await Deno.mkdir(dirname(target), { recursive: true });
      await Deno.rename(join(stage, f.path), target);
    }
  } finally {
    await Deno.remove(stage, { recursive: true });
  }
}
