/**
 * Modified UTF-7 (RFC 3501 5.1.3): the form Dovecot gives Maildir++ folder
 * names on disk (".Caf&AOk-") and in its subscriptions file.
 */

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

function encodeRun(units: number[]): string {
  const bytes: number[] = [];
  for (const u of units) bytes.push(u >> 8, u & 0xff);
  let out = "";
  for (let i = 0; i < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    const chars = bytes.length - i >= 3 ? 4 : bytes.length - i + 1;
    for (let c = 0; c < chars; c++) out += B64[(n >> (18 - 6 * c)) & 63];
  }
  return `&${out}-`;
}

/** UTF-8 (JS string) → modified UTF-7. */
export function encodeMutf7(name: string): string {
  let out = "";
  let run: number[] = [];
  for (let i = 0; i < name.length; i++) {
    const code = name.charCodeAt(i);
    if (code >= 0x20 && code <= 0x7e) {
      if (run.length) out += encodeRun(run);
      run = [];
      out += code === 0x26 ? "&-" : name[i];
    } else {
      run.push(code);
    }
  }
  if (run.length) out += encodeRun(run);
  return out;
}

/** Modified UTF-7 → string; throws RangeError on a malformed name. */
export function decodeMutf7(text: string): string {
  let out = "";
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    const code = ch.charCodeAt(0);
    if (code < 0x20 || code > 0x7e) throw new RangeError(`mUTF-7: bad character in "${text}"`);
    if (ch !== "&") {
      out += ch;
      continue;
    }
    const end = text.indexOf("-", i + 1);
    if (end < 0) throw new RangeError(`mUTF-7: unterminated shift in "${text}"`);
    const run = text.slice(i + 1, end);
    i = end;
    if (run === "") {
      out += "&";
      continue;
    }
    let bits = 0;
    let acc = 0;
    const bytes: number[] = [];
    for (const c of run) {
      const v = B64.indexOf(c);
      if (v < 0) throw new RangeError(`mUTF-7: bad base64 in "${text}"`);
      acc = (acc << 6) | v;
      bits += 6;
      if (bits >= 8) {
        bits -= 8;
        bytes.push((acc >> bits) & 0xff);
      }
    }
    // Whole UTF-16 units, and the padding bits left over are zero (RFC 2152).
    if (bytes.length === 0 || bytes.length % 2 !== 0 || bits >= 6 || (acc & ((1 << bits) - 1))) {
      throw new RangeError(`mUTF-7: bad shifted run in "${text}"`);
    }
    for (let b = 0; b < bytes.length; b += 2) {
      out += String.fromCharCode((bytes[b] << 8) | bytes[b + 1]);
    }
  }
  return out;
}
