/**
 * cleanup(8) for a message received over SMTP: prepend Received:, apply
 * header_size_limit and hopcount_limit, add missing Message-ID/Date/From,
 * expand recipients, then ONE durable queue commit. Returns the queue id
 * only once the queue says the message is stored (RFC 5321 4.1.1.4).
 *
 * Bcc: headers are kept: Postfix removes them only for sendmail -t
 * submissions, not for mail received over SMTP.
 */
import { ConfigError, MailError } from "../errors.ts";
import { newQueueId } from "../queue/mod.ts";
import type { Envelope, EnvelopeRecipient } from "../queue/mod.ts";
import { fieldNameLength, type SplitMessage, splitMessage } from "./header_block.ts";
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

export async function cleanup(req: CleanupRequest, deps: CleanupDeps): Promise<string> {
  const settings = deps.config;
  validateCleanupSettings(settings);
  const message = splitMessage(req.content);
  checkHopCount(message, settings.hopcount_limit);

  const expanded = deps.expandRecipients
    ? await deps.expandRecipients(req.envelope.recipients)
    : req.envelope.recipients;
  const recipients = dedupeRecipients(expanded);
  if (recipients.length === 0) {
    throw new MailError(554, "5.1.0", "No recipients left after address rewriting");
  }

  const queueId = (deps.newQueueId ?? newQueueId)();
  const arrival = new Date(req.envelope.arrivalTime);
  const received = formatReceived({
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
    sender: req.envelope.sender,
    myhostname: settings.myhostname,
    myorigin: settings.myorigin,
    undisclosedRecipientsHeader: settings.undisclosed_recipients_header ?? "",
    arrival,
    now: (deps.now ?? (() => new Date()))(),
    utcOffsetMinutes: deps.utcOffsetMinutes,
  });

  const content = concat([
    encoder.encode(received),
    ...message.fields.map((f) => terminated(truncateField(f.raw, settings.header_size_limit))),
    encoder.encode(added.join("")),
    // mime_state(3): a body that began without the empty line gets one.
    message.end === "garbage" ? CRLF : message.separator,
    message.body,
  ]);
  const envelope: Envelope = {
    ...req.envelope,
    recipients,
    client: { ...req.client, protocol: req.protocol },
  };
  await deps.queue.enqueue(queueId, envelope, content);
  return queueId;
}
