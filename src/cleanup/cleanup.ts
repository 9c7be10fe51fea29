/**
 * cleanup(8) for a message received over SMTP: prepend Received:, apply
 * header_size_limit and hopcount_limit, rewrite addresses (canonical,
 * masquerading, BCC, headers: address_rewriting.ts), add missing
 * Message-ID/Date/From, expand recipients, then ONE durable queue commit. Returns the queue id
 * only once the queue says the message is stored (RFC 5321 4.1.1.4).
 *
 * Bcc: headers are kept: Postfix removes them only for sendmail -t
 * submissions, not for mail received over SMTP.
 */
import { ConfigError, MailError } from "../errors.ts";
import { newQueueId } from "../queue/mod.ts";
import type { Envelope, EnvelopeRecipient } from "../queue/mod.ts";
import type { AddressRewriting } from "./address_rewriting.ts";
import {
  fieldNameLength,
  type HeaderField,
  type SplitMessage,
  splitMessage,
} from "./header_block.ts";
import { rewriteHeaderField } from "./header_rewrite.ts";
import { truncateField } from "./header_size.ts";
import { missingHeaders } from "./missing_headers.ts";
import { formatReceived } from "./received.ts";
import type { CleanupDeps, CleanupRequest, CleanupSettings } from "./types.ts";

const CRLF = new Uint8Array([0x0d, 0x0a]);
const encoder = new TextEncoder();

/** Throws ConfigError naming the parameter when a setting cannot work. */
export function validateCleanupSettings(settings: CleanupSettings): void {
  for (const param of ["hopcount_limit", "header_size_limit"] as const) {
    const value = settings[param];
    if (!Number.isInteger(value) || value < 1) {
      throw new ConfigError(`${param} must be a positive integer, got ${value}`, { param });
    }
  }
  for (const param of ["myhostname", "myorigin"] as const) {
    if (!/^[\x21-\x7e]+$/.test(settings[param] ?? "")) {
      throw new ConfigError(
        `${param} must be a non-empty name without spaces, got ${JSON.stringify(settings[param])}`,
        { param },
      );
    }
  }
  if (!/^[\x20-\x7e]+$/.test(settings.mail_name ?? "")) {
    throw new ConfigError("mail_name must be non-empty printable ASCII", { param: "mail_name" });
  }
  const extra = settings.undisclosed_recipients_header ?? "";
  if (extra.trim() !== "") {
    // postconf(5): "need headername: headervalue"; one line, so nothing can be injected.
    if (/[\r\n]/.test(extra) || fieldNameLength(encoder.encode(extra.trim())) === 0) {
      throw new ConfigError(
        `undisclosed_recipients_header must be one "name: value" header line, got ${
          JSON.stringify(extra)
        }`,
        { param: "undisclosed_recipients_header" },
      );
    }
  }
}

/**
 * hopcount_limit as Postfix counts it: the Received: headers of the message
 * including the one we add; reaching the limit is a loop. Postfix accepts and
 * then bounces; facteur refuses at end-of-data instead, so the sender's MTA
 * reports the loop and no bounce goes to a possibly forged sender
 * (backscatter).
 */
function checkHopCount(message: SplitMessage, limit: number): void {
  const received = message.fields.filter((f) => f.key === "received").length;
  if (received + 1 >= limit) throw new MailError(554, "5.4.6", "Too many hops");
}

/** Postfix's duplicate elimination keys on (ORCPT, NOTIFY, original, address). */
function dedupeRecipients(recipients: EnvelopeRecipient[]): EnvelopeRecipient[] {
  const seen = new Set<string>();
  return recipients.filter((r) => {
    const key = JSON.stringify([r.orcpt ?? "", r.notify ?? [], r.original ?? "", r.address]);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** A field without a final line ending (content ended mid-line) gets CRLF, so headers can follow. */
function terminated(raw: Uint8Array): Uint8Array {
  return raw.length > 0 && raw[raw.length - 1] === 0x0a ? raw : concat([raw, CRLF]);
}

/**
 * cleanup_addr.c order: the sender (and its sender_bcc_maps copy), each
 * recipient followed by its recipient_bcc_maps copy, then always_bcc when
 * there is at least one recipient. `original` keeps the address as received
 * (X-Original-To). BCC copies are NOTIFY=NEVER (postconf(5) always_bcc).
 */
async function rewriteEnvelope(
  envelope: Envelope,
  rewriting: AddressRewriting,
): Promise<{ sender: string; recipients: EnvelopeRecipient[] }> {
  const sender = await rewriting.envelopeSender(envelope.sender);
  const recipients: EnvelopeRecipient[] = [];
  const blindCopy = (address: string): EnvelopeRecipient => ({
    address,
    original: address,
    notify: ["NEVER"],
  });
  const senderBcc = await rewriting.senderBcc(sender);
  if (senderBcc) recipients.push(blindCopy(senderBcc));
  for (const r of envelope.recipients) {
    const address = await rewriting.envelopeRecipient(r.address);
    recipients.push({ ...r, address, original: r.original ?? r.address });
    const bcc = await rewriting.recipientBcc(address);
    if (bcc) recipients.push(blindCopy(bcc));
  }
  const always = envelope.recipients.length > 0 ? await rewriting.alwaysBcc() : undefined;
  if (always) recipients.push(blindCopy(always));
  return { sender, recipients };
}

/** Header address rewriting for the client's context (none for remote clients by default). */
async function rewriteHeaders(
  fields: HeaderField[],
  req: CleanupRequest,
  rewriting: AddressRewriting,
): Promise<HeaderField[]> {
  const ctx = req.local ? rewriting.localContext : await rewriting.headerContext({
    address: req.client.address,
    hostname: req.client.hostname,
    protocol: req.protocol,
  });
  if (!ctx) return fields;
  const out: HeaderField[] = [];
  for (const field of fields) {
    out.push(await rewriteHeaderField(field, (role, a) => rewriting.headerAddress(role, a, ctx)));
  }
  return out;
}

export async function cleanup(req: CleanupRequest, deps: CleanupDeps): Promise<string> {
  const settings = deps.config;
  validateCleanupSettings(settings);
  const message = splitMessage(req.content);
  checkHopCount(message, settings.hopcount_limit);

  // Postfix truncates an over-long header before it looks at its addresses.
  let fields = message.fields.map((f) => ({
    ...f,
    raw: terminated(truncateField(f.raw, settings.header_size_limit)),
  }));
  let sender = req.envelope.sender;
  let received = req.envelope.recipients;
  const rewriting = deps.addressRewriting;
  if (rewriting) {
    ({ sender, recipients: received } = await rewriteEnvelope(req.envelope, rewriting));
    fields = await rewriteHeaders(fields, req, rewriting);
  }
  const expanded = deps.expandRecipients ? await deps.expandRecipients(received) : received;
  const recipients = dedupeRecipients(expanded);
  if (recipients.length === 0) {
    throw new MailError(554, "5.1.0", "No recipients left after address rewriting");
  }

  const queueId = (deps.newQueueId ?? newQueueId)();
  const arrival = new Date(req.envelope.arrivalTime);
  const receivedLine = formatReceived({
    client: req.client,
    protocol: req.protocol,
    myhostname: settings.myhostname,
    mailName: settings.mail_name,
    queueId,
    recipients: req.envelope.recipients.map((r) => r.address),
    arrival,
    utcOffsetMinutes: deps.utcOffsetMinutes,
  });
  const added = missingHeaders({
    present: new Set(message.fields.map((f) => f.key)),
    queueId,
    sender,
    myhostname: settings.myhostname,
    myorigin: settings.myorigin,
    undisclosedRecipientsHeader: settings.undisclosed_recipients_header ?? "",
    arrival,
    now: (deps.now ?? (() => new Date()))(),
    utcOffsetMinutes: deps.utcOffsetMinutes,
  });

  const content = concat([
    encoder.encode(receivedLine),
    ...fields.map((f) => f.raw),
    encoder.encode(added.join("")),
    // mime_state(3): a body that began without the empty line gets one.
    message.end === "garbage" ? CRLF : message.separator,
    message.body,
  ]);
  const envelope: Envelope = {
    ...req.envelope,
    sender,
    recipients,
    client: { ...req.client, protocol: req.protocol },
  };
  await deps.queue.enqueue(queueId, envelope, content);
  return queueId;
}
