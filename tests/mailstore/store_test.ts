import assert from "node:assert/strict";
import { join } from "node:path";
import {
  closeMailstore,
  type MailboxChange,
  Mailstore,
  MailstoreError,
  openMailstore,
  QuotaExceededError,
} from "../../src/mailstore/mod.ts";
import { INDEX_FILE } from "../../src/mailstore/index_db.ts";
import { dec, dropInNew, enc, message, names, tempRoot } from "./helpers.ts";

async function withStore(fn: (store: Mailstore, root: string) => Promise<void>) {
  const root = await tempRoot();
  const store = await openMailstore(root, { hostname: "h.test" });
  try {
    await fn(store, root);
  } finally {
    await closeMailstore(store);
  }
}

Deno.test("store: append gives increasing UIDs, Dovecot-style names, flags and internal date", async () => {
  await withStore(async (store, root) => {
    const inbox = await store.mailbox("inbox");
    const date = new Date("2024-03-01T10:00:00Z");
    const uid1 = await inbox.append(message("one"), {
      flags: ["\\Seen", "$Label1"],
      internalDate: date,
    });
    const uid2 = await inbox.append(message("two"));
    assert.deepEqual([uid1, uid2], [1, 2]);
    const cur = await names(join(root, "cur"));
    assert.equal(cur.length, 2);
    const first = cur.find((n) => n.endsWith(":2,Sa"));
    assert.ok(first, `flags in the name: ${cur}`);
    // S= is the LF size, W= the CRLF size (Dovecot's fields).
    const vsize = message("one").length;
    const lf = vsize - 5; // five CRLF line ends
    assert.match(first, new RegExp(`\\.h\\.test,S=${lf},W=${vsize}:2,Sa$`));
    assert.equal(await Deno.readTextFile(join(root, "dovecot-keywords")), "0 $Label1\n");
    assert.equal((await Deno.stat(join(root, "cur", first))).mtime?.getTime(), date.getTime());
    const [m1, m2] = await inbox.messages();
    assert.deepEqual(m1.flags, ["\\Seen", "$Label1"]);
    assert.equal(m1.internalDate.getTime(), date.getTime());
    assert.equal(m1.size, lf);
    assert.equal(m1.rfc822Size, vsize);
    assert.deepEqual(m2.flags, []);
    assert.equal(
      dec.decode(await inbox.read(uid1)),
      dec.decode(message("one")).replaceAll("\r\n", "\n"),
    );
    assert.equal(dec.decode(await inbox.read(uid1, { start: 6, length: 13 })), "a@example.tes");
    const st = inbox.status();
    assert.equal(st.uidNext, 3);
    assert.equal(st.messages, 2);
    assert.equal(st.unseen, 1);
    assert.ok(st.uidValidity > 1_600_000_000);
    assert.ok(st.highestModseq >= 3);
    assert.deepEqual(await names(join(root, "tmp")), []);
  });
});

Deno.test("store: flags are set, added and removed by renaming, each change with a higher MODSEQ", async () => {
  await withStore(async (store, root) => {
    const inbox = await store.mailbox("INBOX");
    const uid = await inbox.append(message("x"), { flags: ["\\Draft"] });
    const [{ modseq: m0 }] = await inbox.messages([uid]);
    const r1 = await inbox.addFlags([uid], ["\\Seen", "\\flagged", "Work"]);
    assert.deepEqual(r1.updated[0].flags, ["\\Draft", "\\Flagged", "\\Seen", "Work"]);
    assert.ok(r1.updated[0].modseq > m0);
    assert.match((await names(join(root, "cur")))[0], /:2,DFSa$/);
    const r2 = await inbox.removeFlags([uid], ["\\Draft", "Work"]);
    assert.ok(r2.updated[0].modseq > r1.updated[0].modseq);
    assert.match((await names(join(root, "cur")))[0], /:2,FS$/);
    const r3 = await inbox.setFlags([uid], ["\\Answered"]);
    assert.deepEqual(r3.updated[0].flags, ["\\Answered"]);
    assert.match((await names(join(root, "cur")))[0], /:2,R$/);
    // No change: no new MODSEQ.
    assert.deepEqual((await inbox.addFlags([uid], ["\\Answered"])).updated, []);
    // UNCHANGEDSINCE older than the message's MODSEQ: refused for it (RFC 7162 3.1.3).
    const r4 = await inbox.updateFlags([uid], "add", ["\\Seen"], { unchangedSince: m0 });
    assert.deepEqual(r4.modified, [uid]);
    await assert.rejects(inbox.addFlags([uid], ["\\Bogus"]), MailstoreError);
    await assert.rejects(inbox.addFlags([uid], ["bad(kw"]), MailstoreError);
  });
});

Deno.test("store: a file renamed meanwhile by another program is found again when storing flags", async () => {
  await withStore(async (store, root) => {
    const inbox = await store.mailbox("INBOX");
    const uid = await inbox.append(message("x"));
    const [name] = await names(join(root, "cur"));
    // mutt marks it seen behind our back
    await Deno.rename(join(root, "cur", name), join(root, "cur", name.replace(/:2,$/, ":2,S")));
    const { updated } = await inbox.addFlags([uid], ["\\Flagged"]);
    assert.deepEqual(updated[0].flags, ["\\Flagged", "\\Seen"]);
    assert.match((await names(join(root, "cur")))[0], /:2,FS$/);
  });
});

Deno.test("store: expunge removes only \\Deleted messages (of the given UIDs) and tells listeners", async () => {
  await withStore(async (store, root) => {
    const inbox = await store.mailbox("INBOX");
    const uids = [];
    for (let i = 0; i < 4; i++) uids.push(await inbox.append(message(`m${i}`)));
    const heard: MailboxChange[] = [];
    inbox.on((c) => heard.push(c));
    await inbox.addFlags([uids[0], uids[1], uids[2]], ["\\Deleted"]);
    assert.deepEqual(await inbox.expunge([uids[1], uids[3]]), [uids[1]]);
    assert.deepEqual(await inbox.expunge(), [uids[0], uids[2]]);
    assert.deepEqual(inbox.uids(), [uids[3]]);
    assert.equal((await names(join(root, "cur"))).length, 1);
    assert.deepEqual(heard.map((c) => c.kind), ["flags", "expunge", "expunge"]);
    const { expunged } = inbox.changedSince(0);
    assert.deepEqual(expunged, [uids[0], uids[1], uids[2]]);
    // UIDs are never reused.
    assert.equal(await inbox.append(message("new")), 5);
  });
});

Deno.test("store: copy hard-links with flags and new UIDs; move renames and expunges the source", async () => {
  await withStore(async (store, root) => {
    await store.createMailbox("Archive.2024");
    const inbox = await store.mailbox("INBOX");
    const archive = await store.mailbox("Archive.2024");
    const a = await inbox.append(message("a"), { flags: ["\\Seen", "Project"] });
    const b = await inbox.append(message("b"));
    const pairs = await inbox.copy([a, b], archive);
    assert.deepEqual(pairs, [[a, 1], [b, 2]]);
    const [copied] = await archive.messages([1]);
    assert.deepEqual(copied.flags, ["\\Seen", "Project"]);
    assert.equal((await Deno.stat(copied.path)).nlink, 2, "hard link");
    assert.equal(dec.decode(await archive.read(1)), dec.decode(await inbox.read(a)));
    assert.equal(
      await Deno.readTextFile(join(root, ".Archive.2024", "dovecot-keywords")),
      "0 Project\n",
    );
    const moved = await inbox.move([b], archive);
    assert.deepEqual(moved, [[b, 3]]);
    assert.deepEqual(inbox.uids(), [a]);
    assert.deepEqual(archive.uids(), [1, 2, 3]);
    assert.equal((await names(join(root, "cur"))).length, 1);
  });
});

Deno.test("store: folders are Maildir++ directories; rename moves children; subscriptions in Dovecot's format", async () => {
  await withStore(async (store, root) => {
    for (const n of ["Sent", "Trash", "Archive", "Archive.2024", "Café"]) {
      await store.createMailbox(n);
    }
    assert.deepEqual(await names(join(root, ".Archive.2024")), [
      "cur",
      "maildirfolder",
      "new",
      "tmp",
    ]);
    assert.ok((await names(root)).includes(".Caf&AOk-"), "modified UTF-7 on disk");
    await assert.rejects(
      store.createMailbox("Sent"),
      (e: MailstoreError) => e.imapCode === "ALREADYEXISTS",
    );
    for (const bad of ["a..b", ".x", "x/y", "x.", ""]) {
      await assert.rejects(
        store.createMailbox(bad),
        (e: MailstoreError) => e.imapCode === "CANNOT",
      );
    }
    await store.subscribe("Archive.2024");
    await store.subscribe("Café");
    assert.equal(
      await Deno.readTextFile(join(root, "subscriptions")),
      "V\t2\n\nArchive\t2024\nCaf&AOk-\n",
    );
    const arch = await store.mailbox("Archive.2024");
    const uid = await arch.append(message("old"));
    const { uidValidity } = arch.status();
    await store.renameMailbox("Archive", "Old");
    const list = await store.list();
    assert.deepEqual(list.map((m) => m.name), [
      "INBOX",
      "Café",
      "Old",
      "Old.2024",
      "Sent",
      "Trash",
    ]);
    const byName = Object.fromEntries(list.map((m) => [m.name, m]));
    assert.deepEqual(byName["Old"].attributes, ["\\HasChildren"]);
    assert.deepEqual(byName["Sent"].attributes, ["\\HasNoChildren", "\\Sent"]);
    assert.deepEqual(byName["Trash"].attributes, ["\\HasNoChildren", "\\Trash"]);
    assert.equal(byName["Old.2024"].subscribed, true);
    const moved = await store.mailbox("Old.2024");
    assert.equal(moved, arch, "open handles follow the rename");
    assert.deepEqual(moved.uids(), [uid]);
    assert.equal(moved.status().uidValidity, uidValidity);
    await assert.rejects(
      store.mailbox("Archive.2024"),
      (e: MailstoreError) => e.imapCode === "NONEXISTENT",
    );
    await store.deleteMailbox("Old.2024");
    await assert.rejects(store.deleteMailbox("INBOX"), MailstoreError);
    assert.ok(!(await store.list()).some((m) => m.name === "Old.2024"));
    // A parent known only through its child (".Projects.X"): listed as \NonExistent (RFC 5258).
    await store.createMailbox("Projects.X");
    const projects = (await store.list()).find((m) => m.name === "Projects");
    assert.deepEqual(projects?.attributes, ["\\NonExistent", "\\HasChildren"]);
    await store.unsubscribe("Café");
    assert.deepEqual(await store.subscriptions(), ["Old.2024"]);
  });
});

Deno.test("store: renaming INBOX moves its messages into the new folder and leaves INBOX empty", async () => {
  await withStore(async (store) => {
    const inbox = await store.mailbox("INBOX");
    await inbox.append(message("1"));
    await inbox.append(message("2"));
    await store.renameMailbox("INBOX", "Old Mail");
    assert.deepEqual(inbox.uids(), []);
    assert.equal((await store.mailbox("Old Mail")).uids().length, 2);
  });
});

Deno.test("store: changes made outside are folded in without renumbering", async () => {
  await withStore(async (store, root) => {
    const inbox = await store.mailbox("INBOX");
    const a = await inbox.append(message("a"));
    const b = await inbox.append(message("b"));
    const heard: MailboxChange[] = [];
    inbox.on((c) => heard.push(c));
    await dropInNew(root, "1700000002.outside2.host", "Subject: late\n\nx\n", 1700000002);
    await dropInNew(root, "1700000001.outside1.host", "Subject: early\n\nx\n", 1700000001);
    const cur = await names(join(root, "cur"));
    const nameA = cur.find((n) => n === (cur.sort()[0]))!;
    await Deno.remove(join(root, "cur", (await inbox.messages([b]))[0].path.split("/").pop()!));
    await Deno.rename(join(root, "cur", nameA), join(root, "cur", nameA.replace(":2,", ":2,FS")));
    await inbox.sync();
    assert.deepEqual(await names(join(root, "new")), [], "new/ moved to cur/");
    assert.ok((await names(join(root, "cur"))).includes("1700000001.outside1.host:2,"));
    assert.deepEqual(inbox.uids(), [a, 3, 4]);
    const [ma, m3, m4] = await inbox.messages();
    assert.deepEqual(ma.flags, ["\\Flagged", "\\Seen"]);
    assert.equal(dec.decode(await inbox.read(m3.uid)), "Subject: early\n\nx\n", "mtime order");
    assert.equal(m4.internalDate.getTime(), 1700000002000);
    assert.equal(m3.rfc822Size, "Subject: early\n\nx\n".length + 3);
    assert.deepEqual(
      heard.map((c) =>
        c.kind === "flags" ? [c.kind, c.updates.map((u) => u.uid)] : [c.kind, c.uids]
      ),
      [["expunge", [b]], ["flags", [a]], ["exists", [3, 4]]],
    );
  });
});

Deno.test("store: a deleted or damaged index is rebuilt from the Maildir, flags and keywords kept", async () => {
  const root = await tempRoot();
  let store = await openMailstore(root);
  let inbox = await store.mailbox("INBOX");
  await inbox.append(message("a"), { flags: ["\\Seen", "Todo"] });
  await inbox.append(message("b"));
  await closeMailstore(store);
  await Deno.writeTextFile(
    join(root, INDEX_FILE),
    "this is not a database, it is garbage".repeat(100),
  );
  for (const ext of ["-wal", "-shm"]) {
    await Deno.remove(join(root, INDEX_FILE + ext)).catch(() => {});
  }
  store = await openMailstore(root);
  assert.equal(store.indexWasRebuilt, true);
  inbox = await store.mailbox("INBOX");
  assert.deepEqual((await inbox.messages()).map((m) => m.flags), [["\\Seen", "Todo"], []]);
  assert.ok((await names(root)).some((n) => n.startsWith(INDEX_FILE + ".broken-")));
  await closeMailstore(store);
  await Deno.remove(join(root, INDEX_FILE));
  store = await openMailstore(root);
  assert.equal(store.indexWasMissing, true);
  assert.deepEqual((await store.mailbox("INBOX")).uids(), [1, 2]);
  await closeMailstore(store);
});

Deno.test("store: two handles on one root share the store and hear each other", async () => {
  const root = await tempRoot();
  const s1 = await openMailstore(root);
  const s2 = await openMailstore(root + "/");
  assert.equal(s1, s2);
  const m1 = await s1.mailbox("INBOX");
  const m2 = await s2.mailbox("INBOX");
  const heard: MailboxChange[] = [];
  m2.on((c) => heard.push(c));
  const uid = await m1.append(message("x"));
  await m1.addFlags([uid], ["\\Seen"]);
  assert.deepEqual(heard.map((c) => c.kind), ["exists", "flags"]);
  await closeMailstore(s1);
  assert.equal(s2.closed, false, "still open for the other session");
  await closeMailstore(s2);
  assert.equal(s2.closed, true);
});

Deno.test("store: the index persists UIDs, UIDVALIDITY and MODSEQ across re-open", async () => {
  const root = await tempRoot();
  let store = await openMailstore(root);
  let inbox = await store.mailbox("INBOX");
  await inbox.append(message("a"));
  await inbox.append(message("b"));
  await inbox.expunge();
  const before = inbox.status();
  await closeMailstore(store);
  await dropInNew(root, "1800000000.x.host", "Subject: y\n\n");
  store = await openMailstore(root);
  inbox = await store.mailbox("INBOX");
  const after = inbox.status();
  assert.equal(after.uidValidity, before.uidValidity);
  assert.deepEqual(inbox.uids(), [1, 2, 3]);
  assert.ok(after.highestModseq > before.highestModseq);
  await closeMailstore(store);
});

Deno.test("store: parsed MIME data is computed once and cached in the index", async () => {
  await withStore(async (store) => {
    const inbox = await store.mailbox("INBOX");
    const uid = await inbox.append(message("Parsed subject"));
    const p1 = await inbox.parsed(uid);
    assert.equal(p1.envelope.subject, "Parsed subject");
    assert.equal(store.index.parsed(1, uid) !== undefined, true);
    // Served from the index even when the file can no longer be read.
    const [info] = await inbox.messages([uid]);
    await Deno.chmod(info.path, 0o000);
    const p2 = await inbox.parsed(uid);
    assert.deepEqual(p2, JSON.parse(JSON.stringify(p1)));
    await Deno.chmod(info.path, 0o600);
  });
});

Deno.test("store: quota from maildirsize; append over the limit fails with 552 5.2.2 / OVERQUOTA", async () => {
  await withStore(async (store, root) => {
    const inbox = await store.mailbox("INBOX");
    await inbox.append(message("a"));
    assert.equal((await store.quota()).source, "index");
    await store.setQuotaLimit({ bytes: 400, messages: 3 });
    const size = (await inbox.messages())[0].size;
    assert.equal(await Deno.readTextFile(join(root, "maildirsize")), `400S,3C\n${size} 1\n`);
    const uid = await inbox.append(message("b"));
    let q = await store.quota();
    assert.deepEqual(q.usage, { bytes: 2 * size, messages: 2 });
    assert.deepEqual(q.limit, { bytes: 400, messages: 3 });
    await inbox.append(message("c"));
    const err = await inbox.append(message("d")).catch((e) => e);
    assert.ok(err instanceof QuotaExceededError);
    assert.equal(err.code, 552);
    assert.equal(err.enhanced, "5.2.2");
    assert.equal(err.imapCode, "OVERQUOTA");
    await inbox.addFlags([uid], ["\\Deleted"]);
    await inbox.expunge();
    q = await store.quota();
    assert.deepEqual(q.usage, { bytes: 2 * size, messages: 2 });
    assert.match(
      await Deno.readTextFile(join(root, "maildirsize")),
      new RegExp(`\n-${size} -1\n$`),
    );
    const big = await inbox.append(message("big", "x".repeat(500))).catch((e) => e);
    assert.ok(big instanceof QuotaExceededError);
  });
});

Deno.test("store: an append that fails half-way leaves no file visible", async () => {
  await withStore(async (store, root) => {
    const inbox = await store.mailbox("INBOX");
    await Deno.chmod(join(root, "cur"), 0o500);
    try {
      if (Deno.uid() === 0) return; // root ignores directory permissions
      await assert.rejects(inbox.append(message("x")));
    } finally {
      await Deno.chmod(join(root, "cur"), 0o700);
    }
    assert.deepEqual(await names(join(root, "tmp")), []);
    assert.deepEqual(await names(join(root, "cur")), []);
    assert.deepEqual(inbox.uids(), []);
  });
});

Deno.test("store: a message being written in tmp/ is never indexed", async () => {
  await withStore(async (store, root) => {
    const inbox = await store.mailbox("INBOX");
    await Deno.writeFile(join(root, "tmp", "123.partial.host"), enc.encode("Subject: half"));
    await inbox.sync();
    assert.deepEqual(inbox.uids(), []);
  });
});

Deno.test("store: two processes' stores on one index agree on UIDs (separate handles, same files)", async () => {
  const root = await tempRoot();
  const a = await Mailstore.create(root);
  const b = await Mailstore.create(root);
  const ia = await a.mailbox("INBOX");
  const ib = await b.mailbox("INBOX");
  const u1 = await ia.append(message("from a"));
  const u2 = await ib.append(message("from b"));
  assert.notEqual(u1, u2, "UIDs come from the shared index");
  await ia.addFlags([u2], ["\\Seen"]);
  await ib.sync();
  assert.deepEqual((await ib.messages()).map((m) => [m.uid, m.flags]), [[u1, []], [u2, [
    "\\Seen",
  ]]]);
  a.close();
  b.close();
});
