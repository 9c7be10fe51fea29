/** What cleanup needs: the message as received, and plain settings (no config module dependency). */
import type { Envelope, EnvelopeRecipient, QueueStore } from "../queue/mod.ts";
import type { AddressRewriting } from "./address_rewriting.ts";

export interface CleanupRequest {
  envelope: Envelope;
  /** The message as received: CRLF lines, dot-unstuffing already done. */
  content: Uint8Array;
  client: { address: string; hostname?: string; helo?: string };
  /** RFC 3848: "SMTP" | "ESMTP" | "ESMTPS" | "ESMTPA" | "ESMTPSA" (also "LMTP", "UTF8SMTP", ...). */
  protocol: string;
  /**
   * Local submission (pickup, `facteur sendmail`): headers are rewritten in the
   * local context whatever local_header_rewrite_clients says, as Postfix does
   * for mail from pickup.
   */
  local?: boolean;
}

/** main.cf parameters cleanup uses, as plain values (postconf(5) names). */
export interface CleanupSettings {
  myhostname: string;
  myorigin: string;
  mail_name: string;
  /** Postfix default 50. */
  hopcount_limit: number;
  /** Postfix default 102400. */
  header_size_limit: number;
  /** Postfix default "" (nothing added since 2.8). */
  undisclosed_recipients_header?: string;
}

export interface CleanupDeps {
  config: CleanupSettings;
  queue: QueueStore;
  /**
   * Canonical mapping, masquerading, automatic BCC and header rewriting
   * (ADDRESS_REWRITING_README); without it addresses are stored as received.
   */
  addressRewriting?: AddressRewriting;
  /** Virtual alias expansion, supplied by the rewrite module; results carry `original`. */
  expandRecipients?: (recipients: EnvelopeRecipient[]) => Promise<EnvelopeRecipient[]>;
  /** Clock for the Message-ID time stamp; default: the system clock. */
  now?: () => Date;
  /** Queue id source; default newQueueId. */
  newQueueId?: () => string;
  /** Minutes east of UTC for Date:/Received: dates; default: the local zone. */
  utcOffsetMinutes?: number;
}
