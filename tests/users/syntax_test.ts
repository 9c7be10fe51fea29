import assert from "node:assert/strict";
import {
  formatQuota,
  parseAliasAddress,
  parseAliasTargets,
  parseDomain,
  parseMailboxAddress,
  parseQuota,
} from "../../src/users/mod.ts";
import { mailboxPath, parseMaildirPath } from "../../src/users/syntax.ts";

Deno.test("addresses are lower-cased, UTF-8 local parts kept, bad ones named", () => {
  assert.deepEqual(parseMailboxAddress(" Alice@Example.COM. "), {
    address: "alice@example.com",
    local: "alice",
    domain: "example.com",
  });
  assert.equal(parseMailboxAddress("Jörg.Müller@example.com").address, "jörg.müller@example.com");
  assert.equal(parseMailboxAddress("a+b@x.example").local, "a+b");
  const bad: [string, RegExp][] = [
    ["alice", /no "@domain"/],
    ["@example.com", /empty local part/],
    ["a..b@example.com", /dot-atom/],
    [".a@example.com", /dot-atom/],
    ["a b@example.com", /spaces or controls/],
    ['"ab"@example.com', /quoted local parts/],
    ["a<b@example.com", /atext/],
    ["a/b@example.com", /"\/" in a local part/],
    ["alice@", /empty domain/],
    ["alice@exa_mple.com", /labels are letters/],
    ["alice@-x.com", /labels are letters/],
    ["alice@x..com", /empty label/],
    ["alice@[127.0.0.1]", /address literals/],
    [`${"a".repeat(65)}@example.com`, /longer than 64 octets/],
    [`a@${"b".repeat(64)}.com`, /longer than 63 octets/],
  ];
  for (const [input, why] of bad) {
    assert.throws(() => parseMailboxAddress(input), (e: Error) => {
      assert.equal(e.name, "UsersError");
      assert.match(e.message, why, input);
      return true;
    });
  }
});

Deno.test("domains: lower case, trailing dot dropped, IDN U-labels kept", () => {
  assert.equal(parseDomain("Example.ORG."), "example.org");
  assert.equal(parseDomain("bücher.example"), "bücher.example");
  assert.equal(parseDomain("localdomain"), "localdomain");
  assert.throws(() => parseDomain("a@b"), /labels are letters/);
});

Deno.test("alias keys take @domain catch-alls; targets are checked one by one", () => {
  assert.equal(parseAliasAddress("@Example.com").address, "@example.com");
  assert.equal(parseAliasAddress("Sales@Example.com").address, "sales@example.com");
  assert.throws(() => parseAliasAddress("sales"), /"user@domain" or "@domain"/);
  assert.deepEqual(parseAliasTargets(["Bob@Remote.Example", "carol", "d@x.test, e@x.test"]), [
    "Bob@remote.example",
    "carol",
    "d@x.test",
    "e@x.test",
  ]);
  assert.throws(() => parseAliasTargets([]), /at least one target/);
  assert.throws(() => parseAliasTargets(["a@x.test", "A@x.test"]), /listed twice/);
  assert.throws(() => parseAliasTargets(["|/bin/sh"]), /aliases\(5\)/);
  assert.throws(() => parseAliasTargets(["a b@x.test"]), /spaces/);
  assert.throws(() => parseAliasTargets(["a@"]), /empty domain/);
});

Deno.test("quotas: binary units, 0 = none; formatted back", () => {
  assert.equal(parseQuota("0"), 0);
  assert.equal(parseQuota("1G"), 2 ** 30);
  assert.equal(parseQuota("500m"), 500 * 2 ** 20);
  assert.equal(parseQuota("2 GiB"), 2 * 2 ** 30);
  assert.equal(parseQuota("1024"), 1024);
  assert.equal(parseQuota(77), 77);
  for (const bad of ["-1", "1.5G", "lots", "1X", ""]) assert.throws(() => parseQuota(bad), /quota/);
  assert.throws(() => parseQuota(-5), /quota/);
  assert.equal(formatQuota(2 ** 30), "1G");
  assert.equal(formatQuota(1500), "1500");
  assert.equal(formatQuota(0), "none");
});

Deno.test("mailbox paths: the template, relative, never leaving the base", () => {
  const a = parseMailboxAddress("alice@example.com");
  assert.equal(mailboxPath("%d/%n/", a), "example.com/alice/");
  assert.equal(mailboxPath("%u/Maildir/", a), "alice@example.com/Maildir/");
  assert.equal(parseMaildirPath("x/mbox"), "x/mbox");
  assert.throws(() => parseMaildirPath("/var/mail/x/"), /relative/);
  assert.throws(() => parseMaildirPath("a/../../etc/"), /\.\./);
});
