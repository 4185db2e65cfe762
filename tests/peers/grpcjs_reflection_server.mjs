// A grpc-js server with @grpc/reflection (and grpc-health-check), for @seed/grpc's CLI tests
// (tests/cli_test.ts): routeguide.RouteGuide (examples/routeguide/route_guide.proto) and
// catalog.v1.Catalog (tests/fixtures/protos/catalog/catalog.proto).
//
//   node grpcjs_reflection_server.mjs --port=0     prints `READY port=N`; SIGTERM stops it
//
//   GetFeature(Point p): Feature { name: "feature at <lat>,<lng>", location: p }
//   ListFeatures(Rectangle r): two Features, at r.lo and r.hi
//   RecordRoute(stream Point): RouteSummary { point_count: number of points }
//   RouteChat(stream RouteNote): each note echoed back
//   Catalog.GetItem(GetItemRequest r): a fixed Item with id r.item_id (timestamp, map, oneof)
//   Health: "" SERVING, "routeguide.RouteGuide" NOT_SERVING

import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { parseFlags } from "./_cli.mjs";

const require = createRequire(import.meta.url);
const grpc = require("@grpc/grpc-js");
const protoLoader = require("@grpc/proto-loader");
const { ReflectionService } = require("@grpc/reflection");
const { HealthImplementation } = require("grpc-health-check");

const ROUTEGUIDE = fileURLToPath(new URL("../../examples/routeguide/", import.meta.url));
const FIXTURES = fileURLToPath(new URL("../fixtures/protos/", import.meta.url));
const OPTIONS = { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true };

const pkg = protoLoader.loadSync(["route_guide.proto", "catalog/catalog.proto"], {
  ...OPTIONS,
  includeDirs: [ROUTEGUIDE, FIXTURES],
});
const loaded = grpc.loadPackageDefinition(pkg);

const feature = (p) => ({ name: `feature at ${p.latitude},${p.longitude}`, location: p });
const server = new grpc.Server();
server.addService(loaded.routeguide.RouteGuide.service, {
  GetFeature: (call, done) => done(null, feature(call.request)),
  ListFeatures: (call) => {
    call.write(feature(call.request.lo));
    call.write(feature(call.request.hi));
    call.end();
  },
  RecordRoute: (call, done) => {
    let count = 0;
    call.on("data", () => count++);
    call.on("end", () => done(null, { point_count: count }));
  },
  RouteChat: (call) => {
    call.on("data", (note) => call.write(note));
    call.on("end", () => call.end());
  },
});
server.addService(loaded.catalog.v1.Catalog.service, {
  GetItem: (call, done) =>
    done(null, {
      id: call.request.item_id,
      price: { currency_code: "EUR", units: "12" },
      updated_at: { seconds: "1700000000", nanos: 500000000 },
      stock_by_region: { eu: "IN_STOCK" },
      vendor_name: "acme",
      note: "fragile",
    }),
});
new ReflectionService(pkg).addToServer(server);
const health = new HealthImplementation({ "": "SERVING", "routeguide.RouteGuide": "NOT_SERVING" });
health.addToServer(server);

const port = Number(parseFlags(process.argv.slice(2)).port ?? 0);
server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err, bound) => {
  if (err) {
    console.error(`Cannot bind: ${err.message}`);
    process.exit(1);
  }
  process.stdout.write(`READY port=${bound}\n`);
});
const stop = () => {
  server.forceShutdown();
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
