import { Code, createClient, dial, loadProto, Server, StatusError, Metadata } from "../../mod.ts";
const services = await loadProto({ source: `syntax = "proto3"; package z;
  service Z { rpc Echo (M) returns (M); } message M { string t = 1; }` });
const Z = services["z.Z"];
const server = new Server();
let mode = 0;
server.addService(Z, { echo: (m: {t: string}) => {
  if (m.t === "obj") throw new StatusError(Code.NotFound, "nope", { metadata: { "x-b": "2" } } as any);
  if (m.t === "big") throw new StatusError(2 ** 31 as Code, "big");
  if (m.t === "big2") throw new StatusError(2 ** 31 as Code, "big", {details:[{typeUrl:"a", value:new Uint8Array(1)}]});
  return m;
}});
const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
const serving = server.serve(l);
const conn = await dial(`127.0.0.1:${l.addr.port}`);
const c = createClient(Z, conn) as any;
for (const t of ["obj", "big", "big2"]) {
  try { await c.echo({ t }, { timeoutMs: 2000 }); } catch (e) { console.log(t, String(e), (e as StatusError).metadata); }
}
await conn.close();
await server.stop();
await serving;
