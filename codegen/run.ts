// From .proto paths to generated modules: load (codec/proto_loader.ts), resolve, describe
// (protodesc/), generate (generate.ts). Every failure becomes a GenerateError naming file:line.

import { loadFilesSync } from "../codec/proto_loader.ts";
import { buildFileDescriptors } from "../protodesc/build.ts";
import { errorMessage } from "../internal/error_message.ts";
import { generate, type GeneratedFile, type GenerateOptions } from "./generate.ts";

/** Bad input: the message reads `file:line: what`. */
export class GenerateError extends Error {
  override name = "GenerateError";
}

/**
 * Generates the modules for `inputs` and every file they import.
 * @throws {GenerateError} A file is missing, does not parse, or uses an unknown type.
 */
export function generateFiles(
  inputs: readonly string[],
  includeDirs: readonly string[],
  options: GenerateOptions,
): GeneratedFile[] {
  let loaded;
  try {
    loaded = loadFilesSync(inputs, { includeDirs, keepCase: options.keepCase });
  } catch (error) {
    throw new GenerateError(located(error), { cause: error });
  }
  const { root, files } = loaded;
  try {
    root.resolveAll();
  } catch (error) {
    throw new GenerateError(unresolved(errorMessage(error), files), { cause: error });
  }
  const descriptors = buildFileDescriptors(files);
  try {
    return generate(root, descriptors, files.map((f) => f.name), options);
  } catch (error) {
    throw new GenerateError(errorMessage(error), { cause: error });
  }
}

// Load errors: "Cannot parse <path>: illegal token 'x' (line 3)" → "<path>:3: illegal token 'x'";
// "Cannot find "x.proto" imported by <path>: looked in …" → "<path>:<line of the import>: …".
function located(error: unknown): string {
  const message = errorMessage(error);
  const parse = /^Cannot parse (.+?): (.*) \(line (\d+)\)$/s.exec(message);
  if (parse !== null) return `${parse[1]}:${parse[3]}: ${parse[2]}`;
  const missing = /^Cannot find "(.+?)" imported by (.+?): (.*)$/s.exec(message);
  if (missing !== null) {
    const line = lineOf(
      missing[2],
      new RegExp(`import\\s+(public\\s+|weak\\s+)?"${escape(missing[1])}"`),
    );
    return `${missing[2]}:${line}: import "${missing[1]}" not found (${missing[3]})`;
  }
  const entry = /^Cannot load proto: no file at (.+)$/.exec(message);
  if (entry !== null) return `${entry[1]}: no such file`;
  return message;
}

// protobufjs resolve errors: "no such type: Foo" (methods) or "no such Type or Enum 'Foo' in Type
// .pkg.Msg" (fields). The file is found by where the name is used.
function unresolved(
  message: string,
  files: readonly { name: string; source?: string }[],
): string {
  const name = /no such type: (\S+)/.exec(message)?.[1] ??
    /no such Type or Enum '([^']+)'/.exec(message)?.[1];
  if (name === undefined) return message;
  const use = new RegExp(`(^|[^\\w.])${escape(name)}(?![\\w])`);
  for (const file of files) {
    if (file.source === undefined) continue;
    const lines = file.source.split("\n");
    for (let i = 0; i < lines.length; i++) {
      const code = lines[i].replace(/\/\/.*$/, "");
      if (/^\s*(message|enum|service|package|import|option)\b/.test(code)) continue;
      if (use.test(code)) return `${file.name}:${i + 1}: unknown type ${name}`;
    }
  }
  return `unknown type ${name} (${message})`;
}

function lineOf(path: string, pattern: RegExp): number {
  try {
    const lines = Deno.readTextFileSync(path).split("\n");
    const i = lines.findIndex((l) => pattern.test(l));
    return i + 1;
  } catch {
    return 0;
  }
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
