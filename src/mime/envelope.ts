/**
 * The IMAP ENVELOPE of a message (RFC 3501 7.4.2) from its header fields:
 * strings raw (encoded words included), address lists parsed, Sender and
 * Reply-To defaulting to From.
 */
import { type ImapAddress, parseAddressList } from "./address.ts";
import { headerValues } from "./header.ts";
import { imapNString, imapStringForHumans } from "./imap_string.ts";
import type { MimePart } from "./parse.ts";

export interface Envelope {
  date: string | null;
  subject: string | null;
  from: ImapAddress[] | null;
  sender: ImapAddress[] | null;
  replyTo: ImapAddress[] | null;
  to: ImapAddress[] | null;
  cc: ImapAddress[] | null;
  bcc: ImapAddress[] | null;
  inReplyTo: string | null;
  messageId: string | null;
}

/** The envelope of a message entity (the root, or a message/rfc822 part's `message`). */
export function envelope(part: MimePart): Envelope {
  // When a field is repeated, the last one counts (as in Dovecot's envelope).
  const last = (name: string) => headerValues(part.fields, name).at(-1);
  const text = (name: string) => last(name) ?? null;
  const addresses = (name: string) => {
    const value = last(name);
    if (value === undefined) return null;
    const list = parseAddressList(value);
    return list.length === 0 ? null : list;
  };
  const from = addresses("from");
  return {
    date: text("date"),
    subject: text("subject"),
    from,
    // RFC 3501 7.4.2: the server sets sender and reply-to to from when absent.
    sender: addresses("sender") ?? from,
    replyTo: addresses("reply-to") ?? from,
    to: addresses("to"),
    cc: addresses("cc"),
    bcc: addresses("bcc"),
    inReplyTo: text("in-reply-to"),
    messageId: text("message-id"),
  };
}

function formatAddresses(list: ImapAddress[] | null): string {
  if (list === null) return "NIL";
  return "(" +
    list.map((a) =>
      `(${imapStringForHumans(a.name)} ${imapNString(a.adl)} ${imapNString(a.mailbox)} ${
        imapNString(a.host)
      })`
    ).join("") + ")";
}

/**
 * RFC 3501 7.4.2 envelope syntax (binary string), quoted as Dovecot quotes
 * it: subject and display names cleaned up "for humans", the rest as is.
 */
export function formatEnvelope(env: Envelope): string {
  return "(" + [
    imapNString(env.date),
    imapStringForHumans(env.subject),
    formatAddresses(env.from),
    formatAddresses(env.sender),
    formatAddresses(env.replyTo),
    formatAddresses(env.to),
    formatAddresses(env.cc),
    formatAddresses(env.bcc),
    imapNString(env.inReplyTo),
    imapNString(env.messageId),
  ].join(" ") + ")";
}
