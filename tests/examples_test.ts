// The README's quick start and the examples, copied into an empty folder whose deno.json links
// this checkout (as the README tells a new user to do), run with only --allow-net and
// --allow-read: they must not reach into the repository (internal/ imports, ../ paths).
//
//   deno test -A --sanitize-ops --sanitize-resources tests/examples_test.ts

import { assert, assertEquals, assertMatch, assertStringIncludes } from "@std/assert";
import { ROOT, run } from "./_procs.ts";

const PERMS = ["--allow-net", "--allow-read"];

async function project(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "seed_grpc_app_" });
  await Deno.writeTextFile(
    `${dir}/deno.json`,
    JSON.stringify({ imports: { "@seed/grpc": "jsr:@seed/grpc@^0.1.0" }, links: [ROOT] }),
  );
  for (const example of ["helloworld", "routeguide"]) {
    await Deno.mkdir(`${dir}/${example}`);
    for await (const e of Deno.readDir(`${ROOT}examples/${example}`)) {
      await Deno.copyFile(`${ROOT}examples/${example}/${e.name}`, `${dir}/${example}/${e.name}`);
    }
  }
  return dir;
}

/** A server started with `deno run`, once it printed "listening on host:port". */
async function startServer(cwd: string, script: string) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...PERMS, script, "0"],
    cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let out = "";
  const dec = new TextDecoder();
  let found: (a: string) => void;
  const address = new Promise<string>((r) => (found = r));
  const pump = async (s: ReadableStream<Uint8Array>) => {
    for await (const chunk of s) {
      out += dec.decode(chunk, { stream: true });
      const m = /listening on (\S+:\d+)/.exec(out);
      if (m !== null) found(m[1]);
    }
  };
  const pumps = Promise.all([pump(child.stdout), pump(child.stderr)]);
  const exited = child.status.then((s) => {
    throw new Error(`${script} exited (${s.code}) before listening:\n${out}`);
  });
  return {
    address: await Promise.race([address, exited]),
    /** SIGINT (Ctrl-C), then the exit code. */
    async interrupt(): Promise<number> {
      exited.catch(() => {});
      child.kill("SIGINT");
      const { code } = await child.status;
      await pumps;
      return code;
    },
    output: () => out,
  };
}

Deno.test("the README's quick start runs in a new project with --allow-net only", async () => {
  const dir = await project();
  try {
    const readme = await Deno.readTextFile(`${ROOT}README.md`);
    const section = readme.slice(readme.indexOf("## The API in ten lines"));
    const code = /```ts\n([\s\S]*?)```/.exec(section)![1];
    await Deno.writeTextFile(`${dir}/main.ts`, code);
    const r = await run(Deno.execPath(), ["run", "--allow-net", "main.ts"], dir);
    assertEquals(r.code, 0, r.stderr);
    assertStringIncludes(r.stdout, `{ message: "Hello world" }`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the examples run in a new project; clients take the address; Ctrl-C stops servers", async () => {
  const dir = await project();
  try {
    const hello = await startServer(dir, "helloworld/server.ts");
    try {
      const r = await run(
        Deno.execPath(),
        ["run", ...PERMS, "helloworld/client.ts", hello.address, "Deno"],
        dir,
      );
      assertEquals(r.code, 0, r.stderr);
      assertEquals(r.stdout.trim(), "Greeting: Hello Deno");
    } finally {
      assertEquals(await hello.interrupt(), 0, hello.output());
    }

    const route = await startServer(dir, "routeguide/server.ts");
    try {
      const r = await run(
        Deno.execPath(),
        ["run", ...PERMS, "routeguide/client.ts", route.address],
        dir,
      );
      assertEquals(r.code, 0, r.stderr);
      assertMatch(r.stdout, /ListFeatures: \d+ features/);
    } finally {
      assertEquals(await route.interrupt(), 0, route.output());
    }

    const demo = await run(Deno.execPath(), ["run", ...PERMS, "helloworld/demo.ts"], dir);
    assertEquals(demo.code, 0, demo.stderr);
    assert(demo.stdout.includes("Greeting: Hello world"), demo.stdout);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
