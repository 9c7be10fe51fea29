/**
 * Addresses as they are written into header text: RFC 5322 3.4.1 quoting of
 * the local part (Postfix quote_822_local), and no control characters.
 */

/** atext (RFC 5322 3.2.3) plus UTF-8 (RFC 6532 3.2): any non-ASCII character. */
const ATEXT = /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~\u0080-\u{10FFFF}]+$/u;

function isDotAtom(local: string): boolean {
  return local.length > 0 && local.split(".").every((part) => ATEXT.test(part));
}

/** Control characters (which never belong in a header line) shown as "?". */
export function printable(text: string): string {
  return text.replace(/[\x00-\x1f\x7f]/g, "?");
}

function isQuoted(local: string): boolean {
  return local.length >= 2 && local.startsWith('"') && local.endsWith('"');
}

/**
 * Internal (unquoted) form to header form: "a b@example.com" becomes
 * "\"a b\"@example.com"; a dot-atom or already quoted local part is left alone.
 */
export function quoteAddress(address: string): string {
  const at = address.lastIndexOf("@");
  const local = at < 0 ? address : address.slice(0, at);
  const domain = at < 0 ? "" : address.slice(at);
  if (isDotAtom(local) || isQuoted(local)) return printable(address);
  const quoted = `"${local.replace(/["\\]/g, (c) => `\\${c}`)}"`;
  return printable(quoted + domain);
}
