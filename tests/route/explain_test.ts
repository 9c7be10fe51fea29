/**
 * The route explainer on inline: tables: the lookups it lists (parameter,
 * key, result), the class and why, the final transport:nexthop, the RCPT
 * verdict; and the seeds' examples (catch-all, per-user transport_maps,
 * aliases winning over virtual mailboxes).
 */
import assert from "node:assert/strict";
import { explainRoute, type RouteQuery } from "../../src/route/explain.ts";
import { formatRoute } from "../../src/route/format.ts";
import { testConfig, testTables } from "../rewrite/helpers.ts";

async function explain(values: Record<string, string>, query: RouteQuery) {
  return await explainRoute(testConfig(values), query, { openTable: testTables().open });
}

const keysTried = (r: Awaited<ReturnType<typeof explain>>, param: string, phase?: string) =>
  r.lookups.filter((l) => l.param === param && (!phase || l.phase === phase))
    .map((l) => `${l.key}=${l.result ?? "-"}`);

Deno.test("route: seed 001 catch-all @mon_domaine.net gaston, robert keeps his own", async () => {
  const values = {
    mydestination: "$myhostname, mon_domaine.net",
    virtual_alias_maps: "inline:{ @mon_domaine.net=gaston, robert@mon_domaine.net=robert }",
  };
  const anyone = await explain(values, { address: "Quelconque@Mon_Domaine.net" });
  assert.deepEqual(anyone.expansion[0].tree, {
    address: "Quelconque@mon_domaine.net",
    children: [{ address: "gaston@mail.example.com" }],
  });
  // mail_addr_find order: user@domain, user (local domain), @domain.
  assert.deepEqual(keysTried(anyone, "virtual_alias_maps", "expansion").slice(0, 3), [
    "Quelconque@mon_domaine.net=-",
    "Quelconque=-",
    "@mon_domaine.net=gaston",
  ]);
  assert.deepEqual(
    anyone.recipients.map((r) => [r.address, r.class, r.classParam, r.transport, r.nexthop]),
    [["gaston@mail.example.com", "local", "mydestination", "local", "mail.example.com"]],
  );
  assert.equal(anyone.rcpt.accepted, true);
  const robert = await explain(values, { address: "robert@mon_domaine.net" });
  assert.deepEqual(robert.expansion[0].addresses, ["robert@mail.example.com"]);
});

Deno.test("route: seed 000 per-user transport_maps on a gateway", async () => {
  const values = {
    relay_domains: "domaine.fr",
    transport_maps:
      "inline:{ user1@domaine.fr=smtp:mx-systeme1, user2@domaine.fr=smtp:mx-systeme2 }",
  };
  const one = await explain(values, { address: "user1@domaine.fr" });
  assert.deepEqual(
    one.recipients.map((r) => [r.class, r.classParam, r.classEntry, r.transport, r.nexthop]),
    [["relay", "relay_domains", "domaine.fr", "smtp", "mx-systeme1"]],
  );
  assert.deepEqual(keysTried(one, "transport_maps", "resolve"), [
    "user1@domaine.fr=smtp:mx-systeme1",
  ]);
  // Anyone else follows relay_transport after every transport(5) key was tried.
  const other = await explain(values, { address: "user3@domaine.fr" });
  assert.deepEqual(keysTried(other, "transport_maps", "resolve"), [
    "user3@domaine.fr=-",
    "domaine.fr=-",
    ".fr=-",
    "*=-",
  ]);
  assert.equal(
    `${other.recipients[0].transport}:${other.recipients[0].nexthop}`,
    "relay:domaine.fr",
  );
});

Deno.test("route: seed 004 an @domain alias wins over the domain's virtual mailboxes", async () => {
  const values = {
    virtual_mailbox_domains: "etab.fr",
    virtual_mailbox_maps: "inline:{ prof@etab.fr=prof }",
    virtual_alias_maps: "inline:{ @etab.fr=service@mail.example.com }",
  };
  const r = await explain(values, { address: "prof@etab.fr" });
  assert.deepEqual(r.expansion[0].addresses, ["service@mail.example.com"]);
  assert.deepEqual(r.recipients.map((x) => [x.address, x.class, x.transport]), [
    ["service@mail.example.com", "local", "local"],
  ]);
  // Nothing reaches the virtual mailbox: virtual_mailbox_maps is not even asked at delivery.
  assert.deepEqual(keysTried(r, "virtual_mailbox_maps", "resolve"), []);
});

Deno.test("route: one-to-many, recursive, as a tree; each result resolved once", async () => {
  const r = await explain({
    virtual_alias_domains: "alias.test",
    virtual_alias_maps: "inline:{ {team@alias.test=a@example.org, sub@alias.test}, " +
      "{sub@alias.test=b@example.org, a@example.org} }",
  }, { address: "team@alias.test" });
  assert.deepEqual(r.expansion[0].tree, {
    address: "team@alias.test",
    children: [
      { address: "a@example.org" },
      {
        address: "sub@alias.test",
        children: [{ address: "b@example.org" }, { address: "a@example.org" }],
      },
    ],
  });
  assert.deepEqual(r.recipients.map((x) => x.address), ["a@example.org", "b@example.org"]);
  assert.deepEqual(r.recipients.map((x) => `${x.class} ${x.transport}:${x.nexthop}`), [
    "default smtp:example.org",
    "default smtp:example.org",
  ]);
});

Deno.test("route: an expansion limit shows the tree so far and the error", async () => {
  const r = await explain({
    virtual_alias_domains: "alias.test",
    virtual_alias_maps: "inline:{ {big@alias.test=a@x.test, b@x.test, c@x.test} }",
    virtual_alias_expansion_limit: "2",
  }, { address: "big@alias.test" });
  assert.match(r.expansion[0].error!, /more than virtual_alias_expansion_limit \(2\)/);
  assert.deepEqual(r.recipients, []);
  assert.match(formatRoute(r), /ERROR: .*virtual_alias_expansion_limit.*451 4\.6\.0/);
});

Deno.test("route: relocated is rejected at RCPT and routed to error at delivery", async () => {
  const r = await explain(
    { relocated_maps: "inline:{ old@mail.example.com=new@example.org }" },
    { address: "old@mail.example.com" },
  );
  assert.deepEqual(r.rcpt, {
    accepted: false,
    reply:
      "550 5.1.6 <old@mail.example.com>: Recipient address rejected: User has moved to new@example.org",
  });
  assert.deepEqual(
    r.recipients.map((x) => [x.transport, x.nexthop, x.relocated]),
    [["error", "5.1.6 User has moved to new@example.org", "new@example.org"]],
  );
  assert.ok(
    r.lookups.some((l) =>
      l.phase === "resolve" && l.param === "relocated_maps" && l.key === "old@mail.example.com" &&
      l.result === "new@example.org"
    ),
  );
});

Deno.test("route: access tables and relay permission depend on --client and --sender", async () => {
  const values = {
    mynetworks: "127.0.0.0/8",
    smtpd_sender_restrictions: "check_sender_access inline:{ {spam@bad.test=REJECT no thanks} }",
  };
  const inside = await explain(values, { address: "x@far.test", client: "127.0.0.1" });
  assert.equal(inside.rcpt.accepted, true);
  const outside = await explain(values, { address: "x@far.test", client: "192.0.2.7" });
  assert.equal(outside.rcpt.reply, "454 4.7.1 <x@far.test>: Relay access denied");
  const spam = await explain(values, { address: "x@far.test", sender: "spam@bad.test" });
  assert.equal(spam.rcpt.reply, "554 5.7.1 <spam@bad.test>: Sender address rejected: no thanks");
  assert.deepEqual(
    spam.lookups.filter((l) => l.param === "check_sender_access").map((l) => [l.key, l.result]),
    [["spam@bad.test", "REJECT no thanks"]],
  );
});

Deno.test("route: human output has the sections, the tree and the lookups", async () => {
  const r = await explain({
    virtual_alias_domains: "alias.test",
    virtual_alias_maps: "inline:{ a@alias.test=b@alias.test, b@alias.test=c@example.org }",
  }, { address: "a@alias.test" });
  const text = formatRoute(r);
  assert.match(text, /^Route of a@alias\.test$/m);
  assert.match(text, /ACCEPTED: 250 2\.1\.5 Ok/);
  assert.ok(
    text.includes("  a@alias.test\n  └─ b@alias.test\n     └─ c@example.org  (final)"),
    text,
  );
  assert.match(text, /c@example\.org\s+default\s+no domain list\s+smtp:example\.org/);
  assert.match(text, /expansion\s+virtual_alias_maps\s+inline:.*\s+b@alias\.test\s+c@example\.org/);
});
