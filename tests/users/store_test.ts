import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import { MIGRATIONS, openUsersStore, SCHEMA_VERSION, UsersError } from "../../src/users/mod.ts";
import { FAST_HASH, withStore } from "./helpers.ts";

/** Asserts a UsersError of `kind` whose message matches. */
async function rejects(p: Promise<unknown>, kind: string, message: RegExp) {
  await assert.rejects(p, (e: Error) => {
    assert.ok(e instanceof UsersError, String(e));
    assert.equal(e.kind, kind);
    assert.match(e.message, message);
    return true;
  });
}

Deno.test("an empty database is migrated to the latest schema, WAL, owner-only file", async () => {
  await withStore(async (store, dir) => {
    const db = new DatabaseSync(join(dir, "users.sqlite"));
    try {
      assert.equal(
        (db.prepare("PRAGMA user_version").get() as { user_version: number }).user_version,
        SCHEMA_VERSION,
      );
      assert.equal(SCHEMA_VERSION, MIGRATIONS.length);
      assert.equal(
        (db.prepare("PRAGMA journal_mode").get() as { journal_mode: string }).journal_mode,
        "wal",
      );
      const tables = db.prepare("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")
        .all().map((r) => r.name);
      assert.deepEqual(tables, ["aliases", "domains", "users"]);
    } finally {
      db.close();
    }
    assert.equal((await Deno.stat(store.path)).mode! & 0o777, 0o600);
    // Opening again does not re-run steps.
    openUsersStore(dir).close();
  });
});

Deno.test("a database from a newer facteur is refused, not guessed at", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const db = new DatabaseSync(join(dir, "users.sqlite"));
    db.exec(`PRAGMA user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    assert.throws(() => openUsersStore(dir), /newer than this program's/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a user needs an existing domain; duplicates and bad syntax are refused", async () => {
  await withStore(async (store) => {
    await rejects(
      store.add("alice@example.com", { password: "pw" }),
      "not_found",
      /no such domain example\.com/,
    );
    await store.addDomain("Example.com");
    await rejects(store.addDomain("example.com"), "conflict", /domain example\.com exists/);
    const alice = await store.add("Alice@Example.com", { password: "pw", quota: "1G" });
    assert.equal(alice.address, "alice@example.com");
    assert.equal(alice.maildir, "example.com/alice/");
    assert.equal(alice.quota, 2 ** 30);
    assert.equal(alice.enabled, true);
    assert.equal(alice.passwordScheme, "ARGON2ID");
    assert.ok(!("password" in alice));
    await rejects(
      store.add("ALICE@example.com", { password: "x" }),
      "conflict",
      /user alice@example\.com exists/,
    );
    await rejects(store.add("bad address@example.com"), "invalid", /bad address/);
    await rejects(store.add("bob@example.com", { password: "" }), "invalid", /empty password/);
    await rejects(store.add("bob@example.com", { quota: "lots" }), "invalid", /bad quota/);
    assert.equal(await store.get("bob@example.com"), undefined); // nothing half-written
  });
});

Deno.test("get, list with domain filter and cursor pages, update, enable/disable, del", async () => {
  await withStore(async (store) => {
    await store.addDomain("a.test");
    await store.addDomain("b.test");
    for (const u of ["carol@a.test", "alice@a.test", "bob@b.test", "dave@a.test"]) {
      await store.add(u, { password: "pw" });
    }
    const all = await store.list();
    assert.deepEqual(all.users.map((u) => u.address), [
      "alice@a.test",
      "bob@b.test",
      "carol@a.test",
      "dave@a.test",
    ]);
    assert.equal(all.next, undefined);
    const page1 = await store.list({ domain: "A.test", limit: 2 });
    assert.deepEqual(page1.users.map((u) => u.address), ["alice@a.test", "carol@a.test"]);
    assert.equal(page1.next, "carol@a.test");
    const page2 = await store.list({ domain: "a.test", limit: 2, cursor: page1.next });
    assert.deepEqual(page2.users.map((u) => u.address), ["dave@a.test"]);
    assert.equal(page2.next, undefined);

    const q = await store.setQuota("bob@b.test", 5000);
    assert.equal(q.quota, 5000);
    assert.equal((await store.disable("bob@b.test")).enabled, false);
    assert.equal((await store.enable("bob@b.test")).enabled, true);
    await rejects(store.setQuota("nobody@b.test", 1), "not_found", /no such user nobody@b\.test/);
    await store.del("bob@b.test");
    assert.equal(await store.get("bob@b.test"), undefined);
    await rejects(store.del("bob@b.test"), "not_found", /no such user/);
  });
});

Deno.test("deleting a domain with users refuses unless forced; aliases stay", async () => {
  await withStore(async (store) => {
    await store.addDomain("a.test");
    await store.add("alice@a.test", { password: "pw" });
    await store.addAlias("@a.test", ["alice@a.test"]);
    await rejects(store.delDomain("a.test"), "conflict", /has 1 user\(s\)/);
    assert.equal((await store.listDomains())[0].users, 1);
    assert.deepEqual(await store.delDomain("a.test", { force: true }), { usersDeleted: 1 });
    assert.deepEqual(await store.listDomains(), []);
    assert.equal(await store.get("alice@a.test"), undefined);
    assert.equal((await store.listAliases()).length, 1);
    await rejects(store.delDomain("a.test"), "not_found", /no such domain a\.test/);
  });
});

Deno.test("aliases: catch-alls, loops allowed, targets validated, replace only when asked", async () => {
  await withStore(async (store) => {
    const a = await store.addAlias("Sales@Example.com", ["bob@x.test", "carol"]);
    assert.deepEqual(a.targets, ["bob@x.test", "carol"]);
    await store.addAlias("loop1@example.com", ["loop2@example.com"]);
    await store.addAlias("loop2@example.com", ["loop1@example.com"]); // rewrite detects loops
    await rejects(
      store.addAlias("x@example.com", ["not an address"]),
      "invalid",
      /bad alias target/,
    );
    await rejects(
      store.addAlias("sales@example.com", ["z@x.test"]),
      "conflict",
      /exists \(→ bob@x\.test, carol\)/,
    );
    const replaced = await store.addAlias("sales@example.com", ["z@x.test"], { replace: true });
    assert.deepEqual(replaced.targets, ["z@x.test"]);
    await store.addAlias("@other.test", ["z@x.test"]);
    assert.deepEqual((await store.listAliases({ domain: "example.com" })).map((x) => x.address), [
      "loop1@example.com",
      "loop2@example.com",
      "sales@example.com",
    ]);
    assert.deepEqual((await store.listAliases({ domain: "other.test" })).map((x) => x.address), [
      "@other.test",
    ]);
    await store.delAlias("SALES@example.com");
    await rejects(store.delAlias("sales@example.com"), "not_found", /no such alias/);
  });
});

Deno.test("a write that fails half-way leaves nothing: the transaction rolls back", async () => {
  await withStore(async (store, dir) => {
    await store.addDomain("a.test");
    await store.add("alice@a.test", { password: "pw" });
    // delDomain --force deletes the users, then the domain: make the second step fail.
    const other = new DatabaseSync(join(dir, "users.sqlite"));
    other.exec(`CREATE TRIGGER keep BEFORE DELETE ON domains
                BEGIN SELECT RAISE(ABORT, 'refused by the test'); END`);
    await assert.rejects(store.delDomain("a.test", { force: true }), /refused by the test/);
    assert.ok(await store.get("alice@a.test"), "the user deleted first is back");
    // A writer that cannot get the lock within busy_timeout fails cleanly too.
    other.exec("DROP TRIGGER keep");
    other.exec("BEGIN IMMEDIATE");
    const quick = openUsersStore(dir, { busyTimeoutMs: 50, hashParams: FAST_HASH });
    try {
      await assert.rejects(quick.addDomain("b.test"), /locked/);
    } finally {
      other.exec("ROLLBACK");
      other.close();
    }
    assert.deepEqual((await quick.listDomains()).map((d) => d.name), ["a.test"]);
    await quick.addDomain("b.test");
    quick.close();
  });
});

Deno.test("a change made through another connection is seen at once", async () => {
  await withStore(async (store, dir) => {
    const other = openUsersStore(dir, { hashParams: FAST_HASH });
    try {
      assert.equal(store.hasDomain("a.test"), false);
      await other.addDomain("a.test");
      assert.equal(store.hasDomain("a.test"), true);
      await other.add("alice@a.test", { password: "pw" });
      assert.equal(store.mailboxOf("alice@a.test"), "a.test/alice/");
      await other.disable("alice@a.test");
      assert.equal(store.mailboxOf("alice@a.test"), undefined);
    } finally {
      other.close();
    }
  });
});

Deno.test("the mailbox template and an explicit mailbox path", async () => {
  await withStore(async (store) => {
    await store.addDomain("a.test");
    assert.equal((await store.add("al@a.test", { maildir: "custom/al/" })).maildir, "custom/al/");
    await rejects(store.add("bo@a.test", { maildir: "../bo/" }), "invalid", /\.\./);
  }, {});
  await withStore(async (store) => {
    await store.addDomain("a.test");
    assert.equal((await store.add("al@a.test")).maildir, "a.test/al/Maildir/");
  }, { mailboxTemplate: "%d/%n/Maildir/" });
});
