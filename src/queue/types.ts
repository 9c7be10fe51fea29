/**
 * The queue's vocabulary: envelopes, queue states, per-recipient outcomes, and
 * the storage interface. Callers see only these types, never SQL, so another
 * backend (PostgreSQL) can implement QueueStore without touching them.
 */

/** RFC 3461 4.1 NOTIFY values. */
export type DsnNotify = "SUCCESS" | "FAILURE" | "DELAY" | "NEVER";

export interface EnvelopeRecipient {
  address: string;
  /** RFC 3461 4.2 ORCPT, as given ("rfc822;user@example.com"). */
  orcpt?: string;
  notify?: DsnNotify[];
  /** Address before virtual alias expansion, for X-Original-To. postconf(5) enable_original_recipient */
  original?: string;
}

export interface EnvelopeClient {
  address: string;
  hostname?: string;
  helo?: string;
  protocol?: string;
}

export interface Envelope {
  /** "" is the null sender (RFC 5321 4.5.5). */
  sender: string;
  recipients: EnvelopeRecipient[];
  /** RFC 3461 4.3 RET */
  ret?: "FULL" | "HDRS";
  /** RFC 3461 4.4 ENVID */
  envid?: string;
  /** RFC 6152 / RFC 3030 BODY= */
  bodyType?: "7BIT" | "8BITMIME" | "BINARYMIME";
  /** RFC 6531 SMTPUTF8 */
  smtputf8?: boolean;
  /** ms since the epoch */
  arrivalTime: number;
  client?: EnvelopeClient;
}

/** Postfix's queue directories (QSHAPE_README); "incoming" = not yet tried. */
export type QueueName = "incoming" | "active" | "deferred" | "hold" | "corrupt";
export const QUEUE_NAMES: readonly QueueName[] = [
  "incoming",
  "active",
  "deferred",
  "hold",
  "corrupt",
];

/** "sent" and "bounced" are final; "pending" and "deferred" will be tried again. */
export type RecipientStatus = "pending" | "sent" | "deferred" | "bounced";

/** The outcome of one delivery attempt for one recipient. */
export interface RecipientResult {
  /** Position of the recipient in the envelope (QueuedRecipient.index). */
  index: number;
  status: "sent" | "deferred" | "bounced";
  /** RFC 3463 enhanced status code: "2.0.0", "4.4.1", "5.1.1", ... */
  dsn: string;
  /** Human-readable reason, e.g. the remote server's reply. */
  reason: string;
  /** Where it went or was tried: "mx.example.com[192.0.2.1]:25", "local". */
  relay?: string;
  /**
   * The destination as a whole failed, not this recipient (smtp(8)'s "site"
   * failures: no server reachable, greeting or session refused, a temporary
   * DNS failure): qmgr's dead-destination feedback counts it. Never stored.
   */
  siteFailure?: boolean;
  /**
   * smtp(8)/lmtp(8) "sent" results from a server that did not announce DSN:
   * the Action of the success notice a NOTIFY=SUCCESS recipient gets from us
   * (Postfix smtp_rcpt_done: "relayed" by SMTP, "delivered" by LMTP, RFC 3464
   * 2.3.3). Absent when the server announced DSN: NOTIFY went along and the
   * next hop reports (RFC 3461 4.1). Never stored.
   */
  successAction?: "relayed" | "delivered";
}

/** A stored recipient with its delivery history. */
export interface QueuedRecipient extends EnvelopeRecipient {
  index: number;
  status: RecipientStatus;
  attempts: number;
  dsn?: string;
  reason?: string;
  relay?: string;
  /** ms epoch of the last attempt for this recipient */
  lastAttempt?: number;
}

/** A queued message without its content (fetch that with QueueStore.content). */
export interface QueuedMessage {
  id: string;
  queue: QueueName;
  envelope: Envelope & { recipients: QueuedRecipient[] };
  /** Content size in bytes. */
  size: number;
  /** Delivery attempts made so far for the message as a whole. */
  attempts: number;
  /** ms epoch when the message is due for its next attempt. */
  nextAttempt: number;
  /** A delay warning was sent for it (postconf(5) delay_warning_time: at most once); absent = not yet. */
  delayWarned?: true;
}

/** A message to add to the queue: what enqueue takes, as one value. */
export interface NewMessage {
  id: string;
  envelope: Envelope;
  content: Uint8Array;
}

/** What an attempt changes besides its recipients, committed in the same transaction. */
export interface AttemptExtras {
  /**
   * Delivery status notifications caused by this attempt (bounce(8)), queued
   * as new messages. Together with the results in one transaction: a crash
   * can neither lose a notice for a recorded bounce nor send one twice.
   */
  notices?: NewMessage[];
  /** The message's delay warning was sent (or is in `notices`): never again. */
  delayWarned?: boolean;
}

/** What list() selects; every filter given must hold (AND). Order: oldest arrival first, then id. */
export interface ListOptions {
  queue?: QueueName;
  limit?: number;
  /** Exact envelope sender, ASCII case-insensitive; "" = the null sender (RFC 5321 4.5.5). */
  sender?: string;
  /** A recipient still to be delivered (pending or deferred) with this exact address, ASCII case-insensitive. */
  recipient?: string;
  /** A recipient still to be delivered in exactly this domain, ASCII case-insensitive. */
  domain?: string;
  /** Arrived at or before this time (ms epoch): mailq's "older than". */
  arrivedBefore?: number;
  /** Arrived at or after this time (ms epoch). */
  arrivedAfter?: number;
  /** Keyset paging: only messages after this one in (arrivalTime, id) order. */
  after?: { arrivalTime: number; id: string };
}

/**
 * qshape(1)'s age buckets, as upper bounds in minutes: a recipient whose
 * message is younger than SHAPE_BUCKET_MINUTES[i] (and not younger than the
 * bound before) counts in bucket i; the last bucket holds everything older.
 */
export const SHAPE_BUCKET_MINUTES: readonly number[] = [5, 10, 20, 40, 80, 160, 320, 640, 1280];

/** Recipients still to be delivered in one domain, per age bucket (SHAPE_BUCKET_MINUTES + 1 counts). */
export interface ShapeRow {
  domain: string;
  counts: number[];
}

export interface QueueStore {
  /**
   * Stores envelope and content. Durable when the promise resolves: both are
   * committed and synced in one transaction (RFC 5321 4.1.1.4: reply 250 only
   * after that). Rejects with MailError 452 4.3.1 when storage is full, 451
   * 4.3.0 on other storage failures; nothing of the message is stored then.
   */
  enqueue(id: string, envelope: Envelope, content: Uint8Array): Promise<void>;
  /** Messages whose next attempt time <= now, moved to "active", oldest due first, at most `limit`. */
  claimDue(now: number, limit: number): Promise<QueuedMessage[]>;
  /** The message content; rejects with QueueNotFoundError for an unknown id. */
  content(id: string): Promise<Uint8Array>;
  /**
   * Records per-recipient outcomes of one attempt. The message goes back to
   * "deferred" due at nextAttempt (or stays in "hold" if it was held meanwhile),
   * or is removed once every recipient is final (sent or bounced).
   * `extras.notices` are enqueued (due at once) in the same transaction.
   */
  recordAttempt(
    id: string,
    results: RecipientResult[],
    nextAttempt: number,
    extras?: AttemptExtras,
  ): Promise<void>;
  /** postsuper -h. Resolves false when there is no such message. */
  hold(id: string): Promise<boolean>;
  /** postsuper -H: back to "deferred", due now. False when not held. */
  release(id: string): Promise<boolean>;
  /** postsuper -d. False when there is no such message. */
  remove(id: string): Promise<boolean>;
  /** postsuper -r: make an incoming/deferred message due now. False otherwise. */
  requeue(id: string): Promise<boolean>;
  /**
   * postqueue -s / ETRN (RFC 1985): make every incoming/deferred message with
   * a recipient still to be delivered in `domain` (case-insensitive, exact
   * domain) due now. Resolves with how many messages that made due.
   */
  requeueDomain(domain: string): Promise<number>;
  /** Move a message that cannot be processed aside, like Postfix's corrupt queue. */
  markCorrupt(id: string): Promise<boolean>;
  get(id: string): Promise<QueuedMessage | undefined>;
  /** Oldest arrival first (then by id), filtered and paged by `options`. */
  list(options?: ListOptions): Promise<QueuedMessage[]>;
  /**
   * qshape(1): recipients still to be delivered (pending or deferred), per
   * lower-cased recipient domain and message age at `now` (ms epoch), in
   * `queue` or every queue. Rows in no particular order. Optional so simple
   * stand-ins need not have it; the admin API pages through list() then.
   */
  shape?(queue: QueueName | undefined, now: number): Promise<ShapeRow[]>;
  counts(): Promise<Record<QueueName, number>>;
  /** At startup: messages left "active" by a crash become due again (at-least-once). */
  recoverActive(): Promise<number>;
  /**
   * Commits the writes still waiting for their group commit, then closes;
   * resolves when closed. Calls made after close() reject. Idempotent.
   */
  close(): Promise<void>;
}

/** An operation named a message id that the queue does not hold. */
export class QueueNotFoundError extends Error {
  readonly id: string;
  constructor(id: string) {
    super(`queue: no message with id ${id}`);
    this.name = "QueueNotFoundError";
    this.id = id;
  }
}
