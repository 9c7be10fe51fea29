/** HELP (RFC 5321 4.1.1.8) lists the commands this server takes: ETRN only with a flush service. */
import assert from "node:assert/strict";
import { parseConfig } from "../../src/config/mod.ts";
import { startSmtpServer } from "../../src/smtpd/mod.ts";
import { HOSTNAME, RawClient, stubPolicy } from "./helpers.ts";

async function helpReply(withEtrn: boolean): Promise<{ help: string; ehlo: string }> {
  const server = await startSmtpServer({
    config: parseConfig(`myhostname = "${HOSTNAME}"\nsmtpd_error_sleep_time = "0s"\n`),
    policy: stubPolicy(),
    submit: () => Promise.resolve("QID1"),
    log: () => {},
    ...(withEtrn ? { etrn: () => Promise.resolve(undefined) } : {}),
  }, { host: "127.0.0.1", port: 0 });
  const { client } = await RawClient.open(server.address.port);
  try {
    const ehlo = await client.command("EHLO client.example");
    return { help: await client.command("HELP"), ehlo };
  } finally {
    client.close();
    await server.close();
  }
}

Deno.test("HELP lists ETRN when the flush service answers it, as EHLO announces it", async () => {
  const { help, ehlo } = await helpReply(true);
  assert.match(ehlo, /^250-ETRN$/m);
  assert.equal(
    help,
    "214 2.0.0 Commands: HELO EHLO MAIL RCPT DATA BDAT RSET NOOP VRFY ETRN HELP QUIT",
  );
});

Deno.test("HELP lists neither ETRN without a flush service, nor STARTTLS/AUTH (not offered)", async () => {
  const { help, ehlo } = await helpReply(false);
  assert.doesNotMatch(ehlo, /ETRN|STARTTLS|AUTH/);
  assert.equal(help, "214 2.0.0 Commands: HELO EHLO MAIL RCPT DATA BDAT RSET NOOP VRFY HELP QUIT");
  assert.doesNotMatch(help, /STARTTLS|AUTH/);
});
