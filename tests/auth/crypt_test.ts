import { equal, ok, throws } from "node:assert/strict";
import { requirePeer } from "../peers.ts";
import { CryptFormatError, shaCrypt, verifyShaCrypt } from "../../src/auth/crypt_sha.ts";
import { md5Crypt } from "../../src/auth/crypt_md5.ts";
import { doveadmHash } from "./dovecot.ts";

const utf8 = (s: string) => new TextEncoder().encode(s);

async function opensslPasswd(flag: string, salt: string, password: string): Promise<string> {
  const out = await new Deno.Command("openssl", {
    args: ["passwd", flag, "-salt", salt, password],
    stdout: "piped",
  }).output();
  return new TextDecoder().decode(out.stdout).trim();
}

const PASSWORDS = ["Hello world!", "pässwörd ☃", "a".repeat(64), "b".repeat(255)]; // openssl passwd truncates at 256
const SALTS = ["saltstring", "x", "0123456789abcdef", "./AZaz09"];

Deno.test({
  name: "crypt: $6$, $5$ and $1$ agree with openssl passwd for assorted passwords and salts",
  ...requirePeer("openssl", "openssl"),
  fn: async () => {
    for (const password of PASSWORDS) {
      for (const salt of SALTS) {
        equal(shaCrypt(utf8(password), "6", salt), await opensslPasswd("-6", salt, password));
        equal(shaCrypt(utf8(password), "5", salt), await opensslPasswd("-5", salt, password));
        const md5Salt = salt.slice(0, 8);
        equal(md5Crypt(utf8(password), md5Salt), await opensslPasswd("-1", md5Salt, password));
      }
    }
  },
});

Deno.test("crypt: Drepper's published rounds= test vectors", () => {
  // "Unix crypt using SHA-256 and SHA-512", test vectors section.
  equal(
    shaCrypt(utf8("Hello world!"), "6", "saltstringsaltstring", 10000),
    "$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v.",
  );
  equal(
    shaCrypt(utf8("Hello world!"), "5", "saltstringsaltstring", 10000),
    "$5$rounds=10000$saltstringsaltst$3xv.VbSHBb41AL9AvLeujZkZRBAwqFMz2.opqey6IcA",
  );
});

Deno.test({
  name: "crypt: doveadm SHA512-CRYPT/SHA256-CRYPT with rounds= verify",
  ...requirePeer("doveadm", "dovecot-core"),
  fn: async () => {
    for (const scheme of ["SHA512-CRYPT", "SHA256-CRYPT"]) {
      for (const rounds of ["1000", "12345"]) {
        const out = await new Deno.Command("doveadm", {
          args: ["pw", "-s", scheme, "-r", rounds, "-p", "pässwörd"],
          stdout: "piped",
        }).output();
        const hash = new TextDecoder().decode(out.stdout).trim().replace(/^\{[^}]*\}/, "");
        ok(hash.includes(`rounds=${rounds}$`), hash);
        ok(verifyShaCrypt(utf8("pässwörd"), hash), hash);
        equal(verifyShaCrypt(utf8("passwörd"), hash), false);
      }
    }
    ok(verifyShaCrypt(utf8("x"), (await doveadmHash("SHA512-CRYPT", "x")).slice(14)));
  },
});

Deno.test("crypt: the empty password (glibc crypt(3) via Python's crypt module; openssl refuses it)", () => {
  const empty = new Uint8Array(0);
  equal(
    shaCrypt(empty, "6", "saltstring"),
    "$6$saltstring$kyGrqt6gmjAdtFLPrflEFifSYLCWWq1pyx95SvqinLDy2UHmj0sTF0MSLMwxPFZc3tu5kQckI8fks0zOPda3n1",
  );
  equal(
    shaCrypt(empty, "5", "saltstring"),
    "$5$saltstring$FdNfA4gXqvCeO6iZs7G/.wwwoywYZqo0l1pwmfWaBA7",
  );
  equal(md5Crypt(empty, "saltstri"), "$1$saltstri$ciR2otLVXV8I9sOPWbLTc1");
});

Deno.test("crypt: malformed $6$ strings throw CryptFormatError naming the defect", () => {
  throws(() => verifyShaCrypt(utf8("x"), "$6$salt"), CryptFormatError);
  throws(() => verifyShaCrypt(utf8("x"), "$6$rounds=abc$salt$" + "a".repeat(86)), CryptFormatError);
  throws(
    () => verifyShaCrypt(utf8("x"), "$6$" + "s".repeat(17) + "$" + "a".repeat(86)),
    /salt longer/,
  );
  throws(() => verifyShaCrypt(utf8("x"), "$6$salt$" + "!".repeat(86)), /checksum/);
});
