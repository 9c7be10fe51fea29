import assert from "node:assert/strict";
import { HOSTNAME, RawClient, sleep, text, withServer } from "./helpers.ts";

/** EHLO + MAIL + one RCPT. */
async function transaction(client: RawClient, from = "<a@client.example>"): Promise<void> {
  assert.equal(await client.command("EHLO client.example").then((r) => r.slice(0, 3)), "250");
  assert.equal(await client.command(`MAIL FROM:${from}`), "250 2.1.0 Ok");
  assert.equal(await client.command("RCPT TO:<b@example.org>"), "250 2.1.5 Ok");
}

Deno.test("smtpd_recipient_limit: 452 4.5.3 past the limit, the message goes to the others", async () => {
  await withServer("smtpd_recipient_limit = 2", async (srv) => {
    const { client } = await RawClient.open(srv.port);
    await transaction(client);
    assert.equal(await client.command("RCPT TO:<c@example.org>"), "250 2.1.5 Ok");
    assert.equal(
      await client.command("RCPT TO:<d@example.org>"),
      "452 4.5.3 Error: too many recipients",
    );
    await client.command("DATA");
    assert.equal(await client.command("x\r\n."), "250 2.0.0 Ok: queued as QID1");
    client.close();
    assert.equal(srv.submitted[0].envelope.recipients.length, 2);
  });
});

Deno.test("message_size_limit: SIZE= above it, DATA and BDAT over it get 552 5.3.4", async () => {
  await withServer("message_size_limit = 100", async (srv) => {
    const { client } = await RawClient.open(srv.port);
    assert.match(await client.command("EHLO client.example"), /\n250-SIZE 100\n/);
    assert.equal(
      await client.command("MAIL FROM:<a@client.example> SIZE=101"),
      "552 5.3.4 Message size exceeds fixed limit",
    );
    assert.equal(await client.command("MAIL FROM:<a@client.example> SIZE=100"), "250 2.1.0 Ok");
    await client.command("RCPT TO:<b@example.org>");
    await client.command("DATA");
    // The whole message is read to its end, then refused; nothing is stored.
    await client.send("x".repeat(60) + "\r\n" + "y".repeat(60) + "\r\n.\r\n");
    assert.equal(await client.reply(), "552 5.3.4 Message size exceeds fixed limit");
    assert.equal(await client.command("NOOP"), "250 2.0.0 Ok");

    await client.command("MAIL FROM:<a@client.example>");
    await client.command("RCPT TO:<b@example.org>");
    await client.send("BDAT 60\r\n" + "z".repeat(60));
    assert.equal(await client.reply(), "250 2.0.0 Ok: 60 bytes");
    await client.send("BDAT 60 LAST\r\n" + "z".repeat(60));
    assert.equal(await client.reply(), "552 5.3.4 Message size exceeds fixed limit");
    // The failed transaction is over: further chunks are consumed and refused.
    await client.send("BDAT 4 LAST\r\nNOOP");
    assert.equal(await client.reply(), "503 5.5.1 Error: need MAIL command");

    await client.command("MAIL FROM:<a@client.example>");
    await client.command("RCPT TO:<b@example.org>");
    await client.command("DATA");
    assert.equal(await client.command("small\r\n."), "250 2.0.0 Ok: queued as QID1");
    client.close();
    assert.equal(srv.submitted.length, 1);
    assert.equal(text(srv.submitted[0]), "small\r\n");
  });
});

Deno.test("smtpd_hard_error_limit: 421 4.7.0 too many errors, then the connection closes", async () => {
  await withServer("smtpd_hard_error_limit = 3", async (srv) => {
    const { client } = await RawClient.open(srv.port);
    for (let i = 0; i < 3; i++) {
      assert.equal(await client.command("BOGUS"), "502 5.5.2 Error: command not recognized");
    }
    assert.equal(await client.rest(), `421 4.7.0 ${HOSTNAME} Error: too many errors\r\n`);
    client.close();
    await sleep(50);
    assert.ok(
      srv.logs.some((l) => /too many errors after CONNECT from unknown\[127\.0\.0\.1\]/.test(l)),
    );
    assert.ok(srv.logs.some((l) => / unknown=0\/3 commands=0\/3$/.test(l)), srv.logs.join("\n"));
  });
});

Deno.test("smtpd_soft_error_limit: past it every reply waits smtpd_error_sleep_time", async () => {
  await withServer(`smtpd_soft_error_limit = 2\nsmtpd_error_sleep_time = "1s"`, async (srv) => {
    const { client } = await RawClient.open(srv.port);
    let started = Date.now();
    await client.command("BOGUS");
    await client.command("BOGUS");
    assert.ok(Date.now() - started < 500, "no delay below the soft limit");
    started = Date.now();
    assert.equal(await client.command("NOOP"), "250 2.0.0 Ok");
    assert.ok(Date.now() - started >= 900, `delayed ${Date.now() - started} ms`);
    client.close();
  });
});

Deno.test("smtpd_junk_command_limit: junk commands past it count as errors", async () => {
  await withServer("smtpd_junk_command_limit = 2\nsmtpd_hard_error_limit = 2", async (srv) => {
    const { client } = await RawClient.open(srv.port);
    for (let i = 0; i < 5; i++) assert.equal(await client.command("NOOP"), "250 2.0.0 Ok");
    assert.equal(await client.rest(), `421 4.7.0 ${HOSTNAME} Error: too many errors\r\n`);
    client.close();
  });
});

Deno.test("a delivered message forgives earlier errors (Postfix)", async () => {
  await withServer("smtpd_hard_error_limit = 3", async (srv) => {
    const { client } = await RawClient.open(srv.port);
    await client.command("BOGUS");
    await client.command("BOGUS");
    await transaction(client);
    await client.command("DATA");
    assert.equal(await client.command("x\r\n."), "250 2.0.0 Ok: queued as QID1");
    await client.command("BOGUS");
    await client.command("BOGUS");
    assert.equal(await client.command("NOOP"), "250 2.0.0 Ok");
    client.close();
  });
});

Deno.test("over-long command lines, NUL bytes and invalid UTF-8 are refused; the session goes on", async () => {
  await withServer("", async (srv) => {
    const { client } = await RawClient.open(srv.port);
    await client.command("EHLO client.example");
    assert.equal(
      await client.command("NOOP " + "x".repeat(5000)),
      "500 5.5.2 Error: line too long",
    );
    assert.equal(await client.command("NOOP"), "250 2.0.0 Ok");
    // MAIL with DSN parameters may exceed 512 octets (RFC 5321 4.5.3.1.4 extensions).
    assert.equal(
      await client.command(
        `MAIL FROM:<a@client.example> ENVID=${"e".repeat(100)} ${" ".repeat(500)}`,
      ),
      "250 2.1.0 Ok",
    );
    assert.equal(await client.command("RSET"), "250 2.0.0 Ok");
    await client.send(new Uint8Array([...new TextEncoder().encode("NOOP\0"), 0x0d, 0x0a]));
    assert.equal(await client.reply(), "500 5.5.2 Error: NUL character in command");
    await client.send(new Uint8Array([0x48, 0x45, 0x4c, 0x4f, 0x20, 0xc3, 0x28, 0x0d, 0x0a]));
    assert.equal(await client.reply(), "500 5.5.2 Error: bad UTF-8 syntax");
    await client.send("MAIL FROM:<a@b.example>\rRCPT TO:<c@d.example>\r\n");
    assert.equal(await client.reply(), "500 5.5.2 Error: bad syntax");
    assert.equal(await client.command("NOOP"), "250 2.0.0 Ok");
    client.close();
  });
});

Deno.test("header lines longer than line_length_limit pass through intact", async () => {
  await withServer("line_length_limit = 1000", async (srv) => {
    const { client } = await RawClient.open(srv.port);
    await transaction(client);
    await client.command("DATA");
    const long = "X-Long: " + "a".repeat(5000);
    const dotted = "." + "b".repeat(3000);
    assert.equal(
      await client.command(`${long}\r\n\r\n.${dotted}\r\n.`),
      "250 2.0.0 Ok: queued as QID1",
    );
    client.close();
    assert.equal(text(srv.submitted[0]), `${long}\r\n\r\n${dotted}\r\n`);
  });
});

Deno.test("smtpd_timeout: an idle client gets 421 4.4.2 and is disconnected", async () => {
  await withServer(`smtpd_timeout = "1s"`, async (srv) => {
    const { client } = await RawClient.open(srv.port);
    await client.command("EHLO client.example");
    const started = Date.now();
    assert.equal(await client.rest(3000), `421 4.4.2 ${HOSTNAME} Error: timeout exceeded\r\n`);
    assert.ok(Date.now() - started >= 900);
    client.close();

    // Stalling in the middle of DATA: the partial message is dropped.
    const stalled = (await RawClient.open(srv.port)).client;
    await transaction(stalled);
    await stalled.command("DATA");
    await stalled.send("Subject: half a message\r\n");
    assert.equal(await stalled.rest(3000), `421 4.4.2 ${HOSTNAME} Error: timeout exceeded\r\n`);
    stalled.close();
    assert.equal(srv.submitted.length, 0);
    await sleep(50);
    assert.ok(srv.logs.some((l) => l.includes("timeout after DATA from unknown[127.0.0.1]")));
  });
});

Deno.test("smtpd_client_connection_count_limit: the extra connection gets 421 4.7.0", async () => {
  await withServer(
    'smtpd_client_connection_count_limit = 2\nsmtpd_client_connection_limit_exceptions = ""',
    async (srv) => {
      const a = await RawClient.open(srv.port);
      const b = await RawClient.open(srv.port);
      const c = await RawClient.connect(srv.port);
      assert.equal(
        await c.rest(),
        `421 4.7.0 ${HOSTNAME} Error: too many connections from 127.0.0.1\r\n`,
      );
      c.close();
      assert.equal(await a.client.command("QUIT"), "221 2.0.0 Bye");
      await a.client.rest();
      a.client.close();
      await sleep(50);
      const d = await RawClient.open(srv.port);
      assert.equal(d.greeting, `220 ${HOSTNAME} ESMTP facteur`);
      for (const x of [b.client, d.client]) x.close();
    },
  );
});

Deno.test("smtpd_client_connection_limit_exceptions: $mynetworks clients are not counted", async () => {
  await withServer("smtpd_client_connection_count_limit = 1", async (srv) => {
    const a = await RawClient.open(srv.port);
    const b = await RawClient.open(srv.port);
    assert.equal(b.greeting, `220 ${HOSTNAME} ESMTP facteur`);
    a.client.close();
    b.client.close();
  });
});

Deno.test("process limit (master.cf maxproc): the extra connection gets 421 4.3.2", async () => {
  await withServer("", async (srv) => {
    const a = await RawClient.open(srv.port);
    const c = await RawClient.connect(srv.port);
    assert.equal(await c.rest(), "421 4.3.2 All server ports are busy\r\n");
    c.close();
    a.client.close();
  }, { processLimit: 1 });
});

Deno.test("while one client misbehaves, another is served", async () => {
  await withServer(`smtpd_timeout = "5s"`, async (srv) => {
    // One floods an endless line, one stalls in DATA, one sends megabytes of data slowly.
    const flood = (await RawClient.open(srv.port)).client;
    const stall = (await RawClient.open(srv.port)).client;
    await transaction(stall);
    await stall.command("DATA");
    await stall.send("Subject: never ends\r\n");
    let flooding = true;
    const flooder = (async () => {
      const junk = "j".repeat(64 * 1024);
      while (flooding) await flood.send(junk).catch(() => (flooding = false));
    })();

    const started = Date.now();
    const good = (await RawClient.open(srv.port)).client;
    await transaction(good);
    await good.command("DATA");
    assert.equal(await good.command("hello\r\n."), "250 2.0.0 Ok: queued as QID1");
    assert.equal(await good.command("QUIT"), "221 2.0.0 Bye");
    assert.ok(Date.now() - started < 2000, `served in ${Date.now() - started} ms`);
    flooding = false;
    for (const x of [flood, stall, good]) x.close();
    await flooder;
    assert.equal(srv.submitted.length, 1);
  });
});

Deno.test("random bytes, half commands and abrupt disconnects never stop the server", async () => {
  await withServer(`smtpd_timeout = "2s"\nmessage_size_limit = 20000`, async (srv) => {
    let seed = 42;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const pieces = [
      "EHLO x\r\n",
      "MAIL FROM:<a@b.example>\r\n",
      "RCPT TO:<c@d.example>\r\n",
      "DATA\r\n",
      "BDAT 7\r\n",
      "BDAT 99999999999999999999999\r\n",
      ".\r\n",
      "\r\n",
      "\n",
      "\r",
      "\0",
      "\xff\xfe",
      "QUIT\r\n",
      "RSET\r\n",
      "BDAT 3 LAST\r\n",
      "x".repeat(3000),
      "<<>>",
      'MAIL FROM:<"\\\r\n',
    ];
    const clients = Array.from({ length: 30 }, async () => {
      const client = await RawClient.connect(srv.port);
      const parts: string[] = [];
      for (let i = 0; i < 20; i++) parts.push(pieces[Math.floor(random() * pieces.length)]);
      await client.send(parts.join("")).catch(() => {});
      if (random() < 0.5) await sleep(random() * 50);
      client.close();
    });
    await Promise.all(clients);
    const { client } = await RawClient.open(srv.port);
    await transaction(client);
    await client.command("DATA");
    assert.match(await client.command("still here\r\n."), /^250 2\.0\.0 Ok: queued as QID\d+$/);
    client.close();
    await sleep(100);
    assert.ok(
      !srv.logs.some((l) => l.startsWith("error:")),
      srv.logs.filter((l) => l.startsWith("error")).join("\n"),
    );
  });
});
