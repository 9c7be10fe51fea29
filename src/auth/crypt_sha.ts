/**
 * SHA-crypt: "Unix crypt using SHA-256 and SHA-512" (Ulrich Drepper, 2007/2008),
 * the $5$ and $6$ formats of glibc/libxcrypt crypt(3), Dovecot's
 * {SHA256-CRYPT} and {SHA512-CRYPT}. Written from the specification.
 *
 *   $6$[rounds=N$]salt$checksum     salt: up to 16 characters, checksum: 86 (SHA-512) / 43 (SHA-256)
 */
import { createHash } from "node:crypto";
import { cryptBase64, isCryptBase64 } from "./crypt_base64.ts";
import { constantTimeEqual } from "./compare.ts";

/** A malformed or unacceptable crypt string; the message says what is wrong. */
export class CryptFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CryptFormatError";
  }
}

type Variant = "5" | "6";

interface VariantSpec {
  algorithm: "sha256" | "sha512";
  digestLength: number;
  checksumLength: number;
  /** The spec's byte order for the final encoding. */
  groups: (readonly [number, number, number, number])[];
}

// Drepper's spec, "algorithm for crypt using SHA-256/SHA-512", step 22:
// SHA-512 takes bytes (i, i+21, i+42) rotated by i mod 3, SHA-256 takes
// (i, i+10, i+20) rotated the other way; a short tail group ends each.
function sha512Groups(): (readonly [number, number, number, number])[] {
  const groups: (readonly [number, number, number, number])[] = [];
  for (let i = 0; i < 21; i++) {
    const [x, y, z] = [i, i + 21, i + 42];
    const triple = [[x, y, z], [y, z, x], [z, x, y]][i % 3];
    groups.push([triple[0], triple[1], triple[2], 4]);
  }
  groups.push([-1, -1, 63, 2]);
  return groups;
}

function sha256Groups(): (readonly [number, number, number, number])[] {
  const groups: (readonly [number, number, number, number])[] = [];
  for (let i = 0; i < 10; i++) {
    const [x, y, z] = [i, i + 10, i + 20];
    const triple = [[x, y, z], [z, x, y], [y, z, x]][i % 3];
    groups.push([triple[0], triple[1], triple[2], 4]);
  }
  groups.push([-1, 31, 30, 3]);
  return groups;
}

const VARIANTS: Record<Variant, VariantSpec> = {
  "5": { algorithm: "sha256", digestLength: 32, checksumLength: 43, groups: sha256Groups() },
  "6": { algorithm: "sha512", digestLength: 64, checksumLength: 86, groups: sha512Groups() },
};

/** Spec: default 5000 rounds; "rounds=" is clamped to [1000, 999999999]. */
export const SHA_CRYPT_DEFAULT_ROUNDS = 5000;
const ROUNDS_MIN = 1000;
const ROUNDS_MAX = 999_999_999;
/** Spec: at most 16 salt characters are used. */
const SALT_MAX = 16;
/**
 * facteur refuses to verify more rounds than this (about 1 s of SHA-512 here): each round is a hash
 * computed on the event loop, and an imported file must not stall the server.
 * (Dovecot and glibc default to 5000; "rounds=" values seen in practice stay well below.)
 */
export const SHA_CRYPT_MAX_VERIFY_ROUNDS = 200_000;

export interface ShaCryptHash {
  variant: Variant;
  /** Present when the string carried "rounds=N$" (it then appears in the output too). */
  rounds?: number;
  salt: string;
  checksum: string;
}

/** Splits a $5$/$6$ string; throws CryptFormatError naming the defect. */
export function parseShaCrypt(hash: string): ShaCryptHash {
  const match = /^\$([56])\$(?:rounds=([0-9]+)\$)?([^$]*)\$([^$]*)$/.exec(hash);
  if (!match) throw new CryptFormatError("not a $5$/$6$ SHA-crypt string");
  const variant = match[1] as Variant;
  const spec = VARIANTS[variant];
  const [salt, checksum] = [match[3], match[4]];
  let rounds: number | undefined;
  if (match[2] !== undefined) {
    rounds = Number(match[2]);
    if (!Number.isSafeInteger(rounds) || rounds < ROUNDS_MIN || rounds > ROUNDS_MAX) {
      throw new CryptFormatError(`rounds=${match[2]} is outside ${ROUNDS_MIN}..${ROUNDS_MAX}`);
    }
  }
  if (salt.length > SALT_MAX) throw new CryptFormatError(`salt longer than ${SALT_MAX} characters`);
  if (checksum.length !== spec.checksumLength || !isCryptBase64(checksum)) {
    throw new CryptFormatError(
      `checksum must be ${spec.checksumLength} characters of [./0-9A-Za-z]`,
    );
  }
  return { variant, rounds, salt, checksum };
}

/**
 * Computes the full crypt string for `password` with the given variant, salt
 * (truncated to 16 characters) and rounds (undefined: 5000, not written out).
 */
export function shaCrypt(
  password: Uint8Array,
  variant: Variant,
  salt: string,
  rounds?: number,
): string {
  const spec = VARIANTS[variant];
  const saltText = salt.slice(0, SALT_MAX);
  const s = new TextEncoder().encode(saltText);
  const p = password;
  const effectiveRounds = rounds ?? SHA_CRYPT_DEFAULT_ROUNDS;
  const hash = () => createHash(spec.algorithm);
  const n = spec.digestLength;

  // Steps 4-8: digest B = H(P S P).
  const b = hash().update(p).update(s).update(p).digest();

  // Steps 1-3, 9-12: digest A = H(P S, len(P) bytes of B, then B or P per bit of len(P)).
  const a = hash().update(p).update(s);
  let remaining = p.length;
  for (; remaining > n; remaining -= n) a.update(b);
  a.update(b.subarray(0, remaining));
  for (let bits = p.length; bits > 0; bits >>= 1) a.update(bits & 1 ? b : p);
  let c: Uint8Array = a.digest();

  // Steps 13-16: the P sequence, len(P) bytes of H(P repeated len(P) times).
  const dp = hash();
  for (let i = 0; i < p.length; i++) dp.update(p);
  const pSequence = repeatTo(dp.digest(), p.length);

  // Steps 17-20: the S sequence, len(S) bytes of H(S repeated 16 + A[0] times).
  const ds = hash();
  for (let i = 0; i < 16 + c[0]; i++) ds.update(s);
  const sSequence = repeatTo(ds.digest(), s.length);

  // Step 21: the rounds.
  for (let i = 0; i < effectiveRounds; i++) {
    const round = hash();
    round.update(i & 1 ? pSequence : c);
    if (i % 3 !== 0) round.update(sSequence);
    if (i % 7 !== 0) round.update(pSequence);
    round.update(i & 1 ? c : pSequence);
    c = round.digest();
  }

  // Step 22: the output string.
  const roundsField = rounds === undefined ? "" : `rounds=${rounds}$`;
  return `$${variant}$${roundsField}${saltText}$${cryptBase64(c, spec.groups)}`;
}

/**
 * True when `password` matches the $5$/$6$ string `hash` (constant-time
 * comparison of the checksum). Throws CryptFormatError for a malformed hash
 * or one asking for more than SHA_CRYPT_MAX_VERIFY_ROUNDS rounds.
 */
export function verifyShaCrypt(password: Uint8Array, hash: string): boolean {
  const parsed = parseShaCrypt(hash);
  if ((parsed.rounds ?? 0) > SHA_CRYPT_MAX_VERIFY_ROUNDS) {
    throw new CryptFormatError(
      `rounds=${parsed.rounds} exceeds facteur's limit of ${SHA_CRYPT_MAX_VERIFY_ROUNDS}`,
    );
  }
  const computed = shaCrypt(password, parsed.variant, parsed.salt, parsed.rounds);
  return constantTimeEqual(computed, hash);
}

function repeatTo(block: Uint8Array, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i += block.length) {
    out.set(block.subarray(0, Math.min(block.length, length - i)), i);
  }
  return out;
}
