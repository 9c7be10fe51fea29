// cleanup(8) address rewriting end to end through cleanup(): envelope, BCC,
// headers, client contexts, errors (address_rewriting.ts + cleanup.ts).
import assert from "node:assert/strict";
import { AddressRewriting, cleanup } from "../../src/cleanup/mod.ts";
import { ConfigError, MailError } from "../../src/errors.ts";
import { openMap } from "../../src/maps/mod.ts";
import { Rewriter } from "../../src/rewrite/mod.ts";
import { RouteTrace, withTrace } from "../../src/rewrite/trace.ts";
import { testConfig, testTables } from "../rewrite/helpers.ts";
import { deps, latin1, RecordingQueue, request } from "./helpers.ts";

/** myorigin example.org, mydestination mx.example.org; the given parameters on top. */
function rewriting(values: Record<string, string> = {}, system = ["127.0.0.1", "192.0.2.10"]) {
  const t = testTables();
  const open = (spec: string) => spec.startsWith("static:") ? openMap(spec) : t.open(spec);
  const config = testConfig({
    myhostname: "mx.example.org",
    mydomain: "example.org",
    myorigin: "$mydomain",
    mydestination: "$myhostname",
    recipient_delimiter: "+",
    inet_interfaces: "all",
    mynetworks: "10.0.0.0/8",
    ...values,
  });
  const rewriter = new Rewriter(config, { openTable: open });
  const warnings: string[] = [];
  return new AddressRewriting(config, {
    openTable: open,
    search: rewriter.searchSettings,
    log: (w) => warnings.push(w),
    systemAddresses: () => system,
  });
}

async function run(
  r: AddressRewriting,
  content: string,
  opts: { sender?: string; recipients?: string[]; client?: string; protocol?: string } = {},
) {
  const queue = new RecordingQueue();
  const req = request(content, {}, opts.recipients ?? ["bob@example.net"]);
  req.envelope.sender = opts.sender ?? req.envelope.sender;
  req.client.address = opts.client ?? "127.0.0.1";
  req.protocol = opts.protocol ?? "ESMTP";
  await cleanup(req, deps(queue, { addressRewriting: r }));
  const stored = queue.enqueued[0];
  const text = latin1(stored.content);
  return {
    envelope: stored.envelope,
    headers: text.slice(text.indexOf("\r\n", text.indexOf("for <")) + 2),
  };
}

const MESSAGE = "From: Alice <alice@host.example.org>\r\nTo: bob@example.net, carol\r\n" +
  "Message-ID: <m@x>\r\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\nSubject: s\r\n\r\nbody\r\n";

Deno.test("seed 004: canonical_maps @domain.lan @example.org rewrites envelope and headers both ways", async () => {
  const r = rewriting({ canonical_maps: "inline:{ @domain.lan=@example.org }" });
  const { envelope, headers } = await run(
    r,
    "From: Root <root@domain.lan>\r\nTo: gaston@domain.lan\r\n\r\nx\r\n",
    { sender: "root@domain.lan", recipients: ["gaston@domain.lan"] },
  );
  assert.equal(envelope.sender, "root@example.org");
  assert.deepEqual(envelope.recipients, [{
    address: "gaston@example.org",
    original: "gaston@domain.lan",
  }]);
  assert.match(headers, /^From: Root <root@example\.org>\r\nTo: gaston@example\.org\r\n/);
});

Deno.test("sender_canonical before canonical_maps; each only for its classes (postconf(5))", async () => {
  const r = rewriting({
    sender_canonical_maps: "inline:{ a@x.net=b@x.net }",
    canonical_maps: "inline:{ b@x.net=c@x.net, rcpt@x.net=r2@x.net }",
    canonical_classes: "envelope_sender, header_recipient",
  });
  const { envelope, headers } = await run(
    r,
    "From: a@x.net\r\nTo: rcpt@x.net\r\n\r\nx\r\n",
    { sender: "a@x.net", recipients: ["rcpt@x.net"] },
  );
  assert.equal(envelope.sender, "c@x.net", "a → b (sender_canonical), b → c (canonical)");
  assert.equal(
    envelope.recipients[0].address,
    "rcpt@x.net",
    "envelope_recipient not in canonical_classes",
  );
  // The From: header is a header_sender: sender_canonical applies, canonical_maps does not.
  assert.match(headers, /^From: b@x\.net\r\nTo: r2@x\.net\r\n/);
});

Deno.test("masquerading (seed 003): envelope sender and headers by default, not envelope recipients", async () => {
  const r = rewriting({ masquerade_domains: "netos.net", masquerade_exceptions: "root" });
  const { envelope, headers } = await run(
    r,
    "From: armand@toguyeni.netos.net\r\nTo: b@sub.netos.net\r\nCc: root@sub.netos.net\r\n\r\nx\r\n",
    { sender: "armand@toguyeni.netos.net", recipients: ["b@sub.netos.net"] },
  );
  assert.equal(envelope.sender, "armand@netos.net");
  assert.equal(envelope.recipients[0].address, "b@sub.netos.net");
  assert.match(
    headers,
    /^From: armand@netos\.net\r\nTo: b@netos\.net\r\nCc: root@sub\.netos\.net\r\n/,
  );
});

Deno.test("BCC (seed 000 hotlines): sender copy first, recipient copies after each, always_bcc last, NOTIFY=NEVER", async () => {
  const hotlines =
    "inline:{ hotline1@domaine.fr=hotline1@sauv.fr, hotline2@domaine.fr=hotline2@sauv.fr }";
  const r = rewriting({
    sender_bcc_maps: hotlines,
    recipient_bcc_maps: hotlines,
    always_bcc: "archive",
  });
  const { envelope } = await run(r, MESSAGE, {
    sender: "hotline1@domaine.fr",
    recipients: ["hotline2@domaine.fr", "client@example.net"],
  });
  const never = ["NEVER"];
  assert.deepEqual(envelope.recipients, [
    { address: "hotline1@sauv.fr", original: "hotline1@sauv.fr", notify: never },
    { address: "hotline2@domaine.fr", original: "hotline2@domaine.fr" },
    { address: "hotline2@sauv.fr", original: "hotline2@sauv.fr", notify: never },
    { address: "client@example.net", original: "client@example.net" },
    { address: "archive@example.org", original: "archive@example.org", notify: never },
  ]);
  // The null sender gets no sender BCC (there is no sender to look up).
  const bounce = await run(r, MESSAGE, { sender: "", recipients: ["client@example.net"] });
  assert.deepEqual(bounce.envelope.recipients.map((x) => x.address), [
    "client@example.net",
    "archive@example.org",
  ]);
});

Deno.test("null sender stays null; MAILER-DAEMON@$myorigin becomes the null sender; unqualified gets @$myorigin", async () => {
  const r = rewriting({ canonical_maps: "inline:{ @example.org=@elsewhere.net }" });
  assert.equal(await r.envelopeSender(""), "");
  assert.equal(await r.envelopeSender("MAILER-DAEMON@example.org"), "");
  assert.equal(await r.envelopeSender("mailer-daemon"), "");
  assert.equal(await r.envelopeSender("joe"), "joe@elsewhere.net");
  assert.equal(await r.envelopeRecipient("site!user"), "user@site");
});

Deno.test("header context: local for inet_interfaces, mynetworks, SASL, tables; remote clients untouched", async () => {
  const r = rewriting({ local_header_rewrite_clients: "permit_inet_interfaces" });
  const headers = async (client: string, x = r, protocol = "ESMTP") =>
    (await run(x, MESSAGE, { client, protocol })).headers;
  assert.match(await headers("127.0.0.1"), /To: bob@example\.net, carol@example\.org\r\n/);
  assert.match(await headers("192.0.2.10"), /carol@example\.org/, "an interface address");
  assert.match(
    await headers("198.51.100.7"),
    /To: bob@example\.net, carol\r\n/,
    "remote: left alone",
  );

  const nets = rewriting({
    local_header_rewrite_clients: "permit_mynetworks, permit_sasl_authenticated",
  });
  assert.match(await headers("10.1.2.3", nets), /carol@example\.org/);
  assert.match(await headers("198.51.100.7", nets, "ESMTPSA"), /carol@example\.org/);
  assert.match(await headers("127.0.0.1", nets), /carol\r\n/, "loopback is not in this mynetworks");

  const table = rewriting({ local_header_rewrite_clients: "inline:{ 198.51.100.7=yes }" });
  assert.match(await headers("198.51.100.7", table), /carol@example\.org/);
  const all = rewriting({ local_header_rewrite_clients: "static:all" });
  assert.match(await headers("203.0.113.1", all), /carol@example\.org/);
});

Deno.test("remote_header_rewrite_domain completes remote clients' header addresses, not the envelope", async () => {
  const r = rewriting({
    local_header_rewrite_clients: "",
    remote_header_rewrite_domain: "domain.invalid",
  });
  const { envelope, headers } = await run(r, "From: joe\r\nTo: carol\r\n\r\nx\r\n", {
    sender: "joe",
    recipients: ["carol"],
    client: "198.51.100.7",
  });
  assert.equal(envelope.sender, "joe@example.org", "the envelope is always in the local context");
  assert.equal(envelope.recipients[0].address, "carol@example.org");
  assert.match(headers, /^From: joe@domain\.invalid\r\nTo: carol@domain\.invalid\r\n/);
});

Deno.test("a missing From: is made from the rewritten sender", async () => {
  const r = rewriting({ sender_canonical_maps: "inline:{ a@x.net=Alice.Smith@x.net }" });
  const { headers } = await run(r, "To: b@x.net\r\n\r\nx\r\n", { sender: "a@x.net" });
  assert.match(headers, /\r\nFrom: Alice\.Smith@x\.net\r\n/);
});

Deno.test("a failing table defers the message with 451 4.3.0; nothing is queued", async () => {
  const r = rewriting({ canonical_maps: "fail:database down" });
  const queue = new RecordingQueue();
  const error = await cleanup(request(MESSAGE), deps(queue, { addressRewriting: r })).catch((e) =>
    e
  );
  assert.ok(error instanceof MailError);
  assert.equal(error.reply, "451 4.3.0 Temporary lookup failure");
  assert.equal(queue.enqueued.length, 0);
  // A table that cannot even be opened (here: an unknown kind) defers the same way.
  const unopenable = rewriting({ sender_bcc_maps: "bogus:/nowhere" });
  const refused = await cleanup(request(MESSAGE), deps(queue, { addressRewriting: unopenable }))
    .catch((e) => e);
  assert.equal(refused.reply, "451 4.3.0 Temporary lookup failure");
});

Deno.test("bad parameter values are ConfigErrors naming the parameter", () => {
  const cases: [Record<string, string>, RegExp][] = [
    [
      { canonical_classes: "envelope_sender, header_from" },
      /canonical_classes: unknown address class "header_from"/,
    ],
    [{ masquerade_classes: "envelope" }, /masquerade_classes/],
    [
      { propagate_unmatched_extensions: "canonical, virtual, bogus" },
      /propagate_unmatched_extensions/,
    ],
    [
      { local_header_rewrite_clients: "permit_tls_clientcerts" },
      /local_header_rewrite_clients: "permit_tls_clientcerts" is not supported/,
    ],
    [{ local_header_rewrite_clients: "check_address_map" }, /check_address_map needs a type:table/],
  ];
  for (const [values, message] of cases) {
    assert.throws(
      () => rewriting(values),
      (e) => e instanceof ConfigError && message.test(e.message),
    );
  }
});

Deno.test("every step is shown to the route explainer", async () => {
  const r = rewriting({
    canonical_maps: "inline:{ @domain.lan=@example.org }",
    masquerade_domains: "netos.net",
    always_bcc: "archive@example.net",
  });
  const trace = new RouteTrace();
  await withTrace(trace, async () => {
    await r.envelopeSender("armand@toguyeni.netos.net");
    await r.envelopeRecipient("gaston");
    await r.envelopeRecipient("x@domain.lan");
    await r.alwaysBcc();
  });
  const steps = trace.events.flatMap((e) => e.kind === "step" ? [`${e.stage}: ${e.text}`] : []);
  assert.deepEqual(steps, [
    "masquerade: envelope sender armand@toguyeni.netos.net → armand@netos.net",
    "rewrite: recipient gaston → gaston@example.org (local context)",
    "canonical: envelope recipient x@domain.lan → x@example.org (canonical_maps)",
    "bcc: always_bcc: blind copy to archive@example.net",
  ]);
});
