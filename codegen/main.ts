/**
 * The code generator: typed TypeScript from `.proto` files, with protobufjs's parser (no protoc,
 * no plugins).
 *
 * ```sh
 * deno run -A jsr:@seed/grpc/codegen [--out DIR] [-I DIR …] [--import SPEC] file.proto …
 * ```
 *
 * One module per `.proto` file (`a/b.proto` → `DIR/a/b_pb.ts`), for the inputs and every file
 * they import (well-known types included, found without shipping them), importing each other as
 * the `.proto` files do and the library as `@seed/grpc` (or `--import SPEC`). Each holds message
 * interfaces, enums, and per service a typed definition (`Greeter`) with `GreeterClient` and
 * `GreeterHandlers` interfaces; the file's descriptor is embedded, so no `.proto` is read at run
 * time. Codec options (`--longs`, `--enums`, `--defaults`, `--oneofs`, `--arrays`,
 * `--objects`, `--keep-case`) decide the types and are fixed in the generated code.
 *
 * Errors (syntax, unknown type, missing import) are printed as `file:line: message` with exit
 * code 1, and nothing is written. Files are written only once all are generated and formatted.
 *
 * @example Generate the helloworld example's module
 * ```ts ignore
 * // deno run -A jsr:@seed/grpc/codegen --out gen -I protos protos/helloworld/hello.proto
 * import { createClient, newClient } from "@seed/grpc";
 * import { Greeter } from "./gen/helloworld/hello_pb.ts";
 *
 * const client = createClient(Greeter, newClient("127.0.0.1:50051"));
 * const { message } = await client.sayHello({ name: "world" });
 * ```
 *
 * @module
 */

import { GenerateError, generateFiles } from "./run.ts";
import { parseCodegenArgs, USAGE } from "./args.ts";
import { UsageError } from "./args.ts";
import { writeOutput } from "./write.ts";
import { errorMessage } from "../internal/error_message.ts";

/**
 * Runs the generator with command-line arguments; resolves with the exit code. Output goes to
 * stdout/stderr.
 *
 * @param argv The arguments, without the program name.
 * @returns 0 on success, 1 on bad input, 2 on bad usage.
 *
 * @example Print the usage
 * ```ts ignore
 * import { main } from "@seed/grpc/codegen";
 *
 * await main(["--help"]);
 * ```
 */
export async function main(argv: readonly string[]): Promise<number> {
  let args;
  try {
    args = parseCodegenArgs(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`codegen: ${error.message}\n\n${USAGE}`);
    return 2;
  }
  if (args.help) {
    console.log(USAGE);
    return 0;
  }
  try {
    const files = generateFiles(args.inputs, args.includeDirs, args.options);
    try {
      await writeOutput(args.out, files);
    } catch (error) {
      console.error(`codegen: ${errorMessage(error)}`);
      return 1;
    }
    for (const f of files) console.error(`wrote ${f.path}`);
    return 0;
  } catch (error) {
    if (error instanceof GenerateError) {
      console.error(`codegen: ${error.message}`);
      return 1;
    }
    throw error;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
