// The binary answers as sendmail, mailq and newaliases when started under those names.
import assert from "node:assert/strict";
import { personalityArgs } from "../../src/cli/argv0.ts";

Deno.test("argv[0] sendmail, mailq, newaliases (any directory) pick the command; other names do not", () => {
  assert.deepEqual(personalityArgs("/usr/sbin/sendmail", ["-t", "-i"]), ["sendmail", "-t", "-i"]);
  assert.deepEqual(personalityArgs("sendmail", []), ["sendmail"]);
  assert.deepEqual(personalityArgs("/usr/bin/mailq", ["--json"]), ["mailq", "--json"]);
  assert.deepEqual(personalityArgs("newaliases", []), ["sendmail", "-bi"]);
  assert.deepEqual(personalityArgs("/usr/local/bin/facteur", ["queue", "list"]), ["queue", "list"]);
  assert.deepEqual(personalityArgs("deno", ["serve"]), ["serve"]);
  assert.deepEqual(personalityArgs("/opt/sendmail.d/facteur", ["x"]), ["x"]);
});
