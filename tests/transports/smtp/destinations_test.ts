/**
 * smtp(8)/lmtp(8) destination handling (Postfix 3.x smtp_connect.c):
 * smtp_mx_address_limit, smtp_mx_session_limit, smtp_fallback_relay,
 * nexthop lists, and the site-failure flag on results. Attempts are
 * scripted per address through the transport's `deliver` hook; the
 * fallback and list cases also run against the scripted fake server.
 */
import assert from "node:assert/strict";
import type { Lookup, MxRecord, Resolver } from "../../../src/dns/resolver.ts";
import type {
  SessionFailure,
  SmtpMessage,
  SmtpOutcome,
  SmtpTarget,
} from "../../../src/transports/smtp/client.ts";
import {
  limitAddresses,
  LmtpTransport,
  SmtpTransport,
} from "../../../src/transports/smtp/transport.ts";
import type { DeliveryRequest, RecipientResult } from "../../../src/transports/types.ts";
import { testConfig } from "../../rewrite/helpers.ts";
import { request } from "../helpers.ts";
import { startFake } from "./fake_server.ts";

/** A resolver answering from fixed MX and A records; other names do not exist. */
function fakeResolver(
  mx: Record<string, MxRecord[] | "tempfail">,
  a: Record<string, string[] | "tempfail">,
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

const SEVEN = ["127.0.0.11", "127.0.0.12", "127.0.0.13", "127.0.0.14", "127.0.0.15"]
  .concat(["127.0.0.16", "127.0.0.17"]);

const RESOLVER = fakeResolver(
  {
    "many.test": [{ preference: 10, exchange: "mx.many.test" }],
    "dead.test": [{ preference: 10, exchange: "mx.dead.test" }],
    "soft.test": "tempfail",
  },
  {
    "mx.many.test": SEVEN,
    "mx.dead.test": ["127.0.0.3"],
    "relay1.test": ["127.0.0.21"],
    "relay2.test": ["127.0.0.22"],
    "fallback.test": ["127.0.0.31"],
  },
);

type Script = (target: SmtpTarget, message: SmtpMessage) => SmtpOutcome;

function addressOf(target: SmtpTarget): string {
  return "address" in target ? `${target.address}:${target.port}` : target.path;
}

const refused = (target: SmtpTarget): SessionFailure => ({
  kind: "failed",
  temporary: true,
  dsn: "4.4.1",
  reason: `connect to ${addressOf(target)}: Connection refused`,
  relay: addressOf(target),
});

/** Every recipient gets the same status from an established session. */
function session(status: RecipientResult["status"], dsn: string) {
  return (target: SmtpTarget, message: SmtpMessage): SmtpOutcome => ({
    kind: "done",
    relay: addressOf(target),
    results: message.recipients.map((r) => ({
      index: r.index,
      status,
      dsn,
      reason: `${status} by ${addressOf(target)}`,
      relay: addressOf(target),
    })),
  });
}

/** A transport whose attempts follow `script` by address; `tried` lists the addresses in order. */
function scripted(params: Record<string, string>, scripts: Record<string, Script>, lmtp = false) {
  const tried: string[] = [];
  const deliver = (target: SmtpTarget, message: SmtpMessage) => {
    tried.push(addressOf(target));
    const script = scripts[addressOf(target)] ?? refused;
    return Promise.resolve(script(target, message));
  };
  const config = testConfig({ inet_protocols: "ipv4", smtp_tcp_port: "25", ...params });
  const transport = lmtp
    ? new LmtpTransport(config, { resolver: RESOLVER, deliver })
    : new SmtpTransport(config, { resolver: RESOLVER, deliver });
  return { transport, tried };
}

function req(nexthop: string, recipients = ["a@x.test", "b@x.test"]): DeliveryRequest {
  return { ...request(recipients), nexthop };
}

const statuses = (results: RecipientResult[]) =>
  results.map((r) => [r.index, r.status, r.dsn, r.siteFailure ?? false]);

Deno.test("smtp_mx_address_limit: 5 addresses by default, as configured, 0 = all", async () => {
  const byDefault = scripted({}, {});
  await byDefault.transport.deliver(req("many.test"));
  assert.deepEqual(byDefault.tried, SEVEN.slice(0, 5).map((a) => `${a}:25`));

  const two = scripted({ smtp_mx_address_limit: "2" }, {});
  await two.transport.deliver(req("many.test"));
  assert.deepEqual(two.tried, ["127.0.0.11:25", "127.0.0.12:25"]);

  const all = scripted({ smtp_mx_address_limit: "0" }, {});
  const results = await all.transport.deliver(req("many.test"));
  assert.equal(all.tried.length, 7);
  // The last address tried decides: deferred with its connect error.
  assert.match(results[0].reason, /127\.0\.0\.17:25: Connection refused/);

  assert.deepEqual(limitAddresses([1, 2, 3], 2), [1, 2]);
  assert.deepEqual(limitAddresses([1, 2, 3], 0), [1, 2, 3]);
});

Deno.test("smtp_mx_session_limit: stops after 2 sessions; unreachable addresses do not count", async () => {
  const soft = session("deferred", "4.2.0");
  const { transport, tried } = scripted({ smtp_mx_address_limit: "0" }, {
    // .11 and .13 refuse connections; .12 and .14 take the session and defer.
    "127.0.0.12:25": soft,
    "127.0.0.14:25": soft,
    "127.0.0.15:25": session("sent", "2.0.0"),
  });
  const results = await transport.deliver(req("many.test"));
  assert.deepEqual(tried, ["127.0.0.11:25", "127.0.0.12:25", "127.0.0.13:25", "127.0.0.14:25"]);
  // The second session's 4xx is final; a reply to the transaction is no site failure.
  assert.deepEqual(statuses(results), [[0, "deferred", "4.2.0", false], [
    1,
    "deferred",
    "4.2.0",
    false,
  ]]);

  const unlimited = scripted({ smtp_mx_address_limit: "0", smtp_mx_session_limit: "0" }, {
    "127.0.0.12:25": soft,
    "127.0.0.14:25": soft,
    "127.0.0.15:25": session("sent", "2.0.0"),
  });
  const sent = await unlimited.transport.deliver(req("many.test"));
  assert.equal(unlimited.tried.length, 5);
  assert.deepEqual(sent.map((r) => r.status), ["sent", "sent"]);
});

Deno.test("smtp_fallback_relay: tried in order after every MX address failed", async () => {
  const { transport, tried } = scripted({
    smtp_fallback_relay: "[127.0.0.41], fallback.test:2525",
  }, { "127.0.0.31:2525": session("sent", "2.0.0") });
  const results = await transport.deliver(req("dead.test"));
  assert.deepEqual(tried, ["127.0.0.3:25", "127.0.0.41:25", "127.0.0.31:2525"]);
  assert.deepEqual(statuses(results), [[0, "sent", "2.0.0", false], [1, "sent", "2.0.0", false]]);
});

Deno.test("smtp_fallback_relay defaults to $fallback_relay (the Postfix 2.2 name)", async () => {
  const { transport, tried } = scripted({ fallback_relay: "[127.0.0.41]" }, {
    "127.0.0.41:25": session("sent", "2.0.0"),
  });
  await transport.deliver(req("dead.test"));
  assert.deepEqual(tried, ["127.0.0.3:25", "127.0.0.41:25"]);
});

Deno.test("smtp_fallback_relay: after a domain that does not exist or fails temporarily", async () => {
  const scripts = { "127.0.0.41:25": session("sent", "2.0.0") };
  const params = { smtp_fallback_relay: "[127.0.0.41]" };
  for (const nexthop of ["nowhere.test", "soft.test"]) {
    const { transport, tried } = scripted(params, scripts);
    const results = await transport.deliver(req(nexthop));
    assert.deepEqual(tried, ["127.0.0.41:25"], nexthop);
    assert.deepEqual(results.map((r) => r.status), ["sent", "sent"], nexthop);
  }
});

Deno.test("smtp_fallback_relay: not used when the MX host decided (sent or 5xx); a 4xx goes on", async () => {
  const params = { smtp_fallback_relay: "[127.0.0.41]" };
  const fallback = { "127.0.0.41:25": session("sent", "2.0.0") };
  const sent = scripted(params, { ...fallback, "127.0.0.3:25": session("sent", "2.0.0") });
  await sent.transport.deliver(req("dead.test"));
  assert.deepEqual(sent.tried, ["127.0.0.3:25"]);

  const bounced = scripted(params, { ...fallback, "127.0.0.3:25": session("bounced", "5.1.1") });
  const hard = await bounced.transport.deliver(req("dead.test"));
  assert.deepEqual(bounced.tried, ["127.0.0.3:25"]);
  assert.deepEqual(statuses(hard), [[0, "bounced", "5.1.1", false], [
    1,
    "bounced",
    "5.1.1",
    false,
  ]]);

  // smtp_connect.c: the last MX is not the final server while fallback relays remain.
  const soft = scripted(params, { ...fallback, "127.0.0.3:25": session("deferred", "4.2.0") });
  const retried = await soft.transport.deliver(req("dead.test"));
  assert.deepEqual(soft.tried, ["127.0.0.3:25", "127.0.0.41:25"]);
  assert.deepEqual(retried.map((r) => r.status), ["sent", "sent"]);
});

Deno.test("smtp_fallback_relay is used for relayhost too; a relayhost not found defers 4.3.5", async () => {
  // Postfix 3.x smtp_connect.c appends the fallback relays to every nexthop,
  // relayhost included; relayhost only turns a hard lookup error into 4.3.5.
  const withFallback = scripted({
    relayhost: "[127.0.0.51]",
    smtp_fallback_relay: "[127.0.0.41]",
  }, { "127.0.0.41:25": session("sent", "2.0.0") });
  const sent = await withFallback.transport.deliver(req("[127.0.0.51]"));
  assert.deepEqual(withFallback.tried, ["127.0.0.51:25", "127.0.0.41:25"]);
  assert.deepEqual(sent.map((r) => r.status), ["sent", "sent"]);

  const relayhost = scripted({ relayhost: "nowhere.test" }, {});
  const deferred = await relayhost.transport.deliver(req("nowhere.test"));
  assert.deepEqual(statuses(deferred), [[0, "deferred", "4.3.5", true], [
    1,
    "deferred",
    "4.3.5",
    true,
  ]]);
  assert.match(deferred[0].reason, /Name service error for name=nowhere\.test/);

  // The same domain as an ordinary nexthop bounces.
  const ordinary = scripted({ relayhost: "[127.0.0.51]" }, {});
  const bounced = await ordinary.transport.deliver(req("nowhere.test"));
  assert.deepEqual(statuses(bounced), [[0, "bounced", "5.4.4", false], [
    1,
    "bounced",
    "5.4.4",
    false,
  ]]);
});

Deno.test("smtp_fallback_relay that does not resolve: deferred 4.3.5 (configuration problem)", async () => {
  const { transport, tried } = scripted({ smtp_fallback_relay: "nowhere.test" }, {});
  const results = await transport.deliver(req("dead.test"));
  assert.deepEqual(tried, ["127.0.0.3:25"]);
  assert.deepEqual(results.map((r) => [r.status, r.dsn, r.relay]), [
    ["deferred", "4.3.5", "none"],
    ["deferred", "4.3.5", "none"],
  ]);
});

Deno.test("nexthop list: comma or whitespace separated destinations, tried in order", async () => {
  const { transport, tried } = scripted({}, { "127.0.0.22:587": session("sent", "2.0.0") });
  const results = await transport.deliver(
    req("[127.0.0.61]:587, [relay1.test]:587\t[relay2.test]:587 [127.0.0.62]"),
  );
  assert.deepEqual(tried, ["127.0.0.61:587", "127.0.0.21:587", "127.0.0.22:587"]);
  assert.deepEqual(results.map((r) => [r.status, r.relay]), [
    ["sent", "127.0.0.22:587"],
    ["sent", "127.0.0.22:587"],
  ]);
  // A list element that does not resolve is skipped, like an unreachable one.
  const skipping = scripted({}, { "127.0.0.21:25": session("sent", "2.0.0") });
  await skipping.transport.deliver(req("nowhere.test, relay1.test"));
  assert.deepEqual(skipping.tried, ["127.0.0.21:25"]);
});

Deno.test("siteFailure: set when no server could be reached or the lookup failed temporarily", async () => {
  const unreachable = scripted({}, {});
  assert.deepEqual(statuses(await unreachable.transport.deliver(req("dead.test"))), [
    [0, "deferred", "4.4.1", true],
    [1, "deferred", "4.4.1", true],
  ]);
  const dns = scripted({}, {});
  assert.deepEqual(statuses(await dns.transport.deliver(req("soft.test"))), [
    [0, "deferred", "4.4.3", true],
    [1, "deferred", "4.4.3", true],
  ]);
  // A 4xx greeting fails the session: a site failure; a 5xx one at the last host bounces.
  const greeting = (temporary: boolean): Script => (target) => ({
    kind: "failed",
    temporary,
    dsn: temporary ? "4.3.2" : "5.3.2",
    reason: `host refused to talk to me`,
    relay: addressOf(target),
  });
  const busy = scripted({}, { "127.0.0.3:25": greeting(true) });
  assert.deepEqual(statuses(await busy.transport.deliver(req("dead.test", ["a@x.test"]))), [
    [0, "deferred", "4.3.2", true],
  ]);
  const closed = scripted({}, { "127.0.0.3:25": greeting(false) });
  assert.deepEqual(statuses(await closed.transport.deliver(req("dead.test", ["a@x.test"]))), [
    [0, "bounced", "5.3.2", false],
  ]);
  // Recipient-level answers are not: a 4xx to RCPT after an unreachable address.
  const mixed = scripted({ smtp_mx_address_limit: "2" }, {
    "127.0.0.12:25": session("deferred", "4.2.0"),
  });
  assert.deepEqual(statuses(await mixed.transport.deliver(req("many.test", ["a@x.test"]))), [
    [0, "deferred", "4.2.0", false],
  ]);
});

Deno.test("lmtp: nexthop list, lmtp_fallback_relay and lmtp_mx_*_limit", async () => {
  const { transport, tried } = scripted(
    {
      lmtp_tcp_port: "24",
      lmtp_fallback_relay: "127.0.0.41:2424",
      lmtp_mx_address_limit: "1",
    },
    { "127.0.0.41:2424": session("sent", "2.0.0") },
    true,
  );
  const results = await transport.deliver(req("inet:mx.many.test, inet:127.0.0.61:2400"));
  // One address of mx.many.test (lmtp_mx_address_limit = 1), the next list element, the fallback.
  assert.deepEqual(tried, ["127.0.0.11:24", "127.0.0.61:2400", "127.0.0.41:2424"]);
  assert.deepEqual(results.map((r) => r.status), ["sent", "sent"]);

  // A unix-domain socket is one destination: no fallback (smtp_connect_local).
  const socket = scripted({ lmtp_fallback_relay: "127.0.0.41:2424" }, {}, true);
  const deferred = await socket.transport.deliver(req("unix:/nonexistent/lmtp"));
  assert.deepEqual(socket.tried, ["/nonexistent/lmtp"]);
  assert.deepEqual(statuses(deferred)[0], [0, "deferred", "4.4.1", true]);
});

Deno.test("fallback relay over the wire: a dead MX address, then the fake server", async () => {
  const fake = await startFake();
  try {
    const config = testConfig({
      inet_protocols: "ipv4",
      smtp_tcp_port: String(fake.port),
      smtp_connect_timeout: "2s",
      smtp_helo_name: "client.test",
      smtp_fallback_relay: `[127.0.0.1]:${fake.port}`,
    });
    // mx.dead.test is 127.0.0.3: nothing listens there, the connection is refused.
    const transport = new SmtpTransport(config, { resolver: RESOLVER });
    try {
      const results = await transport.deliver(req("dead.test"));
      assert.deepEqual(results.map((r) => [r.status, r.relay, r.siteFailure ?? false]), [
        ["sent", `127.0.0.1[127.0.0.1]:${fake.port}`, false],
        ["sent", `127.0.0.1[127.0.0.1]:${fake.port}`, false],
      ]);
      assert.equal(fake.bodies.length, 1);
      assert.ok(fake.commands.includes("RCPT TO:<a@x.test>"), fake.commands.join("\n"));
    } finally {
      await transport.close();
    }
  } finally {
    await fake.close();
  }
});
