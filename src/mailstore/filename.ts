/**
 * Maildir file names as Dovecot reads and writes them
 * (cr.yp.to/proto/maildir.html; doc.dovecot.org "Maildir mailbox format"):
 * `<base>:2,<flags>`, where the base holds Dovecot's `,S=<size>` (file
 * size) and `,W=<vsize>` (size with CRLF line ends, the IMAP RFC822.SIZE)
 * and the flags are letters in ASCII order: D F P R S T for the system
 * flags, a..z for the keywords of dovecot-keywords.
 */

/** Maildir info letter ↔ IMAP system flag (RFC 3501 2.3.2; \Recent is session state). */
export const LETTER_FLAGS: Readonly<Record<string, string>> = {
  D: "\\Draft",
  F: "\\Flagged",
  R: "\\Answered",
  S: "\\Seen",
  T: "\\Deleted",
};

/** The IMAP system flags the store keeps, in canonical spelling. */
export const SYSTEM_FLAGS: readonly string[] = Object.values(LETTER_FLAGS);

const FLAG_LETTERS: Record<string, string> = Object.fromEntries(
  Object.entries(LETTER_FLAGS).map(([letter, flag]) => [flag.toLowerCase(), letter]),
);

/** "\\seen" → "\\Seen"; undefined when not a stored system flag. */
export function systemFlag(name: string): string | undefined {
  const letter = FLAG_LETTERS[name.toLowerCase()];
  return letter ? LETTER_FLAGS[letter] : undefined;
}

/** The maildir letter of a system flag ("\\Seen" → "S"). */
export function flagLetter(flag: string): string | undefined {
  return FLAG_LETTERS[flag.toLowerCase()];
}

export interface MaildirName {
  /** The unique part, before ":": what dovecot-uidlist and the index key on. */
  base: string;
  /** The letters after ":2,", "" when there is none. */
  letters: string;
  /** ,S=<n>: the file size. */
  size?: number;
  /** ,W=<n>: the size with CRLF line ends. */
  vsize?: number;
}

/** Splits a file name of new/ or cur/. Dovecot's separator is ':' (maildir_info_separator). */
export function parseName(name: string): MaildirName {
  const colon = name.indexOf(":");
  const base = colon < 0 ? name : name.slice(0, colon);
  const info = colon < 0 ? "" : name.slice(colon + 1);
  const letters = info.startsWith("2,") ? info.slice(2) : "";
  const size = /,S=(\d+)/.exec(base);
  const vsize = /,W=(\d+)/.exec(base);
  return {
    base,
    letters,
    size: size ? Number(size[1]) : undefined,
    vsize: vsize ? Number(vsize[1]) : undefined,
  };
}

/** `<base>:2,<letters>` with the letters de-duplicated in ASCII order, as the spec requires. */
export function curName(base: string, letters: Iterable<string>): string {
  return `${base}:2,${[...new Set(letters)].sort().join("")}`;
}

/** RFC822.SIZE of stored bytes: every LF not preceded by CR counts as CRLF. */
export function virtualSize(data: Uint8Array): number {
  let extra = 0;
  for (let i = 0; i < data.length; i++) {
    if (data[i] === 0x0a && (i === 0 || data[i - 1] !== 0x0d)) extra++;
  }
  return data.length + extra;
}

/** Maildir spec: "/" and ":" in the host name are written \057 and \072. */
export function safeHostname(name: string): string {
  return name.replaceAll("/", "\\057").replaceAll(":", "\\072");
}
