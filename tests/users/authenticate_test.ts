import assert from "node:assert/strict";
import { doveadmPw, FAST_HASH, withStore } from "./helpers.ts";

Deno.test("authenticate with facteur's own Argon2id hash (default parameters)", async () => {
  await withStore(async (store) => {
    await store.addDomain("a.test");
    await store.add("alice@a.test", { password: "correct horse" });
    assert.match(
      store.storedPassword("alice@a.test")!,
      /^\{ARGON2ID\}\$argon2id\$v=19\$m=19456,t=2,p=1\$/,
    );
    const ok = await store.authenticate("Alice@A.test", "correct horse");
    assert.equal(ok?.address, "alice@a.test");
    assert.equal(await store.authenticate("alice@a.test", "Correct horse"), undefined);
    assert.equal(await store.authenticate("nobody@a.test", "correct horse"), undefined);
    assert.equal(await store.authenticate("not an address", "x"), undefined);
    await store.passwd("alice@a.test", "new one");
    assert.equal(await store.authenticate("alice@a.test", "correct horse"), undefined);
    assert.ok(await store.authenticate("alice@a.test", "new one"));
  }, { hashParams: undefined });
});

Deno.test("a disabled user never authenticates, with the right password either", async () => {
  await withStore(async (store) => {
    await store.addDomain("a.test");
    await store.add("bob@a.test", { password: "pw" });
    await store.disable("bob@a.test");
    assert.equal(await store.authenticate("bob@a.test", "pw"), undefined);
    await store.enable("bob@a.test");
    assert.ok(await store.authenticate("bob@a.test", "pw"));
    await store.add("nopass@a.test");
    assert.equal(await store.authenticate("nopass@a.test", ""), undefined);
  });
});

const SCHEMES = ["SHA512-CRYPT", "SHA256-CRYPT", "BLF-CRYPT", "ARGON2ID", "PLAIN"];

Deno.test("users imported from a Dovecot passwd-file (doveadm pw hashes) keep their passwords", async () => {
  await withStore(async (store) => {
    await store.addDomain("example.org");
    const lines: string[] = [];
    for (const [i, scheme] of SCHEMES.entries()) {
      const hash = await doveadmPw(scheme, `pw-${scheme}`);
      lines.push(`user${i}@example.org:${hash}:1000:1000::/home/user${i}::`);
    }
    const result = await store.importDovecotPasswdFile(lines.join("\n") + "\n");
    assert.deepEqual(result, { imported: SCHEMES.length, skipped: 0, errors: [] });
    for (const [i, scheme] of SCHEMES.entries()) {
      const address = `user${i}@example.org`;
      assert.ok(store.storedPassword(address)!.startsWith(`{${scheme}}`), "kept as written");
      assert.equal((await store.get(address))?.passwordScheme, scheme);
      assert.equal(await store.authenticate(address, "wrong"), undefined, scheme);
      assert.equal(store.storedPassword(address)!.startsWith(`{${scheme}}`), true, "no rehash");
      const account = await store.authenticate(address, `pw-${scheme}`);
      assert.equal(account?.address, address, scheme);
      // The right password upgrades the stored hash to facteur's Argon2id.
      assert.equal(account?.passwordScheme, "ARGON2ID", scheme);
      assert.ok(await store.authenticate(address, `pw-${scheme}`), `${scheme} after rehash`);
    }
  });
});

Deno.test("with rehash off, an imported hash stays as it was", async () => {
  await withStore(async (store) => {
    await store.addDomain("example.org");
    const hash = await doveadmPw("SHA512-CRYPT", "s3cret");
    await store.importDovecotPasswdFile(`jane:${hash}\n`, "example.org");
    assert.ok(await store.authenticate("jane@example.org", "s3cret"));
    assert.equal(store.storedPassword("jane@example.org"), hash);
  }, { hashParams: FAST_HASH, rehash: false });
});

Deno.test("import: default domain, existing users skipped, bad lines listed, quota rules", async () => {
  await withStore(async (store) => {
    await store.addDomain("example.org");
    await store.add("old@example.org", { password: "keep me" });
    const text = [
      "# a comment",
      "new:{PLAIN}one::::::userdb_quota_rule=*:storage=1G",
      "old:{PLAIN}two",
      "other@elsewhere.test:{PLAIN}three",
      "bad user:{PLAIN}x",
      "empty:",
      "weird:{CRAM-MD5}abcdef",
      "new:{PLAIN}dup",
    ].join("\n");
    const r = await store.importDovecotPasswdFile(text, "Example.org");
    assert.equal(r.imported, 1);
    assert.equal(r.skipped, 1);
    assert.deepEqual(r.errors.map((e) => e.line), [4, 5, 6, 7, 8]);
    assert.match(r.errors[0].message, /no such domain elsewhere\.test/);
    assert.match(r.errors[1].message, /white space/);
    assert.match(r.errors[2].message, /empty password/);
    assert.match(r.errors[3].message, /\{CRAM-MD5\} cannot be checked/);
    assert.match(r.errors[4].message, /more than once/);
    assert.equal((await store.get("new@example.org"))?.quota, 2 ** 30);
    assert.ok(await store.authenticate("old@example.org", "keep me"), "existing user untouched");

    const noDomain = await store.importDovecotPasswdFile("lonely:{PLAIN}x\n");
    assert.match(noDomain.errors[0].message, /has no @domain/);
    const created = await store.importDovecotPasswdFile(
      "other@elsewhere.test:{PLAIN}three\n",
      undefined,
      {
        createDomains: true,
      },
    );
    assert.equal(created.imported, 1);
    assert.ok(await store.getDomain("elsewhere.test"));
  });
});
