/**
 * The human-readable first part of a DSN (RFC 3462 / RFC 6522 section 3:
 * "a human readable explanation") and the notice's Subject, in the spirit
 * of Postfix's default bounce(5) templates (reworded, not copied).
 */

import { oneLine as printable } from "./field_text.ts";
import type { DsnInput, DsnKind } from "./types.ts";

/** Subjects as Postfix's bounce(8) default templates. */
export const SUBJECTS: Readonly<Record<DsnKind, string>> = {
  failure: "Undelivered Mail Returned to Sender",
  delay: "Delayed Mail (still being retried)",
  success: "Successful Mail Delivery Report",
};

/** Postfix's postmaster-subject lines of the same templates. */
const POSTMASTER_SUBJECTS: Readonly<Record<DsnKind, string>> = {
  failure: "Postmaster Copy: Undelivered Mail",
  delay: "Postmaster Warning: Delayed Mail",
  success: "Successful Mail Delivery Report",
};

export function subject(kind: DsnKind, postmasterCopy: boolean): string {
  return (postmasterCopy ? POSTMASTER_SUBJECTS : SUBJECTS)[kind];
}

const INTRO: Readonly<Record<DsnKind, string[]>> = {
  failure: [
    "I'm sorry to have to inform you that your message could not",
    "be delivered to one or more recipients. It is attached below.",
    "",
    "For further help, please write to postmaster and include this",
    "report; you may remove your own text from the returned message.",
  ],
  delay: [
    "####################################################################",
    "# THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND YOUR MESSAGE. #",
    "####################################################################",
    "",
    "Your message has not yet been delivered to the recipient(s) below.",
    "The mail system keeps trying; you will be told if it finally fails.",
  ],
  success: [
    "Your message was delivered to the destination(s) listed below.",
    "If it was delivered to a mailbox, no further notice will follow;",
    "otherwise other mail systems may still report delivery problems.",
  ],
};

/** Postfix wraps long reasons; a plain 1000-octet line limit (RFC 5322 2.1.1) is what matters here. */
function recipientLine(address: string, reason: string): string {
  return `<${printable(address)}>: ${printable(reason)}`;
}

/** The text/plain part, CRLF line endings. */
export function humanReadableText(input: DsnInput): string {
  const lines = [`This is the mail system at host ${printable(input.myhostname)}.`, ""];
  lines.push(...INTRO[input.kind], "", "                   The mail system", "");
  for (const rcpt of input.recipients) {
    lines.push(recipientLine(rcpt.address, rcpt.reason));
  }
  return lines.join("\r\n") + "\r\n";
}
