// The CLI end to end: against our server (reflection v1, health, the catalog fixtures and the
// well-known types) and against a grpc-js server with @grpc/reflection and grpc-health-check.
// Most runs call main() in-process; the ones about the process itself (exit code, stdin,
// stdout, the `./cli` entry) run `deno run -A cli/main.ts` as a subprocess.

import { assertEquals, assertStringIncludes } from "@std/assert";
import { delay } from "@std/async/delay";
import { Code, loadProto, Server, type ServerContext, serverTls, StatusError } from "@seed/grpc";
import { HealthServer } from "@seed/grpc/health";
import { registerReflection } from "@seed/grpc/reflection";
import { main } from "@seed/grpc/cli";
import { ensureNodePeers, startNodeServer } from "./_peers.ts";
import { ROOT } from "./_procs.ts";
import { testCerts } from "./_certs.ts";

const FIXTURES = `${ROOT}tests/fixtures/protos`;

interface Run {
  code: number;
  stdout: string[];
  stderr: string[];
}

async function cli(args: string[], stdin?: string): Promise<Run> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const code = await main(args, {
    stdout: (line) => stdout.push(line),
    stderr: (line) => stderr.push(line),
    stdin: stdin === undefined ? undefined : ReadableStream.from([new TextEncoder().encode(stdin)]),
  });
  return { code, stdout, stderr };
}

async function cliProcess(args: string[], stdin = ""): Promise<Run> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${ROOT}cli/main.ts`, ...args],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(stdin));
  await writer.close();
  const out = await child.output();
  const lines = (b: Uint8Array) => new TextDecoder().decode(b).split("\n").filter((l) => l);
  return { code: out.code, stdout: lines(out.stdout), stderr: lines(out.stderr) };
}

const ITEM = {
  price: { currencyCode: "EUR", units: "12" },
  updatedAt: { seconds: 1700000000, nanos: 500000000 },
  stockByRegion: { eu: "IN_STOCK" },
  vendorName: "acme",
  note: "fragile",
};
const ITEM_JSON = {
  price: { currencyCode: "EUR", units: "12" },
  updatedAt: "2023-11-14T22:13:20.500Z",
  stockByRegion: { eu: "IN_STOCK" },
  vendorName: "acme",
  note: "fragile",
};

async function startOurServer(): Promise<{ addr: string; stop: () => Promise<void> }> {
  const server = new Server();
  const catalog = await loadProto(`${FIXTURES}/catalog/catalog.proto`, {
    includeDirs: [FIXTURES],
  });
  server.addService(catalog["catalog.v1.Catalog"], {
    getItem: (req: { itemId: string }) => {
      if (req.itemId === "missing") {
        const money = catalog["catalog.v1.Catalog"].methods.getItem.responseCodec;
        throw new StatusError(Code.NotFound, "no such item", {
          details: [{ typeUrl: "type.googleapis.com/catalog.v1.Item", value: money.encode(ITEM) }],
        });
      }
      return { id: req.itemId, ...ITEM };
    },
    listItems: function* (req: { pageSize: number }) {
      for (let i = 0; i < req.pageSize; i++) yield { id: `item-${i}` };
    },
    import: async (items: AsyncIterable<{ id: string }>) => {
      const errors: string[] = [];
      let imported = 0;
      for await (const item of items) item.id === "" ? errors.push("empty id") : imported++;
      return { imported, errors };
    },
    sync: async function* (events: AsyncIterable<Record<string, unknown>>) {
      for await (const event of events) yield event;
    },
  });
  const wkt = await loadProto(`${FIXTURES}/wkt/well_known.proto`);
  server.addService(wkt["wkt.Types"], {
    echo: async (all: unknown, ctx: ServerContext) => {
      if (ctx.metadata.get("x-sleep") !== undefined) {
        await delay(60_000, { signal: ctx.signal }).catch(() => {});
      }
      return all;
    },
  });
  const health = new HealthServer();
  health.setServingStatus("catalog.v1.Catalog", "NOT_SERVING");
  health.register(server);
  registerReflection(server);
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const serving = server.serve(listener);
  return {
    addr: `127.0.0.1:${listener.addr.port}`,
    stop: async () => {
      await server.stop();
      await serving;
    },
  };
}

Deno.test("CLI against our server: list, describe, every call kind, health, errors", async (t) => {
  const { addr, stop } = await startOurServer();
  try {
    await t.step("list", async () => {
      assertEquals((await cli(["list", addr, "--plaintext"])).stdout, [
        "catalog.v1.Catalog",
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
        "grpc.reflection.v1alpha.ServerReflection",
        "wkt.Types",
      ]);
      assertEquals((await cli(["--plaintext", "list", addr, "catalog.v1.Catalog"])).stdout, [
        "catalog.v1.Catalog.GetItem",
        "catalog.v1.Catalog.ListItems",
        "catalog.v1.Catalog.Import",
        "catalog.v1.Catalog.Sync",
      ]);
    });

    await t.step("describe", async () => {
      const method = await cli(["describe", addr, "catalog.v1.Catalog.Sync", "--plaintext"]);
      assertEquals(method.stdout, [
        "catalog.v1.Catalog.Sync is a method:\n" +
        "rpc Sync ( stream .catalog.v1.SyncEvent ) returns ( stream .catalog.v1.SyncEvent );",
      ]);
      const message = await cli(["describe", addr, "catalog.v1.GetItemRequest", "--plaintext"]);
      assertEquals(message.stdout, [
        "catalog.v1.GetItemRequest is a message:\n" +
        "message GetItemRequest {\n" +
        '  string item_id = 1 [json_name = "id"];\n' +
        "  optional bool include_reviews = 2;\n" +
        "}",
      ]);
      const item = (await cli(["describe", addr, "catalog.v1.Item", "--plaintext"])).stdout[0];
      assertStringIncludes(item, "  map<string, .catalog.v1.Availability> stock_by_region = 5;\n");
      assertStringIncludes(item, "  oneof source {\n    string vendor_name = 6;\n");
      assertStringIncludes(item, "    map<int64, .catalog.v1.Item.Variant> replacements = 3;\n");
      const legacy = (await cli(["describe", addr, "catalog.legacy.LegacyItem", "--plaintext"]))
        .stdout[0];
      assertStringIncludes(legacy, "  required string code = 1;\n");
      assertStringIncludes(legacy, "  optional int32 quantity = 2;\n");
      assertStringIncludes(
        legacy,
        "  extend .catalog.legacy.LegacyItem { optional string nested_note = 150; }\n",
      );
      const enumRun = await cli(["describe", addr, "catalog.v1.Item.Variant.Size", "--plaintext"]);
      assertEquals(enumRun.stdout, [
        "catalog.v1.Item.Variant.Size is an enum:\n" +
        "enum Size {\n  SIZE_UNSPECIFIED = 0;\n  SMALL = 1;\n  LARGE = 2;\n}",
      ]);
      const field = await cli(["describe", addr, "catalog.v1.Item.updated_at", "--plaintext"]);
      assertEquals(field.stdout, [
        "catalog.v1.Item.updated_at is a field:\n.google.protobuf.Timestamp updated_at = 3;",
      ]);
      const missing = await cli(["describe", addr, "catalog.v1.Nope", "--plaintext"]);
      assertEquals([missing.code, missing.stderr], [Code.NotFound, [
        "ERROR: NOT_FOUND symbol not found: catalog.v1.Nope",
      ]]);
    });

    await t.step("unary call with proto3 JSON (json_name, Timestamp, map, oneof)", async () => {
      const run = await cli([
        "call",
        addr,
        "catalog.v1.Catalog/GetItem",
        "-d",
        '{"id": "x1"}',
        "--plaintext",
      ]);
      assertEquals(run.code, 0, run.stderr.join("\n"));
      assertEquals(run.stdout.map((l) => JSON.parse(l)), [{ id: "x1", ...ITEM_JSON }]);
    });

    await t.step(
      "well-known types both ways (Any, Struct, Duration, wrappers, Timestamp)",
      async () => {
        const all = {
          any: { "@type": "type.googleapis.com/google.protobuf.Duration", value: "2s" },
          duration: "1.500s",
          mask: "a.b,c",
          struct: { k: [1, "x", null, true] },
          value: "text",
          list: [1, 2],
          null: null,
          at: "2024-02-29T12:00:00Z",
          count: "9007199254740993",
          blob: "AQI=",
        };
        const run = await cli([
          "call",
          addr,
          "wkt.Types.Echo",
          "--plaintext",
          "-d",
          JSON.stringify(all),
        ]);
        assertEquals(run.code, 0, run.stderr.join("\n"));
        const { null: _null, ...withoutNull } = all; // null is the default: not emitted
        assertEquals(JSON.parse(run.stdout[0]), withoutNull);
      },
    );

    await t.step("server streaming", async () => {
      const run = await cli([
        "call",
        addr,
        "catalog.v1.Catalog/ListItems",
        "-d",
        '{"pageSize": 3}',
        "--plaintext",
      ]);
      assertEquals(run.stdout, ['{"id":"item-0"}', '{"id":"item-1"}', '{"id":"item-2"}']);
    });

    await t.step("client streaming and bidi from -d @ (a process: stdin, stdout)", async () => {
      const imported = await cliProcess(
        ["call", "--plaintext", addr, "catalog.v1.Catalog/Import", "-d", "@"],
        '{"id": "a"}\n\n{"id": "b"}\n{}\n',
      );
      assertEquals(imported.code, 0, imported.stderr.join("\n"));
      assertEquals(imported.stdout, ['{"imported":"2","errors":["empty id"]}']);
      const sync = await cliProcess(
        ["call", addr, "catalog.v1.Catalog/Sync", "-d", "@", "--plaintext"],
        '{"deleteId": "a"}\n{"upsert": {"id": "b"}}',
      );
      assertEquals(sync.stdout, ['{"deleteId":"a"}', '{"upsert":{"id":"b"}}']);
      // Several JSON lines in -d work too.
      const lines = await cli([
        "call",
        addr,
        "catalog.v1.Catalog/Import",
        "--plaintext",
        "-d",
        '{"id": "a"}\n{"id": "b"}',
      ]);
      assertEquals(lines.stdout, ['{"imported":"2"}']);
    });

    await t.step("errors: status code as exit code, details decoded", async () => {
      const run = await cliProcess([
        "call",
        addr,
        "catalog.v1.Catalog/GetItem",
        "-d",
        '{"id": "missing"}',
        "--plaintext",
      ]);
      assertEquals(run.code, Code.NotFound);
      assertEquals(run.stderr[0], "ERROR: NOT_FOUND no such item");
      assertEquals(
        run.stderr[1].startsWith("  details: type.googleapis.com/catalog.v1.Item {"),
        true,
      );
      assertEquals(JSON.parse(run.stderr[1].slice(run.stderr[1].indexOf("{"))), ITEM_JSON);

      const badJson = await cli(["call", addr, "wkt.Types/Echo", "-d", "{nope", "--plaintext"]);
      assertEquals(badJson.code, Code.InvalidArgument);
      assertStringIncludes(badJson.stderr[0], "ERROR: INVALID_ARGUMENT bad request JSON");
      const badField = await cli([
        "call",
        addr,
        "wkt.Types/Echo",
        "-d",
        '{"nope": 1}',
        "--plaintext",
      ]);
      assertEquals(badField.code, Code.InvalidArgument);
      const noMethod = await cli(["call", addr, "wkt.Types/Nope", "--plaintext"]);
      assertEquals(noMethod.stderr, ["ERROR: NOT_FOUND service wkt.Types has no method Nope"]);
      const twoRequests = await cli([
        "call",
        addr,
        "wkt.Types/Echo",
        "-d",
        "{}\n{}",
        "--plaintext",
      ]);
      assertEquals(twoRequests.code, Code.InvalidArgument);
      const deadline = await cli([
        "call",
        addr,
        "wkt.Types/Echo",
        "-H",
        "x-sleep: yes",
        "--deadline",
        "200ms",
        "--plaintext",
      ]);
      assertEquals(deadline.code, Code.DeadlineExceeded);
      // The same deadline from --service-config's methodConfig (the channel applies it), and an
      // ipv4: target, which only the channel's resolvers understand.
      const config = JSON.stringify({
        loadBalancingConfig: [{ round_robin: {} }],
        methodConfig: [{ name: [{ service: "wkt.Types" }], timeout: "0.2s" }],
      });
      const configured = await cli([
        "call",
        `ipv4:${addr}`,
        "wkt.Types/Echo",
        "-H",
        "x-sleep: yes",
        "--service-config",
        config,
        "--plaintext",
      ]);
      assertEquals(configured.code, Code.DeadlineExceeded);
      const badConfig = await cli([
        "health",
        addr,
        "--service-config",
        '{"methodConfig": 5}',
        "--plaintext",
      ]);
      assertEquals(badConfig.code, Code.InvalidArgument);
      assertStringIncludes(badConfig.stderr[0], "methodConfig");
      const usage = await cliProcess(["call", addr]);
      assertEquals(usage.code, Code.InvalidArgument);
      assertStringIncludes(usage.stderr[0], "ERROR: INVALID_ARGUMENT");
    });

    await t.step("health", async () => {
      const serving = await cliProcess(["health", addr, "--plaintext"]);
      assertEquals([serving.code, serving.stdout], [0, ["SERVING"]]);
      const notServing = await cli(["health", addr, "catalog.v1.Catalog", "--plaintext"]);
      assertEquals([notServing.code, notServing.stdout], [Code.Unavailable, ["NOT_SERVING"]]);
      const unknown = await cli(["health", addr, "nope.Nope", "--plaintext"]);
      assertEquals([unknown.code, unknown.stderr], [Code.NotFound, [
        "ERROR: NOT_FOUND unknown service",
      ]]);
    });

    await t.step("--proto instead of reflection", async () => {
      const run = await cli([
        "call",
        addr,
        "catalog.v1.Catalog/GetItem",
        "--proto",
        "catalog/catalog.proto",
        "-I",
        FIXTURES,
        "-d",
        '{"id": "p"}',
        "--plaintext",
      ]);
      assertEquals(run.stdout.map((l) => JSON.parse(l)), [{ id: "p", ...ITEM_JSON }]);
    });
  } finally {
    await stop();
  }
});

Deno.test("CLI against grpc-js with @grpc/reflection: list, describe, call, health", async (t) => {
  await ensureNodePeers();
  await using peer = await startNodeServer("grpcjs_reflection_server.mjs");
  const addr = `127.0.0.1:${peer.port}`;
  await t.step("list", async () => {
    assertEquals((await cli(["list", addr, "--plaintext"])).stdout.sort(), [
      "catalog.v1.Catalog",
      "routeguide.RouteGuide",
    ]);
    assertEquals((await cli(["list", addr, "routeguide.RouteGuide", "--plaintext"])).stdout, [
      "routeguide.RouteGuide.GetFeature",
      "routeguide.RouteGuide.ListFeatures",
      "routeguide.RouteGuide.RecordRoute",
      "routeguide.RouteGuide.RouteChat",
    ]);
  });
  await t.step("describe", async () => {
    const run = await cli(["describe", addr, "routeguide.RouteGuide.RouteChat", "--plaintext"]);
    assertEquals(run.stdout, [
      "routeguide.RouteGuide.RouteChat is a method:\n" +
      "rpc RouteChat ( stream .routeguide.RouteNote ) returns ( stream .routeguide.RouteNote );",
    ]);
  });
  await t.step("every call kind; Timestamp as RFC 3339", async () => {
    const unary = await cli([
      "call",
      addr,
      "routeguide.RouteGuide/GetFeature",
      "-d",
      '{"latitude": 1, "longitude": 2}',
      "--plaintext",
    ]);
    assertEquals(unary.stdout, [
      '{"name":"feature at 1,2","location":{"latitude":1,"longitude":2}}',
    ]);
    const item = await cli([
      "call",
      addr,
      "catalog.v1.Catalog/GetItem",
      "-d",
      '{"item_id": "x1"}', // grpc-js's reflection drops json_name, so "id" is unknown there
      "--plaintext",
    ]);
    assertEquals(item.code, 0, item.stderr.join("\n"));
    assertEquals(JSON.parse(item.stdout[0]), { id: "x1", ...ITEM_JSON });
    const stream = await cli([
      "call",
      addr,
      "routeguide.RouteGuide/ListFeatures",
      "-d",
      '{"lo": {"latitude": 1}, "hi": {"latitude": 2}}',
      "--plaintext",
    ]);
    assertEquals(stream.stdout, [
      '{"name":"feature at 1,0","location":{"latitude":1}}',
      '{"name":"feature at 2,0","location":{"latitude":2}}',
    ]);
    const record = await cliProcess(
      ["call", addr, "routeguide.RouteGuide/RecordRoute", "-d", "@", "--plaintext"],
      '{"latitude": 1}\n{"latitude": 2}\n{"latitude": 3}\n',
    );
    assertEquals(record.stdout, ['{"pointCount":3}']);
    const chat = await cli(
      ["call", addr, "routeguide.RouteGuide/RouteChat", "-d", "@", "--plaintext"],
      '{"message": "a"}\n{"message": "b"}\n',
    );
    assertEquals(chat.stdout, ['{"message":"a"}', '{"message":"b"}']);
  });
  await t.step("health", async () => {
    assertEquals((await cli(["health", addr, "--plaintext"])).stdout, ["SERVING"]);
    const down = await cli(["health", addr, "routeguide.RouteGuide", "--plaintext"]);
    assertEquals([down.code, down.stdout], [Code.Unavailable, ["NOT_SERVING"]]);
  });
});

Deno.test("CLI over mutual TLS: --cacert, --cert, --key, --servername when dialling an IP", async () => {
  const certs = await testCerts();
  const server = new Server();
  new HealthServer().register(server);
  registerReflection(server);
  const creds = serverTls({
    cert: certs.read("server.pem"),
    key: certs.read("server.key"),
    caCerts: [certs.read("ca.pem")],
  });
  const listener = await creds.listen({ hostname: "127.0.0.1", port: 0 });
  const serving = server.serve(listener);
  const addr = `127.0.0.1:${listener.addr.port}`;
  const tlsFlags = [
    "--cacert",
    certs.path("ca.pem"),
    "--cert",
    certs.path("client.pem"),
    "--key",
    certs.path("client.key"),
    "--servername",
    "foo.test.google.fr",
  ];
  try {
    const health = await cli(["health", addr, ...tlsFlags]);
    assertEquals([health.code, health.stdout], [0, ["SERVING"]]);
    const list = await cli(["list", ...tlsFlags, addr]);
    assertEquals(list.code, 0);
    assertEquals(list.stdout.includes("grpc.health.v1.Health"), true);
    // Without the client certificate the server refuses the handshake: UNAVAILABLE.
    const noCert = await cli(["health", addr, "--cacert", certs.path("ca.pem")]);
    assertEquals(noCert.code, Code.Unavailable);
    // The wrong name fails verification.
    const badName = await cli(["health", addr, ...tlsFlags.slice(0, 6), "--servername", "x.y"]);
    assertEquals(badName.code, Code.Unavailable);
    // TLS flags with --plaintext, or --cert without --key: usage errors.
    assertEquals(
      (await cli(["health", addr, "--plaintext", ...tlsFlags])).code,
      Code.InvalidArgument,
    );
    const halfPair = await cli(["health", addr, "--cert", certs.path("client.pem")]);
    assertEquals(halfPair.code, Code.InvalidArgument);
  } finally {
    await server.stop();
    await serving;
  }
});
