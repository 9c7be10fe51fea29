import assert from "node:assert/strict";
import { addressBytes, matchNetworks, normalizeAddress } from "../../src/net/cidr.ts";

Deno.test("mynetworks-style lists match IPv4 and IPv6 clients by prefix", () => {
  const mynetworks = ["127.0.0.0/8", "[::1]/128", "192.0.2.0/25", "[2001:db8::]/32"];
  assert.ok(matchNetworks("127.3.2.1", mynetworks));
  assert.ok(matchNetworks("::1", mynetworks));
  assert.ok(matchNetworks("192.0.2.127", mynetworks));
  assert.ok(!matchNetworks("192.0.2.128", mynetworks));
  assert.ok(matchNetworks("2001:db8:ffff::25", mynetworks));
  assert.ok(!matchNetworks("2001:db9::1", mynetworks));
  assert.ok(!matchNetworks("10.0.0.1", mynetworks));
  assert.ok(!matchNetworks("10.0.0.1", []));
});

Deno.test("IPv4 clients on a dual-stack socket (::ffff:a.b.c.d) match IPv4 networks", () => {
  assert.equal(normalizeAddress("::ffff:127.0.0.1"), "127.0.0.1");
  assert.ok(matchNetworks("::ffff:127.0.0.1", ["127.0.0.0/8"]));
});

Deno.test("bare addresses, '!' exclusions, non-prefix bits and junk entries", () => {
  assert.ok(matchNetworks("192.0.2.7", ["192.0.2.7"]));
  assert.ok(!matchNetworks("192.0.2.8", ["192.0.2.7"]));
  // First match decides (postconf(5) "!pattern").
  assert.ok(!matchNetworks("192.0.2.7", ["!192.0.2.7", "192.0.2.0/24"]));
  assert.ok(matchNetworks("192.0.2.8", ["!192.0.2.7", "192.0.2.0/24"]));
  assert.ok(matchNetworks("10.1.2.3", ["10.0.0.0/9"]));
  assert.ok(!matchNetworks("10.128.0.1", ["10.0.0.0/9"]));
  // Host names, tables and bad prefixes are not networks: they never match here.
  assert.ok(!matchNetworks("127.0.0.1", ["localhost", "hash:/etc/x", "127.0.0.0/33"]));
  assert.ok(!matchNetworks("not-an-ip", ["0.0.0.0/0"]));
  assert.ok(matchNetworks("203.0.113.9", ["0.0.0.0/0"]));
});

Deno.test("IPv6 text forms expand to the same bytes", () => {
  assert.deepEqual(addressBytes("::1"), addressBytes("0:0:0:0:0:0:0:1"));
  assert.deepEqual(addressBytes("[2001:db8::1]"), addressBytes("2001:0db8:0:0:0:0:0:1"));
  assert.deepEqual(
    [...addressBytes("::ffff:0:192.0.2.1")!.subarray(12)],
    [192, 0, 2, 1],
  );
  assert.equal(addressBytes("300.1.1.1"), undefined);
});
