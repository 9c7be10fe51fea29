// The facteur: tables behind virtual_mailbox_maps, virtual_mailbox_domains and
// virtual_alias_maps, asked the way the rewriter asks (virtual(5), virtual(8) search orders).
import assert from "node:assert/strict";
import { join } from "node:path";
import { Config } from "../../src/config/mod.ts";
import { addressKeys, openMap, searchTables } from "../../src/maps/mod.ts";
import { Rewriter } from "../../src/rewrite/mod.ts";
import { openFacteurMap, type UsersStore } from "../../src/users/mod.ts";
import { closeSharedUsersStores } from "../../src/users/shared.ts";
import { FAST_HASH, withStore } from "./helpers.ts";
import { openUsersStore } from "../../src/users/mod.ts";

async function fill(store: UsersStore) {
  await store.addDomain("example.com");
  await store.add("alice@example.com", { password: "pw" });
  await store.add("jörg@example.com", { password: "pw" });
  await store.add("off@example.com", { password: "pw", enabled: false });
  await store.addAlias("sales@example.com", ["alice@example.com", "bob@remote.test"]);
  await store.addAlias("@alias.test", ["alice@example.com"]);
}

Deno.test("each table answers its keys, exact and case-folded, nothing else", async () => {
  await withStore(async (store) => {
    await fill(store);
    const users = openFacteurMap("facteur:users", "users", { store });
    const domains = openFacteurMap("facteur:domains", "domains", { store });
    const aliases = openFacteurMap("facteur:aliases", "aliases", { store });
    assert.equal(users.pattern, false);
    assert.equal(await users.lookup("Alice@Example.COM"), "example.com/alice/");
    assert.equal(await users.lookup("JÖRG@example.com"), "example.com/jörg/");
    assert.equal(await users.lookup("off@example.com"), undefined, "disabled: no mailbox");
    assert.equal(await users.lookup("alice"), undefined, "no bare local parts");
    assert.equal(await users.lookup("@example.com"), undefined, "no catch-all mailbox");
    assert.equal(await users.lookup("example.com"), "example.com", "for virtual_mailbox_domains");
    assert.equal(await domains.lookup("EXAMPLE.com"), "example.com");
    assert.equal(await domains.lookup("sub.example.com"), undefined, "no parent matching");
    assert.equal(await domains.lookup("alice@example.com"), undefined);
    assert.equal(await aliases.lookup("Sales@example.com"), "alice@example.com, bob@remote.test");
    assert.equal(await aliases.lookup("@alias.test"), "alice@example.com");
    assert.equal(await aliases.lookup("sales"), undefined);
  });
});

Deno.test("search orders: user+ext@domain falls back to user@domain, then @domain", async () => {
  await withStore(async (store) => {
    await fill(store);
    const users = openFacteurMap("facteur:users", "users", { store });
    const aliases = openFacteurMap("facteur:aliases", "aliases", { store });
    const opts = { recipientDelimiter: "+" };
    const mailbox = await searchTables([users], addressKeys("alice+news@example.com", opts));
    assert.equal(mailbox?.value, "example.com/alice/");
    assert.equal(mailbox?.key.extension, "+news");
    const alias = await searchTables([aliases], addressKeys("anyone@alias.test", opts));
    assert.equal(alias?.key.key, "@alias.test");
    assert.equal(await searchTables([users], addressKeys("nobody@example.com", opts)), undefined);
  });
});

Deno.test("the rewriter classifies, finds mailboxes and expands aliases through the tables", async () => {
  await withStore(async (store) => {
    await fill(store);
    const config = new Config({
      myhostname: "mail.example.net",
      mydestination: "localhost",
      virtual_mailbox_domains: "facteur:domains",
      virtual_mailbox_maps: "facteur:users",
      virtual_alias_domains: "alias.test",
      virtual_alias_maps: "facteur:aliases",
      recipient_delimiter: "+",
    });
    const openTable = (spec: string) =>
      spec.startsWith("facteur:")
        ? openFacteurMap(spec, spec.slice("facteur:".length), { store })
        : openMap(spec);
    const rewrite = new Rewriter(config, { openTable });
    assert.equal(await rewrite.domainClass("example.com"), "virtual_mailbox");
    assert.equal(await rewrite.domainClass("alias.test"), "virtual_alias");
    assert.equal(await rewrite.domainClass("elsewhere.test"), "default");
    assert.equal(await rewrite.findVirtualMailbox("alice+x@example.com"), "example.com/alice/");
    assert.equal(await rewrite.checkRecipient("alice@example.com"), undefined);
    assert.match(
      String((await rewrite.checkRecipient("nobody@example.com"))?.reply),
      /^550 5\.1\.1/,
    );
    const expanded = await rewrite.expandVirtualAliases([{ address: "sales@example.com" }]);
    assert.deepEqual(expanded.map((r) => r.address), ["alice@example.com", "bob@remote.test"]);
    // A user added after the rewriter was built is found at once.
    await store.add("late@example.com", { password: "pw" });
    assert.equal(await rewrite.findVirtualMailbox("late@example.com"), "example.com/late/");
    // An alias loop is the rewriter's to refuse (451 4.6.0), not the table's.
    await store.addAlias("l1@example.com", ["l2@example.com"]);
    await store.addAlias("l2@example.com", ["l1@example.com"]);
    await assert.rejects(
      rewrite.expandVirtualAliases([{ address: "l1@example.com" }]),
      /Alias expansion error/,
    );
  });
});

Deno.test("data_directory tables share one store and see another process's writes", async () => {
  await withStore(async (_unused, dir) => {
    try {
      const users = openFacteurMap("facteur:users", "users", { dataDirectory: dir });
      assert.equal(await users.lookup("carl@example.com"), undefined);
      const writer = openUsersStore(dir, { hashParams: FAST_HASH }); // as the CLI would
      await writer.addDomain("example.com");
      await writer.add("carl@example.com", { password: "pw" });
      writer.close();
      assert.equal(await users.lookup("carl@example.com"), "example.com/carl/");
    } finally {
      closeSharedUsersStores();
    }
  });
});

Deno.test("unknown table names and unusable databases are named", async () => {
  assert.throws(
    () => openFacteurMap("facteur:people", "people", { dataDirectory: "/tmp" }),
    /unknown facteur table "people" \(facteur:users, facteur:domains, facteur:aliases\)/,
  );
  // users.sqlite that cannot be opened: the lookup fails (temporarily, upstream) and says which table.
  const dir = await Deno.makeTempDir({ prefix: "facteur-baddb-" });
  await Deno.mkdir(join(dir, "users.sqlite"));
  const table = openFacteurMap("facteur:users", "users", { dataDirectory: dir });
  await assert.rejects(table.lookup("a@b.test"), /table facteur:users/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("facteur: tables before the first start (no data directory yet): nothing found, no error", async () => {
  const missing = join(await Deno.makeTempDir({ prefix: "facteur-nodata-" }), "data");
  for (const name of ["users", "domains", "aliases"]) {
    const table = openFacteurMap(`facteur:${name}`, name, { dataDirectory: missing });
    assert.equal(await table.lookup("postmaster@example.test"), undefined);
    assert.equal(await table.lookup("example.test"), undefined);
  }
  await assert.rejects(Deno.stat(missing), Deno.errors.NotFound, "nothing created");
});
