/**
 * Splits a message (bytes as received, CRLF lines) into its primary header
 * fields and its body, without decoding anything: header values may carry
 * 8-bit/UTF-8 bytes (RFC 6532) and are kept byte for byte.
 *
 * Like Postfix's mime_state(3): the header block ends at an empty line, or at
 * the first line that is neither a header field nor a continuation ("garbage
 * in primary header"); in that case the body starts with that line and a
 * blank separator line must be inserted (RFC 5322 2.1).
 */

export interface HeaderField {
  /** Field name as written, e.g. "Message-ID". ASCII only. */
  name: string;
  /** Lower-case name, for comparisons (RFC 5322 1.2.2: names are case-insensitive). */
  key: string;
  /** The whole field: its first line and continuation lines, each with its own line ending. */
  raw: Uint8Array;
}

/** How the header block ended. */
export type HeaderEnd =
  /** an empty line; the body follows it */
  | "blank"
  /** a line that is not a header field; the body starts at that line, no separator present */
  | "garbage"
  /** the content ended inside the header block: no body */
  | "end";

export interface SplitMessage {
  fields: HeaderField[];
  end: HeaderEnd;
  /** The empty separator line as received ("\r\n" or "\n") when end is "blank", else empty. */
  separator: Uint8Array;
  body: Uint8Array;
}

const LF = 0x0a;
const CR = 0x0d;
const SP = 0x20;
const HTAB = 0x09;
const COLON = 0x3a;
/** Field names are printable ASCII only (checked before decoding). */
const ASCII = new TextDecoder();

/** Length of the line's text without its CRLF or LF. */
function textLength(content: Uint8Array, start: number, end: number): number {
  let n = end - start;
  if (n > 0 && content[start + n - 1] === LF) n--;
  if (n > 0 && content[start + n - 1] === CR) n--;
  return n;
}

/**
 * If the line starts a header field, the length of its name; otherwise 0.
 * RFC 5322 3.6.8: field-name = 1*ftext (printable ASCII except ":"); the
 * obsolete form allows white space before the colon (4.5), as Postfix does.
 */
export function fieldNameLength(line: Uint8Array): number {
  let i = 0;
  while (i < line.length && line[i] >= 33 && line[i] <= 126 && line[i] !== COLON) i++;
  const nameLength = i;
  if (nameLength === 0) return 0;
  while (i < line.length && (line[i] === SP || line[i] === HTAB)) i++;
  return i < line.length && line[i] === COLON ? nameLength : 0;
}

export function splitMessage(content: Uint8Array): SplitMessage {
  const fields: HeaderField[] = [];
  let fieldStart = -1; // start of the field being collected
  let fieldName = "";
  let pos = 0;

  const closeField = (end: number) => {
    if (fieldStart < 0) return;
    fields.push({
      name: fieldName,
      key: fieldName.toLowerCase(),
      raw: content.subarray(fieldStart, end),
    });
    fieldStart = -1;
  };

  while (pos < content.length) {
    const lf = content.indexOf(LF, pos);
    const lineEnd = lf < 0 ? content.length : lf + 1;
    const length = textLength(content, pos, lineEnd);
    const first = content[pos];

    if (length === 0) {
      closeField(pos);
      return {
        fields,
        end: "blank",
        separator: content.subarray(pos, lineEnd),
        body: content.subarray(lineEnd),
      };
    }
    if ((first === SP || first === HTAB) && fieldStart >= 0) {
      pos = lineEnd; // continuation line: part of the current field
      continue;
    }
    const nameLength = fieldNameLength(content.subarray(pos, pos + length));
    if (nameLength === 0) {
      closeField(pos);
      return { fields, end: "garbage", separator: new Uint8Array(0), body: content.subarray(pos) };
    }
    closeField(pos);
    fieldStart = pos;
    fieldName = ASCII.decode(content.subarray(pos, pos + nameLength));
    pos = lineEnd;
  }
  closeField(content.length);
  return { fields, end: "end", separator: new Uint8Array(0), body: new Uint8Array(0) };
}
