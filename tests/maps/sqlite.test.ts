// sqlite: tables (sqlite_table(5)); the same behaviour is compared with Postfix in postmap_kinds.test.ts.
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { MailError } from "../../src/errors.ts";
import { parseTemplate } from "../../src/maps/db_template.ts";
import { openMap } from "../../src/maps/mod.ts";
import { compileQuery } from "../../src/maps/sqlite.ts";
import { assertConfigError, lookupAll, open, tempDir, writeTable } from "./_helpers.ts";

function database(): string {
  const dir = tempDir();
  const db = new DatabaseSync(`${dir}/db.sqlite`);
  db.exec(`
    CREATE TABLE alias (k TEXT, v TEXT);
    INSERT INTO alias VALUES ('joe@example.com', 'joe@mail.example.org'),
      ('joe@example.com', 'joseph@other.test'), ('joe', 'local'), ('empty', ''),
      ('com', 'tld'), ('secret', 'do-not-leak');
  `);
  db.close();
  return dir;
}

function cf(dir: string, lines: string[]): string {
  return `sqlite:${
    writeTable(dir, `t${Math.random()}.cf`, [`dbpath = ${dir}/db.sqlite`, ...lines].join("\n"))
  }`;
}

Deno.test("sqlite: every row's first column, joined with commas; the key is folded to lower case", async () => {
  const dir = database();
  const { table, warnings } = open(
    cf(dir, ["query = SELECT v, 'ignored' FROM alias WHERE k='%s'"]),
  );
  assert.deepEqual(await lookupAll(table, ["JOE@Example.com", "joe", "nobody", "empty"]), {
    "JOE@Example.com": "joe@mail.example.org,joseph@other.test",
    joe: "local",
    nobody: undefined,
    empty: undefined,
  });
  assert.deepEqual(warnings, [
    `table "${table.spec}": empty lookup result for: "empty" -- ignored`,
  ]);
  table.close?.();
});

Deno.test("sqlite: the key is bound, never SQL text: quotes and injection attempts are plain keys", async () => {
  const dir = database();
  const table = openMap(cf(dir, ["query = SELECT v FROM alias WHERE k='%s'"]));
  assert.equal(await table.lookup("' OR '1'='1"), undefined);
  assert.equal(await table.lookup("x'; DROP TABLE alias; --"), undefined);
  assert.equal(await table.lookup("joe"), "local");
  assert.equal(
    compileQuery(
      parseTemplate(
        "SELECT v FROM t WHERE k='%u@%d' AND n='it''s' AND m=%s AND p='100%%'",
        "query",
      ),
    ),
    "SELECT v FROM t WHERE k=(? || '@' || ?) AND n='it''s' AND m=? AND p='100%'",
  );
  assert.throws(
    () => compileQuery(parseTemplate('SELECT "%s" FROM t', "query")),
    /quoted identifier/,
  );
});

Deno.test("sqlite: %u %d %1 need an address of that shape, else the query is suppressed", async () => {
  const dir = database();
  const parts = openMap(cf(dir, ["query = SELECT v FROM alias WHERE k='%u@%d'"]));
  assert.deepEqual(await lookupAll(parts, ["joe@example.com", "joe", "@example.com", "joe@"]), {
    "joe@example.com": "joe@mail.example.org,joseph@other.test",
    joe: undefined,
    "@example.com": undefined,
    "joe@": undefined,
  });
  const user = openMap(cf(dir, ["query = SELECT v FROM alias WHERE k='%u'"]));
  assert.equal(await user.lookup("joe"), "local", "no @: %u is the whole key");
  assert.equal(await user.lookup("joe@anywhere"), "local");
  const label = openMap(cf(dir, ["query = SELECT v FROM alias WHERE k='%1'"]));
  assert.deepEqual(await lookupAll(label, ["a@x.com", "com", "a@com.", "a@example..com"]), {
    "a@x.com": "tld",
    com: undefined,
    "a@com.": undefined,
    "a@example..com": "tld",
  });
});

Deno.test("sqlite: result_format, domain and expansion_limit", async () => {
  const dir = database();
  const fmt = openMap(cf(dir, [
    "query = SELECT v FROM alias WHERE k='%s'",
    "result_format = smtp:[%d] for %U",
  ]));
  assert.equal(
    await fmt.lookup("joe@example.com"),
    "smtp:[mail.example.org] for joe,smtp:[other.test] for joe",
  );
  assert.equal(await fmt.lookup("joe"), undefined, "%d of an unqualified result: skipped");
  const domain = openMap(cf(dir, [
    "query = SELECT v FROM alias WHERE k='%s'",
    "domain = other.test, inline:{ {example.com = yes} }",
  ]));
  assert.deepEqual(
    await lookupAll(domain, ["joe@example.com", "joe", "@example.com", "joe@else.test"]),
    {
      "joe@example.com": "joe@mail.example.org,joseph@other.test",
      joe: undefined,
      "@example.com": undefined,
      "joe@else.test": undefined,
    },
  );
  const limited = open(
    cf(dir, ["query = SELECT v FROM alias WHERE k='%s'", "expansion_limit = 1"]),
  );
  assert.equal(await limited.table.lookup("joe"), "local");
  await assert.rejects(
    () => limited.table.lookup("joe@example.com"),
    (err: unknown) => err instanceof MailError && err.temporary && err.enhanced === "4.3.0",
  );
  const legacy = openMap(
    cf(dir, [
      "select_field = v",
      "table = alias",
      "where_field = k",
      "additional_conditions = AND v <> 'local'",
    ]),
  );
  assert.equal(await legacy.lookup("joe"), undefined);
  assert.equal(await legacy.lookup("com"), "tld");
});

Deno.test("sqlite: configuration errors name the .cf file; the database is opened read-only", async () => {
  const dir = database();
  assertConfigError(
    () => openMap(`sqlite:${writeTable(dir, "a.cf", "query = SELECT 1\n")}`),
    /bad string length 0 < 1: dbpath/,
  );
  assertConfigError(
    () => openMap(cf(dir, ["query = SELECT v FROM alias WHERE k='%x'"])),
    /invalid query template .*unknown "%x"/,
  );
  assertConfigError(
    () => openMap(cf(dir, ["query = SELECT v FROM nosuch WHERE k='%s'"])),
    /SQL prepare failed: no such table: nosuch/,
  );
  assertConfigError(() => openMap(cf(dir, ["select_field = v"])), /'table' parameter not defined/);
  assertConfigError(
    () => openMap(cf(dir, ["query = SELECT 1", "bad line"])),
    /:3: missing '=' after attribute name/,
  );
  assertConfigError(
    () => openMap(cf(dir, ["query = SELECT 1", "expansion_limit = many"])),
    /expansion_limit = many/,
  );
  const writer = openMap(cf(dir, ["query = DELETE FROM alias WHERE k='%s' RETURNING v"]));
  await assert.rejects(() => writer.lookup("secret"), /readonly/);
  assert.equal(
    await openMap(cf(dir, ["query = SELECT v FROM alias WHERE k='%s'"])).lookup("secret"),
    "do-not-leak",
  );
});
