// The routeguide server: the four RPC kinds.
//   deno run --allow-net --allow-read server.ts [port]   (50051 by default, 0 for any free port)
// Ctrl-C drains it for up to 10 s; a second Ctrl-C stops it now.

import { loadProto, Server, type ServerContext, stopOnSignals } from "@seed/grpc";

/** A point on the map, in E7 degrees. */
export interface Point {
  latitude: number;
  longitude: number;
}
/** A named place. */
export interface Feature {
  name: string;
  location: Point | null;
}
interface Rectangle {
  lo: Point | null;
  hi: Point | null;
}
interface RouteNote {
  location: Point | null;
  message: string;
}

const COORD_FACTOR = 1e7;

// Great-circle distance in metres (haversine formula).
function distance(p1: Point, p2: Point): number {
  const rad = (d: number) => (d / COORD_FACTOR) * Math.PI / 180;
  const lat1 = rad(p1.latitude), lat2 = rad(p2.latitude);
  const dLat = lat2 - lat1, dLon = rad(p2.longitude) - rad(p1.longitude);
  const a = Math.sin(dLat / 2) ** 2 + Math.cos(lat1) * Math.cos(lat2) * Math.sin(dLon / 2) ** 2;
  return Math.round(6371000 * 2 * Math.atan2(Math.sqrt(a), Math.sqrt(1 - a)));
}

function sameSpot(a: Point | null, b: Point | null): boolean {
  return a !== null && b !== null && a.latitude === b.latitude && a.longitude === b.longitude;
}

/** Builds the routeguide server over the features in `route_guide_db.json`. */
export async function createRouteGuideServer(): Promise<Server> {
  const features: Feature[] = JSON.parse(
    await Deno.readTextFile(new URL("./route_guide_db.json", import.meta.url)),
  );
  const services = await loadProto(new URL("./route_guide.proto", import.meta.url));
  const notes = new Map<string, RouteNote[]>();
  const server = new Server();
  server.addService(services["routeguide.RouteGuide"], {
    // Unary: the feature at a point, or an unnamed feature.
    getFeature: (point: Point): Feature =>
      features.find((f) => sameSpot(f.location, point)) ?? { name: "", location: point },
    // Server streaming: every named feature inside the rectangle.
    listFeatures: async function* (rect: Rectangle, ctx: ServerContext) {
      const lo = rect.lo ?? { latitude: 0, longitude: 0 };
      const hi = rect.hi ?? { latitude: 0, longitude: 0 };
      const [left, right] = [
        Math.min(lo.longitude, hi.longitude),
        Math.max(lo.longitude, hi.longitude),
      ];
      const [bottom, top] = [
        Math.min(lo.latitude, hi.latitude),
        Math.max(lo.latitude, hi.latitude),
      ];
      for (const f of features) {
        if (ctx.signal.aborted) return;
        const p = f.location;
        if (
          f.name !== "" && p !== null && p.longitude >= left && p.longitude <= right &&
          p.latitude >= bottom && p.latitude <= top
        ) yield f;
      }
    },
    // Client streaming: a summary of the route the client walked.
    recordRoute: async (points: AsyncIterable<Point>) => {
      const start = Date.now();
      let pointCount = 0, featureCount = 0, dist = 0;
      let last: Point | null = null;
      for await (const p of points) {
        pointCount++;
        if (features.some((f) => f.name !== "" && sameSpot(f.location, p))) featureCount++;
        if (last !== null) dist += distance(last, p);
        last = p;
      }
      return {
        pointCount,
        featureCount,
        distance: dist,
        elapsedTime: Math.round((Date.now() - start) / 1000),
      };
    },
    // Bidi: each note comes back with every earlier note at the same spot.
    routeChat: async function* (incoming: AsyncIterable<RouteNote>) {
      for await (const note of incoming) {
        const key = `${note.location?.latitude} ${note.location?.longitude}`;
        const earlier = notes.get(key) ?? [];
        yield* earlier;
        notes.set(key, [...earlier, note]);
      }
    },
  });
  return server;
}

if (import.meta.main) {
  const port = Number(Deno.args[0] ?? "50051");
  const server = await createRouteGuideServer();
  const listener = Deno.listen({ hostname: "127.0.0.1", port });
  const serving = server.serve(listener);
  console.log(`routeguide server listening on 127.0.0.1:${listener.addr.port}`);
  stopOnSignals(server);
  await serving;
}
