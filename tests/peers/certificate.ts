/**
 * A throw-away self-signed TLS certificate for loopback tests, made with
 * openssl. It is an end-entity certificate (CA:FALSE) with localhost and
 * 127.0.0.1 in subjectAltName, so rustls (Deno) accepts it as well as node:tls.
 */
import { join } from "node:path";

export interface TestCertificate {
  key: string;
  cert: string;
}

/** undefined when openssl fails (callers gate on requirePeer("openssl", "openssl")). */
export async function makeTestCertificate(
  commonName = "localhost",
): Promise<TestCertificate | undefined> {
  const dir = await Deno.makeTempDir({ prefix: "facteur-cert-" });
  try {
    const out = await new Deno.Command("openssl", {
      args: [
        ...["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"],
        ...["-subj", `/CN=${commonName}`],
        ...["-addext", "basicConstraints=critical,CA:FALSE"],
        ...["-addext", `subjectAltName=DNS:${commonName},DNS:localhost,IP:127.0.0.1`],
        ...["-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem")],
      ],
      stdout: "null",
      stderr: "null",
    }).output();
    if (!out.success) return undefined;
    return {
      key: await Deno.readTextFile(join(dir, "key.pem")),
      cert: await Deno.readTextFile(join(dir, "cert.pem")),
    };
  } catch {
    return undefined;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
