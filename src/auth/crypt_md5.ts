/**
 * MD5-crypt, the "$1$" format of FreeBSD/glibc crypt(3) (Poul-Henning Kamp's
 * algorithm), Dovecot's {MD5-CRYPT} and {MD5}. Verification only: it is weak
 * (1000 MD5 rounds) and kept so imported users can log in once and be re-hashed.
 *
 *   $1$salt$checksum     salt: up to 8 characters, checksum: 22
 */
import { createHash } from "node:crypto";
import { cryptBase64, isCryptBase64 } from "./crypt_base64.ts";
import { CryptFormatError } from "./crypt_sha.ts";
import { constantTimeEqual } from "./compare.ts";

const MAGIC = "$1$";
const SALT_MAX = 8;
const ROUNDS = 1000;
const GROUPS = [
  [0, 6, 12, 4],
  [1, 7, 13, 4],
  [2, 8, 14, 4],
  [3, 9, 15, 4],
  [4, 10, 5, 4],
  [-1, -1, 11, 2],
] as const;

/** The full $1$ string for `password` and `salt` (truncated to 8 characters). */
export function md5Crypt(password: Uint8Array, salt: string): string {
  const saltText = salt.slice(0, SALT_MAX);
  const s = new TextEncoder().encode(saltText);
  const p = password;
  const md5 = () => createHash("md5");

  const alternate = md5().update(p).update(s).update(p).digest();
  const ctx = md5().update(p).update(MAGIC).update(s);
  for (let left = p.length; left > 0; left -= 16) {
    ctx.update(alternate.subarray(0, Math.min(left, 16)));
  }
  // The original's quirk: a zero byte for each set bit of len(P), else P[0].
  for (let bits = p.length; bits > 0; bits >>= 1) {
    ctx.update(bits & 1 ? new Uint8Array(1) : p.subarray(0, 1));
  }
  let c: Uint8Array = ctx.digest();

  for (let i = 0; i < ROUNDS; i++) {
    const round = md5();
    round.update(i & 1 ? p : c);
    if (i % 3 !== 0) round.update(s);
    if (i % 7 !== 0) round.update(p);
    round.update(i & 1 ? c : p);
    c = round.digest();
  }
  return `${MAGIC}${saltText}$${cryptBase64(c, GROUPS)}`;
}

/** True when `password` matches the $1$ string; throws CryptFormatError when malformed. */
export function verifyMd5Crypt(password: Uint8Array, hash: string): boolean {
  const match = /^\$1\$([^$]{0,8})\$([^$]*)$/.exec(hash);
  if (!match) throw new CryptFormatError("not a $1$ MD5-crypt string");
  if (match[2].length !== 22 || !isCryptBase64(match[2])) {
    throw new CryptFormatError("checksum must be 22 characters of [./0-9A-Za-z]");
  }
  return constantTimeEqual(md5Crypt(password, match[1]), hash);
}
