/**
 * Test PKI for the TLS tests, generated with openssl into a temporary directory (nothing copied
 * from elsewhere): two CAs, server and client certificates, and a few broken ones.
 *
 * - `ca.pem`: the trust anchor. `server.pem`/`server.key`: CN=localhost, SAN DNS:localhost,
 *   DNS:foo.test.google.fr, IP:127.0.0.1, IP:::1, EKU serverAuth. `client.pem`/`client.key`:
 *   CN=test-client, SAN DNS:client.test and URI:spiffe://test/client, EKU clientAuth.
 * - `server2.pem`/`server2.key`: a second server certificate from `ca2.pem` (rotation).
 * - `other-client.pem`/`.key`: a client certificate from `ca2.pem` (unknown to `ca.pem`).
 * - `expired.pem`/`.key`: a server certificate from `ca.pem` that expired yesterday.
 *
 * ECDSA P-256, PKCS#8 keys, leaves CA:FALSE (rustls refuses CA certificates as leaves).
 * @module
 */

/** Paths (and contents) of the generated files. */
export interface TestCerts {
  dir: string;
  path(name: string): string;
  read(name: string): string;
}

let made: Promise<TestCerts> | undefined;

async function openssl(args: string[], cwd: string): Promise<void> {
  const out = await new Deno.Command("openssl", { args, cwd, stdout: "null", stderr: "piped" })
    .output();
  if (!out.success) {
    throw new Error(`openssl ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
}

async function generate(): Promise<TestCerts> {
  const dir = await Deno.makeTempDir({ prefix: "grpc-test-certs-" });
  globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
  const key = (name: string) =>
    openssl([
      "genpkey",
      "-algorithm",
      "EC",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-out",
      `${name}.key`,
    ], dir);
  const ca = async (name: string, cn: string) => {
    await key(name);
    await openssl([
      "req",
      "-new",
      "-x509",
      "-key",
      `${name}.key`,
      "-out",
      `${name}.pem`,
      "-days",
      "30",
      "-subj",
      `/CN=${cn}`,
      "-addext",
      "basicConstraints=critical,CA:TRUE",
      "-addext",
      "keyUsage=critical,keyCertSign,cRLSign",
    ], dir);
  };
  const leaf = async (name: string, caName: string, cn: string, ext: string[], days = "30") => {
    await key(name);
    await openssl([
      "req",
      "-new",
      "-key",
      `${name}.key`,
      "-subj",
      `/CN=${cn}`,
      "-out",
      `${name}.csr`,
    ], dir);
    await Deno.writeTextFile(
      `${dir}/${name}.ext`,
      ["basicConstraints=critical,CA:FALSE", "keyUsage=critical,digitalSignature", ...ext].join(
        "\n",
      ),
    );
    await openssl([
      "x509",
      "-req",
      "-in",
      `${name}.csr`,
      "-CA",
      `${caName}.pem`,
      "-CAkey",
      `${caName}.key`,
      "-CAcreateserial",
      "-days",
      days,
      "-sha256",
      "-extfile",
      `${name}.ext`,
      "-out",
      `${name}.pem`,
    ], dir);
  };
  const serverExt = [
    "extendedKeyUsage=serverAuth",
    "subjectAltName=DNS:localhost,DNS:foo.test.google.fr,IP:127.0.0.1,IP:::1",
  ];
  await ca("ca", "grpc test CA");
  await ca("ca2", "grpc test CA 2");
  await leaf("server", "ca", "localhost", serverExt);
  await leaf("server2", "ca2", "localhost", serverExt);
  await leaf("expired", "ca", "localhost", serverExt, "-1");
  const clientExt = [
    "extendedKeyUsage=clientAuth",
    "subjectAltName=DNS:client.test,URI:spiffe://test/client",
  ];
  await leaf("client", "ca", "test-client", clientExt);
  await leaf("other-client", "ca2", "other-client", clientExt);
  const path = (name: string) => `${dir}/${name}`;
  return { dir, path, read: (name) => Deno.readTextFileSync(path(name)) };
}

/** Generates the test PKI once per process. */
export function testCerts(): Promise<TestCerts> {
  return made ??= generate();
}
