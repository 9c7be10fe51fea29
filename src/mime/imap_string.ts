/**
 * IMAP string syntax (RFC 3501 9: nstring, quoted, literal) for binary
 * strings, chosen as Dovecot's imap_append_nstring() chooses: a quoted
 * string unless the text has CR, LF, NUL or 8-bit bytes, or more than four
 * quoted-specials, in which case a literal.
 */

export function imapNString(text: string | null | undefined): string {
  return text === null || text === undefined ? "NIL" : imapString(text);
}

export function imapString(text: string): string {
  let specials = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 || c === 0x5c) {
      if (++specials > 4) return literal(text);
    } else if (c === 0x0d || c === 0x0a || c === 0 || c >= 0x80) {
      return literal(text);
    }
  }
  return `"${text.replace(/["\\]/g, (c) => "\\" + c)}"`;
}

function literal(text: string): string {
  return `{${text.length}}\r\n${text}`;
}

/**
 * Header text as Dovecot sends it in BODYSTRUCTURE: a CR or LF is dropped
 * before white space or at the end, and becomes a space elsewhere.
 */
export function imapNStringNoLf(text: string | null | undefined): string {
  if (text === null || text === undefined) return "NIL";
  return imapString(text.replace(/[\r\n](?=[ \t\r\n]|$)/g, "").replace(/[\r\n]/g, " "));
}

/**
 * Text meant for people (ENVELOPE subject and display names), as Dovecot's
 * imap_append_string_for_humans(): white space runs become one space, leading
 * and trailing white space goes, NUL becomes 0x80; a literal whenever that
 * changed anything or the text has quotes, backslashes or 8-bit bytes.
 */
export function imapStringForHumans(text: string | null | undefined): string {
  if (text === null || text === undefined) return "NIL";
  if (!/[\x00\r\n\t"\\\x80-\xff]|^ | $| {2}/.test(text)) return `"${text}"`;
  const clean = text.replace(/\x00/g, "\x80").split(/[\r\n\t ]+/).filter((w) => w !== "").join(" ");
  return clean === "" ? '""' : literal(clean);
}
