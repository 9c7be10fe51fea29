import assert from "node:assert/strict";
import { ConfigError } from "../../src/errors.ts";
import { findLine, parseConfig, splitList } from "../../src/config/mod.ts";
import { parseTime } from "../../src/config/values.ts";
import { expand } from "../../src/config/expand.ts";

function configError(text: string): ConfigError {
  try {
    parseConfig(text, "/etc/facteur/facteur.toml");
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected ConfigError, got ${e}`);
    return e;
  }
  assert.fail("expected a ConfigError");
}

Deno.test("defaults are Postfix's and expand like postconf", () => {
  const c = parseConfig(`myhostname = "mx.example.org"`);
  assert.equal(c.get("mydomain"), "example.org");
  assert.equal(c.get("myorigin"), "mx.example.org");
  assert.deepEqual(c.list("mydestination"), [
    "mx.example.org",
    "localhost.example.org",
    "localhost",
  ]);
  assert.equal(c.raw("mydestination"), "$myhostname, localhost.$mydomain, localhost");
  assert.equal(c.get("smtpd_banner"), "mx.example.org ESMTP facteur");
  assert.equal(c.int("message_size_limit"), 10240000);
  assert.equal(c.time("maximal_queue_lifetime"), 5 * 86400);
  assert.equal(c.bool("soft_bounce"), false);
});

Deno.test("TOML arrays and Postfix-style strings are the same list", () => {
  const a = parseConfig(
    `mydestination = ["$myhostname", "localhost.$mydomain"]\nmyhostname="a.b.c"`,
  );
  const b = parseConfig(`mydestination = "$myhostname, localhost.$mydomain"\nmyhostname="a.b.c"`);
  assert.deepEqual(a.list("mydestination"), b.list("mydestination"));
  assert.deepEqual(a.list("mydestination"), ["a.b.c", "localhost.b.c"]);
});

Deno.test("list splitting keeps inline:{ } groups whole", () => {
  assert.deepEqual(splitList("hash:/etc/aliases, inline:{ a=b, { c = d e } }  static:x"), [
    "hash:/etc/aliases",
    "inline:{ a=b, { c = d e } }",
    "static:x",
  ]);
});

Deno.test("time units as postconf(5)", () => {
  assert.equal(parseTime("300s"), 300);
  assert.equal(parseTime("5d"), 432000);
  assert.equal(parseTime("2w"), 1209600);
  assert.equal(parseTime("10", "m"), 600);
  assert.equal(parseTime("10x"), undefined);
  assert.equal(parseTime("-1s"), undefined);
});

Deno.test("$name, ${name}, ${name?x}, ${name:x}, ${name?{a}:{b}}, $$", () => {
  const vals: Record<string, string> = { a: "A", empty: "" };
  const r = (n: string) => vals[n];
  assert.equal(expand("x$a.${a}y", r), "xA.Ay");
  assert.equal(expand("${a?yes}|${empty?yes}", r), "yes|");
  assert.equal(expand("${a:no}|${empty:no}", r), "|no");
  assert.equal(expand("${a?{set}:{unset}} ${empty?{set}:{unset}}", r), "set unset");
  assert.equal(expand("cost $$5", r), "cost $5");
  assert.throws(() => expand("$missing", r), /undefined parameter "\$missing"/);
  assert.equal(expand("$home/.forward", r, ["home"]), "$home/.forward");
});

Deno.test("self-referencing parameters are an error, not a hang", () => {
  const e = configError(`myorigin = "$mydomain"\nmydomain = "$myorigin"`);
  assert.match(e.message, /refers to itself/);
});

Deno.test("unknown key: file, line and the closest name", () => {
  const e = configError(`# comment\nmyhostname = "a.b"\nmydestinaton = "x"\n`);
  assert.equal(e.line, 3);
  assert.equal(
    e.message,
    '/etc/facteur/facteur.toml:3: unknown parameter "mydestinaton"; did you mean "mydestination"?',
  );
});

Deno.test("a Postfix parameter facteur lacks is named as such", () => {
  const e = configError(`\nsmtpd_tls_cert_file = "/etc/ssl/x.pem"`);
  assert.equal(e.line, 2);
  assert.match(
    e.message,
    /"smtpd_tls_cert_file" is a Postfix parameter that facteur does not implement yet/,
  );
});

Deno.test("bad values name the parameter and what is allowed", () => {
  assert.match(
    configError(`smtpd_timeout = "soon"`).message,
    /"smtpd_timeout" = "soon" is invalid: expected a time/,
  );
  assert.match(configError(`message_size_limit = "big"`).message, /expected a whole number/);
  assert.match(configError(`soft_bounce = "maybe"`).message, /expected "yes" or "no"/);
  assert.match(configError(`unknown_local_recipient_reject_code = 250`).message, /4xx or 5xx/);
  assert.match(configError(`smtpd_forbid_bare_newline = "sometimes"`).message, /one of "reject"/);
  assert.match(configError(`mydestination = [1, 2]`).message, /array of strings/);
  assert.match(configError(`mydomain = "$nosuch"`).message, /undefined parameter "\$nosuch"/);
  assert.match(configError(`myhostname = "a"\nbroken = `).message, /TOML syntax error/);
});

Deno.test("TOML booleans and integers map to Postfix values", () => {
  const c = parseConfig(`soft_bounce = true\nsmtpd_recipient_limit = 7`);
  assert.equal(c.raw("soft_bounce"), "yes");
  assert.equal(c.int("smtpd_recipient_limit"), 7);
});

Deno.test("[services.NAME] are master.cf lines with -o overrides", () => {
  const c = parseConfig(`
smtpd_recipient_limit = 100
[services.smtp]
listen = "127.0.0.1:2525"
[services.submission]
listen = "127.0.0.1:5870"
process_limit = 20
smtpd_recipient_limit = 10
`);
  assert.deepEqual(c.services.map((s) => [s.name, s.command, s.listen, s.processLimit]), [
    ["smtp", "smtpd", "127.0.0.1:2525", undefined],
    ["submission", "smtpd", "127.0.0.1:5870", 20],
  ]);
  assert.equal(c.forService(c.services[0]).int("smtpd_recipient_limit"), 100);
  assert.equal(c.forService(c.services[1]).int("smtpd_recipient_limit"), 10);
});

Deno.test("without [services] there is Postfix's smtp inet service", () => {
  const c = parseConfig("");
  assert.deepEqual(c.services.map((s) => [s.name, s.command, s.listen]), [["smtp", "smtpd", "25"]]);
});

Deno.test("service errors point at the service table", () => {
  const e = configError(`[services.smtp]\nlisten = "127.0.0.1:25"\nsmtpd_recipent_limit = 3`);
  assert.equal(e.line, 3);
  assert.match(
    e.message,
    /unknown key "smtpd_recipent_limit" in \[services.smtp\]; did you mean "smtpd_recipient_limit"/,
  );
  assert.match(
    configError(`[services.x]\ncommand = "qmgrd"\nlisten = "1"`).message,
    /not a facteur daemon/,
  );
  // No command and a name that is no daemon: point at the table, suggest smtpd.
  const missing = configError(`myhostname = "x"\n\n[services.submission2]\nlisten = "1"`);
  assert.equal(missing.line, 3);
  assert.match(missing.message, /has no command, .*add command = "smtpd"/);
  assert.match(
    configError(`[services.smtp]\ntype = "fifo"`).message,
    /type must be "inet" or "unix"/,
  );
  assert.match(configError(`[services.smtp]\nsmtpd_timeout = "x"`).message, /smtpd_timeout/);
});

Deno.test("relative paths are taken from the config file's directory", () => {
  const c = parseConfig(`data_directory = "./data"`, "/srv/facteur/facteur.toml");
  assert.equal(c.path("data_directory"), "/srv/facteur/data");
  assert.equal(c.path("local_home_base"), "/srv/facteur/data/home");
});

Deno.test("findLine locates keys inside tables", () => {
  const text = `a = 1\n[services.smtp]\na = 2\n[services."sub"]\na = 3\n`;
  assert.equal(findLine(text, [], "a"), 1);
  assert.equal(findLine(text, ["services", "smtp"], "a"), 3);
  assert.equal(findLine(text, ["services", "sub"], "a"), 5);
});
