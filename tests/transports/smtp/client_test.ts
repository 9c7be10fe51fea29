import assert from "node:assert/strict";
import { createServer } from "node:net";
import {
  deliverSmtp,
  type SmtpMessage,
  SmtpSession,
  type SmtpSettings,
} from "../../../src/transports/smtp/client.ts";
import { startFake } from "./fake_server.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

function settings(over: Partial<SmtpSettings> = {}, timeoutMs = 5000): SmtpSettings {
  const t = timeoutMs;
  return {
    heloName: "client.test",
    tlsSecurityLevel: "",
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
    ...over,
  };
}

function message(recipients: string[], body = "Subject: hi\r\n\r\nhello\r\n"): SmtpMessage {
  return {
    sender: "sender@example.test",
    recipients: recipients.map((address, index) => ({ index, address })),
    content: enc(body),
  };
}

const target = (port: number) => ({ host: "mx.example.test", address: "127.0.0.1", port });

Deno.test("pipelined delivery: MAIL, RCPTs and DATA in one write; one RCPT refused, one accepted", async () => {
  const fake = await startFake({
    rcptReply: (a) =>
      a.startsWith("bad")
        ? "550 5.1.1 <bad@example.test>: Recipient address rejected: User unknown"
        : "250 2.1.5 Ok",
  });
  const out = await deliverSmtp(
    target(fake.port),
    message(["good@example.test", "bad@example.test"]),
    settings(),
  );
  assert.equal(out.kind, "done");
  if (out.kind !== "done") return;
  assert.equal(out.relay, `mx.example.test[127.0.0.1]:${fake.port}`);
  assert.deepEqual(out.results[0], {
    index: 0,
    status: "sent",
    dsn: "2.0.0",
    reason: "250 2.0.0 Ok: queued as 4AB12",
    relay: out.relay,
  });
  assert.deepEqual(out.results[1], {
    index: 1,
    status: "bounced",
    dsn: "5.1.1",
    reason:
      `host mx.example.test[127.0.0.1] said: 550 5.1.1 <bad@example.test>: Recipient address rejected: User unknown (in reply to RCPT TO command)`,
    relay: out.relay,
  });
  assert.deepEqual(fake.commands.slice(0, 5), [
    "EHLO client.test",
    "MAIL FROM:<sender@example.test> SIZE=22",
    "RCPT TO:<good@example.test>",
    "RCPT TO:<bad@example.test>",
    "DATA",
  ]);
  assert.equal(fake.commands.at(-1), "QUIT");
  // RFC 2920: everything up to DATA came in one batch.
  assert.deepEqual(fake.pipelined, fake.commands.slice(1, 4));
  await fake.close();
});

Deno.test("the body is dot-stuffed and otherwise byte-exact; 8-bit content gets BODY=8BITMIME", async () => {
  const fake = await startFake();
  const body = ".leading dot\r\n..two\r\nmid.dot\r\nbare\nlf and caf\u00e9\r\n.";
  await deliverSmtp(target(fake.port), message(["a@example.test"], body), settings());
  assert.equal(
    dec(fake.bodies[0]),
    "..leading dot\r\n...two\r\nmid.dot\r\nbare\nlf and caf\u00e9\r\n..\r\n.\r\n",
  );
  assert.match(fake.commands[1], / BODY=8BITMIME$/);
  await fake.close();
});

Deno.test("without PIPELINING the client waits for each reply; DSN parameters only when DSN is offered", async () => {
  const msg: SmtpMessage = {
    ...message(["a@example.test"]),
    ret: "HDRS",
    envid: "id+1",
    recipients: [{
      index: 0,
      address: "a@example.test",
      notify: ["SUCCESS", "FAILURE"],
      orcpt: "rfc822;a+x@example.test",
    }],
  };
  const withDsn = await startFake({ extensions: ["DSN"] });
  await deliverSmtp(target(withDsn.port), msg, settings());
  assert.deepEqual(withDsn.commands.slice(1, 3), [
    "MAIL FROM:<sender@example.test> RET=HDRS ENVID=id+2B1",
    "RCPT TO:<a@example.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;a+2Bx@example.test",
  ]);
  await withDsn.close();
  const plain = await startFake({ extensions: [] });
  const out = await deliverSmtp(target(plain.port), msg, settings());
  assert.equal(out.kind === "done" && out.results[0].status, "sent");
  assert.deepEqual(plain.commands.slice(1, 3), [
    "MAIL FROM:<sender@example.test>",
    "RCPT TO:<a@example.test>",
  ]);
  assert.deepEqual(plain.pipelined, []);
  await plain.close();
});

Deno.test("a 4xx greeting fails the session, temporarily, with the server's words", async () => {
  const fake = await startFake({ greeting: "421 4.3.2 Service not available, closing channel" });
  const out = await deliverSmtp(target(fake.port), message(["a@example.test"]), settings());
  assert.deepEqual(out, {
    kind: "failed",
    temporary: true,
    dsn: "4.3.2",
    reason:
      "host mx.example.test[127.0.0.1] refused to talk to me: 421 4.3.2 Service not available, closing channel",
    relay: `mx.example.test[127.0.0.1]:${fake.port}`,
  });
  await fake.close();
});

Deno.test("connection refused: temporary 4.4.1 with Postfix's wording", async () => {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  await new Promise((r) => server.close(r));
  const out = await deliverSmtp(target(port), message(["a@example.test"]), settings());
  assert.equal(out.kind, "failed");
  assert.equal(
    out.kind === "failed" && out.reason,
    `connect to mx.example.test[127.0.0.1]:${port}: Connection refused`,
  );
  assert.equal(out.kind === "failed" && out.dsn, "4.4.1");
});

Deno.test("EHLO refused with 5xx: the client falls back to HELO and plain SMTP", async () => {
  const fake = await startFake({ ehloReply: "502 5.5.2 Error: command not recognized" });
  const out = await deliverSmtp(target(fake.port), message(["a@example.test"]), settings());
  assert.equal(out.kind === "done" && out.results[0].status, "sent");
  assert.deepEqual(fake.commands.slice(0, 3), [
    "EHLO client.test",
    "HELO client.test",
    "MAIL FROM:<sender@example.test>",
  ]);
  await fake.close();
});

Deno.test("a message larger than the server's SIZE bounces with 5.3.4 before MAIL FROM", async () => {
  const fake = await startFake({ extensions: ["SIZE 10"] });
  const out = await deliverSmtp(
    target(fake.port),
    message(["a@example.test", "b@example.test"]),
    settings(),
  );
  assert.ok(out.kind === "done");
  for (const r of out.results) {
    assert.equal(r.status, "bounced");
    assert.equal(r.dsn, "5.3.4");
    assert.equal(
      r.reason,
      "message size 22 exceeds size limit 10 of server mx.example.test[127.0.0.1]",
    );
  }
  assert.ok(!fake.commands.some((c) => c.startsWith("MAIL")));
  await fake.close();
});

Deno.test("a UTF-8 envelope to a server without SMTPUTF8 bounces 5.6.7; with it, SMTPUTF8 is sent", async () => {
  const msg = message(["j\u00f6rg@example.test"]);
  const without = await startFake({ extensions: ["PIPELINING"] });
  const out = await deliverSmtp(target(without.port), msg, settings());
  assert.ok(out.kind === "done");
  assert.equal(out.results[0].dsn, "5.6.7");
  assert.equal(out.results[0].status, "bounced");
  await without.close();
  const withIt = await startFake();
  const ok = await deliverSmtp(target(withIt.port), msg, settings());
  assert.equal(ok.kind === "done" && ok.results[0].status, "sent");
  assert.match(withIt.commands[1], / SMTPUTF8$/);
  await withIt.close();
});

Deno.test("MAIL FROM refused: every recipient gets that reply", async () => {
  const fake = await startFake({ mailReply: "451 4.3.0 Try later" });
  const out = await deliverSmtp(
    target(fake.port),
    message(["a@example.test", "b@example.test"]),
    settings(),
  );
  assert.ok(out.kind === "done");
  for (const r of out.results) {
    assert.equal(r.status, "deferred");
    assert.equal(
      r.reason,
      "host mx.example.test[127.0.0.1] said: 451 4.3.0 Try later (in reply to MAIL FROM command)",
    );
  }
  await fake.close();
});

Deno.test("a server that stops answering: the phase timeout fires, 4.4.2", async () => {
  const fake = await startFake({ stallAt: "RCPT", extensions: [] });
  const started = Date.now();
  const out = await deliverSmtp(target(fake.port), message(["a@example.test"]), settings({}, 300));
  assert.ok(Date.now() - started < 3000);
  assert.ok(out.kind === "done");
  assert.equal(out.results[0].status, "deferred");
  assert.equal(out.results[0].dsn, "4.4.2");
  assert.equal(
    out.results[0].reason,
    "conversation with mx.example.test[127.0.0.1] timed out while sending RCPT TO",
  );
  await fake.close();
});

Deno.test("no reply to the final dot: timed out while sending end of data", async () => {
  const fake = await startFake({ stallAt: "." });
  const out = await deliverSmtp(target(fake.port), message(["a@example.test"]), settings({}, 300));
  assert.ok(out.kind === "done");
  assert.equal(out.results[0].status, "deferred");
  assert.equal(
    out.results[0].reason,
    "conversation with mx.example.test[127.0.0.1] timed out while sending end of data -- message may be sent more than once",
  );
  await fake.close();
});

Deno.test("the connection dropped mid-DATA: lost connection while sending message body", async () => {
  const fake = await startFake({ dropAfterBodyBytes: 10 });
  const big = "Subject: x\r\n\r\n" + "0123456789abcdef\r\n".repeat(20000);
  const out = await deliverSmtp(target(fake.port), message(["a@example.test"], big), settings());
  assert.ok(out.kind === "done");
  assert.equal(out.results[0].status, "deferred");
  assert.equal(out.results[0].dsn, "4.4.2");
  assert.match(
    out.results[0].reason,
    /^lost connection with mx\.example\.test\[127\.0\.0\.1\] while sending (message body|end of data)/,
  );
  await fake.close();
});

Deno.test("LMTP: LHLO, and one end-of-data reply per accepted recipient", async () => {
  const fake = await startFake({
    rcptReply: (a) => a.startsWith("c") ? "550 5.1.1 unknown" : "250 2.1.5 Ok",
    dotReplies: ["250 2.0.0 <a> delivered", "452 4.2.2 <b> Mailbox full"],
  });
  const out = await deliverSmtp(
    target(fake.port),
    message(["a@example.test", "b@example.test", "c@example.test"]),
    settings(),
    { lmtp: true },
  );
  assert.ok(out.kind === "done");
  assert.deepEqual(out.results.map((r) => [r.status, r.dsn]), [["sent", "2.0.0"], [
    "deferred",
    "4.2.2",
  ], ["bounced", "5.1.1"]]);
  assert.equal(
    out.results[1].reason,
    "host mx.example.test[127.0.0.1] said: 452 4.2.2 <b> Mailbox full (in reply to end of DATA command)",
  );
  assert.equal(fake.commands[0], "LHLO client.test");
  await fake.close();
});

Deno.test("several messages on one session: RSET between transactions", async () => {
  const fake = await startFake();
  const session = await SmtpSession.open(target(fake.port), settings());
  assert.ok(session instanceof SmtpSession);
  const first = await session.send(message(["a@example.test"]));
  const second = await session.send(message(["b@example.test"]));
  await session.close();
  assert.equal(first[0].status, "sent");
  assert.equal(second[0].status, "sent");
  assert.ok(fake.commands.includes("RSET"));
  assert.equal(fake.bodies.length, 2);
  await fake.close();
});

/** A server that writes `greeting` (if any) and then says nothing more. */
async function rawServer(greeting?: string) {
  const server = createServer((socket) => {
    socket.on("error", () => {});
    if (greeting !== undefined) socket.write(greeting);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    close: () => {
      server.close();
    },
  };
}

Deno.test("a greeting that is not an SMTP reply fails the session (4.5.0)", async () => {
  const server = await rawServer("hello there\r\n");
  const out = await deliverSmtp(target(server.port), message(["a@example.test"]), settings());
  assert.ok(out.kind === "failed");
  assert.equal(out.temporary, true);
  assert.equal(out.dsn, "4.5.0");
  assert.equal(
    out.reason,
    "mx.example.test[127.0.0.1] unexpected server reply: hello there while receiving the initial server greeting",
  );
  server.close();
});

Deno.test("no greeting within smtp_helo_timeout: timed out while receiving the initial server greeting", async () => {
  const server = await rawServer();
  const out = await deliverSmtp(
    target(server.port),
    message(["a@example.test"]),
    settings({}, 200),
  );
  assert.ok(out.kind === "failed");
  assert.equal(out.dsn, "4.4.2");
  assert.equal(
    out.reason,
    "conversation with mx.example.test[127.0.0.1] timed out while receiving the initial server greeting",
  );
  server.close();
});
