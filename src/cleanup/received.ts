/**
 * The Received: trace header (RFC 5321 4.4) in Postfix smtpd's layout:
 *
 *   Received: from HELO (HOSTNAME [ADDR])
 *           by MYHOSTNAME (MAIL_NAME) with PROTOCOL id QUEUEID
 *           for <RCPT>; DATE
 *
 * The "for" clause only when the transaction had exactly one recipient (so
 * a Bcc recipient is never revealed to the others); otherwise the date moves
 * to its own line after "id QUEUEID;".
 */
import { printable, quoteAddress } from "./address_text.ts";
import { formatMailDate } from "./mail_date.ts";

export interface ReceivedInfo {
  client: { address: string; hostname?: string; helo?: string };
  /** RFC 3848 "with" keyword: SMTP, ESMTP, ESMTPS, ESMTPA, ESMTPSA. */
  protocol: string;
  myhostname: string;
  mailName: string;
  queueId: string;
  /** Recipients as given in RCPT TO (before alias expansion). */
  recipients: string[];
  arrival: Date;
  /** Minutes east of UTC for the date; default: the local zone. */
  utcOffsetMinutes?: number;
}

/** Postfix prints "unknown" when the client has no verified name. */
const UNKNOWN = "unknown";

/** A token for the trace header: no spaces, controls or 8-bit (those become "?"). */
function token(text: string): string {
  return text.replace(/[^\x21-\x7e]/g, "?");
}

/** RFC 5321 4.1.3 address literal: IPv6 addresses carry the "IPv6:" tag. */
export function addressLiteral(address: string): string {
  return address.includes(":") ? `IPv6:${address}` : address;
}

export function formatReceived(info: ReceivedInfo): string {
  const { client } = info;
  const hostname = token(client.hostname || UNKNOWN);
  const helo = token(client.helo || hostname);
  const date = formatMailDate(info.arrival, info.utcOffsetMinutes);
  const by = `by ${token(info.myhostname)} (${printable(info.mailName)}) with ` +
    `${token(info.protocol)} id ${token(info.queueId)}`;
  const from = `Received: from ${helo} (${hostname} [${token(addressLiteral(client.address))}])`;
  if (info.recipients.length === 1) {
    return `${from}\r\n\t${by}\r\n\tfor <${quoteAddress(info.recipients[0])}>; ${date}\r\n`;
  }
  return `${from}\r\n\t${by};\r\n\t${date}\r\n`;
}
