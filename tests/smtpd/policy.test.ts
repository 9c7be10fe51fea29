/**
 * The smtpd access policy stage by stage: relay control, when restrictions
 * run (smtpd_delay_reject), the unknown-recipient check, postmaster, and the
 * startup checks. Expected reply lines were taken from Postfix 3.7.11 given
 * the same settings (a throw-away instance on 127.0.0.1).
 */
import assert from "node:assert/strict";
import { Config } from "../../src/config/mod.ts";
import { ConfigError, MailError } from "../../src/errors.ts";
import { openMap } from "../../src/maps/mod.ts";
import { Rewriter } from "../../src/rewrite/mod.ts";
import {
  type DomainClass,
  Policy,
  type RecipientRewriter,
  type SmtpdContext,
  type SmtpdPolicy,
} from "../../src/smtpd/policy.ts";

const BASE = {
  myhostname: "mx.example.test",
  mydomain: "example.test",
  mydestination: "$myhostname, localhost",
  mynetworks: "127.0.0.0/8, [::1]/128",
  alias_maps: "",
  local_recipient_maps: "",
  inet_interfaces: "127.0.0.1",
};

/** A policy over the real rewrite module, with inline tables. */
function realPolicy(values: Record<string, string> = {}) {
  const config = new Config({ ...BASE, ...values });
  const logs: string[] = [];
  const rewrite = new Rewriter(config, { openTable: (spec) => openMap(spec) });
  const policy = new Policy(config, {
    openTable: (spec) => openMap(spec),
    rewrite,
    dns: () => Promise.reject(new Error("no DNS in this test")),
    log: (line) => logs.push(line),
  });
  return { policy, logs };
}

/** A policy over a stub rewrite: `classes` by domain, known `users`. */
function stubPolicy(
  values: Record<string, string> = {},
  classes: Record<string, DomainClass> = { "mx.example.test": "local" },
  users: string[] = [],
) {
  const calls: string[] = [];
  const rewrite: RecipientRewriter = {
    domainClass: (domain) => Promise.resolve(classes[domain] ?? "default"),
    checkRecipient: (address) => {
      calls.push(address);
      if (users.includes(address.toLowerCase())) return Promise.resolve(undefined);
      return Promise.resolve(
        new MailError(
          550,
          "5.1.1",
          `<${address}>: Recipient address rejected: User unknown in local recipient table`,
        ),
      );
    },
  };
  const logs: string[] = [];
  const config = new Config({ ...BASE, smtpd_reject_unlisted_recipient: "no", ...values });
  const policy = new Policy(config, {
    openTable: (spec) => openMap(spec),
    rewrite,
    log: (line) => logs.push(line),
  });
  return { policy, logs, calls };
}

function session(over: Partial<SmtpdContext> = {}): SmtpdContext {
  return {
    client: { address: "127.0.0.1", port: 40000, hostname: "localhost" },
    helo: "client.example",
    esmtp: true,
    sender: "a@remote.example",
    recipients: [],
    tls: false,
    ...over,
  };
}

async function rcpt(policy: SmtpdPolicy, recipient: string, over: Partial<SmtpdContext> = {}) {
  return (await policy.onRcpt(session({ ...over, recipient })))?.reply;
}

const RELAY_DOMAINS = {
  relay_domains: "relay.example",
  virtual_alias_domains: "valias.example",
  virtual_mailbox_domains: "vmbox.example",
  smtpd_reject_unlisted_recipient: "no",
};

Deno.test("relay matrix: trusted client relays anywhere; others only to our domains", async () => {
  const trusted = realPolicy(RELAY_DOMAINS).policy;
  const stranger = realPolicy({ ...RELAY_DOMAINS, mynetworks: "10.0.0.0/8" }).policy;
  const ours = [
    "u@mx.example.test",
    "u@localhost",
    "u@relay.example",
    "u@valias.example",
    "u@vmbox.example",
  ];
  for (const to of [...ours, "u@elsewhere.example"]) {
    assert.equal(await rcpt(trusted, to), undefined, `trusted → ${to}`);
  }
  for (const to of ours) assert.equal(await rcpt(stranger, to), undefined, `stranger → ${to}`);
  // Default smtpd_relay_restrictions ends in defer_unauth_destination: 554 - 100.
  assert.equal(
    await rcpt(stranger, "u@elsewhere.example"),
    "454 4.7.1 <u@elsewhere.example>: Relay access denied",
  );
  // relay_domains does not cover subdomains unless told to (parent_domain_matches_subdomains has it by default).
  assert.equal(await rcpt(stranger, "u@sub.relay.example"), undefined);
  const strictParents = realPolicy({
    ...RELAY_DOMAINS,
    mynetworks: "10.0.0.0/8",
    parent_domain_matches_subdomains: "smtpd_access_maps",
  }).policy;
  assert.equal(
    await rcpt(strictParents, "u@sub.relay.example"),
    "454 4.7.1 <u@sub.relay.example>: Relay access denied",
  );
});

Deno.test("reject_unauth_destination and a SASL-authenticated client", async () => {
  const { policy } = realPolicy({
    ...RELAY_DOMAINS,
    mynetworks: "10.0.0.0/8",
    smtpd_relay_restrictions:
      "permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination",
  });
  assert.equal(
    await rcpt(policy, "u@elsewhere.example"),
    "554 5.7.1 <u@elsewhere.example>: Relay access denied",
  );
  assert.equal(await rcpt(policy, "u@elsewhere.example", { saslUser: "alice" }), undefined);
});

Deno.test("relay protection may sit in smtpd_recipient_restrictions instead", async () => {
  const { policy } = realPolicy({
    mynetworks: "10.0.0.0/8",
    smtpd_relay_restrictions: "",
    smtpd_recipient_restrictions: "permit_mynetworks, reject_unauth_destination",
    smtpd_reject_unlisted_recipient: "no",
  });
  assert.equal(await rcpt(policy, "u@mx.example.test"), undefined);
  assert.equal(
    await rcpt(policy, "u@elsewhere.example"),
    "554 5.7.1 <u@elsewhere.example>: Relay access denied",
  );
});

Deno.test("an IPv4-mapped client address counts as its IPv4 address", async () => {
  const { policy } = realPolicy(RELAY_DOMAINS);
  const mapped = { client: { address: "::ffff:127.0.0.1", port: 1, hostname: "localhost" } };
  assert.equal(await rcpt(policy, "u@elsewhere.example", mapped), undefined);
  const v6 = { client: { address: "::1", port: 1 } };
  assert.equal(await rcpt(policy, "u@elsewhere.example", v6), undefined);
});

Deno.test("source-routed recipients are never our destination (allow_untrusted_routing=no)", async () => {
  const { policy } = realPolicy({ ...RELAY_DOMAINS, mynetworks: "10.0.0.0/8" });
  for (
    const to of ["user%elsewhere.example@mx.example.test", "elsewhere.example!u@mx.example.test"]
  ) {
    assert.equal(await rcpt(policy, to), `454 4.7.1 <${to}>: Relay access denied`);
  }
  // An access(5) OK does not let one through either.
  const ok = realPolicy({
    ...RELAY_DOMAINS,
    mynetworks: "10.0.0.0/8",
    smtpd_relay_restrictions:
      "check_recipient_access inline:{ {user%elsewhere.example@mx.example.test=OK} }, reject_unauth_destination",
  }).policy;
  assert.equal(
    await rcpt(ok, "user%elsewhere.example@mx.example.test"),
    "554 5.7.1 <user%elsewhere.example@mx.example.test>: Relay access denied",
  );
});

Deno.test("unknown local recipients: 550 5.1.1 from the rewrite module", async () => {
  const { policy } = realPolicy({ local_recipient_maps: "inline:{ known=x }" });
  assert.equal(
    await rcpt(policy, "nobody@mx.example.test"),
    "550 5.1.1 <nobody@mx.example.test>: Recipient address rejected: User unknown in local recipient table",
  );
  assert.equal(await rcpt(policy, "known@mx.example.test"), undefined);
  assert.equal(await rcpt(policy, "Known@MX.example.test."), undefined);
  const off = realPolicy({
    local_recipient_maps: "inline:{ known=x }",
    smtpd_reject_unlisted_recipient: "no",
  }).policy;
  assert.equal(await rcpt(off, "nobody@mx.example.test"), undefined);
});

Deno.test("postmaster: bare always accepted; @local skips the user check but not access rules", async () => {
  const { policy } = realPolicy({
    local_recipient_maps: "inline:{ known=x }",
    smtpd_recipient_restrictions:
      "check_recipient_access inline:{ {postmaster=REJECT pm-bare}, {postmaster@mx.example.test=REJECT pm-local} }",
  });
  // RFC 5321 4.5.1; smtpd_check_rcpt() returns before any restriction.
  assert.equal(await rcpt(policy, "postmaster"), undefined);
  assert.equal(await rcpt(policy, "PostMaster"), undefined);
  assert.equal(await rcpt(policy, "postmaster@localhost"), undefined);
  assert.equal(
    await rcpt(policy, "postmaster@mx.example.test"),
    "554 5.7.1 <postmaster@mx.example.test>: Recipient address rejected: pm-local",
  );
  // Even a client that may not do anything gets through to bare postmaster.
  const closed = realPolicy({ smtpd_client_restrictions: "reject" }).policy;
  assert.equal(await rcpt(closed, "postmaster"), undefined);
  assert.equal(
    await rcpt(closed, "postmaster@mx.example.test"),
    "554 5.7.1 <localhost[127.0.0.1]>: Client host rejected: Access denied",
  );
});

Deno.test("postmaster@ a local domain skips checkRecipient even with a strict rewrite stub", async () => {
  const { policy, calls } = stubPolicy({ smtpd_reject_unlisted_recipient: "yes" });
  assert.equal(await rcpt(policy, "postmaster@mx.example.test"), undefined);
  assert.equal(await rcpt(policy, "MAILER-DAEMON@mx.example.test"), undefined);
  assert.deepEqual(calls, []);
  assert.equal(
    await rcpt(policy, "bob@mx.example.test"),
    "550 5.1.1 <bob@mx.example.test>: Recipient address rejected: User unknown in local recipient table",
  );
  assert.deepEqual(calls, ["bob@mx.example.test"]);
});

Deno.test("smtpd_delay_reject=yes: client, HELO and sender restrictions answer at RCPT", async () => {
  const { policy } = stubPolicy({
    smtpd_client_restrictions: "check_client_access inline:{ {127.0.0=REJECT net} }",
    smtpd_helo_restrictions: "reject_non_fqdn_helo_hostname",
    smtpd_sender_restrictions: "reject_non_fqdn_sender",
  });
  const ctx = session({ helo: "client", sender: "a@b", recipient: "u@mx.example.test" });
  assert.equal(await policy.onConnect(ctx), undefined);
  assert.equal(await policy.onHelo(ctx), undefined);
  assert.equal(await policy.onMail(ctx), undefined);
  assert.equal(
    (await policy.onRcpt(ctx))?.reply,
    "554 5.7.1 <localhost[127.0.0.1]>: Client host rejected: net",
  );
  const noClient = stubPolicy({
    smtpd_helo_restrictions: "reject_non_fqdn_helo_hostname",
    smtpd_sender_restrictions: "reject_non_fqdn_sender",
  }).policy;
  assert.equal(
    (await noClient.onRcpt(ctx))?.reply,
    "504 5.5.2 <client>: Helo command rejected: need fully-qualified hostname",
  );
  assert.equal(
    (await noClient.onRcpt({ ...ctx, helo: undefined }))?.reply,
    "504 5.5.2 <a@b>: Sender address rejected: need fully-qualified address",
  );
});

Deno.test("smtpd_delay_reject=no: each stage answers for itself", async () => {
  const { policy, logs } = stubPolicy({
    smtpd_delay_reject: "no",
    smtpd_client_restrictions: "check_client_access inline:{ {localhost=REJECT name} }",
    smtpd_helo_restrictions: "check_helo_access inline:{ {example.com=REJECT helo-parent} }",
    smtpd_sender_restrictions: "check_sender_access inline:{ {<>=REJECT null} }",
  });
  assert.equal(
    (await policy.onConnect(session()))?.reply,
    "554 5.7.1 <localhost[127.0.0.1]>: Client host rejected: name",
  );
  const other = { client: { address: "127.0.0.2", port: 1 } };
  assert.equal(await policy.onConnect(session(other)), undefined);
  assert.equal(
    (await policy.onHelo(session({ ...other, helo: "a.b.example.com" })))?.reply,
    "554 5.7.1 <a.b.example.com>: Helo command rejected: helo-parent",
  );
  assert.equal(
    (await policy.onMail(session({ ...other, sender: "" })))?.reply,
    "554 5.7.1 <>: Sender address rejected: null",
  );
  assert.equal(await policy.onMail(session(other)), undefined);
  // Nothing rejected before is checked again at RCPT.
  assert.equal(await rcpt(policy, "u@mx.example.test"), undefined);
  // The session logs the rejects it sends; the policy adds no second line.
  assert.deepEqual(logs, []);
});

Deno.test("delay_reject=no: a client defer_if_permit surfaces at RCPT with its own text", async () => {
  const { policy } = stubPolicy({
    smtpd_delay_reject: "no",
    smtpd_client_restrictions: "defer_if_permit",
    mynetworks: "10.0.0.0/8",
  });
  // The session keeps one context object and updates it (src/smtpd/session.ts).
  const ctx = session();
  assert.equal(await policy.onConnect(ctx), undefined);
  assert.equal(await policy.onHelo(ctx), undefined);
  assert.equal(await policy.onMail(ctx), undefined);
  ctx.recipient = "u@mx.example.test";
  assert.equal(
    (await policy.onRcpt(ctx))?.reply,
    "450 4.7.0 <localhost[127.0.0.1]>: Client host rejected: defer_if_permit requested",
  );
  // A real rejection still wins over the postponed deferral.
  ctx.recipient = "u@elsewhere.example";
  assert.equal(
    (await policy.onRcpt(ctx))?.reply,
    "454 4.7.1 <u@elsewhere.example>: Relay access denied",
  );
  // Another session has its own flags.
  assert.equal(await rcpt(policy, "u@mx.example.test"), undefined);
});

Deno.test("DATA and end-of-data restrictions", async () => {
  const { policy } = stubPolicy({
    smtpd_data_restrictions: "check_recipient_access inline:{ {u1@mx.example.test=REJECT one} }",
    smtpd_end_of_data_restrictions: "reject",
  });
  const one = session({ recipient: "u1@mx.example.test", recipients: ["u1@mx.example.test"] });
  assert.equal(
    (await policy.onData(one))?.reply,
    "554 5.7.1 <u1@mx.example.test>: Recipient address rejected: one",
  );
  // With several recipients no single recipient is checked (smtpd_check_data).
  const two = session({ recipients: ["u1@mx.example.test", "u2@mx.example.test"] });
  assert.equal(await policy.onData(two), undefined);
  assert.equal(
    (await policy.onEndOfData(two))?.reply,
    "554 5.7.1 <END-OF-MESSAGE>: End-of-data rejected: Access denied",
  );
  const data = stubPolicy({ smtpd_data_restrictions: "reject_unauth_pipelining, reject" }).policy;
  assert.equal(
    (await data.onData(one))?.reply,
    "554 5.7.1 <DATA>: Data command rejected: Access denied",
  );
});

Deno.test("soft_bounce turns 5xx policy replies into 4xx", async () => {
  const { policy } = stubPolicy({
    soft_bounce: "yes",
    mynetworks: "10.0.0.0/8",
    smtpd_relay_restrictions: "permit_mynetworks reject_unauth_destination",
  });
  assert.equal(
    await rcpt(policy, "u@elsewhere.example"),
    "454 4.7.1 <u@elsewhere.example>: Relay access denied",
  );
});

Deno.test("startup: no relay protection is Postfix's fatal error", () => {
  const message = "in parameter smtpd_relay_restrictions or smtpd_recipient_restrictions, " +
    "specify at least one working instance of: reject_unauth_destination, " +
    "defer_unauth_destination, reject, defer or defer_if_permit";
  const lists: Record<string, string>[] = [
    {
      smtpd_relay_restrictions: "permit_mynetworks",
      smtpd_recipient_restrictions: "permit_mynetworks",
    },
    { smtpd_relay_restrictions: "permit, reject_unauth_destination" },
    { smtpd_relay_restrictions: "warn_if_reject reject_unauth_destination" },
    { smtpd_relay_restrictions: "" },
  ];
  for (const values of lists) {
    assert.throws(
      () => stubPolicy(values),
      (e: Error) => e instanceof ConfigError && e.message === message,
      JSON.stringify(values),
    );
  }
  // Any one of them, in either list, is enough.
  stubPolicy({ smtpd_relay_restrictions: "", smtpd_recipient_restrictions: "defer_if_permit" });
  stubPolicy({ smtpd_relay_restrictions: "permit_mynetworks, reject" });
});

Deno.test("startup: bad lists and codes are ConfigErrors naming the parameter", () => {
  const cases: [Record<string, string>, string][] = [
    [
      { smtpd_helo_restrictions: "reject_invalid_helo_hostnme" },
      'parameter "smtpd_helo_restrictions": unknown restriction "reject_invalid_helo_hostnme"; ' +
      'did you mean "reject_invalid_helo_hostname"?',
    ],
    [
      { smtpd_client_restrictions: "reject_rbl_client zen.spamhaus.org" },
      'parameter "smtpd_client_restrictions": restriction "reject_rbl_client" is not supported by facteur yet',
    ],
    [
      { smtpd_sender_restrictions: "check_sender_access" },
      'parameter "smtpd_sender_restrictions": restriction check_sender_access: bad argument "": need maptype:mapname',
    ],
    [
      { smtpd_data_restrictions: "inline:{ a=b }" },
      'parameter "smtpd_data_restrictions": specify one of (check_client_access, check_helo_access, ' +
      'check_sender_access, check_recipient_access) before Data command restriction "inline:{ a=b }"',
    ],
    [
      { smtpd_recipient_restrictions: "check_recipient_access nosuch:/x" },
      'parameter "smtpd_recipient_restrictions"',
    ],
    [
      { mynetworks: "127.0.0.1/8" },
      'parameter "mynetworks": non-null host address bits in "127.0.0.1/8"',
    ],
    [{ access_map_reject_code: "250" }, 'parameter "access_map_reject_code" = "250" is invalid'],
  ];
  for (const [values, message] of cases) {
    assert.throws(
      () => stubPolicy(values),
      (e: Error) => e instanceof ConfigError && e.message.includes(message),
      JSON.stringify(values),
    );
  }
});

Deno.test("the config file and parameter travel with the error", () => {
  const config = new Config(
    { ...BASE, smtpd_relay_restrictions: "permit_mynetworks bogus" },
    [],
    "/etc/facteur/facteur.toml",
  );
  try {
    new Policy(config, {
      openTable: (spec) => openMap(spec),
      rewrite: {
        domainClass: () => Promise.resolve("default"),
        checkRecipient: () => Promise.resolve(undefined),
      },
    });
    assert.fail("expected a ConfigError");
  } catch (e) {
    assert.ok(e instanceof ConfigError);
    assert.equal(e.param, "smtpd_relay_restrictions");
    assert.ok(e.message.startsWith("/etc/facteur/facteur.toml: "), e.message);
  }
});

Deno.test("mynetworks is exposed compiled for the session", async () => {
  const { policy } = stubPolicy({ mynetworks: "127.0.0.0/8 !192.0.2.1 192.0.2.0/24" });
  assert.equal(await policy.mynetworks.match("127.0.0.5"), true);
  assert.equal(await policy.mynetworks.match("192.0.2.1"), false);
  assert.equal(await policy.mynetworks.match("192.0.2.2"), true);
});
