/**
 * Positions of every LF in a message, built once, so that line counts and
 * CRLF-normalised sizes of any byte range cost two binary searches.
 */
import { CR, LF } from "./binary.ts";

export interface LineIndex {
  /** Offsets of the LF bytes, ascending. */
  lf: Int32Array;
  count: number;
  /** bare[i]: how many of the first i LFs have no CR before them. */
  bare: Int32Array;
}

export function buildLineIndex(bytes: Uint8Array): LineIndex {
  let lf = new Int32Array(1024);
  let bare = new Int32Array(1025);
  let count = 0;
  let bareCount = 0;
  // indexOf (native memchr) is several times faster here than a byte loop.
  for (let i = bytes.indexOf(LF); i >= 0; i = bytes.indexOf(LF, i + 1)) {
    if (count + 1 >= lf.length) {
      const grownLf = new Int32Array(lf.length * 2);
      grownLf.set(lf);
      lf = grownLf;
      const grownBare = new Int32Array(lf.length + 1);
      grownBare.set(bare);
      bare = grownBare;
    }
    lf[count++] = i;
    if (i === 0 || bytes[i - 1] !== CR) bareCount++;
    bare[count] = bareCount;
  }
  return { lf, count, bare };
}

/** Index of the first LF at or after `pos`. */
export function firstLfAtOrAfter(index: LineIndex, pos: number): number {
  let lo = 0;
  let hi = index.count;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (index.lf[mid] < pos) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export interface RangeCounts {
  /** LF count (RFC 3501 7.4.2 body lines, as Dovecot counts them). */
  lines: number;
  /** Octets once each bare LF is sent as CRLF. */
  crlfSize: number;
}

export function rangeCounts(index: LineIndex, start: number, end: number): RangeCounts {
  if (end <= start) return { lines: 0, crlfSize: 0 };
  const a = firstLfAtOrAfter(index, start);
  const b = firstLfAtOrAfter(index, end);
  return { lines: b - a, crlfSize: end - start + index.bare[b] - index.bare[a] };
}
