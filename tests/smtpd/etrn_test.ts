/** ETRN (RFC 1985) in smtpd: announced and accepted only with a flush service; Postfix's replies. */
import assert from "node:assert/strict";
import { parseConfig } from "../../src/config/mod.ts";
import { MailError } from "../../src/errors.ts";
import { startSmtpServer } from "../../src/smtpd/mod.ts";
import { HOSTNAME, RawClient, stubPolicy } from "./helpers.ts";

async function withEtrnServer(
  etrn: (domain: string) => Promise<MailError | undefined>,
  body: (client: RawClient, logs: string[]) => Promise<void>,
): Promise<void> {
  const config = parseConfig(`myhostname = "${HOSTNAME}"\nsmtpd_error_sleep_time = "0s"\n`);
  const logs: string[] = [];
  const server = await startSmtpServer({
    config,
    policy: stubPolicy(),
    submit: () => Promise.resolve("QID1"),
    log: (line) => logs.push(line),
    etrn,
  }, { host: "127.0.0.1", port: 0 });
  const { client } = await RawClient.open(server.address.port);
  try {
    await body(client, logs);
  } finally {
    client.close();
    await server.close();
  }
}

Deno.test("ETRN is announced in EHLO and starts the flush of the named domain", async () => {
  const asked: string[] = [];
  await withEtrnServer((d) => {
    asked.push(d);
    return Promise.resolve(undefined);
  }, async (client) => {
    const ehlo = await client.command("EHLO client.example");
    assert.match(ehlo, /^250-VRFY\n250-ETRN\n250-ENHANCEDSTATUSCODES$/m);
    assert.equal(await client.command("ETRN example.org"), "250 Queuing started");
    // RFC 1985 5: "@domain" asks for subdomains too; Postfix drops the leading character.
    assert.equal(await client.command("ETRN @Example.NET"), "250 Queuing started");
    assert.deepEqual(asked, ["example.org", "Example.NET"]);
  });
});

Deno.test("ETRN syntax errors and a mail transaction in progress are refused", async () => {
  const asked: string[] = [];
  await withEtrnServer((d) => {
    asked.push(d);
    return Promise.resolve(undefined);
  }, async (client) => {
    await client.command("EHLO client.example");
    assert.equal(await client.command("ETRN"), "500 5.5.2 Syntax: ETRN domain");
    assert.equal(await client.command("ETRN a.example b.example"), "500 5.5.2 Syntax: ETRN domain");
    assert.equal(
      await client.command("ETRN bad_name!"),
      "501 5.5.4 Error: invalid parameter syntax",
    );
    assert.equal(
      await client.command("ETRN a..example"),
      "501 5.5.4 Error: invalid parameter syntax",
    );
    assert.equal(await client.command("MAIL FROM:<a@client.example>"), "250 2.1.0 Ok");
    assert.equal(
      await client.command("ETRN example.org"),
      "503 5.5.1 Error: MAIL transaction in progress",
    );
    assert.equal(await client.command("RSET"), "250 2.0.0 Ok");
    assert.deepEqual(asked, []);
  });
});

Deno.test("ETRN refusals of the flush service are passed on (459, 458)", async () => {
  await withEtrnServer((d) => {
    if (d === "other.example") {
      return Promise.resolve(new MailError(459, "4.3.0", `<${d}>: service unavailable`));
    }
    return Promise.reject(new Error("queue is closed"));
  }, async (client, logs) => {
    await client.command("EHLO client.example");
    assert.equal(
      await client.command("ETRN other.example"),
      "459 <other.example>: service unavailable",
    );
    assert.equal(await client.command("ETRN broken.example"), "458 Unable to queue messages");
    assert.ok(
      logs.some((l) => /warning: ETRN broken\.example: queue is closed/.test(l)),
      logs.join("\n"),
    );
  });
});
