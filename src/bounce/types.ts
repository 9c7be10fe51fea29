/**
 * What a delivery status notification (RFC 3464) is built from: the kind of
 * notice, the reporting host, the original envelope and message, and one
 * entry per recipient being reported.
 */

/** failure: "Undelivered Mail Returned to Sender"; delay: a warning; success: RFC 3461 NOTIFY=SUCCESS. */
export type DsnKind = "failure" | "delay" | "success";

/** RFC 3464 2.3.3 action-value. */
export type DsnAction = "failed" | "delayed" | "delivered" | "relayed" | "expanded";

export interface DsnRecipient {
  /** The recipient the queue tried (Final-Recipient, RFC 3464 2.3.2). */
  address: string;
  /** RFC 3461 ORCPT as stored by smtpd: "addr-type;address", xtext already decoded. */
  orcpt?: string;
  action: DsnAction;
  /** RFC 3463 enhanced status code, e.g. "5.1.1". */
  status: string;
  /** Human-readable reason, e.g. "host mx.example.net[192.0.2.7] said: 550 5.1.1 ...". */
  reason: string;
  /** The SMTP server's reply ("550 5.1.1 ..."), when it came from one: Diagnostic-Code type "smtp" (RFC 3464 2.3.6). */
  remoteReply?: string;
  /** Where delivery went or was tried: "mx.example.com[192.0.2.1]:25", "local", ... */
  relay?: string;
  /** ms epoch of the last attempt (RFC 3464 2.3.7 Last-Attempt-Date). */
  lastAttempt?: number;
  /** ms epoch until which delivery is retried (RFC 3464 2.3.9), for delays. */
  willRetryUntil?: number;
}

export interface DsnInput {
  kind: DsnKind;
  /** postconf(5) myhostname: Reporting-MTA and the From/Message-Id domain. */
  myhostname: string;
  /** postconf(5) mail_name, in the notice's Received: header; default "facteur". */
  mailName?: string;
  /** Queue id of the original message (X-Facteur-Queue-ID, like X-Postfix-Queue-ID). */
  queueId: string;
  /** Envelope sender of the original ("" = null sender). */
  sender: string;
  /** Where the notice goes; defaults to `sender` (postmaster copies and double bounces differ). */
  to?: string;
  /** RFC 3461 4.3 RET of the original. */
  ret?: "FULL" | "HDRS";
  /** RFC 3461 4.4 ENVID, decoded. */
  envid?: string;
  /** ms epoch the original arrived (Arrival-Date, RFC 3464 2.2.5). */
  arrivalTime: number;
  /** RFC 6531: the original used SMTPUTF8; the report uses RFC 6533 types. */
  smtputf8?: boolean;
  recipients: DsnRecipient[];
  /** The original message bytes as queued. */
  original: Uint8Array;
  /** postconf(5) bounce_size_limit: most bytes of the original returned; 0: no limit (as Postfix). */
  bounceSizeLimit: number;
  /** Return only the original's headers whatever RET says (notify_classes postmaster copies). */
  headersOnly?: boolean;
  /** A postmaster copy (notify_classes): Postfix's "Postmaster Copy:" subjects. */
  postmasterCopy?: boolean;
  /** Unique id of the notice itself (e.g. its own queue id), for Message-Id; default queueId.kind. */
  noticeId?: string;
  /** The notice's creation time. */
  now: Date;
  /** Minutes east of UTC for Date/Arrival-Date; defaults to the local zone. */
  utcOffsetMinutes?: number;
}
