// The generator's command line: inputs, --out, -I, --import and the codec options.

import { DEFAULT_GENERATE_OPTIONS, type GenerateOptions } from "./generate.ts";

/** A command line that cannot be run. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** What the command line says. */
export interface CodegenArgs {
  inputs: string[];
  includeDirs: string[];
  out: string;
  options: GenerateOptions;
  help: boolean;
}

/** The help text. */
export const USAGE = `Usage: deno run -A jsr:@seed/grpc/codegen [options] file.proto …

Generates one TypeScript module per .proto file (a/b.proto → OUT/a/b_pb.ts), for the inputs
and every file they import.

Options:
  --out DIR, -o DIR     output directory (default: .)
  -I DIR, --proto_path DIR
                        where imports are looked up, in order (repeatable); an input's name
                        is its path relative to the first one holding it
  --import SPEC         the library's module specifier in generated code (default: @seed/grpc)
  --longs string|number|bigint   64-bit integers as (default: string)
  --enums string|number          enums as names or numbers (default: string)
  --defaults true|false          absent fields decoded with their defaults (default: true)
  --oneofs true|false            virtual oneof properties (default: true)
  --arrays true|false            absent repeated fields as [] without defaults (default: false)
  --objects true|false           absent map fields as {} without defaults (default: false)
  --keep-case                    field names as written, not lowerCamelCase
  -h, --help                     this text`;

/** Parses `argv` (without the program name). @throws {UsageError} */
export function parseCodegenArgs(argv: readonly string[]): CodegenArgs {
  const args: CodegenArgs = {
    inputs: [],
    includeDirs: [],
    out: ".",
    options: { ...DEFAULT_GENERATE_OPTIONS },
    help: false,
  };
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i];
    let inline: string | undefined;
    const eq = arg.startsWith("--") ? arg.indexOf("=") : -1;
    if (eq > 0) {
      inline = arg.slice(eq + 1);
      arg = arg.slice(0, eq);
    } else if (arg.startsWith("-I") && arg.length > 2) {
      inline = arg.slice(2);
      arg = "-I";
    }
    const value = () => {
      if (inline !== undefined) return inline;
      if (i + 1 >= argv.length) throw new UsageError(`${arg} needs a value`);
      return argv[++i];
    };
    const bool = () => {
      const v = value();
      if (v !== "true" && v !== "false") {
        throw new UsageError(`${arg} is "${v}", expected true or false`);
      }
      return v === "true";
    };
    switch (arg) {
      case "-h":
      case "--help":
        args.help = true;
        break;
      case "-o":
      case "--out":
        args.out = value();
        break;
      case "-I":
      case "--proto_path":
      case "--import-path":
        args.includeDirs.push(value());
        break;
      case "--import":
        args.options.importSpecifier = value();
        break;
      case "--longs": {
        const v = value();
        if (v !== "string" && v !== "number" && v !== "bigint") {
          throw new UsageError(`--longs is "${v}", expected string, number or bigint`);
        }
        args.options.longs = v;
        break;
      }
      case "--enums": {
        const v = value();
        if (v !== "string" && v !== "number") {
          throw new UsageError(`--enums is "${v}", expected string or number`);
        }
        args.options.enums = v;
        break;
      }
      case "--defaults":
        args.options.defaults = bool();
        break;
      case "--oneofs":
        args.options.oneofs = bool();
        break;
      case "--arrays":
        args.options.arrays = bool();
        break;
      case "--objects":
        args.options.objects = bool();
        break;
      case "--keep-case":
        args.options.keepCase = inline === undefined ? true : inline === "true";
        break;
      default:
        if (arg.startsWith("-")) throw new UsageError(`unknown flag ${arg}`);
        args.inputs.push(arg);
    }
  }
  if (!args.help && args.inputs.length === 0) throw new UsageError("no .proto files given");
  return args;
}
