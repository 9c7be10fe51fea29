/**
 * `facteur token new`: a fresh admin API token and the admin_tokens line
 * that lets it in. The configuration keeps only the SHA-256 of the token
 * (the admin API contract: "sha256:" + 64 hex digits), so the file can be
 * read without revealing it.
 */
import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";

/** 32 random bytes, base64url without padding (43 characters). */
export function newToken(
  random: (bytes: Uint8Array) => Uint8Array = (b) => crypto.getRandomValues(b),
): string {
  return Buffer.from(random(new Uint8Array(32))).toString("base64url");
}

/** "sha256:" + the hex SHA-256 of the token's UTF-8 bytes. */
export function tokenHash(token: string): string {
  return `sha256:${createHash("sha256").update(token, "utf8").digest("hex")}`;
}

/** What `facteur token new` prints: the token alone on the first line, then the config line. */
export function tokenNewText(token: string): string {
  return `${token}\nadmin_tokens = [${JSON.stringify(tokenHash(token))}]\n`;
}

export function tokenNewCommand(): number {
  console.log(tokenNewText(newToken()).trimEnd());
  console.error(
    "facteur: token: keep the first line secret (clients send it as Authorization: Bearer); " +
      "put the second in the configuration and reload",
  );
  return 0;
}
