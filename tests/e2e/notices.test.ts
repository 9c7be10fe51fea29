/**
 * Success and delay notices end to end, to a local sender's Maildir:
 * NOTIFY=SUCCESS relayed to Postfix's smtp-sink without DSN gets Postfix's
 * "relayed" notice (RFC 3461 4.1; smtp_rcpt_done), with DSN the next hop is
 * told instead; a local delivery gets "delivered"; a deferred message gets
 * one delay warning after delay_warning_time, not one per attempt.
 */
import assert from "node:assert/strict";
import { requirePeer } from "../peers.ts";
import { freePort } from "../peers/postfix.ts";
import {
  eventually,
  mailbox,
  maildirMessages,
  type RunningServer,
  startServer,
} from "./harness.ts";
import { dumpDir, dumps, send, startSink } from "./sink.ts";

const sinkPeer = requirePeer("smtp-sink", "postfix");
const decoder = new TextDecoder();

/** smtp-sink's dump files, once there is one with the whole message (it is written as it comes). */
function sunk(dir: string): Promise<string[]> {
  return eventually(async () => {
    const out = await dumps(dir);
    return out.length > 0 && out.every((f) => /\nhello\r?\n/.test(f)) && out;
  });
}

/** One message from alice@example.test, RET=HDRS, `rcptParams` after RCPT TO; returns the queue id. */
function sendNotified(port: number, rcpt: string, rcptParams: string): Promise<string> {
  return send(port, rcpt, "notice test", { body: "hello", mailParams: "RET=HDRS", rcptParams });
}

/** The message/delivery-status part of a notice. */
function statusPart(text: string): string {
  const part = text.split(/Content-Type: message\/delivery-status\r?\n\r?\n/)[1];
  assert.ok(part, `a delivery-status part in:\n${text}`);
  return part.split(/\r?\n--/)[0];
}

/** alice's Maildir messages as text, once there are `count`. */
function aliceGets(server: RunningServer, count: number): Promise<string[]> {
  return eventually(async () => {
    const messages = await maildirMessages(mailbox(server, "alice"));
    return messages.length >= count && messages.map((m) => decoder.decode(m.bytes));
  });
}

async function withSink(
  sinkArgs: string[],
  body: (server: RunningServer, dump: string) => Promise<void>,
) {
  const port = freePort();
  const dump = await dumpDir();
  const sink = await startSink("127.0.0.1", port, sinkArgs, dump); // -N hides DSN from EHLO
  const server = await startServer({ toml: `relayhost = "[127.0.0.1]:${port}"` });
  try {
    await body(server, dump);
  } finally {
    await server.stop();
    await sink.stop();
    await Deno.remove(dump, { recursive: true });
    await Deno.remove(server.dir, { recursive: true });
  }
}

Deno.test({
  name: "NOTIFY=SUCCESS relayed to a next hop without DSN: the sender gets Action: relayed",
  ...sinkPeer,
  fn: () =>
    withSink(["-N"], async (server, dump) => {
      const id = await sendNotified(server.port, "bob@remote.test", "NOTIFY=SUCCESS");
      const [notice] = await aliceGets(server, 1);
      const files = await sunk(dump);
      assert.equal(files.length, 1);
      // No DSN at the next hop: nothing of NOTIFY went along.
      assert.match(files[0], /^X-Rcpt-Args: <bob@remote\.test>$/m);

      assert.match(notice, /^Return-Path: <>$/m);
      assert.match(notice, /^Received: by mail\.example\.test \(facteur\)\r?\n\tid \S+; /m);
      assert.match(notice, /^Subject: Successful Mail Delivery Report$/m);
      const report = statusPart(notice);
      assert.match(report, new RegExp(`^X-Facteur-Queue-ID: ${id}$`, "m"));
      assert.match(report, /^Final-Recipient: rfc822; bob@remote\.test$/m);
      assert.match(report, /^Action: relayed$/m);
      assert.match(report, /^Status: 2\.0\.0$/m);
      assert.match(report, /^Remote-MTA: dns; 127\.0\.0\.1$/m);
      assert.match(report, /^Diagnostic-Code: smtp; 250 /m);
      await server.waitForLog(new RegExp(`${id}: sender delivery status notification: \\S+`));
    }),
});

Deno.test({
  name: "NOTIFY=SUCCESS relayed to a next hop with DSN goes along; no notice from us",
  ...sinkPeer,
  fn: () =>
    withSink([], async (server, dump) => {
      const id = await sendNotified(server.port, "bob@remote.test", "NOTIFY=SUCCESS");
      const files = await sunk(dump);
      assert.equal(files.length, 1);
      assert.match(files[0], /^X-Rcpt-Args: <bob@remote\.test> NOTIFY=SUCCESS/m);
      await server.waitForLog(new RegExp(`${id}: to=<bob@remote\\.test>.*status=sent`));
      // Give a wrongly queued notice time to arrive before looking.
      await new Promise((r) => setTimeout(r, 1000));
      assert.doesNotMatch(server.log(), /delivery status notification/);
      assert.deepEqual(await maildirMessages(mailbox(server, "alice")), []);
    }),
});

Deno.test("NOTIFY=SUCCESS to a local mailbox: the sender gets Action: delivered", async () => {
  const server = await startServer();
  try {
    const id = await sendNotified(
      server.port,
      "bob@example.test",
      "NOTIFY=SUCCESS ORCPT=rfc822;bob@example.test",
    );
    const [notice] = await aliceGets(server, 1);
    assert.equal((await maildirMessages(mailbox(server, "bob"))).length, 1, "bob has the mail");
    const report = statusPart(notice);
    assert.match(report, new RegExp(`^X-Facteur-Queue-ID: ${id}$`, "m"));
    assert.match(report, /^Final-Recipient: rfc822; bob@example\.test$/m);
    assert.match(report, /^Original-Recipient: rfc822; bob@example\.test$/m);
    assert.match(report, /^Action: delivered$/m);
    assert.match(report, /^Status: 2\.0\.0$/m);
    assert.doesNotMatch(report, /^Remote-MTA:/m);
  } finally {
    await server.stop();
    await Deno.remove(server.dir, { recursive: true });
  }
});

Deno.test("a deferred message gets exactly one delay warning after delay_warning_time", async () => {
  const dead = freePort(); // closed: every attempt gets "Connection refused"
  const server = await startServer({
    toml: [
      `relayhost = "[127.0.0.1]:${dead}"`,
      `delay_warning_time = "1s"`, // its smallest value
      `queue_run_delay = "1s"`,
      `minimal_backoff_time = "1s"`,
      `maximal_backoff_time = "1s"`,
    ].join("\n"),
  });
  try {
    const id = await sendNotified(server.port, "carol@remote.test", "");
    const deferred = new RegExp(`${id}: to=<carol@remote\\.test>.*status=deferred`, "g");
    const warned = await server.waitForLog(
      new RegExp(`${id}: sender delay notification: (\\S+)`),
      20000,
    );
    // With the second attempt (1s backoff): at the first the message was younger than 1s.
    const before = server.log().slice(0, server.log().indexOf(warned[0]));
    assert.equal((before.match(deferred) ?? []).length, 2, server.log());
    // Two more attempts after the warning, still deferred: no second warning.
    const attemptsAtWarning = (server.log().match(deferred) ?? []).length;
    await eventually(
      () => Promise.resolve((server.log().match(deferred) ?? []).length >= attemptsAtWarning + 2),
      20000,
    );
    assert.equal(server.log().match(/sender delay notification/g)?.length, 1, server.log());

    const messages = await aliceGets(server, 1);
    assert.equal(messages.length, 1, "exactly one notice in the sender's Maildir");
    const [notice] = messages;
    assert.match(notice, /^Subject: Delayed Mail \(still being retried\)$/m);
    const report = statusPart(notice);
    assert.match(report, /^Final-Recipient: rfc822; carol@remote\.test$/m);
    assert.match(report, /^Action: delayed$/m);
    assert.match(report, /^Status: 4\.\d{1,3}\.\d{1,3}$/m);
    assert.match(report, /^Diagnostic-Code: X-Facteur; connect to .*Connection refused$/m);
    assert.match(report, /^Will-Retry-Until: /m);
    assert.match(notice, /THIS IS A WARNING ONLY/);
  } finally {
    await server.stop();
    await Deno.remove(server.dir, { recursive: true });
  }
});
