/**
 * Address rewriting in message headers (cleanup_message.c
 * cleanup_rewrite_sender/recip). Which headers hold sender and which hold
 * recipient addresses is Postfix's header_opts.c table; the classes
 * header_sender and header_recipient of canonical_classes,
 * sender_canonical_classes, recipient_canonical_classes and
 * masquerade_classes refer to them (postconf(5)).
 *
 * Only the address text is replaced, and only when it changes; the display
 * name, comments, folding and 8-bit bytes stay as received. (Postfix
 * re-serialises a whole header once any address in it changed.)
 */
import { quoteAddress } from "./address_text.ts";
import type { HeaderField } from "./header_block.ts";
import { findHeaderAddresses } from "./header_addresses.ts";

export type HeaderRole = "sender" | "recipient";

/** header_opts.c: HDR_OPT_SENDER. */
const SENDER_HEADERS = new Set([
  "disposition-notification-to",
  "errors-to",
  "from",
  "mail-followup-to",
  "reply-to",
  "resent-from",
  "resent-sender",
  "return-path",
  "return-receipt-to",
  "sender",
]);

/** header_opts.c: HDR_OPT_RECIP (Resent-Reply-To is a recipient header there). */
const RECIPIENT_HEADERS = new Set([
  "apparently-to",
  "bcc",
  "cc",
  "resent-bcc",
  "resent-cc",
  "resent-reply-to",
  "resent-to",
  "to",
]);

/** Whether Postfix rewrites a header (by lower-case name), and as which role. */
export function headerRole(key: string): HeaderRole | undefined {
  if (SENDER_HEADERS.has(key)) return "sender";
  if (RECIPIENT_HEADERS.has(key)) return "recipient";
  return undefined;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });
const encoder = new TextEncoder();

/** Bytes → one char per byte, so offsets are byte offsets and nothing is lost. */
function toBinary(bytes: Uint8Array): string {
  let out = "";
  for (let i = 0; i < bytes.length; i += 8192) {
    out += String.fromCharCode(...bytes.subarray(i, i + 8192));
  }
  return out;
}

function fromBinary(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return out;
}

/** A binary string's UTF-8 text, or undefined when it is not valid UTF-8. */
function decodeUtf8(binary: string): string | undefined {
  try {
    return utf8.decode(fromBinary(binary));
  } catch {
    return undefined;
  }
}

export type RewriteOne = (role: HeaderRole, address: string) => Promise<string>;

/**
 * The field with each address passed through `rewrite`; the same object
 * when nothing changed. Addresses that are not valid UTF-8 are left alone.
 */
export async function rewriteHeaderField(
  field: HeaderField,
  rewrite: RewriteOne,
): Promise<HeaderField> {
  const role = headerRole(field.key);
  if (role === undefined) return field;
  const text = toBinary(field.raw);
  const colon = text.indexOf(":");
  const body = text.slice(colon + 1);
  let out = "";
  let last = 0;
  for (const span of findHeaderAddresses(body)) {
    const address = decodeUtf8(span.address);
    if (address === undefined || address === "") continue;
    const rewritten = await rewrite(role, address);
    if (rewritten === address) continue;
    out += body.slice(last, span.start) + toBinary(encoder.encode(quoteAddress(rewritten)));
    last = span.end;
  }
  if (last === 0) return field;
  const raw = fromBinary(text.slice(0, colon + 1) + out + body.slice(last));
  return { ...field, raw };
}
