// postconf(5) relayhost (Postfix 3.5): a nexthop may list destinations
// separated by comma or whitespace; each one keeps transport(5) nexthop syntax.
import assert from "node:assert/strict";
import { parseNexthop, splitNexthopList } from "../../src/dns/nexthop.ts";

Deno.test("splitNexthopList: comma and whitespace separate destinations, in order", () => {
  assert.deepEqual(splitNexthopList("[a.test]:587, [b.test]:587"), [
    "[a.test]:587",
    "[b.test]:587",
  ]);
  assert.deepEqual(splitNexthopList(" mail1.example:587 ,mail2.example\t[192.0.2.1]\n"), [
    "mail1.example:587",
    "mail2.example",
    "[192.0.2.1]",
  ]);
  assert.deepEqual(splitNexthopList("[ipv6:2001:db8::1]:25,example.com"), [
    "[ipv6:2001:db8::1]:25",
    "example.com",
  ]);
  assert.deepEqual(splitNexthopList("example.com"), ["example.com"]);
});

Deno.test("splitNexthopList: an empty list stays one destination, which parseNexthop rejects", () => {
  assert.deepEqual(splitNexthopList(" , "), [""]);
  assert.throws(() => parseNexthop(splitNexthopList(" , ")[0]), /bad nexthop ""/);
});
