import assert from "node:assert/strict";
import { clientHostname, type Resolve, reverseName } from "../../src/net/dns.ts";

Deno.test("reverse names: in-addr.arpa and ip6.arpa nibbles", () => {
  assert.equal(reverseName("192.0.2.9"), "9.2.0.192.in-addr.arpa");
  assert.equal(reverseName("::ffff:192.0.2.9"), "9.2.0.192.in-addr.arpa");
  assert.equal(
    reverseName("2001:db8::1"),
    "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa",
  );
  assert.equal(reverseName("not-an-ip"), undefined);
});

/** A fake DNS: PTR and A/AAAA answers from a table; anything else is NXDOMAIN. */
function fakeDns(records: Record<string, string[]>): Resolve {
  return (name, type) => {
    const answer = records[`${type} ${name}`];
    return answer ? Promise.resolve(answer) : Promise.reject(new Deno.errors.NotFound(name));
  };
}

Deno.test("the client name is the first PTR name that resolves back to the address", async () => {
  const resolve = fakeDns({
    "PTR 9.2.0.192.in-addr.arpa": ["Spoofed.Example.", "mx.client.example."],
    "A spoofed.example": ["192.0.2.66"],
    "A mx.client.example": ["192.0.2.9"],
  });
  assert.equal(await clientHostname("192.0.2.9", { resolve }), "mx.client.example");
});

Deno.test("no PTR, no matching forward record, or a bad name: unknown", async () => {
  const resolve = fakeDns({
    "PTR 10.2.0.192.in-addr.arpa": ["liar.example."],
    "A liar.example": ["192.0.2.99"],
    "PTR 11.2.0.192.in-addr.arpa": ["bad_name!.example."],
  });
  assert.equal(await clientHostname("192.0.2.10", { resolve }), undefined);
  assert.equal(await clientHostname("192.0.2.11", { resolve }), undefined);
  assert.equal(await clientHostname("192.0.2.12", { resolve }), undefined);
});

Deno.test("a resolver that never answers gives up after the timeout", async () => {
  const hang: Resolve = (_n, _t, { signal }) =>
    new Promise((_, reject) => signal.addEventListener("abort", () => reject(signal.reason)));
  assert.equal(await clientHostname("192.0.2.9", { resolve: hang, timeoutMs: 50 }), undefined);
});
