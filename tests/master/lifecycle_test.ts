/**
 * The running server's life: local submission over the pickup socket,
 * configuration reload (valid, invalid, services added and removed, open
 * sessions kept), counters, and a stop that lets sessions finish.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { loadConfig } from "../../src/config/mod.ts";
import { startFacteur } from "../../src/master/mod.ts";
import { pickupSocketPath } from "../../src/master/pickup.ts";
import { setLogSink } from "../../src/log.ts";
import { RawClient } from "../smtpd/helpers.ts";

const BASE = `myhostname = "mail.example.test"
mydomain = "example.test"
mydestination = ["$myhostname", "$mydomain", "localhost"]
mynetworks = ["127.0.0.0/8"]
data_directory = "./data"
local_recipient_maps = ["inline:{ alice=alice, bob=bob }"]
home_mailbox = "Maildir/"
alias_maps = ""
smtpd_recipient_restrictions = ["permit_mynetworks", "reject_unauth_destination"]
smtpd_forbid_bare_newline_exclusions = ""
queue_run_delay = "1s"
`;
/** The queue worker's entry when the server runs inside a test. */
const MOD = new URL("../../mod.ts", import.meta.url).href;
const SMTP = `\n[services.smtp]\nlisten = "127.0.0.1:0"\n`;

async function setup(extra = "") {
  const dir = await Deno.makeTempDir({ prefix: "facteur-life-" });
  const file = join(dir, "facteur.toml");
  await Deno.writeTextFile(file, BASE + extra + SMTP);
  const lines: string[] = [];
  setLogSink((l) => lines.push(l));
  const facteur = await startFacteur(await loadConfig(file), { queueWorkerEntry: MOD });
  const port = () => facteur.services.find((s) => s.command === "smtpd")!.address.port;
  const rewrite = (text: string) => Deno.writeTextFile(file, text);
  const done = async () => {
    await facteur.stop();
    await Deno.remove(dir, { recursive: true });
  };
  return { dir, file, facteur, port, lines, rewrite, done };
}

async function maildir(dir: string, user: string): Promise<string[]> {
  const out: string[] = [];
  try {
    for await (const e of Deno.readDir(join(dir, "data", "home", user, "Maildir", "new"))) {
      out.push(await Deno.readTextFile(join(dir, "data", "home", user, "Maildir", "new", e.name)));
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return out;
}

async function eventually<T>(f: () => Promise<T | undefined>, ms = 5000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error("not in time");
    await new Promise((r) => setTimeout(r, 20));
  }
}

Deno.test("pickup: SMTP over the data directory's socket is local submission, delivered", async () => {
  const t = await setup();
  try {
    const path = pickupSocketPath(join(t.dir, "data"));
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o666, "anyone may submit");
    const { client, greeting } = await RawClient.open(path);
    assert.match(greeting, /^220 /);
    assert.match(await client.command("EHLO localhost"), /^250/);
    assert.match(await client.command("MAIL FROM:<cron@example.test>"), /^250/);
    // No relay restrictions for local submission, as with Postfix's sendmail.
    assert.match(await client.command("RCPT TO:<someone@elsewhere.test>"), /^250/);
    assert.match(await client.command("RCPT TO:<alice@example.test>"), /^250/);
    assert.match(await client.command("DATA"), /^354/);
    assert.match(await client.command("Subject: from cron\r\n\r\ndone\r\n."), /^250 2\.0\.0 Ok/);
    await client.command("QUIT");
    client.close();
    const [msg] = await eventually(async () => {
      const m = await maildir(t.dir, "alice");
      return m.length ? m : undefined;
    });
    assert.match(msg, /^Subject: from cron$/m);
    assert.ok(
      t.lines.some((l) => /facteur\/pickup\[\d+\]: connect from localhost\[127\.0\.0\.1\]/.test(l)),
    );
    assert.equal(t.facteur.counters.get("messages_received_total"), 1);
  } finally {
    await t.done();
  }
});

Deno.test("reload: a valid change applies to new sessions; the open one goes on", async () => {
  const t = await setup();
  try {
    const open = await RawClient.open(t.port());
    assert.match(await open.client.command("EHLO a.test"), /^250/);
    await t.rewrite(BASE.replace("bob=bob", "bob=bob, carol=carol") + SMTP);
    assert.deepEqual(await t.facteur.reload(), { ok: true });
    // The session opened before the reload still works.
    assert.match(await open.client.command("MAIL FROM:<x@example.test>"), /^250/);
    assert.match(await open.client.command("RCPT TO:<alice@example.test>"), /^250/);
    await open.client.command("QUIT");
    open.client.close();
    // A new session knows carol.
    const { client } = await RawClient.open(t.port());
    await client.command("EHLO b.test");
    await client.command("MAIL FROM:<x@example.test>");
    assert.match(await client.command("RCPT TO:<carol@example.test>"), /^250/);
    await client.command("QUIT");
    client.close();
    assert.ok(t.lines.some((l) => l.includes("reload -- configuration")));
  } finally {
    await t.done();
  }
});

Deno.test("reload: an invalid file is refused with its problem; the old configuration serves", async () => {
  const t = await setup();
  try {
    const port = t.port();
    await t.rewrite(BASE + `smtpd_banner_typo = "x"\n` + SMTP);
    const result = await t.facteur.reload();
    assert.equal(result.ok, false);
    assert.match(
      !result.ok ? result.problems[0] : "",
      /facteur\.toml:\d+: unknown parameter "smtpd_banner_typo"/,
    );
    assert.equal(t.facteur.services.find((s) => s.command === "smtpd")!.address.port, port);
    const { client, greeting } = await RawClient.open(port);
    assert.match(greeting, /^220 mail\.example\.test/);
    client.close();
    assert.ok(t.lines.some((l) => l.includes("warning: reload refused")));

    // data_directory cannot move under a running server.
    await t.rewrite(BASE.replace(`"./data"`, `"./elsewhere"`) + SMTP);
    const moved = await t.facteur.reload();
    assert.match(!moved.ok ? moved.problems[0] : "", /data_directory changed .* restart/);
  } finally {
    await t.done();
  }
});

Deno.test("reload: a service added starts listening, a service removed stops", async () => {
  const t = await setup();
  try {
    const first = t.port();
    await t.rewrite(BASE + `\n[services.submission]\nlisten = "127.0.0.1:0"\n`);
    assert.deepEqual(await t.facteur.reload(), { ok: true });
    const smtpd = t.facteur.services.filter((s) => s.command === "smtpd");
    assert.deepEqual(smtpd.map((s) => s.name), ["submission"]);
    const second = smtpd[0].address.port;
    assert.notEqual(second, first);
    const { client, greeting } = await RawClient.open(second);
    assert.match(greeting, /^220/);
    client.close();
    await assert.rejects(() => RawClient.open(first), "the removed service no longer listens");
  } finally {
    await t.done();
  }
});

Deno.test("stop: an open session may finish its message within master_stop_timeout", async () => {
  const t = await setup(`master_stop_timeout = "5s"\n`);
  const { client } = await RawClient.open(t.port());
  await client.command("EHLO a.test");
  await client.command("MAIL FROM:<x@example.test>");
  await client.command("RCPT TO:<alice@example.test>");
  await client.command("DATA");
  const stopped = t.facteur.stop();
  // The listener is closed, but this session completes its transaction.
  const reply = await client.command("Subject: last\r\n\r\nbye\r\n.");
  assert.match(reply, /^250 2\.0\.0 Ok: queued as/);
  await client.command("QUIT").catch(() => "");
  client.close();
  await stopped;
  await Deno.remove(t.dir, { recursive: true });
});

Deno.test("counters: connections, messages, deliveries and refusals are counted", async () => {
  const t = await setup();
  try {
    const { client } = await RawClient.open(t.port());
    await client.command("EHLO a.test");
    await client.command("MAIL FROM:<x@example.test>");
    assert.match(await client.command("RCPT TO:<nobody@example.test>"), /^550/);
    await client.command("RCPT TO:<bob@example.test>");
    await client.command("DATA");
    await client.command("Subject: x\r\n\r\ny\r\n.");
    await client.command("QUIT");
    client.close();
    const c = t.facteur.counters;
    await eventually(() =>
      Promise.resolve(c.get("deliveries_total", { status: "sent" }) === 1 || undefined)
    );
    assert.equal(c.get("smtpd_connections_total"), 1);
    assert.equal(c.get("messages_received_total"), 1);
    assert.equal(c.get("smtpd_rejects_total", { stage: "RCPT", code: "5.1.1" }), 1);
  } finally {
    await t.done();
  }
});
