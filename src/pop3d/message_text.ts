/**
 * A stored message as a POP3 multi-line response body (RFC 1939 3): every
 * line ends in CRLF (stored bare LFs are normalised), a line starting with
 * "." gets one more in front (byte-stuffing), and ".CRLF" ends it.
 */

const LF = 0x0a;
const CR = 0x0d;
const DOT = 0x2e;
const TERMINATOR = new Uint8Array([DOT, CR, LF]);

export interface WireText {
  /** The response body including the final ".CRLF". */
  bytes: Uint8Array;
  /** Octets of the message part only (stuffed, without the final ".CRLF"), for the logs. */
  messageOctets: number;
}

/** RETR: the whole message. */
export function retrText(stored: Uint8Array): WireText {
  return encode(stored, Infinity);
}

/**
 * TOP: the header, the blank line after it, and the first `bodyLines` lines
 * of the body (RFC 1939 7). A message without a blank line is all header.
 */
export function topText(stored: Uint8Array, bodyLines: number): WireText {
  return encode(stored, bodyLines);
}

/** The size a message has on the wire before stuffing: LF counted as CRLF (RFC 1939 5 LIST). */
export function crlfSize(stored: Uint8Array): number {
  let size = stored.length;
  for (let i = 0; i < stored.length; i++) {
    if (stored[i] === LF && (i === 0 || stored[i - 1] !== CR)) size++;
  }
  const last = stored[stored.length - 1];
  // An unterminated last line gets CRLF (a trailing CR is completed to CRLF).
  if (stored.length > 0 && last !== LF) size += last === CR ? 1 : 2;
  return size;
}

/**
 * Lines out, stuffed and CRLF-terminated; after the header, at most
 * `bodyLines` lines. One pass into one buffer: at worst every byte doubles
 * (a "." line becomes "..CRLF"), plus the terminator.
 */
function encode(stored: Uint8Array, bodyLines: number): WireText {
  const out = new Uint8Array(stored.length * 2 + TERMINATOR.length + 2);
  let at = 0;
  let inBody = false;
  let bodyLeft = bodyLines;
  let start = 0;
  while (start < stored.length) {
    if (inBody && bodyLeft-- <= 0) break;
    let end = stored.indexOf(LF, start);
    const next = end < 0 ? stored.length : end + 1;
    if (end < 0) end = stored.length;
    const lineEnd = end > start && stored[end - 1] === CR ? end - 1 : end;
    if (lineEnd > start && stored[start] === DOT) out[at++] = DOT;
    out.set(stored.subarray(start, lineEnd), at);
    at += lineEnd - start;
    out[at++] = CR;
    out[at++] = LF;
    if (!inBody && lineEnd === start) inBody = true; // the blank line ends the header
    start = next;
  }
  out.set(TERMINATOR, at);
  return { bytes: out.subarray(0, at + TERMINATOR.length), messageOctets: at };
}
