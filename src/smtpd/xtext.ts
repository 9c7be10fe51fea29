/**
 * xtext (RFC 3461 4): printable ASCII except "+" and "=", with any octet
 * written "+XX" (upper-case hex). Used by ENVID and ORCPT.
 */

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * The decoded text, or undefined if `text` is not valid xtext (or its
 * "+XX" octets are not UTF-8).
 */
export function decodeXtext(text: string): string | undefined {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x2b) { // "+"
      const hex = text.slice(i + 1, i + 3);
      if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return undefined;
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else if (c >= 33 && c <= 126 && c !== 0x3d) { // not "="
      bytes.push(c);
    } else {
      return undefined;
    }
  }
  try {
    return utf8.decode(Uint8Array.from(bytes));
  } catch {
    return undefined;
  }
}

/** Encodes text as xtext (for passing ENVID/ORCPT on to another server). */
export function encodeXtext(text: string): string {
  let out = "";
  for (const byte of new TextEncoder().encode(text)) {
    if (byte >= 33 && byte <= 126 && byte !== 0x2b && byte !== 0x3d) {
      out += String.fromCharCode(byte);
    } else out += "+" + byte.toString(16).toUpperCase().padStart(2, "0");
  }
  return out;
}
