import assert from "node:assert/strict";
import { ConfigError } from "../../src/errors.ts";
import { parseConfig } from "../../src/config/mod.ts";
import { transportPolicy } from "../../src/qmgr/mod.ts";

const FILE = "/etc/facteur/facteur.toml";

function configError(text: string): ConfigError {
  try {
    parseConfig(text, FILE);
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected ConfigError, got ${e}`);
    return e;
  }
  assert.fail("expected a ConfigError");
}

const MYSMTP = `[services.smtp]
listen = "127.0.0.1:2525"

[services.mysmtp]
type = "unix"
command = "smtp"
process_limit = 10
smtp_helo_name = "other.name.example"
`;

Deno.test("[services.NAME] command = smtp declares a delivery service with -o overrides", () => {
  const c = parseConfig(MYSMTP, FILE);
  const mysmtp = c.services.find((s) => s.name === "mysmtp");
  assert.ok(mysmtp);
  assert.deepEqual([mysmtp.type, mysmtp.command, mysmtp.processLimit], ["unix", "smtp", 10]);
  assert.equal(c.forService(mysmtp).get("smtp_helo_name"), "other.name.example");
  assert.equal(c.get("smtp_helo_name"), c.get("myhostname"));
});

Deno.test("every delivery agent command is accepted; type defaults to unix for them", () => {
  for (const command of ["smtp", "lmtp", "local", "virtual", "error", "discard"]) {
    const c = parseConfig(`[services.t]\ncommand = "${command}"\n`, FILE);
    assert.deepEqual([c.services[0].type, c.services[0].command], ["unix", command]);
  }
});

Deno.test("a delivery agent must be type unix and does not listen", () => {
  const inet = configError(`[services.mysmtp]\ntype = "inet"\ncommand = "smtp"\n`);
  assert.equal(inet.line, 2);
  assert.match(inet.message, /^\/etc\/facteur\/facteur.toml:2: .*delivery agent.*type = "unix"/);
  const listen = configError(`[services.mysmtp]\ncommand = "lmtp"\nlisten = "127.0.0.1:24"\n`);
  assert.match(listen.message, /facteur.toml:3: .*does not listen/);
  const unknown = configError(`[services.x]\ntype = "unix"\ncommand = "pipe"\n`);
  assert.match(
    unknown.message,
    /facteur.toml:3: .*"pipe" is not a facteur daemon.*smtpd, admin, pop3d, smtp, lmtp/,
  );
});

Deno.test("a declared transport may prefix the per-transport qmgr parameters", () => {
  const c = parseConfig(
    `mysmtp_destination_concurrency_limit = 2\nmysmtp_destination_recipient_limit = 30\n${MYSMTP}`,
    FILE,
  );
  assert.equal(c.int("mysmtp_destination_concurrency_limit"), 2);
  const mysmtp = transportPolicy(c, "mysmtp", 10);
  assert.deepEqual([mysmtp.concurrency, mysmtp.recipients, mysmtp.processes], [2, 30, 10]);
  // Other transports keep the default_ values and default_process_limit.
  const smtp = transportPolicy(c, "smtp");
  assert.deepEqual([smtp.concurrency, smtp.recipients, smtp.processes], [20, 50, 100]);
});

Deno.test("built-in transports take per-transport parameters too", () => {
  const c = parseConfig(
    `smtp_destination_concurrency_limit = 5\nrelay_destination_recipient_limit = 7`,
  );
  assert.equal(transportPolicy(c, "smtp").concurrency, 5);
  assert.equal(transportPolicy(c, "relay").recipients, 7);
});

Deno.test("a per-transport parameter for an undeclared transport names it, with file:line", () => {
  const e = configError(`myhostname = "a.example"\nfoo_destination_concurrency_limit = 3\n`);
  assert.equal(e.line, 2);
  assert.match(e.message, /facteur.toml:2: .*no transport "foo" is declared.*\[services.foo\]/);
  // An smtpd service is not a transport.
  const smtpd = configError(
    `sub_destination_concurrency_limit = 3\n[services.sub]\nlisten = "127.0.0.1:587"\ncommand = "smtpd"\n`,
  );
  assert.match(smtpd.message, /no transport "sub"/);
  // A disabled delivery service declares no transport either.
  assert.match(
    configError(
      `off_destination_recipient_limit = 1\n[services.off]\ncommand = "smtp"\nenabled = false\n`,
    )
      .message,
    /no transport "off"/,
  );
});

Deno.test("per-transport values are validated like their default_ parameter", () => {
  const e = configError(`mysmtp_destination_concurrency_limit = "ten"\n${MYSMTP}`);
  assert.equal(e.line, 1);
  assert.match(
    e.message,
    /"mysmtp_destination_concurrency_limit" = "ten" is invalid: expected a whole number/,
  );
  assert.match(
    configError(`mysmtp_destination_rate_delay = "soon"\n${MYSMTP}`).message,
    /"mysmtp_destination_rate_delay" = "soon" is invalid: expected a time/,
  );
  assert.match(
    configError(`mysmtp_destination_concurrency_positive_feedback = "x"\n${MYSMTP}`).message,
    /expected a number or "number\/concurrency"/,
  );
  // Unknown suffixes stay unknown.
  assert.match(
    configError(`mysmtp_destination_speed = "1"\n${MYSMTP}`).message,
    /mysmtp_destination_speed/,
  );
});

Deno.test("every qmgr per-transport override is accepted for a declared transport", () => {
  const config = parseConfig(
    [
      `mysmtp_initial_destination_concurrency = 2`,
      `mysmtp_destination_concurrency_failed_cohort_limit = 3`,
      `mysmtp_destination_concurrency_positive_feedback = "1/concurrency"`,
      `mysmtp_destination_concurrency_negative_feedback = "0"`,
      `mysmtp_destination_rate_delay = "2s"`,
      `mysmtp_transport_rate_delay = "1s"`,
      MYSMTP,
    ].join("\n"),
  );
  const mysmtp = transportPolicy(config, "mysmtp");
  assert.equal(mysmtp.initial, 2);
  assert.equal(mysmtp.failedCohortLimit, 3);
  assert.deepEqual(mysmtp.positive, { value: 1, perConcurrency: true });
  assert.deepEqual(mysmtp.negative, { value: 0, perConcurrency: false });
  assert.equal(mysmtp.destinationRateDelayMs, 2000);
  assert.equal(mysmtp.transportRateDelayMs, 1000);
  // smtp itself keeps the defaults.
  assert.equal(transportPolicy(config, "smtp").initial, 5);
});
