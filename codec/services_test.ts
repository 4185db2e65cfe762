// A service looked up without its package: createClient / addService name the key that missed
// and the keys there are, and the services object still behaves as a plain object.
//
//   deno test -A codec/services_test.ts

import { assert, assertEquals, assertStrictEquals, assertThrows } from "@std/assert";
import { createClient, insecure, loadProto, newClient, Server } from "@seed/grpc";

const source = `syntax = "proto3"; package kv;
  service KeyValue { rpc Get (M) returns (M); }
  service Other { rpc Get (M) returns (M); }
  message M { string key = 1; }`;

Deno.test("createClient(services[key without package]) names the key and lists the services", async () => {
  const services = await loadProto({ source });
  const conn = newClient("127.0.0.1:1", { credentials: insecure() });
  try {
    const err = assertThrows(() => createClient(services["KeyValue"], conn), TypeError);
    assertEquals(
      err.message,
      `Cannot create client: service is undefined: there is no service "KeyValue" (keys are full names, with the package); the services are "kv.KeyValue", "kv.Other"; did you mean services["kv.KeyValue"]?`,
    );
  } finally {
    await conn.close();
  }
});

Deno.test("Server.addService(services[missing]) names the key; a stale miss is not reported", async () => {
  const services = await loadProto({ source });
  const server = new Server();
  assertThrows(
    () => server.addService(services["kv.Nope"], {}),
    TypeError,
    `there is no service "kv.Nope" (keys are full names, with the package); the services are "kv.KeyValue", "kv.Other"`,
  );
  // A lookup that missed in an earlier turn is forgotten: the message is the general one.
  const missed = services["Gone"];
  await Promise.resolve();
  const err = assertThrows(() => server.addService(missed, {}), TypeError);
  assert(!err.message.includes("Gone"), err.message);
  assert(err.message.includes(`services["helloworld.Greeter"]`), err.message);
  assertThrows(
    () => server.addService({} as never, {} as never),
    TypeError,
    "service is not a service definition",
  );
  assertThrows(
    () => server.addService(services["kv.KeyValue"], undefined as never),
    TypeError,
    "implementation must be an object",
  );
  await server.stop();
});

Deno.test("loadProto()'s services object: awaiting, spreading, keys and `in` work as on a plain object", async () => {
  const services = await loadProto({ source });
  assertEquals(Object.keys(services), ["kv.KeyValue", "kv.Other"]);
  assertEquals(Object.keys({ ...services }), ["kv.KeyValue", "kv.Other"]);
  assert("kv.KeyValue" in services && !("KeyValue" in services));
  assertStrictEquals(services["KeyValue"], undefined);
  assertStrictEquals(services["KeyValue"] ?? "fallback", "fallback");
  // Awaiting it reads .then (undefined): the object itself comes back.
  assertStrictEquals(await Promise.resolve(services), services);
  assertEquals(services["kv.KeyValue"].name, "kv.KeyValue");
});
