/**
 * A header block (RFC 5322 2.2): fields with their raw byte ranges, names and
 * unfolded values. Lines without a colon stay in the header (as Dovecot's
 * message-header-parser keeps them), and only an empty line, a MIME boundary
 * line of an enclosing multipart, or the end of the data ends the header.
 */
import { bytesToBinary, CR, LF } from "./binary.ts";

export interface HeaderField {
  /** Field name as written (binary string), without trailing white space. */
  name: string;
  /** Unfolded value (RFC 5322 2.2.3): line ends removed, white space after the colon skipped. */
  value: string;
  /** Raw bytes of the field: [start, end) including its final line end. */
  start: number;
  end: number;
  /** False for a line without a colon (kept, but not a real field). */
  hasColon: boolean;
}

export interface HeaderLimits {
  /** Fields beyond this are still skipped over but not recorded. */
  maxFields: number;
}

export interface HeaderScan {
  fields: HeaderField[];
  /** Offset just after the header, including its empty line when there is one. */
  end: number;
  /** True when the header was ended by an empty line. */
  blankLine: boolean;
  /** More fields than maxFields were present. */
  truncated: boolean;
}

const isWsp = (b: number) => b === 0x20 || b === 0x09;

/**
 * Scans a header from `start`. `stopAt(pos)` is asked at each line start
 * whether the line is a boundary of an enclosing multipart; if so the header
 * ends before that line, and the line end before it belongs to the boundary
 * (RFC 2046 5.1.1).
 */
export function scanHeader(
  bytes: Uint8Array,
  start: number,
  limit: number,
  stopAt: (pos: number) => boolean,
  limits: HeaderLimits,
): HeaderScan {
  const fields: HeaderField[] = [];
  let truncated = false;
  let pos = start;
  let skipping = false; // inside a field we did not record
  const done = (end: number, blankLine: boolean): HeaderScan => ({
    fields: fields.map((f) => fill(bytes, f)),
    end,
    blankLine,
    truncated,
  });
  while (pos < limit) {
    const b = bytes[pos];
    if (b === LF) return done(pos + 1, true);
    if (b === CR && pos + 1 < limit && bytes[pos + 1] === LF) return done(pos + 2, true);
    if (b === 0x2d && stopAt(pos)) {
      const eol = pos > start ? (pos - 2 >= start && bytes[pos - 2] === CR ? 2 : 1) : 0;
      const last = fields[fields.length - 1];
      if (last && last.end === pos) last.end -= eol;
      return done(pos - eol, false);
    }
    const lf = bytes.indexOf(LF, pos);
    const next = lf < 0 || lf >= limit ? limit : lf + 1;
    if (isWsp(b) && (fields.length > 0 || skipping)) {
      if (!skipping) fields[fields.length - 1].end = next;
    } else if (fields.length >= limits.maxFields) {
      truncated = true;
      skipping = true;
    } else {
      skipping = false;
      fields.push({ name: "", value: "", start: pos, end: next, hasColon: false });
    }
    pos = next;
  }
  return done(limit, false);
}

/** Sets name and value from the raw range. */
function fill(bytes: Uint8Array, field: HeaderField): HeaderField {
  const raw = bytesToBinary(bytes, field.start, field.end);
  const colon = raw.indexOf(":");
  if (colon < 0) {
    field.name = raw.replace(/[\r\n]+$/, "");
    return field;
  }
  field.hasColon = true;
  field.name = raw.slice(0, colon).replace(/[ \t]+$/, "");
  // White space after the colon is skipped on the first line only (as Dovecot does).
  field.value = unfold(raw.slice(colon + 1).replace(/^[ \t]+/, ""));
  return field;
}

/** RFC 5322 2.2.3: remove the CRLF (or bare LF) of each line; the white space after it stays. */
export function unfold(text: string): string {
  return text.replace(/\r?\n/g, "");
}

/** First field of that name (case-insensitive), or undefined. */
export function headerValue(fields: HeaderField[], name: string): string | undefined {
  const want = name.toLowerCase();
  return fields.find((f) => f.hasColon && f.name.toLowerCase() === want)?.value;
}

/** All values of fields of that name, in order. */
export function headerValues(fields: HeaderField[], name: string): string[] {
  const want = name.toLowerCase();
  return fields.filter((f) => f.hasColon && f.name.toLowerCase() === want).map((f) => f.value);
}
