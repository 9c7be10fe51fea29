// End to end: the seeds' address rewriting examples through the real server
// (`facteur serve`), a client on 127.0.0.1 (local_header_rewrite_clients
// default permit_inet_interfaces), local delivery into Maildirs. What is
// checked is what the user sees in the delivered file: Return-Path,
// X-Original-To, Delivered-To and the rewritten headers.
import assert from "node:assert/strict";
import { join } from "node:path";
import { RawClient } from "../smtpd/helpers.ts";
import {
  eventually,
  mailbox,
  maildirMessages,
  type RunningServer,
  startServer,
} from "./harness.ts";

const decoder = new TextDecoder();

/** The seeds' tables, adapted so that the mail lands in this server's mailboxes. */
const TABLES: Record<string, string> = {
  // seed 004 "Changer un nom de domaine": @domain.lan @example.org
  canonical: "@domain.lan @example.test\n",
  // seed 000: /^[^@]+@bidon\.fr/ $1@domaine.fr, with the group its $1 needs
  expedition: "/^([^@]+)@bidon\\.fr$/ $1@example.test\n",
  // seed 004 "Changement de destinataire"
  reception: "hostmaster@dns1.example.org bob@example.test\n",
  // seed 000 hotline archive: a blind copy of everything a hotline sends or receives
  hotlines: "/^(hotline[^@]*)@example\\.test$/ alice+$1@example.test\n",
};

async function withServer(
  body: (server: RunningServer) => Promise<void>,
  extraToml = "",
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "facteur-rewriting-" });
  for (const [name, text] of Object.entries(TABLES)) {
    await Deno.writeTextFile(join(dir, name), text);
  }
  const server = await startServer({
    toml: `
recipient_delimiter = "+"
local_recipient_maps = ["inline:{ alice=alice, bob=bob, hotline=hotline }"]
canonical_maps = ["texthash:${join(dir, "canonical")}"]
sender_canonical_maps = ["pcre:${join(dir, "expedition")}"]
recipient_canonical_maps = ["texthash:${join(dir, "reception")}"]
masquerade_domains = ["netos.net"]
sender_bcc_maps = ["pcre:${join(dir, "hotlines")}"]
recipient_bcc_maps = ["pcre:${join(dir, "hotlines")}"]
${extraToml}`,
  });
  try {
    await body(server);
  } finally {
    await server.stop();
    await Deno.remove(server.dir, { recursive: true }).catch(() => {});
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

async function send(port: number, from: string, rcpts: string[], headers: string): Promise<void> {
  const { client } = await RawClient.open(port);
  try {
    assert.match(await client.command("EHLO client.test"), /^250/);
    assert.match(await client.command(`MAIL FROM:<${from}>`), /^250/);
    for (const r of rcpts) assert.match(await client.command(`RCPT TO:<${r}>`), /^250/, r);
    assert.match(await client.command("DATA"), /^354/);
    assert.match(await client.command(`${headers}\r\nbody\r\n.`), /^250 2\.0\.0 Ok: queued as/);
    await client.command("QUIT");
  } finally {
    client.close();
  }
}

/** The delivered files of a mailbox whose text matches `subject`, once there are `count`. */
function delivered(server: RunningServer, user: string, subject: string, count = 1) {
  return eventually(async () => {
    const texts = (await maildirMessages(mailbox(server, user)))
      .map((m) => decoder.decode(m.bytes))
      .filter((t) => t.includes(`Subject: ${subject}\n`));
    return texts.length >= count ? texts : undefined;
  });
}

/** The delivery-agent lines and the original header block, without Received:. */
function top(text: string): string[] {
  const head = text.slice(0, text.indexOf("\n\n"));
  return head.split("\n").filter((l) => !/^(Received:|\s)/.test(l));
}

Deno.test("seeds 000/003/004: canonical, masquerading and BCC as a user sees them in the Maildir", async () => {
  await withServer(async (server) => {
    // seed 004: the whole domain.lan becomes example.test, senders and recipients alike.
    await send(
      server.port,
      "root@domain.lan",
      ["alice@domain.lan"],
      "From: Root <root@domain.lan>\r\nTo: alice@domain.lan\r\nSubject: domain\r\n",
    );
    const [domain] = await delivered(server, "alice", "domain");
    const lines = top(domain);
    assert.deepEqual(lines.slice(0, 3), [
      "Return-Path: <root@example.test>",
      "X-Original-To: alice@domain.lan",
      "Delivered-To: alice@example.test",
    ]);
    assert.ok(lines.includes("From: Root <root@example.test>"), domain);
    assert.ok(lines.includes("To: alice@example.test"), domain);

    // seed 000 (pcre sender rewrite) and seed 004 (recipient rewrite).
    await send(
      server.port,
      "user1@bidon.fr",
      ["hostmaster@dns1.example.org"],
      'From: "User One" <user1@bidon.fr>\r\nTo: hostmaster@dns1.example.org\r\nSubject: exchange\r\n',
    );
    const [exchange] = await delivered(server, "bob", "exchange");
    assert.deepEqual(top(exchange).slice(0, 3), [
      "Return-Path: <user1@example.test>",
      "X-Original-To: hostmaster@dns1.example.org",
      "Delivered-To: bob@example.test",
    ]);
    assert.ok(top(exchange).includes('From: "User One" <user1@example.test>'), exchange);
    assert.ok(top(exchange).includes("To: bob@example.test"), exchange);

    // seed 003: masquerading hides the host name of the sender, not recipients' envelopes.
    await send(
      server.port,
      "armand@toguyeni.netos.net",
      ["bob@example.test"],
      "From: armand@toguyeni.netos.net\r\nCc: gi@sub.netos.net\r\nTo: bob\r\nSubject: masquerade\r\n",
    );
    const [masq] = await delivered(server, "bob", "masquerade");
    assert.equal(top(masq)[0], "Return-Path: <armand@netos.net>");
    assert.ok(top(masq).includes("From: armand@netos.net"), masq);
    assert.ok(top(masq).includes("Cc: gi@netos.net"), masq);
    // Unqualified: completed with @$myorigin (default $myhostname).
    assert.ok(top(masq).includes("To: bob@mail.example.test"), masq);

    // seed 000: what the hotline sends and receives is copied to the archive (alice+hotline).
    await send(
      server.port,
      "hotline@example.test",
      ["bob@example.test"],
      "From: hotline@example.test\r\nTo: bob@example.test\r\nSubject: hotline out\r\n",
    );
    await send(
      server.port,
      "bob@example.test",
      ["hotline@example.test"],
      "From: bob@example.test\r\nTo: hotline@example.test\r\nSubject: hotline in\r\n",
    );
    const [copyOut] = await delivered(server, "alice", "hotline out");
    const [copyIn] = await delivered(server, "alice", "hotline in");
    for (const copy of [copyOut, copyIn]) {
      assert.deepEqual(top(copy).slice(1, 3), [
        "X-Original-To: alice+hotline@example.test",
        "Delivered-To: alice+hotline@example.test",
      ]);
      assert.ok(
        !/alice/i.test(copy.slice(copy.indexOf("\nFrom:"))),
        "a blind copy: no header names it",
      );
    }
    await delivered(server, "bob", "hotline out");
    await delivered(server, "hotline", "hotline in");
  });
});

Deno.test("a client outside local_header_rewrite_clients: envelope rewritten, headers as sent", async () => {
  await withServer(async (server) => {
    await send(
      server.port,
      "root@domain.lan",
      ["alice@domain.lan"],
      "From: Root <root@domain.lan>\r\nTo: alice@domain.lan, carol\r\nSubject: remote\r\n",
    );
    const [text] = await delivered(server, "alice", "remote");
    const lines = top(text);
    assert.equal(lines[0], "Return-Path: <root@example.test>");
    assert.equal(lines[2], "Delivered-To: alice@example.test");
    assert.ok(lines.includes("From: Root <root@domain.lan>"), text);
    assert.ok(lines.includes("To: alice@domain.lan, carol"), text);
  }, 'local_header_rewrite_clients = ""');
});
