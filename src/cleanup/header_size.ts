/**
 * postconf(5) header_size_limit: "The maximal amount of memory in bytes for
 * storing a message header. If a header is larger, the excess is discarded."
 *
 * A field's size is its bytes up to but not including its final line ending
 * (interior CRLFs of folded lines count). The excess goes at a line boundary
 * where possible: whole continuation lines are dropped; only a first line
 * that alone is too long is cut, and never inside a UTF-8 sequence.
 */

const LF = 0x0a;
const CR = 0x0d;
const CRLF = new Uint8Array([CR, LF]);

/** End of the line's text (before CRLF/LF) for the line starting at `start`. */
function lineBounds(raw: Uint8Array, start: number): { textEnd: number; next: number } {
  const lf = raw.indexOf(LF, start);
  const next = lf < 0 ? raw.length : lf + 1;
  let textEnd = lf < 0 ? raw.length : lf;
  if (textEnd > start && raw[textEnd - 1] === CR) textEnd--;
  return { textEnd, next };
}

/** Size as header_size_limit counts it. */
export function fieldSize(raw: Uint8Array): number {
  let end = raw.length;
  if (end > 0 && raw[end - 1] === LF) end--;
  if (end > 0 && raw[end - 1] === CR) end--;
  return end;
}

/** Backs `cut` off UTF-8 continuation bytes (10xxxxxx) so no character is split. */
function utf8Boundary(raw: Uint8Array, start: number, cut: number): number {
  while (cut > start && (raw[cut] & 0xc0) === 0x80) cut--;
  return cut;
}

/** The field, cut to at most `limit` bytes (see above), ending with CRLF; unchanged if it fits. */
export function truncateField(raw: Uint8Array, limit: number): Uint8Array {
  if (fieldSize(raw) <= limit) return raw;
  const first = lineBounds(raw, 0);
  if (first.textEnd > limit) {
    const cut = utf8Boundary(raw, 0, limit);
    return concatCrlf(raw.subarray(0, cut));
  }
  let keepEnd = first.textEnd; // end of text of the last kept line
  let pos = first.next;
  while (pos < raw.length) {
    const line = lineBounds(raw, pos);
    if (line.textEnd > limit) break;
    keepEnd = line.textEnd;
    pos = line.next;
  }
  return concatCrlf(raw.subarray(0, keepEnd));
}

function concatCrlf(text: Uint8Array): Uint8Array {
  const out = new Uint8Array(text.length + 2);
  out.set(text);
  out.set(CRLF, text.length);
  return out;
}
