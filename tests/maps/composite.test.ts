// unionmap: and pipemap: (postconf(5), DATABASE_README; dict_union.c, dict_pipe.c).
import assert from "node:assert/strict";
import { openMap } from "../../src/maps/mod.ts";
import { assertConfigError, lookupAll, tempDir, writeTable } from "./_helpers.ts";

Deno.test("unionmap: every table's result, joined with commas; nothing anywhere is not found", async () => {
  const t = openMap("unionmap:{inline:{a=1, b=2}, inline:{a=3}, static:{ all }}");
  assert.deepEqual(await lookupAll(t, ["a", "B", "zz"]), { a: "1,3,all", B: "2,all", zz: "all" });
  const none = openMap("unionmap:{ inline:{a=1}  inline:{b=2} }");
  assert.equal(await none.lookup("c"), undefined);
  assert.equal(none.pattern, false);
});

Deno.test("pipemap: each result is the next table's key; a miss anywhere is not found", async () => {
  const dir = tempDir();
  const path = writeTable(dir, "users", "Joe@Example.COM joe\n");
  const t = openMap(
    `pipemap:{hash:${path}, inline:{joe=/home/joe}, regexp:{{/^\\/home\\/(.*)$/ mailbox:$1}}}`,
  );
  assert.equal(await t.lookup("joe@example.com"), "mailbox:joe");
  assert.equal(await t.lookup("JOE@EXAMPLE.COM"), "mailbox:joe");
  assert.equal(await t.lookup("ann@example.com"), undefined);
  assert.equal(await openMap("pipemap:{inline:{a=b}, inline:{c=d}}").lookup("a"), undefined);
});

Deno.test("composites: the first table decides pattern vs fixed keys; a fixed one folds the key for all", async () => {
  const re = openMap("unionmap:{regexp:{{/^(J)oe/ $1}}, inline:{joe=x}}");
  assert.equal(re.pattern, true);
  assert.equal(await re.lookup("Joe"), "J,x", "postmap -q: the inline member folds its own key");
  const fixed = openMap("unionmap:{inline:{x=1}, regexp:{{/^(J)oe/ $1}}}");
  assert.equal(fixed.pattern, false);
  assert.equal(await fixed.lookup("JOE"), "j", "postmap -q gives j: the key is folded first");
});

Deno.test("composites: a member's error is the lookup's error", async () => {
  const t = openMap("unionmap:{inline:{a=1}, regexp:{{/^a/ $$}}, regexp:{{/(x)?a/ $1}}}");
  await assert.rejects(() => t.lookup("a"), /returns an empty string result/);
});

Deno.test("composites: syntax errors in Postfix's words; proxy: prefixes are accepted", async () => {
  for (const kind of ["unionmap", "pipemap"]) {
    for (const bad of ["{}", "inline:{a=1}", "{inline:{a=1}", "{ a b }"]) {
      assertConfigError(
        () => openMap(`${kind}:${bad}`),
        `bad syntax: "${kind}:${bad}"; need "${kind}:{type:name...}" (table ${kind}:${bad})`,
      );
    }
  }
  assertConfigError(
    () => openMap("unionmap:{inline:{a=1}, ldap:/x.cf}"),
    /"ldap" is not supported yet/,
  );
  const proxied = openMap("proxy:unionmap:{proxy:inline:{a=1}, proxy:static:2}");
  assert.equal(await proxied.lookup("A"), "1,2");
  const passwd = openMap("proxy:unix:passwd.byname");
  assert.match((await passwd.lookup("root")) ?? "", /^root:[^:]*:0:0:/);
});
