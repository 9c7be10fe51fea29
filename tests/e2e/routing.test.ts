/**
 * Outbound routing end to end, as an administrator checks it: the real server
 * resolves next hops through dnsmasq (MX preference, A fallback, null MX),
 * relayhost with and without brackets, transport_maps per user and per
 * domain, retries after a 4xx, and dead-destination feedback. Each test reads
 * qmgr's log line (relay=, dsn=, status=), the smtp-sink dump that got the
 * message, or the DSN in alice's Maildir.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { requirePeer } from "../peers.ts";
import { eventually, mailbox, maildirMessages, startServer } from "./harness.ts";
import { dumped, dumps, inScenario, send, sendEach, startSink } from "./sink.ts";

const sinkPeer = requirePeer("smtp-sink", "postfix");
const dnsmasqPeer = requirePeer("dnsmasq", "dnsmasq-base");
const ignore = sinkPeer.ignore || dnsmasqPeer.ignore;

/** Escapes text for a RegExp. */
function re(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** The qmgr line of one recipient of one message with the given relay and status. */
function delivery(id: string, rcpt: string, relay: string, rest: string): RegExp {
  return new RegExp(`${id}: to=<${re(rcpt)}>, relay=${re(relay)}, .*${rest}`);
}

Deno.test({
  name: "MX preference: the preferred MX is dead, delivery goes to the next MX",
  ignore,
  fn: inScenario(async (s) => {
    await s.dns([
      "--mx-host=pref.test,mx1.pref.test,10",
      "--host-record=mx1.pref.test,127.0.0.3", // nothing listens there
      "--mx-host=pref.test,mx2.pref.test,20",
      "--host-record=mx2.pref.test,127.0.0.2",
    ], "mx2.pref.test");
    const dir = await s.sink("127.0.0.2");
    const server = await s.server();

    const id = await send(server.port, "carol@pref.test", "second MX");
    await server.waitForLog(
      delivery(id, "carol@pref.test", `mx2.pref.test[127.0.0.2]:${s.sinkPort}`, "status=sent"),
    );
    // smtp_connect.c: the preferred MX was tried first, and its failure logged.
    await server.waitForLog(
      new RegExp(
        `facteur/smtp\\[\\d+\\]: connect to mx1\\.pref\\.test\\[127\\.0\\.0\\.3\\]:${s.sinkPort}: Connection refused`,
      ),
    );
    const [got] = await dumped(dir, 1);
    assert.match(got, /^X-Rcpt-Args: <carol@pref\.test>/m);
    assert.match(got, /^Subject: second MX$/m);
  }),
});

Deno.test({
  name: "no MX record: delivered to the domain's A record (RFC 5321 5.1)",
  ignore,
  fn: inScenario(async (s) => {
    await s.dns(["--host-record=nomx.test,127.0.0.4"], "nomx.test");
    const dir = await s.sink("127.0.0.4");
    const server = await s.server();

    const id = await send(server.port, "dave@nomx.test", "by A record");
    await server.waitForLog(
      delivery(id, "dave@nomx.test", `nomx.test[127.0.0.4]:${s.sinkPort}`, "status=sent"),
    );
    const [got] = await dumped(dir, 1);
    assert.match(got, /^X-Rcpt-Args: <dave@nomx\.test>/m);
  }),
});

Deno.test({
  name: "null MX (RFC 7505): bounced 5.1.0 without a connection, DSN back to alice",
  ignore,
  fn: inScenario(async (s) => {
    await s.dns([
      "--mx-host=nullmx.test,.,0",
      // An A record the client must not fall back to: a sink that would show a connection.
      "--host-record=nullmx.test,127.0.0.5",
    ], "nullmx.test");
    const dir = await s.sink("127.0.0.5");
    const server = await s.server();

    const id = await send(server.port, "erin@nullmx.test", "to a null MX");
    await server.waitForLog(
      delivery(
        id,
        "erin@nullmx.test",
        "none",
        "dsn=5\\.1\\.0, status=bounced \\(Domain nullmx\\.test does not accept mail \\(nullMX\\)\\)",
      ),
    );
    const [notice] = await eventually(async () => {
      const messages = await maildirMessages(mailbox(server, "alice"));
      return messages.length > 0 && messages;
    });
    const text = new TextDecoder().decode(notice.bytes);
    assert.match(text, /^Subject: Undelivered Mail Returned to Sender$/m);
    assert.match(text, /^Final-Recipient: rfc822; erin@nullmx\.test$/m);
    assert.match(text, /^Action: failed$/m);
    assert.match(text, /^Status: 5\.1\.0$/m);
    assert.doesNotMatch(server.log(), /connect to nullmx\.test/);
    assert.deepEqual(await dumps(dir), [], "no connection reached the A record's host");
  }),
});

Deno.test({
  name: 'relayhost "[relay.test]:port" uses the A record, "relay.test:port" the MX host',
  ignore,
  fn: inScenario(async (s) => {
    await s.dns([
      "--host-record=relay.test,127.0.0.6",
      "--mx-host=relay.test,mx.relay.test,10",
      "--host-record=mx.relay.test,127.0.0.7",
    ], "mx.relay.test");
    const aDir = await s.sink("127.0.0.6");
    const mxDir = await s.sink("127.0.0.7");
    const { dnsPort, sinkPort } = s;
    const dns = `dns_nameservers = ["127.0.0.1:${dnsPort}"]\ninet_protocols = "ipv4"\n`;
    const [bracketed, plain] = await Promise.all([
      s.server({ toml: dns + `relayhost = "[relay.test]:${sinkPort}"` }),
      s.server({ toml: dns + `relayhost = "relay.test:${sinkPort}"` }),
    ]);

    const viaA = await send(bracketed.port, "frank@far.test", "bracketed relayhost");
    await bracketed.waitForLog(
      delivery(viaA, "frank@far.test", `relay.test[127.0.0.6]:${sinkPort}`, "status=sent"),
    );
    const viaMx = await send(plain.port, "grace@far.test", "relayhost by MX");
    await plain.waitForLog(
      delivery(viaMx, "grace@far.test", `mx.relay.test[127.0.0.7]:${sinkPort}`, "status=sent"),
    );

    const [a] = await dumped(aDir, 1);
    assert.match(a, /^Subject: bracketed relayhost$/m);
    const [mx] = await dumped(mxDir, 1);
    assert.match(mx, /^Subject: relayhost by MX$/m);
  }),
});

Deno.test({
  name: "transport_maps: a user entry and a domain entry win, the rest of the domain goes by MX",
  ignore,
  fn: inScenario(async (s) => {
    await s.dns([
      "--mx-host=remote.test,mx.remote.test,10",
      "--host-record=mx.remote.test,127.0.0.7",
      "--mx-host=other.test,mx.other.test,10",
      "--host-record=mx.other.test,127.0.0.7",
      "--mx-host=sub.other.test,mx.other.test,10",
    ], "mx.remote.test");
    const userDir = await s.sink("127.0.0.5");
    const domainDir = await s.sink("127.0.0.6");
    const mxDir = await s.sink("127.0.0.7");
    const { sinkPort } = s;
    // The transport(5) source file, as seed 001 writes /etc/postfix/transport.
    const table = join(await s.dir(), "transport");
    await Deno.writeTextFile(
      table,
      `special@remote.test   smtp:[127.0.0.5]:${sinkPort}\n` +
        `other.test            smtp:[127.0.0.6]:${sinkPort}\n`,
    );
    const server = await s.server({ toml: s.toml + `transport_maps = "hash:${table}"\n` });

    const [user, domain, byMx, sub] = await sendEach(server.port, [
      { rcpt: "special@remote.test", subject: "per user" },
      { rcpt: "henry@other.test", subject: "per domain" },
      { rcpt: "ivan@remote.test", subject: "by MX" },
      // transport(5): "other.test" does not match subdomains (that takes ".other.test").
      { rcpt: "kate@sub.other.test", subject: "subdomain by MX" },
    ]);
    await server.waitForLog(
      delivery(user, "special@remote.test", `127.0.0.5[127.0.0.5]:${sinkPort}`, "status=sent"),
    );
    await server.waitForLog(
      delivery(domain, "henry@other.test", `127.0.0.6[127.0.0.6]:${sinkPort}`, "status=sent"),
    );
    await server.waitForLog(
      delivery(byMx, "ivan@remote.test", `mx.remote.test[127.0.0.7]:${sinkPort}`, "status=sent"),
    );
    const [u] = await dumped(userDir, 1);
    assert.match(u, /^X-Rcpt-Args: <special@remote\.test>/m);
    const [d] = await dumped(domainDir, 1);
    assert.match(d, /^X-Rcpt-Args: <henry@other\.test>/m);
    await server.waitForLog(
      delivery(sub, "kate@sub.other.test", `mx.other.test[127.0.0.7]:${sinkPort}`, "status=sent"),
    );
    const byMxRcpts = (await dumped(mxDir, 2)).map((t) => t.match(/^X-Rcpt-Args: (.*)$/m)?.[1]);
    assert.deepEqual(byMxRcpts.sort(), ["<ivan@remote.test>", "<kate@sub.other.test>"]);
  }),
});

Deno.test({
  name: "4xx to RCPT: deferred, then sent exactly once when the receiver accepts",
  ignore,
  fn: inScenario(async (s) => {
    await s.dns([
      "--mx-host=later.test,mx.later.test,10",
      "--host-record=mx.later.test,127.0.0.8",
    ], "mx.later.test");
    const refusing = s.add(await startSink("127.0.0.8", s.sinkPort, ["-r", "RCPT"]));
    const server = await s.server();
    const relay = `mx.later.test[127.0.0.8]:${s.sinkPort}`;

    const id = await send(server.port, "judy@later.test", "try again");
    await server.waitForLog(
      delivery(
        id,
        "judy@later.test",
        relay,
        `dsn=4\\.\\d+\\.\\d+, status=deferred \\(host ${
          re(`mx.later.test[127.0.0.8]`)
        } said: 4\\d\\d .*\\(in reply to RCPT TO command\\)\\)`,
      ),
    );
    await refusing.stop(); // stopping it again at the end is harmless
    const dir = await s.sink("127.0.0.8");

    await server.waitForLog(delivery(id, "judy@later.test", relay, "dsn=2\\.0\\.0, status=sent"));
    // Longer than a queue run and the maximal backoff: nothing is sent again.
    await new Promise((r) => setTimeout(r, 2500));
    const got = await dumps(dir);
    assert.equal(got.length, 1, "one transaction reached the receiver");
    assert.match(got[0], /^X-Rcpt-Args: <judy@later\.test>/m);
    const sent = server.log().match(
      new RegExp(`${id}: to=<judy@later\\.test>.*status=sent`, "g"),
    );
    assert.equal(sent?.length, 1, server.log());
  }),
});

Deno.test({
  name: "a dead destination is suspended after one cohort and does not hold up a live one",
  ignore,
  fn: inScenario(async (s) => {
    await s.dns([
      "--mx-host=dead.test,mx.dead.test,10",
      "--host-record=mx.dead.test,127.0.0.9", // nothing listens there
      "--mx-host=live.test,mx.live.test,10",
      "--host-record=mx.live.test,127.0.0.10",
    ], "mx.live.test");
    const dir = await s.sink("127.0.0.10");
    const { sinkPort } = s;

    // Queue the 30 messages behind defer_transports, then restart without it:
    // the queue run then hands all of them to the scheduler at once.
    const holding = await s.server({ toml: s.toml + `defer_transports = "smtp"\n` });
    let ids: string[];
    try {
      const messages = Array.from({ length: 15 }, (_, i) => [
        { rcpt: `d${i}@dead.test`, subject: `dead ${i}` },
        { rcpt: `l${i}@live.test`, subject: `live ${i}` },
      ]).flat();
      ids = await sendEach(holding.port, messages);
      for (const id of ids) {
        await holding.waitForLog(
          new RegExp(`${id}: to=<.*status=deferred \\(deferred transport\\)`),
        );
      }
    } finally {
      await holding.stop();
    }
    const server = s.add(await startServer({ toml: s.toml, dir: holding.dir }));
    const deadIds = ids.filter((_, i) => i % 2 === 0);
    const liveIds = ids.filter((_, i) => i % 2 === 1);

    const relay = `mx.live.test[127.0.0.10]:${sinkPort}`;
    for (const [i, id] of liveIds.entries()) {
      await server.waitForLog(delivery(id, `l${i}@live.test`, relay, "status=sent"));
    }
    assert.equal((await dumped(dir, 15)).length, 15);

    const refused = `connect to mx.dead.test[127.0.0.9]:${sinkPort}: Connection refused`;
    const lines = await Promise.all(
      deadIds.map((id, i) =>
        server.waitForLog(new RegExp(`${id}: to=<d${i}@dead\\.test>, relay=(\\S+), .*$`, "m"))
      ),
    );
    // smtp(8) says relay=none when no connection was made.
    const tried = lines.filter(([line, relay]) =>
      relay === "none" && line.endsWith(`dsn=4.4.1, status=deferred (${refused})`)
    );
    const suspended = lines.filter(([line, relay]) =>
      relay === "none" &&
      line.endsWith(`dsn=4.4.1, status=deferred (delivery temporarily suspended: ${refused})`)
    );
    const all = lines.map(([line]) => line).join("\n");
    // SCHEDULER_README: one failed pseudo-cohort (initial_destination_concurrency = 5) kills it.
    assert.ok(tried.length >= 1 && tried.length <= 5, `connection attempts:\n${all}`);
    assert.equal(tried.length + suspended.length, 15, all);
  }),
});
