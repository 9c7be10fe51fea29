/**
 * facteur's own password hashes, and the one entry point for checking any
 * stored password (facteur's or imported from Dovecot).
 *
 * New hashes are Argon2id (RFC 9106) written in Dovecot's notation,
 * "{ARGON2ID}$argon2id$v=19$m=19456,t=2,p=1$salt$hash", so the users table and a
 * Dovecot passwd-file hold the same strings and either server can verify them.
 *
 * Parameters: OWASP Password Storage Cheat Sheet (2023-2025), Argon2id
 * m=19 MiB, t=2, p=1 (the equivalent m=46 MiB,t=1 costs more memory per
 * concurrent login). 16-byte salt, 32-byte tag (RFC 9106 4).
 *
 * Cost (2 cores, Deno 2.9.6, hash-wasm 4.13): 67-80 ms per hash or verify, and the
 * event loop is blocked for all of it (hash-wasm runs WebAssembly on the
 * calling thread). Callers that serve many sessions should throttle failed
 * logins first (throttle.ts) and may later move this call to a Worker.
 */
import { randomBytes } from "node:crypto";
import { type Argon2Params, computeArgon2, encodeArgon2, parseArgon2 } from "./argon2.ts";
import { type PasswordInput, splitScheme, verifyScheme } from "./schemes.ts";

export type { PasswordInput } from "./schemes.ts";

export interface HashParams extends Argon2Params {
  saltBytes: number;
  hashBytes: number;
}

/** The parameters hashPassword() uses unless told otherwise. */
export const DEFAULT_HASH_PARAMS: Readonly<HashParams> = Object.freeze({
  type: "argon2id",
  memoryKiB: 19_456,
  iterations: 2,
  parallelism: 1,
  saltBytes: 16,
  hashBytes: 32,
});

/** Hashes a password (UTF-8, not normalised) into "{ARGON2ID}$argon2id$v=19$...". */
export async function hashPassword(
  plain: PasswordInput,
  params: HashParams = DEFAULT_HASH_PARAMS,
): Promise<string> {
  const password = typeof plain === "string" ? new TextEncoder().encode(plain) : plain;
  const salt = new Uint8Array(randomBytes(params.saltBytes));
  const hash = await computeArgon2(password, params, salt, params.hashBytes);
  const scheme = params.type === "argon2id" ? "ARGON2ID" : "ARGON2I";
  return `{${scheme}}${encodeArgon2({ ...params, salt, hash })}`;
}

export interface VerifyResult {
  /** The password matches the stored value. */
  ok: boolean;
  /**
   * The password matched but the stored value is not facteur's current
   * default (another scheme, or other Argon2 parameters): the caller should
   * store hashPassword(plain) now. Like PHP's password_needs_rehash, a
   * costlier hash is rewritten too, so every login costs the same.
   */
  rehash: boolean;
  /** The scheme of the stored value ("ARGON2ID", "SHA512-CRYPT", "CRYPT"...). */
  scheme: string;
  /**
   * Set when the stored value could not be checked (unknown scheme, malformed
   * hash, limits exceeded): log it; it is not a wrong password.
   */
  error?: string;
}

/**
 * Checks `plain` against any stored value facteur understands (see schemes.ts).
 * Never throws for bad stored data: that gives ok=false with `error` set.
 */
export async function verifyPassword(
  plain: PasswordInput,
  stored: string,
  params: HashParams = DEFAULT_HASH_PARAMS,
): Promise<VerifyResult> {
  const check = await verifyScheme(plain, stored);
  return { ...check, rehash: check.ok && needsRehash(stored, params) };
}

/** True when `stored` is not an Argon2 hash with exactly the given parameters. */
export function needsRehash(stored: string, params: HashParams = DEFAULT_HASH_PARAMS): boolean {
  const { scheme, value } = splitScheme(stored);
  if (scheme !== "ARGON2ID" && scheme !== "ARGON2I") return true;
  try {
    const h = parseArgon2(value);
    return h.type !== params.type || h.memoryKiB !== params.memoryKiB ||
      h.iterations !== params.iterations || h.parallelism !== params.parallelism ||
      h.salt.length < params.saltBytes || h.hash.length !== params.hashBytes;
  } catch {
    return true;
  }
}
