import assert from "node:assert/strict";
import { ConfigError } from "../../src/errors.ts";
import { openMap } from "../../src/maps/mod.ts";
import { logicalLines } from "../../src/maps/lines.ts";
import { lookupAll, open, tempDir, writeTable } from "./_helpers.ts";

Deno.test("logical lines: comments and blank lines are transparent, continuations keep their white space", () => {
  const lines = logicalLines("a 1\n# c\n\n  b\n\tc\nd 2\r\n   # indented comment\n");
  assert.deepEqual(lines, [
    { text: "a 1  b\tc", line: 1, orphan: false },
    { text: "d 2\r", line: 6, orphan: false },
  ]);
  assert.deepEqual(logicalLines("  lost\nx y"), [
    { text: "  lost", line: 1, orphan: true },
    { text: "x y", line: 2, orphan: false },
  ]);
});

Deno.test("hash: reads the postmap source directly, folds keys, trims values", async () => {
  const dir = tempDir();
  const path = writeTable(
    dir,
    "access",
    [
      "# comment",
      "Example.COM\tREJECT  no thanks  ",
      "user@example.net OK",
      "multi first part",
      "  second part",
      "\tthird part",
      "hash#key value # not a comment",
      '"with space" quoted',
      "",
    ].join("\n"),
  );
  const { table, warnings } = open(`hash:${path}`);
  assert.equal(table.spec, `hash:${path}`);
  assert.equal(table.pattern, false);
  assert.deepEqual(
    await lookupAll(table, [
      "example.com",
      "EXAMPLE.com",
      "USER@Example.NET",
      "multi",
      "hash#key",
      '"with space"',
      "with space",
      "# comment",
      "missing",
      "",
    ]),
    {
      "example.com": "REJECT  no thanks",
      "EXAMPLE.com": "REJECT  no thanks",
      "USER@Example.NET": "OK",
      multi: "first part  second part\tthird part",
      "hash#key": "value # not a comment",
      '"with space"': "quoted",
      "with space": undefined,
      "# comment": undefined,
      missing: undefined,
      "": undefined,
    },
  );
  assert.deepEqual(warnings, []);
});

Deno.test("hash: the first of duplicate keys wins and the duplicate is reported", async () => {
  const dir = tempDir();
  const path = writeTable(dir, "t", "Key first\nkey second\nalias: x\n");
  const { table, warnings } = open(`hash:${path}`);
  assert.equal(await table.lookup("key"), "first");
  assert.deepEqual(warnings, [
    `${path}, line 2: duplicate entry: "key"`,
    `${path}, line 3: record is in "key: value" format; is this an alias file?`,
  ]);
});

Deno.test("btree:, lmdb:, cdb: and proxy:hash: read the same source as hash:", async () => {
  const dir = tempDir();
  const path = writeTable(dir, "t", "k v\n");
  for (const type of ["btree", "lmdb", "cdb", "proxy:hash", "proxy:btree"]) {
    assert.equal(await openMap(`${type}:${path}`).lookup("K"), "v", type);
  }
});

Deno.test("hash: a bad line is skipped with a warning naming file:line (postmap: -- ignoring this line)", async () => {
  const dir = tempDir();
  const cases: [string, string][] = [
    ["ok value\nkeyonly\n", ":2: expected format: key whitespace value"],
    ["ok value\n\n# c\nkey   \n", ":4: expected format: key whitespace value"],
    ['ok value\n"unbalanced value\n', `:2: unbalanced '"' in '"unbalanced value'`],
    ["  leading\nok value\n", ":1: logical line must not start with whitespace"],
  ];
  for (const [text, message] of cases) {
    const path = writeTable(dir, "bad", text);
    const { table, warnings } = open(`hash:${path}`);
    assert.deepEqual(warnings, [
      `${path}${message} -- ignoring this line (table hash:${path})`,
    ]);
    assert.equal(await table.lookup("ok"), "value");
  }
});

Deno.test("hash: a reload with a bad line is refused whole; the loaded version stays in use", async () => {
  const dir = tempDir();
  const path = writeTable(dir, "t", "a 1\nb 2\n");
  const { table, warnings } = open(`hash:${path}`, { reloadIntervalMs: 0 });
  assert.equal(await table.lookup("a"), "1");
  Deno.writeTextFileSync(path, "a 10\nbroken\nb 20\n");
  assert.equal(await table.lookup("a"), "1");
  assert.equal(await table.lookup("b"), "2");
  assert.equal(warnings.length, 1, warnings.join("\n"));
  assert.match(
    warnings[0],
    new RegExp(`keeping the previous contents: ${path}:2: expected format: key whitespace value`),
  );
  Deno.writeTextFileSync(path, "a 100\n");
  assert.equal(await table.lookup("a"), "100");
  assert.equal(await table.lookup("b"), undefined);
});

Deno.test("hash: a missing file is an error naming the spec and the path", () => {
  const path = `${tempDir()}/does-not-exist`;
  assert.throws(
    () => openMap(`hash:${path}`),
    new ConfigError(`open ${path}: No such file or directory (table hash:${path})`),
  );
  assert.throws(() => openMap(`texthash:${path}`), /open .*does-not-exist: No such file/);
});

Deno.test("hash: relative paths are resolved against baseDir", async () => {
  const dir = tempDir();
  writeTable(dir, "relative", "k v\n");
  assert.equal(await openMap("hash:relative", { baseDir: dir }).lookup("k"), "v");
});

Deno.test("hash: a changed file is re-read on lookup", async () => {
  const dir = tempDir();
  const path = writeTable(dir, "t", "a 1\n");
  const { table, warnings } = open(`hash:${path}`, { reloadIntervalMs: 0 });
  assert.equal(await table.lookup("a"), "1");
  Deno.writeTextFileSync(path, "a 22\nb 3\n");
  assert.equal(await table.lookup("a"), "22");
  assert.equal(await table.lookup("b"), "3");

  // A broken new version is reported once and the previous contents stay in use.
  Deno.writeTextFileSync(path, "a 22\nbroken\n");
  assert.equal(await table.lookup("b"), "3");
  assert.equal(await table.lookup("b"), "3");
  assert.equal(warnings.length, 1);
  assert.match(
    warnings[0],
    /keeping the previous contents: .*:2: expected format: key whitespace value/,
  );

  Deno.writeTextFileSync(path, "c 4\n");
  assert.equal(await table.lookup("b"), undefined);
  assert.equal(await table.lookup("c"), "4");

  // A deleted file: keep serving, say so once.
  Deno.removeSync(path);
  assert.equal(await table.lookup("c"), "4");
  assert.equal(await table.lookup("c"), "4");
  assert.equal(warnings.length, 2);
  assert.match(warnings[1], /No such file or directory/);
});

Deno.test("hash: the file is checked at most once per interval (default one second)", async () => {
  const dir = tempDir();
  // A long interval: a change is not looked for until it has passed.
  const slow = writeTable(dir, "slow", "a 1\n");
  const slowTable = openMap(`hash:${slow}`, { reloadIntervalMs: 60_000 });
  Deno.writeTextFileSync(slow, "a 2\n");
  assert.equal(await slowTable.lookup("a"), "1", "not checked again within the interval");
  // A short one: after it, the change is seen.
  const fast = writeTable(dir, "fast", "a 1\n");
  const fastTable = openMap(`hash:${fast}`, { reloadIntervalMs: 100 });
  Deno.writeTextFileSync(fast, "a 2\n");
  await new Promise((r) => setTimeout(r, 150));
  assert.equal(await fastTable.lookup("a"), "2");
  // The default interval is Postfix's one second.
  const dflt = writeTable(dir, "default", "a 1\n");
  const dfltTable = openMap(`hash:${dflt}`);
  await new Promise((r) => setTimeout(r, 1100));
  Deno.writeTextFileSync(dflt, "a 2\n");
  await new Promise((r) => setTimeout(r, 1100));
  assert.equal(await dfltTable.lookup("a"), "2");
});

Deno.test("texthash: reloaded when the file changes, like hash (issue 5)", async () => {
  const dir = tempDir();
  const path = writeTable(dir, "t", "A 1\n");
  const table = openMap(`texthash:${path}`, { reloadIntervalMs: 0 });
  assert.equal(await table.lookup("a"), "1");
  Deno.writeTextFileSync(path, "a 2\n");
  assert.equal(await table.lookup("a"), "2");
});
