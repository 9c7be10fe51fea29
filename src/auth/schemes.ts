/**
 * Verification of Dovecot password schemes, so users imported from a
 * Postfix+Dovecot server keep their passwords. The stored form is Dovecot's
 * "{SCHEME}value" (doc.dovecot.org, "Password Schemes"); scheme names are
 * case-insensitive and digest schemes accept an encoding suffix (.HEX, .B64,
 * .BASE64). Without a {SCHEME} prefix the passdb's default_pass_scheme
 * applies: CRYPT for passwd-file, i.e. the crypt(3) format told by its prefix.
 *
 * Passwords are bytes: a string is taken as UTF-8, without normalisation
 * (Dovecot compares the bytes the client sent).
 */
import { createHash, createHmac, pbkdf2 } from "node:crypto";
import { bcryptVerify } from "hash-wasm";
import { CryptFormatError, verifyShaCrypt } from "./crypt_sha.ts";
import { verifyMd5Crypt } from "./crypt_md5.ts";
import { verifyArgon2 } from "./argon2.ts";
import { constantTimeEqual } from "./compare.ts";

export type PasswordInput = string | Uint8Array;

/** The outcome of checking a password against a stored value. */
export interface SchemeCheck {
  /** True only when the password matches. */
  ok: boolean;
  /** The scheme used, upper-case without encoding suffix ("SHA512-CRYPT", "CRYPT"...). */
  scheme: string;
  /**
   * Set when the stored value could not be checked at all (unknown or
   * unsupported scheme, malformed hash, limits exceeded): a configuration or
   * data problem to log, not a wrong password.
   */
  error?: string;
}

/** Schemes facteur verifies (Dovecot names; aliases included). */
export const SUPPORTED_SCHEMES = [
  "ARGON2ID",
  "ARGON2I",
  "BLF-CRYPT",
  "SHA512-CRYPT",
  "SHA256-CRYPT",
  "MD5-CRYPT",
  "MD5",
  "CRYPT",
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
  "PBKDF2",
  "SCRAM-SHA-1",
  "SCRAM-SHA-256",
] as const;

/** Dovecot schemes facteur knows of but cannot check; named in the error. */
const UNSUPPORTED_SCHEMES: Record<string, string> = {
  "DES-CRYPT": "traditional DES crypt is not supported (weak; reset the password)",
  "CRAM-MD5": "it stores an HMAC-MD5 context, not a verifiable hash",
  "HMAC-MD5": "it stores an HMAC-MD5 context, not a verifiable hash",
  "DIGEST-MD5": "it depends on the user name and realm",
  "PLAIN-MD4": "MD4 is not available",
  "PLAIN-TRUNC": "truncated plaintext is not supported",
  "OTP": "one-time passwords are not supported",
};

/** Passwords longer than this are refused: crypt(3) costs grow with length. */
export const MAX_PASSWORD_BYTES = 1024;

interface Digest {
  algorithm: "md5" | "sha1" | "sha256" | "sha512";
  length: number;
  salted: boolean;
  /** Dovecot's default encoding for the scheme when no suffix is given. */
  encoding: "base64" | "hex";
}

// Dovecot src/auth/password-scheme.c, the builtin scheme table.
const DIGESTS: Record<string, Digest> = {
  "SHA": { algorithm: "sha1", length: 20, salted: false, encoding: "base64" },
  "SHA1": { algorithm: "sha1", length: 20, salted: false, encoding: "base64" },
  "SHA256": { algorithm: "sha256", length: 32, salted: false, encoding: "base64" },
  "SHA512": { algorithm: "sha512", length: 64, salted: false, encoding: "base64" },
  "SSHA": { algorithm: "sha1", length: 20, salted: true, encoding: "base64" },
  "SSHA256": { algorithm: "sha256", length: 32, salted: true, encoding: "base64" },
  "SSHA512": { algorithm: "sha512", length: 64, salted: true, encoding: "base64" },
  "SMD5": { algorithm: "md5", length: 16, salted: true, encoding: "base64" },
  "PLAIN-MD5": { algorithm: "md5", length: 16, salted: false, encoding: "hex" },
  "LDAP-MD5": { algorithm: "md5", length: 16, salted: false, encoding: "base64" },
};

/** A stored password split into scheme, optional encoding suffix and value. */
export interface StoredPassword {
  scheme: string;
  encoding?: "base64" | "hex";
  /** The text after "}" (or the whole string when no scheme was given). */
  value: string;
  /** False when no {SCHEME} prefix was present and the default (CRYPT) applies. */
  explicit: boolean;
}

/** Splits "{SCHEME.ENC}value"; no prefix means Dovecot's default_pass_scheme CRYPT. */
export function splitScheme(stored: string): StoredPassword {
  const match = /^\{([^}]*)\}/.exec(stored);
  if (!match) return { scheme: "CRYPT", value: stored, explicit: false };
  const [name, suffix] = splitOnce(match[1].toUpperCase(), ".");
  const value = stored.slice(match[0].length);
  if (suffix === undefined) return { scheme: name, value, explicit: true };
  // Dovecot password_scheme_lookup(): "b64"/"base64"/"hex", anything else is an unknown scheme.
  const encoding = suffix === "HEX"
    ? "hex"
    : suffix === "B64" || suffix === "BASE64"
    ? "base64"
    : "";
  if (!encoding) return { scheme: match[1].toUpperCase(), value, explicit: true };
  return { scheme: name, encoding, value, explicit: true };
}

/**
 * Checks `password` against a stored Dovecot-style password. Never throws:
 * an unusable stored value gives ok=false with `error` set.
 */
export async function verifyScheme(password: PasswordInput, stored: string): Promise<SchemeCheck> {
  const split = splitScheme(stored);
  const bytes = typeof password === "string" ? new TextEncoder().encode(password) : password;
  const fail = (error: string): SchemeCheck => ({ ok: false, scheme: split.scheme, error });
  if (bytes.length > MAX_PASSWORD_BYTES) {
    return fail(`password longer than ${MAX_PASSWORD_BYTES} bytes`);
  }
  try {
    const ok = await check(bytes, split);
    return { ok, scheme: split.scheme };
  } catch (e) {
    if (e instanceof CryptFormatError) return fail(`{${split.scheme}}: ${e.message}`);
    // hash-wasm or node:crypto refusing (e.g. out of memory): still not a wrong password.
    return fail(`{${split.scheme}}: verification failed: ${e instanceof Error ? e.message : e}`);
  }
}

async function check(password: Uint8Array, stored: StoredPassword): Promise<boolean> {
  const { scheme, value } = stored;
  if (stored.encoding && !(scheme in DIGESTS)) {
    throw new CryptFormatError(`an encoding suffix is meaningless for {${scheme}}`);
  }
  if (scheme in DIGESTS) return checkDigest(password, value, DIGESTS[scheme], stored.encoding);
  switch (scheme) {
    case "PLAIN":
    case "CLEAR":
    case "CLEARTEXT":
      return constantTimeEqual(password, value);
    case "CRYPT":
      return await checkCrypt(password, value);
    case "SHA512-CRYPT":
    case "SHA256-CRYPT":
      requirePrefix(value, scheme === "SHA512-CRYPT" ? "$6$" : "$5$", scheme);
      return verifyShaCrypt(password, value);
    case "MD5-CRYPT":
      requirePrefix(value, "$1$", scheme);
      return verifyMd5Crypt(password, value);
    case "MD5":
      // Dovecot md5_verify(): MD5-CRYPT when "$1$", else PLAIN-MD5.
      return value.startsWith("$1$")
        ? verifyMd5Crypt(password, value)
        : checkDigest(password, value, DIGESTS["PLAIN-MD5"], undefined);
    case "BLF-CRYPT":
      return await checkBcrypt(password, value);
    case "ARGON2I":
    case "ARGON2ID":
      // Dovecot hands the string to libsodium, which takes either variant from it.
      return await verifyArgon2(password, value);
    case "PBKDF2":
      return await checkPbkdf2(password, value);
    case "SCRAM-SHA-1":
      return await checkScram(password, value, "sha1");
    case "SCRAM-SHA-256":
      return await checkScram(password, value, "sha256");
  }
  if (scheme in UNSUPPORTED_SCHEMES) {
    throw new CryptFormatError(`scheme not supported by facteur: ${UNSUPPORTED_SCHEMES[scheme]}`);
  }
  throw new CryptFormatError("unknown password scheme");
}

/** {CRYPT}: libc crypt(3) on Debian (libxcrypt) picks the algorithm from the prefix. */
async function checkCrypt(password: Uint8Array, value: string): Promise<boolean> {
  if (value.startsWith("$6$") || value.startsWith("$5$")) return verifyShaCrypt(password, value);
  if (value.startsWith("$1$")) return verifyMd5Crypt(password, value);
  if (/^\$2[aby]\$/.test(value)) return await checkBcrypt(password, value);
  if (value.startsWith("$y$")) throw new CryptFormatError("yescrypt ($y$) is not supported");
  if (value === "") throw new CryptFormatError("empty password field");
  if (/^[./0-9A-Za-z]{13}$/.test(value) || value.startsWith("_")) {
    throw new CryptFormatError("traditional DES crypt is not supported (weak; reset the password)");
  }
  if (/^[!*]/.test(value)) {
    throw new CryptFormatError("account locked (password starts with ! or *)");
  }
  throw new CryptFormatError(`unrecognised crypt format "${value.slice(0, 4)}..."`);
}

function requirePrefix(value: string, prefix: string, scheme: string): void {
  if (!value.startsWith(prefix)) {
    throw new CryptFormatError(`{${scheme}} value must start with ${prefix}`);
  }
}

/** bcrypt ($2a$, $2b$, $2y$: the same algorithm for passwords under 256 bytes). */
async function checkBcrypt(password: Uint8Array, value: string): Promise<boolean> {
  if (!/^\$2[aby]\$(0[4-9]|[12][0-9]|3[01])\$[./A-Za-z0-9]{53}$/.test(value)) {
    throw new CryptFormatError("not a $2a$/$2b$/$2y$ bcrypt string with cost 04-31");
  }
  const cost = Number(value.slice(4, 6));
  if (cost > BCRYPT_MAX_COST) {
    throw new CryptFormatError(`bcrypt cost ${cost} exceeds facteur's limit of ${BCRYPT_MAX_COST}`);
  }
  // bcrypt uses at most 72 key bytes; crypt(3) ignores the rest (hash-wasm would refuse them).
  const key = password.subarray(0, 72);
  if (key.length === 0) throw new CryptFormatError("an empty password cannot be checked by bcrypt");
  return await bcryptVerify({ password: key, hash: value });
}

/** Cost 2^14 takes about a second in WebAssembly; Dovecot's default is 5. */
const BCRYPT_MAX_COST = 14;

function checkDigest(
  password: Uint8Array,
  value: string,
  digest: Digest,
  encoding: "base64" | "hex" | undefined,
): boolean {
  const raw = decodeDigest(value, digest, encoding);
  const salt = raw.subarray(digest.length);
  const computed = createHash(digest.algorithm).update(password).update(salt).digest();
  return constantTimeEqual(computed, raw.subarray(0, digest.length));
}

/** Dovecot password_decode(): fixed-length digests guess hex vs base64 by length. */
function decodeDigest(
  value: string,
  digest: Digest,
  encoding: "base64" | "hex" | undefined,
): Uint8Array {
  let chosen = encoding ?? digest.encoding;
  if (!encoding && !digest.salted) {
    chosen = value.length === digest.length * 2 && isHex(value) ? "hex" : "base64";
  }
  const raw = chosen === "hex" ? decodeHex(value) : decodeBase64(value);
  if (digest.salted ? raw.length <= digest.length : raw.length !== digest.length) {
    throw new CryptFormatError(
      digest.salted
        ? `decoded value is ${raw.length} bytes, needs more than ${digest.length} (digest + salt)`
        : `decoded value is ${raw.length} bytes instead of ${digest.length}`,
    );
  }
  return raw;
}

function isHex(text: string): boolean {
  return /^(?:[0-9a-fA-F]{2})*$/.test(text);
}

function decodeHex(text: string): Uint8Array {
  if (!isHex(text)) throw new CryptFormatError("value is not valid hex");
  return Uint8Array.from(text.match(/../g) ?? [], (pair) => parseInt(pair, 16));
}

function decodeBase64(text: string): Uint8Array {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 === 1) {
    throw new CryptFormatError("value is not valid base64");
  }
  const padded = text.replace(/=+$/, "");
  try {
    return Uint8Array.from(
      atob(padded + "=".repeat((4 - (padded.length % 4)) % 4)),
      (ch) => ch.charCodeAt(0),
    );
  } catch {
    throw new CryptFormatError("value is not valid base64");
  }
}

/** Iteration limit for PBKDF2 and SCRAM (they run on the thread pool, but still cost CPU). */
const PBKDF2_MAX_ROUNDS = 1_000_000;

function derive(
  password: Uint8Array,
  salt: Uint8Array,
  rounds: number,
  length: number,
  algorithm: string,
): Promise<Uint8Array> {
  if (!Number.isSafeInteger(rounds) || rounds < 1 || rounds > PBKDF2_MAX_ROUNDS) {
    throw new CryptFormatError(`iteration count must be 1..${PBKDF2_MAX_ROUNDS}`);
  }
  return new Promise((resolve, reject) =>
    pbkdf2(password, salt, rounds, length, algorithm, (e, key) => e ? reject(e) : resolve(key))
  );
}

/** Dovecot {PBKDF2}: "$1$salt$rounds$hex(PBKDF2-HMAC-SHA1, 20 bytes)", salt used as text. */
async function checkPbkdf2(password: Uint8Array, value: string): Promise<boolean> {
  const match = /^\$1\$([^$]+)\$([0-9]+)\$([0-9a-fA-F]{40})$/.exec(value);
  if (!match) throw new CryptFormatError("not a $1$salt$rounds$hex PBKDF2 string");
  const key = await derive(
    password,
    new TextEncoder().encode(match[1]),
    Number(match[2]),
    20,
    "sha1",
  );
  return constantTimeEqual(key, decodeHex(match[3]));
}

/**
 * Dovecot {SCRAM-SHA-1}/{SCRAM-SHA-256}: "iterations,salt,StoredKey,ServerKey"
 * (base64). RFC 5802 3: StoredKey = H(HMAC(SaltedPassword, "Client Key")).
 */
async function checkScram(
  password: Uint8Array,
  value: string,
  algorithm: "sha1" | "sha256",
): Promise<boolean> {
  const fields = value.split(",");
  if (fields.length !== 4 || !/^[0-9]+$/.test(fields[0])) {
    throw new CryptFormatError("not an iterations,salt,StoredKey,ServerKey SCRAM string");
  }
  const length = algorithm === "sha1" ? 20 : 32;
  const salted = await derive(
    password,
    decodeBase64(fields[1]),
    Number(fields[0]),
    length,
    algorithm,
  );
  const clientKey = createHmac(algorithm, salted).update("Client Key").digest();
  const storedKey = createHash(algorithm).update(clientKey).digest();
  return constantTimeEqual(storedKey, decodeBase64(fields[2]));
}

function splitOnce(text: string, separator: string): [string, string | undefined] {
  const at = text.indexOf(separator);
  return at < 0 ? [text, undefined] : [text.slice(0, at), text.slice(at + 1)];
}
