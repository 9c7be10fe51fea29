import assert from "node:assert/strict";
import { MailError } from "../../src/errors.ts";
import {
  HOSTNAME,
  RawClient,
  sleep,
  startTestServer,
  stubPolicy,
  text,
  withServer,
} from "./helpers.ts";

Deno.test("a full ESMTP dialogue delivers one message to submit", async () => {
  await withServer("", async (srv) => {
    const { client, greeting } = await RawClient.open(srv.port);
    assert.equal(greeting, `220 ${HOSTNAME} ESMTP facteur`);
    assert.equal(
      await client.command("EHLO client.example"),
      [
        `250-${HOSTNAME}`,
        "250-PIPELINING",
        "250-SIZE 10240000",
        "250-VRFY",
        "250-ENHANCEDSTATUSCODES",
        "250-8BITMIME",
        "250-DSN",
        "250-SMTPUTF8",
        "250-CHUNKING",
        "250 BINARYMIME",
      ].join("\n"),
    );
    assert.equal(await client.command("MAIL FROM:<alice@client.example>"), "250 2.1.0 Ok");
    assert.equal(await client.command("RCPT TO:<bob@example.org>"), "250 2.1.5 Ok");
    assert.equal(await client.command("RCPT TO:<carol@example.org>"), "250 2.1.5 Ok");
    assert.equal(await client.command("DATA"), "354 End data with <CR><LF>.<CR><LF>");
    await client.send("Subject: test\r\n\r\nline one\r\n..starts with a dot\r\n.\r\n");
    assert.equal(await client.reply(), "250 2.0.0 Ok: queued as QID1");
    assert.equal(await client.command("QUIT"), "221 2.0.0 Bye");
    assert.ok(await client.closedWithin(2000));
    client.close();

    assert.equal(srv.submitted.length, 1);
    const req = srv.submitted[0];
    assert.equal(text(req), "Subject: test\r\n\r\nline one\r\n.starts with a dot\r\n");
    assert.equal(req.envelope.sender, "alice@client.example");
    assert.deepEqual(req.envelope.recipients, [
      { address: "bob@example.org" },
      { address: "carol@example.org" },
    ]);
    assert.equal(req.protocol, "ESMTP");
    assert.deepEqual(req.client, { address: "127.0.0.1", helo: "client.example" });
    assert.ok(Math.abs(req.envelope.arrivalTime - Date.now()) < 10_000);
    await sleep(50);
    assert.deepEqual(srv.logs, [
      "connect from unknown[127.0.0.1]",
      "QID1: client=unknown[127.0.0.1]",
      "disconnect from unknown[127.0.0.1] ehlo=1 mail=1 rcpt=2 data=1 quit=1 commands=6",
    ]);
  });
});

Deno.test("HELO: plain reply without enhanced code (RFC 2034), protocol SMTP", async () => {
  await withServer("", async (srv) => {
    const { client } = await RawClient.open(srv.port);
    assert.equal(await client.command("HELO"), "501 Syntax: HELO hostname");
    assert.equal(await client.command("HELO old.example"), `250 ${HOSTNAME}`);
    assert.equal(await client.command("MAIL FROM:<>"), "250 2.1.0 Ok");
    assert.equal(await client.command("RCPT TO:<postmaster>"), "250 2.1.5 Ok");
    assert.equal(await client.command("DATA"), "354 End data with <CR><LF>.<CR><LF>");
    assert.equal(await client.command("x\r\n."), "250 2.0.0 Ok: queued as QID1");
    client.close();
    assert.equal(srv.submitted[0].protocol, "SMTP");
    assert.equal(srv.submitted[0].envelope.sender, "");
    assert.equal(srv.submitted[0].envelope.recipients[0].address, "postmaster");
  });
});

Deno.test("PIPELINING: a batch of MAIL/RCPT/DATA gets its replies in order", async () => {
  await withServer("", async (srv) => {
    const { client } = await RawClient.open(srv.port);
    await client.command("EHLO client.example");
    await client.send(
      "MAIL FROM:<a@client.example>\r\nRCPT TO:<b@example.org>\r\nRCPT TO:<>\r\n" +
        "RCPT TO:<c@example.org>\r\nDATA\r\n",
    );
    assert.equal(await client.reply(), "250 2.1.0 Ok");
    assert.equal(await client.reply(), "250 2.1.5 Ok");
    assert.equal(await client.reply(), "501 5.1.3 Bad recipient address syntax");
    assert.equal(await client.reply(), "250 2.1.5 Ok");
    assert.equal(await client.reply(), "354 End data with <CR><LF>.<CR><LF>");
    // End of data, then the next transaction pipelined behind it.
    await client.send("body\r\n.\r\nRSET\r\nMAIL FROM:<d@client.example>\r\nQUIT\r\n");
    assert.equal(await client.reply(), "250 2.0.0 Ok: queued as QID1");
    assert.equal(await client.reply(), "250 2.0.0 Ok");
    assert.equal(await client.reply(), "250 2.1.0 Ok");
    assert.equal(await client.reply(), "221 2.0.0 Bye");
    client.close();
    assert.deepEqual(srv.submitted[0].envelope.recipients.map((r) => r.address), [
      "b@example.org",
      "c@example.org",
    ]);
  });
});

Deno.test("a client talking before the greeting is refused with 554 5.5.0 and disconnected", async () => {
  const slowConnect = stubPolicy({
    onConnect: async () => {
      await sleep(150); // like a DNS lookup: the client's bytes arrive meanwhile
      return undefined;
    },
  });
  await withServer("", async (srv) => {
    const client = await RawClient.connect(srv.port);
    await client.send("EHLO eager.example\r\n");
    assert.equal(await client.rest(), "554 5.5.0 Error: SMTP protocol synchronization\r\n");
    client.close();
  }, { policy: slowConnect });
});

Deno.test("commands pipelined behind EHLO, DATA, or in a HELO session break synchronization", async () => {
  await withServer("", async (srv) => {
    const behindEhlo = (await RawClient.open(srv.port)).client;
    await behindEhlo.send("EHLO a.example\r\nMAIL FROM:<a@a.example>\r\n");
    assert.equal(await behindEhlo.rest(), "554 5.5.0 Error: SMTP protocol synchronization\r\n");
    behindEhlo.close();

    const behindData = (await RawClient.open(srv.port)).client;
    await behindData.command("EHLO a.example");
    await behindData.command("MAIL FROM:<a@a.example>");
    await behindData.command("RCPT TO:<b@example.org>");
    await behindData.send("DATA\r\nSubject: not waiting for 354\r\n\r\nx\r\n.\r\n");
    assert.equal(await behindData.rest(), "554 5.5.0 Error: SMTP protocol synchronization\r\n");
    behindData.close();

    const helo = (await RawClient.open(srv.port)).client;
    await helo.command("HELO a.example");
    await helo.send("MAIL FROM:<a@a.example>\r\nRCPT TO:<b@example.org>\r\n");
    assert.equal(await helo.rest(), "554 5.5.0 Error: SMTP protocol synchronization\r\n");
    helo.close();
    assert.equal(srv.submitted.length, 0);
  });
});

Deno.test("BDAT: chunks are joined byte for byte, LAST ends the message, dots are not special", async () => {
  await withServer("", async (srv) => {
    const { client } = await RawClient.open(srv.port);
    await client.command("EHLO client.example");
    await client.command("MAIL FROM:<a@client.example> BODY=8BITMIME");
    await client.command("RCPT TO:<b@example.org>");
    await client.send("BDAT 12\r\nSubject: x\r\n");
    assert.equal(await client.reply(), "250 2.0.0 Ok: 12 bytes");
    assert.equal(await client.command("DATA"), "503 5.5.1 Error: DATA after BDAT");
    assert.equal(
      await client.command("RCPT TO:<c@example.org>"),
      "503 5.5.1 Error: RCPT after BDAT",
    );
    assert.equal(
      await client.command("MAIL FROM:<x@y.example>"),
      "503 5.5.1 Error: MAIL after BDAT",
    );
    // A chunk may carry what looks like commands and an end-of-data line: it is data.
    const chunk = "\r\n.\r\nMAIL FROM:<evil@x.example>\r\n..\r\n";
    await client.send(`BDAT ${chunk.length}\r\n${chunk}BDAT 0 LAST\r\n`);
    assert.equal(await client.reply(), `250 2.0.0 Ok: ${chunk.length} bytes`);
    assert.equal(await client.reply(), "250 2.0.0 Ok: queued as QID1");
    assert.equal(await client.command("NOOP"), "250 2.0.0 Ok");
    client.close();
    assert.equal(text(srv.submitted[0]), "Subject: x\r\n" + chunk);
    assert.equal(srv.submitted[0].envelope.bodyType, "8BITMIME");
  });
});

Deno.test("BDAT refused chunks are still consumed, so their bytes never run as commands", async () => {
  await withServer("", async (srv) => {
    const { client } = await RawClient.open(srv.port);
    await client.command("EHLO client.example");
    const chunk = "RSET\r\nMAIL FROM:<evil@x.example>\r\n";
    await client.send(`BDAT ${chunk.length}\r\n${chunk}`);
    assert.equal(await client.reply(), "503 5.5.1 Error: need MAIL command");
    await client.command("MAIL FROM:<a@client.example>");
    await client.send(`BDAT 3\r\nabc`);
    assert.equal(await client.reply(), "554 5.5.1 Error: no valid recipients");
    assert.equal(await client.command("RCPT TO:<b@example.org>"), "250 2.1.5 Ok");
    assert.equal(await client.command("BDAT 0"), "551 5.7.1 Null BDAT request");
    await client.send("BDAT 3 LAST trailing\r\nabc");
    assert.equal(await client.reply(), "501 5.5.4 Syntax: BDAT count [LAST]");
    await client.send("BDAT 5 LAST\r\nhello");
    assert.equal(await client.reply(), "250 2.0.0 Ok: queued as QID1");
    assert.equal(await client.command("BDAT many"), "521 5.5.4 Syntax: BDAT count [LAST]");
    assert.ok(await client.closedWithin(2000));
    client.close();
    assert.equal(text(srv.submitted[0]), "hello\r\n", "a last line without CRLF gets one");
  });
});

Deno.test("BODY=BINARYMIME needs BDAT and keeps content exactly", async () => {
  await withServer("", async (srv) => {
    const { client } = await RawClient.open(srv.port);
    await client.command("EHLO client.example");
    await client.command("MAIL FROM:<a@client.example> BODY=BINARYMIME");
    await client.command("RCPT TO:<b@example.org>");
    assert.equal(await client.command("DATA"), "503 5.5.1 Error: BODY=BINARYMIME requires BDAT");
    const binary = "bin\x00\nary\r";
    await client.send(`BDAT ${binary.length} LAST\r\n${binary}`);
    assert.equal(await client.reply(), "250 2.0.0 Ok: queued as QID1");
    client.close();
    assert.equal(text(srv.submitted[0]), binary);
    assert.equal(srv.submitted[0].envelope.bodyType, "BINARYMIME");
  });
});

Deno.test("BDAT is not offered to HELO clients", async () => {
  await withServer("", async (srv) => {
    const { client } = await RawClient.open(srv.port);
    await client.command("HELO client.example");
    await client.command("MAIL FROM:<a@client.example>");
    await client.command("RCPT TO:<b@example.org>");
    await client.send("BDAT 4 LAST\r\nNOOP");
    assert.equal(await client.reply(), "502 5.5.1 Error: command not implemented");
    assert.equal(await client.command("QUIT"), "221 2.0.0 Bye");
    client.close();
  });
});

Deno.test("DSN, BODY and SMTPUTF8 parameters reach the envelope", async () => {
  await withServer("", async (srv) => {
    const { client } = await RawClient.open(srv.port);
    await client.command("EHLO client.example");
    assert.equal(
      await client.command(
        "MAIL FROM:<jörg@client.example> RET=HDRS ENVID=QQ314159+2Bx BODY=8BITMIME SMTPUTF8 SIZE=42",
      ),
      "250 2.1.0 Ok",
    );
    assert.equal(
      await client.command(
        "RCPT TO:<bob@example.org> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;Bob+2Bx@example.org",
      ),
      "250 2.1.5 Ok",
    );
    assert.equal(await client.command("RCPT TO:<zoë@example.org> NOTIFY=NEVER"), "250 2.1.5 Ok");
    await client.command("DATA");
    assert.equal(await client.command("x\r\n."), "250 2.0.0 Ok: queued as QID1");
    client.close();
    const env = srv.submitted[0].envelope;
    assert.equal(env.sender, "jörg@client.example");
    assert.equal(env.ret, "HDRS");
    assert.equal(env.envid, "QQ314159+x");
    assert.equal(env.bodyType, "8BITMIME");
    assert.equal(env.smtputf8, true);
    assert.deepEqual(env.recipients, [
      {
        address: "bob@example.org",
        notify: ["SUCCESS", "FAILURE"],
        orcpt: "rfc822;Bob+x@example.org",
      },
      { address: "zoë@example.org", notify: ["NEVER"] },
    ]);
  });
});

Deno.test("syntax errors get Postfix's replies and the session goes on", async () => {
  await withServer("smtpd_hard_error_limit = 100", async (srv) => {
    const { client } = await RawClient.open(srv.port);
    await client.command("EHLO client.example");
    const cases: [string, string][] = [
      ["MAIL", "501 5.5.4 Syntax: MAIL FROM:<address>"],
      ["MAIL TO:<a@b.example>", "501 5.5.4 Syntax: MAIL FROM:<address>"],
      ["MAIL FROM:<a@b.example", "501 5.1.7 Bad sender address syntax"],
      ["MAIL FROM:<a@@b.example>", "501 5.1.7 Bad sender address syntax"],
      ["MAIL FROM:<jörg@b.example>", "553 5.6.7 Must declare SMTPUTF8 to send unicode address"],
      ["MAIL FROM:<a@b.example> FOO=BAR", "555 5.5.4 Unsupported option: FOO=BAR"],
      ["MAIL FROM:<a@b.example> SIZE=abc", "501 5.5.4 Bad message size syntax"],
      ["MAIL FROM:<a@b.example> SIZE=99999999999", "552 5.3.4 Message size exceeds fixed limit"],
      [
        `MAIL FROM:<${"x".repeat(65)}@b.example>`,
        "501 5.1.7 Bad sender address syntax: local part longer than 64 octets",
      ],
      ["RCPT TO:<b@example.org>", "503 5.5.1 Error: need MAIL command"],
      ["DATA", "503 5.5.1 Error: need RCPT command"],
      ["MAIL FROM: <a@b.example>", "250 2.1.0 Ok"],
      ["MAIL FROM:<a@b.example>", "503 5.5.1 Error: nested MAIL command"],
      ["RCPT TO:<>", "501 5.1.3 Bad recipient address syntax"],
      ["RCPT TO:<user>", "501 5.1.3 Bad recipient address syntax"],
      ["RCPT TO:<zoë@example.org>", "553 5.6.7 Must declare SMTPUTF8 to send unicode address"],
      ["RCPT TO:<b@example.org> NOTIFY=ALWAYS", "501 5.5.4 Error: Bad NOTIFY parameter syntax"],
      ["RCPT", "501 5.5.4 Syntax: RCPT TO:<address>"],
      ["DATA", "554 5.5.1 Error: no valid recipients"],
      ["RCPT TO:<b@example.org>", "250 2.1.5 Ok"],
      ["DATA now", "501 5.5.4 Syntax: DATA"],
      ["RSET now", "501 5.5.4 Syntax: RSET"],
      ["RSET", "250 2.0.0 Ok"],
      ["RCPT TO:<b@example.org>", "503 5.5.1 Error: need MAIL command"],
      ["EXPN staff", "502 5.5.2 Error: command not recognized"],
      ["ETRN example.org", "502 5.5.1 Error: command not implemented"],
      ["STARTTLS", "502 5.5.1 Error: command not implemented"],
      ["AUTH PLAIN", "503 5.5.1 Error: authentication not enabled"],
      ["VRFY", "501 5.5.4 Syntax: VRFY address"],
      ["VRFY root", "252 2.0.0 Send mail, I'll try my best"],
      ["HELP", "214 2.0.0 Commands: HELO EHLO MAIL RCPT DATA BDAT RSET NOOP VRFY HELP QUIT"],
      ["EHLO", "501 Syntax: EHLO hostname"],
      ["noop", "250 2.0.0 Ok"],
    ];
    for (const [command, reply] of cases) {
      assert.equal(await client.command(command), reply, command);
    }
    client.close();
  });
});

Deno.test("EHLO resets a transaction (RFC 5321 4.1.4)", async () => {
  await withServer("", async (srv) => {
    const { client } = await RawClient.open(srv.port);
    await client.command("EHLO client.example");
    await client.command("MAIL FROM:<a@client.example>");
    await client.command("EHLO client.example");
    assert.equal(
      await client.command("RCPT TO:<b@example.org>"),
      "503 5.5.1 Error: need MAIL command",
    );
    client.close();
  });
});

Deno.test("configuration shapes what is offered and accepted", async () => {
  const toml = `
disable_vrfy_command = true
smtputf8_enable = false
smtpd_discard_ehlo_keywords = ["dsn", "chunking", "pipelining"]
smtpd_helo_required = true
strict_rfc821_envelopes = true
message_size_limit = 0
`;
  await withServer(toml, async (srv) => {
    const { client } = await RawClient.open(srv.port);
    assert.equal(
      await client.command("MAIL FROM:<a@b.example>"),
      "503 5.5.1 Error: send HELO/EHLO first",
    );
    assert.equal(
      await client.command("EHLO client.example"),
      [`250-${HOSTNAME}`, "250-SIZE", "250-ENHANCEDSTATUSCODES", "250 8BITMIME"].join("\n"),
    );
    assert.equal(await client.command("VRFY root"), "502 5.5.1 VRFY command is disabled");
    assert.equal(
      await client.command("MAIL FROM:a@b.example"),
      "501 5.1.7 Bad sender address syntax",
    );
    assert.equal(
      await client.command("MAIL FROM:<a@b.example> RET=FULL"),
      "501 5.7.1 DSN support is disabled",
    );
    assert.equal(
      await client.command("MAIL FROM:<a@b.example> SMTPUTF8"),
      "555 5.5.4 Unsupported option: SMTPUTF8",
    );
    assert.equal(await client.command("MAIL FROM:<a@b.example> SIZE=99999999999"), "250 2.1.0 Ok");
    await client.command("RCPT TO:<b@example.org>");
    await client.send("BDAT 2 LAST\r\nhi");
    assert.equal(await client.reply(), "502 5.5.1 Error: command not implemented");
    client.close();
  });
});

Deno.test("restrictions: refusals are replied and logged; a refused connect answers 503 until QUIT", async () => {
  const policy = stubPolicy({
    onRcpt: (ctx) =>
      Promise.resolve(
        ctx.recipient === "out@elsewhere.example"
          ? new MailError(554, "5.7.1", `<${ctx.recipient}>: Relay access denied`)
          : undefined,
      ),
    onMail: (ctx) =>
      Promise.resolve(
        ctx.sender === "spammer@x.example" ? new MailError(550, "5.7.1", "Go away") : undefined,
      ),
    onHelo: (ctx) =>
      Promise.resolve(
        ctx.helo === "bad"
          ? new MailError(504, "5.5.2", "<bad>: Helo command rejected")
          : undefined,
      ),
  });
  await withServer("", async (srv) => {
    const { client } = await RawClient.open(srv.port);
    assert.equal(await client.command("EHLO bad"), "504 5.5.2 <bad>: Helo command rejected");
    await client.command("EHLO client.example");
    assert.equal(await client.command("MAIL FROM:<spammer@x.example>"), "550 5.7.1 Go away");
    await client.command("MAIL FROM:<a@client.example>");
    assert.equal(
      await client.command("RCPT TO:<out@elsewhere.example>"),
      "554 5.7.1 <out@elsewhere.example>: Relay access denied",
    );
    client.close();
    await sleep(50);
    assert.ok(
      srv.logs.some((l) =>
        l.endsWith(
          "NOQUEUE: reject: RCPT from unknown[127.0.0.1]: 554 5.7.1 <out@elsewhere.example>: Relay access denied; " +
            "from=<a@client.example> to=<out@elsewhere.example> proto=ESMTP helo=<client.example>",
        )
      ),
      srv.logs.join("\n"),
    );
  }, { policy });

  const refuseConnect = stubPolicy({
    onConnect: () =>
      Promise.resolve(
        new MailError(554, "5.7.1", "<unknown[127.0.0.1]>: Client host rejected: Access denied"),
      ),
  });
  await withServer("", async (srv) => {
    const { client, greeting } = await RawClient.open(srv.port);
    assert.equal(greeting, "554 5.7.1 <unknown[127.0.0.1]>: Client host rejected: Access denied");
    assert.equal(
      await client.command("EHLO client.example"),
      "503 5.7.0 Error: access denied for unknown[127.0.0.1]",
    );
    assert.equal(await client.command("QUIT"), "221 2.0.0 Bye");
    client.close();
  }, { policy: refuseConnect });

  const shutdown = stubPolicy({
    onConnect: () =>
      Promise.resolve(new MailError(421, "4.3.2", `${HOSTNAME} Service shutting down`)),
  });
  await withServer("", async (srv) => {
    const client = await RawClient.connect(srv.port);
    assert.equal(await client.rest(), `421 4.3.2 ${HOSTNAME} Service shutting down\r\n`);
    client.close();
  }, { policy: shutdown });
});

Deno.test("a failing restriction is a temporary error, not a dead session", async () => {
  const policy = stubPolicy({ onRcpt: () => Promise.reject(new Error("map lookup failed")) });
  await withServer("", async (srv) => {
    const { client } = await RawClient.open(srv.port);
    await client.command("EHLO client.example");
    await client.command("MAIL FROM:<a@client.example>");
    assert.equal(
      await client.command("RCPT TO:<b@example.org>"),
      "451 4.3.0 Temporary lookup failure",
    );
    assert.equal(await client.command("NOOP"), "250 2.0.0 Ok");
    client.close();
  }, { policy });
});

Deno.test("DATA and end-of-data restrictions", async () => {
  const policy = stubPolicy({
    onData: (ctx) =>
      Promise.resolve(
        ctx.recipients.includes("nodata@example.org")
          ? new MailError(550, "5.7.1", "No DATA for you")
          : undefined,
      ),
    onEndOfData: (ctx) =>
      Promise.resolve(
        ctx.sender === "late@client.example"
          ? new MailError(550, "5.7.1", "Refused at end")
          : undefined,
      ),
  });
  await withServer("", async (srv) => {
    const { client } = await RawClient.open(srv.port);
    await client.command("EHLO client.example");
    await client.command("MAIL FROM:<a@client.example>");
    await client.command("RCPT TO:<nodata@example.org>");
    assert.equal(await client.command("DATA"), "550 5.7.1 No DATA for you");
    await client.command("RSET");
    await client.command("MAIL FROM:<late@client.example>");
    await client.command("RCPT TO:<b@example.org>");
    await client.command("DATA");
    assert.equal(await client.command("x\r\n."), "550 5.7.1 Refused at end");
    assert.equal(
      await client.command("RCPT TO:<b@example.org>"),
      "503 5.5.1 Error: need MAIL command",
    );
    client.close();
    assert.equal(srv.submitted.length, 0);
  }, { policy });
});

Deno.test("submit failures: its MailError is the reply; anything else is 451 4.3.0; the session goes on", async () => {
  let calls = 0;
  const submit = () => {
    calls++;
    return Promise.reject(
      calls === 1
        ? new MailError(452, "4.3.1", "Insufficient system storage")
        : new Error("disk on fire"),
    );
  };
  await withServer("", async (srv) => {
    const { client } = await RawClient.open(srv.port);
    await client.command("EHLO client.example");
    for (
      const expected of [
        "452 4.3.1 Insufficient system storage",
        "451 4.3.0 Error: queue file write error",
      ]
    ) {
      await client.command("MAIL FROM:<a@client.example>");
      await client.command("RCPT TO:<b@example.org>");
      await client.command("DATA");
      assert.equal(await client.command("x\r\n."), expected);
    }
    assert.equal(await client.command("NOOP"), "250 2.0.0 Ok");
    client.close();
  }, { submit });
});

Deno.test("message headers sent as commands end the session (Postfix)", async () => {
  await withServer("", async (srv) => {
    const { client } = await RawClient.open(srv.port);
    await client.command("EHLO client.example");
    assert.equal(
      await client.command("Subject: hello"),
      "521 5.7.0 Error: I can break rules, too. Goodbye.",
    );
    assert.ok(await client.closedWithin(2000));
    client.close();
  });
});

Deno.test("smtpd_peername_lookup: the verified client name is logged, seen by the policy and sent to cleanup", async () => {
  let seen: string | undefined;
  const srv = await startTestServer("", {
    clientHostname: (address) =>
      Promise.resolve(address === "127.0.0.1" ? "client.example" : undefined),
    policy: stubPolicy({
      onConnect: (ctx) => {
        seen = ctx.client.hostname;
        return Promise.resolve(undefined);
      },
    }),
  });
  try {
    const { client } = await RawClient.open(srv.port);
    await client.command("HELO h.example");
    await client.command("MAIL FROM:<a@h.example>");
    await client.command("RCPT TO:<b@h.example>");
    await client.command("DATA");
    await client.command("x: y\r\n\r\nz\r\n.");
    await client.command("QUIT");
    client.close();
    assert.equal(seen, "client.example");
    assert.equal(srv.logs[0], "connect from client.example[127.0.0.1]");
    assert.equal(srv.submitted[0].client.hostname, "client.example");
  } finally {
    await srv.close();
  }
});
