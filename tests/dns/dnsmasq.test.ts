/**
 * Next-hop resolution against a real DNS server: dnsmasq on 127.0.0.1 and a
 * free high port, authoritative (--local) for the fake .test domain.
 */
import assert from "node:assert/strict";
import { MailError } from "../../src/errors.ts";
import { resolveNexthop } from "../../src/dns/nexthop.ts";
import { createResolver, type Resolver } from "../../src/dns/resolver.ts";
import { requirePeer } from "../peers.ts";
import { startDnsmasq as startServerOnPort } from "../peers/dnsmasq.ts";

const RECORDS = [
  "--local=/test/", // authoritative for .test: unknown names are NXDOMAIN
  "--mx-host=example.test,mx1.example.test,10",
  "--mx-host=example.test,mx2.example.test,10",
  "--mx-host=example.test,backup.example.test,20",
  "--host-record=mx1.example.test,127.0.0.11",
  "--host-record=mx2.example.test,127.0.0.12,::1",
  "--host-record=backup.example.test,127.0.0.13",
  "--mx-host=partial.test,gone.partial.test,10",
  "--mx-host=partial.test,mx.partial.test,20",
  "--host-record=mx.partial.test,127.0.0.30",
  "--host-record=nomx.test,127.0.0.20",
  "--mx-host=nullmx.test,.,0",
  "--txt-record=example.test,v=spf1 -all",
  "--ptr-record=9.2.0.192.in-addr.arpa,host.example.test",
];

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

interface Dnsmasq {
  port: number;
  resolver: Resolver;
  stop(): Promise<void>;
}

/** dnsmasq serving RECORDS, and a resolver asking it. */
async function startDnsmasq(): Promise<Dnsmasq> {
  const { port, stop } = await startServerOnPort(freePort(), RECORDS, "mx1.example.test");
  const resolver = createResolver({ nameservers: [{ ipAddr: "127.0.0.1", port }], timeoutMs: 500 });
  return { port, resolver, stop };
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

Deno.test({
  name: "dnsmasq: MX, fallback, null MX, NXDOMAIN, and a stopped server",
  ...requirePeer("dnsmasq", "dnsmasq-base"),
  async fn(t) {
    const dns = await startDnsmasq();
    const { resolver } = dns;
    try {
      await t.step("two equal-preference MX hosts in either order, then the backup", async () => {
        const kept = await resolveNexthop("example.test", { resolver, random: () => 0.99 });
        assert.deepEqual(kept, [
          { host: "mx1.example.test", address: "127.0.0.11", port: 25, preference: 10 },
          { host: "mx2.example.test", address: "127.0.0.12", port: 25, preference: 10 },
          { host: "mx2.example.test", address: "::1", port: 25, preference: 10 },
          { host: "backup.example.test", address: "127.0.0.13", port: 25, preference: 20 },
        ]);
        const swapped = await resolveNexthop("example.test", { resolver, random: () => 0 });
        assert.deepEqual(swapped.map((d) => d.host), [
          "mx2.example.test",
          "mx2.example.test",
          "mx1.example.test",
          "backup.example.test",
        ]);
      });

      await t.step("inet_protocols = ipv4 and a default port of 2525", async () => {
        const v4 = await resolveNexthop("example.test", {
          resolver,
          families: [4],
          defaultPort: 2525,
        });
        assert.deepEqual(v4.map((d) => `${d.address}:${d.port}`).sort(), [
          "127.0.0.11:2525",
          "127.0.0.12:2525",
          "127.0.0.13:2525",
        ]);
      });

      await t.step("an MX host without address is skipped", async () => {
        const destinations = await resolveNexthop("partial.test", { resolver });
        assert.deepEqual(destinations, [
          { host: "mx.partial.test", address: "127.0.0.30", port: 25, preference: 20 },
        ]);
      });

      await t.step("no MX record: the domain's A record (RFC 5321 5.1)", async () => {
        assert.deepEqual(await resolveNexthop("nomx.test:2525", { resolver }), [
          { host: "nomx.test", address: "127.0.0.20", port: 2525, preference: 0 },
        ]);
      });

      await t.step("[host]: no MX lookup", async () => {
        const err = await rejection(resolveNexthop("[example.test]", { resolver }));
        assert.equal(err.enhanced, "5.4.4");
        assert.deepEqual(await resolveNexthop("[mx1.example.test]:587", { resolver }), [
          { host: "mx1.example.test", address: "127.0.0.11", port: 587, preference: 0 },
        ]);
      });

      await t.step("null MX: 5.1.0 Domain ... does not accept mail (nullMX)", async () => {
        const err = await rejection(resolveNexthop("nullmx.test", { resolver }));
        assert.equal(err.enhanced, "5.1.0");
        assert.equal(err.message, "Domain nullmx.test does not accept mail (nullMX)");
      });

      await t.step("nonexistent domain: 5.4.4 Host not found", async () => {
        const err = await rejection(resolveNexthop("nowhere.test", { resolver }));
        assert.equal(err.enhanced, "5.4.4");
        assert.equal(
          err.message,
          "Host or domain name not found. Name service error for name=nowhere.test type=A: Host not found",
        );
      });

      await t.step("TXT and PTR records", async () => {
        assert.deepEqual(await resolver.txt("example.test"), {
          status: "ok",
          records: ["v=spf1 -all"],
        });
        assert.deepEqual(await resolver.ptr("192.0.2.9"), {
          status: "ok",
          records: ["host.example.test"],
        });
        assert.equal((await resolver.txt("nowhere.test")).status, "notfound");
      });
    } finally {
      await dns.stop();
    }

    await t.step("dnsmasq stopped: 4.4.3 ... try again", async () => {
      const err = await rejection(resolveNexthop("example.test", { resolver }));
      assert.equal(err.enhanced, "4.4.3");
      assert.ok(err.temporary);
      assert.equal(
        err.message,
        "Host or domain name not found. Name service error for name=example.test type=MX: " +
          "Host not found, try again",
      );
    });
  },
});
