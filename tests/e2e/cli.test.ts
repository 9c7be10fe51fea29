// The command line as an administrator uses it: check, config, errors.
import assert from "node:assert/strict";
import { join } from "node:path";
import { ROOT } from "./harness.ts";

async function facteur(args: string[], cwd = ROOT) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", join(ROOT, "mod.ts"), ...args],
    cwd,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const d = new TextDecoder();
  return { code: out.code, stdout: d.decode(out.stdout), stderr: d.decode(out.stderr) };
}

async function withConfig(toml: string, fn: (file: string) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "facteur-cli-" });
  try {
    const file = join(dir, "facteur.toml");
    await Deno.writeTextFile(file, toml);
    await fn(file);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("facteur config -n prints what differs from the defaults, as TOML", async () => {
  const r = await facteur(["config", "-n", "-c", "config.example.toml"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^myhostname = "mail\.example\.test"$/m);
  assert.match(r.stdout, /^home_mailbox = "Maildir\/"$/m);
  assert.doesNotMatch(r.stdout, /^smtpd_timeout/m);
});

Deno.test("facteur config NAME, -x expands, -d shows defaults", async () => {
  const r = await facteur(["config", "-c", "config.example.toml", "-x", "mydestination"]);
  assert.equal(
    r.stdout,
    'mydestination = "mail.example.test, example.test, localhost.example.test, localhost"\n',
  );
  const d = await facteur(["config", "-d", "smtpd_timeout", "message_size_limit"]);
  assert.equal(d.stdout, 'smtpd_timeout = "300s"\nmessage_size_limit = "10240000"\n');
  const bad = await facteur(["config", "-d", "mydestinaton"]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /unknown parameter "mydestinaton"; did you mean "mydestination"\?/);
});

Deno.test("facteur check passes on the example and names each problem otherwise", async () => {
  await withConfig(
    `data_directory = "./data"\n[services.smtp]\nlisten = "127.0.0.1:0"\n`,
    async (file) => {
      const ok = await facteur(["check", "-c", file]);
      assert.equal(ok.code, 0, ok.stdout + ok.stderr);
      assert.match(ok.stdout, /^ok\s+data directory .* is writable$/m);
    },
  );
  await withConfig(`\nmessage_size_limit = "10MB"\n`, async (file) => {
    const r = await facteur(["check", "-c", file]);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      new RegExp(`${file}:2: parameter "message_size_limit" = "10MB" is invalid`),
    );
  });
  await withConfig(
    `smtpd_recipient_restrictions = ["permit_mynetworks", "reject_everything"]\n`,
    async (file) => {
      const r = await facteur(["check", "-c", file]);
      assert.equal(r.code, 1);
      assert.match(r.stdout + r.stderr, /reject_everything/);
    },
  );
});

Deno.test("a table with a syntax error stops check and serve; a missing table file only warns", async () => {
  await withConfig(`alias_maps = "inline:{ postmaster = alice }"\n`, async (file) => {
    const check = await facteur(["check", "-c", file]);
    assert.equal(check.code, 1);
    assert.match(
      check.stdout,
      /^FAIL .*missing '=' after attribute name.*\(table inline:\{ postmaster = alice \}\)$/m,
    );
    const serve = await facteur(["serve", "-c", file]);
    assert.equal(serve.code, 1);
    assert.match(serve.stderr, /table inline:\{ postmaster = alice \}/);
  });
  await withConfig(
    `alias_maps = "hash:/nonexistent/aliases"\ndata_directory = "./data"\n[services.smtp]\nlisten = "127.0.0.1:0"\n`,
    async (file) => {
      const check = await facteur(["check", "-c", file]);
      assert.equal(check.code, 0, check.stdout);
      assert.match(
        check.stdout,
        /^warn +alias_maps: open \/nonexistent\/aliases: No such file or directory/m,
      );
    },
  );
});

Deno.test("facteur check validates DNS and transport settings too", async () => {
  await withConfig(`dns_nameservers = ["127.0.0.1:99999"]\n`, async (file) => {
    const r = await facteur(["check", "-c", file]);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /^FAIL .*dns_nameservers: bad server "127\.0\.0\.1:99999"/m);
  });
  await withConfig(`smtp_tcp_port = "nosuchport"\n`, async (file) => {
    const r = await facteur(["check", "-c", file]);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /^FAIL .*smtp_tcp_port: bad port "nosuchport"/m);
  });
});

Deno.test("facteur serve refuses a configuration with an unknown key, naming file and line", async () => {
  await withConfig(`myhostname = "a.example"\nmessage_size_limt = 5\n`, async (file) => {
    const r = await facteur(["serve", "-c", file]);
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr.trim(),
      `facteur: ${file}:2: unknown parameter "message_size_limt"; did you mean "message_size_limit"?`,
    );
  });
  const missing = await facteur(["serve", "-c", "/nonexistent/facteur.toml"]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /\/nonexistent\/facteur\.toml: cannot read configuration/);
});
