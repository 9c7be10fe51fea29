/**
 * The store and a real Dovecot (Debian dovecot-imapd, a private instance on
 * a loopback port) on the same Maildirs: what facteur writes, Dovecot reads
 * with the same flags, keywords, sizes, dates and bodies; what Dovecot
 * writes, facteur opens with the same UIDs, UIDVALIDITY, flags and keywords;
 * and a flag changed by facteur is seen by Dovecot.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { closeMailstore, openMailstore } from "../../src/mailstore/mod.ts";
import { findPeer, requirePeer } from "../peers.ts";
import { freePort } from "../peers/postfix.ts";
import { dec, enc } from "./helpers.ts";

const dovecotPeer = requirePeer("dovecot", "dovecot-imapd");
const NOBODY = 65534;

interface Dovecot {
  dir: string;
  port: number;
  maildir(user: string): string;
  stop(): Promise<void>;
}

async function startDovecot(): Promise<Dovecot> {
  const dir = await Deno.makeTempDir({ prefix: "facteur-store-dovecot-" });
  await Deno.chmod(dir, 0o755);
  await Deno.mkdir(join(dir, "mail"), { mode: 0o777 });
  await Deno.chmod(join(dir, "mail"), 0o777);
  const users = ["alice", "bob"].map((u) =>
    `${u}:{PLAIN}secret:${NOBODY}:${NOBODY}::${dir}/mail/${u}::\n`
  );
  await Deno.writeTextFile(join(dir, "users"), users.join(""));
  const port = freePort();
  await Deno.writeTextFile(
    join(dir, "dovecot.conf"),
    `base_dir = ${dir}/run
state_dir = ${dir}/state
log_path = ${dir}/dovecot.log
protocols = imap
ssl = no
disable_plaintext_auth = no
passdb {
  driver = passwd-file
  args = ${dir}/users
}
userdb {
  driver = passwd-file
  args = ${dir}/users
}
mail_location = maildir:${dir}/mail/%u/Maildir
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = ${port}
  }
  inet_listener imaps {
    port = 0
  }
}
`,
  );
  const child = new Deno.Command(findPeer("dovecot")!, {
    args: ["-F", "-c", join(dir, "dovecot.conf")],
    stdout: "null",
    stderr: "null",
  }).spawn();
  const stop = async () => {
    try {
      Deno.kill(child.pid, "SIGTERM");
    } catch {
      // exited
    }
    await child.status;
    if (Deno.env.get("KEEP_DOVECOT")) console.log(dir);
    else await Deno.remove(dir, { recursive: true });
  };
  for (let i = 0; i < 100; i++) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      return { dir, port, maildir: (u) => join(dir, "mail", u, "Maildir"), stop };
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  await stop();
  throw new Error("dovecot did not start");
}

interface Dumped {
  list: string[];
  lsub: string[];
  mailboxes: Record<string, {
    uidvalidity: number;
    uidnext: number;
    messages: { uid: number; flags: string[]; size: number; date: string; body: string }[];
  }>;
}

async function peer(d: Dovecot, user: string, mode: string, input?: unknown): Promise<unknown> {
  const child = new Deno.Command("python3", {
    args: [
      new URL("./imap_peer.py", import.meta.url).pathname,
      String(d.port),
      user,
      "secret",
      mode,
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(enc.encode(JSON.stringify(input ?? null)));
  await writer.close();
  const out = await child.output();
  if (!out.success) throw new Error(`imap_peer ${mode}: ${dec.decode(out.stderr)}`);
  return JSON.parse(dec.decode(out.stdout));
}

async function chownTree(path: string): Promise<void> {
  await Deno.chown(path, NOBODY, NOBODY);
  for await (const e of Deno.readDir(path)) {
    if (e.isDirectory) await chownTree(join(path, e.name));
    else await Deno.chown(join(path, e.name), NOBODY, NOBODY);
  }
}

const b64 = (s: string) => btoa(s);
const crlf = (s: string) => s.replace(/\r?\n/g, "\r\n");

Deno.test({
  name: "dovecot interop: a Maildir written by facteur is read by Dovecot as written",
  ...dovecotPeer,
  fn: async () => {
    const d = await startDovecot();
    try {
      const root = d.maildir("alice");
      const store = await openMailstore(root);
      const inbox = await store.mailbox("INBOX");
      const texts = [
        "From: a@example.test\r\nSubject: one\r\n\r\nfirst body\r\n",
        "Subject: two\r\n\r\nsecond\r\nbody\r\n",
        "Subject: three\n\nthird (LF only)\n",
      ];
      const date = new Date("2024-05-06T07:08:09Z");
      await inbox.append(enc.encode(texts[0]), {
        flags: ["\\Seen", "$Label1"],
        internalDate: date,
      });
      await inbox.append(enc.encode(texts[1]), { flags: ["\\Flagged", "\\Answered", "Project"] });
      const third = await inbox.append(enc.encode(texts[2]));
      await inbox.addFlags([third], ["\\Deleted", "$Label1"]);
      await store.createMailbox("Archive.2024");
      await store.createMailbox("Sent");
      await store.subscribe("Archive.2024");
      const archive = await store.mailbox("Archive.2024");
      await inbox.copy([1], archive);
      await closeMailstore(store);
      await chownTree(join(root, ".."));

      const seen = await peer(d, "alice", "dump") as Dumped;
      assert.deepEqual(seen.list, ["Archive.2024", "INBOX", "Sent"]);
      assert.deepEqual(seen.lsub, ["Archive.2024"]);
      const box = seen.mailboxes["INBOX"];
      assert.deepEqual(box.messages.map((m) => m.flags), [
        ["$Label1", "\\Seen"],
        ["Project", "\\Answered", "\\Flagged"],
        ["$Label1", "\\Deleted"],
      ]);
      assert.deepEqual(box.messages.map((m) => atob(m.body)), texts.map(crlf));
      assert.deepEqual(box.messages.map((m) => m.size), texts.map((t) => crlf(t).length));
      assert.equal(box.messages[0].date, "06-May-2024 07:08:09 +0000");
      const arch = seen.mailboxes["Archive.2024"].messages;
      assert.deepEqual(arch.map((m) => [m.flags, atob(m.body)]), [[
        ["$Label1", "\\Seen"],
        crlf(texts[0]),
      ]]);
    } finally {
      await d.stop();
    }
  },
});

Deno.test({
  name:
    "dovecot interop: a Maildir written by Dovecot opens in facteur with its UIDs, flags and keywords",
  ...dovecotPeer,
  fn: async () => {
    const d = await startDovecot();
    try {
      const bodies = [
        "Subject: a\r\n\r\nA\r\n",
        "Subject: b\r\n\r\nB\r\n",
        "Subject: c\r\n\r\nC\r\n",
      ];
      await peer(d, "bob", "run", [
        { op: "create", mailbox: "Sent" },
        { op: "create", mailbox: "Caf&AOk-" }, // IMAP's modified UTF-7
        { op: "subscribe", mailbox: "Sent" },
        {
          op: "append",
          mailbox: "INBOX",
          flags: ["\\Seen", "Work"],
          body: b64(bodies[0]),
          date: '"01-Feb-2024 10:00:00 +0000"',
        },
        { op: "append", mailbox: "INBOX", flags: [], body: b64(bodies[1]) },
        { op: "append", mailbox: "INBOX", flags: ["\\Draft"], body: b64(bodies[2]) },
        { op: "append", mailbox: "Sent", flags: ["\\Seen", "$Forwarded"], body: b64(bodies[0]) },
        { op: "store", mailbox: "INBOX", uids: "2", mode: "+FLAGS", flags: ["\\Flagged", "Later"] },
      ]);
      // Dovecot's own view, to compare against.
      const theirs = await peer(d, "bob", "dump") as Dumped;
      const root = d.maildir("bob");
      const store = await openMailstore(root);
      const names = (await store.list()).map((m) => m.name);
      assert.deepEqual(names, ["INBOX", "Café", "Sent"]);
      assert.deepEqual(await store.subscriptions(), ["Sent"]);
      for (const name of ["INBOX", "Sent"]) {
        const mailbox = await store.mailbox(name);
        const mine = await mailbox.messages();
        const expected = theirs.mailboxes[name];
        assert.equal(mailbox.status().uidValidity, expected.uidvalidity, `${name} UIDVALIDITY`);
        assert.equal(mailbox.status().uidNext, expected.uidnext, `${name} UIDNEXT`);
        assert.deepEqual(mine.map((m) => m.uid), expected.messages.map((m) => m.uid));
        assert.deepEqual(
          mine.map((m) => [...m.flags].sort()),
          expected.messages.map((m) => m.flags),
        );
        assert.deepEqual(mine.map((m) => m.rfc822Size), expected.messages.map((m) => m.size));
        for (const [i, m] of mine.entries()) {
          assert.equal(
            crlf(dec.decode(await mailbox.read(m.uid))),
            atob(expected.messages[i].body),
          );
        }
      }
      const inbox = await store.mailbox("INBOX");
      assert.equal(
        (await inbox.messages([1]))[0].internalDate.toISOString(),
        "2024-02-01T10:00:00.000Z",
      );

      // facteur changes flags; Dovecot sees them (its keyword letters are reused).
      await inbox.addFlags([1], ["\\Answered", "Later"]);
      await inbox.removeFlags([2], ["\\Flagged"]);
      await closeMailstore(store);
      const after = await peer(d, "bob", "dump") as Dumped;
      assert.deepEqual(after.mailboxes["INBOX"].messages.map((m) => m.flags), [
        ["Later", "Work", "\\Answered", "\\Seen"],
        ["Later"],
        ["\\Draft"],
      ]);
      assert.equal(after.mailboxes["INBOX"].uidvalidity, theirs.mailboxes["INBOX"].uidvalidity);
    } finally {
      await d.stop();
    }
  },
});
