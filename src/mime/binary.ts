/**
 * "Binary strings": one UTF-16 code unit per byte (0-255). Header text is
 * kept this way so that 8-bit and NUL bytes pass through untouched and string
 * positions stay byte offsets; IMAP sends header bytes as they are.
 * (TextDecoder("latin1") is windows-1252 in WHATWG and would remap 0x80-0x9f.)
 */

const CHUNK = 8192;

export function bytesToBinary(bytes: Uint8Array, start = 0, end = bytes.length): string {
  let out = "";
  for (let i = start; i < end; i += CHUNK) {
    out += String.fromCharCode.apply(
      null,
      bytes.subarray(i, Math.min(end, i + CHUNK)) as unknown as number[],
    );
  }
  return out;
}

export function binaryToBytes(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i) & 0xff;
  return out;
}

/** A binary string's bytes read as UTF-8 (invalid sequences become U+FFFD). */
export function binaryToUtf8(text: string): string {
  return new TextDecoder().decode(binaryToBytes(text));
}

export const LF = 0x0a;
export const CR = 0x0d;
