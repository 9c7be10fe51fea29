/**
 * Each restriction and each access(5) result, with the exact reply line.
 * Expected lines were taken from Postfix 3.7.11 running the same settings
 * on 127.0.0.1 (client "localhost[127.0.0.1]", myhostname mx.example.test).
 */
import assert from "node:assert/strict";
import { Config } from "../../src/config/mod.ts";
import { ConfigError, MailError } from "../../src/errors.ts";
import { type LookupTable, openMap } from "../../src/maps/mod.ts";
import { type DomainClass, Policy, type SmtpdContext } from "../../src/smtpd/policy.ts";
import {
  compileRestrictions,
  type DnsLookup,
  fixDsn,
  hasRelayProtection,
  splitDsn,
  validHostname,
} from "../../src/smtpd/restrictions.ts";

const CLASSES: Record<string, DomainClass> = {
  "mx.example.test": "local",
  "localhost": "local",
  "relay.example": "relay",
  "d.example": "relay",
  "e.example": "relay",
  "sub.example.org": "relay",
  "a.sub.example.net": "relay",
  "example.net": "relay",
  "zz.example.test": "relay",
  "f.example": "relay",
  "sub.f.example": "relay",
  "x.example": "relay",
};

/** DNS answers by "type name"; a missing entry is NXDOMAIN, "TEMP" a server failure. */
function fakeDns(records: Record<string, string[] | "TEMP">): { dns: DnsLookup; asked: string[] } {
  const asked: string[] = [];
  const dns: DnsLookup = (name, type) => {
    asked.push(`${type} ${name}`);
    const r = records[`${type} ${name}`];
    if (r === "TEMP") return Promise.reject(new Error("SERVFAIL"));
    if (!r) return Promise.reject(new Deno.errors.NotFound(`no records found for ${name}`));
    return Promise.resolve(r);
  };
  return { dns, asked };
}

/** A table that cannot answer (a broken database, say). */
function brokenTable(spec: string): LookupTable {
  return { spec, lookup: () => Promise.reject(new Error("database is locked")) };
}

function policy(values: Record<string, string>, dns: DnsLookup = fakeDns({}).dns) {
  const logs: string[] = [];
  const config = new Config({
    myhostname: "mx.example.test",
    mydestination: "$myhostname, localhost",
    mynetworks: "127.0.0.0/8",
    smtpd_reject_unlisted_recipient: "no",
    ...values,
  });
  const p = new Policy(config, {
    openTable: (spec) => spec.startsWith("broken:") ? brokenTable(spec) : openMap(spec),
    rewrite: {
      domainClass: (domain) => Promise.resolve(CLASSES[domain] ?? "default"),
      checkRecipient: (address) =>
        Promise.resolve(
          address.startsWith("known@") ? undefined : new MailError(
            550,
            "5.1.1",
            `<${address}>: Recipient address rejected: User unknown in local recipient table`,
          ),
        ),
    },
    dns,
    log: (line) => logs.push(line),
  });
  return { policy: p, logs };
}

const LOCAL = "u@mx.example.test";

/** Reply to RCPT TO:<to> after HELO `helo`, MAIL FROM:<from> (delay_reject=yes). */
async function reply(
  p: Policy,
  { helo = "c.example", from = "a@r.example", to = LOCAL, sasl }: {
    helo?: string;
    from?: string;
    to?: string;
    sasl?: string;
  } = {},
): Promise<string | undefined> {
  const ctx: SmtpdContext = {
    client: { address: "127.0.0.1", port: 1025, hostname: "localhost" },
    helo,
    esmtp: true,
    sender: from,
    recipient: to,
    recipients: [],
    tls: false,
    saslUser: sasl,
  };
  return (await p.onRcpt(ctx))?.reply;
}

// --- Plain restrictions --------------------------------------------------------

Deno.test("permit, reject and defer, with the list's reply name and class", async () => {
  assert.equal(
    await reply(policy({ smtpd_client_restrictions: "reject" }).policy),
    "554 5.7.1 <localhost[127.0.0.1]>: Client host rejected: Access denied",
  );
  assert.equal(
    await reply(policy({ smtpd_client_restrictions: "defer" }).policy),
    "450 4.3.2 <localhost[127.0.0.1]>: Client host rejected: Try again later",
  );
  assert.equal(
    await reply(policy({ smtpd_helo_restrictions: "reject" }).policy),
    "554 5.7.1 <c.example>: Helo command rejected: Access denied",
  );
  assert.equal(
    await reply(policy({ smtpd_sender_restrictions: "reject" }).policy),
    "554 5.7.1 <a@r.example>: Sender address rejected: Access denied",
  );
  assert.equal(
    await reply(policy({ smtpd_recipient_restrictions: "reject" }).policy),
    "554 5.7.1 <u@mx.example.test>: Recipient address rejected: Access denied",
  );
  // permit ends the list: the reject after it is never reached.
  assert.equal(
    await reply(policy({ smtpd_recipient_restrictions: "permit, reject" }).policy),
    undefined,
  );
  // But a permit in one list does not skip the next list.
  assert.equal(
    await reply(
      policy({ smtpd_client_restrictions: "permit", smtpd_sender_restrictions: "reject" }).policy,
    ),
    "554 5.7.1 <a@r.example>: Sender address rejected: Access denied",
  );
});

Deno.test("permit_mynetworks, permit_sasl_authenticated, permit_auth_destination", async () => {
  const list = (r: string, nets = "127.0.0.0/8") =>
    policy({ mynetworks: nets, smtpd_relay_restrictions: `${r}, reject` }).policy;
  assert.equal(await reply(list("permit_mynetworks")), undefined);
  assert.equal(
    await reply(list("permit_mynetworks", "10.0.0.0/8")),
    "554 5.7.1 <u@mx.example.test>: Recipient address rejected: Access denied",
  );
  assert.equal(await reply(list("permit_sasl_authenticated"), { sasl: "alice" }), undefined);
  assert.equal(
    await reply(list("permit_sasl_authenticated")),
    "554 5.7.1 <u@mx.example.test>: Recipient address rejected: Access denied",
  );
  const auth = list("permit_auth_destination", "10.0.0.0/8");
  assert.equal(await reply(auth, { to: "u@relay.example" }), undefined);
  assert.equal(await reply(auth, { to: "u@mx.example.test." }), undefined);
  assert.equal(
    await reply(auth, { to: "u@elsewhere.example" }),
    "554 5.7.1 <u@elsewhere.example>: Recipient address rejected: Access denied",
  );
});

Deno.test("reject_unauth_destination 554, defer_unauth_destination 454", async () => {
  const reject = policy({
    mynetworks: "10.0.0.0/8",
    smtpd_relay_restrictions: "permit_mynetworks, reject_unauth_destination",
  }).policy;
  assert.equal(
    await reply(reject, { to: "u@elsewhere.example" }),
    "554 5.7.1 <u@elsewhere.example>: Relay access denied",
  );
  assert.equal(await reply(reject, { to: "u@relay.example" }), undefined);
  // A bare user is user@$myorigin, which is local.
  assert.equal(await reply(reject, { to: "u" }), undefined);
  const defer = policy({ mynetworks: "10.0.0.0/8" }).policy; // the default relay list
  assert.equal(
    await reply(defer, { to: "u@elsewhere.example" }),
    "454 4.7.1 <u@elsewhere.example>: Relay access denied",
  );
  assert.equal(
    await reply(defer, { to: "u@[192.0.2.1]" }),
    "454 4.7.1 <u@[192.0.2.1]>: Relay access denied",
  );
  const code = policy({ mynetworks: "10.0.0.0/8", relay_domains_reject_code: "550" }).policy;
  assert.equal(
    await reply(code, { to: "u@elsewhere.example" }),
    "450 4.7.1 <u@elsewhere.example>: Relay access denied",
  );
});

Deno.test("defer_if_permit and defer_if_reject", async () => {
  const permit = policy({
    smtpd_relay_restrictions: "defer_if_permit, permit_mynetworks, reject_unauth_destination",
  }).policy;
  assert.equal(
    await reply(permit),
    "450 4.7.0 <u@mx.example.test>: Recipient address rejected: defer_if_permit requested",
  );
  // A later reject wins over defer_if_permit... except that relay is permitted here:
  const permitThenReject = policy({
    mynetworks: "10.0.0.0/8",
    smtpd_relay_restrictions: "defer_if_permit, permit_mynetworks, reject_unauth_destination",
  }).policy;
  assert.equal(
    await reply(permitThenReject, { to: "u@elsewhere.example" }),
    "554 5.7.1 <u@elsewhere.example>: Relay access denied",
  );
  const reject = policy({
    mynetworks: "10.0.0.0/8",
    smtpd_relay_restrictions: "defer_if_reject, permit_mynetworks, reject_unauth_destination",
  }).policy;
  assert.equal(await reply(reject), undefined);
  assert.equal(
    await reply(reject, { to: "u@elsewhere.example" }),
    "450 4.7.0 <u@elsewhere.example>: Recipient address rejected: defer_if_reject requested",
  );
});

Deno.test("warn_if_reject logs the reject and goes on", async () => {
  const { policy: p, logs } = policy({
    smtpd_recipient_restrictions: "warn_if_reject reject, reject_non_fqdn_recipient",
  });
  assert.equal(await reply(p), undefined);
  assert.equal(
    logs.at(-1),
    "NOQUEUE: reject_warning: RCPT from localhost[127.0.0.1]: 554 5.7.1 <u@mx.example.test>: " +
      "Recipient address rejected: Access denied; from=<a@r.example> to=<u@mx.example.test> " +
      "proto=ESMTP helo=<c.example>",
  );
  // Only the next restriction is softened.
  assert.equal(
    await reply(p, { to: "u" }),
    "504 5.5.2 <u>: Recipient address rejected: need fully-qualified address",
  );
});

Deno.test("reject_unauth_pipelining is accepted and does nothing yet", async () => {
  assert.equal(
    await reply(policy({ smtpd_recipient_restrictions: "reject_unauth_pipelining" }).policy),
    undefined,
  );
});

// --- HELO ----------------------------------------------------------------------

Deno.test("reject_invalid_helo_hostname", async () => {
  const p = policy({ smtpd_helo_restrictions: "reject_invalid_helo_hostname" }).policy;
  const cases: [string, string | undefined][] = [
    ["bad_host!", "501 5.5.2 <bad_host!>: Helo command rejected: Invalid name"],
    ["[1.2.3]", "501 5.5.2 <[1.2.3]>: Helo command rejected: invalid ip address"],
    ["123", "501 5.5.2 <123>: Helo command rejected: Invalid name"],
    ["a-.b", "501 5.5.2 <a-.b>: Helo command rejected: Invalid name"],
    ["[1.2.3.4]", undefined],
    ["1.2.3.4", undefined],
    ["client", undefined],
    ["host.example.", undefined],
    ["under_score.example", undefined],
  ];
  for (const [helo, expected] of cases) assert.equal(await reply(p, { helo }), expected, helo);
});

Deno.test("reject_non_fqdn_helo_hostname", async () => {
  const p = policy({ smtpd_helo_restrictions: "reject_non_fqdn_helo_hostname" }).policy;
  const cases: [string, string | undefined][] = [
    ["client", "504 5.5.2 <client>: Helo command rejected: need fully-qualified hostname"],
    ["[1.2.3]", "501 5.5.2 <[1.2.3]>: Helo command rejected: invalid ip address"],
    ["[::1]", "501 5.5.2 <[::1]>: Helo command rejected: invalid ip address"],
    ["[IPv6:::1]", undefined],
    ["host.example.", undefined],
    ["bücher.example", undefined],
  ];
  for (const [helo, expected] of cases) assert.equal(await reply(p, { helo }), expected, helo);
  // Without HELO there is nothing to check.
  const ctx: SmtpdContext = {
    client: { address: "127.0.0.1", port: 1 },
    esmtp: false,
    sender: "a@r.example",
    recipient: LOCAL,
    recipients: [],
    tls: false,
  };
  assert.equal(await p.onRcpt(ctx), undefined);
});

Deno.test("reject_unknown_helo_hostname asks DNS for A, AAAA or MX", async () => {
  const { dns, asked } = fakeDns({
    "AAAA v6only.example": ["2001:db8::1"],
    "A slow.example": "TEMP",
  });
  const p = policy({ smtpd_helo_restrictions: "reject_unknown_helo_hostname" }, dns).policy;
  assert.equal(await reply(p, { helo: "v6only.example" }), undefined);
  assert.deepEqual(asked, ["A v6only.example", "AAAA v6only.example"]);
  assert.equal(
    await reply(p, { helo: "nohost.example" }),
    "450 4.7.1 <nohost.example>: Helo command rejected: Host not found",
  );
  // A DNS failure defers only if the request would otherwise be accepted.
  assert.equal(
    await reply(p, { helo: "slow.example" }),
    "450 4.7.1 <slow.example>: Helo command rejected: Host not found",
  );
  assert.equal(
    await reply(p, { helo: "[1.2.3]" }),
    "501 5.5.2 <[1.2.3]>: Helo command rejected: invalid ip address",
  );
});

// --- Sender and recipient syntax and DNS ------------------------------------------

Deno.test("reject_non_fqdn_sender / reject_non_fqdn_recipient", async () => {
  const p = policy({
    smtpd_sender_restrictions: "reject_non_fqdn_sender",
    smtpd_recipient_restrictions: "reject_non_fqdn_recipient",
  }).policy;
  assert.equal(
    await reply(p, { from: "a@b" }),
    "504 5.5.2 <a@b>: Sender address rejected: need fully-qualified address",
  );
  assert.equal(
    await reply(p, { from: "a" }),
    "504 5.5.2 <a>: Sender address rejected: need fully-qualified address",
  );
  assert.equal(await reply(p, { from: "" }), undefined); // the null sender is fine
  assert.equal(
    await reply(p, { to: "u" }),
    "504 5.5.2 <u>: Recipient address rejected: need fully-qualified address",
  );
  assert.equal(await reply(p, { to: "u@[192.0.2.1]" }), undefined);
  assert.equal(await reply(p, { to: "u@mx.example.test." }), undefined);
});

Deno.test("reject_unknown_sender_domain: MX, then A/AAAA; null MX; temporary failures", async () => {
  const { dns, asked } = fakeDns({
    "MX mx-only.example": ["mail.mx-only.example"],
    "A a-only.example": ["192.0.2.1"],
    "MX nullmx.example": ["."],
    "MX slow.example": "TEMP",
  });
  const p = policy({ smtpd_sender_restrictions: "reject_unknown_sender_domain" }, dns).policy;
  assert.equal(await reply(p, { from: "a@mx-only.example" }), undefined);
  assert.equal(await reply(p, { from: "a@a-only.example" }), undefined);
  assert.equal(
    await reply(p, { from: "a@nonexistent.example" }),
    "450 4.1.8 <a@nonexistent.example>: Sender address rejected: Domain not found",
  );
  assert.equal(
    await reply(p, { from: "a@nullmx.example" }),
    "550 5.7.27 <a@nullmx.example>: Sender address rejected: Domain nullmx.example does not accept mail (nullMX)",
  );
  assert.equal(
    await reply(p, { from: "a@slow.example" }),
    "450 4.1.8 <a@slow.example>: Sender address rejected: Domain not found",
  );
  // Our own domains and the null sender are not looked up.
  asked.length = 0;
  assert.equal(await reply(p, { from: "a@mx.example.test" }), undefined);
  assert.equal(await reply(p, { from: "" }), undefined);
  assert.deepEqual(asked, []);
});

Deno.test("reject_unknown_sender_domain temp failure: a later reject still wins", async () => {
  const { dns } = fakeDns({ "MX slow.example": "TEMP" });
  const p = policy({
    mynetworks: "10.0.0.0/8",
    smtpd_sender_restrictions: "reject_unknown_sender_domain",
  }, dns).policy;
  assert.equal(
    await reply(p, { from: "a@slow.example", to: "u@elsewhere.example" }),
    "454 4.7.1 <u@elsewhere.example>: Relay access denied",
  );
});

Deno.test("reject_unknown_recipient_domain checks relay and remote domains only", async () => {
  const { dns } = fakeDns({ "MX nullmx.example": [""] });
  const p = policy({ smtpd_recipient_restrictions: "reject_unknown_recipient_domain" }, dns).policy;
  assert.equal(
    await reply(p, { to: "u@relay.example" }),
    "450 4.1.2 <u@relay.example>: Recipient address rejected: Domain not found",
  );
  assert.equal(
    await reply(p, { to: "u@nullmx.example" }),
    "556 5.1.10 <u@nullmx.example>: Recipient address rejected: Domain nullmx.example does not accept mail (nullMX)",
  );
  assert.equal(await reply(p, { to: LOCAL }), undefined);
  assert.equal(await reply(p, { to: "u@[192.0.2.1]" }), undefined);
});

Deno.test("reject_unlisted_recipient and reject_unlisted_sender in a list", async () => {
  const p = policy({
    smtpd_recipient_restrictions: "reject_unlisted_recipient",
    smtpd_sender_restrictions: "reject_unlisted_sender",
  }).policy;
  assert.equal(
    await reply(p, { from: "known@mx.example.test", to: "nobody@mx.example.test" }),
    "550 5.1.1 <nobody@mx.example.test>: Recipient address rejected: User unknown in local recipient table",
  );
  assert.equal(
    await reply(p, { from: "nobody@mx.example.test", to: "known@mx.example.test" }),
    "550 5.1.0 <nobody@mx.example.test>: Sender address rejected: User unknown in local recipient table",
  );
  assert.equal(
    await reply(p, { from: "known@mx.example.test", to: "known@mx.example.test" }),
    undefined,
  );
  // The old name is the same restriction.
  const old = policy({ smtpd_recipient_restrictions: "check_recipient_maps" }).policy;
  assert.equal(
    await reply(old, { to: "nobody@mx.example.test" }),
    "550 5.1.1 <nobody@mx.example.test>: Recipient address rejected: User unknown in local recipient table",
  );
});

// --- access(5) results -----------------------------------------------------------

Deno.test("access(5) results, as Postfix 3.7 answers them", async () => {
  const table =
    "inline:{ a1@x.example=REJECT, {a2@x.example=REJECT Go away}, a3@x.example=DEFER, " +
    "{a4@x.example=550 No thanks}, {a5@x.example=451 4.1.1 Try later}, a6@x.example=OK, " +
    "a7@x.example=12345, {a8@x.example=REJECT 4.7.9 Nope}, {a9@x.example = 550 5.1.1 Gone}, " +
    "b1@x.example=550, {b2@x.example=250 fine}, b3@x.example=reject_unauth_destination, " +
    "b4@x.example=DEFER_IF_PERMIT, b5@x.example=relay, {b6@x.example= defer_if_reject Hmm}, " +
    "{b7@x.example=599 5.7.1 Bad}, {b8@x.example=REJECT 5.1.3 badsyntax}, {b9@x.example=REJECT 5.1.7}, " +
    "{c1@x.example=421 4.7.0 Go away now}, c2@x.example=DUNNO }";
  const p = policy({ smtpd_sender_restrictions: `check_sender_access ${table}` }).policy;
  const cases: [string, string | undefined][] = [
    ["a1", "554 5.7.1 <a1@x.example>: Sender address rejected: Access denied"],
    ["a2", "554 5.7.1 <a2@x.example>: Sender address rejected: Go away"],
    ["a3", "450 4.7.1 <a3@x.example>: Sender address rejected: Access denied"],
    ["a4", "550 5.7.1 <a4@x.example>: Sender address rejected: No thanks"],
    ["a5", "451 4.1.7 <a5@x.example>: Sender address rejected: Try later"],
    ["a6", undefined],
    ["a7", undefined],
    ["a8", "554 5.7.9 <a8@x.example>: Sender address rejected: Nope"],
    ["a9", "550 5.1.7 <a9@x.example>: Sender address rejected: Gone"],
    ["b1", undefined],
    ["b2", "451 4.3.5 Server configuration error"],
    ["b4", "450 4.7.1 <b4@x.example>: Sender address rejected: Service unavailable"],
    ["b5", undefined],
    ["b6", undefined],
    ["b7", "599 5.7.1 <b7@x.example>: Sender address rejected: Bad"],
    ["b8", "554 5.1.7 <b8@x.example>: Sender address rejected: badsyntax"],
    ["b9", "554 5.1.7 <b9@x.example>: Sender address rejected: Access denied"],
    ["c1", "421 4.7.0 <c1@x.example>: Sender address rejected: Go away now"],
    ["c2", undefined],
  ];
  for (const [user, expected] of cases) {
    assert.equal(await reply(p, { from: `${user}@x.example` }), expected, user);
  }
  // Keys use the canonical address: domain lower-cased, trailing dot dropped.
  assert.equal(
    await reply(p, { from: "a1@X.Example." }),
    "554 5.7.1 <a1@X.Example.>: Sender address rejected: Access denied",
  );
  // A restriction list as the value runs in place (b3 → reject_unauth_destination).
  assert.equal(await reply(p, { from: "b3@x.example" }), undefined);
  assert.equal(
    await reply(p, { from: "b3@x.example", to: "u@elsewhere.example" }),
    "554 5.7.1 <u@elsewhere.example>: Relay access denied",
  );
});

Deno.test("access(5) with access_map_reject_code / access_map_defer_code", async () => {
  const p = policy({
    access_map_reject_code: "550",
    access_map_defer_code: "451",
    smtpd_recipient_restrictions: "check_recipient_access inline:{ u@mx.example.test=REJECT, " +
      "v@mx.example.test=DEFER }",
  }).policy;
  assert.equal(
    await reply(p),
    "550 5.7.1 <u@mx.example.test>: Recipient address rejected: Access denied",
  );
  assert.equal(
    await reply(p, { to: "v@mx.example.test" }),
    "451 4.7.1 <v@mx.example.test>: Recipient address rejected: Access denied",
  );
});

Deno.test("enhanced codes follow what is rejected (smtpd_dsn_fix)", async () => {
  const table = "inline:{ {u@mx.example.test=550 5.1.1 Gone}, {client.example=550 5.1.1 Gone} }";
  const p = policy({
    smtpd_recipient_restrictions: `check_recipient_access ${table}`,
    smtpd_helo_restrictions: `check_helo_access ${table}`,
  }).policy;
  assert.equal(await reply(p), "550 5.1.1 <u@mx.example.test>: Recipient address rejected: Gone");
  assert.equal(
    await reply(p, { helo: "client.example", to: "v@mx.example.test" }),
    "550 5.0.0 <client.example>: Helo command rejected: Gone",
  );
  assert.equal(fixDsn("4.1.1", "Sender address"), "4.1.7");
  assert.equal(fixDsn("5.1.8", "Recipient address"), "4.1.2");
  assert.equal(fixDsn("5.1.9", "Recipient address"), "4.1.0");
  assert.equal(fixDsn("5.7.1", "Helo command"), "5.7.1");
  assert.deepEqual(splitDsn("5.7.1", "4.7.9 Nope"), ["4.7.9", "Nope"]);
  assert.deepEqual(splitDsn("5.7.1", "Nope 4.7.9"), ["5.7.1", "Nope 4.7.9"]);
  assert.deepEqual(splitDsn("5.7.1", "5.7.1234 x"), ["5.7.1", "5.7.1234 x"]);
});

Deno.test("INFO and WARN log and go on; unsupported actions defer instead of being ignored", async () => {
  const { policy: p, logs } = policy({
    smtpd_recipient_restrictions: "check_recipient_access inline:{ {u1@mx.example.test=HOLD}, " +
      "{u2@mx.example.test=WARN hello}, {u3@mx.example.test=DISCARD}, " +
      "{u4@mx.example.test=FILTER smtp:[127.0.0.1]:10025}, {u5@mx.example.test=INFO hi}, " +
      "{u6@mx.example.test=check_client_access inline:{x=y}} }",
  });
  assert.equal(await reply(p, { to: "u2@mx.example.test" }), undefined);
  assert.equal(
    logs.at(-1),
    "NOQUEUE: warn: RCPT from localhost[127.0.0.1]: hello; from=<a@r.example> " +
      "to=<u2@mx.example.test> proto=ESMTP helo=<c.example>",
  );
  assert.equal(await reply(p, { to: "u5@mx.example.test" }), undefined);
  assert.ok(logs.at(-1)?.startsWith("NOQUEUE: info: RCPT from localhost[127.0.0.1]: hi;"));
  for (const [user, action] of [["u1", "HOLD"], ["u3", "DISCARD"], ["u4", "FILTER"]]) {
    assert.equal(
      await reply(p, { to: `${user}@mx.example.test` }),
      "451 4.3.5 Server configuration error",
    );
    assert.ok(logs.some((l) => l.includes(`action ${action} is not supported by facteur yet`)));
  }
  // Postfix: no lookup tables inside access tables.
  assert.equal(
    await reply(p, { to: "u6@mx.example.test" }),
    "451 4.3.5 Server configuration error",
  );
  assert.ok(logs.some((l) => l.includes("do not specify lookup tables inside SMTPD access maps")));
});

Deno.test("a table that cannot answer: 451 4.3.5, never a silent pass", async () => {
  const { policy: p, logs } = policy({
    smtpd_recipient_restrictions: "check_recipient_access broken:x",
  });
  assert.equal(
    await reply(p),
    "451 4.3.5 <u@mx.example.test>: Recipient address rejected: Server configuration error",
  );
  assert.ok(logs.some((l) => l.includes("database is locked")));
  const nets = policy({ mynetworks: "broken:nets" }).policy;
  assert.equal(
    await reply(nets, { to: "u@elsewhere.example" }),
    "451 4.3.0 <u@elsewhere.example>: Temporary lookup failure",
  );
});

// --- access(5) lookup order --------------------------------------------------------

const ORDER_TABLE = "inline:{ {u1@d.example=REJECT full}, {d.example=REJECT domain}, " +
  "{u1@=REJECT user-at}, {u2@=REJECT user2-at}, {example.org=REJECT parent}, " +
  "{.example.net=REJECT dotparent}, {u3+ext@e.example=REJECT ext-full}, " +
  "{u4@e.example=REJECT no-ext}, {u5+x@=REJECT ext-user-at}, {f.example=DUNNO}, " +
  "{sub.f.example=REJECT never} }";

Deno.test("recipient lookup order: user@domain, domain, parents, user@; extensions", async () => {
  const p = policy({
    recipient_delimiter: "+",
    smtpd_recipient_restrictions: `check_recipient_access ${ORDER_TABLE}`,
  }).policy;
  const cases: [string, string | undefined][] = [
    ["u1@d.example", "full"], // user@domain beats domain and user@
    ["u9@d.example", "domain"],
    ["u2@zz.example.test", "user2-at"],
    ["x@sub.example.org", "parent"], // smtpd_access_maps is in parent_domain_matches_subdomains
    ["x@a.sub.example.net", undefined], // so ".example.net" is not a subdomain pattern
    ["x@example.net", undefined],
    ["u3+ext@e.example", "ext-full"],
    ["u4+ext@e.example", "no-ext"],
    ["u5+x@zz.example.test", "ext-user-at"],
    ["u5+y@zz.example.test", undefined],
    ["U1@D.EXAMPLE", "full"],
  ];
  for (const [to, why] of cases) {
    const expected = why && `554 5.7.1 <${to}>: Recipient address rejected: ${why}`;
    assert.equal(await reply(p, { to }), expected, to);
  }
});

Deno.test("DUNNO stops the search: no parent domain is tried after it", async () => {
  const p =
    policy({ smtpd_recipient_restrictions: `check_recipient_access ${ORDER_TABLE}` }).policy;
  assert.equal(await reply(p, { to: "x@f.example" }), undefined);
  assert.equal(
    await reply(p, { to: "x@sub.f.example" }),
    "554 5.7.1 <x@sub.f.example>: Recipient address rejected: never",
  );
});

Deno.test("without smtpd_access_maps in parent_domain_matches_subdomains, .domain patterns", async () => {
  const p = policy({
    parent_domain_matches_subdomains: "relay_domains",
    smtpd_recipient_restrictions: `check_recipient_access ${ORDER_TABLE}`,
  }).policy;
  assert.equal(await reply(p, { to: "x@sub.example.org" }), undefined);
  assert.equal(
    await reply(p, { to: "x@a.sub.example.net" }),
    "554 5.7.1 <x@a.sub.example.net>: Recipient address rejected: dotparent",
  );
  assert.equal(await reply(p, { to: "x@example.net" }), undefined);
});

Deno.test("no recipient_delimiter: user+ext is just a user name", async () => {
  const p =
    policy({ smtpd_recipient_restrictions: `check_recipient_access ${ORDER_TABLE}` }).policy;
  assert.equal(await reply(p, { to: "u4+ext@e.example" }), undefined);
});

Deno.test("pattern tables only see the full address", async () => {
  const p = policy({
    smtpd_recipient_restrictions:
      "check_recipient_access regexp:{ {/^d\\.example$/ REJECT partial}, " +
      "{/^u@e\\.example$/ REJECT whole} }",
  }).policy;
  assert.equal(await reply(p, { to: "x@d.example" }), undefined);
  assert.equal(
    await reply(p, { to: "u@e.example" }),
    "554 5.7.1 <u@e.example>: Recipient address rejected: whole",
  );
});

Deno.test("null sender: smtpd_null_access_lookup_key", async () => {
  const p = policy({ smtpd_sender_restrictions: "check_sender_access inline:{ {<>=REJECT null} }" })
    .policy;
  assert.equal(await reply(p, { from: "" }), "554 5.7.1 <>: Sender address rejected: null");
  const key = policy({
    smtpd_null_access_lookup_key: "x",
    smtpd_sender_restrictions: "check_sender_access inline:{ {x=REJECT null} }",
  }).policy;
  assert.equal(await reply(key, { from: "" }), "554 5.7.1 <>: Sender address rejected: null");
});

Deno.test("client lookups: host name and parents before address and networks", async () => {
  const check = (entries: string) =>
    policy({ smtpd_client_restrictions: `check_client_access inline:{ ${entries} }` }).policy;
  assert.equal(
    await reply(check("{127.0.0=REJECT net}")),
    "554 5.7.1 <localhost[127.0.0.1]>: Client host rejected: net",
  );
  assert.equal(
    await reply(check("{localhost=REJECT name}, {127.0.0.1=OK}")),
    "554 5.7.1 <localhost[127.0.0.1]>: Client host rejected: name",
  );
  assert.equal(await reply(check("{localhost=DUNNO}, {127.0.0.1=REJECT never}")), undefined);
  assert.equal(
    await reply(check("{127=REJECT class-a}")),
    "554 5.7.1 <localhost[127.0.0.1]>: Client host rejected: class-a",
  );
  // A bare type:table in smtpd_client_restrictions is check_client_access.
  assert.equal(
    await reply(policy({ smtpd_client_restrictions: "inline:{ {127.0.0.1=REJECT bare} }" }).policy),
    "554 5.7.1 <localhost[127.0.0.1]>: Client host rejected: bare",
  );
});

Deno.test("client lookups for IPv6 and for clients without a name", async () => {
  const p = policy({
    smtpd_client_restrictions:
      "check_client_access inline:{ {2001:db8=REJECT v6net}, {unknown=REJECT noname} }",
  }).policy;
  const ctx = (address: string, hostname?: string): SmtpdContext => ({
    client: { address, port: 1, hostname },
    helo: "c.example",
    esmtp: true,
    sender: "a@r.example",
    recipient: LOCAL,
    recipients: [],
    tls: false,
  });
  assert.equal(
    (await p.onRcpt(ctx("2001:DB8:0:0:0:0:0:1", "v6.example")))?.reply,
    "554 5.7.1 <v6.example[2001:db8::1]>: Client host rejected: v6net",
  );
  assert.equal(
    (await p.onRcpt(ctx("::ffff:127.0.0.9")))?.reply,
    "554 5.7.1 <unknown[127.0.0.9]>: Client host rejected: noname",
  );
});

Deno.test("HELO lookups: the name, then parent domains", async () => {
  const p = policy({
    smtpd_helo_restrictions:
      "check_helo_access inline:{ {example.com=REJECT helo-parent}, {c.example=REJECT helo-exact} }",
  }).policy;
  assert.equal(
    await reply(p, { helo: "c.example" }),
    "554 5.7.1 <c.example>: Helo command rejected: helo-exact",
  );
  assert.equal(
    await reply(p, { helo: "a.b.example.com" }),
    "554 5.7.1 <a.b.example.com>: Helo command rejected: helo-parent",
  );
  assert.equal(await reply(p, { helo: "example.org" }), undefined);
});

// --- Compilation -----------------------------------------------------------------

Deno.test("compileRestrictions: names are case-insensitive, errors are precise", () => {
  const open = (spec: string) => openMap(spec);
  const list = compileRestrictions(
    "p",
    ["PERMIT_MYNETWORKS", "Reject_Unauth_Destination"],
    "relay",
    open,
  );
  assert.equal(list.steps.length, 2);
  assert.equal(hasRelayProtection(list), true);
  const bad = (tokens: string[], stage: "client" | "data" = "client") => {
    try {
      compileRestrictions("smtpd_x", tokens, stage, open);
    } catch (e) {
      assert.ok(e instanceof ConfigError);
      return e.message;
    }
    assert.fail("expected a ConfigError");
  };
  assert.equal(
    bad(["permit_mynetwork"]),
    'parameter "smtpd_x": unknown restriction "permit_mynetwork"; did you mean "permit_mynetworks"?',
  );
  assert.equal(bad(["frobnicate"]), 'parameter "smtpd_x": unknown restriction "frobnicate"');
  assert.equal(
    bad(["check_client_access", "permit"]),
    'parameter "smtpd_x": restriction check_client_access: bad argument "permit": need maptype:mapname',
  );
  assert.equal(
    bad(["check_policy_service", "unix:private/policy"]),
    'parameter "smtpd_x": restriction "check_policy_service" is not supported by facteur yet',
  );
  assert.match(bad(["check_client_access", "nosuch:/x"]), /^parameter "smtpd_x": .*nosuch/);
  assert.match(bad(["hash:/etc/x"], "data"), /before Data command restriction "hash:\/etc\/x"/);
});

Deno.test("relay protection: permit first or only a warning does not count", () => {
  const open = (spec: string) => openMap(spec);
  const has = (tokens: string[]) =>
    hasRelayProtection(compileRestrictions("p", tokens, "relay", open));
  assert.equal(has(["permit_mynetworks", "defer_unauth_destination"]), true);
  assert.equal(has(["check_recipient_access", "inline:{a=b}", "reject"]), true);
  assert.equal(has(["defer"]), true);
  assert.equal(has(["permit", "reject_unauth_destination"]), false);
  assert.equal(has(["warn_if_reject", "reject_unauth_destination"]), false);
  assert.equal(has(["permit_auth_destination", "permit_sasl_authenticated"]), false);
});

Deno.test("validHostname follows Postfix valid_hostname()", () => {
  for (
    const ok of ["a", "mx.example.test", "a-b.example", "under_score", "1a.example", "x".repeat(63)]
  ) {
    assert.equal(validHostname(ok), true, ok);
  }
  for (
    const bad of [
      "",
      "123",
      "1.2.3.4",
      "-a",
      "a-",
      "a-.b",
      "a..b",
      ".a",
      "a.",
      "x".repeat(64),
      "a b",
      "ä",
    ]
  ) {
    assert.equal(validHostname(bad), false, bad);
  }
});
