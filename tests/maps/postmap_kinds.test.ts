/**
 * More of facteur's table kinds against Postfix itself: btree, lmdb,
 * unionmap, pipemap, sqlite, and the cidr/hash edge cases. Each table gets
 * all its keys in one `postmap -q - TYPE:NAME` run (key<TAB>value per key
 * found), so the suite stays fast. Kinds that `postconf -m` does not list
 * here (lmdb, sqlite: Debian packages postfix-lmdb, postfix-sqlite) fail on
 * CI, where .ci/run installs them, and are skipped with a note elsewhere.
 */

import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { openMap } from "../../src/maps/mod.ts";
import { findPeer, requirePeer } from "../peers.ts";
import { tempDir } from "./_helpers.ts";

const peer = requirePeer("postmap", "postfix");

/** Postfix waits for a file modified in the last second to "cool down": date it a minute ago. */
function writeCold(path: string, text: string): void {
  Deno.writeTextFileSync(path, text);
  const past = new Date(Date.now() - 60_000);
  Deno.utimeSync(path, past, past);
}

function postfixDir(): string {
  const dir = tempDir();
  writeCold(`${dir}/main.cf`, "compatibility_level = 3.6\nmyhostname = localhost.test\n");
  return dir;
}

async function postmap(args: string[], stdin = ""): Promise<{ code: number; out: string }> {
  const child = new Deno.Command(findPeer("postmap")!, {
    args,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(stdin));
  await writer.close();
  const out = await child.output();
  const text = new TextDecoder().decode(out.stdout);
  const err = new TextDecoder().decode(out.stderr);
  if (/fatal:/.test(err)) throw new Error(`postmap ${args.join(" ")}: ${err}`);
  return { code: out.code, out: text };
}

/** A Postfix without this map kind: a failure on CI (peers are installed there), a note elsewhere. */
function missingKind(type: string): void {
  const hint = `postconf -m has no ${type}: install the Debian package postfix-${type}`;
  if (Deno.env.get("CI")) throw new Error(hint);
  console.log(`skipping: ${hint}`);
}

let kinds: Promise<string[]> | undefined;
/** The table kinds this Postfix has (postconf -m). */
function postfixKinds(): Promise<string[]> {
  kinds ??= (async () => {
    const out = await new Deno.Command(findPeer("postconf")!, {
      args: ["-c", postfixDir(), "-m"],
      stdout: "piped",
      stderr: "null",
    }).output();
    return new TextDecoder().decode(out.stdout).split("\n").filter(Boolean);
  })();
  return kinds;
}

/** Postfix's answers for every key, from one postmap -q - run. */
async function postfixAnswers(dir: string, spec: string, keys: string[]) {
  const { out } = await postmap(["-c", dir, "-q", "-", spec], keys.join("\n") + "\n");
  const answers = new Map<string, string>();
  for (const line of out.split("\n").filter(Boolean)) {
    const tab = line.indexOf("\t");
    answers.set(line.slice(0, tab), line.slice(tab + 1));
  }
  return answers;
}

/** The same keys through postmap and through openMap; every answer must match. */
async function compare(dir: string, spec: string, keys: string[]): Promise<void> {
  const expected = await postfixAnswers(dir, spec, keys);
  const table = openMap(spec, { onWarning: () => {} });
  const mismatches: string[] = [];
  for (const key of keys) {
    const actual = await table.lookup(key);
    if (actual !== expected.get(key)) {
      mismatches.push(
        `${JSON.stringify(key)}: postfix ${JSON.stringify(expected.get(key))}, facteur ${
          JSON.stringify(actual)
        }`,
      );
    }
  }
  table.close?.();
  assert.deepEqual(mismatches, [], `${spec}\n${mismatches.join("\n")}`);
}

const SOURCE = [
  "Example.COM        REJECT  spaced   out  ",
  "user@example.net\tOK",
  "MiXeD@Case.Test    folded",
  "dup                first",
  "DUP                second",
  "multi              a,b, c",
  "keyonly",
  "after-bad          still-loaded",
  "",
].join("\n");
const SOURCE_KEYS = [
  "example.com",
  "EXAMPLE.COM",
  "user@example.net",
  "mixed@case.test",
  "MIXED@CASE.TEST",
  "dup",
  "multi",
  "keyonly",
  "after-bad",
  "missing",
];

for (const type of ["hash", "btree", "lmdb"]) {
  Deno.test({
    name: `postmap -q agrees with facteur: ${type}: (source read directly, bad line skipped)`,
    ...peer,
    fn: async () => {
      if (!(await postfixKinds()).includes(type)) return missingKind(type);
      const dir = postfixDir();
      writeCold(`${dir}/table`, SOURCE);
      await postmap(["-c", dir, `${type}:${dir}/table`]);
      await compare(dir, `${type}:${dir}/table`, SOURCE_KEYS);
    },
  });
}

Deno.test({
  name: "postmap -q agrees with facteur: cidr edge cases (IPv6, /0, /32, /128, bad prefixes)",
  ...peer,
  fn: async () => {
    const dir = postfixDir();
    writeCold(
      `${dir}/cidr`,
      [
        "192.0.2.1/32         host32",
        "192.0.2.0/31         net31",
        "1.2.3.4/16           bad-host-bits",
        "1.2.3.0/33           bad-length",
        "1.2.3.0/-1           bad-negative",
        "1.2.3.0/x            bad-text",
        "2001:db8::1/128      host128",
        "2001:db8::/127       net127",
        "[2001:db8:1::]/48    bracketed48",
        "2001:db8:2::1/48     bad-v6-host-bits",
        "2001:db8::/129       bad-v6-length",
        "::ffff:192.0.2.0/120 mapped",
        "::/0                 any6",
        "0.0.0.0/0            any4",
        "",
      ].join("\n"),
    );
    await compare(dir, `cidr:${dir}/cidr`, [
      "192.0.2.1",
      "192.0.2.0",
      "192.0.2.2",
      "1.2.3.4",
      "2001:db8::1",
      "2001:DB8:0::1",
      "2001:db8::0",
      "2001:db8::2",
      "2001:db8:1:ffff::1",
      "2001:db8:2::1",
      "::ffff:192.0.2.7",
      "::1",
      "10.0.0.1",
      "255.255.255.255",
      "not-an-address",
      "[192.0.2.1]",
      "192.0.2.1 ",
    ]);
  },
});

Deno.test({
  name: "postmap -q agrees with facteur: unionmap and pipemap (nested, case folding, not found)",
  ...peer,
  fn: async () => {
    const dir = postfixDir();
    writeCold(`${dir}/h`, "Joe@Example.com joe-local\njoe-local  /home/joe\n");
    const keys = ["joe@example.com", "JOE@EXAMPLE.COM", "a", "A", "b", "x", "joe-local", "nothing"];
    await compare(
      dir,
      `unionmap:{texthash:${dir}/h, inline:{a=1, b=2}, inline:{ a=3 }, regexp:{{/^(j)oe/ $1}}}`,
      keys,
    );
    await compare(dir, `pipemap:{texthash:${dir}/h, texthash:${dir}/h}`, keys);
    await compare(dir, `pipemap:{inline:{a=B, x=y}, inline:{b=c}}`, keys);
    await compare(
      dir,
      `unionmap:{pipemap:{inline:{a=b},inline:{b=two}}, static:{ with space }}`,
      keys,
    );
  },
});

Deno.test({
  name: "postmap -q agrees with facteur: sqlite (%s %u %d %1 %S %U %D, result_format, domain)",
  ...peer,
  fn: async () => {
    if (!(await postfixKinds()).includes("sqlite")) {
      missingKind("sqlite");
      return;
    }
    const dir = postfixDir();
    const cf = (name: string, lines: string[]) => {
      writeCold(`${dir}/${name}`, [`dbpath = ${dir}/db.sqlite`, ...lines, ""].join("\n"));
      return `sqlite:${dir}/${name}`;
    };
    const db = new DatabaseSync(`${dir}/db.sqlite`);
    db.exec(`
      CREATE TABLE alias (k TEXT, v TEXT, extra TEXT);
      INSERT INTO alias VALUES
        ('joe@example.com', 'joe@mail.example.org', 'x'),
        ('joe@example.com', 'joseph@other.test', 'y'),
        ('joe', 'local-joe', 'z'),
        ('@example.com', 'catchall@example.com', 'c'),
        ('empty', '', 'e'),
        ('unqualified', 'plain', 'p'),
        ('o''brien@example.com', 'quoted@example.com', 'q'),
        ('com', 'tld-com', 't');
      CREATE TABLE domains (d TEXT, u TEXT, result TEXT);
      INSERT INTO domains VALUES ('example.com', 'joe', 'by-parts'), ('example.com', '', 'no-user');
    `);
    db.close();
    const keys = [
      "joe@example.com",
      "JOE@Example.COM",
      "joe",
      "@example.com",
      "empty",
      "unqualified",
      "o'brien@example.com",
      "' OR '1'='1",
      "x@com",
      "nobody@example.com",
      "joe@",
    ];
    await compare(dir, cf("plain.cf", ["query = SELECT v FROM alias WHERE k='%s'"]), keys);
    await compare(
      dir,
      cf("parts.cf", [
        "query = SELECT result FROM domains",
        "  WHERE d='%d' AND u='%u'",
      ]),
      keys,
    );
    await compare(dir, cf("label.cf", ["query = SELECT v FROM alias WHERE k='%1'"]), keys);
    await compare(
      dir,
      cf("format.cf", [
        "query = SELECT v FROM alias WHERE k='%s'",
        "result_format = <%u|%d|%S|%U|%D|%%>",
      ]),
      keys,
    );
    await compare(
      dir,
      cf("domain.cf", [
        "query = SELECT v FROM alias WHERE k='%s'",
        "domain = example.com, inline:{other.test=yes}",
      ]),
      keys,
    );
    await compare(
      dir,
      cf("legacy.cf", ["select_field = v", "table = alias", "where_field = k"]),
      keys,
    );
  },
});
