// Raw TLS echo on loopback, no gRPC: which Deno TLS API to use per credentials combination
// (the figures in TlsServerEngine's and tls()'s JSDoc come from this). One connection, one
// message in flight, N round trips of SIZE bytes each way, after 200 warm-up round trips.
//
//   deno run -A bench/tls_echo.ts SERVER CLIENT [SIZE=100] [N=10000] [CERTS_DIR]
//     SERVER: deno (Deno.listenTls) | node (node:tls) | node-mtls (node:tls, client cert required)
//     CLIENT: startTls (Deno.connect + setNoDelay + Deno.startTls) | connectTls (with a client
//             certificate) | node (node:tls with a client certificate, setNoDelay)
//   CERTS_DIR holds ca.pem, server.pem/.key, client.pem/.key (../shared/bench/certs.sh makes them).

import * as nodeTls from "node:tls";
import type { AddressInfo } from "node:net";

const [serverKind, clientKind, sizeArg = "100", nArg = "10000", dirArg] = Deno.args;
const dir = dirArg ?? new URL("../../shared/bench/certs/", import.meta.url).pathname;
const read = (f: string) => Deno.readTextFileSync(`${dir}/${f}`);
const cert = read("server.pem"), key = read("server.key"), ca = read("ca.pem");
const clientCert = read("client.pem"), clientKey = read("client.key");
const size = Number(sizeArg), n = Number(nArg);

async function serve(): Promise<number> {
  if (serverKind === "deno") {
    const l = Deno.listenTls({ hostname: "127.0.0.1", port: 0, cert, key, alpnProtocols: ["h2"] });
    (async () => {
      for await (const c of l) {
        (async () => {
          const b = new Uint8Array(65536);
          try {
            for (let k; (k = await c.read(b)) !== null;) {
              for (let o = 0; o < k;) o += await c.write(b.subarray(o, k));
            }
          } catch { /* peer gone */ }
          c.close();
        })();
      }
    })();
    return l.addr.port;
  }
  const mtls = serverKind === "node-mtls";
  const s = nodeTls.createServer(
    { cert, key, ca: [ca], requestCert: mtls, rejectUnauthorized: mtls, ALPNProtocols: ["h2"] },
    (sock) => {
      sock.setNoDelay(true);
      sock.on("data", (b) => sock.write(b));
      sock.on("error", () => {});
    },
  );
  await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
  return (s.address() as AddressInfo).port;
}

interface Echo {
  write(b: Uint8Array): Promise<void>;
  readN(k: number): Promise<void>;
}

async function connect(port: number): Promise<Echo> {
  if (clientKind === "node") {
    const s = nodeTls.connect({
      host: "127.0.0.1",
      port,
      servername: "localhost",
      ca: [ca],
      cert: clientCert,
      key: clientKey,
      ALPNProtocols: ["h2"],
    });
    await new Promise((resolve, reject) => {
      s.once("secureConnect", resolve);
      s.once("error", reject);
    });
    s.setNoDelay(true);
    let got = 0, want = 0;
    let wake: (() => void) | undefined;
    s.on("data", (b: Uint8Array) => {
      got += b.length;
      if (got >= want) wake?.();
    });
    return {
      // `msg` never changes, so the socket may keep it: no need to wait for the write callback.
      write: (b) => {
        s.write(b);
        return Promise.resolve();
      },
      readN: (k) => {
        want = k;
        const take = () => {
          got -= k;
          wake = undefined;
        };
        if (got >= k) return Promise.resolve(take());
        return new Promise<void>((resolve) => wake = () => resolve(take()));
      },
    };
  }
  let c: Deno.Conn;
  if (clientKind === "startTls") {
    const tcp = await Deno.connect({ hostname: "127.0.0.1", port });
    tcp.setNoDelay(true);
    c = await Deno.startTls(tcp, { hostname: "localhost", caCerts: [ca], alpnProtocols: ["h2"] });
  } else {
    c = await Deno.connectTls({
      hostname: "localhost",
      port,
      caCerts: [ca],
      alpnProtocols: ["h2"],
      cert: clientCert,
      key: clientKey,
    });
  }
  const b = new Uint8Array(65536);
  return {
    write: async (p) => {
      for (let o = 0; o < p.length;) o += await c.write(p.subarray(o));
    },
    readN: async (k) => {
      for (let g = 0; g < k;) {
        const r = await c.read(b);
        if (r === null) throw new Error("closed");
        g += r;
      }
    },
  };
}

const echo = await connect(await serve());
const msg = new Uint8Array(size);
for (let i = 0; i < 200; i++) {
  await echo.write(msg);
  await echo.readN(size);
}
const t0 = performance.now();
for (let i = 0; i < n; i++) {
  await echo.write(msg);
  await echo.readN(size);
}
const s = (performance.now() - t0) / 1000;
console.log(
  `${serverKind} <- ${clientKind} size=${size}: ${(n / s).toFixed(0)} round trips/s, ${
    (2 * n * size / s / 1e6).toFixed(1)
  } MB/s`,
);
Deno.exit(0);
