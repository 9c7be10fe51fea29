/**
 * mynetworks-style lists (postconf(5) mynetworks). Addresses from the
 * documentation ranges (RFC 5737, RFC 3849) are only strings here: no
 * traffic is sent anywhere.
 */
import assert from "node:assert/strict";
import { ConfigError } from "../../src/errors.ts";
import { openMap } from "../../src/maps/mod.ts";
import { compileNetworks, matchNetworks } from "../../src/maps/networks.ts";
import { matchNetworks as reexported } from "../../src/smtpd/policy.ts";

const match = (ip: string, patterns: string[], hostname?: string) =>
  compileNetworks(patterns, { openTable: (s) => openMap(s) }).match(ip, hostname);

Deno.test("IPv4 CIDR blocks and single addresses", async () => {
  const list = ["127.0.0.0/8", "192.0.2.7", "198.51.100.0/28"];
  assert.equal(await match("127.0.0.1", list), true);
  assert.equal(await match("127.255.255.254", list), true);
  assert.equal(await match("128.0.0.1", list), false);
  assert.equal(await match("192.0.2.7", list), true);
  assert.equal(await match("192.0.2.8", list), false);
  assert.equal(await match("198.51.100.15", list), true);
  assert.equal(await match("198.51.100.16", list), false);
  assert.equal(await match("203.0.113.1", ["0.0.0.0/0"]), true);
});

Deno.test("IPv6: [addr]/len and [addr] forms, compressed or not", async () => {
  const list = ["[::1]/128", "[2001:db8::]/32", "[2001:db8:1::5]"];
  assert.equal(await match("::1", list), true);
  assert.equal(await match("::2", list), false);
  assert.equal(await match("2001:db8:ffff::1", list), true);
  assert.equal(await match("2001:0DB8:0000:0000:0000:0000:0000:0009", list), true);
  assert.equal(await match("2001:db9::1", list), false);
  assert.equal(await match("2001:db8:1:0:0:0:0:5", ["[2001:db8:1::5]"]), true);
  // An IPv6 list entry never matches an IPv4 client and vice versa.
  assert.equal(await match("127.0.0.1", ["[::1]/128"]), false);
  assert.equal(await match("::1", ["127.0.0.0/8"]), false);
  // Leniency: the same forms without brackets are addresses, not "type:table".
  assert.equal(await match("2001:db8::1", ["2001:db8::/32"]), true);
});

Deno.test("IPv4-mapped client addresses match IPv4 networks (smtpd_peer.c)", async () => {
  assert.equal(await match("::ffff:127.0.0.1", ["127.0.0.0/8"]), true);
  assert.equal(await match("::FFFF:7f00:1", ["127.0.0.0/8"]), true);
  assert.equal(await match("::ffff:10.1.2.3", ["127.0.0.0/8"]), false);
  // ...and a mapped IPv6 block still matches the IPv4 client.
  assert.equal(await match("127.0.0.1", ["[::ffff:127.0.0.0]/104"]), true);
  assert.equal(await match("10.0.0.1", ["[::ffff:127.0.0.0]/104"]), false);
});

Deno.test("client address forms: brackets, IPv6: tag and zone are removed", async () => {
  assert.equal(await match("[127.0.0.1]", ["127.0.0.0/8"]), true);
  assert.equal(await match("fe80::1%eth0", ["[fe80::]/10"]), true);
  assert.equal(await match("IPv6:::1", ["[::1]"]), true);
  assert.equal(await match("not-an-address", ["127.0.0.0/8", "0.0.0.0/0"]), false);
});

Deno.test("first match wins; !pattern excludes (postconf(5) example)", async () => {
  const list = ["!192.168.0.1", "192.168.0.0/28"];
  assert.equal(await match("192.168.0.1", list), false);
  assert.equal(await match("192.168.0.2", list), true);
  // Reversed, the block matches first and the exclusion is never reached.
  assert.equal(await match("192.168.0.1", ["192.168.0.0/28", "!192.168.0.1"]), true);
  // Each "!" flips the sense.
  assert.equal(await match("192.168.0.1", ["!!192.168.0.1"]), true);
});

Deno.test("host name patterns: exact, .domain, and parent matching by setting", async () => {
  const strict = (ip: string, list: string[], host?: string) =>
    compileNetworks(list, { parentMatchesSubdomains: false }).match(ip, host);
  const parent = (ip: string, list: string[], host?: string) =>
    compileNetworks(list, { parentMatchesSubdomains: true }).match(ip, host);
  assert.equal(await strict("192.0.2.1", ["mail.example.com"], "MAIL.example.com"), true);
  assert.equal(await strict("192.0.2.1", ["example.com"], "mail.example.com"), false);
  assert.equal(await parent("192.0.2.1", ["example.com"], "mail.example.com"), true);
  assert.equal(await strict("192.0.2.1", [".example.com"], "mail.example.com"), true);
  assert.equal(await strict("192.0.2.1", [".example.com"], "example.com"), false);
  assert.equal(await parent("192.0.2.1", ["example.com"], "badexample.com"), false);
  // No verified name: Postfix matches the name "unknown".
  assert.equal(await strict("192.0.2.1", ["unknown"]), true);
  assert.equal(await strict("192.0.2.1", ["example.com"]), false);
});

Deno.test("/file/name patterns are read at compile time; !/file negates each", async () => {
  const files: Record<string, string> = {
    "/etc/facteur/nets": "# trusted\n10.0.0.0/8, 192.0.2.0/24 # office\n\n[2001:db8::]/32\n",
    "/etc/facteur/bad": "192.0.2.9\n",
  };
  const readFile = (path: string) => {
    if (!(path in files)) throw new Deno.errors.NotFound(`No such file: ${path}`);
    return files[path];
  };
  const m = compileNetworks(["!/etc/facteur/bad", "/etc/facteur/nets"], { readFile });
  assert.equal(await m.match("10.9.9.9"), true);
  assert.equal(await m.match("192.0.2.1"), true);
  assert.equal(await m.match("192.0.2.9"), false);
  assert.equal(await m.match("2001:db8::7"), true);
  assert.equal(await m.match("198.51.100.1"), false);
  assert.throws(
    () => compileNetworks(["/etc/facteur/missing"], { readFile }),
    (e: Error) =>
      e instanceof ConfigError &&
      e.message.includes('parameter "mynetworks": cannot read pattern file "/etc/facteur/missing"'),
  );
});

Deno.test("/file/name from disk", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/nets`, "127.0.0.0/8\n");
    assert.equal(await match("127.0.0.9", [`${dir}/nets`]), true);
    assert.equal(await match("10.0.0.1", [`${dir}/nets`]), false);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("type:table patterns: address key, host name and parents; value ignored", async () => {
  const list = ["inline:{ 192.0.2.7=anything, example.org=x, {.example.net = y} }"];
  assert.equal(await match("192.0.2.7", list), true);
  assert.equal(await match("192.0.2.8", list), false);
  assert.equal(await match("192.0.2.8", list, "example.org"), true);
  assert.equal(await match("192.0.2.8", list, "a.b.example.net"), true);
  // cidr: tables are pattern tables: the address is matched against their blocks.
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/nets.cidr`, "192.0.2.0/24 OK\n[2001:db8::]/32 OK\n");
    assert.equal(await match("192.0.2.77", [`cidr:${dir}/nets.cidr`]), true);
    assert.equal(await match("198.51.100.1", [`cidr:${dir}/nets.cidr`]), false);
    assert.equal(await match("2001:db8::5", [`cidr:${dir}/nets.cidr`]), true);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("bad patterns are ConfigErrors naming the parameter and the pattern", () => {
  const cases: [string, string][] = [
    [
      "10.0.0.1/8",
      'parameter "mynetworks": non-null host address bits in "10.0.0.1/8", perhaps you should use "10.0.0.0/8" instead',
    ],
    [
      "[2001:db8::1]/32",
      'non-null host address bits in "[2001:db8::1]/32", perhaps you should use "[2001:db8::]/32" instead',
    ],
    ["1.2.3.4/33", 'bad network prefix length "/33" (0..32)'],
    ["[::1]/129", 'bad network prefix length "/129" (0..128)'],
    ["300.1.1.1", '"300.1.1.1" is not a valid IPv4 address'],
    ["10.0.0/8", '"10.0.0/8": "10.0.0" is not a valid IPv4 address'],
    ["[127.0.0.1]", "IPv4 addresses take no []"],
    ["[zz::1]", '"zz::1" is not a valid IPv6 address'],
    ["hash:/etc/postfix/networks", "no lookup table support here"],
    ["bad host!", "is neither an address"],
    ["!", "empty pattern"],
  ];
  for (const [pattern, message] of cases) {
    assert.throws(
      () => compileNetworks([pattern]),
      (e: Error) => e instanceof ConfigError && e.message.includes(message),
      pattern,
    );
  }
  assert.throws(
    () => compileNetworks(["10.0.0.1/8"], { param: "smtpd_forbid_bare_newline_exclusions" }),
    /parameter "smtpd_forbid_bare_newline_exclusions"/,
  );
});

Deno.test("CIDR lists: prefixes, exclusions, dual-stack clients (from tests/net/cidr_test.ts)", async () => {
  const mynetworks = ["127.0.0.0/8", "[::1]/128", "192.0.2.0/25", "[2001:db8::]/32"];
  assert.ok(await match("127.3.2.1", mynetworks));
  assert.ok(await match("::1", mynetworks));
  assert.ok(await match("192.0.2.127", mynetworks));
  assert.ok(!await match("192.0.2.128", mynetworks));
  assert.ok(await match("2001:db8:ffff::25", mynetworks));
  assert.ok(!await match("2001:db9::1", mynetworks));
  assert.ok(!await match("10.0.0.1", mynetworks));
  assert.ok(!await match("10.0.0.1", []));
  assert.ok(await match("::ffff:127.0.0.1", ["127.0.0.0/8"]));
  assert.ok(await match("192.0.2.7", ["192.0.2.7"]));
  assert.ok(!await match("192.0.2.8", ["192.0.2.7"]));
  assert.ok(!await match("192.0.2.7", ["!192.0.2.7", "192.0.2.0/24"]));
  assert.ok(await match("192.0.2.8", ["!192.0.2.7", "192.0.2.0/24"]));
  assert.ok(await match("10.1.2.3", ["10.0.0.0/9"]));
  assert.ok(!await match("10.128.0.1", ["10.0.0.0/9"]));
  assert.ok(!await match("not-an-ip", ["0.0.0.0/0"]));
  assert.ok(await match("203.0.113.9", ["0.0.0.0/0"]));
  // net/cidr.ts skipped host names, tables and bad prefixes; now a host name
  // matches only that client name, a table is looked up, a bad prefix is an error.
  assert.ok(!await match("127.0.0.1", ["localhost", "inline:{ 10.0.0.1=x }"]));
  assert.ok(await match("127.0.0.1", ["localhost"], "localhost"));
  assert.throws(() => compileNetworks(["127.0.0.0/33"]), ConfigError);
});

Deno.test("a table that cannot be opened is a ConfigError naming the parameter", () => {
  assert.throws(
    () =>
      compileNetworks(["nosuchtype:/x"], {
        openTable: (s) => openMap(s),
        param: "smtpd_client_connection_limit_exceptions",
      }),
    (e: Error) =>
      e instanceof ConfigError && e.param === "smtpd_client_connection_limit_exceptions" &&
      e.message.startsWith('parameter "smtpd_client_connection_limit_exceptions": '),
  );
});

Deno.test("matchNetworks one-shot helper, also re-exported by policy.ts", async () => {
  assert.equal(await matchNetworks("127.0.0.1", ["127.0.0.0/8"]), true);
  assert.equal(await reexported("::1", ["127.0.0.0/8", "[::1]/128"]), true);
  assert.equal(await reexported("192.0.2.1", ["127.0.0.0/8", "[::1]/128"]), false);
});
