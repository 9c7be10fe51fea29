import assert from "node:assert/strict";
import { openMap, parseAliasTargets } from "../../src/maps/mod.ts";
import { lookupAll, open, tempDir, writeTable } from "./_helpers.ts";

const ALIASES = [
  "# /etc/aliases",
  "postmaster: root",
  "Root:  admin ,  other@example.com",
  "list: a, b,",
  "   c,",
  "\td",
  '"quoted name": x',
  '"with:colon": y',
  'cmd: "|/usr/bin/foo bar", /var/log/file, :include:/etc/list',
  "spaced :  v1",
  "dup: first",
  "dup: second",
  "comment: x # not a comment",
  "Mixed Case: s",
  'parens: joe (Joe Doe), "Doe, Jane" <jane@x>',
  "esc\\,aped: b\\,c",
  "",
].join("\n");

Deno.test("aliases: name: value with continuation lines, quoting and case folding (postalias)", async () => {
  const dir = tempDir();
  const path = writeTable(dir, "aliases", ALIASES);
  for (const type of ["hash", "texthash"]) {
    const { table, warnings } = open(`${type}:${path}`, { aliases: true });
    assert.deepEqual(
      await lookupAll(table, [
        "postmaster",
        "ROOT",
        "list",
        "quoted name",
        '"quoted name"',
        "with:colon",
        "cmd",
        "spaced",
        "dup",
        "comment",
        "mixed case",
        "parens",
        "esc,aped",
      ]),
      {
        postmaster: "root",
        ROOT: "admin, other@example.com",
        list: "a, b, c, d",
        "quoted name": "x",
        '"quoted name"': undefined,
        "with:colon": "y",
        cmd: '"|/usr/bin/foo bar", /var/log/file, :include:/etc/list',
        spaced: "v1",
        dup: "first",
        comment: "x # not a comment",
        "mixed case": "s",
        parens: 'joe (Joe Doe), "Doe, Jane" <jane@x>',
        "esc,aped": '"b,c"',
      },
      type,
    );
    assert.deepEqual(warnings, [`${path}, line 12: duplicate entry: "dup"`]);
  }
});

Deno.test("aliases: a bad line is skipped with a warning naming file:line (postalias)", async () => {
  const dir = tempDir();
  const cases: [string, string][] = [
    ["a: b\nnocolon z\n", ":2: need name:value pair"],
    ["empty:\n", ":1: need name:value pair"],
    ["a, b: c\n", ":1: need name:value pair"],
    ["user@example.com: x\n", ":1: name must be local"],
    ['"open: x\n', `:1: unbalanced '"'`],
  ];
  for (const [text, message] of cases) {
    const path = writeTable(dir, "aliases", text + "ok: root\n");
    const { table, warnings } = open(`hash:${path}`, { aliases: true });
    assert.deepEqual(warnings, [`${path}${message} -- ignoring this line (table hash:${path})`]);
    assert.equal(await table.lookup("ok"), "root");
  }
});

Deno.test("aliases: regexp alias tables refuse $number substitution (aliases(5) SECURITY)", async () => {
  const dir = tempDir();
  const path = writeTable(dir, "aliases.re", "/^(.*)-list$/ $1\n");
  const { table, warnings } = open(`regexp:${path}`, { aliases: true });
  assert.match(
    warnings[0],
    /:1: regular expression substitution is not allowed: skipping this rule/,
  );
  assert.equal(await table.lookup("x-list"), undefined);
  assert.equal(await openMap(`regexp:${path}`).lookup("x-list"), "x");
});

Deno.test("parseAliasTargets: classifies addresses, files, commands and includes", () => {
  assert.deepEqual(
    parseAliasTargets(
      'root, "|/usr/bin/foo bar", /var/log/file, :include:/etc/list, ' +
        'joe (Joe Doe), "Doe, Jane" <jane@example.com>, |exit 67, ~/Mail/inbox, :INCLUDE:/x',
    ),
    [
      { kind: "address", value: "root" },
      { kind: "command", value: "/usr/bin/foo bar" },
      { kind: "file", value: "/var/log/file" },
      { kind: "include", value: "/etc/list" },
      { kind: "address", value: "joe" },
      { kind: "address", value: "jane@example.com" },
      { kind: "command", value: "exit" },
      { kind: "address", value: "67" },
      { kind: "file", value: "~/Mail/inbox" },
      { kind: "include", value: "/x" },
    ],
  );
});

Deno.test("parseAliasTargets: quoting, missing commas and empty input", () => {
  assert.deepEqual(parseAliasTargets(""), []);
  assert.deepEqual(parseAliasTargets(" , ,"), []);
  assert.deepEqual(parseAliasTargets("a b\tc"), [
    { kind: "address", value: "a" },
    { kind: "address", value: "b" },
    { kind: "address", value: "c" },
  ]);
  assert.deepEqual(parseAliasTargets('"john doe"@example.com, first.last@example.com'), [
    { kind: "address", value: "john doe@example.com" },
    { kind: "address", value: "first.last@example.com" },
  ]);
  assert.deepEqual(parseAliasTargets('"/path/with space", "a\\"b"'), [
    { kind: "file", value: "/path/with space" },
    { kind: "address", value: 'a"b' },
  ]);
  assert.deepEqual(parseAliasTargets("John Doe <john@example.com>"), [
    { kind: "address", value: "john@example.com" },
  ]);
});
