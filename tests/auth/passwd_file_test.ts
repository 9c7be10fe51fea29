import { deepEqual, equal } from "node:assert/strict";
import { parseExtraFields, parsePasswdFile } from "../../src/auth/passwd_file.ts";
import { verifyPassword } from "../../src/auth/password.ts";

const FILE = [
  "# Dovecot users",
  "",
  "alice@example.test:{SHA512-CRYPT}$6$abc$def:5000:5000::/var/mail/alice::userdb_quota_rule=*:storage=1G",
  "bob:{PLAIN}s3cret",
  "carol@example.test:$1$saltstri$ciR2otLVXV8I9sOPWbLTc1:5000:5000:Carol C:/home/carol:/bin/sh:",
  "dave:{PLAIN}x:5000:5000::/home/dave:/bin/false::maildir:~/Maildir\r",
  "   ",
  "alice@example.test:{PLAIN}second",
  "root:{PLAIN}x:0:0",
  "eve:{PLAIN}x:abc",
  "nocolon",
  ":{PLAIN}x",
].join("\n");

Deno.test("passwd-file: users, passwords with {SCHEME}, uid/gid/home/extra fields", () => {
  const { entries } = parsePasswdFile(FILE);
  deepEqual(entries.map((e) => e.user), [
    "alice@example.test",
    "bob",
    "carol@example.test",
    "dave",
  ]);
  deepEqual(entries[0], {
    user: "alice@example.test",
    password: "{SHA512-CRYPT}$6$abc$def",
    uid: 5000,
    gid: 5000,
    home: "/var/mail/alice",
    extra: "userdb_quota_rule=*:storage=1G",
    line: 3,
  });
  deepEqual(entries[1], { user: "bob", password: "{PLAIN}s3cret", line: 4 });
  equal(entries[2].home, "/home/carol");
  equal(entries[2].extra, undefined);
  // Old format: an empty 8th field, then the mail location (db-passwd-file.c).
  equal(entries[3].extra, "userdb_mail=maildir:~/Maildir");
});

Deno.test("passwd-file: bad lines are reported with their line numbers, not thrown", () => {
  const { errors } = parsePasswdFile(FILE);
  deepEqual(errors, [
    { line: 8, message: "user alice@example.test exists more than once" },
    { line: 9, message: 'user root has invalid UID "0"' },
    { line: 10, message: 'user eve has invalid UID "abc"' },
    { line: 11, message: 'no ":" after user nocolon (need at least user:password)' },
    { line: 12, message: "empty user name" },
  ]);
});

Deno.test("passwd-file: an imported password verifies; the first of duplicate users wins", async () => {
  const { entries } = parsePasswdFile(FILE);
  const carol = entries.find((e) => e.user === "carol@example.test")!;
  equal((await verifyPassword("", carol.password)).ok, true);
  equal((await verifyPassword("second", entries[0].password)).ok, false);
});

Deno.test("passwd-file: extra fields split into key=value pairs", () => {
  deepEqual(parseExtraFields("userdb_quota_rule=*:storage=1G  nopassword allow_nets=127.0.0.1"), {
    userdb_quota_rule: "*:storage=1G",
    nopassword: "",
    allow_nets: "127.0.0.1",
  });
});
