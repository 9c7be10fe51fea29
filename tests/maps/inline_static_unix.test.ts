import assert from "node:assert/strict";
import { openMap, parseMapList } from "../../src/maps/mod.ts";
import { parseAccountFile } from "../../src/maps/unix.ts";
import { assertConfigError, lookupAll, tempDir, writeTable } from "./_helpers.ts";

Deno.test("inline: key=value pairs, braces for values with spaces or commas, keys folded", async () => {
  const table = openMap("inline:{ A=1, b=2 c=3,{ d = text with spaces, and a comma },{e={x} y} }");
  assert.deepEqual(await lookupAll(table, ["a", "A", "b", "c", "d", "e", "f", ""]), {
    a: "1",
    A: "1",
    b: "2",
    c: "3",
    d: "text with spaces, and a comma",
    e: "{x} y",
    f: undefined,
    "": undefined,
  });
  assert.equal(await openMap("inline:{a=1, a=2}").lookup("a"), "2", "a later duplicate replaces");
  assert.equal(
    await openMap("inline:{=1}").lookup(""),
    "1",
    "the empty key is a key like any other",
  );
});

Deno.test("inline: syntax errors", () => {
  const need = '; need "inline:{name=value...}" (table ';
  assertConfigError(() => openMap("inline:{}"), `empty table${need}inline:{})`);
  assertConfigError(() => openMap("inline:a=1"), `missing '{' in "a=1"${need}inline:a=1)`);
  assertConfigError(() => openMap("inline:{a=1"), `missing '}' in "{a=1"${need}inline:{a=1)`);
  assertConfigError(
    () => openMap("inline:{a=1}x"),
    `syntax error after '}' in "{a=1}x"${need}inline:{a=1}x)`,
  );
  assertConfigError(
    () => openMap("inline:{a}"),
    `missing '=' after attribute name: "a"${need}inline:{a})`,
  );
  assertConfigError(
    () => openMap("inline:{ a = 1 }"),
    `missing '=' after attribute name: "a"${need}inline:{ a = 1 })`,
  );
  assertConfigError(() => openMap("inline:{ {a=1}x }"), /syntax error after '}' in "\{a=1\}x"/);
  assertConfigError(() => openMap("inline:{a=}"), /empty value for "a"/);
});

Deno.test("static: always the same value, braces allow spaces", async () => {
  assert.equal(await openMap("static:OK").lookup("anything"), "OK");
  assert.equal(await openMap("static:{ text with spaces }").lookup(""), "text with spaces");
  assert.equal(await openMap("static:{ { a } }").lookup("x"), "{ a }");
  assertConfigError(() => openMap("static:{a}b"), /bad static:name syntax: syntax error after '}'/);
  assertConfigError(() => openMap("static:{}"), /static: table needs a value/);
  assertConfigError(() => openMap("static:"), /expecting "type:name" form instead of "static:"/);
});

Deno.test("unix:passwd.byname returns the passwd entry, as getpwnam() gives it to Postfix", async () => {
  const table = openMap("unix:passwd.byname");
  const line = Deno.readTextFileSync("/etc/passwd").split("\n").find((l) => l.startsWith("root:"));
  assert.equal(await table.lookup("root"), line);
  assert.equal(await table.lookup("ROOT"), line);
  assert.equal(await table.lookup("no-such-user-here"), undefined);
  assert.ok(await openMap("unix:group.byname").lookup("root"));
  assertConfigError(() => openMap("unix:passwd.byuid"), /unknown unix: table "passwd.byuid"/);
});

Deno.test("unix: account file parsing keeps the first entry and skips NIS and comment lines", () => {
  const entries = parseAccountFile(
    "# c\nalice:x:1000:1000:Alice,,,:/home/alice:/bin/sh\n+nis::0:0:::\nalice:x:1:1::/:/bin/false\nbad:line\n",
    7,
  );
  assert.deepEqual([...entries], [["alice", "alice:x:1000:1000:Alice,,,:/home/alice:/bin/sh"]]);
});

Deno.test("unknown and malformed specs", () => {
  assertConfigError(
    () => openMap("ldap:/etc/postfix/ldap.cf"),
    /^lookup table type "ldap" is not supported yet by facteur \(supported: hash, btree, lmdb, .*texthash, inline, static, regexp, pcre, cidr, unionmap, pipemap, sqlite, unix, proxy\) \(table ldap:\/etc\/postfix\/ldap.cf\)$/,
  );
  assertConfigError(
    () => openMap("proxy:mysql:/etc/x.cf"),
    /lookup table type "mysql" is not supported/,
  );
  for (const kind of ["mysql", "pgsql", "memcache", "socketmap", "tcp", "nis"]) {
    assertConfigError(
      () => openMap(`${kind}:/etc/postfix/x.cf`),
      new RegExp(`^lookup table type "${kind}" is not supported yet by facteur`),
    );
  }
  assertConfigError(
    () => openMap("nosuch:/x"),
    /^lookup table type "nosuch" is not supported: no such type/,
  );
  assertConfigError(() => openMap("/etc/postfix/access"), /expecting "type:name" form/);
  assertConfigError(() => openMap("hash:"), /expecting "type:name" form/);
});

Deno.test("parseMapList: several specs per value, braces keep a spec together", async () => {
  const dir = tempDir();
  const path = writeTable(dir, "t", "k v\n");
  const tables = parseMapList([`hash:${path}, inline:{ a=1, b=2 }`, "static:{ x y }"], {
    baseDir: dir,
  });
  assert.deepEqual(tables.map((t) => t.spec), [
    `hash:${path}`,
    "inline:{ a=1, b=2 }",
    "static:{ x y }",
  ]);
  assert.equal(await tables[1].lookup("b"), "2");
  assert.deepEqual(parseMapList([]), []);
});
