/**
 * SMTP smuggling (CVE-2023-51764 and relatives): only CR LF . CR LF ends
 * DATA, whatever smtpd_forbid_bare_newline says. Each variant hides a second
 * transaction after a fake end of data; it must stay message content and
 * never run as commands.
 */
import assert from "node:assert/strict";
import { RawClient, startTestServer, text } from "./helpers.ts";

const SMUGGLED = "MAIL FROM:<ceo@bank.example>\r\nRCPT TO:<victim@example.org>\r\nDATA\r\n" +
  "Subject: smuggled\r\n\r\nsend money\r\n";

const VARIANTS: Record<string, string> = {
  "LF . LF": "\n.\n",
  "CR . CR": "\r.\r",
  "LF . CRLF": "\n.\r\n",
  "CRLF . LF": "\r\n.\n",
  "CR LF . CR": "\r\n.\r",
};

/** Sends one message whose body hides SMUGGLED behind `fake`; returns the replies up to the close or QUIT. */
async function smuggle(port: number, fake: string): Promise<string[]> {
  const { client } = await RawClient.open(port);
  await client.command("EHLO client.example");
  await client.command("MAIL FROM:<a@client.example>");
  await client.command("RCPT TO:<b@example.org>");
  assert.equal(await client.command("DATA"), "354 End data with <CR><LF>.<CR><LF>");
  await client.send(`Subject: real\r\n\r\nhello${fake}${SMUGGLED}.\r\n`);
  const replies = [await client.reply()];
  try {
    replies.push(await client.command("QUIT"));
  } catch {
    replies.push("(closed)");
  }
  client.close();
  return replies;
}

for (const [policy, exclusions] of [["normalize", ""], ["no", ""], ["normalize", "127.0.0.0/8"]]) {
  Deno.test(`smuggling variants stay content (smtpd_forbid_bare_newline = ${policy}, exclusions "${exclusions}")`, async () => {
    const srv = await startTestServer(
      `smtpd_forbid_bare_newline = "${policy}"\nsmtpd_forbid_bare_newline_exclusions = "${exclusions}"`,
    );
    try {
      for (const [name, fake] of Object.entries(VARIANTS)) {
        srv.submitted.length = 0;
        const replies = await smuggle(srv.port, fake);
        assert.deepEqual(replies, [
          "250 2.0.0 Ok: queued as " + replies[0].slice(-4),
          "221 2.0.0 Bye",
        ], name);
        assert.equal(srv.submitted.length, 1, `${name}: exactly one message`);
        const content = text(srv.submitted[0]);
        assert.ok(
          content.includes("MAIL FROM:<ceo@bank.example>"),
          `${name}: smuggled text is content`,
        );
        assert.ok(content.endsWith("send money\r\n"), name);
      }
    } finally {
      await srv.close();
    }
  });
}

Deno.test("normalize: bare LF becomes CR LF in stored content; a '.' after a bare LF is kept", async () => {
  const srv = await startTestServer(
    `smtpd_forbid_bare_newline = "normalize"\nsmtpd_forbid_bare_newline_exclusions = ""`,
  );
  try {
    await smuggle(srv.port, "\n.\n");
    assert.equal(
      text(srv.submitted[0]),
      "Subject: real\r\n\r\nhello\r\n.\r\n" + SMUGGLED,
    );
  } finally {
    await srv.close();
  }
});

Deno.test("no (and clients in the exclusions): bare LF and bare CR are kept as they came", async () => {
  const srv = await startTestServer(`smtpd_forbid_bare_newline_exclusions = "127.0.0.0/8"`);
  try {
    await smuggle(srv.port, "\n.\n");
    await smuggle(srv.port, "\r.\r");
    assert.equal(text(srv.submitted[0]), "Subject: real\r\n\r\nhello\n.\n" + SMUGGLED);
    assert.equal(text(srv.submitted[1]), "Subject: real\r\n\r\nhello\r.\r" + SMUGGLED);
  } finally {
    await srv.close();
  }
});

Deno.test("reject: a bare LF in DATA gets 550 5.5.2 after the real end, nothing is stored, the client is cut", async () => {
  // The default policy is reject; loopback is in the default exclusions ($mynetworks), so clear them.
  const srv = await startTestServer(`smtpd_forbid_bare_newline_exclusions = ""`);
  try {
    for (const fake of ["\n.\n", "\n.\r\n", "\r\n.\n"]) {
      const replies = await smuggle(srv.port, fake);
      assert.deepEqual(replies, ["550 5.5.2 Error: bare <LF> received", "(closed)"]);
    }
    // A bare CR is not a bare LF: it is data, the message is accepted.
    assert.deepEqual((await smuggle(srv.port, "\r.\r"))[0].slice(0, 3), "250");
    assert.equal(srv.submitted.length, 1);
    assert.ok(text(srv.submitted[0]).includes("hello\r.\rMAIL FROM:<ceo@bank.example>"));
  } finally {
    await srv.close();
  }
});

Deno.test("reject: a command ending in a bare LF gets 550 5.5.2 and the client is cut; normalize accepts it", async () => {
  const strict = await startTestServer(`smtpd_forbid_bare_newline_exclusions = ""`);
  try {
    const { client } = await RawClient.open(strict.port);
    await client.send("EHLO client.example\n");
    assert.equal(await client.rest(), "550 5.5.2 Error: bare <LF> received\r\n");
    client.close();
  } finally {
    await strict.close();
  }
  const lenient = await startTestServer(
    `smtpd_forbid_bare_newline = "normalize"\nsmtpd_forbid_bare_newline_exclusions = ""`,
  );
  try {
    const { client } = await RawClient.open(lenient.port);
    await client.send("NOOP\n");
    assert.equal(await client.reply(), "250 2.0.0 Ok");
    client.close();
  } finally {
    await lenient.close();
  }
});

Deno.test("BDAT content: bare LF is normalized or rejected like DATA (not for BINARYMIME)", async () => {
  const srv = await startTestServer(
    `smtpd_forbid_bare_newline = "normalize"\nsmtpd_forbid_bare_newline_exclusions = ""`,
  );
  try {
    const { client } = await RawClient.open(srv.port);
    await client.command("EHLO client.example");
    await client.command("MAIL FROM:<a@client.example>");
    await client.command("RCPT TO:<b@example.org>");
    await client.send("BDAT 7 LAST\r\na\nb\r\nc\n");
    assert.equal(await client.reply(), "250 2.0.0 Ok: queued as QID1");
    client.close();
    assert.equal(text(srv.submitted[0]), "a\r\nb\r\nc\r\n");
  } finally {
    await srv.close();
  }
  const strict = await startTestServer(`smtpd_forbid_bare_newline_exclusions = ""`);
  try {
    const { client } = await RawClient.open(strict.port);
    await client.command("EHLO client.example");
    await client.command("MAIL FROM:<a@client.example>");
    await client.command("RCPT TO:<b@example.org>");
    await client.send("BDAT 4 LAST\r\na\nb\n");
    assert.equal(await client.rest(), "550 5.5.2 Error: bare <LF> received\r\n");
    client.close();
    assert.equal(strict.submitted.length, 0);
  } finally {
    await strict.close();
  }
});
