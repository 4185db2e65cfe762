// A Connect-ES (@connectrpc/connect-node 2.1.2) peer speaking the gRPC protocol with brotli
// (`grpc-encoding: br`), for @seed/grpc's tests/connect_test.ts. Connect-ES is the one gRPC peer
// with brotli (grpc-go and grpc-js have none).
//
//   node connect_echo.mjs --mode=server [--port=0]
//     Serves peer.Echo/Unary (echo.proto: echoes the message) over h2c, accepting only br (so
//     responses to a client that accepts br are br); prints `READY port=N`.
//   node connect_echo.mjs --mode=client --server_port=P [--server_host=H]
//     Calls peer.Echo/Unary with br requests, accepting only br: a small message, 1 MiB of
//     compressible text and an empty one, each echoed unchanged in a br response. Last stdout line
//     `PASS brotli` (exit 0) or `FAIL brotli: reason` (exit 1); exit 2 on bad flags.
//
// No generated code: the service descriptor is built from a FileDescriptorProto with the same
// names and numbers as echo.proto (only the fields used here).
import http2 from "node:http2";
import { createRequire } from "node:module";
// require(): the packages resolve from tests/peers/node_modules under Node, and `deno check`
// (which sees this file through `deno task check`) does not try to resolve them.
const require = createRequire(import.meta.url);
const { create, createFileRegistry } = require("@bufbuild/protobuf");
const { FileDescriptorProtoSchema } = require("@bufbuild/protobuf/wkt");
const { createClient } = require("@connectrpc/connect");
const { compressionBrotli, connectNodeAdapter, createGrpcTransport } = require(
  "@connectrpc/connect-node",
);
import { finish, parseClientArgs, parseFlags, runReported } from "./_cli.mjs";

// google.protobuf.FieldDescriptorProto: TYPE_STRING 9, TYPE_BYTES 12, TYPE_INT32 5;
// LABEL_OPTIONAL 1.
const file = create(FileDescriptorProtoSchema, {
  name: "echo.proto",
  package: "peer",
  syntax: "proto3",
  messageType: [{
    name: "EchoMsg",
    field: [
      { name: "text", number: 1, type: 9, label: 1, jsonName: "text" },
      { name: "data", number: 2, type: 12, label: 1, jsonName: "data" },
      { name: "count", number: 3, type: 5, label: 1, jsonName: "count" },
    ],
  }],
  service: [{
    name: "Echo",
    method: [{
      name: "Unary",
      inputType: ".peer.EchoMsg",
      outputType: ".peer.EchoMsg",
    }],
  }],
});
const registry = createFileRegistry(file, () => undefined);
const Echo = registry.getService("peer.Echo");
const EchoMsg = registry.getMessage("peer.EchoMsg");

class Failure extends Error {}

function serve(flags) {
  const routes = (router) => router.service(Echo, { unary: (req) => req });
  const handler = connectNodeAdapter({
    routes,
    acceptCompression: [compressionBrotli],
  });
  const server = http2.createServer(handler);
  server.listen(Number(flags.port ?? 0), "127.0.0.1", () => {
    process.stdout.write(`READY port=${server.address().port}\n`);
  });
  const stop = () => process.exit(0);
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

async function callAll(address) {
  const transport = createGrpcTransport({
    baseUrl: `http://${address}`,
    sendCompression: compressionBrotli,
    acceptCompression: [compressionBrotli],
    compressMinBytes: 0,
  });
  const client = createClient(Echo, transport);
  const big = "brotli over gRPC ".repeat(64 * 1024); // ~1 MiB
  const cases = [
    { text: "hello", data: new Uint8Array([1, 2, 3]), count: 7 },
    { text: big, data: new Uint8Array(0), count: 1 },
    { text: "", data: new Uint8Array(0), count: 0 },
  ];
  for (const c of cases) {
    let encoding = null;
    const res = await client.unary(create(EchoMsg, c), {
      onHeader: (h) => {
        encoding = h.get("grpc-encoding");
      },
    });
    if (encoding !== "br") {
      throw new Failure(`response grpc-encoding ${encoding}, want br`);
    }
    if (
      res.text !== c.text || res.count !== c.count ||
      !equalBytes(res.data, c.data)
    ) {
      throw new Failure(`echo of ${c.text.length} chars came back different`);
    }
  }
}

function equalBytes(a, b) {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

const mode = (() => {
  try {
    return parseFlags(process.argv.slice(2)).mode;
  } catch (err) {
    finish(2, `bad flags: ${err.message}`);
  }
})();
if (mode === "server") {
  serve(parseFlags(process.argv.slice(2)));
} else if (mode === "client") {
  const argv = process.argv.slice(2).filter((a) => !a.startsWith("--mode"));
  const { address } = parseClientArgs([...argv, "--case=brotli"], "case", {
    brotli: 1,
  }, "case");
  await runReported("brotli", () => callAll(address), 30_000, Failure);
} else {
  finish(2, `bad --mode ${JSON.stringify(mode)}; known: server client`);
}
