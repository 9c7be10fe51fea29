// `facteur user|domain|alias` run as an administrator runs them: separate processes on
// users.sqlite in the configured data_directory.
import assert from "node:assert/strict";
import { join } from "node:path";
import { ROOT } from "../e2e/harness.ts";
import { openUsersStore } from "../../src/users/mod.ts";
import { doveadmPw } from "../users/helpers.ts";

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function facteur(
  args: string[],
  opts: { stdin?: string; env?: Record<string, string> } = {},
): Promise<Run> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", join(ROOT, "mod.ts"), ...args],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", RUST_BACKTRACE: "0", ...opts.env },
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(opts.stdin ?? ""));
  await writer.close();
  const out = await child.output();
  const d = new TextDecoder();
  return { code: out.code, stdout: d.decode(out.stdout), stderr: d.decode(out.stderr) };
}

async function withSetup(fn: (config: string, dataDir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "facteur-cli-users-" });
  try {
    const config = join(dir, "facteur.toml");
    await Deno.writeTextFile(config, `data_directory = "./data"\n`);
    await Deno.mkdir(join(dir, "data"));
    await fn(config, join(dir, "data"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function authenticates(dataDir: string, address: string, password: string) {
  const store = openUsersStore(dataDir);
  try {
    return (await store.authenticate(address, password)) !== undefined;
  } finally {
    store.close();
  }
}

Deno.test("user add, list, show, passwd, del — and the errors an administrator meets", async () => {
  await withSetup(async (c, data) => {
    const ok = (r: Run) => assert.equal(r.code, 0, r.stdout + r.stderr);
    ok(await facteur(["domain", "add", "Example.test", "-c", c]));
    const added = await facteur(
      ["user", "add", "Alice@example.test", "--password-stdin", "--quota", "1G", "-c", c],
      { stdin: "first pw\n" },
    );
    ok(added);
    assert.match(added.stdout, /added user alice@example\.test \(mailbox example\.test\/alice\/\)/);
    assert.ok(await authenticates(data, "alice@example.test", "first pw"));

    const again = await facteur(
      ["user", "add", "alice@example.test", "--password-stdin", "-c", c],
      {
        stdin: "x\n",
      },
    );
    assert.equal(again.code, 1);
    assert.equal(again.stderr, "facteur: user alice@example.test exists\n");
    const noDomain = await facteur(
      ["user", "add", "bob@nowhere.test", "--password-stdin", "-c", c],
      {
        stdin: "x\n",
      },
    );
    assert.equal(noDomain.code, 67);
    assert.match(
      noDomain.stderr,
      /no such domain nowhere\.test \(add it first: facteur domain add/,
    );
    const bad = await facteur(["user", "add", "bob@", "--password-stdin", "-c", c], {
      stdin: "x\n",
    });
    assert.equal(bad.code, 65);
    assert.match(bad.stderr, /bad address|empty domain name/);
    const noPassword = await facteur(["user", "add", "bob@example.test", "-c", c]);
    assert.equal(noPassword.code, 65);
    assert.match(noPassword.stderr, /no password: give --password-stdin/);

    const list = await facteur(["user", "list", "-c", c]);
    ok(list);
    assert.match(list.stdout, /^ADDRESS\s+QUOTA\s+STATUS\s+CREATED\s+MAILBOX$/m);
    assert.match(
      list.stdout,
      /^alice@example\.test\s+1G\s+enabled\s+\d{4}-\d\d-\d\d\s+example\.test\/alice\/$/m,
    );
    const json = JSON.parse(
      (await facteur(["user", "list", "--json", "--domain", "example.test", "-c", c])).stdout,
    );
    assert.deepEqual(json.users.map((u: { address: string }) => u.address), ["alice@example.test"]);

    const show = await facteur(["user", "show", "alice@example.test", "-c", c]);
    ok(show);
    assert.match(show.stdout, /^quota:\s+1G \(1073741824 bytes\)$/m);
    assert.match(show.stdout, /^password:\s+\{ARGON2ID\}$/m);
    assert.doesNotMatch(show.stdout, /argon2id\$/);
    const showJson = JSON.parse(
      (await facteur(["user", "show", "alice@example.test", "--json", "-c", c])).stdout,
    );
    assert.equal(showJson.quota, 2 ** 30);
    assert.equal("password" in showJson, false);

    ok(
      await facteur(["user", "passwd", "alice@example.test", "--password-stdin", "-c", c], {
        stdin: "second pw\r\n",
      }),
    );
    assert.ok(await authenticates(data, "alice@example.test", "second pw"));
    assert.equal(await authenticates(data, "alice@example.test", "first pw"), false);
    const passwdNobody = await facteur([
      "user",
      "passwd",
      "zed@example.test",
      "--password-stdin",
      "-c",
      c,
    ], { stdin: "x\n" });
    assert.equal(passwdNobody.code, 67);
    assert.match(passwdNobody.stderr, /no such user zed@example\.test/);

    const refused = await facteur(["domain", "del", "example.test", "-c", c]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /has 1 user\(s\); delete them first or use --force/);

    ok(await facteur(["user", "disable", "alice@example.test", "-c", c]));
    assert.equal(await authenticates(data, "alice@example.test", "second pw"), false);
    ok(await facteur(["user", "enable", "alice@example.test", "-c", c]));

    const gone = await facteur(["user", "del", "alice@example.test", "-c", c]);
    ok(gone);
    assert.match(gone.stdout, /deleted user alice@example\.test/);
    const showGone = await facteur(["user", "show", "alice@example.test", "-c", c]);
    assert.equal(showGone.code, 67);
    assert.equal(showGone.stderr, "facteur: no such user alice@example.test\n");
  });
});

Deno.test("the password prompt on a terminal: asked twice without echo, mismatch refused", async () => {
  await withSetup(async (c, data) => {
    await facteur(["domain", "add", "example.test", "-c", c]);
    // script(1) gives the command a pseudo-terminal; the input is typed after the prompts.
    const typed = async (answers: string[]) => {
      const cmd = [
        Deno.execPath(),
        "run",
        "--allow-all",
        join(ROOT, "mod.ts"),
        "user",
        "add",
        "tty@example.test",
        "-c",
        c,
      ]
        .map((a) => `'${a}'`).join(" ");
      const child = new Deno.Command("script", {
        args: ["-qec", cmd, "/dev/null"],
        stdin: "piped",
        stdout: "piped",
        stderr: "piped",
        env: { NO_COLOR: "1", RUST_BACKTRACE: "0" },
      }).spawn();
      const writer = child.stdin.getWriter();
      let seen = "";
      const reader = child.stdout.getReader();
      for (const answer of answers) {
        while (!/password: $/i.test(seen)) {
          const { value, done } = await reader.read();
          if (done) break;
          seen += new TextDecoder().decode(value);
        }
        await writer.write(new TextEncoder().encode(answer + "\r"));
        seen = "";
      }
      let rest = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        rest += new TextDecoder().decode(value);
      }
      await writer.close().catch(() => {});
      const status = await child.status;
      await child.stderr.cancel();
      return { code: status.code, output: rest };
    };
    const mismatch = await typed(["one secret", "another"]);
    assert.notEqual(mismatch.code, 0);
    assert.match(mismatch.output, /the passwords do not match/);
    assert.doesNotMatch(mismatch.output, /one secret/, "no echo");
    const match = await typed(["tty secret", "tty secret"]);
    assert.equal(match.code, 0, match.output);
    assert.match(match.output, /added user tty@example\.test/);
    assert.ok(await authenticates(data, "tty@example.test", "tty secret"));
  });
});

Deno.test("domains and aliases from the command line; $FACTEUR_CONFIG finds the config", async () => {
  await withSetup(async (c) => {
    const env = { FACTEUR_CONFIG: c };
    assert.equal((await facteur(["domain", "add", "a.test", "--note", "main"], { env })).code, 0);
    const dup = await facteur(["domain", "add", "A.test"], { env });
    assert.equal(dup.code, 1);
    assert.equal(dup.stderr, "facteur: domain a.test exists\n");
    const badDomain = await facteur(["domain", "add", "a_b!.test"], { env });
    assert.equal(badDomain.code, 65);
    const domains = await facteur(["domain", "list"], { env });
    assert.match(domains.stdout, /^DOMAIN\s+USERS\s+CREATED\s+NOTE\na\.test\s+0\s+\S+\s+main$/m);

    const add = await facteur(["alias", "add", "Sales@a.test", "bob@b.test", "carol"], { env });
    assert.equal(add.code, 0, add.stderr);
    assert.match(add.stdout, /alias sales@a\.test → bob@b\.test, carol/);
    const exists = await facteur(["alias", "add", "sales@a.test", "x@b.test"], { env });
    assert.equal(exists.code, 1);
    assert.match(
      exists.stderr,
      /alias sales@a\.test exists \(→ bob@b\.test, carol\); use --replace/,
    );
    assert.equal(
      (await facteur(["alias", "add", "sales@a.test", "x@b.test", "--replace"], { env })).code,
      0,
    );
    const badTarget = await facteur(["alias", "add", "x@a.test", "not valid"], { env });
    assert.equal(badTarget.code, 65);
    assert.match(badTarget.stderr, /bad alias target "not valid"/);
    const list = JSON.parse((await facteur(["alias", "list", "--json"], { env })).stdout);
    assert.deepEqual(
      list.aliases.map((a: { address: string; targets: string[] }) => [a.address, a.targets]),
      [
        ["sales@a.test", ["x@b.test"]],
      ],
    );
    assert.equal((await facteur(["alias", "del", "sales@a.test"], { env })).code, 0);
    const delAgain = await facteur(["alias", "del", "sales@a.test"], { env });
    assert.equal(delAgain.code, 67);
    assert.equal(delAgain.stderr, "facteur: no such alias sales@a.test\n");
    assert.equal((await facteur(["domain", "del", "a.test"], { env })).code, 0);
  });
});

Deno.test("user import-dovecot keeps the hashes: imported users log in with their old passwords", async () => {
  await withSetup(async (c, data) => {
    await facteur(["domain", "add", "example.org", "-c", c]);
    const file = join(data, "..", "passwd");
    const hash = await doveadmPw("SHA512-CRYPT", "dove pw");
    await Deno.writeTextFile(
      file,
      `jane:${hash}:1000:1000::/home/jane::userdb_quota_rule=*:storage=2G\nbroken\n`,
    );
    const r = await facteur(["user", "import-dovecot", file, "--domain", "example.org", "-c", c]);
    assert.equal(r.code, 65, "a bad line makes the status non-zero");
    assert.match(r.stderr, new RegExp(`${file}:2: no ":" after user broken`));
    assert.match(r.stdout, /imported 1 user\(s\), skipped 0 existing, 1 error\(s\)/);
    assert.ok(await authenticates(data, "jane@example.org", "dove pw"));
    const show = JSON.parse(
      (await facteur(["user", "show", "jane@example.org", "--json", "-c", c])).stdout,
    );
    assert.equal(show.quota, 2 * 2 ** 30);
    const missing = await facteur(["user", "import-dovecot", join(data, "nope"), "-c", c]);
    assert.equal(missing.code, 66);
    assert.match(missing.stderr, /cannot read .*nope/);
  });
});

Deno.test("a missing data_directory is named", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const c = join(dir, "facteur.toml");
    await Deno.writeTextFile(c, `data_directory = "./missing"\n`);
    const r = await facteur(["user", "list", "-c", c]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /data_directory .*missing: .*\(create it, or start facteur once\)/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
