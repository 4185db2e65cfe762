// Compile-time checks: generated definitions type handlers and clients with no annotations, and
// a wrongly typed handler or request fails `deno check` (each `@ts-expect-error` below must
// have an error to expect, or this file does not type-check and the test run fails).

import { assertEquals } from "@std/assert";
import {
  type ClientConn,
  createClient,
  type MethodDefinition,
  type Server,
  type ServiceDefinition,
} from "@seed/grpc";
import { Hello, type HelloClient } from "../../examples/helloworld/hello_pb.ts";
import { RouteGuide } from "../../examples/routeguide/route_guide_pb.ts";
import { KitchenEcho } from "./gen/kitchen_sink_pb.ts";

// Never called: only type-checked.
function typeChecks(server: Server, conn: ClientConn): void {
  server.addService(Hello, {
    // The request's type comes from the definition: `req.name` is a string.
    sayHello: (req) => ({ message: req.name.toUpperCase() }),
  });
  server.addService(Hello, {
    // @ts-expect-error: the handler returns a number where a HelloRep is expected.
    sayHello: () => 42,
  });
  server.addService(Hello, {
    // @ts-expect-error: HelloReq has no field `nam`.
    sayHello: (req) => ({ message: req.nam }),
  });
  server.addService(Hello, {
    // @ts-expect-error: the service has no method `sayGoodbye`.
    sayGoodbye: () => ({}),
  });
  server.addService(RouteGuide, {
    // Streaming kinds are inferred too: `points` is an AsyncIterable of Points.
    recordRoute: async (points) => {
      let n = 0;
      for await (const p of points) n += p.latitude;
      return { pointCount: n };
    },
    // @ts-expect-error: a server-streaming handler must return an iterable, not a promise.
    // deno-lint-ignore require-await
    listFeatures: async (rect) => ({ name: String(rect.lo?.latitude) }),
  });

  const client = createClient(Hello, conn);
  const typed: HelloClient = client; // the generated client interface is what createClient makes
  void typed.sayHello({ name: "x" }).then((reply) => reply.message.toUpperCase());
  // @ts-expect-error: `name` is a string.
  void client.sayHello({ name: 42 });
  // @ts-expect-error: HelloReqInit has no field `nam`.
  void client.sayHello({ nam: "x" });
  // @ts-expect-error: a unary method has no stream to iterate.
  for (const _ of client.sayHello({ name: "x" })) break;

  const kitchen = createClient(KitchenEcho, conn);
  // 64-bit fields take strings, numbers and bigints; enums names or numbers.
  void kitchen.echo({ optInt64: 5n, scalars: { fUint64: 7 }, color: "RED", colors: [1] });
  // @ts-expect-error: "PURPLE" is not a Color.
  void kitchen.echo({ color: "PURPLE" });
  void kitchen.echo({}).then((r) => {
    // Decoded 64-bit fields are strings (longs: "string"): this is a string method.
    r.scalars?.fInt64.padStart(3);
    // @ts-expect-error: and not a number.
    r.scalars?.fInt64.toFixed();
  });

  // A definition typed by hand works the same way.
  type Echo = ServiceDefinition<{
    ping: MethodDefinition<{ n: number }, { n: number }, false, true>;
  }>;
  const echo = {} as Echo;
  server.addService(echo, {
    ping: async function* (req) {
      yield { n: req.n + 1 };
    },
  });
  for (const _ of [createClient(echo, conn).ping({ n: 1 })]) break;
}

Deno.test("generated definitions type handlers and clients (see the @ts-expect-error lines)", () => {
  // The checks are the type-check of this file; make sure the function exists.
  assertEquals(typeof typeChecks, "function");
});
