/** relayhost and transport_maps routing (postconf(5) relayhost, transport(5)). */
import assert from "node:assert/strict";
import { MailError } from "../../src/errors.ts";
import { overrideRoute, Rewriter } from "../../src/rewrite/mod.ts";
import { testConfig, testTables } from "./helpers.ts";

function rewriter(values: Record<string, string> = {}) {
  const tables = testTables();
  const r = new Rewriter(
    testConfig({ relay_domains: "relay.test", virtual_mailbox_domains: "box.test", ...values }),
    { openTable: tables.open, systemAddresses: () => ["127.0.0.1"] },
  );
  return { r, tables };
}

const route = async (r: Rewriter, address: string) => {
  const { transport, nexthop } = await r.resolve(address);
  return `${transport}:${nexthop}`;
};

Deno.test("relayhost: the nexthop of default and relay mail, brackets kept; local and virtual untouched", async () => {
  const { r } = rewriter({ relayhost: "[gw.example.net]:2525" });
  assert.equal(await route(r, "u@far.test"), "smtp:[gw.example.net]:2525");
  assert.equal(await route(r, "u@relay.test"), "relay:[gw.example.net]:2525");
  assert.equal(await route(r, "u@box.test"), "virtual:box.test");
  assert.equal(await route(r, "alice"), "local:mail.example.com");
  // resolve.c: an explicit nexthop in default_transport wins over relayhost.
  const own = rewriter({ relayhost: "gw.example.net", default_transport: "smtp:[other.net]" }).r;
  assert.equal(await route(own, "u@far.test"), "smtp:[other.net]");
  assert.equal(await route(rewriter().r, "u@far.test"), "smtp:far.test");
});

Deno.test("transport_maps: full address, then domain, then .parent; first match wins", async () => {
  const { r } = rewriter({
    relayhost: "[gw.example.net]",
    transport_maps: "inline:{ {u@far.test = lmtp:unix:/run/lmtp}, " +
      "{far.test = smtp:[mx.far.test]:587}, {.sub.test = relay:}, {box.test = :[vgw]}, " +
      "{local.test = local}, {nope.test = error:5.1.2 no such domain}, {gone.test = error:}, " +
      "{drop.test = discard:silently}, {keep.test = :} }",
  });
  assert.equal(await route(r, "u@far.test"), "lmtp:unix:/run/lmtp");
  assert.equal(await route(r, "other@far.test"), "smtp:[mx.far.test]:587");
  // ".sub.test" matches subdomains only; "transport:" resets the nexthop to the recipient domain.
  assert.equal(await route(r, "u@a.b.sub.test"), "relay:a.b.sub.test");
  assert.equal(await route(r, "u@sub.test"), "smtp:[gw.example.net]");
  // ":nexthop" keeps the class transport.
  assert.equal(await route(r, "u@box.test"), "virtual:[vgw]");
  assert.equal(await route(r, "u@local.test"), "local:local.test");
  assert.equal(await route(r, "u@nope.test"), "error:5.1.2 no such domain");
  assert.equal(await route(r, "u@gone.test"), "error:Address is undeliverable");
  assert.equal(await route(r, "u@drop.test"), "discard:silently");
  // ":" changes nothing.
  assert.equal(await route(r, "u@keep.test"), "smtp:[gw.example.net]");
});

Deno.test("transport_maps: address extension and the * wildcard", async () => {
  const { r } = rewriter({
    recipient_delimiter: "+",
    transport_maps: "inline:{ {u@far.test = smtp:[a]}, {* = smtp:[fallback]} }",
  });
  assert.equal(await route(r, "u+tag@far.test"), "smtp:[a]");
  assert.equal(await route(r, "v@far.test"), "smtp:[fallback]");
});

Deno.test("transport_maps: parent_domain_matches_subdomains makes 'domain' match subdomains", async () => {
  const tables = "inline:{ {far.test = smtp:[p]} }";
  const dotted = rewriter({ transport_maps: tables }).r;
  assert.equal(await route(dotted, "u@x.far.test"), "smtp:x.far.test");
  const parent = rewriter({
    transport_maps: tables,
    parent_domain_matches_subdomains: "transport_maps",
  }).r;
  assert.equal(await route(parent, "u@x.far.test"), "smtp:[p]");
});

Deno.test("transport_maps: a failing table is a temporary resolve error", async () => {
  const { r } = rewriter({ transport_maps: "fail:disk on fire" });
  await assert.rejects(r.resolve("u@far.test"), (e: unknown) => {
    assert.ok(e instanceof MailError);
    assert.equal(e.code, 451);
    assert.equal(e.enhanced, "4.3.0");
    return true;
  });
});

Deno.test("overrideRoute: transport(5) RESULT FORMAT", () => {
  const base = { transport: "smtp", nexthop: "[gw]" };
  assert.deepEqual(overrideRoute(base, ":", "d.test"), base);
  assert.deepEqual(overrideRoute(base, "", "d.test"), base);
  assert.deepEqual(overrideRoute(base, ":[x]:25", "d.test"), {
    transport: "smtp",
    nexthop: "[x]:25",
  });
  assert.deepEqual(overrideRoute(base, "relay:", "d.test"), {
    transport: "relay",
    nexthop: "d.test",
  });
  assert.deepEqual(overrideRoute(base, "relay", "d.test"), {
    transport: "relay",
    nexthop: "d.test",
  });
  assert.deepEqual(overrideRoute(base, "lmtp:inet:h:24", "d.test"), {
    transport: "lmtp",
    nexthop: "inet:h:24",
  });
});
