/**
 * The machine-readable part of a DSN (RFC 3464 2.1): one block of
 * per-message fields, then one block per recipient, blocks separated by an
 * empty line. Values are written on one line each; control characters in
 * reasons or addresses are replaced so nothing can end a field early.
 */

import { oneLine as printable } from "./field_text.ts";
import { formatMailDate } from "../cleanup/mail_date.ts";
import type { DsnInput, DsnRecipient } from "./types.ts";

// deno-lint-ignore no-control-regex
const NON_ASCII = /[^\x00-\x7f]/;

/** RFC 3464 2.3.2 / RFC 6533 3: "rfc822" for ASCII addresses, "utf-8" for the rest. */
export function addressType(address: string): "rfc822" | "utf-8" {
  return NON_ASCII.test(address) ? "utf-8" : "rfc822";
}

/**
 * The MTA name in a relay string "host[addr]:port" (Postfix's relay= form),
 * or undefined when the relay is not a remote host ("local", "virtual", "none").
 */
export function remoteMtaName(relay: string | undefined): string | undefined {
  const match = relay?.match(/^([^[\]\s]+)\[([^\]\s]+)\](?::\d+)?$/);
  if (!match) return undefined;
  // Postfix writes the host name; an unnamed peer shows as "unknown[addr]" or "addr[addr]".
  return match[1] === "unknown" ? match[2] : match[1];
}

/** RFC 3464 2.3.1: the ORCPT value "type;address" written as "type; address". */
function originalRecipient(orcpt: string): string | undefined {
  const semi = orcpt.indexOf(";");
  if (semi <= 0) return undefined;
  return `${orcpt.slice(0, semi).trim()}; ${orcpt.slice(semi + 1).trim()}`;
}

/** RFC 3464 2.2: Reporting-MTA, the queue id, Original-Envelope-Id, Arrival-Date. */
export function perMessageFields(input: DsnInput): string[] {
  const lines = [`Reporting-MTA: dns; ${printable(input.myhostname)}`];
  // Postfix writes X-Postfix-Queue-ID; RFC 3464 2.4 allows extension fields ("X-").
  lines.push(`X-Facteur-Queue-ID: ${printable(input.queueId)}`);
  const sender = input.sender === "" ? "<>" : input.sender;
  lines.push(`X-Facteur-Sender: ${addressType(sender)}; ${printable(sender)}`);
  if (input.envid !== undefined) lines.push(`Original-Envelope-Id: ${printable(input.envid)}`);
  lines.push(
    `Arrival-Date: ${formatMailDate(new Date(input.arrivalTime), input.utcOffsetMinutes)}`,
  );
  return lines;
}

/** RFC 3464 2.3: Final-Recipient, Original-Recipient, Action, Status, Remote-MTA, Diagnostic-Code, ... */
export function perRecipientFields(
  rcpt: DsnRecipient,
  utcOffsetMinutes?: number,
): string[] {
  const lines: string[] = [];
  lines.push(`Final-Recipient: ${addressType(rcpt.address)}; ${printable(rcpt.address)}`);
  const original = rcpt.orcpt === undefined ? undefined : originalRecipient(rcpt.orcpt);
  if (original !== undefined) lines.push(`Original-Recipient: ${printable(original)}`);
  lines.push(`Action: ${rcpt.action}`);
  lines.push(`Status: ${rcpt.status}`);
  const mta = remoteMtaName(rcpt.relay);
  if (mta !== undefined) lines.push(`Remote-MTA: dns; ${printable(mta)}`);
  // Postfix: "smtp" with a server's reply, its own "X-Postfix" type otherwise (RFC 3464 2.3.6).
  if (rcpt.remoteReply !== undefined) {
    lines.push(`Diagnostic-Code: smtp; ${printable(rcpt.remoteReply)}`);
  } else if (rcpt.reason !== "") {
    lines.push(`Diagnostic-Code: X-Facteur; ${printable(rcpt.reason)}`);
  }
  if (rcpt.lastAttempt !== undefined) {
    lines.push(
      `Last-Attempt-Date: ${formatMailDate(new Date(rcpt.lastAttempt), utcOffsetMinutes)}`,
    );
  }
  if (rcpt.willRetryUntil !== undefined && rcpt.action === "delayed") {
    lines.push(
      `Will-Retry-Until: ${formatMailDate(new Date(rcpt.willRetryUntil), utcOffsetMinutes)}`,
    );
  }
  return lines;
}

/** The whole message/delivery-status body, CRLF line endings. */
export function deliveryStatusBody(input: DsnInput): string {
  const blocks = [perMessageFields(input)];
  for (const rcpt of input.recipients) {
    blocks.push(perRecipientFields(rcpt, input.utcOffsetMinutes));
  }
  return blocks.map((block) => block.join("\r\n") + "\r\n").join("\r\n");
}
