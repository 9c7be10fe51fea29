// sendmail(1)'s command line as cron, PHP's mail() and scripts write it.
import assert from "node:assert/strict";
import { parseSendmailArgs, type SendmailOptions } from "../../src/cli/sendmail_options.ts";

function parse(...args: string[]): SendmailOptions {
  const r = parseSendmailArgs(args);
  if (!r.ok) throw new Error(r.error);
  return r.options;
}

function usageError(...args: string[]): string {
  const r = parseSendmailArgs(args);
  assert.equal(r.ok, false, `expected a usage error for ${args.join(" ")}`);
  return (r as { error: string }).error;
}

Deno.test("sendmail -f: attached or separate value, angle brackets dropped, <> is the null sender", () => {
  assert.equal(parse("-fuser@x.test", "bob").sender, "user@x.test");
  assert.equal(parse("-f", "user@x.test", "bob").sender, "user@x.test");
  assert.equal(parse("-f", "<user@x.test>", "bob").sender, "user@x.test");
  assert.equal(parse("-f<>", "bob").sender, "");
  assert.equal(parse("-f", "", "bob").sender, "");
  assert.equal(parse("-r", "root", "bob").sender, "root");
  assert.deepEqual(parse("-f", "user@x.test", "bob").recipients, ["bob"]);
  assert.match(usageError("-f"), /option -f requires a value/);
});

Deno.test('sendmail -F"Name" and -F "Full Name"', () => {
  assert.equal(parse('-F"Cron Daemon"', "root").fullName, '"Cron Daemon"');
  assert.equal(parse("-FCron Daemon", "root").fullName, "Cron Daemon");
  assert.equal(parse("-F", "Cron Daemon", "root").fullName, "Cron Daemon");
});

Deno.test("sendmail -i, -oi and the default where a lone dot ends the input", () => {
  assert.equal(parse("root").dotEndsInput, true);
  assert.equal(parse("-i", "root").dotEndsInput, false);
  assert.equal(parse("-oi", "root").dotEndsInput, false);
  assert.equal(parse("-o", "i", "root").dotEndsInput, false);
});

Deno.test("sendmail: grouped flags (-ti, -tif sender) work like getopt", () => {
  const o = parse("-ti");
  assert.equal(o.extractRecipients, true);
  assert.equal(o.dotEndsInput, false);
  const p = parse("-tif", "me@x.test");
  assert.equal(p.sender, "me@x.test");
  assert.equal(p.extractRecipients, true);
});

Deno.test("sendmail: -oem -odi -oQ/dir -om -h 3 -L x -n -U -v are accepted; only -oi changes anything", () => {
  const o = parse(
    "-oem",
    "-odi",
    "-oQ/var/spool",
    "-om",
    "-h",
    "3",
    "-L",
    "label",
    "-n",
    "-U",
    "-v",
    "a@x",
  );
  assert.equal(o.dotEndsInput, true);
  assert.equal(o.verbose, 1);
  assert.deepEqual(o.recipients, ["a@x"]);
  assert.equal(parse("-o8", "a").bodyType, "8BITMIME");
  assert.equal(parse("-B", "7bit", "a").bodyType, "7BIT");
});

Deno.test("sendmail: -- ends the options; the first operand ends them too (POSIX getopt)", () => {
  assert.deepEqual(parse("--", "-weird@x.test").recipients, ["-weird@x.test"]);
  assert.deepEqual(parse("-i", "--", "a@x", "-t").recipients, ["a@x", "-t"]);
  const o = parse("a@x", "-t");
  assert.equal(o.extractRecipients, false);
  assert.deepEqual(o.recipients, ["a@x", "-t"]);
});

Deno.test("sendmail: modes -bm (default), -bs, -bp, -bi/-I, -q; unsupported ones are named", () => {
  assert.equal(parse().mode, "deliver");
  assert.equal(parse("-bm", "a").mode, "deliver");
  assert.equal(parse("-bs").mode, "smtp");
  assert.equal(parse("-bp").mode, "mailq");
  assert.equal(parse("-bi").mode, "newaliases");
  assert.equal(parse("-I").mode, "newaliases");
  assert.equal(parse("-q").mode, "flush");
  assert.match(usageError("-bd"), /-bd: unsupported mode/);
  assert.match(usageError("-q1h"), /-q1h: unsupported/);
  assert.match(usageError("-z"), /-z: unknown option/);
});

Deno.test("sendmail: DSN options -N, -R, -V", () => {
  const o = parse("-N", "success,delay", "-R", "hdrs", "-V", "env-1", "a");
  assert.deepEqual(o.notify, ["SUCCESS", "DELAY"]);
  assert.equal(o.ret, "HDRS");
  assert.equal(o.envid, "env-1");
  assert.deepEqual(parse("-Nnever", "a").notify, ["NEVER"]);
  assert.match(usageError("-N", "never,success", "a"), /"never" cannot be combined/);
  assert.match(usageError("-N", "sometimes", "a"), /bad DSN notification "sometimes"/);
  assert.match(usageError("-R", "most", "a"), /bad DSN return "most"/);
});

Deno.test("sendmail -C names the configuration", () => {
  assert.equal(parse("-C", "/etc/facteur/other.toml", "a").configFile, "/etc/facteur/other.toml");
  assert.equal(parse("-C/etc/facteur", "a").configFile, "/etc/facteur");
});
