/** GET /v1/route: the explainer over the running configuration. */
import assert from "node:assert/strict";
import type { RouteReport } from "../../src/route/explain.ts";
import { assertError, okJson, withHarness } from "./helpers.ts";

const VALUES = {
  myhostname: "mail.example.com",
  mydestination: "$myhostname",
  inet_interfaces: "loopback-only",
  alias_maps: "",
  local_recipient_maps: "",
  virtual_alias_domains: "alias.test",
  virtual_alias_maps: "inline:{ {team@alias.test=ann@mail.example.com, bob@example.org} }",
};

Deno.test("GET /v1/route explains a recipient like facteur route --json", async () => {
  await withHarness(async (h) => {
    const r = await okJson(
      await h.call("/v1/route?address=team@alias.test&sender=s@example.org&client=192.0.2.9"),
    ) as RouteReport;
    assert.deepEqual(r.input, {
      address: "team@alias.test",
      sender: "s@example.org",
      client: "192.0.2.9",
      helo: "localhost",
      service: null,
    });
    assert.equal(r.rcpt.accepted, true);
    assert.deepEqual(r.expansion[0].addresses, ["ann@mail.example.com", "bob@example.org"]);
    assert.deepEqual(
      r.recipients.map((x) => `${x.transport}:${x.nexthop}`),
      ["local:mail.example.com", "smtp:example.org"],
    );
  }, VALUES);
});

Deno.test("GET /v1/route: a missing or bad parameter is a 400 naming it", async () => {
  await withHarness(async (h) => {
    await assertError(
      await h.call("/v1/route"),
      400,
      "invalid_parameter",
      "address: an address is required",
    );
    await assertError(
      await h.call("/v1/route?address=a@b.test&client=nowhere"),
      400,
      "invalid_parameter",
      "client",
    );
    await assertError(
      await h.call("/v1/route?address=a@b.test&x=1"),
      400,
      "invalid_parameter",
      "x",
    );
    assert.equal((await h.anonymous("/v1/route?address=a@b.test")).status, 401);
  }, VALUES);
});

Deno.test("GET /v1/route: local(8)'s alias expansion and mailboxes in `local`", async () => {
  await withHarness(async (h) => {
    const r = await okJson(await h.call("/v1/route?address=team@mail.example.com")) as RouteReport;
    assert.equal(r.local.length, 1);
    assert.equal(r.local[0].recipient, "team@mail.example.com");
    assert.equal(r.local[0].transport, "local");
    assert.equal(r.local[0].error, null);
    assert.deepEqual(
      r.local[0].deliveries.map((d) => [
        d.trail.map((hop) => `${hop.address} (${hop.via})`).join(" → "),
        d.status,
        d.target?.kind === "mailbox" ? d.target.path : d.reason,
      ]),
      [
        [
          "team@mail.example.com (recipient) → ann@mail.example.com (alias_maps team)",
          "sent",
          "/srv/facteur-homes/ann/Maildir/",
        ],
        [
          "team@mail.example.com (recipient) → |/usr/bin/procmail (alias_maps team)",
          "bounced",
          'delivery to commands is not supported yet: "|/usr/bin/procmail"',
        ],
      ],
    );
    assert.deepEqual(
      r.lookups.filter((l) => l.phase === "local" && l.param === "alias_maps").map((l) => l.key),
      ["team", "owner-team", "ann"],
    );
  }, {
    ...VALUES,
    alias_maps: "inline:{ {team=ann, |/usr/bin/procmail} }",
    local_recipient_maps: "inline:{ ann=1 }",
    home_mailbox: "Maildir/",
    local_home_base: "/srv/facteur-homes",
  });
});
