/**
 * IMAP sequence sets (RFC 3501 9 "sequence-set"): "1:3,7,10:*". Used for
 * message sequence numbers and UIDs alike; "*" is the largest number in
 * use, and "n:m" is the same range as "m:n".
 */

export interface SequenceRange {
  from: number;
  to: number;
}

/** Parses a set, given the value of "*"; throws RangeError with the reason on bad syntax. */
export function parseSequenceSet(text: string, star: number): SequenceRange[] {
  if (text === "") throw new RangeError("empty sequence set");
  const number = (s: string): number => {
    if (s === "*") return star;
    if (!/^[1-9][0-9]*$/.test(s) || Number(s) > 0xffffffff) {
      throw new RangeError(`bad number "${s}" in sequence set`);
    }
    return Number(s);
  };
  return text.split(",").map((part) => {
    const [a, b, extra] = part.split(":");
    if (extra !== undefined) throw new RangeError(`bad range "${part}" in sequence set`);
    const x = number(a);
    const y = b === undefined ? x : number(b);
    return { from: Math.min(x, y), to: Math.max(x, y) };
  });
}

/** The members of `uids` (ascending) inside the ranges. */
export function uidsInSet(ranges: SequenceRange[], uids: number[]): number[] {
  return uids.filter((u) => ranges.some((r) => u >= r.from && u <= r.to));
}
