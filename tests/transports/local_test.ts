import assert from "node:assert/strict";
import { join } from "node:path";
import { ConfigError } from "../../src/errors.ts";
import { LocalTransport } from "../../src/transports/local/mod.ts";
import { failure } from "../../src/transports/local/mailbox.ts";
import { FIXED_DATE, listDir, maildirMessages, MESSAGE, request, setup } from "./helpers.ts";

async function local(values: Record<string, string> = {}, opts: { runningAsRoot?: boolean } = {}) {
  const env = await setup(values);
  const transport = new LocalTransport(env.config, {
    openTable: env.tables.open,
    rewrite: env.rewriter,
    passwdFile: env.passwdFile,
    now: () => FIXED_DATE,
    runningAsRoot: opts.runningAsRoot ?? false,
  });
  return { ...env, transport };
}

const BODY = "Subject: test\n\nHello\nFrom the body\n";

Deno.test("local: Maildir delivery writes the headers local(8) prepends and LF content", async () => {
  const t = await local();
  const results = await t.transport.deliver(request(["alice@mail.example.com"]));
  assert.deepEqual(results, [
    { index: 0, relay: "local", status: "sent", dsn: "2.0.0", reason: "delivered to maildir" },
  ]);
  assert.deepEqual(await maildirMessages(t.maildir("alice")), [
    "Return-Path: <sender@example.org>\n" +
    "X-Original-To: alice@mail.example.com\n" +
    "Delivered-To: alice@mail.example.com\n" + BODY,
  ]);
  assert.deepEqual(await listDir(join(t.maildir("alice"), "tmp")), []);
  await t.cleanup();
});

Deno.test("local: X-Original-To is the address before virtual aliasing; null sender is <>", async () => {
  const t = await local();
  await t.transport.deliver(
    request([{ address: "Alice@Mail.Example.com", original: "info@example.org" }], { sender: "" }),
  );
  const [msg] = await maildirMessages(t.maildir("alice"));
  assert.ok(
    msg.startsWith(
      "Return-Path: <>\nX-Original-To: info@example.org\nDelivered-To: alice@mail.example.com\n",
    ),
    msg,
  );
  await t.cleanup();
});

Deno.test("local: mbox in the spool with From_ line and >From quoting", async () => {
  const t = await local({ home_mailbox: "" });
  const results = await t.transport.deliver(request(["bob@localhost"]));
  assert.equal(results[0].reason, "delivered to mailbox");
  assert.equal(
    await Deno.readTextFile(join(t.spool, "bob")),
    "From sender@example.org  Mon Nov 23 09:05:07 2026\n" +
      "Return-Path: <sender@example.org>\n" +
      "X-Original-To: bob@localhost\n" +
      "Delivered-To: bob@localhost\n" +
      "Subject: test\n\nHello\n>From the body\n\n",
  );
  await t.cleanup();
});

Deno.test("local: mbox under the home (home_mailbox without slash)", async () => {
  const t = await local({ home_mailbox: "Mailbox" });
  await t.transport.deliver(request(["bob@localhost"]));
  const text = await Deno.readTextFile(join(t.homeBase, "bob", "Mailbox"));
  assert.match(text, /^From sender@example\.org {2}/);
  await t.cleanup();
});

Deno.test("local: mail_spool_directory with a trailing slash is one Maildir per user", async () => {
  const t = await local({ home_mailbox: "", mail_spool_directory: "@ROOT@/spool/" });
  const results = await t.transport.deliver(request(["carol@localhost"]));
  assert.equal(results[0].reason, "delivered to maildir");
  assert.equal((await maildirMessages(join(t.spool, "carol"))).length, 1);
  await t.cleanup();
});

Deno.test("local: an alias expands to several users; Delivered-To stays the alias", async () => {
  const t = await local({ alias_maps: "inline:{ {team = alice, bob@localhost} }" });
  const results = await t.transport.deliver(request(["team@mail.example.com"]));
  assert.equal(results[0].status, "sent");
  for (const user of ["alice", "bob"]) {
    const [msg] = await maildirMessages(t.maildir(user));
    assert.ok(
      msg.startsWith(
        "Return-Path: <sender@example.org>\nX-Original-To: team@mail.example.com\n" +
          "Delivered-To: team@mail.example.com\n",
      ),
      `${user}: ${msg}`,
    );
  }
  await t.cleanup();
});

Deno.test("local: aliases are recursive, and an alias listing itself means its mailbox", async () => {
  const t = await local({
    alias_maps: "inline:{ postmaster=root, root=admins, {admins = alice, admins, carol} }",
    local_recipient_maps: "inline:{alice=1, carol=1, admins=1}",
  });
  const results = await t.transport.deliver(request(["postmaster@localhost"]));
  assert.equal(results[0].status, "sent", results[0].reason);
  for (const user of ["alice", "admins", "carol"]) {
    assert.equal((await maildirMessages(t.maildir(user))).length, 1, user);
  }
  await t.cleanup();
});

Deno.test("local: an alias loop bounces with 5.4.6", async () => {
  const t = await local({ alias_maps: "inline:{ a=b, b=a }" });
  const [result] = await t.transport.deliver(request(["a@localhost"]));
  assert.equal(result.status, "bounced");
  assert.equal(result.dsn, "5.4.6");
  assert.match(result.reason, /alias database loop for a$/);
  await t.cleanup();
});

Deno.test("local: :include: files list more destinations", async () => {
  const t = await local();
  const list = join(t.root, "list.txt");
  await Deno.writeTextFile(list, "# members\nalice\nbob, carol\n");
  await Deno.chmod(list, 0o644);
  const aliased = await local({ alias_maps: `inline:{ list=:include:${list} }` });
  const [result] = await aliased.transport.deliver(request(["list@localhost"]));
  assert.equal(result.status, "sent", result.reason);
  for (const user of ["alice", "bob", "carol"]) {
    assert.equal((await maildirMessages(aliased.maildir(user))).length, 1, user);
  }
  await t.cleanup();
  await aliased.cleanup();
});

Deno.test("local: a missing :include: file defers, a world-writable one bounces", async () => {
  const t = await local();
  const list = join(t.root, "open.txt");
  await Deno.writeTextFile(list, "alice\n");
  await Deno.chmod(list, 0o666);
  const aliased = await local({
    alias_maps: `inline:{ gone=:include:${t.root}/none.txt, open=:include:${list} }`,
  });
  const [gone, open] = await aliased.transport.deliver(
    request(["gone@localhost", "open@localhost"]),
  );
  assert.equal(gone.status, "deferred");
  assert.match(gone.reason, /cannot open include file/);
  assert.equal(open.status, "bounced");
  assert.equal(open.dsn, "5.3.5");
  assert.match(open.reason, /world writable/);
  await t.cleanup();
  await aliased.cleanup();
});

Deno.test("local: pipes and files are refused with a permanent 5.7.1", async () => {
  const t = await local({
    alias_maps: `inline:{ {prog = "|/usr/bin/procmail -a x"}, log=/var/log/mail.copy }`,
  });
  const [prog, log] = await t.transport.deliver(request(["prog@localhost", "log@localhost"]));
  assert.equal(prog.status, "bounced");
  assert.equal(prog.dsn, "5.7.1");
  assert.match(
    prog.reason,
    /delivery to commands is not supported yet: "\|\/usr\/bin\/procmail -a x"/,
  );
  assert.equal(log.status, "bounced");
  assert.equal(log.dsn, "5.7.1");
  assert.match(log.reason, /delivery to files is not supported yet/);
  await t.cleanup();
});

Deno.test("local: one failing alias member decides the recipient's result and is named", async () => {
  const t = await local({ alias_maps: "inline:{ {team = alice, nobody} }" });
  const [result] = await t.transport.deliver(request(["team@localhost"]));
  assert.equal(result.status, "bounced");
  assert.equal(result.dsn, "5.1.1");
  assert.equal(
    result.reason,
    '<nobody@mail.example.com> (expanded from <team@localhost>): unknown user: "nobody"',
  );
  assert.equal((await maildirMessages(t.maildir("alice"))).length, 1);
  await t.cleanup();
});

Deno.test("local: alias results outside the local domains are deferred for now", async () => {
  const t = await local({ alias_maps: "inline:{ fwd=someone@elsewhere.test }" });
  const [result] = await t.transport.deliver(request(["fwd@localhost"]));
  assert.equal(result.status, "deferred");
  assert.match(result.reason, /relaying alias results needs the smtp transport \(later issue\)/);
  await t.cleanup();
});

Deno.test("local: an owner- alias becomes the envelope sender of the expansion", async () => {
  const t = await local({ alias_maps: "inline:{ list=alice, owner-list=bob }" });
  await t.transport.deliver(request(["list@localhost"]));
  const [msg] = await maildirMessages(t.maildir("alice"));
  assert.ok(msg.startsWith("Return-Path: <owner-list@mail.example.com>\n"), msg);
  await t.cleanup();
});

Deno.test("local: a message already delivered to the recipient bounces (Delivered-To loop)", async () => {
  const t = await local();
  const content = "Delivered-To: Alice@mail.example.com\r\n" + MESSAGE;
  const [result] = await t.transport.deliver(request(["alice@mail.example.com"], { content }));
  assert.deepEqual(result, {
    index: 0,
    relay: "local",
    status: "bounced",
    dsn: "5.4.6",
    reason: "mail forwarding loop for alice@mail.example.com",
  });
  assert.deepEqual(await listDir(t.maildir("alice")), []);
  await t.cleanup();
});

Deno.test("local: a Delivered-To in the body is not a loop", async () => {
  const t = await local();
  const content = "Subject: x\r\n\r\nDelivered-To: alice@mail.example.com\r\n";
  const [result] = await t.transport.deliver(request(["alice@mail.example.com"], { content }));
  assert.equal(result.status, "sent");
  await t.cleanup();
});

Deno.test("local: mailbox_size_limit bounces with 5.2.2 and leaves the mailbox as it was", async () => {
  const limits = { mailbox_size_limit: "250", message_size_limit: "200", home_mailbox: "" };
  const t = await local(limits);
  const first = await t.transport.deliver(request(["bob@localhost"]));
  assert.equal(first[0].status, "sent");
  const before = await Deno.readTextFile(join(t.spool, "bob"));
  const [second] = await t.transport.deliver(request(["bob@localhost"]));
  assert.equal(second.status, "bounced");
  assert.equal(second.dsn, "5.2.2");
  assert.equal(
    second.reason,
    `cannot update mailbox ${
      join(t.spool, "bob")
    } for user bob. error writing message: File too large`,
  );
  assert.equal(await Deno.readTextFile(join(t.spool, "bob")), before);
  await t.cleanup();
});

Deno.test("local: a Maildir message over mailbox_size_limit bounces with 5.2.2", async () => {
  const t = await local({ mailbox_size_limit: "60", message_size_limit: "50" });
  const [result] = await t.transport.deliver(request(["alice@localhost"]));
  assert.equal(result.status, "bounced");
  assert.equal(result.dsn, "5.2.2");
  assert.equal(result.reason, "maildir delivery failed: error writing message: File too large");
  await t.cleanup();
});

Deno.test("local: mailbox_size_limit below message_size_limit is a configuration error", async () => {
  const t = await setup({ mailbox_size_limit: "1000" });
  assert.throws(
    () => new LocalTransport(t.config, { openTable: t.tables.open, rewrite: t.rewriter }),
    (e: unknown) =>
      e instanceof ConfigError && /mailbox_size_limit \(1000\) is smaller/.test(e.message),
  );
  await t.cleanup();
});

Deno.test("local: unknown users bounce with 5.1.1", async () => {
  const t = await local();
  const [result] = await t.transport.deliver(request(["nobody@localhost"]));
  assert.deepEqual(result, {
    index: 0,
    relay: "local",
    status: "bounced",
    dsn: "5.1.1",
    reason: 'unknown user: "nobody"',
  });
  await t.cleanup();
});

Deno.test("local: luser_relay takes mail for unknown users, with $user expanded", async () => {
  const t = await local({ luser_relay: "carol+$user", recipient_delimiter: "+" });
  const [result] = await t.transport.deliver(request(["stranger@localhost"]));
  assert.equal(result.status, "sent", result.reason);
  const [msg] = await maildirMessages(t.maildir("carol"));
  assert.match(
    msg,
    /^Return-Path: <sender@example\.org>\nX-Original-To: stranger@localhost\nDelivered-To: stranger@localhost\n/,
  );
  await t.cleanup();
});

Deno.test("local: an unknown luser_relay target bounces instead of looping", async () => {
  const t = await local({ luser_relay: "ghost" });
  const [result] = await t.transport.deliver(request(["stranger@localhost"]));
  assert.equal(result.status, "bounced");
  assert.match(result.reason, /unknown user: "ghost"/);
  await t.cleanup();
});

Deno.test("local: an undefined $name in luser_relay is a configuration error", async () => {
  const t = await setup({ luser_relay: "$nosuch" });
  assert.throws(
    () => new LocalTransport(t.config, { openTable: t.tables.open, rewrite: t.rewriter }),
    ConfigError,
  );
  await t.cleanup();
});

Deno.test("local: an address extension goes to the user's mailbox, Delivered-To keeps it", async () => {
  const t = await local({ recipient_delimiter: "+" });
  const [result] = await t.transport.deliver(request(["alice+lists@localhost"]));
  assert.equal(result.status, "sent");
  const [msg] = await maildirMessages(t.maildir("alice"));
  assert.match(msg, /\nDelivered-To: alice\+lists@localhost\n/);
  await t.cleanup();
});

Deno.test("local: one copy per mailbox per request (duplicate elimination)", async () => {
  const t = await local({ alias_maps: "inline:{ a=alice, b=alice }" });
  const results = await t.transport.deliver(
    request(["a@localhost", "b@localhost", "alice@localhost"]),
  );
  assert.deepEqual(results.map((r) => r.status), ["sent", "sent", "sent"]);
  assert.equal((await maildirMessages(t.maildir("alice"))).length, 1);
  await t.cleanup();
});

Deno.test("local: postmaster always has a mailbox", async () => {
  const t = await local({ local_recipient_maps: "inline:{alice=1}" });
  const [result] = await t.transport.deliver(request(["postmaster@localhost"]));
  assert.equal(result.status, "sent");
  assert.equal((await maildirMessages(t.maildir("postmaster"))).length, 1);
  await t.cleanup();
});

Deno.test("local: user names that are not safe path components are unknown", async () => {
  const t = await local({ local_recipient_maps: "" });
  const results = await t.transport.deliver(request(["../etc@localhost", ".hidden@localhost"]));
  assert.deepEqual(results.map((r) => r.dsn), ["5.1.1", "5.1.1"]);
  assert.deepEqual(await listDir(t.homeBase), []);
  await t.cleanup();
});

Deno.test("local: with empty local_recipient_maps only system accounts are users", async () => {
  const t = await local({ local_recipient_maps: "" });
  await Deno.writeTextFile(t.passwdFile, `sys:x:4242:4242:System:${t.root}/sys:/bin/sh\n`);
  await Deno.mkdir(join(t.root, "sys"));
  const [known, unknown] = await t.transport.deliver(request(["sys@localhost", "alice@localhost"]));
  assert.equal(known.status, "sent", known.reason);
  assert.equal((await maildirMessages(join(t.root, "sys", "Maildir"))).length, 1);
  assert.equal(unknown.dsn, "5.1.1");
  await t.cleanup();
});

Deno.test({
  name: "local: as root, a system account's mail is chowned; a home it does not own is refused",
  ignore: Deno.uid() !== 0,
  fn: async () => {
    const t = await local({}, { runningAsRoot: true });
    const own = join(t.root, "own");
    const foreign = join(t.root, "foreign");
    await Deno.mkdir(own);
    await Deno.mkdir(foreign);
    await Deno.chown(own, 65534, 65534);
    await Deno.writeTextFile(
      t.passwdFile,
      `nob:x:65534:65534::${own}:/bin/sh\nbin2:x:2:2::${foreign}:/bin/sh\n`,
    );
    const [ok, refused] = await t.transport.deliver(request(["nob@localhost", "bin2@localhost"]));
    assert.equal(ok.status, "sent", ok.reason);
    const maildir = join(own, "Maildir");
    const [name] = await listDir(join(maildir, "new"));
    for (const p of [maildir, join(maildir, "new"), join(maildir, "new", name)]) {
      assert.equal((await Deno.stat(p)).uid, 65534, p);
    }
    assert.equal(refused.status, "deferred");
    assert.equal(refused.dsn, "4.2.0");
    assert.match(refused.reason, /is not owned by uid 2/);
    assert.deepEqual(await listDir(foreign), []);
    // A Maildir subdirectory pointing out of the user's tree is refused too.
    await Deno.remove(join(maildir, "new"), { recursive: true });
    await Deno.symlink(foreign, join(maildir, "new"));
    const [escaped] = await t.transport.deliver(request(["nob@localhost"]));
    assert.equal(escaped.status, "deferred");
    assert.match(escaped.reason, /new is not a directory owned by uid 65534/);
    assert.deepEqual(await listDir(foreign), []);
    await t.cleanup();
  },
});

Deno.test("local: a failing alias table defers", async () => {
  const t = await local({ alias_maps: "fail:gone" });
  const [result] = await t.transport.deliver(request(["alice@localhost"]));
  assert.equal(result.status, "deferred");
  assert.match(result.reason, /alias database unavailable/);
  await t.cleanup();
});

Deno.test("file-system errors: full mailbox bounces, everything else defers", () => {
  const err = (code: string, message = "boom") => Object.assign(new Error(message), { code });
  assert.deepEqual(failure(err("EFBIG"), "p: "), {
    status: "bounced",
    dsn: "5.2.2",
    reason: "p: error writing message: File too large",
  });
  assert.deepEqual(failure(err("EDQUOT"), "").dsn, "5.2.2");
  assert.deepEqual(failure(err("ENOSPC"), ""), {
    status: "deferred",
    dsn: "4.3.0",
    reason: "error writing message: No space left on device",
  });
  assert.equal(failure(err("EACCES", "Permission denied"), "").status, "deferred");
  assert.equal(failure(err("EACCES"), "").dsn, "4.2.0");
  assert.equal(failure(err("EAGAIN"), "").dsn, "4.2.0");
  assert.equal(failure(err("ENOTREG"), "").status, "bounced");
  assert.equal(failure(new Error("strange"), "").status, "deferred");
});

Deno.test("local: an unwritable location defers the recipient (as non-root)", {
  ignore: Deno.uid() === 0,
}, async () => {
  const t = await local();
  await Deno.mkdir(t.homeBase);
  await Deno.chmod(t.homeBase, 0o500);
  const [result] = await t.transport.deliver(request(["alice@localhost"]));
  assert.equal(result.status, "deferred");
  assert.equal(result.dsn, "4.2.0");
  await Deno.chmod(t.homeBase, 0o700);
  await t.cleanup();
});
