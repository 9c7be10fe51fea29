/**
 * The route explainer's local(8) stage on inline tables: alias_maps to two
 * users, :include: files, loops, luser_relay, |command and /file targets,
 * system accounts — each shown as delivery would do it, nothing written.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { explainRoute } from "../../src/route/explain.ts";
import { formatRoute } from "../../src/route/format.ts";
import { localTrail } from "../../src/route/format.ts";
import { testConfig, testTables } from "../rewrite/helpers.ts";

const HOMES = "/srv/facteur-homes";

async function explain(values: Record<string, string>, address: string, passwdFile?: string) {
  const config = testConfig({
    local_home_base: HOMES,
    home_mailbox: "Maildir/",
    ...values,
  });
  return await explainRoute(config, { address }, {
    openTable: testTables().open,
    passwdFile: passwdFile ?? "/nonexistent/passwd",
  });
}

type Report = Awaited<ReturnType<typeof explain>>;

/** "trail ⇒ status target-or-reason" per delivery of the first local recipient. */
const deliveries = (r: Report) =>
  r.local[0].deliveries.map((d) =>
    `${localTrail(d)} ⇒ ${d.status} ${
      d.target?.kind === "mailbox" ? d.target.path : `${d.dsn} ${d.reason}`
    }`
  );

Deno.test("route local: an alias to two users ends in both Maildirs, lookups under local", async () => {
  const r = await explain({
    alias_maps: "inline:{ {team=ann, Bob} }",
    local_recipient_maps: "inline:{ ann=1, bob=1 }",
  }, "team@mail.example.com");
  assert.equal(r.local.length, 1);
  assert.equal(r.local[0].transport, "local");
  assert.deepEqual(deliveries(r), [
    `team@mail.example.com → ann@mail.example.com (alias_maps team) ⇒ sent ${HOMES}/ann/Maildir/`,
    `team@mail.example.com → bob@mail.example.com (alias_maps team) ⇒ sent ${HOMES}/bob/Maildir/`,
  ]);
  const aliasKeys = r.lookups.filter((l) => l.phase === "local" && l.param === "alias_maps")
    .map((l) => `${l.key}=${l.result ?? "-"}`);
  assert.deepEqual(aliasKeys, ["team=ann, Bob", "owner-team=-", "ann=-", "bob=-"]);
  const text = formatRoute(r);
  assert.match(text, /^Local delivery \(local\(8\)\)$/m);
  assert.ok(
    text.includes(
      `⇒ Maildir ${HOMES}/ann/Maildir/ (facteur user ann, no system account: home ${HOMES}/ann`,
    ),
    text,
  );
  assert.match(text, /local\s+alias_maps\s+inline:\{ \{team=ann, Bob\} \}\s+team\s+ann, Bob/);
});

Deno.test("route local: an :include: file's members, comments skipped", async () => {
  const dir = await Deno.makeTempDir({ prefix: "facteur-route-local-" });
  try {
    const file = join(dir, "list");
    await Deno.writeTextFile(file, "# the list\ncarol\n\ndave, |/usr/bin/vacation\n");
    await Deno.chmod(file, 0o644);
    const r = await explain({
      alias_maps: `inline:{ list=:include:${file} }`,
      local_recipient_maps: "inline:{ carol=1, dave=1 }",
    }, "list@mail.example.com");
    assert.deepEqual(deliveries(r), [
      `list@mail.example.com → :include:${file} (alias_maps list) → carol@mail.example.com ⇒ sent ${HOMES}/carol/Maildir/`,
      `list@mail.example.com → :include:${file} (alias_maps list) → dave@mail.example.com ⇒ sent ${HOMES}/dave/Maildir/`,
      `list@mail.example.com → :include:${file} (alias_maps list) → |/usr/bin/vacation ⇒ bounced 5.7.1 ` +
      `delivery to commands is not supported yet: "|/usr/bin/vacation"`,
    ]);
    assert.match(
      formatRoute(r),
      /⇒ local\(8\) would pipe the message to the command "\/usr\/bin\/vacation"; facteur refuses: BOUNCED 5\.7\.1/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("route local: an alias loop is detected and would bounce 5.4.6", async () => {
  const r = await explain({ alias_maps: "inline:{ a=b, b=a }" }, "a@mail.example.com");
  assert.deepEqual(deliveries(r), [
    "a@mail.example.com → b@mail.example.com (alias_maps a) → a@mail.example.com (alias_maps b) ⇒ " +
    "bounced 5.4.6 alias database loop for a",
  ]);
  assert.match(formatRoute(r), /⇒ BOUNCED 5\.4\.6 alias database loop for a$/m);
});

Deno.test("route local: an unknown user goes to luser_relay, or bounces without it", async () => {
  const values = { local_recipient_maps: "inline:{ catchall=1 }", luser_relay: "catchall" };
  const relayed = await explain(values, "Nobody+tag@mail.example.com");
  assert.deepEqual(deliveries(relayed), [
    "nobody+tag@mail.example.com → catchall@mail.example.com (luser_relay) ⇒ sent " +
    `${HOMES}/catchall/Maildir/`,
  ]);
  const plain = await explain(
    { local_recipient_maps: "inline:{ catchall=1 }" },
    "x@mail.example.com",
  );
  assert.deepEqual(deliveries(plain), [
    'x@mail.example.com ⇒ bounced 5.1.1 unknown user: "x"',
  ]);
});

Deno.test("route local: /file targets, owner- senders, a system account's home, the spool", async () => {
  const dir = await Deno.makeTempDir({ prefix: "facteur-route-local-" });
  try {
    const passwd = join(dir, "passwd");
    // ann owns her home: delivery's ownership check (as root) passes.
    const [uid, gid] = [Deno.uid() ?? 0, Deno.gid() ?? 0];
    await Deno.writeTextFile(passwd, `ann:x:${uid}:${gid}:Ann:${dir}:/bin/sh\n`);
    const r = await explain(
      {
        alias_maps: "inline:{ {staff=ann, /var/log/staff.mbox}, owner-staff=ann }",
      },
      "staff@mail.example.com",
      passwd,
    );
    const [mailbox, file] = r.local[0].deliveries;
    assert.deepEqual(mailbox.target, {
      kind: "mailbox",
      user: "ann",
      home: dir,
      path: `${dir}/Maildir/`,
      maildir: true,
      spool: false,
      systemAccount: true,
      sender: "owner-staff@mail.example.com",
    });
    assert.deepEqual(file.target, { kind: "file", path: "/var/log/staff.mbox" });
    // A dry run: the Maildir was not created.
    await assert.rejects(Deno.stat(join(dir, "Maildir")), Deno.errors.NotFound);
    const text = formatRoute(r);
    assert.ok(
      text.includes(
        `⇒ Maildir ${dir}/Maildir/ (system account ann, home ${dir}, ` +
          "Return-Path <owner-staff@mail.example.com>)",
      ),
      text,
    );
    assert.match(
      text,
      /⇒ local\(8\) would append the message to the file \/var\/log\/staff\.mbox; facteur refuses: BOUNCED 5\.7\.1/,
    );
    const spool = await explain(
      {
        home_mailbox: "",
        mail_spool_directory: "/var/mail",
      },
      "ann@mail.example.com",
      passwd,
    );
    assert.deepEqual(deliveries(spool), ["ann@mail.example.com ⇒ sent /var/mail/ann"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("route local: only local(8) transports get the section; a bad setting is an error", async () => {
  const remote = await explain({}, "x@example.org");
  assert.deepEqual(remote.local, []);
  assert.match(formatRoute(remote), /\(no recipient goes to a local\(8\) transport\)/);
  const bad = await explain({ home_mailbox: "/abs/Maildir/" }, "postmaster@mail.example.com");
  assert.equal(bad.local[0].error, "home_mailbox must be relative to the home directory");
  assert.deepEqual(bad.local[0].deliveries, []);
});
