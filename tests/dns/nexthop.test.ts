import assert from "node:assert/strict";
import { Config } from "../../src/config/config.ts";
import { ConfigError, MailError } from "../../src/errors.ts";
import {
  familiesFromInetProtocols,
  orderMx,
  parseNexthop,
  resolveNexthop,
  tcpPortParameter,
} from "../../src/dns/nexthop.ts";
import type { Lookup, MxRecord, Resolver } from "../../src/dns/resolver.ts";

interface Zone {
  mx?: Record<string, MxRecord[]>;
  a?: Record<string, string[]>;
  aaaa?: Record<string, string[]>;
  /** Names whose every query fails temporarily. */
  broken?: string[];
}

/** A Resolver over a fixed zone; records every query as "TYPE name". */
function fakeResolver(zone: Zone, queries: string[] = []): Resolver {
  const answer = <T>(type: string, table: Record<string, T[]> | undefined, name: string) => {
    queries.push(`${type} ${name}`);
    let result: Lookup<T>;
    if (zone.broken?.includes(name)) {
      result = { status: "tempfail", reason: "Host not found, try again" };
    } else if (table?.[name]) result = { status: "ok", records: table[name] };
    else result = { status: "notfound", reason: "Host not found" };
    return Promise.resolve(result);
  };
  return {
    mx: (name) => answer("MX", zone.mx, name),
    a: (name) => answer("A", zone.a, name),
    aaaa: (name) => answer("AAAA", zone.aaaa, name),
    txt: (name) => answer<string>("TXT", undefined, name),
    ptr: (name) => answer<string>("PTR", undefined, name),
  };
}

async function rejection(promise: Promise<unknown>): Promise<MailError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof MailError, `expected a MailError, got ${error}`);
    return error;
  }
  assert.fail("expected a rejection");
}

const zone: Zone = {
  mx: {
    "example.test": [
      { preference: 20, exchange: "backup.example.test" },
      { preference: 10, exchange: "mx1.example.test" },
      { preference: 10, exchange: "mx2.example.test" },
    ],
    "nullmx.test": [{ preference: 0, exchange: "" }],
    "partial.test": [
      { preference: 10, exchange: "gone.partial.test" },
      { preference: 20, exchange: "mx.partial.test" },
    ],
    "dead-mx.test": [{ preference: 10, exchange: "gone.dead-mx.test" }],
    "flaky-mx.test": [
      { preference: 10, exchange: "gone.flaky-mx.test" },
      { preference: 20, exchange: "broken.flaky-mx.test" },
    ],
  },
  a: {
    "mx1.example.test": ["127.0.0.11"],
    "mx2.example.test": ["127.0.0.12"],
    "backup.example.test": ["127.0.0.13"],
    "noMX.test": ["127.0.0.20"],
    "nomx.test": ["127.0.0.20"],
    "mx.partial.test": ["127.0.0.30"],
    "dual.test": ["127.0.0.40"],
    "relay.test": ["127.0.0.50"],
  },
  aaaa: { "mx1.example.test": ["::1"], "dual.test": ["::1"], "v6only.test": ["::1"] },
  broken: ["broken.test", "broken.flaky-mx.test"],
};

Deno.test("parseNexthop: domain, [host], IP literals and ports (transport(5) syntax)", () => {
  assert.deepEqual(parseNexthop("Example.TEST"), {
    host: "example.test",
    port: 25,
    mxLookup: true,
  });
  assert.deepEqual(parseNexthop("example.test.:2525"), {
    host: "example.test",
    port: 2525,
    mxLookup: true,
  });
  assert.deepEqual(parseNexthop("[mail.example.test]"), {
    host: "mail.example.test",
    port: 25,
    mxLookup: false,
  });
  assert.deepEqual(parseNexthop("[mail.example.test]:587"), {
    host: "mail.example.test",
    port: 587,
    mxLookup: false,
  });
  assert.deepEqual(parseNexthop("[127.0.0.1]:submission"), {
    host: "127.0.0.1",
    port: 587,
    mxLookup: false,
  });
  assert.deepEqual(parseNexthop("[::1]:2525"), { host: "::1", port: 2525, mxLookup: false });
  assert.deepEqual(parseNexthop("[ipv6:::1]"), { host: "::1", port: 25, mxLookup: false });
  assert.deepEqual(parseNexthop("127.0.0.1"), { host: "127.0.0.1", port: 25, mxLookup: false });
  assert.deepEqual(parseNexthop("2001:DB8::1"), { host: "2001:db8::1", port: 25, mxLookup: false });
  assert.deepEqual(parseNexthop("example.test", 2525), {
    host: "example.test",
    port: 2525,
    mxLookup: true,
  });
});

Deno.test("parseNexthop: malformed nexthops are 4.3.5 configuration errors naming the problem", () => {
  for (
    const [text, why] of [
      ["example.test:0", 'bad port "0"'],
      ["example.test:70000", 'bad port "70000"'],
      ["example.test:", 'bad port ""'],
      ["[mail.example.test", "unbalanced [ ]"],
      ["mail.test:25:26", 'too many ":"'],
      ["bad_host!.test", "is not a host name"],
      ["", "is not a host name"],
      ["[]", "is not a host name"],
    ]
  ) {
    assert.throws(() => parseNexthop(text), (error: unknown) => {
      assert.ok(error instanceof MailError);
      assert.equal(error.enhanced, "4.3.5");
      assert.ok(error.temporary);
      assert.ok(error.message.includes(`bad nexthop "${text}"`), error.message);
      assert.ok(error.message.includes(why), error.message);
      return true;
    });
  }
});

Deno.test("familiesFromInetProtocols: all, ipv4, ipv6; anything else is an error", () => {
  assert.deepEqual(familiesFromInetProtocols(["all"]), [4, 6]);
  assert.deepEqual(familiesFromInetProtocols(["ipv4"]), [4]);
  assert.deepEqual(familiesFromInetProtocols(["ipv6", "IPv4"]), [4, 6]);
  assert.throws(() => familiesFromInetProtocols(["ipv5"]), /unknown protocol "ipv5"/);
  assert.throws(() => familiesFromInetProtocols([]), /inet_protocols: empty/);
});

Deno.test("tcpPortParameter: smtp_tcp_port default is 25; numbers and known_tcp_ports names", () => {
  assert.equal(tcpPortParameter(new Config()), 25);
  assert.equal(tcpPortParameter(new Config({ smtp_tcp_port: "2525" })), 2525);
  assert.equal(tcpPortParameter(new Config({ smtp_tcp_port: "submission" })), 587);
  assert.throws(() => tcpPortParameter(new Config({ smtp_tcp_port: "smpt" })), (error: unknown) => {
    assert.ok(error instanceof ConfigError);
    assert.match(error.message, /smtp_tcp_port: bad port "smpt"/);
    return true;
  });
});

Deno.test("orderMx: by preference; equal preferences in the order the random source picks", () => {
  const records = zone.mx!["example.test"];
  // Fisher-Yates over [mx1, mx2]: random() = 0 swaps them, 0.99 keeps them.
  assert.deepEqual(orderMx(records, () => 0).map((r) => r.exchange), [
    "mx2.example.test",
    "mx1.example.test",
    "backup.example.test",
  ]);
  assert.deepEqual(orderMx(records, () => 0.99).map((r) => r.exchange), [
    "mx1.example.test",
    "mx2.example.test",
    "backup.example.test",
  ]);
});

Deno.test("orderMx: each ordering of equal-preference hosts happens with Math.random", () => {
  const records = zone.mx!["example.test"];
  const seen = new Set<string>();
  for (let i = 0; i < 200 && seen.size < 2; i++) seen.add(orderMx(records)[0].exchange);
  assert.deepEqual([...seen].sort(), ["mx1.example.test", "mx2.example.test"]);
});

Deno.test("MX domain: addresses of every MX host, best preference first", async () => {
  const destinations = await resolveNexthop("example.test", {
    resolver: fakeResolver(zone),
    random: () => 0.99,
  });
  assert.deepEqual(destinations, [
    { host: "mx1.example.test", address: "127.0.0.11", port: 25, preference: 10 },
    { host: "mx1.example.test", address: "::1", port: 25, preference: 10 },
    { host: "mx2.example.test", address: "127.0.0.12", port: 25, preference: 10 },
    { host: "backup.example.test", address: "127.0.0.13", port: 25, preference: 20 },
  ]);
});

Deno.test("the default port (smtp_tcp_port) applies to MX hosts; an explicit :port wins", async () => {
  const resolver = fakeResolver(zone);
  const viaDefault = await resolveNexthop("example.test", { resolver, defaultPort: 2525 });
  assert.ok(viaDefault.every((d) => d.port === 2525));
  const explicit = await resolveNexthop("example.test:2626", { resolver, defaultPort: 2525 });
  assert.ok(explicit.every((d) => d.port === 2626));
});

Deno.test("inet_protocols: only the enabled families are queried and used", async () => {
  const queries: string[] = [];
  const v4 = await resolveNexthop("dual.test", {
    resolver: fakeResolver(zone, queries),
    families: [4],
  });
  assert.deepEqual(v4.map((d) => d.address), ["127.0.0.40"]);
  assert.ok(!queries.some((q) => q.startsWith("AAAA")), queries.join(", "));
  const v6 = await resolveNexthop("dual.test", { resolver: fakeResolver(zone), families: [6] });
  assert.deepEqual(v6.map((d) => d.address), ["::1"]);
  const both = await resolveNexthop("dual.test", { resolver: fakeResolver(zone) });
  assert.deepEqual(both.map((d) => d.address), ["127.0.0.40", "::1"]);
  const err = await rejection(
    resolveNexthop("v6only.test", { resolver: fakeResolver(zone), families: [4] }),
  );
  assert.equal(err.enhanced, "5.4.4");
  await assert.rejects(
    resolveNexthop("[::1]", { resolver: fakeResolver(zone), families: [4] }),
    /IPv6 is disabled by inet_protocols/,
  );
  const none = await rejection(
    resolveNexthop("dual.test", { resolver: fakeResolver(zone), families: [] }),
  );
  assert.equal(none.enhanced, "4.3.5");
});

Deno.test("no MX: the domain's own A/AAAA records, preference 0 (RFC 5321 5.1)", async () => {
  const destinations = await resolveNexthop("nomx.test", { resolver: fakeResolver(zone) });
  assert.deepEqual(destinations, [{
    host: "nomx.test",
    address: "127.0.0.20",
    port: 25,
    preference: 0,
  }]);
});

Deno.test("null MX: permanent 5.1.0 'does not accept mail (nullMX)' (RFC 7505; Postfix smtp)", async () => {
  const queries: string[] = [];
  const err = await rejection(
    resolveNexthop("nullmx.test", { resolver: fakeResolver(zone, queries) }),
  );
  assert.equal(err.code, 550);
  assert.equal(err.enhanced, "5.1.0");
  assert.equal(err.message, "Domain nullmx.test does not accept mail (nullMX)");
  assert.deepEqual(queries, ["MX nullmx.test"]);
});

Deno.test("a '.' among other MX records is skipped, not a null MX", async () => {
  const resolver = fakeResolver({
    mx: {
      "odd.test": [{ preference: 0, exchange: "" }, { preference: 10, exchange: "mx.odd.test" }],
    },
    a: { "mx.odd.test": ["127.0.0.60"] },
  });
  const destinations = await resolveNexthop("odd.test", { resolver });
  assert.deepEqual(destinations.map((d) => d.host), ["mx.odd.test"]);
});

Deno.test("nonexistent domain: permanent 5.4.4 Host or domain name not found", async () => {
  const err = await rejection(resolveNexthop("nowhere.test", { resolver: fakeResolver(zone) }));
  assert.equal(err.enhanced, "5.4.4");
  assert.ok(!err.temporary);
  assert.equal(
    err.message,
    "Host or domain name not found. Name service error for name=nowhere.test type=A: Host not found",
  );
});

Deno.test("temporary MX lookup failure: 4.4.3 ... try again, no fallback to A", async () => {
  const queries: string[] = [];
  const err = await rejection(
    resolveNexthop("broken.test", { resolver: fakeResolver(zone, queries) }),
  );
  assert.equal(err.enhanced, "4.4.3");
  assert.ok(err.temporary);
  assert.equal(
    err.message,
    "Host or domain name not found. Name service error for name=broken.test type=MX: " +
      "Host not found, try again",
  );
  assert.deepEqual(queries, ["MX broken.test"]);
});

Deno.test("MX hosts without an address are skipped", async () => {
  const destinations = await resolveNexthop("partial.test", { resolver: fakeResolver(zone) });
  assert.deepEqual(destinations, [{
    host: "mx.partial.test",
    address: "127.0.0.30",
    port: 25,
    preference: 20,
  }]);
});

Deno.test("no MX host has an address: 5.4.4, or 4.4.3 when one lookup failed temporarily", async () => {
  const dead = await rejection(resolveNexthop("dead-mx.test", { resolver: fakeResolver(zone) }));
  assert.equal(dead.enhanced, "5.4.4");
  assert.match(dead.message, /name=gone\.dead-mx\.test type=A: Host not found$/);
  const flaky = await rejection(resolveNexthop("flaky-mx.test", { resolver: fakeResolver(zone) }));
  assert.equal(flaky.enhanced, "4.4.3");
  assert.match(flaky.message, /name=broken\.flaky-mx\.test type=A: Host not found, try again$/);
});

Deno.test("[host]: no MX lookup, the host's addresses only", async () => {
  const queries: string[] = [];
  const destinations = await resolveNexthop("[relay.test]:587", {
    resolver: fakeResolver(zone, queries),
  });
  assert.deepEqual(destinations, [{
    host: "relay.test",
    address: "127.0.0.50",
    port: 587,
    preference: 0,
  }]);
  assert.ok(!queries.some((q) => q.startsWith("MX")), queries.join(", "));
  // The bracketed name of an MX domain is not looked up as MX either.
  const err = await rejection(resolveNexthop("[example.test]", { resolver: fakeResolver(zone) }));
  assert.equal(err.enhanced, "5.4.4");
  assert.match(err.message, /name=example\.test type=A: Host not found$/);
});

Deno.test("[IP] and bare IP literals: no DNS at all", async () => {
  const queries: string[] = [];
  const resolver = fakeResolver(zone, queries);
  assert.deepEqual(await resolveNexthop("[127.0.0.1]:2525", { resolver }), [
    { host: "127.0.0.1", address: "127.0.0.1", port: 2525, preference: 0 },
  ]);
  assert.deepEqual(await resolveNexthop("127.0.0.2", { resolver }), [
    { host: "127.0.0.2", address: "127.0.0.2", port: 25, preference: 0 },
  ]);
  assert.deepEqual(await resolveNexthop("[::1]", { resolver }), [
    { host: "::1", address: "::1", port: 25, preference: 0 },
  ]);
  assert.deepEqual(queries, []);
});

Deno.test("[host] lookup failing temporarily: 4.4.3", async () => {
  const err = await rejection(resolveNexthop("[broken.test]", { resolver: fakeResolver(zone) }));
  assert.equal(err.enhanced, "4.4.3");
  assert.match(err.message, /name=broken\.test type=A: Host not found, try again$/);
});
