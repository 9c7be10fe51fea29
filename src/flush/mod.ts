/**
 * flush(8): "deliver the mail queued for this domain now", asked by ETRN
 * (RFC 1985) or `facteur queue flush --domain`. Only postconf(5)
 * fast_flush_domains may be flushed; the queue store selects the messages.
 */
import type { Config } from "../config/mod.ts";
import { MailError } from "../errors.ts";
import type { QueueStore } from "../queue/types.ts";
import { DomainList } from "../rewrite/domain_match.ts";
import type { OpenTable } from "../rewrite/types.ts";

export interface FlushDeps {
  queue: QueueStore;
  /** Wakes the queue manager (DeliveryLoop.kick). */
  kick?: () => void;
  openTable: OpenTable;
}

export class FlushService {
  readonly #eligible: DomainList;
  readonly #deps: FlushDeps;

  constructor(config: Config, deps: FlushDeps) {
    this.#deps = deps;
    const parentStyle = new Set(config.list("parent_domain_matches_subdomains"));
    // postconf(5) fast_flush_domains: a domain list like relay_domains.
    this.#eligible = new DomainList(
      "fast_flush_domains",
      config.list("fast_flush_domains"),
      deps.openTable,
      { hostnames: true, parentMatches: parentStyle.has("fast_flush_domains") },
    );
  }

  /** Whether `domain` is in fast_flush_domains; a table failure rejects. */
  eligible(domain: string): Promise<boolean> {
    return this.#eligible.matches(domain);
  }

  /**
   * Makes the deferred mail for `domain` due now and wakes the queue manager.
   * Resolves with the number of messages, or the refusal as Postfix's smtpd
   * words it (flush_send FLUSH_STAT_DENY: 459; any other failure: 458).
   */
  async flushDomain(domain: string): Promise<number | MailError> {
    let eligible: boolean;
    try {
      eligible = await this.eligible(domain);
    } catch {
      return new MailError(458, "4.3.0", "Unable to queue messages");
    }
    if (!eligible) return new MailError(459, "4.3.0", `<${domain}>: service unavailable`);
    try {
      const count = await this.#deps.queue.requeueDomain(domain);
      this.#deps.kick?.();
      return count;
    } catch {
      return new MailError(458, "4.3.0", "Unable to queue messages");
    }
  }

  /** The SmtpdDeps.etrn shape: undefined when queuing started. */
  async etrn(domain: string): Promise<MailError | undefined> {
    const result = await this.flushDomain(domain);
    return result instanceof MailError ? result : undefined;
  }
}
