/**
 * buildDsn: a delivery status notification as bounce(8) writes it, a
 * multipart/report (RFC 6522, formerly RFC 3462) with report-type
 * delivery-status (RFC 3464): a human-readable text, the
 * message/delivery-status fields, and the returned original. Pure: the
 * caller supplies the time and every input; the result is the message
 * bytes with CRLF line endings, ready for the queue with sender "<>".
 */

import { quoteAddress } from "../cleanup/address_text.ts";
import { compactUtcStamp, formatMailDate } from "../cleanup/mail_date.ts";
import { deliveryStatusBody } from "./delivery_status.ts";
import { oneLine } from "./field_text.ts";
import { humanReadableText, subject } from "./notice_text.ts";
import { originalPart } from "./original_part.ts";
import type { DsnInput, DsnKind } from "./types.ts";

const encoder = new TextEncoder();

const DESCRIPTIONS: Readonly<Record<DsnKind, string>> = {
  failure: "Undelivered Message",
  delay: "Delayed Message",
  success: "Delivered Message",
};

/** RFC 3463 2: class.subject.detail, class 2, 4 or 5. */
const STATUS = /^[245]\.\d{1,3}\.\d{1,3}$/;

/** Throws a precise Error for input no notice can be built from. */
export function validateDsnInput(input: DsnInput): void {
  if (!/^[A-Za-z0-9.-]+$/.test(input.myhostname)) {
    throw new Error(`bounce: invalid myhostname "${input.myhostname}"`);
  }
  if (!/^[A-Za-z0-9._-]+$/.test(input.queueId)) {
    throw new Error(`bounce: invalid queue id "${input.queueId}"`);
  }
  // postconf(5) mail_name goes in a Received: comment: printable, no parentheses.
  if (input.mailName !== undefined && !/^[\x20-\x27\x2a-\x7e]+$/.test(input.mailName)) {
    throw new Error(`bounce: invalid mail_name "${input.mailName}"`);
  }
  if (input.noticeId !== undefined && !/^[A-Za-z0-9._-]+$/.test(input.noticeId)) {
    throw new Error(`bounce: invalid notice id "${input.noticeId}"`);
  }
  // Postfix never sends a notice to the null sender (RFC 3461 6.2, RFC 5321 4.5.5).
  if ((input.to ?? input.sender) === "") throw new Error("bounce: no notice to the null sender");
  if (input.recipients.length === 0) {
    throw new Error("bounce: a notice needs at least one recipient");
  }
  if (!Number.isInteger(input.bounceSizeLimit) || input.bounceSizeLimit < 0) {
    throw new Error(
      `bounce: bounce_size_limit must be an integer >= 0, got ${input.bounceSizeLimit}`,
    );
  }
  if (!Number.isFinite(input.arrivalTime) || Number.isNaN(input.now.getTime())) {
    throw new Error("bounce: arrival time and current time must be valid dates");
  }
  for (const rcpt of input.recipients) {
    if (!STATUS.test(rcpt.status)) {
      throw new Error(`bounce: invalid enhanced status "${rcpt.status}" for ${rcpt.address}`);
    }
  }
}

/** RFC 3461 4.3: RET applies to failure reports; delay and success notices return headers (as Postfix). */
export function returnsHeadersOnly(input: DsnInput): boolean {
  return input.headersOnly === true || input.kind !== "failure" || input.ret === "HDRS";
}

/**
 * The trace header of a locally made message (RFC 5321 4.4), as Postfix's
 * cleanup writes for a bounce: "Received: by MYHOSTNAME (MAIL_NAME)" and
 * "id QUEUEID; DATE" on a continuation line. No "from": nobody sent it.
 */
export function receivedHeader(input: DsnInput): string {
  const by = `Received: by ${input.myhostname} (${input.mailName ?? "facteur"})`;
  const date = formatMailDate(input.now, input.utcOffsetMinutes);
  return input.noticeId === undefined
    ? `${by};\r\n\t${date}`
    : `${by}\r\n\tid ${input.noticeId}; ${date}`;
}

/** Postfix's boundary form "queueid.time/myhostname", made unique against the content. */
export function chooseBoundary(input: DsnInput, contents: Uint8Array[]): string {
  const base = `${input.queueId}.${Math.floor(input.now.getTime() / 1000)}/${input.myhostname}`
    .replace(/[^A-Za-z0-9'()+_,./:=?-]/g, "_") // RFC 2046 5.1.1 bchars
    .slice(0, 60);
  const text = new TextDecoder("latin1").decode(concat(contents));
  let boundary = base;
  for (let n = 1; text.includes(`--${boundary}`); n++) boundary = `${base}.${n}`;
  return boundary;
}

function hasEightBit(bytes: Uint8Array): boolean {
  return bytes.some((b) => b > 0x7f);
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}

export function buildDsn(input: DsnInput): Uint8Array {
  validateDsnInput(input);
  const utf8 = input.smtputf8 === true;
  const text = encoder.encode(humanReadableText(input));
  const status = encoder.encode(deliveryStatusBody(input));
  const original = originalPart(input.original, {
    headersOnly: returnsHeadersOnly(input),
    sizeLimit: input.bounceSizeLimit,
    utf8,
    description: DESCRIPTIONS[input.kind],
  });
  const boundary = chooseBoundary(input, [text, status, original.body]);
  // RFC 6533 6.3: SMTPUTF8 reports use message/global-delivery-status.
  const statusType = utf8 ? "message/global-delivery-status" : "message/delivery-status";
  const statusEightBit = hasEightBit(status);
  const textEightBit = hasEightBit(text);
  const to = input.to ?? input.sender;
  const messageId = `${compactUtcStamp(input.now)}.${
    input.noticeId ?? `${input.queueId}.${input.kind}`
  }`;

  const header = [
    receivedHeader(input),
    `From: MAILER-DAEMON@${input.myhostname} (Mail Delivery System)`,
    `Subject: ${subject(input.kind, input.postmasterCopy === true)}`,
    `To: ${oneLine(quoteAddress(to))}`,
    "Auto-Submitted: auto-replied", // RFC 3834 5
    `Date: ${formatMailDate(input.now, input.utcOffsetMinutes)}`,
    `Message-Id: <${messageId}@${input.myhostname}>`,
    "MIME-Version: 1.0",
    // RFC 6522 3: report-type names the second part's subtype.
    `Content-Type: multipart/report; report-type=${statusType.slice("message/".length)};\r\n` +
    `\tboundary="${boundary}"`,
  ];
  // RFC 2045 6.4: a multipart containing 8-bit parts is itself 8bit.
  if (original.eightBit || statusEightBit || textEightBit) {
    header.push("Content-Transfer-Encoding: 8bit");
  }

  const chunks: Uint8Array[] = [
    encoder.encode(header.join("\r\n") + "\r\n\r\n"),
    encoder.encode("This is a MIME-encapsulated message.\r\n\r\n"),
    encoder.encode(
      `--${boundary}\r\nContent-Description: Notification\r\n` +
        `Content-Type: text/plain; charset=${utf8 || textEightBit ? "utf-8" : "us-ascii"}\r\n` +
        (textEightBit ? "Content-Transfer-Encoding: 8bit\r\n" : "") + "\r\n",
    ),
    text,
    encoder.encode(
      `\r\n--${boundary}\r\nContent-Description: Delivery report\r\n` +
        `Content-Type: ${statusType}\r\n` +
        (statusEightBit ? "Content-Transfer-Encoding: 8bit\r\n" : "") + "\r\n",
    ),
    status,
    encoder.encode(`\r\n--${boundary}\r\n${original.headers.join("\r\n")}\r\n\r\n`),
    original.body,
    encoder.encode(`\r\n--${boundary}--\r\n`),
  ];
  return concat(chunks);
}
