/**
 * Final delivery into a mailbox file or Maildir, shared by local(8) and
 * virtual(8): the headers they prepend, Delivered-To loop detection, and
 * the mapping of file-system errors to DSN status (mbox_dsn(), maildir.c).
 */
import { createHash } from "node:crypto";
import { dirname } from "node:path";
import { MailError } from "../../errors.ts";
import { deliverToStore } from "../../mailstore/delivery.ts";
import { type DeliveryId, type FileOwner, makeDirs } from "../../mailstore/maildir.ts";
import { appendToMbox } from "../../mailstore/mbox.ts";
import { splitAddress } from "../../rewrite/address.ts";

export type { FileOwner };

/** The outcome of one final delivery (one mailbox, one bounce, ...). */
export interface Outcome {
  status: "sent" | "deferred" | "bounced";
  dsn: string;
  reason: string;
}

export const sent = (reason: string): Outcome => ({ status: "sent", dsn: "2.0.0", reason });
export const deferred = (dsn: string, reason: string): Outcome => ({
  status: "deferred",
  dsn,
  reason,
});
export const bounced = (dsn: string, reason: string): Outcome => ({
  status: "bounced",
  dsn,
  reason,
});

/** RFC 5322 3.2.3 atext: a localpart made of these (and dots) needs no quotes. */
const DOT_ATOM =
  /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~\u0080-\uffff]+(\.[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~\u0080-\uffff]+)*$/;

/** quote_822_local(): quote the localpart when it is not a dot-atom. */
export function quoteLocalPart(address: string): string {
  const { local, domain } = splitAddress(address);
  if (local === "" || DOT_ATOM.test(local)) return address;
  const quoted = `"${local.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`;
  return domain === undefined ? quoted : `${quoted}@${domain}`;
}

/**
 * The header lines local(8) and virtual(8) prepend (mail_copy() order):
 * Return-Path, X-Original-To, Delivered-To. CRLF like the stored message.
 */
export function deliveryHeaders(
  sender: string,
  originalRecipient: string,
  deliveredTo: string,
): string {
  const lines = [`Return-Path: <${sender === "" ? "" : quoteLocalPart(sender)}>`];
  if (originalRecipient !== "") lines.push(`X-Original-To: ${quoteLocalPart(originalRecipient)}`);
  lines.push(`Delivered-To: ${quoteLocalPart(deliveredTo)}`);
  return lines.map((l) => l + "\r\n").join("");
}

/**
 * The addresses in the message's Delivered-To: headers (primary header
 * section only), lower-cased, for local(8)/virtual(8) loop detection
 * (delivered_hdr(3)).
 */
export function deliveredToAddresses(content: Uint8Array): Set<string> {
  const end = headerEnd(content);
  const text = new TextDecoder("latin1").decode(content.subarray(0, end));
  const unfolded = text.replace(/\r?\n[ \t]/g, " ");
  const out = new Set<string>();
  for (const line of unfolded.split(/\r?\n/)) {
    const m = /^delivered-to[ \t]*:(.*)$/i.exec(line);
    if (m) out.add(m[1].trim().toLowerCase());
  }
  return out;
}

/** Offset of the empty line ending the header section (or the end). */
function headerEnd(content: Uint8Array): number {
  for (let i = 0; i < content.length; i++) {
    const lineStart = i === 0 || content[i - 1] === 0x0a;
    if (!lineStart) continue;
    if (content[i] === 0x0a || (content[i] === 0x0d && content[i + 1] === 0x0a)) return i;
  }
  return content.length;
}

export interface MailboxTarget {
  /** Mailbox path; a trailing "/" means Maildir. */
  path: string;
  /** Largest mbox file / Maildir message in bytes (mailbox_size_limit, virtual_mailbox_limit); 0: none. */
  sizeLimit: number;
  /** chown what is created to this owner. */
  owner?: FileOwner;
  /** Create a missing parent directory of an mbox file (0700). */
  createParents: boolean;
}

export interface MailboxMessage {
  content: Uint8Array;
  sender: string;
  originalRecipient: string;
  deliveredTo: string;
  /**
   * Which delivery this is (queue id, deliveryKey()); a Maildir file is named
   * after it, so that a repeat finds the first copy. `redelivery`: an earlier
   * attempt may have delivered it (DeliveryRequest.redelivery).
   */
  delivery: DeliveryId & { redelivery?: boolean };
  date?: Date;
  hostname?: string;
}

/**
 * The key of one final delivery within a message: the envelope recipient's
 * index, plus for a mailbox reached by expansion (alias, :include:,
 * luser_relay) a tag of that member, so that two members of one recipient
 * get a file each even when they share a Maildir. The same on every attempt.
 */
export function deliveryKey(index: number, member?: string): string {
  if (member === undefined) return String(index);
  return `${index}-${createHash("sha256").update(member).digest("hex").slice(0, 12)}`;
}

const encoder = new TextEncoder();

function withHeaders(m: MailboxMessage): Uint8Array {
  const head = encoder.encode(deliveryHeaders(m.sender, m.originalRecipient, m.deliveredTo));
  const out = new Uint8Array(head.length + m.content.length);
  out.set(head);
  out.set(m.content, head.length);
  return out;
}

/**
 * Delivers into a Maildir or mbox. `describe` prefixes a failure reason the
 * way each agent does ("cannot update mailbox X for user Y. ", "mailbox X: ").
 *
 * Maildir delivery happens once per message.delivery, even across a crash
 * between the file reaching new/ and the queue recording the recipient
 * (deliverOnceToMaildir). An mbox cannot be searched for the message
 * cheaply, so mbox delivery stays at-least-once: that crash gives a second
 * copy, as with Postfix.
 */
export async function deliverToMailbox(
  target: MailboxTarget,
  message: MailboxMessage,
  describe: { maildir: string; mbox: string },
): Promise<Outcome> {
  const data = withHeaders(message);
  if (target.path.endsWith("/")) {
    try {
      // Through the store: Maildir++ quota, and sessions with the store open hear of it at once.
      const { existed } = await deliverToStore(target.path, data, message.delivery, {
        owner: target.owner,
        sizeLimit: target.sizeLimit,
        hostname: message.hostname,
        redelivery: message.delivery.redelivery,
      });
      return sent(
        existed
          ? "delivered to maildir (already delivered by an earlier attempt)"
          : "delivered to maildir",
      );
    } catch (e) {
      return failure(e, describe.maildir);
    }
  }
  try {
    if (target.createParents) await makeDirs(dirname(target.path), 0o700, target.owner);
    await appendToMbox(target.path, data, {
      sender: message.sender,
      date: message.date,
      sizeLimit: target.sizeLimit,
      owner: target.owner,
    });
    return sent("delivered to mailbox");
  } catch (e) {
    return failure(e, describe.mbox);
  }
}

/** strerror() wording for the codes that decide the outcome. */
const ERROR_TEXT: Record<string, string> = {
  EFBIG: "File too large",
  EDQUOT: "Disk quota exceeded",
  ENOSPC: "No space left on device",
};

/**
 * mbox_dsn(): a full mailbox (EFBIG, EDQUOT) is permanent 5.2.2 and a
 * destination that is not a regular file 5.2.0; everything else — no space,
 * locks, permissions, surprises — is temporary, so an administrator can fix
 * it before the mail is returned.
 */
export function failure(error: unknown, prefix: string): Outcome {
  // The store's own refusals (quota: 552 5.2.2) carry their status.
  if (error instanceof MailError) {
    const reason = `${prefix}${error.message}`;
    return error.temporary ? deferred(error.enhanced, reason) : bounced(error.enhanced, reason);
  }
  const code = (error as { code?: string }).code ?? "";
  const message = error instanceof Error ? error.message : String(error);
  const text = ERROR_TEXT[code] ?? message;
  switch (code) {
    case "EFBIG":
    case "EDQUOT":
      return bounced("5.2.2", `${prefix}error writing message: ${text}`);
    case "ENOTREG":
      return bounced("5.2.0", `${prefix}${message}`);
    case "ENOSPC":
      return deferred("4.3.0", `${prefix}error writing message: ${text}`);
    case "EAGAIN":
    case "EACCES":
    case "EPERM":
      return deferred("4.2.0", `${prefix}${message}`);
    default:
      return deferred("4.3.0", `${prefix}${message}`);
  }
}
