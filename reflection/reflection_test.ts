import { assertEquals, assertRejects } from "@std/assert";
import { type ClientConn, Code, dial, insecure, loadProto, Server, StatusError } from "@seed/grpc";
import { HealthServer } from "@seed/grpc/health";
import {
  ReflectionClient,
  reflectionServiceV1,
  reflectionServiceV1Alpha,
  registerReflection,
} from "./mod.ts";
import { decodeFileDescriptorProto } from "../protodesc/descriptor_proto.ts";

const ROOT = new URL("../", import.meta.url);
const FIXTURES = new URL("tests/fixtures/protos/", ROOT);

async function withServer(body: (conn: ClientConn) => Promise<void>): Promise<void> {
  const server = new Server();
  const catalog = await loadProto(new URL("catalog/catalog.proto", FIXTURES), {
    includeDirs: [FIXTURES],
  });
  server.addService(catalog["catalog.v1.Catalog"], {});
  const interop = await loadProto(new URL("tests/interop/grpc/testing/test.proto", ROOT), {
    includeDirs: [new URL("tests/interop/", ROOT)],
  });
  server.addService(interop["grpc.testing.TestService"], {});
  new HealthServer().register(server);
  registerReflection(server);
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const serving = server.serve(listener);
  const conn = await dial(`127.0.0.1:${listener.addr.port}`, { credentials: insecure() });
  try {
    await body(conn);
  } finally {
    await conn.close();
    await server.stop();
    await serving;
  }
}

const names = (files: Uint8Array[]) => files.map((b) => decodeFileDescriptorProto(b).name);

Deno.test("reflection lists every registered service, itself included, sorted", async () => {
  await withServer(async (conn) => {
    const client = new ReflectionClient(conn);
    assertEquals(await client.listServices(), [
      "catalog.v1.Catalog",
      "grpc.health.v1.Health",
      "grpc.reflection.v1.ServerReflection",
      "grpc.reflection.v1alpha.ServerReflection",
      "grpc.testing.TestService",
    ]);
    client.close();
  });
});

Deno.test("reflection finds the file of every kind of symbol, with its imports once per stream", async () => {
  await withServer(async (conn) => {
    const client = new ReflectionClient(conn);
    // The file first, then its imports breadth first (grpc-go's order).
    assertEquals(names(await client.fileContainingSymbol("catalog.v1.Catalog")), [
      "catalog/catalog.proto",
      "common/money.proto",
      "catalog/legacy.proto",
      "google/protobuf/timestamp.proto",
    ]);
    // Already sent on this stream: the requested file again, its imports not.
    for (
      const symbol of [
        "catalog.v1.Catalog.GetItem", // method
        "catalog.v1.Item", // message
        "catalog.v1.Item.Variant", // nested message
        "catalog.v1.Item.Variant.Size", // nested enum
        "catalog.v1.Item.Variant.SMALL", // nested enum value
        "catalog.v1.Item.StockByRegionEntry", // map entry
        "catalog.v1.Item.price", // field
        "catalog.v1.Item.source", // oneof
        "catalog.v1.Availability", // enum
        "catalog.v1.IN_STOCK", // enum value
      ]
    ) {
      assertEquals(names(await client.fileContainingSymbol(symbol)), ["catalog/catalog.proto"]);
    }
    assertEquals(names(await client.fileContainingSymbol("catalog.legacy.legacy_score")), [
      "catalog/legacy.proto",
    ]);
    assertEquals(
      names(await client.fileContainingSymbol("catalog.legacy.LegacyItem.nested_note")),
      ["catalog/legacy.proto"],
    );
    // Symbols of files the server loaded but does not serve a service from.
    assertEquals(names(await client.fileContainingSymbol("common.Money")), [
      "common/money.proto",
    ]);
    assertEquals(names(await client.fileContainingSymbol("grpc.testing.SimpleRequest")), [
      "grpc/testing/messages.proto",
    ]);
    assertEquals(names(await client.fileContainingSymbol("grpc.testing.TestService")), [
      "grpc/testing/test.proto",
      "grpc/testing/empty.proto",
    ]);
    client.close();
  });
});

Deno.test("reflection answers file_by_filename, extensions, and NOT_FOUND without ending the stream", async () => {
  await withServer(async (conn) => {
    const client = new ReflectionClient(conn);
    assertEquals(names(await client.fileByFilename("grpc/health/v1/health.proto")), [
      "grpc/health/v1/health.proto",
    ]);
    assertEquals(await client.allExtensionNumbersOfType("catalog.legacy.LegacyItem"), [
      100,
      101,
      150,
    ]);
    assertEquals(await client.allExtensionNumbersOfType("catalog.v1.Item"), []);
    assertEquals(names(await client.fileContainingExtension("catalog.legacy.LegacyItem", 150)), [
      "catalog/legacy.proto",
    ]);
    for (
      const ask of [
        () => client.fileByFilename("nope.proto"),
        () => client.fileContainingSymbol("nope.Nope"),
        () => client.fileContainingExtension("catalog.legacy.LegacyItem", 102),
        () => client.allExtensionNumbersOfType("nope.Nope"),
      ]
    ) {
      const err = await assertRejects(ask, StatusError);
      assertEquals(err.code, Code.NotFound);
    }
    // The same stream still answers.
    assertEquals((await client.listServices()).length, 5);
    assertEquals(client.version, "v1");
    client.close();
  });
});

Deno.test("reflection v1 and v1alpha answer the same, echoing the request and host", async () => {
  await withServer(async (conn) => {
    for (const service of [reflectionServiceV1, reflectionServiceV1Alpha]) {
      const stream = conn.newStream(service.methods.serverReflectionInfo);
      await stream.sendMsg({ host: "example.com", fileContainingSymbol: "grpc.health.v1.Health" });
      const reply = await stream.recvMsg() as Record<string, unknown> & {
        fileDescriptorResponse: { fileDescriptorProto: Uint8Array[] };
      };
      assertEquals(reply.validHost, "example.com");
      assertEquals(reply.originalRequest, {
        host: "example.com",
        fileContainingSymbol: "grpc.health.v1.Health",
        messageRequest: "fileContainingSymbol",
      });
      assertEquals(reply.messageResponse, "fileDescriptorResponse");
      const file = decodeFileDescriptorProto(reply.fileDescriptorResponse.fileDescriptorProto[0]);
      assertEquals(file.service[0].method.map((m) => m.name), ["Check", "List", "Watch"]);
      // A request with no message_request set ends the stream INVALID_ARGUMENT (grpc-go).
      await stream.sendMsg({ host: "" });
      const err = await assertRejects(() => stream.recvMsg(), StatusError);
      assertEquals(err.code, Code.InvalidArgument);
    }
  });
});

Deno.test("ReflectionClient falls back to v1alpha when the server has only v1alpha", async () => {
  const server = new Server();
  server.addService(reflectionServiceV1Alpha, {
    serverReflectionInfo: async function* (reqs: AsyncIterable<unknown>) {
      for await (const _ of reqs) yield { listServicesResponse: { service: [{ name: "old.S" }] } };
    },
  });
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const serving = server.serve(listener);
  const conn = await dial(`127.0.0.1:${listener.addr.port}`, { credentials: insecure() });
  try {
    const client = new ReflectionClient(conn);
    assertEquals(await client.listServices(), ["old.S"]);
    assertEquals(client.version, "v1alpha");
    assertEquals(await client.listServices(), ["old.S"]);
    client.close();
  } finally {
    await conn.close();
    await server.stop();
    await serving;
  }
});

Deno.test("ReflectionClient opens a new stream after one failed", async () => {
  const server = new Server();
  let calls = 0;
  server.addService(reflectionServiceV1, {
    serverReflectionInfo: async function* (reqs: AsyncIterable<unknown>) {
      if (++calls === 1) throw new StatusError(Code.Unavailable, "try again");
      for await (const _ of reqs) yield { listServicesResponse: { service: [{ name: "a.S" }] } };
    },
  });
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const serving = server.serve(listener);
  const conn = await dial(`127.0.0.1:${listener.addr.port}`, { credentials: insecure() });
  try {
    const client = new ReflectionClient(conn);
    const err = await assertRejects(() => client.listServices(), StatusError);
    assertEquals(err.code, Code.Unavailable);
    assertEquals(await client.listServices(), ["a.S"]);
    assertEquals([calls, client.version], [2, "v1"]);
    client.close();
  } finally {
    await conn.close();
    await server.stop();
    await serving;
  }
});
