/**
 * What an SMTP session needs from the rest of facteur: the configuration,
 * the restrictions (policy.ts), and cleanup (the durable queue commit).
 */
import type { Config } from "../config/config.ts";
import type { MailError } from "../errors.ts";
import type { CleanupRequest } from "../cleanup/mod.ts";
import type { OpenTable } from "../maps/networks.ts";
import type { Counters } from "../counters.ts";

/** What the restrictions see: the session so far and the command being checked. */
export interface SmtpdContext {
  client: { address: string; port: number; hostname?: string };
  /** HELO/EHLO argument, once given. */
  helo?: string;
  /** The client said EHLO. */
  esmtp: boolean;
  /** MAIL FROM address ("" = null sender), from MAIL on. */
  sender?: string;
  /** At RCPT: the recipient being checked. */
  recipient?: string;
  /** Recipients accepted so far in this transaction. */
  recipients: string[];
  tls: boolean;
  saslUser?: string;
}

/** Each hook resolves undefined to accept, or the MailError to reply with. */
export interface SmtpdPolicy {
  onConnect(ctx: SmtpdContext): Promise<MailError | undefined>;
  onHelo(ctx: SmtpdContext): Promise<MailError | undefined>;
  onMail(ctx: SmtpdContext): Promise<MailError | undefined>;
  /** Relay control + recipient restrictions + unknown-recipient check. */
  onRcpt(ctx: SmtpdContext): Promise<MailError | undefined>;
  onData(ctx: SmtpdContext): Promise<MailError | undefined>;
  onEndOfData(ctx: SmtpdContext): Promise<MailError | undefined>;
}

/** Received-header protocol names (RFC 3848). */
export type ReceivedProtocol = "SMTP" | "ESMTP" | "ESMTPS" | "ESMTPA" | "ESMTPSA";

export type { CleanupRequest };

export interface SmtpdDeps {
  /** The service's view (Config.forService). */
  config: Config;
  policy: SmtpdPolicy;
  /**
   * cleanup → durable queue commit; resolves with the queue id only once
   * synced; rejects with MailError (e.g. 452 4.3.1, 554 5.4.6).
   */
  submit(req: CleanupRequest): Promise<string>;
  /**
   * Postfix-style log lines without the program prefix (src/log.ts adds
   * "facteur/smtpd[pid]: "): "connect from host[addr]", "QUEUEID: client=host[addr]", ...
   */
  log?: (line: string) => void;
  /** master.cf maxproc for this service: undefined = default_process_limit, 0 = no limit. */
  processLimit?: number;
  /**
   * The client's verified host name (postconf(5) smtpd_peername_lookup), or
   * undefined for "unknown". Absent: no lookup.
   */
  clientHostname?: (address: string) => Promise<string | undefined>;
  /** Opens "type:table" entries of the client lists (default: a fresh openMap). */
  openTable?: OpenTable;
  /**
   * RFC 1985 ETRN: deliver the queued mail for `domain` now. Resolves
   * undefined when started, or the refusal (458/459, Postfix's texts).
   * Absent: ETRN is neither announced nor accepted.
   */
  etrn?: (domain: string) => Promise<MailError | undefined>;
  /** Counts connections (smtpd_connections_total) and refusals (smtpd_rejects_total). */
  counters?: Counters;
}
