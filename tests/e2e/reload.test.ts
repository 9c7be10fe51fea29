/**
 * postfix reload on the real server: a valid change (SIGHUP) takes effect
 * for new sessions while an open SMTP transaction completes; an invalid
 * file is refused (facteur reload, POST /v1/reload) with its problems and
 * the old configuration keeps serving; a service added to the file starts
 * listening, and one removed stops.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { RawClient } from "../smtpd/helpers.ts";
import {
  assertError,
  authed,
  closedPort,
  curl,
  facteur,
  startAdminServer,
} from "./admin_helpers.ts";
import { eventually, mailbox, maildirMessages, type RunningServer } from "./harness.ts";

/** The configuration file with `lines` added to the top-level table (before any [section]). */
async function addTopLevel(file: string, lines: string): Promise<string> {
  const text = await Deno.readTextFile(file);
  const at = text.search(/^\[/m);
  const next = text.slice(0, at) + lines + "\n" + text.slice(at);
  await Deno.writeTextFile(file, next);
  return next;
}

function serverPid(server: RunningServer): number {
  return Number(Deno.readTextFileSync(join(server.dataDir, "facteur.pid")).trim());
}

/** How many times the log says a reload happened. */
const reloads = (server: RunningServer) =>
  server.log().match(/facteur\/master\[\d+\]: reload -- configuration /g)?.length ?? 0;

async function waitFor(fn: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`condition not met in ${ms} ms: ${fn}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The greeting and the reply to RCPT TO `rcpt` of a new session. */
async function probe(port: number, rcpt: string): Promise<{ greeting: string; rcpt: string }> {
  const { client, greeting } = await RawClient.open(port);
  try {
    await client.command("EHLO client.test");
    await client.command("MAIL FROM:<someone@client.test>");
    const reply = await client.command(`RCPT TO:<${rcpt}>`);
    await client.command("QUIT");
    return { greeting, rcpt: reply };
  } finally {
    client.close();
  }
}

Deno.test("reload: SIGHUP applies a valid change; the open session completes its message", async () => {
  const { server } = await startAdminServer();
  try {
    const before = await probe(server.port, "carol@example.test");
    assert.equal(before.greeting, "220 mail.example.test ESMTP facteur");
    assert.match(before.rcpt, /^550 5\.1\.1 <carol@example\.test>: Recipient address rejected/);

    // A session mid-transaction: the recipient is accepted, DATA not sent yet.
    const { client } = await RawClient.open(server.port);
    try {
      assert.match(await client.command("EHLO client.test"), /^250/);
      assert.match(await client.command("MAIL FROM:<someone@client.test>"), /^250/);
      assert.match(await client.command("RCPT TO:<alice@example.test>"), /^250/);

      // carol becomes a local user and the banner changes.
      const text = await Deno.readTextFile(server.configFile);
      await Deno.writeTextFile(
        server.configFile,
        text.replace("alice=alice, bob=bob", "alice=alice, bob=bob, carol=carol"),
      );
      await addTopLevel(server.configFile, 'smtpd_banner = "$myhostname ESMTP reloaded"');
      Deno.kill(serverPid(server), "SIGHUP");
      await server.waitForLog(/reload -- configuration .*facteur\.toml/);

      // The open session finishes its transaction on the same connection.
      assert.match(await client.command("DATA"), /^354/);
      const queued = await client.command("Subject: across a reload\r\n\r\nstill here\r\n.");
      assert.match(queued, /^250 .*queued as [0-9A-Z]+/);
      assert.match(await client.command("QUIT"), /^221/);
    } finally {
      client.close();
    }
    const delivered = await eventually(async () => {
      const texts = (await maildirMessages(mailbox(server, "alice")))
        .map((m) => new TextDecoder().decode(m.bytes));
      return texts.find((t) => /^Subject: across a reload$/m.test(t));
    });
    assert.match(delivered, /\n\nstill here\n$/);

    // A new session sees the new configuration.
    const after = await probe(server.port, "carol@example.test");
    assert.equal(after.greeting, "220 mail.example.test ESMTP reloaded");
    assert.match(after.rcpt, /^250/);
    assert.equal(reloads(server), 1);
    assert.doesNotMatch(server.log(), /reload refused/);
  } finally {
    await server.stop();
    await Deno.remove(server.dir, { recursive: true });
  }
});

Deno.test("reload: an invalid file is refused with file:line; the old configuration keeps serving", async () => {
  // A fixed admin port: `facteur reload` finds the API from the configuration file.
  const { server, url, token } = await startAdminServer("", `127.0.0.1:${closedPort()}`);
  const api = authed(token);
  try {
    // A valid change through the CLI (the API path) is taken.
    await addTopLevel(server.configFile, 'smtpd_banner = "$myhostname ESMTP first"');
    let r = await facteur(["reload", "-c", server.configFile]);
    assert.equal(r.stderr, "");
    assert.equal(r.code, 0);
    assert.equal(r.stdout, `facteur: configuration reloaded (pid ${serverPid(server)})\n`);
    assert.equal(
      (await probe(server.port, "bob@example.test")).greeting,
      "220 mail.example.test ESMTP first",
    );
    assert.equal(reloads(server), 1);

    // A misspelt parameter: the line it is on is named.
    const text = await addTopLevel(
      server.configFile,
      'smtpd_banner_text = "$myhostname ESMTP second"',
    );
    const line = text.split("\n").findIndex((l) => l.startsWith("smtpd_banner_text")) + 1;
    const where = `${server.configFile}:${line}`;
    const problem = `${where}: unknown parameter "smtpd_banner_text"; did you mean "smtpd_banner"?`;
    // The CLI reads the file first (to find the server) and stops there, naming the line.
    r = await facteur(["reload", "-c", server.configFile]);
    assert.equal(r.code, 1, r.stdout);
    assert.equal(r.stdout, "");
    assert.equal(r.stderr, `facteur: ${problem}\n`);

    // curl: 422 invalid_config with the problems.
    const refused = await curl(
      url + "/v1/reload",
      "-X",
      "POST",
      "-H",
      `Authorization: Bearer ${token}`,
    );
    assertError(
      refused,
      422,
      "invalid_config",
      /^the configuration has 1 problem\(s\); the old one keeps running$/,
    );
    assert.deepEqual(refused.json.error.problems, [problem]);
    const check = await api(url + "/v1/config/check", "-X", "POST");
    assert.deepEqual(check.json, { ok: false, problems: [problem] });

    // Still the old configuration: the banner, the API's view of it, the log.
    assert.equal(
      (await probe(server.port, "bob@example.test")).greeting,
      "220 mail.example.test ESMTP first",
    );
    const config = await api(url + "/v1/config");
    assert.equal(config.json.parameters.smtpd_banner, "$myhostname ESMTP first");
    assert.equal(config.json.parameters.smtpd_banner_text, undefined);
    assert.equal(reloads(server), 1);
    assert.ok(
      server.log().includes(`warning: reload refused, the running configuration stays: ${problem}`),
    );
    assert.equal((await curl(url + "/readyz")).status, 200);

    // SIGHUP with the bad file: refused the same way, the server keeps running.
    Deno.kill(serverPid(server), "SIGHUP");
    await waitFor(() => server.log().match(/reload refused/g)!.length === 2);
    assert.equal(
      (await probe(server.port, "bob@example.test")).greeting,
      "220 mail.example.test ESMTP first",
    );

    // A file that reads fine but cannot be run (a listener on a port in use): the CLI
    // asks the API, which refuses; every running service stays.
    const valid = text.replace(/^smtpd_banner_text = .*\n/m, "");
    await Deno.writeTextFile(
      server.configFile,
      valid.replace('ESMTP first"', 'ESMTP third"') +
        `\n[services.clash]\ncommand = "smtpd"\nlisten = "127.0.0.1:${server.port}"\n`,
    );
    r = await facteur(["reload", "-c", server.configFile]);
    assert.equal(r.code, 1, r.stdout);
    assert.match(
      r.stderr,
      new RegExp(
        "^facteur: reload refused, the running configuration stays: the configuration has 1 " +
          "problem\\(s\\); the old one keeps running\n" +
          `  service "clash" cannot listen on 127\\.0\\.0\\.1:${server.port}: `,
      ),
    );
    assert.equal(
      (await probe(server.port, "bob@example.test")).greeting,
      "220 mail.example.test ESMTP first",
    );
    assert.equal((await api(url + "/v1/stats")).status, 200);
    assert.equal(reloads(server), 1);
  } finally {
    await server.stop();
    await Deno.remove(server.dir, { recursive: true });
  }
});

Deno.test("reload: a service added to the file starts listening, a removed one stops", async () => {
  const { server, url, token } = await startAdminServer();
  const api = authed(token);
  try {
    const original = await Deno.readTextFile(server.configFile);
    await Deno.writeTextFile(
      server.configFile,
      original + '\n[services.submission2]\ncommand = "smtpd"\nlisten = "127.0.0.1:0"\n',
    );
    const r = await api(url + "/v1/reload", "-X", "POST");
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, { reloaded: true });
    const m = await server.waitForLog(/submission2 \(smtpd\) listening on 127\.0\.0\.1:(\d+)/);
    const port = Number(m[1]);
    assert.notEqual(port, server.port);
    const added = await probe(port, "alice@example.test");
    assert.equal(added.greeting, "220 mail.example.test ESMTP facteur");
    assert.match(added.rcpt, /^250/);
    // The services already there kept their sockets.
    assert.match((await probe(server.port, "alice@example.test")).rcpt, /^250/);
    assert.equal((await curl(url + "/healthz")).status, 200);

    // Removed from the file: closed at the next reload.
    await Deno.writeTextFile(server.configFile, original);
    assert.equal((await api(url + "/v1/reload", "-X", "POST")).status, 200);
    await assert.rejects(() => Deno.connect({ hostname: "127.0.0.1", port }));
    assert.match((await probe(server.port, "alice@example.test")).rcpt, /^250/);
    assert.equal(reloads(server), 2);
  } finally {
    await server.stop();
    await Deno.remove(server.dir, { recursive: true });
  }
});
