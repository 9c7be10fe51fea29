// Address masquerading (masquerade.ts) with postconf(5) masquerade_domains examples.
import assert from "node:assert/strict";
import {
  masqueradeAddress,
  masqueradeDomain,
  parseMasqueradeDomains,
} from "../../src/rewrite/masquerade.ts";

const never = () => Promise.resolve(false);

Deno.test("seed 003: armand@toguyeni.netos.net → armand@netos.net", async () => {
  const entries = parseMasqueradeDomains(["netos.net"]);
  assert.equal(
    await masqueradeAddress("armand@toguyeni.netos.net", entries, never),
    "armand@netos.net",
  );
  assert.equal(await masqueradeAddress("armand@a.b.netos.net", entries, never), "armand@netos.net");
  assert.equal(await masqueradeAddress("armand@netos.net", entries, never), "armand@netos.net");
  assert.equal(
    await masqueradeAddress("armand@notnetos.net", entries, never),
    "armand@notnetos.net",
  );
});

Deno.test("postconf(5): '!sub.example.com, example.com' keeps sub.example.com; order matters", () => {
  const entries = parseMasqueradeDomains(["!sub.example.com", "example.com"]);
  assert.equal(masqueradeDomain("sub.example.com", entries), undefined);
  assert.equal(masqueradeDomain("host.sub.example.com", entries), undefined);
  assert.equal(masqueradeDomain("host.other.example.com", entries), "example.com");
  // The first matching entry decides: a parent listed first wins.
  const reversed = parseMasqueradeDomains(["example.com", "!sub.example.com"]);
  assert.equal(masqueradeDomain("host.sub.example.com", reversed), "example.com");
});

Deno.test("a longer listed domain keeps its subdomain level ('foo.example.com, example.com')", () => {
  const entries = parseMasqueradeDomains(["foo.example.com", "example.com"]);
  assert.equal(masqueradeDomain("host.foo.example.com", entries), "foo.example.com");
  assert.equal(masqueradeDomain("host.bar.example.com", entries), "example.com");
});

Deno.test("'!!x' is x; empty entries are skipped; case is ignored", () => {
  assert.deepEqual(parseMasqueradeDomains(["!!Example.COM", "!", ""]), [
    { domain: "example.com", strip: true },
  ]);
  assert.equal(
    masqueradeDomain("Host.EXAMPLE.com", parseMasqueradeDomains(["example.com"])),
    "example.com",
  );
});

Deno.test("masquerade_exceptions: a listed user keeps the full domain; no domain, no change", async () => {
  const entries = parseMasqueradeDomains(["netos.net"]);
  const rootOnly = (user: string) => Promise.resolve(user === "root");
  assert.equal(
    await masqueradeAddress("Root@host.netos.net", entries, rootOnly),
    "Root@host.netos.net",
  );
  assert.equal(await masqueradeAddress("joe@host.netos.net", entries, rootOnly), "joe@netos.net");
  assert.equal(await masqueradeAddress("joe", entries, rootOnly), "joe");
  assert.equal(await masqueradeAddress("", entries, rootOnly), "");
});
