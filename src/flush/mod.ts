/**
 * flush(8): "deliver the mail queued for this domain now", asked by ETRN
 * (RFC 1985) or `facteur queue flush --domain`. Only postconf(5)
 * fast_flush_domains may be flushed; the queue store selects the messages.
 */
import type { Config } from "../config/mod.ts";
import { ConfigError, MailError } from "../errors.ts";
import type { QueueStore } from "../queue/types.ts";
import { DomainList } from "../rewrite/domain_match.ts";
import type { OpenTable } from "../rewrite/types.ts";

const PARAM = "fast_flush_domains";

/** MATCH_DICTIONARY(): a "type:name" entry, not "[ipv6:...]" nor a "/file". */
function tableSpec(entry: string): string | undefined {
  const plain = entry.startsWith("!") ? entry.slice(1) : entry;
  return plain.startsWith("[") || plain.startsWith("/") || !plain.includes(":") ? undefined : plain;
}

/**
 * postconf(5) fast_flush_domains checked now, as master opens the other
 * tables at start-up: a bad entry or table type is a ConfigError naming the
 * parameter. A missing table file only warns: its lookups fail until it
 * exists, and ETRN then answers 458. Tables named inside a "/file" entry
 * are opened at their first lookup.
 */
export function checkFlushDomains(
  config: Config,
  openTable: OpenTable,
  warn: (text: string) => void = () => {},
): DomainList {
  const parentStyle = new Set(config.list("parent_domain_matches_subdomains"));
  // postconf(5) fast_flush_domains: a domain list like relay_domains.
  const list = new DomainList(PARAM, config.list(PARAM), openTable, {
    hostnames: true,
    parentMatches: parentStyle.has(PARAM),
  });
  for (const spec of config.list(PARAM).map(tableSpec)) {
    if (spec === undefined) continue;
    try {
      openTable(spec);
    } catch (e) {
      const message = (e as Error).message;
      if (e instanceof ConfigError && /No such file or directory/.test(message)) {
        warn(`warning: ${PARAM}: ${message}`);
      } else {
        throw new ConfigError(`parameter "${PARAM}": ${message}`, { param: PARAM });
      }
    }
  }
  return list;
}

export interface FlushDeps {
  queue: QueueStore;
  /** Wakes the queue manager (DeliveryLoop.kick). */
  kick?: () => void;
  openTable: OpenTable;
  /** Warnings: a missing table file at start-up, a failed flush. */
  warn?: (text: string) => void;
}

export class FlushService {
  readonly #eligible: DomainList;
  readonly #deps: FlushDeps;

  /** Throws ConfigError for a bad fast_flush_domains (checkFlushDomains). */
  constructor(config: Config, deps: FlushDeps) {
    this.#deps = deps;
    this.#eligible = checkFlushDomains(config, deps.openTable, deps.warn);
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
    } catch (e) {
      return this.#unable(domain, e);
    }
    if (!eligible) return new MailError(459, "4.3.0", `<${domain}>: service unavailable`);
    try {
      const count = await this.#deps.queue.requeueDomain(domain);
      this.#deps.kick?.();
      return count;
    } catch (e) {
      return this.#unable(domain, e);
    }
  }

  /** Postfix smtpd's 458 for a flush service failure; the cause goes to the log only. */
  #unable(domain: string, e: unknown): MailError {
    this.#deps.warn?.(`warning: flush ${domain}: ${e instanceof Error ? e.message : String(e)}`);
    return new MailError(458, "4.3.0", "Unable to queue messages");
  }

  /** The SmtpdDeps.etrn shape: undefined when queuing started. */
  async etrn(domain: string): Promise<MailError | undefined> {
    const result = await this.flushDomain(domain);
    return result instanceof MailError ? result : undefined;
  }
}
