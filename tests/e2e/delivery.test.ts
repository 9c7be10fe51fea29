// End to end: the real server process on a loopback ephemeral port, clients
// nobody here wrote (python3 smtplib, swaks, nodemailer), Maildirs on disk.
import assert from "node:assert/strict";
import { join } from "node:path";
import nodemailer from "nodemailer";
import { requirePeer } from "../peers.ts";
import { RawClient } from "../smtpd/helpers.ts";
import { eventually, mailbox, maildirMessages, ROOT, startServer } from "./harness.ts";

const decoder = new TextDecoder();
const python = requirePeer("python3", "python3");
const swaks = requirePeer("swaks", "swaks");

async function run(cmd: string, args: string[], stdin?: string) {
  const child = new Deno.Command(cmd, {
    args,
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(stdin));
    await w.close();
  }
  const out = await child.output();
  return {
    code: out.code,
    stdout: decoder.decode(out.stdout),
    stderr: decoder.decode(out.stderr),
  };
}

Deno.test({
  name: "python3 smtplib: the message lands byte for byte in the Maildir",
  ignore: python.ignore,
  fn: async () => {
    const server = await startServer();
    try {
      // Exact bytes, with an 8-bit UTF-8 body and a line starting with a dot.
      const message = "From: Sender <sender@client.test>\r\n" +
        "To: alice@example.test\r\n" +
        "Subject: byte for byte\r\n" +
        "Message-ID: <e2e-1@client.test>\r\n" +
        "Date: Mon, 23 Nov 2026 10:00:00 +0000\r\n" +
        "MIME-Version: 1.0\r\n" +
        "Content-Type: text/plain; charset=utf-8\r\n" +
        "Content-Transfer-Encoding: 8bit\r\n" +
        "\r\n" +
        "Bonjour, café crème.\r\n" +
        ".a line that starts with a dot\r\n" +
        "last line\r\n";
      const script = `
import smtplib, sys
msg = sys.stdin.buffer.read()
s = smtplib.SMTP("127.0.0.1", ${server.port}, local_hostname="client.test")
s.ehlo("client.test")
code, text = s.mail("sender@client.test", ["BODY=8BITMIME"])[0:2]
s.rcpt("alice@example.test")
code, text = s.data(msg)
print(code, text.decode())
s.quit()
`;
      const out = await run("python3", ["-c", script], message);
      assert.equal(out.code, 0, out.stderr);
      const queued = /^250 2\.0\.0 Ok: queued as (\S+)/.exec(out.stdout);
      assert.ok(queued, out.stdout);
      const queueId = queued[1];

      const [file] = await eventually(async () => {
        const m = await maildirMessages(mailbox(server, "alice"));
        return m.length ? m : undefined;
      });
      const got = decoder.decode(file.bytes);
      const expectedTail = message.replaceAll("\r\n", "\n");
      const received = new RegExp(
        "^Return-Path: <sender@client\\.test>\\n" +
          "X-Original-To: alice@example\\.test\\n" +
          "Delivered-To: alice@example\\.test\\n" +
          // The verified reverse name of 127.0.0.1 (from /etc/hosts: localhost or the host's name).
          "Received: from client\\.test \\([a-z0-9.-]+ \\[127\\.0\\.0\\.1\\]\\)\\n" +
          "\\tby mail\\.example\\.test \\(facteur\\) with ESMTP id " + queueId + "\\n" +
          "\\tfor <alice@example\\.test>; [A-Z][a-z]{2}, \\d{1,2} [A-Z][a-z]{2} \\d{4} " +
          "\\d\\d:\\d\\d:\\d\\d [+-]\\d{4}\\n",
      );
      assert.match(got, received);
      assert.equal(got.replace(received, ""), expectedTail, "the message itself is unchanged");
      // Maildir: the file name carries its size (S=) and its CRLF size (W=, as Dovecot), and
      // nothing is left in tmp/.
      const lines = file.bytes.filter((b) => b === 10).length;
      assert.match(
        file.name,
        new RegExp(`,S=${file.bytes.length},W=${file.bytes.length + lines}$`),
      );
      assert.deepEqual([...Deno.readDirSync(join(mailbox(server, "alice"), "tmp"))], []);
    } finally {
      await server.stop();
    }
  },
});

Deno.test({
  name: "swaks to postmaster@ reaches alice through the aliases; unknown users get 550 5.1.1",
  ignore: swaks.ignore,
  fn: async () => {
    const server = await startServer();
    try {
      const ok = await run("swaks", [
        "--server",
        `127.0.0.1:${server.port}`,
        "--from",
        "someone@client.test",
        "--to",
        "postmaster@example.test",
        "--header",
        "Subject: swaks test",
      ]);
      assert.equal(ok.code, 0, ok.stdout + ok.stderr);
      assert.match(ok.stdout, /<- {2}250 2\.0\.0 Ok: queued as \w+/);
      const [file] = await eventually(async () => {
        const m = await maildirMessages(mailbox(server, "alice"));
        return m.length ? m : undefined;
      });
      const text = decoder.decode(file.bytes);
      assert.match(text, /^Return-Path: <someone@client\.test>\n/);
      assert.match(text, /\nDelivered-To: postmaster@example\.test\n/); // local(8): the address expanded
      assert.match(text, /\nX-Original-To: postmaster@example\.test\n/);
      assert.match(text, /\nSubject: swaks test\n/);

      const bad = await run("swaks", [
        "--server",
        `127.0.0.1:${server.port}`,
        "--to",
        "nobody@example.test",
      ]);
      assert.notEqual(bad.code, 0);
      assert.match(
        bad.stdout,
        /<\*\* 550 5\.1\.1 <nobody@example\.test>: Recipient address rejected: User unknown in local recipient table/,
      );
    } finally {
      await server.stop();
    }
  },
});

Deno.test("nodemailer: an alias with two members delivers to both", async () => {
  const server = await startServer();
  try {
    const transport = nodemailer.createTransport({
      host: "127.0.0.1",
      port: server.port,
      secure: false,
      ignoreTLS: true,
      name: "client.test",
    });
    const info = await transport.sendMail({
      from: "sender@client.test",
      to: "team@example.test",
      subject: "to the team",
      text: "hello team",
    });
    transport.close();
    assert.match(info.response, /^250 2\.0\.0 Ok: queued as \w+/);
    for (const user of ["alice", "bob"]) {
      const [file] = await eventually(async () => {
        const m = await maildirMessages(mailbox(server, user));
        return m.length ? m : undefined;
      });
      const text = decoder.decode(file.bytes);
      assert.match(text, /\nDelivered-To: team@example\.test\n/);
      assert.match(text, /\nX-Original-To: team@example\.test\n/);
      assert.match(text, /\n\nhello team\n?$/);
    }
  } finally {
    await server.stop();
  }
});

Deno.test("relay control: outside mynetworks, remote recipients are refused, local ones accepted", async () => {
  const outside = await startServer({ toml: `mynetworks = "192.0.2.0/24"` });
  try {
    const { client, greeting } = await RawClient.open(outside.port);
    assert.match(greeting, /^220 mail\.example\.test ESMTP facteur/);
    assert.match(await client.command("EHLO client.test"), /^250/);
    assert.match(await client.command("MAIL FROM:<a@client.test>"), /^250 2\.1\.0/);
    assert.equal(
      await client.command("RCPT TO:<victim@elsewhere.test>"),
      // Postfix's default smtpd_relay_restrictions end in defer_unauth_destination.
      "454 4.7.1 <victim@elsewhere.test>: Relay access denied",
    );
    assert.match(await client.command("RCPT TO:<alice@example.test>"), /^250 2\.1\.5/);
    assert.match(await client.command("QUIT"), /^221 2\.0\.0/);
    client.close();
  } finally {
    await outside.stop();
  }
});

Deno.test("hostile input from one client never stops the server serving another", async () => {
  const server = await startServer();
  try {
    const { client: bad } = await RawClient.open(server.port);
    await bad.send("EHLO x\r\n");
    await bad.reply();
    await bad.send(new Uint8Array([0x4d, 0x41, 0x00, 0xff, 0xfe, 0x0d, 0x0a])); // NUL + invalid UTF-8
    assert.match(await bad.reply(), /^5\d\d 5\.5\.\d/);
    await bad.send("X".repeat(100_000) + "\r\n");
    assert.match(await bad.reply(), /^500 5\.5\.2/);

    const { client: good } = await RawClient.open(server.port);
    assert.match(await good.command("HELO good.test"), /^250/);
    assert.match(await good.command("MAIL FROM:<>"), /^250/);
    assert.match(await good.command("RCPT TO:<bob@example.test>"), /^250/);
    assert.match(await good.command("DATA"), /^354/);
    assert.match(
      await good.command("Subject: still here\r\n\r\nok\r\n."),
      /^250 2\.0\.0 Ok: queued as/,
    );
    good.close();
    bad.close();
    await eventually(async () => (await maildirMessages(mailbox(server, "bob"))).length === 1);
  } finally {
    await server.stop();
  }
});

Deno.test("config.example.toml as shipped: mail to postmaster@example.test lands in ./data", async () => {
  const example = await Deno.readTextFile(join(ROOT, "config.example.toml"));
  assert.match(example, /listen = "127\.0\.0\.1:2525"/);
  // Same file, ephemeral ports so the test never collides with a running server.
  const server = await startServer({
    configText: example.replaceAll(/listen = "127\.0\.0\.1:\d+"/g, 'listen = "127.0.0.1:0"'),
  });
  try {
    const { client } = await RawClient.open(server.port);
    assert.match(await client.command("EHLO newcomer.test"), /^250/);
    assert.match(await client.command("MAIL FROM:<me@newcomer.test>"), /^250/);
    assert.match(await client.command("RCPT TO:<postmaster@example.test>"), /^250/);
    assert.match(await client.command("DATA"), /^354/);
    assert.match(await client.command("Subject: hello\r\n\r\nfirst mail\r\n."), /^250 2\.0\.0 Ok/);
    await client.command("QUIT");
    client.close();
    const [file] = await eventually(async () => {
      const m = await maildirMessages(join(server.dir, "data/home/alice/Maildir"));
      return m.length ? m : undefined;
    });
    assert.match(new TextDecoder().decode(file.bytes), /\nSubject: hello\n[\s\S]*\nfirst mail\n$/);
  } finally {
    await server.stop();
  }
});
