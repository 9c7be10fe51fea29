/**
 * Argon2 (RFC 9106) in the encoded form libsodium, libargon2 and Dovecot's
 * {ARGON2I}/{ARGON2ID} use:
 *
 *   $argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt b64>$<hash b64>   (base64 without padding)
 *
 * The computation is hash-wasm's WebAssembly Argon2. It is async in name only:
 * it runs on the calling thread and blocks the event loop for its whole
 * duration (see password.ts for the measured cost).
 */
import { argon2i, argon2id } from "hash-wasm";
import { CryptFormatError } from "./crypt_sha.ts";
import { constantTimeEqual } from "./compare.ts";

export type Argon2Type = "argon2i" | "argon2id";

export interface Argon2Params {
  type: Argon2Type;
  /** Memory in KiB (the "m=" field). */
  memoryKiB: number;
  /** Passes over memory (the "t=" field). */
  iterations: number;
  /** Lanes (the "p=" field). */
  parallelism: number;
}

export interface Argon2Hash extends Argon2Params {
  salt: Uint8Array;
  hash: Uint8Array;
}

/**
 * Bounds on what facteur agrees to compute for a stored hash, so an imported
 * file cannot make one login allocate gigabytes or run for minutes.
 * Dovecot's own default is m=65536,t=3,p=1.
 */
export const ARGON2_LIMITS = { maxMemoryKiB: 262_144, maxIterations: 32, maxParallelism: 16 };

const ENCODED =
  /^\$(argon2i|argon2id|argon2d)\$v=([0-9]+)\$m=([0-9]+),t=([0-9]+),p=([0-9]+)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;

/** Parses an encoded Argon2 string; throws CryptFormatError naming the defect. */
export function parseArgon2(encoded: string): Argon2Hash {
  const match = ENCODED.exec(encoded);
  if (!match) {
    throw new CryptFormatError(
      "not an Argon2 string ($argon2id$v=19$m=..,t=..,p=..$salt$hash)",
    );
  }
  const [, type, version, m, t, p, salt, hash] = match;
  if (type === "argon2d") throw new CryptFormatError("argon2d is not a password scheme");
  // RFC 9106 3.1: version 0x13; the older 0x10 was never used by Dovecot (libsodium).
  if (version !== "19") throw new CryptFormatError(`unsupported Argon2 version v=${version}`);
  const params = {
    type: type as Argon2Type,
    memoryKiB: Number(m),
    iterations: Number(t),
    parallelism: Number(p),
  };
  checkParams(params);
  const decoded = { salt: fromBase64(salt), hash: fromBase64(hash) };
  // RFC 9106 3.1: salt of at least 8 bytes, tag of at least 4.
  if (decoded.salt.length < 8) throw new CryptFormatError("Argon2 salt shorter than 8 bytes");
  if (decoded.hash.length < 4) throw new CryptFormatError("Argon2 hash shorter than 4 bytes");
  return { ...params, ...decoded };
}

function checkParams(params: Argon2Params): void {
  const { memoryKiB, iterations, parallelism } = params;
  if (parallelism < 1 || iterations < 1 || memoryKiB < 8 * parallelism) {
    throw new CryptFormatError("Argon2 parameters out of range (need p>=1, t>=1, m>=8p)");
  }
  if (
    memoryKiB > ARGON2_LIMITS.maxMemoryKiB || iterations > ARGON2_LIMITS.maxIterations ||
    parallelism > ARGON2_LIMITS.maxParallelism
  ) {
    throw new CryptFormatError(
      `Argon2 parameters m=${memoryKiB},t=${iterations},p=${parallelism} exceed facteur's limits ` +
        `(m<=${ARGON2_LIMITS.maxMemoryKiB},t<=${ARGON2_LIMITS.maxIterations},p<=${ARGON2_LIMITS.maxParallelism})`,
    );
  }
}

/** Computes the raw Argon2 tag. */
export async function computeArgon2(
  password: Uint8Array,
  params: Argon2Params,
  salt: Uint8Array,
  hashLength: number,
): Promise<Uint8Array> {
  const options = {
    password,
    salt,
    memorySize: params.memoryKiB,
    iterations: params.iterations,
    parallelism: params.parallelism,
    hashLength,
    outputType: "binary" as const,
  };
  return params.type === "argon2id" ? await argon2id(options) : await argon2i(options);
}

/** The encoded string for a computed hash. */
export function encodeArgon2(h: Argon2Hash): string {
  return `$${h.type}$v=19$m=${h.memoryKiB},t=${h.iterations},p=${h.parallelism}` +
    `$${toBase64(h.salt)}$${toBase64(h.hash)}`;
}

/** True when `password` matches; throws CryptFormatError for a malformed string. */
export async function verifyArgon2(password: Uint8Array, encoded: string): Promise<boolean> {
  const stored = parseArgon2(encoded);
  const computed = await computeArgon2(password, stored, stored.salt, stored.hash.length);
  return constantTimeEqual(computed, stored.hash);
}

function toBase64(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes)).replace(/=+$/, "");
}

function fromBase64(text: string): Uint8Array {
  // The encoding omits padding; a length of 1 mod 4 cannot come from any byte string.
  if (text.length % 4 === 1) throw new CryptFormatError("invalid base64 in Argon2 string");
  const padded = text + "=".repeat((4 - (text.length % 4)) % 4);
  return Uint8Array.from(atob(padded), (ch) => ch.charCodeAt(0));
}
