import assert from "node:assert/strict";
import { clientHostname } from "../../src/dns/client_name.ts";
import { createResolver, type ResolveDns } from "../../src/dns/resolver.ts";

/** A fake DNS: answers from a table; anything else is NXDOMAIN (Deno's NotFound). */
function fakeDns(records: Record<string, string[]>): ResolveDns {
  return (name, type) => {
    const answer = records[`${type} ${name}`];
    return answer ? Promise.resolve(answer) : Promise.reject(new Deno.errors.NotFound(name));
  };
}

Deno.test("the client name is the first PTR name that resolves back to the address", async () => {
  const resolver = createResolver({
    resolveDns: fakeDns({
      "PTR 9.2.0.192.in-addr.arpa": ["Spoofed.Example.", "mx.client.example."],
      "A spoofed.example": ["192.0.2.66"],
      "A mx.client.example": ["192.0.2.9"],
    }),
  });
  assert.equal(await clientHostname("192.0.2.9", resolver), "mx.client.example");
  assert.equal(await clientHostname("::ffff:192.0.2.9", resolver), "mx.client.example");
});

Deno.test("no PTR, no matching forward record, or a bad name: unknown", async () => {
  const resolver = createResolver({
    resolveDns: fakeDns({
      "PTR 10.2.0.192.in-addr.arpa": ["liar.example."],
      "A liar.example": ["192.0.2.99"],
      "PTR 11.2.0.192.in-addr.arpa": ["bad_name!.example."],
    }),
  });
  assert.equal(await clientHostname("192.0.2.10", resolver), undefined);
  assert.equal(await clientHostname("192.0.2.11", resolver), undefined);
  assert.equal(await clientHostname("192.0.2.12", resolver), undefined);
  assert.equal(await clientHostname("not an address", resolver), undefined);
});

Deno.test("a resolver that never answers gives up after its timeout", async () => {
  const hang: ResolveDns = (_n, _t, { signal }) =>
    new Promise((_, reject) => signal.addEventListener("abort", () => reject(signal.reason)));
  const resolver = createResolver({ resolveDns: hang, timeoutMs: 50 });
  assert.equal(await clientHostname("192.0.2.9", resolver), undefined);
});
