/**
 * Clients nobody here wrote talk to the server: nodemailer (npm), swaks
 * (Debian) and python3's smtplib.
 */
import assert from "node:assert/strict";
import nodemailer from "nodemailer";
import { requirePeer } from "../peers.ts";
import { startTestServer, text } from "./helpers.ts";

Deno.test("nodemailer sends a message with DSN options", async () => {
  const srv = await startTestServer();
  try {
    const transport = nodemailer.createTransport({
      host: "127.0.0.1",
      port: srv.port,
      secure: false,
      ignoreTLS: true,
      name: "nodemailer.example",
    });
    const message = {
      from: "Alice <alice@client.example>",
      to: ["bob@example.org", "carol@example.org"],
      subject: "Grüße from nodemailer",
      text: "Hello\n.\nA line with a lone dot above.\n",
      dsn: {
        id: "env-42",
        return: "headers",
        notify: ["failure", "delay"],
        recipient: "alice@client.example",
      },
    };
    // SMTP-transport options (dsn) are not in the generic Mail.Options type.
    const info = await transport.sendMail(message as Parameters<typeof transport.sendMail>[0]);
    transport.close();
    assert.match(info.response, /^250 2\.0\.0 Ok: queued as QID1$/);
    assert.deepEqual(info.accepted, ["bob@example.org", "carol@example.org"]);
    const req = srv.submitted[0];
    assert.equal(req.envelope.sender, "alice@client.example");
    assert.equal(req.envelope.envid, "env-42");
    assert.equal(req.envelope.ret, "HDRS");
    assert.deepEqual(req.envelope.recipients.map((r) => r.notify), [["FAILURE", "DELAY"], [
      "FAILURE",
      "DELAY",
    ]]);
    assert.equal(req.client.helo, "nodemailer.example");
    const content = text(req);
    assert.match(content, /^Subject: =\?UTF-8\?/m);
    assert.match(content, /\r\nHello\r\n\.\r\nA line with a lone dot above\.\r\n/);
  } finally {
    await srv.close();
  }
});

Deno.test({
  name: "swaks sends with PIPELINING, and a HELO session with a raw --data message",
  ...requirePeer("swaks", "swaks"),
  fn: async () => {
    const srv = await startTestServer();
    try {
      const swaks = (...args: string[]) =>
        new Deno.Command("swaks", {
          args: [
            "--server",
            `127.0.0.1:${srv.port}`,
            "--helo",
            "swaks.example",
            "--from",
            "sender@client.example",
            "--to",
            "rcpt@example.org",
            ...args,
          ],
          stdout: "piped",
          stderr: "piped",
        }).output();
      const piped = await swaks(
        "--pipeline",
        "--header",
        "Subject: via swaks",
        "--body",
        "swaks body\n..and a dotted line",
      );
      const out = new TextDecoder().decode(piped.stdout);
      assert.ok(piped.success, out + new TextDecoder().decode(piped.stderr));
      assert.match(
        out,
        / -> MAIL FROM:<sender@client.example>\n -> RCPT TO:<rcpt@example.org>\n -> DATA\n/,
      );
      assert.match(out, /<- {2}250 2\.0\.0 Ok: queued as QID1/);

      const helo = await swaks("--protocol", "SMTP", "--data", "Subject: raw\r\n\r\nraw body\r\n");
      assert.ok(helo.success, new TextDecoder().decode(helo.stdout));

      assert.equal(srv.submitted.length, 2);
      assert.equal(srv.submitted[0].envelope.sender, "sender@client.example");
      assert.match(text(srv.submitted[0]), /Subject: via swaks\r\n/);
      assert.match(text(srv.submitted[0]), /\r\nswaks body\r\n\.\.and a dotted line\r\n/);
      assert.match(text(srv.submitted[1]), /^Subject: raw\r\n\r\nraw body\r\n/);
      assert.equal(srv.submitted[1].protocol, "SMTP");
    } finally {
      await srv.close();
    }
  },
});

Deno.test({
  name: "python3 smtplib: sendmail, refused recipients, SMTPUTF8, VRFY",
  ...requirePeer("python3", "python3"),
  fn: async () => {
    const srv = await startTestServer();
    try {
      const script = `
import smtplib, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), local_hostname="python.example")
s.ehlo()
assert s.has_extn("pipelining") and s.has_extn("smtputf8") and s.has_extn("chunking"), s.esmtp_features
print("vrfy", s.verify("root"))
refused = s.sendmail("py@client.example", ["ok@example.org"], b"Subject: py\\r\\n\\r\\n.dot first\\r\\nend\\r\\n")
print("refused", refused)
s.sendmail("py@client.example", ["zoe\\u00eb@example.org"], "Subject: utf8\\r\\n\\r\\nh\\u00e9\\r\\n".encode(), mail_options=["SMTPUTF8", "BODY=8BITMIME"])
try:
    s.sendmail("py@client.example", ["<>"], b"x")
except smtplib.SMTPRecipientsRefused as e:
    print("all refused", e.recipients)
s.quit()
`;
      const run = await new Deno.Command("python3", {
        args: ["-c", script, String(srv.port)],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const out = new TextDecoder().decode(run.stdout);
      assert.ok(run.success, out + new TextDecoder().decode(run.stderr));
      assert.match(out, /^vrfy \(252, b"2\.0\.0 Send mail, I'll try my best"\)$/m);
      assert.match(out, /^refused \{\}$/m);
      assert.match(out, /all refused \{'<>': \(501, b'5\.1\.3 Bad recipient address syntax'\)\}/);
      assert.equal(srv.submitted.length, 2);
      assert.equal(text(srv.submitted[0]), "Subject: py\r\n\r\n.dot first\r\nend\r\n");
      assert.equal(srv.submitted[1].envelope.recipients[0].address, "zoeë@example.org");
      assert.equal(srv.submitted[1].envelope.smtputf8, true);
      assert.equal(text(srv.submitted[1]), "Subject: utf8\r\n\r\nhé\r\n");
    } finally {
      await srv.close();
    }
  },
});
