// A grpc-js client of grpc.health.v1.Health built from the `grpc-health-check` package's
// service definition. @seed/grpc's tests/health_grpcjs_test.ts runs it against our
// HealthServer and drives the status changes it watches.
//
//   node grpcjs_health_client.mjs --server_port=P [--server_host=H] [--watch=SERVICE]
//
// It prints one line per answer, then watches SERVICE (default "watched") and prints each
// status the stream delivers, until the stream ends:
//   check "" SERVING | check <svc> ERROR <code>    Check("") and Check("unknown.Service")
//   list <JSON of {service: status}, keys sorted>   List
//   watch <STATUS>                                  each Watch message
//   watch end <code>                                the Watch stream's status; then exit 0

import { createRequire } from "node:module";
import { parseFlags } from "./_cli.mjs";

// require(), as the other peers do: Deno's type check then leaves node_modules alone.
const require = createRequire(import.meta.url);
const grpc = require("@grpc/grpc-js");
const health = require("grpc-health-check");

const flags = parseFlags(process.argv.slice(2));
const address = `${flags.server_host ?? "127.0.0.1"}:${flags.server_port}`;
const watched = flags.watch ?? "watched";
const Client = grpc.makeGenericClientConstructor(health.service, "Health");
const client = new Client(address, grpc.credentials.createInsecure());
const deadline = () => Date.now() + 10_000;

function unary(method, request) {
  return new Promise((resolve) => {
    client[method](request, { deadline: deadline() }, (err, reply) => resolve({ err, reply }));
  });
}

const whole = await unary("Check", { service: "" });
console.log(whole.err ? `check "" ERROR ${whole.err.code}` : `check "" ${whole.reply.status}`);
const unknown = await unary("Check", { service: "unknown.Service" });
console.log(
  unknown.err
    ? `check unknown.Service ERROR ${unknown.err.code}`
    : `check unknown.Service ${unknown.reply.status}`,
);
const list = await unary("List", {});
if (list.err) {
  console.log(`list ERROR ${list.err.code}`);
} else {
  const statuses = Object.fromEntries(
    Object.keys(list.reply.statuses).sort().map((k) => [k, list.reply.statuses[k].status]),
  );
  console.log(`list ${JSON.stringify(statuses)}`);
}

const stream = client.Watch({ service: watched });
stream.on("data", (m) => console.log(`watch ${m.status}`));
stream.on("error", (err) => {
  console.log(`watch end ${err.code}`);
  process.exit(0);
});
stream.on("end", () => {
  console.log("watch end 0");
  process.exit(0);
});
