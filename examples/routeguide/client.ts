// The routeguide client: one call of each RPC kind against the routeguide server.
//   deno run --allow-net --allow-read client.ts [address]   (127.0.0.1:50051 by default)

import { createClient, dial, insecure } from "@seed/grpc";
import { type Feature, type Point, RouteGuide, type RouteNoteInit } from "./route_guide_pb.ts";

const addr = Deno.args[0] ?? "127.0.0.1:50051";

const features: Feature[] = JSON.parse(
  await Deno.readTextFile(new URL("./route_guide_db.json", import.meta.url)),
);
await using conn = await dial(addr, {
  credentials: insecure(),
  block: true,
  signal: AbortSignal.timeout(10_000),
});
const client = createClient(RouteGuide, conn);

function show(p: Point | null): string {
  return p === null ? "?" : `(${p.latitude / 1e7}, ${p.longitude / 1e7})`;
}

// Unary: a point with a feature, then one without.
for (const point of [features[0].location!, { latitude: 0, longitude: 0 }]) {
  const feature = await client.getFeature(point, { timeoutMs: 10_000 });
  console.log(
    feature.name === ""
      ? `GetFeature: no feature at ${show(point)}`
      : `GetFeature: "${feature.name}" at ${show(feature.location)}`,
  );
}

// Server streaming: every feature in a rectangle.
const rect = {
  lo: { latitude: 370000000, longitude: -1230000000 },
  hi: { latitude: 390000000, longitude: -1210000000 },
};
let listed = 0;
for await (const f of client.listFeatures(rect, { timeoutMs: 10_000 })) {
  listed++;
  console.log(`ListFeatures: "${f.name}" at ${show(f.location)}`);
}
console.log(`ListFeatures: ${listed} features`);

// Client streaming: a route through ten random features.
function* route(): Generator<Point> {
  for (let i = 0; i < 10; i++) {
    yield features[Math.floor(Math.random() * features.length)].location!;
  }
}
const summary = await client.recordRoute(route(), { timeoutMs: 10_000 });
console.log(
  `RecordRoute: ${summary.pointCount} points, ${summary.featureCount} features, ` +
    `${summary.distance} m, ${summary.elapsedTime} s`,
);

// Bidi streaming: notes at a few spots; each note comes back with the earlier ones at its spot.
async function* notes(): AsyncGenerator<RouteNoteInit> {
  const spots = [
    { latitude: 0, longitude: 10_000_000 },
    { latitude: 0, longitude: 20_000_000 },
    { latitude: 0, longitude: 30_000_000 },
  ];
  for (let i = 0; i < 6; i++) {
    yield { location: spots[i % 3], message: `note ${i + 1}` };
  }
}
for await (const note of client.routeChat(notes(), { timeoutMs: 10_000 })) {
  console.log(`RouteChat: got "${note.message}" at ${show(note.location)}`);
}
