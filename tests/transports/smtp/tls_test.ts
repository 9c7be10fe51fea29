import assert from "node:assert/strict";
import { makeTestCertificate } from "../../peers/certificate.ts";
import { deliverSmtp, type SmtpSettings } from "../../../src/transports/smtp/client.ts";
import { startFake } from "./fake_server.ts";
import { requirePeer } from "../../peers.ts";

const openssl = requirePeer("openssl", "openssl");
const tls = openssl.ignore ? undefined : await makeTestCertificate("mx.example.test");

function settings(level: string): SmtpSettings {
  const t = 5000;
  return {
    heloName: "client.test",
    tlsSecurityLevel: level,
    timeouts: {
      connect: t,
      helo: t,
      mail: t,
      rcpt: t,
      dataInit: t,
      dataXfer: t,
      dataDone: t,
      quit: t,
    },
  };
}

const message = {
  sender: "s@example.test",
  recipients: [{ index: 0, address: "r@example.test" }],
  content: new TextEncoder().encode("Subject: tls\r\n\r\nbody\r\n"),
};

Deno.test({
  name:
    "smtp_tls_security_level=may: STARTTLS when offered (unverified certificate), EHLO again over TLS",
  ...openssl,
  fn: async () => {
    assert.ok(tls, "openssl failed to make a certificate");
    const fake = await startFake({ tls });
    const out = await deliverSmtp(
      { host: "mx.example.test", address: "127.0.0.1", port: fake.port },
      message,
      settings("may"),
    );
    assert.equal(out.kind === "done" && out.results[0].status, "sent");
    assert.deepEqual(fake.commands.slice(0, 4), [
      "EHLO client.test",
      "STARTTLS",
      "EHLO client.test (tls)",
      "MAIL FROM:<s@example.test> SIZE=22 (tls)",
    ]);
    assert.equal(new TextDecoder().decode(fake.bodies[0]), "Subject: tls\r\n\r\nbody\r\n.\r\n");
    await fake.close();
  },
});

Deno.test({
  name: "smtp_tls_security_level none or empty: STARTTLS is never used, even when offered",
  ...openssl,
  fn: async () => {
    for (const level of ["none", ""]) {
      const fake = await startFake({ tls });
      const out = await deliverSmtp(
        { host: "mx.example.test", address: "127.0.0.1", port: fake.port },
        message,
        settings(level),
      );
      assert.equal(out.kind === "done" && out.results[0].status, "sent");
      assert.ok(!fake.commands.includes("STARTTLS"));
      assert.ok(!fake.commands.some((c) => c.endsWith("(tls)")));
      await fake.close();
    }
  },
});

Deno.test({
  name:
    "smtp_tls_security_level=encrypt: TLS when offered; a server without STARTTLS is deferred (4.7.4)",
  ...openssl,
  fn: async () => {
    const withTls = await startFake({ tls });
    const ok = await deliverSmtp(
      { host: "mx.example.test", address: "127.0.0.1", port: withTls.port },
      message,
      settings("encrypt"),
    );
    assert.equal(ok.kind === "done" && ok.results[0].status, "sent");
    assert.ok(withTls.commands.includes("MAIL FROM:<s@example.test> SIZE=22 (tls)"));
    await withTls.close();

    const plain = await startFake();
    const out = await deliverSmtp(
      { host: "mx.example.test", address: "127.0.0.1", port: plain.port },
      message,
      settings("encrypt"),
    );
    assert.deepEqual(out, {
      kind: "failed",
      temporary: true,
      dsn: "4.7.4",
      reason: "TLS is required, but was not offered by host mx.example.test[127.0.0.1]",
      relay: `mx.example.test[127.0.0.1]:${plain.port}`,
    });
    assert.ok(!plain.commands.some((c) => c.startsWith("MAIL")));
    await plain.close();
  },
});
