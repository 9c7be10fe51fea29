import assert from "node:assert/strict";
import { parseConfig } from "../../../src/config/load.ts";
import { smtpSettings } from "../../../src/transports/smtp/settings.ts";

Deno.test("smtp settings take postconf(5) defaults; lmtp_* are separate parameters", () => {
  const config = parseConfig(`myhostname = "mail.example.test"\nlmtp_lhlo_timeout = "2m"\n`);
  const get = (name: string) => config.get(name);
  assert.deepEqual(smtpSettings(get), {
    heloName: "mail.example.test",
    tlsSecurityLevel: "",
    timeouts: {
      connect: 30_000,
      helo: 300_000,
      mail: 300_000,
      rcpt: 300_000,
      dataInit: 120_000,
      dataXfer: 180_000,
      dataDone: 600_000,
      quit: 300_000,
    },
  });
  const lmtp = smtpSettings(get, true);
  assert.equal(lmtp.timeouts.connect, 0);
  assert.equal(lmtp.timeouts.helo, 120_000);
  assert.equal(lmtp.heloName, "mail.example.test");
});

Deno.test("smtp_tls_security_level accepts only none, may, encrypt", () => {
  assert.equal(
    smtpSettings((n) => parseConfig(`smtp_tls_security_level = "may"`).get(n)).tlsSecurityLevel,
    "may",
  );
  assert.throws(() => parseConfig(`smtp_tls_security_level = "verify"`), /smtp_tls_security_level/);
});
