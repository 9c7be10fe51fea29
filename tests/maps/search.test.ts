import assert from "node:assert/strict";
import { ConfigError } from "../../src/errors.ts";
import {
  accessAddressKeys,
  addressKeys,
  aliasKeys,
  clientKeys,
  domainKeys,
  ipKeys,
  openMap,
  type SearchKey,
  searchTables,
  splitExtension,
  transportKeys,
} from "../../src/maps/mod.ts";

/** Keys as "key" for full and "~key" for partial ones, to keep expectations readable. */
const show = (keys: SearchKey[]) => keys.map((k) => (k.partial ? "~" : "") + k.key);

Deno.test("splitExtension: first delimiter, reserved names, owner-/-request", () => {
  const plus = { recipientDelimiter: "+" };
  assert.deepEqual(splitExtension("user+foo+bar", plus), { user: "user", extension: "+foo+bar" });
  assert.deepEqual(splitExtension("user", plus), { user: "user" });
  assert.deepEqual(splitExtension("+foo", plus), { user: "+foo" });
  assert.deepEqual(splitExtension("Postmaster+x", plus), { user: "Postmaster", extension: "+x" });
  assert.deepEqual(splitExtension("PostMaster", { recipientDelimiter: "a" }), {
    user: "PostMaster",
  });
  assert.deepEqual(splitExtension("mailer-daemon", { recipientDelimiter: "-" }), {
    user: "mailer-daemon",
  });
  assert.deepEqual(splitExtension("user-foo", { recipientDelimiter: "+-" }), {
    user: "user",
    extension: "-foo",
  });
  assert.deepEqual(splitExtension("owner-list", { recipientDelimiter: "-" }), {
    user: "owner-list",
  });
  assert.deepEqual(splitExtension("list-request", { recipientDelimiter: "-" }), {
    user: "list-request",
  });
  assert.deepEqual(
    splitExtension("owner-list", { recipientDelimiter: "-", ownerRequestSpecial: false }),
    { user: "owner", extension: "-list" },
  );
  assert.deepEqual(splitExtension("user+foo", { recipientDelimiter: "" }), { user: "user+foo" });
});

Deno.test("addressKeys: virtual(5)/canonical(5) order", () => {
  const opts = { recipientDelimiter: "+" };
  assert.deepEqual(show(addressKeys("user+foo@example.com", opts)), [
    "user+foo@example.com",
    "~user@example.com",
    "~@example.com",
  ]);
  assert.deepEqual(
    show(addressKeys("user+foo@example.com", { ...opts, stripDomainForLocal: true })),
    [
      "user+foo@example.com",
      "~user@example.com",
      "~user+foo",
      "~user",
      "~@example.com",
    ],
  );
  assert.deepEqual(show(addressKeys("user@example.com", { ...opts, stripDomainForLocal: true })), [
    "user@example.com",
    "~user",
    "~@example.com",
  ]);
  assert.deepEqual(show(addressKeys("user+foo", opts)), ["user+foo", "~user"]);
  const bare = addressKeys("user+foo@example.com", opts)[1];
  assert.equal(
    bare.extension,
    "+foo",
    "the stripped extension is reported for propagate_unmatched_extensions",
  );
});

Deno.test("accessAddressKeys: access(5) order with parent domains", () => {
  const opts = { recipientDelimiter: "+" };
  assert.deepEqual(show(accessAddressKeys("user+foo@mail.example.com", opts)), [
    "user+foo@mail.example.com",
    "~user@mail.example.com",
    "~mail.example.com",
    "~example.com",
    "~com",
    "~user+foo@",
    "~user@",
  ]);
  assert.deepEqual(show(accessAddressKeys("user@example.com", { ...opts, parentMatches: false })), [
    "user@example.com",
    "~example.com",
    "~.com",
    "~user@",
  ]);
});

Deno.test("domainKeys, ipKeys and clientKeys: access(5) host name/address patterns", () => {
  assert.deepEqual(show(domainKeys("a.b.example.com", true)), [
    "a.b.example.com",
    "~b.example.com",
    "~example.com",
    "~com",
  ]);
  assert.deepEqual(show(domainKeys("a.example.com", false)), [
    "a.example.com",
    "~.example.com",
    "~.com",
  ]);
  assert.deepEqual(
    show(domainKeys("1.2.3.4", true)),
    ["1.2.3.4"],
    "no parent lookups for a numeric host",
  );
  assert.deepEqual(show(domainKeys("", true)), []);
  assert.deepEqual(show(ipKeys("1.2.3.4")), ["1.2.3.4", "~1.2.3", "~1.2", "~1"]);
  assert.deepEqual(show(ipKeys("2001:db8::1")), [
    "2001:db8::1",
    "~2001:db8:",
    "~2001:db8",
    "~2001",
  ]);
  assert.deepEqual(show(clientKeys("mx.example.com", "192.0.2.1")), [
    "mx.example.com",
    "~example.com",
    "~com",
    "192.0.2.1",
    "~192.0.2",
    "~192.0",
    "~192",
  ]);
});

Deno.test("transportKeys and aliasKeys", () => {
  assert.deepEqual(show(transportKeys("user+ext@sub.example.com", { recipientDelimiter: "+" })), [
    "user+ext@sub.example.com",
    "~user@sub.example.com",
    "~sub.example.com",
    "~.example.com",
    "~.com",
    "*",
  ]);
  assert.deepEqual(show(aliasKeys("User+Ext", { recipientDelimiter: "+" })), ["user+ext", "~user"]);
});

Deno.test("searchTables: key order across tables, pattern tables only see full keys", async () => {
  const virtual = openMap("inline:{ user@example.com=exact, @example.com=catchall }");
  const regexp = openMap("regexp:{ {/^user@/ from-regexp} }");
  const keys = addressKeys("user+x@example.com", { recipientDelimiter: "+" });
  const found = await searchTables([regexp, virtual], keys);
  assert.equal(
    found?.value,
    "exact",
    "the regexp table is not asked for the partial key user@example.com",
  );
  assert.equal(found?.key.extension, "+x");
  assert.equal(found?.table, virtual);
  assert.equal(
    (await searchTables(
      [regexp, virtual],
      addressKeys("user@example.com", { recipientDelimiter: "+" }),
    ))?.value,
    "from-regexp",
  );
  assert.equal(
    await searchTables([virtual], addressKeys("x@other.org", { recipientDelimiter: "+" })),
    undefined,
  );
  const broken = openMap("regexp:{ {/^(y?)z?$/ $1} }");
  assert.equal(
    await searchTables([broken], [{ key: "", partial: false }]),
    undefined,
    "empty keys are skipped",
  );
  await assert.rejects(searchTables([broken], [{ key: "z", partial: false }]), ConfigError);
});
