import assert from "node:assert/strict";
import { MailError } from "../../src/errors.ts";
import type { EnvelopeRecipient } from "../../src/queue/types.ts";
import { Rewriter } from "../../src/rewrite/mod.ts";
import { testConfig, testTables } from "./helpers.ts";

function rewriter(map: string, values: Record<string, string> = {}) {
  const tables = testTables();
  const r = new Rewriter(
    testConfig({ virtual_alias_maps: map, virtual_alias_domains: "alias.test", ...values }),
    { openTable: tables.open },
  );
  return { r, tables };
}

const rcpt = (address: string, extra: Partial<EnvelopeRecipient> = {}): EnvelopeRecipient => ({
  address,
  ...extra,
});

async function expand(r: Rewriter, ...addresses: string[]): Promise<string[]> {
  return (await r.expandVirtualAliases(addresses.map((a) => rcpt(a)))).map((x) => x.address);
}

Deno.test("virtual alias: a full address maps to several, each keeps the original", async () => {
  const { r } = rewriter("inline:{ {sales@alias.test = ann@example.org, bob@example.org} }");
  const out = await r.expandVirtualAliases([rcpt("Sales@Alias.test", { notify: ["FAILURE"] })]);
  assert.deepEqual(out, [
    { address: "ann@example.org", original: "Sales@Alias.test", notify: ["FAILURE"] },
    { address: "bob@example.org", original: "Sales@Alias.test", notify: ["FAILURE"] },
  ]);
});

Deno.test("virtual alias: addresses without an entry pass through, canonicalized", async () => {
  const { r } = rewriter("inline:{ a@alias.test=b@example.org }");
  const out = await r.expandVirtualAliases([rcpt("carol"), rcpt("dave@Example.ORG")]);
  assert.deepEqual(out, [
    { address: "carol@mail.example.com", original: "carol" },
    { address: "dave@example.org", original: "dave@Example.ORG" },
  ]);
});

Deno.test("virtual alias: @domain catch-all has the lowest precedence", async () => {
  const { r } = rewriter("inline:{ a@alias.test=a@example.org, @alias.test=catch@example.org }");
  assert.deepEqual(await expand(r, "a@alias.test", "zz@alias.test"), [
    "a@example.org",
    "catch@example.org",
  ]);
});

Deno.test("virtual alias: @otherdomain result keeps the user", async () => {
  const { r } = rewriter("inline:{ @alias.test=@example.org }");
  assert.deepEqual(await expand(r, "someone@alias.test"), ["someone@example.org"]);
});

Deno.test("virtual alias: expansion is recursive", async () => {
  const { r } = rewriter(
    "inline:{ a@alias.test=b@alias.test, {b@alias.test=c@alias.test, d@example.org}, c@alias.test=e@example.org }",
  );
  assert.deepEqual(await expand(r, "a@alias.test"), ["e@example.org", "d@example.org"]);
});

Deno.test("virtual alias: an address that expands to itself is kept and not expanded again", async () => {
  const { r } = rewriter(
    "inline:{ {a@example.org = a@example.org, b@example.org}, b@example.org=a@example.org }",
  );
  assert.deepEqual(await expand(r, "a@example.org"), ["a@example.org"]);
  const out = await r.expandVirtualAliases([rcpt("a@example.org")]);
  assert.equal(out.length, 1, "duplicates of one (original, address) pair are removed");
});

Deno.test("virtual alias: a loop defers the message with 4.6.0", async () => {
  const logged: string[] = [];
  const tables = testTables();
  const r = new Rewriter(
    testConfig({ virtual_alias_maps: "inline:{ a@x.test=b@x.test, b@x.test=a@x.test }" }),
    { openTable: tables.open, log: (l) => logged.push(l) },
  );
  await assert.rejects(
    r.expandVirtualAliases([rcpt("a@x.test")]),
    (e: unknown) => e instanceof MailError && e.reply === "451 4.6.0 Alias expansion error",
  );
  assert.ok(logged.some((l) => l.includes("a@x.test -> b@x.test -> a@x.test")), logged.join("\n"));
});

Deno.test("virtual alias: virtual_alias_recursion_limit", async () => {
  const chain = "inline:{ a@x.test=b@x.test, b@x.test=c@x.test, c@x.test=d@x.test }";
  assert.deepEqual(
    await expand(rewriter(chain, { virtual_alias_recursion_limit: "3" }).r, "a@x.test"),
    ["d@x.test"],
  );
  await assert.rejects(
    rewriter(chain, { virtual_alias_recursion_limit: "2" }).r.expandVirtualAliases([
      rcpt("a@x.test"),
    ]),
    (e: unknown) => e instanceof MailError && e.code === 451 && e.enhanced === "4.6.0",
  );
});

Deno.test("virtual alias: virtual_alias_expansion_limit", async () => {
  const map = "inline:{ {all@x.test = a@x.test, b@x.test, c@x.test} }";
  assert.equal(
    (await expand(rewriter(map, { virtual_alias_expansion_limit: "3" }).r, "all@x.test")).length,
    3,
  );
  await assert.rejects(
    rewriter(map, { virtual_alias_expansion_limit: "2" }).r.expandVirtualAliases([
      rcpt("all@x.test"),
    ]),
    (e: unknown) => e instanceof MailError && e.enhanced === "4.6.0",
  );
});

Deno.test("virtual alias: recipient_delimiter lookup order and extension propagation", async () => {
  const { r } = rewriter(
    "inline:{ joe+special@x.test=special@example.org, joe@x.test=joe@example.org, @y.test=@example.net }",
    { recipient_delimiter: "+" },
  );
  assert.deepEqual(await expand(r, "joe+special@x.test"), ["special@example.org"]);
  // The extension stripped to find "joe@x.test" is carried over to the result.
  assert.deepEqual(await expand(r, "joe+news@x.test"), ["joe+news@example.org"]);
  // With @domain the whole localpart, extension included, is kept.
  assert.deepEqual(await expand(r, "ann+x@y.test"), ["ann+x@example.net"]);
});

Deno.test("virtual alias: a bare 'user' key applies to local domains and $myorigin only", async () => {
  const { r } = rewriter("inline:{ root=admin@example.org }", { virtual_alias_domains: "" });
  assert.deepEqual(await expand(r, "root@localhost", "root@mail.example.com", "root@other.test"), [
    "admin@example.org",
    "admin@example.org",
    "root@other.test",
  ]);
});

Deno.test("virtual alias: postmaster in a virtual domain without entry goes to postmaster@$myorigin", async () => {
  const { r } = rewriter("inline:{ a@alias.test=a@example.org }", {
    virtual_mailbox_domains: "mailbox.test",
    virtual_mailbox_maps: "inline:{ m@mailbox.test=m/ }",
  });
  assert.deepEqual(
    await expand(r, "postmaster@alias.test", "postmaster@mailbox.test", "postmaster@far.test"),
    ["postmaster@mail.example.com", "postmaster@mail.example.com", "postmaster@far.test"],
  );
});

Deno.test("virtual alias: different originals reaching one address are both kept", async () => {
  const { r } = rewriter("inline:{ a@alias.test=z@example.org, b@alias.test=z@example.org }");
  const out = await r.expandVirtualAliases([rcpt("a@alias.test"), rcpt("b@alias.test")]);
  assert.deepEqual(out.map((o) => [o.original, o.address]), [
    ["a@alias.test", "z@example.org"],
    ["b@alias.test", "z@example.org"],
  ]);
});

Deno.test("virtual alias: a failing table defers with 4.6.0", async () => {
  const { r } = rewriter("fail:table gone");
  await assert.rejects(
    r.expandVirtualAliases([rcpt("a@x.test")]),
    (e: unknown) => e instanceof MailError && e.enhanced === "4.6.0",
  );
});
