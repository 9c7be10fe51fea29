import assert from "node:assert/strict";
import { ConfigError } from "../../src/errors.ts";
import { openMap } from "../../src/maps/mod.ts";
import { assertConfigError, lookupAll, open, tempDir, writeTable } from "./_helpers.ts";

function table(type: "regexp" | "pcre", rules: string) {
  const path = writeTable(tempDir(), `t.${type}`, rules);
  return { path, table: openMap(`${type}:${path}`) };
}

Deno.test("regexp: first match wins, case-insensitive by default, key used as is", async () => {
  const { table: t } = table(
    "regexp",
    [
      "# access map",
      "/[%!@].*[%!@]/       550 Sender-specified routing rejected",
      "/^postmaster@/       OK",
      "/^Case@/i            case-sensitive",
      "/^(.*)-outgoing@(.*)$/  550 Use ${1}@$(2) instead $$5",
      "/^multi$/",
      "  a result on",
      "  two lines",
      "",
    ].join("\n"),
  );
  assert.equal(t.pattern, true);
  assert.deepEqual(
    await lookupAll(t, [
      "a@b@c",
      "POSTMASTER@example.com",
      "Case@x",
      "case@x",
      "List-outgoing@Example.COM",
      "multi",
      "other",
    ]),
    {
      "a@b@c": "550 Sender-specified routing rejected",
      "POSTMASTER@example.com": "OK",
      "Case@x": "case-sensitive",
      "case@x": undefined,
      "List-outgoing@Example.COM": "550 Use List@Example.COM instead $5",
      multi: "a result on  two lines",
      other: undefined,
    },
  );
});

Deno.test("regexp: if/endif (nested, negated), !/pattern/ and /a/!/b/", async () => {
  const { table: t } = table(
    "regexp",
    [
      "if !/^owner-/",
      "/^(.*)-outgoing@(.*)$/ 550 Use $1@$2 instead",
      "if /@example\\.com$/",
      "/^a/ inner-a",
      "endif",
      "/^b/ outer-b",
      "ENDIF",
      "/^x/!/y@/  x-but-not-y",
      "!/@/ no-at-sign",
      "",
    ].join("\n"),
  );
  assert.deepEqual(
    await lookupAll(t, [
      "list-outgoing@example.org",
      "owner-list-outgoing@example.org",
      "a@example.com",
      "a@example.org",
      "owner-a@example.com",
      "b@example.org",
      "xz@h",
      "xy@h",
      "plain",
    ]),
    {
      "list-outgoing@example.org": "550 Use list@example.org instead",
      "owner-list-outgoing@example.org": undefined,
      "a@example.com": "inner-a",
      "a@example.org": undefined,
      "owner-a@example.com": undefined,
      "b@example.org": "outer-b",
      "xz@h": "x-but-not-y",
      "xy@h": undefined,
      plain: "no-at-sign",
    },
  );
});

Deno.test("regexp: POSIX syntax is translated (brackets, classes, intervals, GNU escapes, BRE)", async () => {
  const { table: t } = table(
    "regexp",
    [
      "/^brk:[]x]$/ bracket-close",
      "/^bs:[\\]$/ bracket-backslash",
      "/^cls:[[:digit:][:upper:]]{2,3}$/ class",
      "/^neg:[^[:alpha:]]$/ negated",
      "/^w:\\w+\\>/ word",
      "/^dot:.$/ dot-any",
      "|^delim:a/b|  other-delimiter",
      "/^esc:a\\/b$/ escaped-delimiter",
      "/^alt:(ab|a)(bc|c)?$/ alt $1-$2",
      "/^bre:\\(a\\)\\{2\\}+?$/x bre $1",
      "/^ml:a$/m multiline",
      "/^star:a**$/ double-star",
      "",
    ].join("\n"),
  );
  assert.deepEqual(
    await lookupAll(t, [
      "brk:]",
      "brk:x",
      "bs:\\",
      "cls:1aB",
      "cls:1",
      "neg:5",
      "neg:a",
      "w:abc def",
      "dot:\n",
      "delim:a/b",
      "esc:a/b",
      "alt:abc",
      "bre:aa+?",
      "ml:a\nb",
      "star:aaa",
    ]),
    {
      "brk:]": "bracket-close",
      "brk:x": "bracket-close",
      "bs:\\": "bracket-backslash",
      "cls:1aB": "class",
      "cls:1": undefined,
      "neg:5": "negated",
      "neg:a": undefined,
      "w:abc def": "word",
      "dot:\n": "dot-any",
      "delim:a/b": "other-delimiter",
      "esc:a/b": "escaped-delimiter",
      "alt:abc": "alt ab-c",
      "bre:aa+?": "bre a",
      "ml:a\nb": "multiline",
      "star:aaa": "double-star",
    },
  );
});

Deno.test("regexp/pcre: an unmatched or empty group substitutes nothing; an empty result is an error", async () => {
  const { table: t, path } = table("regexp", "/^sub:(a)?(b)$/ [${1}|$(2)]\n/^(x?)$/ $1\n");
  assert.equal(await t.lookup("sub:b"), "[|b]");
  assert.equal(await t.lookup("sub:ab"), "[a|b]");
  assert.equal(await t.lookup("x"), "x");
  await assert.rejects(
    t.lookup(""),
    (err: unknown) =>
      err instanceof ConfigError && err.line === 2 &&
      err.message ===
        `${path}:2: lookup of "" returns an empty string result (table regexp:${path})`,
  );
});

Deno.test("regexp/pcre: a bad rule is skipped with a warning naming file:line; the rest loads (dict_regexp.c)", async () => {
  const cases: [string, string, RegExp][] = [
    ["regexp", "/ok/ ok\n/abc def\n", /:2: no closing regexp delimiter "\/"/],
    ["regexp", "/a/q result\n", /:1: unknown regexp option "q"/],
    ["pcre", "/a/Q result\n", /:1: unknown regexp option "Q"/],
    ["regexp", "/a/\n", /:1: no replacement text/],
    ["regexp", "/(a)/ $1x\n", /:1: bad replacement syntax: non-numeric replacement index "1x"/],
    ["regexp", "/(a)/ a $ b\n", /:1: bad replacement syntax: empty macro name/],
    [
      "pcre",
      "/(a)/ ${1?yes}\n",
      /:1: bad replacement syntax: non-numeric replacement index "1\?yes"/,
    ],
    ["regexp", "/(a)/ $0\n", /:1: bad replacement syntax: out of range replacement index "0"/],
    ["regexp", "/(a)/ ${1\n", /:1: bad replacement syntax: truncated macro reference/],
    ["regexp", "!/(a)/ $1\n", /:1: \$number found in negative match replacement text/],
    ["pcre", "/(a)/ $2\n", /:1: out of range replacement index "2"/],
    ["regexp", "/a/ x\nendif\n", /:2: ignoring ENDIF without matching IF/],
    ["pcre", "/a/ x\nif /b/\n/c/ d\n", /:2: IF has no matching ENDIF/],
    ["regexp", "if /a/ text\nendif\n", /:1: extra text after IF statement: "text"/],
    ["regexp", "if /a/\n/b/ c\nendif x\n", /:3: extra text after ENDIF/],
    ["regexp", "hello world\n", /:1: unrecognized request/],
    ["regexp", "/(a/ x\n", /:1: error in regex "\(a": Unmatched \( or \\\(/],
    ["regexp", "/a{1/ x\n", /:1: error in regex "a\{1": Unmatched \\\{/],
    ["regexp", "/*a/ x\n", /Invalid preceding regular expression/],
    ["pcre", "/(a/ x\n", /:1: error in regex "\(a": missing closing parenthesis/],
    ["pcre", "/a)/ x\n", /unmatched closing parenthesis at offset 1/],
    ["pcre", "/\\i/ x\n", /unrecognized character follows \\: "i"/],
    ["pcre", "/[z-a]/ x\n", /range out of order in character class/],
    ["pcre", "/\\p{NoSuchProperty}/ x\n", /error in regex/],
    ["pcre", "  /a/ x\n", /:1: logical line must not start with whitespace/],
  ];
  for (const [type, rules, expected] of cases) {
    const path = writeTable(tempDir(), "t", rules + "/^still$/ loaded\n");
    const { table, warnings } = open(`${type}:${path}`);
    assert.ok(warnings.length >= 1, `${rules}: no warning`);
    assert.match(warnings[0], expected);
    assert.match(warnings[0], new RegExp(`^${path}:\\d+: .* \\(table ${type}:`));
    const inIf = rules.includes("if /b/") || rules.includes("endif x"); // IF left open
    assert.equal(await table.lookup("still"), inIf ? undefined : "loaded", rules);
  }
});

Deno.test("regexp/pcre: a pattern Postfix accepts but JavaScript cannot run refuses the table (file:line)", () => {
  const cases: [string, string, RegExp][] = [
    ["regexp", "/ok/ ok\n/^\\d$/ x\n", /:2: error in regex "\^\\d\$": "\\d" is not a POSIX/],
    ["pcre", "/(?R)/ x\n", /:1: .*recursion and subroutine calls are not supported/],
    ["pcre", "/(a)(?1)/ x\n", /recursion and subroutine calls are not supported/],
    ["pcre", "/a\\Kb/ x\n", /\\K is not supported/],
    ["pcre", "/(?(1)a|b)/ x\n", /conditional groups are not supported/],
    ["pcre", "/(?|a|b)/ x\n", /branch reset groups/],
    ["pcre", "/ok/ ok\n/(*UTF)a/ x\n", /:2: .*\(\*VERB\)/],
    ["pcre", "/(*SKIP)a/ x\n", /\(\*VERB\)/],
  ];
  for (const [type, rules, expected] of cases) {
    const path = writeTable(tempDir(), "t", rules);
    assertConfigError(() => openMap(`${type}:${path}`), expected);
    assertConfigError(
      () => openMap(`${type}:${path}`),
      new RegExp(`^${path}:\\d+: .* \\(table ${type}:`),
    );
  }
});

Deno.test("pcre: Perl syntax and the table flags", async () => {
  const { table: t } = table(
    "pcre",
    [
      "/^d\\d+$/ digits",
      "/^x(?-i)AB$/ case-sensitive-tail",
      "/^sp ace # a comment runs to the end of the pattern, taking the $ with it/x extended",
      "/^dollar$/ dollar",
      "/^dollE$/E dollar-end-only",
      "/anch/A anchored",
      "/^ungr:(a+)/U ungreedy:$1",
      "/^poss:a++a$/ possessive",
      "/^atom:(?>ab|a)c$/ atomic",
      "/^q:\\Qa.b\\E$/ quoted",
      "/^hex:\\x{41}\\x42$/ hex",
      "/^ml:a$/m multiline",
      "/^dot:.$/ dotall",
      "/^nodot:.$/s not-dotall",
      "/^cls:[[:^digit:]]+$/ not-digits",
      "/^named:(?<first>x)(?P<second>y)\\k<first>(?P=second)$/ named:$1$2",
      "/^lb:(?<=lb:)z$/ lookbehind",
      "/^br:(a)(b)\\2\\1$/ backref",
      "/^rel:(a)\\g{-1}$/ relative",
      "/^h:\\h\\H$/ horizontal",
      "/^alt:(?i)a(?-i)B|c$/ inline-alternation",
      "/^mixed:(?i:MiXeD)(?-i:x)$/ mixed",
      "",
    ].join("\n"),
  );
  assert.deepEqual(
    await lookupAll(t, [
      "d123",
      "xAB",
      "XAB",
      "xab",
      "space",
      "sp ace",
      "spacebar",
      "dollar\n",
      "dollE\n",
      "dollE",
      "anchor",
      "xanchor",
      "ungr:aaa",
      "poss:aaa",
      "atom:abc",
      "atom:ac",
      "q:a.b",
      "q:axb",
      "hex:AB",
      "ml:a\nb",
      "dot:\n",
      "nodot:\n",
      "cls:abc",
      "cls:a1",
      "named:xyxy",
      "lb:z",
      "br:abba",
      "rel:aa",
      "h: x",
      "alt:AB",
      "alt:Ab",
      "alt:C",
      "alt:c",
      "xC",
      "mixed:mixedx",
      "mixed:mixedX",
    ]),
    {
      d123: "digits",
      xAB: "case-sensitive-tail",
      XAB: "case-sensitive-tail",
      xab: undefined,
      space: "extended",
      "sp ace": undefined,
      spacebar: "extended",
      "dollar\n": "dollar",
      "dollE\n": undefined,
      dollE: "dollar-end-only",
      anchor: "anchored",
      xanchor: undefined,
      "ungr:aaa": "ungreedy:a",
      "poss:aaa": undefined,
      "atom:abc": "atomic",
      "atom:ac": "atomic",
      "q:a.b": "quoted",
      "q:axb": undefined,
      "hex:AB": "hex",
      "ml:a\nb": "multiline",
      "dot:\n": "dotall",
      "nodot:\n": undefined,
      "cls:abc": "not-digits",
      "cls:a1": undefined,
      "named:xyxy": "named:xy",
      "lb:z": "lookbehind",
      "br:abba": "backref",
      "rel:aa": "relative",
      "h: x": "horizontal",
      "alt:AB": "inline-alternation",
      "alt:Ab": undefined,
      "alt:C": undefined,
      "alt:c": "inline-alternation",
      xC: undefined,
      "mixed:mixedx": "mixed",
      "mixed:mixedX": undefined,
    },
  );
  assert.equal(await openMap("pcre:{ {/^sp ace$/x yes} }").lookup("space"), "yes");
});

Deno.test("pcre: atomic groups and possessive quantifiers keep $n numbering", async () => {
  const { table: t } = table(
    "pcre",
    "/^(?>(a+))(b)(c)++$/ $1-$2-$3\n/^(x)(?>y|yz)(z)$/ $1$2\n/^at:(?>a|ab)c$/ committed\n",
  );
  assert.equal(await t.lookup("aabcc"), "aa-b-c");
  assert.equal(await t.lookup("xyz"), "xz");
  assert.equal(await t.lookup("at:ac"), "committed");
  assert.equal(await t.lookup("at:abc"), undefined, "(?>a|ab) commits to a and never retries ab");
});

Deno.test("regexp:{ {rule}, ... } inline form (Postfix 3.7)", async () => {
  const { table: t, warnings } = open("regexp:{ {/^a/ first}, { /^b(.*)/ second $1 } }");
  assert.equal(await t.lookup("abc"), "first");
  assert.equal(await t.lookup("bcd"), "second cd");
  assert.deepEqual(warnings, []);
  const bad = open("pcre:{ {/a/ x}, {/(/ y} }");
  assert.match(bad.warnings[0], /^pcre:\{ \{\/a\/ x\}, \{\/\(\/ y\} \}:2: error in regex/);
  assert.equal(await bad.table.lookup("a"), "x");
  assertConfigError(() => openMap("cidr:{ 1.2.3.4 x }"), /rule 1: missing '\{' in "1.2.3.4"/);
});
