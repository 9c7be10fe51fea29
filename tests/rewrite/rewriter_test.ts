import assert from "node:assert/strict";
import { ConfigError, MailError } from "../../src/errors.ts";
import { parseTransport, Rewriter } from "../../src/rewrite/mod.ts";
import { testConfig, testTables } from "./helpers.ts";

function rewriter(
  values: Record<string, string> = {},
  extra: { readFile?: (p: string) => string } = {},
) {
  const tables = testTables();
  const r = new Rewriter(testConfig(values), {
    openTable: tables.open,
    systemAddresses: () => ["127.0.0.1", "192.0.2.7", "::1"],
    ...extra,
  });
  return { r, tables };
}

Deno.test("canonicalize: unqualified user gets @$myorigin", () => {
  const { r } = rewriter();
  assert.equal(r.canonicalize("alice"), "alice@mail.example.com");
  assert.equal(rewriter({ myorigin: "example.com" }).r.canonicalize("alice"), "alice@example.com");
});

Deno.test("canonicalize: domain lower-cased, trailing dot and source route dropped, localpart kept", () => {
  const { r } = rewriter();
  assert.equal(r.canonicalize("Alice@Example.COM."), "Alice@example.com");
  assert.equal(r.canonicalize("@relay.test,@other.test:bob@Example.org"), "bob@example.org");
  assert.equal(r.canonicalize('"a@b"@Example.org'), '"a@b"@example.org');
  assert.equal(r.canonicalize(""), "");
});

Deno.test("domainClass: every class of ADDRESS_CLASS_README", async () => {
  const { r } = rewriter({
    virtual_alias_domains: "alias.test",
    virtual_mailbox_domains: "mailbox.test",
    relay_domains: "relay.test",
  });
  assert.equal(await r.domainClass("mail.example.com"), "local");
  assert.equal(await r.domainClass("LOCALHOST."), "local");
  assert.equal(await r.domainClass("alias.test"), "virtual_alias");
  assert.equal(await r.domainClass("mailbox.test"), "virtual_mailbox");
  assert.equal(await r.domainClass("relay.test"), "relay");
  assert.equal(await r.domainClass("elsewhere.test"), "default");
});

Deno.test("domainClass: address literals of inet_interfaces are local", async () => {
  const loopback = rewriter().r;
  assert.equal(await loopback.domainClass("[127.0.0.1]"), "local");
  assert.equal(await loopback.domainClass("[IPv6:0:0:0:0:0:0:0:1]"), "local");
  assert.equal(await loopback.domainClass("[192.0.2.7]"), "default");
  const all = rewriter({ inet_interfaces: "all" }).r;
  assert.equal(await all.domainClass("[192.0.2.7]"), "local");
  assert.equal(await all.domainClass("[192.0.2.8]"), "default");
  const listed = rewriter({ inet_interfaces: "192.0.2.9" }).r;
  assert.equal(await listed.domainClass("[192.0.2.9]"), "local");
  assert.equal(await listed.domainClass("[127.0.0.1]"), "default");
});

Deno.test("domainClass: relay_domains matches subdomains, mydestination does not", async () => {
  const { r } = rewriter({ mydestination: "example.org", relay_domains: "example.net" });
  assert.equal(await r.domainClass("example.org"), "local");
  assert.equal(await r.domainClass("sub.example.org"), "default");
  assert.equal(await r.domainClass("sub.example.net"), "relay");
  // Without parent_domain_matches_subdomains only the ".example.net" form does.
  const strict = rewriter({
    relay_domains: "example.net, .example.com",
    parent_domain_matches_subdomains: "",
  }).r;
  assert.equal(await strict.domainClass("sub.example.net"), "default");
  assert.equal(await strict.domainClass("sub.example.com"), "relay");
  assert.equal(await strict.domainClass("example.com"), "default");
});

Deno.test("domainClass: negation, tables and pattern files in domain lists", async () => {
  const { r } = rewriter(
    {
      relay_domains: "!bad.example.net, /etc/relays",
      virtual_alias_maps: "inline:{ alias.test=anything, a@alias.test=b@example.org }",
      virtual_mailbox_domains: "inline:{ mailbox.test=yes }",
    },
    { readFile: (p) => (p === "/etc/relays" ? "# relays\nexample.net, other.test\n" : "") },
  );
  assert.equal(await r.domainClass("bad.example.net"), "default");
  assert.equal(await r.domainClass("x.example.net"), "relay");
  assert.equal(await r.domainClass("other.test"), "relay");
  // virtual_alias_domains defaults to $virtual_alias_maps: the domain key declares it.
  assert.equal(await r.domainClass("alias.test"), "virtual_alias");
  assert.equal(await r.domainClass("mailbox.test"), "virtual_mailbox");
});

Deno.test("a domain listed in two classes is a configuration error", () => {
  assert.throws(
    () => rewriter({ virtual_mailbox_domains: "mail.example.com" }),
    (e: unknown) =>
      e instanceof ConfigError &&
      e.message.includes(
        '"mail.example.com" is listed in both mydestination and virtual_mailbox_domains',
      ),
  );
  assert.throws(
    () => rewriter({ virtual_alias_domains: "x.test", relay_domains: "x.test" }),
    /both virtual_alias_domains and relay_domains/,
  );
});

Deno.test("resolve: transport and nexthop per class", async () => {
  const { r } = rewriter({
    virtual_alias_domains: "alias.test",
    virtual_mailbox_domains: "mailbox.test",
    relay_domains: "relay.test",
  });
  assert.deepEqual(await r.resolve("alice"), {
    class: "local",
    transport: "local",
    nexthop: "mail.example.com",
    recipient: "alice@mail.example.com",
  });
  assert.deepEqual(await r.resolve("u@Mailbox.test"), {
    class: "virtual_mailbox",
    transport: "virtual",
    nexthop: "mailbox.test",
    recipient: "u@mailbox.test",
  });
  assert.deepEqual(await r.resolve("u@relay.test"), {
    class: "relay",
    transport: "relay",
    nexthop: "relay.test",
    recipient: "u@relay.test",
  });
  assert.deepEqual(await r.resolve("u@far.test"), {
    class: "default",
    transport: "smtp",
    nexthop: "far.test",
    recipient: "u@far.test",
  });
  assert.deepEqual(await r.resolve("nobody@alias.test"), {
    class: "virtual_alias",
    transport: "error",
    nexthop: "5.1.1 User unknown in virtual alias table",
    recipient: "nobody@alias.test",
  });
  await assert.rejects(
    r.resolve(""),
    (e: unknown) => e instanceof MailError && e.enhanced === "5.1.3",
  );
});

Deno.test("resolve: a nexthop in the transport parameter overrides the domain", async () => {
  const { r } = rewriter({ default_transport: "smtp:[smarthost.test]:587" });
  const res = await r.resolve("u@far.test");
  assert.equal(res.transport, "smtp");
  assert.equal(res.nexthop, "[smarthost.test]:587");
  assert.deepEqual(parseTransport("relay", "d.test"), { transport: "relay", nexthop: "d.test" });
  assert.deepEqual(parseTransport("local:", "d.test"), { transport: "local", nexthop: "d.test" });
});

Deno.test("checkRecipient: unknown local user gets Postfix's reply", async () => {
  const { r } = rewriter({ local_recipient_maps: "inline:{alice=1}", recipient_delimiter: "+" });
  const err = await r.checkRecipient("bob@mail.example.com");
  assert.ok(err instanceof MailError);
  assert.equal(
    err.reply,
    "550 5.1.1 <bob@mail.example.com>: Recipient address rejected: User unknown in local recipient table",
  );
  assert.equal(await r.checkRecipient("alice@mail.example.com"), undefined);
  assert.equal(await r.checkRecipient("Alice+lists@Mail.Example.COM"), undefined);
  assert.equal(await r.checkRecipient("alice"), undefined);
});

Deno.test("checkRecipient: empty local_recipient_maps accepts every local address", async () => {
  const { r } = rewriter({ local_recipient_maps: "" });
  assert.equal(await r.checkRecipient("anyone@localhost"), undefined);
});

Deno.test("checkRecipient: aliases count as local recipients and are opened as alias files", async () => {
  const { r, tables } = rewriter({
    alias_maps: "inline:{root=alice}",
    local_recipient_maps: "inline:{alice=1} $alias_maps",
  });
  assert.equal(await r.checkRecipient("root@localhost"), undefined);
  assert.ok(await r.checkRecipient("nobody@localhost"));
  assert.deepEqual(tables.opened.find((o) => o.spec === "inline:{root=alice}"), {
    spec: "inline:{root=alice}",
    aliases: true,
  });
  assert.deepEqual(tables.opened.find((o) => o.spec === "inline:{alice=1}"), {
    spec: "inline:{alice=1}",
    aliases: false,
  });
});

Deno.test("checkRecipient: virtual alias, virtual mailbox and relay tables", async () => {
  const { r } = rewriter({
    virtual_alias_domains: "alias.test",
    virtual_alias_maps: "inline:{ a@alias.test=alice, extra@mailbox.test=alice }",
    virtual_mailbox_domains: "mailbox.test",
    virtual_mailbox_maps: "inline:{ m@mailbox.test=mailbox.test/m/ }",
    relay_domains: "relay.test, open.test",
    relay_recipient_maps: "inline:{ r@relay.test=ok, @open.test=ok }",
    unknown_virtual_mailbox_reject_code: "450",
  });
  assert.equal(await r.checkRecipient("a@alias.test"), undefined);
  assert.equal(
    (await r.checkRecipient("b@alias.test"))?.reply,
    "550 5.1.1 <b@alias.test>: Recipient address rejected: User unknown in virtual alias table",
  );
  assert.equal(await r.checkRecipient("m@mailbox.test"), undefined);
  assert.equal(
    await r.checkRecipient("extra@mailbox.test"),
    undefined,
    "a virtual alias entry is enough",
  );
  assert.equal(
    (await r.checkRecipient("x@mailbox.test"))?.reply,
    "450 4.1.1 <x@mailbox.test>: Recipient address rejected: User unknown in virtual mailbox table",
  );
  assert.equal(await r.checkRecipient("r@relay.test"), undefined);
  assert.equal(await r.checkRecipient("anyone@open.test"), undefined);
  assert.equal(
    (await r.checkRecipient("x@relay.test"))?.reply,
    "550 5.1.1 <x@relay.test>: Recipient address rejected: User unknown in relay recipient table",
  );
  assert.equal(await r.checkRecipient("anyone@elsewhere.test"), undefined);
});

Deno.test("checkRecipient: relay domains without relay_recipient_maps accept all", async () => {
  const { r } = rewriter({ relay_domains: "relay.test" });
  assert.equal(await r.checkRecipient("x@relay.test"), undefined);
});

Deno.test("checkRecipient: postmaster is always accepted in our domains (RFC 5321 4.5.1)", async () => {
  const { r } = rewriter({
    local_recipient_maps: "inline:{alice=1}",
    virtual_alias_domains: "alias.test",
    virtual_mailbox_domains: "mailbox.test",
    virtual_mailbox_maps: "inline:{ m@mailbox.test=m/ }",
    relay_domains: "relay.test",
    relay_recipient_maps: "inline:{ r@relay.test=ok }",
  });
  assert.equal(await r.checkRecipient("postmaster@mail.example.com"), undefined);
  assert.equal(await r.checkRecipient("Postmaster@alias.test"), undefined);
  assert.equal(await r.checkRecipient("postmaster@mailbox.test"), undefined);
  assert.ok(await r.checkRecipient("postmaster@relay.test"), "relay domains are not ours");
});

Deno.test("checkRecipient: a failing table gives 451 4.3.0, not a rejection", async () => {
  const logged: string[] = [];
  const tables = testTables();
  const r = new Rewriter(testConfig({ local_recipient_maps: "fail:disk_on_fire" }), {
    openTable: tables.open,
    log: (t) => logged.push(t),
  });
  const err = await r.checkRecipient("bob@localhost");
  assert.equal(err?.reply, "451 4.3.0 <bob@localhost>: Temporary lookup failure");
  assert.ok(logged.some((l) => l.includes("disk_on_fire")));
});

Deno.test("checkRecipient: a local address with a virtual alias entry is accepted", async () => {
  const { r } = rewriter({
    local_recipient_maps: "inline:{alice=1}",
    virtual_alias_maps: "inline:{ info@mail.example.com=alice }",
    virtual_alias_domains: "",
  });
  assert.equal(await r.checkRecipient("info@mail.example.com"), undefined);
});
