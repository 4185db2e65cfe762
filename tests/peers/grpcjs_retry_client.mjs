// A grpc-js (@grpc/grpc-js 1.14.7) client for retry tests: one unary call to /test.Retry/Unary
// (string messages, as tests/_fault_server.ts) under the service config given as JSON, so the
// Deno side can compare what its fault server saw from grpc-js with what it sees from ours.
//
//   node grpcjs_retry_client.mjs --server_port=P --service_config=JSON --request=TEXT
//
// Prints one line `OK <response>` or `ERROR <code> <details>`; exit 0 either way, 2 for bad flags.

import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const grpc = require("@grpc/grpc-js");

const args = Object.fromEntries(
  process.argv.slice(2).map((a) => {
    const i = a.indexOf("=");
    return i < 0 ? [a.replace(/^--/, ""), ""] : [a.slice(2, i), a.slice(i + 1)];
  }),
);
if (!args.server_port || !args.service_config) {
  console.error("usage: --server_port=P --service_config=JSON [--request=TEXT]");
  process.exit(2);
}

const Client = grpc.makeGenericClientConstructor({
  unary: {
    path: "/test.Retry/Unary",
    requestStream: false,
    responseStream: false,
    requestSerialize: (s) => Buffer.from(s, "utf8"),
    requestDeserialize: (b) => b.toString("utf8"),
    responseSerialize: (s) => Buffer.from(s, "utf8"),
    responseDeserialize: (b) => b.toString("utf8"),
  },
}, "Retry");
const client = new Client(`127.0.0.1:${args.server_port}`, grpc.credentials.createInsecure(), {
  "grpc.service_config": args.service_config,
});
client.unary(args.request ?? "hi", { deadline: Date.now() + 20_000 }, (err, res) => {
  if (err) console.log(`ERROR ${err.code} ${err.details}`);
  else console.log(`OK ${res}`);
  client.close();
});
