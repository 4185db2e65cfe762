// A grpc-js peer over TLS for @seed/grpc's tests/tls_grpcjs_test.ts: a peer.Echo server or a
// client of one, with the certificates given on the command line (grpc-js `createSsl` on both
// sides, client certificates included).
//
//   node grpcjs_tls.mjs --mode=server --port=0 --cert=F --key=F [--client_ca=F]
//       Serves peer.Echo on 127.0.0.1 over TLS and prints `READY port=N`. With --client_ca,
//       clients must present a certificate that verifies against it (mutual TLS). Unary echoes
//       the request; ServerStream sends `count` copies of it; ClientStream answers the texts
//       joined; Bidi echoes each request. Every response's `message` is the CN of the client's
//       certificate ("" without one). Exits on SIGTERM.
//   node grpcjs_tls.mjs --mode=client --server_port=P --ca=F [--cert=F --key=F] [--server_name=N]
//       [--expect=ok|CODE_NAME] [--expect_cn=CN]
//       Dials 127.0.0.1:P over TLS (trusting only --ca; --server_name overrides the name checked,
//       grpc.ssl_target_name_override) and makes one call of each kind. With --expect=ok (the
//       default) every call must succeed (and, with --expect_cn, report that client CN); with
//       a code name (UNAVAILABLE) the first call must fail with it.
//       Last stdout line `PASS tls` (exit 0) or `FAIL tls: reason` (exit 1).

import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { finish, parseFlags, runReported } from "./_cli.mjs";

const require = createRequire(import.meta.url);
const grpc = require("@grpc/grpc-js");
const protoLoader = require("@grpc/proto-loader");
const ECHO_PROTO = fileURLToPath(new URL("./echo.proto", import.meta.url));
const pkg = grpc.loadPackageDefinition(protoLoader.loadSync(ECHO_PROTO, { keepCase: true }));

class Failure extends Error {}

let flags;
try {
  flags = parseFlags(process.argv.slice(2));
} catch (err) {
  finish(2, `bad flags: ${err.message}`);
}
const mode = flags.mode;
const file = (name) => (flags[name] === undefined ? null : readFileSync(flags[name]));

if (mode === "server") serve();
else if (mode === "client") runClient();
else finish(2, `unknown mode ${JSON.stringify(mode)}; known: server client`);

function clientCn(call) {
  const cert = call.getAuthContext?.()?.sslPeerCertificate;
  return cert?.subject?.CN ?? "";
}

function serve() {
  const server = new grpc.Server();
  server.addService(pkg.peer.Echo.service, {
    Unary: (call, cb) => cb(null, { ...call.request, message: clientCn(call) }),
    ServerStream: (call) => {
      for (let i = 0; i < call.request.count; i++) {
        call.write({ ...call.request, message: clientCn(call) });
      }
      call.end();
    },
    ClientStream: (call, cb) => {
      const texts = [];
      call.on("data", (m) => texts.push(m.text));
      call.on("end", () => cb(null, { text: texts.join(","), message: clientCn(call) }));
    },
    Bidi: (call) => {
      call.on("data", (m) => call.write({ ...m, message: clientCn(call) }));
      call.on("end", () => call.end());
    },
  });
  const clientCa = file("client_ca");
  const creds = grpc.ServerCredentials.createSsl(
    clientCa,
    [{ cert_chain: file("cert"), private_key: file("key") }],
    clientCa !== null,
  );
  server.bindAsync(`127.0.0.1:${flags.port ?? 0}`, creds, (err, port) => {
    if (err) finish(1, `FAIL bind: ${err.message}`);
    process.stdout.write(`READY port=${port}\n`);
  });
  process.on("SIGTERM", () => {
    server.forceShutdown();
    process.exit(0);
  });
}

function unary(client, req, deadline) {
  return new Promise((resolve, reject) =>
    client.Unary(req, { deadline }, (err, res) => (err ? reject(err) : resolve(res)))
  );
}

function collect(call) {
  return new Promise((resolve, reject) => {
    const out = [];
    call.on("data", (m) => out.push(m));
    call.on("error", reject);
    call.on("end", () => resolve(out));
  });
}

function check(cond, what) {
  if (!cond) throw new Failure(what);
}

async function runClient() {
  const opts = {};
  if (flags.server_name !== undefined) opts["grpc.ssl_target_name_override"] = flags.server_name;
  const creds = grpc.credentials.createSsl(file("ca"), file("key"), file("cert"));
  const client = new pkg.peer.Echo(`127.0.0.1:${flags.server_port}`, creds, opts);
  const expect = flags.expect ?? "ok";
  const cn = flags.expect_cn;
  const deadline = () => Date.now() + 10_000;
  await runReported(
    "tls",
    async () => {
      if (expect !== "ok") {
        try {
          await unary(client, { text: "x" }, deadline());
        } catch (err) {
          check(grpc.status[err.code] === expect, `want ${expect}, got ${err.code} ${err.details}`);
          return;
        }
        throw new Failure(`want ${expect}, the call succeeded`);
      }
      const u = await unary(client, { text: "hello" }, deadline());
      check(u.text === "hello", `unary text ${u.text}`);
      if (cn !== undefined) {
        check(
          u.message === cn,
          `unary saw client CN ${JSON.stringify(u.message)}`,
        );
      }
      const ss = await collect(
        client.ServerStream({ text: "s", count: 3 }, { deadline: deadline() }),
      );
      check(ss.length === 3 && ss.every((m) => m.text === "s"), `server stream ${ss.length}`);
      const cs = await new Promise((resolve, reject) => {
        const call = client.ClientStream(
          { deadline: deadline() },
          (err, res) => err ? reject(err) : resolve(res),
        );
        for (const t of ["a", "b", "c"]) call.write({ text: t });
        call.end();
      });
      check(cs.text === "a,b,c", `client stream ${cs.text}`);
      const bidi = client.Bidi({ deadline: deadline() });
      const got = collect(bidi);
      for (const t of ["x", "y"]) bidi.write({ text: t });
      bidi.end();
      const b = await got;
      check(b.map((m) => m.text).join() === "x,y", `bidi ${b.map((m) => m.text)}`);
      client.close();
    },
    30_000,
    Failure,
  );
}
