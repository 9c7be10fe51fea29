// Users made with the CLI get mail from the running server: virtual_mailbox_maps =
// "facteur:users" and friends read users.sqlite at each lookup, so no reload is needed.
import assert from "node:assert/strict";
import { join } from "node:path";
import { eventually, maildirMessages, startServer } from "./harness.ts";
import { facteur, send } from "./users_helpers.ts";

Deno.test({
  name: "a user added with `facteur user add` receives mail in its Maildir at once",
  fn: async () => {
    const server = await startServer({
      toml: `
virtual_mailbox_domains = "facteur:domains"
virtual_mailbox_maps = "facteur:users"
virtual_alias_maps = "facteur:aliases"
virtual_mailbox_base = "./vmail"
`,
    });
    try {
      const c = ["-c", server.configFile];
      assert.equal((await facteur(["domain", "add", "virt.test", ...c])).code, 0);
      // The domain is ours now; carol does not exist yet.
      const before = await send(server.port, ["carol@virt.test"], "before");
      assert.match(before.rcpt[0], /^550 5\.1\.1 .*User unknown in virtual mailbox table/);

      for (
        const [args, stdin] of [
          [["user", "add", "Carol@virt.test", "--password-stdin"], "pw\n"],
          [["alias", "add", "info@virt.test", "carol@virt.test"], ""],
        ] as const
      ) {
        const r = await facteur([...args, ...c], stdin);
        assert.equal(r.code, 0, r.stdout + r.stderr);
      }

      const sent = await send(
        server.port,
        ["carol@virt.test", "info@virt.test", "nobody@virt.test"],
        "after",
      );
      assert.match(sent.rcpt[0], /^250 /);
      assert.match(sent.rcpt[1], /^250 /);
      assert.match(sent.rcpt[2], /^550 5\.1\.1 .*User unknown in virtual mailbox table/);
      assert.match(String(sent.data), /^250 2\.0\.0 Ok: queued as/);

      const maildir = join(server.dir, "vmail", "virt.test", "carol");
      const files = await eventually(async () => {
        const m = await maildirMessages(maildir);
        return m.length >= 2 ? m : undefined;
      });
      const texts = files.map((f) => new TextDecoder().decode(f.bytes));
      assert.ok(texts.every((t) => /\nSubject: after\n/.test(t)));
      assert.deepEqual(
        texts.map((t) => /^X-Original-To: (.*)$/m.exec(t)?.[1]).sort(),
        ["carol@virt.test", "info@virt.test"],
      );

      // Disabled: mail is refused like an unknown user, with no reload either.
      assert.equal((await facteur(["user", "disable", "carol@virt.test", ...c])).code, 0);
      const off = await send(server.port, ["carol@virt.test"], "off");
      assert.match(off.rcpt[0], /^550 5\.1\.1 /);
    } finally {
      await server.stop();
    }
  },
});

Deno.test("a user's quota is the Maildir++ maildirsize limit: over it, delivery bounces 5.2.2", async () => {
  const server = await startServer({
    toml: `
virtual_mailbox_domains = "facteur:domains"
virtual_mailbox_maps = "facteur:users"
virtual_mailbox_base = "./vmail"
`,
  });
  try {
    const c = ["-c", server.configFile];
    assert.equal((await facteur(["domain", "add", "virt.test", ...c])).code, 0);
    const added = await facteur(
      ["user", "add", "dan@virt.test", "--quota", "1K", "--password-stdin", ...c],
      "pw\n",
    );
    assert.equal(added.code, 0, added.stderr);
    const maildir = join(server.dir, "vmail", "virt.test", "dan");
    // The mailbox exists with the account; maildirquota(7): "<bytes>S" then the usage.
    assert.equal(await Deno.readTextFile(join(maildir, "maildirsize")), "1024S\n0 0\n");

    const small = await send(server.port, ["dan@virt.test"], "small");
    assert.match(small.data ?? "", /^250 /);
    await server.waitForLog(/to=<dan@virt\.test>.*status=sent/);
    const big = await send(server.port, ["dan@virt.test"], "big " + "x".repeat(2000));
    assert.match(big.data ?? "", /^250 /);
    await server.waitForLog(
      /to=<dan@virt\.test>.*dsn=5\.2\.2, status=bounced \(.*Quota exceeded/,
    );
    assert.equal((await maildirMessages(maildir)).length, 1, "only the small one");

    // Quota 0: no limit any more.
    assert.equal((await facteur(["user", "quota", "dan@virt.test", "0", ...c])).code, 0);
    await assert.rejects(Deno.stat(join(maildir, "maildirsize")), Deno.errors.NotFound);
  } finally {
    await server.stop();
  }
});
