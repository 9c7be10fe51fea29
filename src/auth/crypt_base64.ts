/**
 * The "crypt base64" alphabet and byte packing shared by the crypt(3)
 * families ($1$, $5$, $6$): 6 bits per character, least significant first,
 * over groups of three bytes picked in a scheme-specific order.
 */

/** crypt(3)'s alphabet: "./0-9A-Za-z" (not RFC 4648 base64). */
export const CRYPT_ALPHABET = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/**
 * Encodes `digest` by taking the byte triples in `groups` (most significant
 * first) and writing `chars` characters of each, low 6 bits first.
 * Drepper's b64_from_24bit; an index of -1 stands for a zero byte.
 */
export function cryptBase64(
  digest: Uint8Array,
  groups: readonly (readonly [number, number, number, number])[],
): string {
  let out = "";
  for (const [a, b, c, chars] of groups) {
    let w = (byteAt(digest, a) << 16) | (byteAt(digest, b) << 8) | byteAt(digest, c);
    for (let i = 0; i < chars; i++) {
      out += CRYPT_ALPHABET[w & 0x3f];
      w >>= 6;
    }
  }
  return out;
}

function byteAt(digest: Uint8Array, index: number): number {
  return index < 0 ? 0 : digest[index];
}

/** True when every character of `text` is in crypt's alphabet. */
export function isCryptBase64(text: string): boolean {
  return /^[./0-9A-Za-z]*$/.test(text);
}
