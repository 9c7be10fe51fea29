/**
 * src/maps/ip.ts: the one IP address module (cidr: tables, network lists,
 * client addresses). Addresses are documentation ranges (RFC 5737, RFC 3849)
 * and loopback, as strings only.
 */
import assert from "node:assert/strict";
import {
  formatIp,
  mapToIPv6,
  maskAddress,
  normalizeAddress,
  parseClientAddress,
  parseIp,
  parseIPv4,
  parseIPv6,
  samePrefix,
  unmapIPv4,
} from "../../src/maps/ip.ts";

const bytes = (text: string) => {
  const ip = parseClientAddress(text);
  return ip && [...ip.bytes];
};

Deno.test("ip: inet_pton strictness and inet_ntop formatting", () => {
  const round = (text: string) => {
    const ip = parseIp(text);
    return ip && formatIp(ip);
  };
  assert.equal(round("2001:0db8:0000:0000:0000:0000:0000:0001"), "2001:db8::1");
  assert.equal(round("1:2:3:4:5:6:7::"), "1:2:3:4:5:6:7:0");
  assert.equal(round("::"), "::");
  assert.equal(round("::1"), "::1");
  assert.equal(round("::1.2.3.4"), "::1.2.3.4");
  assert.equal(round("1:0:0:2:0:0:0:3"), "1:0:0:2::3");
  assert.equal(round("255.255.255.255"), "255.255.255.255");
  for (
    const bad of [
      "256.1.1.1",
      "1.2.3",
      "1.2.3.4.5",
      "01.2.3.4",
      " 1.2.3.4",
      "1::2::3",
      "12345::",
      "1.2.3.4::",
      "1:2:3:4:5:6:7:8:9",
      "",
    ]
  ) {
    assert.equal(parseIp(bad), undefined, bad);
  }
});

Deno.test("IPv6 text forms expand to the same bytes", () => {
  // Carried over from tests/net/cidr_test.ts (addressBytes).
  assert.deepEqual(bytes("::1"), bytes("0:0:0:0:0:0:0:1"));
  assert.deepEqual(bytes("[2001:db8::1]"), bytes("2001:0db8:0:0:0:0:0:1"));
  assert.deepEqual(bytes("2001:db8::1"), [0x20, 1, 0x0d, 0xb8, ...new Array(11).fill(0), 1]);
  // IPv4-translated (::ffff:0:a.b.c.d) is not IPv4-mapped: it stays IPv6.
  assert.deepEqual(bytes("::ffff:0:192.0.2.1")?.slice(12), [192, 0, 2, 1]);
  assert.equal(parseClientAddress("::ffff:0:192.0.2.1")?.family, 6);
  assert.equal(bytes("300.1.1.1"), undefined);
  assert.deepEqual([...parseIPv4("192.0.2.1")!], [192, 0, 2, 1]);
  assert.equal(parseIPv6("192.0.2.1"), undefined);
  assert.equal(parseIPv4("::1"), undefined);
});

Deno.test("client addresses: brackets, IPv6: tag, zone and IPv4-mapped forms (smtpd_peer.c)", () => {
  assert.deepEqual(parseClientAddress("::ffff:127.0.0.1"), parseIp("127.0.0.1"));
  assert.deepEqual(parseClientAddress("::FFFF:7f00:1"), parseIp("127.0.0.1"));
  assert.deepEqual(parseClientAddress("[127.0.0.1]"), parseIp("127.0.0.1"));
  assert.deepEqual(parseClientAddress("[IPv6:::1]"), parseIp("::1"));
  assert.deepEqual(parseClientAddress("fe80::1%eth0"), parseIp("fe80::1"));
  assert.equal(parseClientAddress("unknown"), undefined);
  assert.equal(parseClientAddress(""), undefined);
  // parseIp is the strict inet_pton form: none of those decorations.
  for (const text of ["[127.0.0.1]", "IPv6:::1", "fe80::1%eth0"]) {
    assert.equal(parseIp(text), undefined, text);
  }
  // ...and it keeps a mapped address as IPv6, as cidr_table(5) compares keys.
  assert.equal(parseIp("::ffff:127.0.0.1")?.family, 6);
});

Deno.test("IPv4-mapped IPv6 both ways", () => {
  const v4 = parseIp("192.0.2.1")!;
  const mapped = mapToIPv6(v4);
  assert.equal(formatIp(mapped), "::ffff:192.0.2.1");
  assert.deepEqual(unmapIPv4(mapped), v4);
  const v6 = parseIp("2001:db8::1")!;
  assert.equal(mapToIPv6(v6), v6);
  assert.equal(unmapIPv4(v6), v6);
  assert.equal(unmapIPv4(v4), v4);
});

Deno.test("normalizeAddress gives Postfix's key form; other text is unchanged", () => {
  // Carried over from tests/net/cidr_test.ts.
  assert.equal(normalizeAddress("::ffff:127.0.0.1"), "127.0.0.1");
  assert.equal(normalizeAddress("::ffff:192.0.2.1"), "192.0.2.1");
  assert.equal(normalizeAddress("2001:DB8:0:0:0:0:0:1"), "2001:db8::1");
  assert.equal(normalizeAddress("2001:db8:0:1:0:0:0:0"), "2001:db8:0:1::");
  assert.equal(normalizeAddress("2001:db8:0:1:1:1:1:1"), "2001:db8:0:1:1:1:1:1");
  assert.equal(normalizeAddress("[IPv6:::1]"), "::1");
  assert.equal(normalizeAddress("fe80::1%eth0"), "fe80::1");
  assert.equal(normalizeAddress("127.0.0.1"), "127.0.0.1");
  assert.equal(normalizeAddress("garbage"), "garbage");
  assert.equal(normalizeAddress(""), "");
});

Deno.test("prefix matching: whole and partial bytes, families never mix", () => {
  const ip = (text: string) => parseIp(text)!.bytes;
  assert.ok(samePrefix(ip("10.1.2.3"), ip("10.0.0.0"), 9));
  assert.ok(!samePrefix(ip("10.128.0.1"), ip("10.0.0.0"), 9));
  assert.ok(samePrefix(ip("192.0.2.127"), ip("192.0.2.0"), 25));
  assert.ok(!samePrefix(ip("192.0.2.128"), ip("192.0.2.0"), 25));
  assert.ok(samePrefix(ip("203.0.113.9"), ip("0.0.0.0"), 0));
  assert.ok(samePrefix(ip("2001:db8:ffff::25"), ip("2001:db8::"), 32));
  assert.ok(!samePrefix(ip("2001:db9::1"), ip("2001:db8::"), 32));
  assert.ok(samePrefix(ip("::1"), ip("::1"), 128));
  assert.ok(!samePrefix(ip("::2"), ip("::1"), 128));
  assert.ok(!samePrefix(ip("0.0.0.0"), ip("::"), 0));
  assert.deepEqual([...maskAddress(ip("192.0.2.255"), 25)], [192, 0, 2, 128]);
  assert.deepEqual([...maskAddress(ip("10.0.0.1"), 8)], [10, 0, 0, 0]);
  assert.equal(formatIp({ family: 6, bytes: maskAddress(ip("2001:db8::1"), 32) }), "2001:db8::");
});
