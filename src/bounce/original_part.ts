/**
 * The third part of a DSN: the returned original (RFC 3462 / RFC 6522 3).
 * The whole message as message/rfc822 (RFC 3461 4.3 RET=FULL), or only its
 * header as text/rfc822-headers (RET=HDRS); RFC 6533 message/global and
 * message/global-headers for SMTPUTF8 originals. Like Postfix, at most
 * bounce_size_limit bytes of the original are returned, cut at a line end.
 */

import { splitMessage } from "../cleanup/header_block.ts";

export interface OriginalPart {
  /** MIME header lines of the part (no trailing empty line). */
  headers: string[];
  /** Part body, CRLF line endings, ending with CRLF (or empty). */
  body: Uint8Array;
  /** True when the body contains octets above 127 (the report must be 8bit, RFC 2045 6.2). */
  eightBit: boolean;
  /** True when less than the whole original was returned because of the size limit. */
  truncated: boolean;
}

const LF = 0x0a;
const CR = 0x0d;

/** Bare LF line endings become CRLF (RFC 5322 2.1); the body ends with a line ending. */
export function toCrlf(bytes: Uint8Array): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] === LF && (i === 0 || bytes[i - 1] !== CR)) out.push(CR);
    out.push(bytes[i]);
  }
  if (out.length > 0 && out[out.length - 1] !== LF) out.push(CR, LF);
  return Uint8Array.from(out);
}

/** The first `limit` bytes at most, cut after the last complete line. */
export function cutAtLine(bytes: Uint8Array, limit: number): Uint8Array {
  if (bytes.length <= limit) return bytes;
  const last = bytes.subarray(0, limit).lastIndexOf(LF);
  return bytes.subarray(0, last + 1);
}

function hasEightBit(bytes: Uint8Array): boolean {
  return bytes.some((b) => b > 0x7f);
}

function headerBlock(message: Uint8Array): Uint8Array {
  const fields = splitMessage(message).fields;
  const length = fields.reduce((n, f) => n + f.raw.length, 0);
  const out = new Uint8Array(length);
  let at = 0;
  for (const field of fields) {
    out.set(field.raw, at);
    at += field.raw.length;
  }
  return out;
}

export interface OriginalOptions {
  /** Return only the header block. */
  headersOnly: boolean;
  /** postconf(5) bounce_size_limit; 0: no limit */
  sizeLimit: number;
  /** RFC 6533 types for SMTPUTF8 originals. */
  utf8: boolean;
  /** "Undelivered Message", "Delayed Message", "Delivered Message" (Postfix's wording). */
  description: string;
}

export function originalPart(original: Uint8Array, options: OriginalOptions): OriginalPart {
  const message = toCrlf(original);
  const whole = options.headersOnly ? toCrlf(headerBlock(message)) : message;
  // Postfix bounce_original(): a bounce_size_limit of 0 means no limit.
  const body = options.sizeLimit === 0 ? whole : cutAtLine(whole, options.sizeLimit);
  const truncated = body.length < whole.length;
  const type = options.headersOnly
    ? (options.utf8 ? "message/global-headers" : "text/rfc822-headers")
    : (options.utf8 ? "message/global" : "message/rfc822");
  const eightBit = hasEightBit(body);
  const description = options.headersOnly ? `${options.description} Headers` : options.description;
  const headers = [`Content-Description: ${description}`, `Content-Type: ${type}`];
  // RFC 2046 5.2.1: message/rfc822 may only be 7bit, 8bit or binary; never base64.
  if (eightBit) headers.push("Content-Transfer-Encoding: 8bit");
  return { headers, body, eightBit, truncated };
}
