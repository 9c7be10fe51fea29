/**
 * Headers cleanup(8) adds when the message lacks them (Postfix
 * cleanup_message.c, cleanup_header_done_callback), appended after the
 * existing primary headers, in Postfix's order: Message-ID, Date, From, then
 * the undisclosed_recipients_header.
 *
 * Postfix 2.6+ adds Message-ID/Date/From only for clients matching
 * local_header_rewrite_clients, or with always_add_missing_headers = yes.
 * facteur adds them for every client: every received message then has the
 * Message-ID and Date that RFC 5322 3.6 expects, and a missing From: is
 * filled from the envelope as Postfix does. (DKIM signatures covering absent
 * headers are the reason Postfix made this optional; mail that arrives
 * without Date/Message-ID rarely carries such signatures.)
 *
 * When the message has Resent- headers, the Resent- forms are checked and
 * added instead (RFC 5322 3.6.6), as Postfix does.
 */
import { quoteAddress } from "./address_text.ts";
import { compactUtcStamp, formatMailDate } from "./mail_date.ts";

/** Resent- fields (Postfix header_opts HDR_OPT_RR). */
const RESENT_FIELDS = new Set([
  "resent-bcc",
  "resent-cc",
  "resent-date",
  "resent-from",
  "resent-message-id",
  "resent-reply-to",
  "resent-sender",
  "resent-to",
]);

/** Fields that make the recipients visible (Postfix VISIBLE_RCPT); Bcc does not count. */
const VISIBLE_RECIPIENT_FIELDS = ["to", "resent-to", "cc", "resent-cc"];

/** Postfix MAIL_ADDR_MAIL_DAEMON, used as From: for the null sender. */
const MAILER_DAEMON = "MAILER-DAEMON";

export interface MissingHeaderContext {
  /** Lower-case names of the fields present. */
  present: ReadonlySet<string>;
  queueId: string;
  /** Envelope sender, "" for the null sender. */
  sender: string;
  myhostname: string;
  myorigin: string;
  /** postconf(5): header text, or "" (the default since Postfix 2.8) for none. */
  undisclosedRecipientsHeader: string;
  arrival: Date;
  now: Date;
  utcOffsetMinutes?: number;
}

/** The header lines to append, each ending with CRLF. */
export function missingHeaders(ctx: MissingHeaderContext): string[] {
  const resent = [...ctx.present].some((key) => RESENT_FIELDS.has(key)) ? "Resent-" : "";
  const has = (name: string) => ctx.present.has((resent + name).toLowerCase());
  const out: string[] = [];
  if (!has("Message-ID")) {
    out.push(
      `${resent}Message-ID: <${compactUtcStamp(ctx.now)}.${ctx.queueId}@${ctx.myhostname}>\r\n`,
    );
  }
  if (!has("Date")) {
    out.push(`${resent}Date: ${formatMailDate(ctx.arrival, ctx.utcOffsetMinutes)}\r\n`);
  }
  if (!has("From")) out.push(`${resent}From: ${fromAddress(ctx)}\r\n`);
  const visible = VISIBLE_RECIPIENT_FIELDS.some((key) => ctx.present.has(key));
  const extra = ctx.undisclosedRecipientsHeader.trim();
  if (!visible && extra !== "") out.push(`${extra}\r\n`);
  return out;
}

/** The envelope sender, or MAILER-DAEMON for <>; a bare name gets @myorigin (postconf(5) myorigin). */
function fromAddress(ctx: MissingHeaderContext): string {
  const sender = ctx.sender === "" ? MAILER_DAEMON : ctx.sender;
  return quoteAddress(sender.includes("@") ? sender : `${sender}@${ctx.myorigin}`);
}
