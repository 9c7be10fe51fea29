// End to end: a local delivery that fails permanently sends the sender a
// non-delivery notice (RFC 3464), delivered into the sender's own Maildir.
import assert from "node:assert/strict";
import { RawClient } from "../smtpd/helpers.ts";
import { eventually, mailbox, maildirMessages, startServer } from "./harness.ts";

const decoder = new TextDecoder();

Deno.test("a local bounce comes back to the local sender as a DSN in her Maildir", async () => {
  // local(8) refuses deliveries to commands (5.7.1): "pipe" always bounces.
  const server = await startServer({
    toml: `alias_maps = "inline:{ postmaster=alice, pipe=|/bin/true }"`,
  });
  try {
    const { client } = await RawClient.open(server.port);
    assert.match(await client.command("EHLO client.test"), /^250/);
    assert.match(await client.command("MAIL FROM:<alice@example.test>"), /^250/);
    assert.match(await client.command("RCPT TO:<pipe@example.test>"), /^250/);
    assert.match(await client.command("DATA"), /^354/);
    const reply = await client.command(
      "From: alice@example.test\r\nTo: pipe@example.test\r\nSubject: to a pipe\r\n\r\n" +
        "hello pipe\r\n.",
    );
    const queueId = reply.match(/^250 2\.0\.0 Ok: queued as (\S+)/)?.[1];
    assert.ok(queueId, reply);
    await client.command("QUIT");
    client.close();

    const [notice] = await eventually(async () => {
      const messages = await maildirMessages(mailbox(server, "alice"));
      return messages.length > 0 && messages;
    });
    const text = decoder.decode(notice.bytes);
    assert.match(text, /^Return-Path: <>$/m);
    assert.match(text, /^Subject: Undelivered Mail Returned to Sender$/m);
    assert.match(text, /^Content-Type: multipart\/report; report-type=delivery-status;/m);
    const report = text.split(/Content-Type: message\/delivery-status\r?\n\r?\n/)[1];
    assert.ok(report, "a delivery-status part");
    assert.match(report, new RegExp(`^X-Facteur-Queue-ID: ${queueId}$`, "m"));
    assert.match(report, /^Final-Recipient: rfc822; pipe@example\.test$/m);
    assert.match(report, /^Action: failed$/m);
    assert.match(report, /^Status: 5\.7\.1$/m);
    assert.match(
      text,
      /Subject: to a pipe\r?\n.*?\r?\n\r?\nhello pipe\r?\n/s,
      "the original is returned",
    );

    const logged = await server.waitForLog(
      new RegExp(`${queueId}: sender non-delivery notification: (\\S+)`),
    );
    await server.waitForLog(new RegExp(`${logged[1]}: to=<alice@example\\.test>.*status=sent`));
  } finally {
    await server.stop();
    await Deno.remove(server.dir, { recursive: true });
  }
});
