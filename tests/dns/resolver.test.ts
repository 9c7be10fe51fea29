import assert from "node:assert/strict";
import { Config } from "../../src/config/config.ts";
import { ConfigError } from "../../src/errors.ts";
import {
  createResolver,
  type Nameserver,
  parseNameservers,
  type ResolveDns,
  resolverFromConfig,
  reverseName,
} from "../../src/dns/resolver.ts";

const notFound = () => new Deno.errors.NotFound("proto error: no records found for Query");

Deno.test("answers are normalised: MX names lower case without the dot, root as '', TXT joined", async () => {
  const resolveDns: ResolveDns = (name, type) => {
    if (type === "MX" && name === "a.test") {
      return Promise.resolve([{ preference: 10, exchange: "MX1.A.Test." }]);
    }
    if (type === "MX") return Promise.resolve([{ preference: 0, exchange: "." }]);
    if (type === "TXT") return Promise.resolve([["v=spf1 ", "-all"], ["second"]]);
    return Promise.reject(notFound());
  };
  const resolver = createResolver({ resolveDns });
  assert.deepEqual(await resolver.mx("a.test"), {
    status: "ok",
    records: [{ preference: 10, exchange: "mx1.a.test" }],
  });
  assert.deepEqual(await resolver.mx("nullmx.test"), {
    status: "ok",
    records: [{ preference: 0, exchange: "" }],
  });
  assert.deepEqual(await resolver.txt("a.test"), {
    status: "ok",
    records: ["v=spf1 -all", "second"],
  });
});

Deno.test("NotFound (NXDOMAIN / no data) is permanent; any other error is temporary", async () => {
  const errors: Record<string, unknown> = {
    "nx.test": notFound(),
    "slow.test": new Deno.errors.TimedOut("proto error: request timed out"),
    "refused.test": new Deno.errors.ConnectionRefused("connection refused"),
    "odd.test": new Error("something else"),
  };
  const resolver = createResolver({ resolveDns: (name) => Promise.reject(errors[name]) });
  assert.deepEqual(await resolver.a("nx.test"), { status: "notfound", reason: "Host not found" });
  for (const name of ["slow.test", "refused.test", "odd.test"]) {
    assert.deepEqual(await resolver.a(name), {
      status: "tempfail",
      reason: "Host not found, try again",
    });
  }
});

Deno.test("a server that does not answer in time is a temporary failure (dns_query_timeout)", async () => {
  const hang: ResolveDns = (_name, _type, { signal }) =>
    new Promise((_resolve, reject) =>
      signal.addEventListener("abort", () => reject(signal.reason))
    );
  const started = Date.now();
  const result = await createResolver({ resolveDns: hang, timeoutMs: 50 }).aaaa("hang.test");
  assert.equal(result.status, "tempfail");
  assert.ok(Date.now() - started < 2000);
});

Deno.test("nameservers are asked in order, the next one only after a temporary failure", async () => {
  const asked: string[] = [];
  const answers: Record<string, () => Promise<unknown[]>> = {
    "127.0.0.1:1053": () => Promise.reject(new Deno.errors.TimedOut("timed out")),
    "127.0.0.2:53": () => Promise.resolve(["127.0.0.9"]),
    "127.0.0.3:53": () => Promise.reject(notFound()),
  };
  const resolveDns: ResolveDns = (_name, _type, { nameServer }) => {
    const key = `${nameServer!.ipAddr}:${nameServer!.port}`;
    asked.push(key);
    return answers[key]();
  };
  const servers = (list: string[]): Nameserver[] => parseNameservers(list);
  const first = createResolver({
    resolveDns,
    nameservers: servers(["127.0.0.1:1053", "127.0.0.2"]),
  });
  assert.deepEqual(await first.a("x.test"), { status: "ok", records: ["127.0.0.9"] });
  assert.deepEqual(asked, ["127.0.0.1:1053", "127.0.0.2:53"]);

  asked.length = 0;
  const second = createResolver({ resolveDns, nameservers: servers(["127.0.0.3", "127.0.0.2"]) });
  assert.equal((await second.a("x.test")).status, "notfound");
  assert.deepEqual(asked, ["127.0.0.3:53"], "a definite 'not found' is not asked again elsewhere");

  asked.length = 0;
  const third = createResolver({ resolveDns, nameservers: servers(["127.0.0.1:1053"]) });
  assert.equal((await third.a("x.test")).status, "tempfail");
});

Deno.test("ptr: the reverse name is queried; names normalised; a non-address is not found", async () => {
  const queried: string[] = [];
  const resolver = createResolver({
    resolveDns: (name) => {
      queried.push(name);
      return Promise.resolve(["Host.Example.TEST."]);
    },
  });
  assert.deepEqual(await resolver.ptr("192.0.2.9"), {
    status: "ok",
    records: ["host.example.test"],
  });
  assert.deepEqual(queried, ["9.2.0.192.in-addr.arpa"]);
  const bad = await resolver.ptr("not-an-ip");
  assert.equal(bad.status, "notfound");
  assert.equal(queried.length, 1);
});

Deno.test("reverseName: in-addr.arpa and ip6.arpa (RFC 1035 3.5, RFC 3596 2.5)", () => {
  assert.equal(reverseName("192.0.2.1"), "1.2.0.192.in-addr.arpa");
  assert.equal(
    reverseName("2001:db8::1"),
    "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa",
  );
  assert.equal(reverseName("example.test"), undefined);
});

Deno.test("parseNameservers: ip, ip:port, ipv6, [ipv6]:port", () => {
  assert.deepEqual(
    parseNameservers(["127.0.0.1", "127.0.0.1:5353", "::1", "[::1]:5353", "[::1]"]),
    [
      { ipAddr: "127.0.0.1", port: 53 },
      { ipAddr: "127.0.0.1", port: 5353 },
      { ipAddr: "::1", port: 53 },
      { ipAddr: "::1", port: 5353 },
      { ipAddr: "::1", port: 53 },
    ],
  );
  assert.deepEqual(parseNameservers([]), []);
});

Deno.test("parseNameservers: a bad element is a ConfigError naming it", () => {
  for (
    const bad of [
      "localhost",
      "127.0.0.1:0",
      "127.0.0.1:99999",
      "127.0.0.1:",
      "[127.0.0.1]:53",
      "1.2.3",
    ]
  ) {
    assert.throws(() => parseNameservers([bad]), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.equal(error.param, "dns_nameservers");
      assert.ok(error.message.includes(`"${bad}"`), error.message);
      return true;
    });
  }
});

Deno.test("resolverFromConfig: defaults are valid; a bad dns_nameservers value is refused", () => {
  assert.equal(new Config().get("dns_nameservers"), "");
  assert.equal(new Config().time("dns_query_timeout"), 10);
  assert.equal(new Config().get("smtp_tcp_port"), "smtp");
  resolverFromConfig(new Config());
  resolverFromConfig(
    new Config({ dns_nameservers: "127.0.0.1:5353, [::1]:5353", dns_query_timeout: "2s" }),
  );
  assert.throws(
    () => resolverFromConfig(new Config({ dns_nameservers: "ns.example.test" })),
    ConfigError,
  );
});
