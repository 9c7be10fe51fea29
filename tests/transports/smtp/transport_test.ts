/**
 * The smtp, relay and lmtp transports: next-hop resolution over a fake
 * resolver, then real delivery attempts against Postfix's smtp-sink(1) on
 * loopback addresses (all of 127.0.0.0/8 is loopback; only 127.0.0.1 listens).
 */
import assert from "node:assert/strict";
import { connect } from "node:net";
import { join } from "node:path";
import type { Lookup, MxRecord, Resolver } from "../../../src/dns/resolver.ts";
import { LmtpTransport, SmtpTransport } from "../../../src/transports/smtp/transport.ts";
import { ErrorTransport } from "../../../src/transports/error/mod.ts";
import { DiscardTransport } from "../../../src/transports/discard/mod.ts";
import type { DeliveryRequest } from "../../../src/transports/types.ts";
import { findPeer, requirePeer } from "../../peers.ts";
import { freePort } from "../../peers/postfix.ts";
import { testConfig } from "../../rewrite/helpers.ts";
import { request } from "../helpers.ts";

const sinkPeer = requirePeer("smtp-sink", "postfix");

/** A resolver answering from fixed MX and A records; names not listed do not exist. */
function fakeResolver(
  mx: Record<string, MxRecord[] | "tempfail">,
  a: Record<string, string[]>,
): Resolver {
  const answer = <T>(records: T[] | "tempfail" | undefined): Promise<Lookup<T>> =>
    Promise.resolve(
      records === "tempfail"
        ? { status: "tempfail", reason: "Host not found, try again" }
        : records === undefined || records.length === 0
        ? { status: "notfound", reason: "Host not found" }
        : { status: "ok", records },
    );
  return {
    mx: (name) => answer(mx[name]),
    a: (name) => answer(a[name]),
    aaaa: () => answer<string>(undefined),
    txt: () => answer<string>(undefined),
    ptr: () => answer<string>(undefined),
  };
}

const RESOLVER = fakeResolver(
  {
    "two.test": [
      { preference: 10, exchange: "dead.two.test" },
      { preference: 20, exchange: "live.two.test" },
    ],
    "down.test": [{ preference: 10, exchange: "dead.two.test" }],
    "broken.test": "tempfail",
    "null.test": [{ preference: 0, exchange: "" }],
  },
  { "dead.two.test": ["127.0.0.3"], "live.two.test": ["127.0.0.1"], "gw.test": ["127.0.0.1"] },
);

function smtpTransport(port: number, resolver = RESOLVER, name = "smtp") {
  const config = testConfig({
    smtp_tcp_port: String(port),
    inet_protocols: "ipv4",
    smtp_connect_timeout: "2s",
    smtp_helo_name: "client.test",
  });
  return new SmtpTransport(config, { resolver }, name);
}

function req(nexthop: string, recipients = ["a@two.test", "b@two.test"]): DeliveryRequest {
  return { ...request(recipients), nexthop };
}

/** Runs smtp-sink on `listen` for the duration of `fn`; stops it by its PID. */
async function withSink<T>(args: string[], listen: string, fn: () => Promise<T>): Promise<T> {
  const user = Deno.uid() === 0 ? ["-u", "nobody"] : [];
  const child = new Deno.Command(findPeer("smtp-sink")!, {
    args: [...user, ...args, listen, "10"],
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    await waitListening(listen);
    return await fn();
  } finally {
    child.kill("SIGTERM");
    await child.status;
  }
}

async function waitListening(listen: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = listen.startsWith("unix:")
        ? connect({ path: listen.slice(5) })
        : connect({ host: listen.split(":")[0], port: Number(listen.split(":")[1]) });
      s.once("connect", () => (s.destroy(), resolve(true)));
      s.once("error", () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`smtp-sink did not start on ${listen}`);
}

Deno.test({
  name: "smtp transport: connection refused at the first MX, delivered at the next",
  ...sinkPeer,
  fn: async () => {
    const port = freePort();
    const results = await withSink(
      [],
      `127.0.0.1:${port}`,
      () => smtpTransport(port).deliver(req("two.test")),
    );
    assert.deepEqual(results.map((r) => [r.index, r.status, r.relay]), [
      [0, "sent", `live.two.test[127.0.0.1]:${port}`],
      [1, "sent", `live.two.test[127.0.0.1]:${port}`],
    ]);
  },
});

Deno.test("smtp transport: every destination refuses: deferred with the last connect error", async () => {
  const port = freePort();
  const results = await smtpTransport(port).deliver(req("two.test"));
  for (const r of results) {
    assert.equal(r.status, "deferred");
    assert.equal(r.dsn, "4.4.1");
    assert.equal(r.relay, "none", "smtp(8): relay=none when no connection was made");
    assert.match(
      r.reason,
      new RegExp(`^connect to live\\.two\\.test\\[127\\.0\\.0\\.1\\]:${port}: Connection refused`),
    );
  }
});

Deno.test({
  name: "smtp transport: 5xx to RCPT bounces; the relay name comes from a [host]:port nexthop",
  ...sinkPeer,
  fn: async () => {
    const port = freePort();
    const results = await withSink(
      ["-f", "RCPT"],
      `127.0.0.1:${port}`,
      () => smtpTransport(25, RESOLVER, "relay").deliver(req(`[gw.test]:${port}`)),
    );
    for (const r of results) {
      assert.equal(r.status, "bounced");
      assert.match(r.dsn, /^5\./);
      assert.equal(r.relay, `gw.test[127.0.0.1]:${port}`);
      assert.match(r.reason, /said: 5\d\d .* \(in reply to RCPT TO command\)/);
    }
  },
});

Deno.test({
  name: "smtp transport: a 4xx to RCPT at the first MX is retried at the next one",
  ...sinkPeer,
  fn: async () => {
    const port = freePort();
    const resolver = fakeResolver(
      {
        "soft.test": [
          { preference: 10, exchange: "soft.soft.test" },
          { preference: 20, exchange: "good.soft.test" },
        ],
      },
      { "soft.soft.test": ["127.0.0.1"], "good.soft.test": ["127.0.0.5"] },
    );
    const results = await withSink(
      ["-r", "RCPT"],
      `127.0.0.1:${port}`,
      () =>
        withSink(
          [],
          `127.0.0.5:${port}`,
          () => smtpTransport(port, resolver).deliver(req("soft.test")),
        ),
    );
    assert.deepEqual(results.map((r) => [r.status, r.relay]), [
      ["sent", `good.soft.test[127.0.0.5]:${port}`],
      ["sent", `good.soft.test[127.0.0.5]:${port}`],
    ]);
    // Only at the last MX is a 4xx final.
    const last = await withSink(
      ["-r", "RCPT"],
      `127.0.0.1:${port}`,
      () => smtpTransport(port, resolver).deliver(req("[soft.soft.test]")),
    );
    assert.deepEqual(last.map((r) => r.status), ["deferred", "deferred"]);
  },
});

Deno.test("smtp transport: DNS failures: tempfail defers, null MX bounces, relay=none", async () => {
  const t = smtpTransport(2525);
  const soft = await t.deliver(req("broken.test"));
  assert.deepEqual(soft.map((r) => [r.status, r.relay]), [["deferred", "none"], [
    "deferred",
    "none",
  ]]);
  assert.match(soft[0].reason, /broken\.test/);
  const hard = await t.deliver(req("null.test", ["x@null.test"]));
  assert.deepEqual(hard.map((r) => [r.status, r.dsn, r.relay]), [["bounced", "5.1.0", "none"]]);
  const bad = await t.deliver(req("[unbalanced", ["x@null.test"]));
  assert.deepEqual(bad.map((r) => [r.status, r.dsn]), [["deferred", "4.3.5"]]);
});

Deno.test({
  name: "lmtp transport: unix:/path and inet:host:port nexthops",
  ...sinkPeer,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      await Deno.chmod(dir, 0o777); // smtp-sink drops to nobody
      const path = join(dir, "lmtp.sock");
      const lmtp = new LmtpTransport(testConfig({ inet_protocols: "ipv4" }), {
        resolver: RESOLVER,
      });
      const viaSocket = await withSink(
        ["-L"],
        `unix:${path}`,
        () => lmtp.deliver(req(`unix:${path}`)),
      );
      assert.deepEqual(viaSocket.map((r) => [r.status, r.relay]), [
        ["sent", `mail.example.com[${path}]`],
        ["sent", `mail.example.com[${path}]`],
      ]);
      const port = freePort();
      const viaInet = await withSink(
        ["-L"],
        `127.0.0.1:${port}`,
        () => lmtp.deliver(req(`inet:gw.test:${port}`)),
      );
      assert.deepEqual(viaInet.map((r) => [r.status, r.relay]), [
        ["sent", `gw.test[127.0.0.1]:${port}`],
        ["sent", `gw.test[127.0.0.1]:${port}`],
      ]);
      // No MX lookup for LMTP: two.test has MX records but no address.
      const noMx = await lmtp.deliver(req("two.test"));
      assert.equal(noMx[0].status, "bounced");
      assert.equal(noMx[0].relay, "none");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("error transport: bounces with the nexthop text; a 4.x.x code defers", async () => {
  const t = new ErrorTransport();
  assert.deepEqual(await t.deliver(req("5.1.2 no such domain", ["x@a.test"])), [
    { index: 0, status: "bounced", dsn: "5.1.2", reason: "no such domain", relay: "none" },
  ]);
  assert.deepEqual(await t.deliver(req("Address is undeliverable", ["x@a.test"])), [
    {
      index: 0,
      status: "bounced",
      dsn: "5.0.0",
      reason: "Address is undeliverable",
      relay: "none",
    },
  ]);
  const soft = await t.deliver(req("4.3.2 try later", ["x@a.test"]));
  assert.equal(soft[0].status, "deferred");
  assert.equal(soft[0].dsn, "4.3.2");
});

Deno.test("discard transport: every recipient sent, with the nexthop text as reason", async () => {
  const results = await new DiscardTransport().deliver(req("silently", ["x@a.test", "y@a.test"]));
  assert.deepEqual(results, [
    { index: 0, status: "sent", dsn: "2.0.0", reason: "silently", relay: "none" },
    { index: 1, status: "sent", dsn: "2.0.0", reason: "silently", relay: "none" },
  ]);
});
