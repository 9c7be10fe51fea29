import { equal, match, ok } from "node:assert/strict";
import { requirePeer } from "../peers.ts";
import { splitScheme, verifyScheme } from "../../src/auth/schemes.ts";
import { doveadmHash, doveadmVerifies } from "./dovecot.ts";

const doveadm = requirePeer("doveadm", "dovecot-core");

const PASSWORDS = [
  "secret",
  "pässwörd ☃ 密码",
  "with:colon and space$",
  "x".repeat(200),
];

const SCHEMES = [
  "SHA512-CRYPT",
  "SHA256-CRYPT",
  "MD5-CRYPT",
  "MD5",
  "CRYPT",
  "BLF-CRYPT",
  "ARGON2ID",
  "ARGON2I",
  "PLAIN",
  "CLEAR",
  "CLEARTEXT",
  "SHA",
  "SHA1",
  "SHA256",
  "SHA512",
  "SSHA",
  "SSHA256",
  "SSHA512",
  "SMD5",
  "PLAIN-MD5",
  "LDAP-MD5",
  "SHA256.HEX",
  "SSHA512.HEX",
  "PLAIN-MD5.B64",
  "SHA512.BASE64",
  "PBKDF2",
  "SCRAM-SHA-1",
  "SCRAM-SHA-256",
];

for (const scheme of SCHEMES) {
  Deno.test({
    name: `schemes: {${scheme}} hashes made by doveadm verify; wrong passwords do not`,
    ...doveadm,
    fn: async () => {
      for (const password of PASSWORDS) {
        const hash = await doveadmHash(scheme, password);
        const right = await verifyScheme(password, hash);
        equal(right.error, undefined, `${hash}: ${right.error}`);
        ok(right.ok, `${scheme} rejected the right password for ${hash}`);
        // Changed at the front: bcrypt ignores bytes after the 72nd.
        const wrong = await verifyScheme("!" + password, hash);
        equal(wrong.ok, false, `${scheme} accepted a wrong password`);
        equal(wrong.error, undefined);
        equal((await verifyScheme(password.slice(0, 5), hash)).ok, false);
      }
    },
  });
}

Deno.test({
  name: "schemes: scheme names are case-insensitive, as in Dovecot",
  ...doveadm,
  fn: async () => {
    const hash = await doveadmHash("SHA512-CRYPT", "secret");
    const lower = hash.replace("{SHA512-CRYPT}", "{sha512-crypt}");
    ok((await verifyScheme("secret", lower)).ok);
    ok(await doveadmVerifies(lower, "secret"));
  },
});

Deno.test({
  name: "schemes: no {SCHEME} prefix means CRYPT, recognised by $6$/$5$/$2y$/$1$",
  ...doveadm,
  fn: async () => {
    for (const scheme of ["SHA512-CRYPT", "SHA256-CRYPT", "BLF-CRYPT", "MD5-CRYPT"]) {
      const bare = (await doveadmHash(scheme, "pässword")).replace(/^\{[^}]*\}/, "");
      const result = await verifyScheme("pässword", bare);
      equal(result.scheme, "CRYPT");
      ok(result.ok, `bare ${bare} not verified`);
      equal((await verifyScheme("password", bare)).ok, false);
    }
  },
});

Deno.test({
  name: "schemes: bcrypt uses the first 72 bytes of the password, as Dovecot does",
  ...doveadm,
  fn: async () => {
    const long = "a".repeat(72);
    const hash = await doveadmHash("BLF-CRYPT", long + "tail");
    ok((await verifyScheme(long + "tail", hash)).ok);
    ok((await verifyScheme(long + "other", hash)).ok);
    ok(await doveadmVerifies(hash, long + "other"));
    equal((await verifyScheme("a".repeat(71), hash)).ok, false);
  },
});

Deno.test({
  name: "schemes: $2a$ and $2b$ bcrypt strings verify like $2y$",
  ...doveadm,
  fn: async () => {
    const hash = (await doveadmHash("BLF-CRYPT", "secret")).replace("{BLF-CRYPT}", "");
    for (const prefix of ["$2a$", "$2b$"]) {
      ok((await verifyScheme("secret", `{BLF-CRYPT}${prefix}${hash.slice(4)}`)).ok, prefix);
    }
  },
});

Deno.test("schemes: unknown and unsupported schemes are named in the error, never a wrong password", async () => {
  const unknown = await verifyScheme("secret", "{FOO-BAR}abc");
  equal(unknown.ok, false);
  match(unknown.error ?? "", /\{FOO-BAR\}: unknown password scheme/);
  const badSuffix = await verifyScheme("secret", "{SHA256.ZIP}abc");
  match(badSuffix.error ?? "", /\{SHA256\.ZIP\}: unknown password scheme/);
  const cram = await verifyScheme("secret", "{CRAM-MD5}0123");
  match(cram.error ?? "", /\{CRAM-MD5\}: scheme not supported/);
  const des = await verifyScheme("secret", "{DES-CRYPT}MFEy7O30OSoz6");
  match(des.error ?? "", /DES crypt is not supported/);
  const bareDes = await verifyScheme("secret", "MFEy7O30OSoz6");
  match(bareDes.error ?? "", /\{CRYPT\}: traditional DES crypt is not supported/);
  const yescrypt = await verifyScheme("secret", "$y$j9T$abc$def");
  match(yescrypt.error ?? "", /yescrypt/);
});

Deno.test("schemes: malformed stored values give ok=false with a precise error, no throw", async () => {
  const cases: [string, RegExp][] = [
    ["{SHA512-CRYPT}$6$salt$short", /checksum must be 86 characters/],
    ["{SHA512-CRYPT}$5$salt$" + "a".repeat(43), /must start with \$6\$/],
    ["{SHA512-CRYPT}$6$rounds=10$salt$" + "a".repeat(86), /rounds=10 is outside/],
    ["{SHA512-CRYPT}$6$rounds=900000$s$" + "a".repeat(86), /exceeds facteur's limit/],
    ["{BLF-CRYPT}$2y$05$tooshort", /bcrypt string/],
    ["{BLF-CRYPT}$2y$20$" + "a".repeat(53), /cost 20 exceeds/],
    ["{ARGON2ID}$argon2id$v=19$m=65536,t=3$abc$def", /not an Argon2 string/],
    ["{ARGON2ID}$argon2id$v=16$m=65536,t=3,p=1$c2FsdHNhbHQ$aGFzaGhhc2g", /version v=16/],
    [
      "{ARGON2ID}$argon2id$v=19$m=4194304,t=3,p=1$c2FsdHNhbHQ$aGFzaGhhc2g",
      /exceed facteur's limits/,
    ],
    ["{ARGON2ID}$argon2d$v=19$m=65536,t=3,p=1$c2FsdHNhbHQ$aGFzaGhhc2g", /argon2d/],
    ["{SHA256}not*base64", /not valid base64/],
    ["{SHA256}YWJj", /3 bytes instead of 32/],
    ["{SSHA256}YWJj", /needs more than 32/],
    ["{SHA256.HEX}zz", /not valid hex/],
    ["{SHA512-CRYPT.HEX}abc", /encoding suffix is meaningless/],
    ["{PBKDF2}$1$salt$0$" + "0".repeat(40), /iteration count/],
    ["{SCRAM-SHA-1}garbage", /SCRAM string/],
    ["", /empty password field/],
    ["!$6$locked", /account locked/],
  ];
  for (const [stored, expected] of cases) {
    const result = await verifyScheme("secret", stored);
    equal(result.ok, false, stored);
    match(result.error ?? "(no error)", expected, stored);
  }
});

Deno.test("schemes: {PLAIN} compares exact bytes, without Unicode normalisation", async () => {
  ok((await verifyScheme("é", "{PLAIN}é")).ok);
  equal((await verifyScheme("e\u0301", "{PLAIN}é")).ok, false);
  equal((await verifyScheme("secret", "{PLAIN}Secret")).ok, false);
  ok((await verifyScheme(new TextEncoder().encode("secret"), "{PLAIN}secret")).ok);
});

Deno.test("schemes: passwords over 1024 bytes are refused before any hashing", async () => {
  const result = await verifyScheme("x".repeat(1025), "{PLAIN}" + "x".repeat(1025));
  equal(result.ok, false);
  match(result.error ?? "", /longer than 1024 bytes/);
});

Deno.test("schemes: splitScheme reads the scheme, encoding suffix and value", () => {
  equal(splitScheme("{ssha256.hex}00").scheme, "SSHA256");
  equal(splitScheme("{SSHA256.HEX}00").encoding, "hex");
  equal(splitScheme("{SHA256.b64}AA==").encoding, "base64");
  equal(splitScheme("$6$x$y").explicit, false);
  equal(splitScheme("$6$x$y").scheme, "CRYPT");
  equal(splitScheme("{PLAIN}a}b").value, "a}b");
});
