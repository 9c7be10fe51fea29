/**
 * The local delivery agent (local(8)): mydestination recipients, through
 * alias_maps, into the user's mailbox (home_mailbox, or the mail spool).
 * Pipes to commands and deliveries to files are refused for now; alias
 * results outside the local domains are deferred until the smtp transport
 * exists.
 */
import type { Config } from "../../config/mod.ts";
import { expand } from "../../config/expand.ts";
import { ConfigError } from "../../errors.ts";
import type { Rewriter } from "../../rewrite/mod.ts";
import { TableList } from "../../rewrite/table_list.ts";
import type { OpenTable } from "../../rewrite/types.ts";
import type { DeliveryRequest, RecipientResult, Transport } from "../types.ts";
import {
  type Leaf,
  type LocalEnvironment,
  type LocalSettings,
  RequestDelivery,
} from "./delivery.ts";
import { systemAccount } from "./users.ts";

export { mailboxPath } from "./delivery.ts";
export type { Hop, Leaf, LeafTarget } from "./delivery.ts";

export interface LocalTransportDeps {
  openTable: OpenTable;
  rewrite: Rewriter;
  /** The passwd file for system accounts; default /etc/passwd. */
  passwdFile?: string;
  /** Clock for the mbox From_ line; default now. */
  now?: () => Date;
  /** Whether to chown for system accounts; default: running as root. */
  runningAsRoot?: boolean;
}

/** local(8) and virtual(8) refuse to start when a mailbox cannot hold one maximal message. */
export function checkSizeLimits(config: Config, limitParam: string): number {
  const limit = config.int(limitParam);
  const messageLimit = config.int("message_size_limit");
  if (limit > 0 && (messageLimit === 0 || limit < messageLimit)) {
    throw new ConfigError(
      `${limitParam} (${limit}) is smaller than message_size_limit (${messageLimit}); ` +
        "set it to 0 (no limit) or at least message_size_limit",
      { param: limitParam },
    );
  }
  return limit;
}

export class LocalTransport implements Transport {
  readonly name = "local";
  readonly #config: Config;
  readonly #deps: LocalTransportDeps;
  readonly #settings: LocalSettings;
  readonly #aliases: TableList;

  constructor(config: Config, deps: LocalTransportDeps) {
    this.#config = config;
    this.#deps = deps;
    this.#settings = {
      delimiters: config.get("recipient_delimiter"),
      ownerRequestSpecial: config.bool("owner_request_special"),
      homeMailbox: config.get("home_mailbox"),
      spoolDirectory: withSlashKept(
        config.get("mail_spool_directory"),
        config.path("mail_spool_directory"),
      ),
      homeBase: config.path("local_home_base"),
      sizeLimit: checkSizeLimits(config, "mailbox_size_limit"),
    };
    if (this.#settings.homeMailbox.startsWith("/")) {
      throw new ConfigError(`home_mailbox must be relative to the home directory`, {
        param: "home_mailbox",
      });
    }
    // A bad $name in luser_relay is a configuration error, found now rather than per message.
    try {
      this.#luserRelay({});
    } catch (e) {
      throw new ConfigError(`parameter "luser_relay": ${(e as Error).message}`, {
        param: "luser_relay",
      });
    }
    const aliasMaps = config.list("alias_maps");
    this.#aliases = new TableList("alias_maps", aliasMaps, deps.openTable, new Set(aliasMaps));
  }

  async deliver(req: DeliveryRequest): Promise<RecipientResult[]> {
    const delivery = new RequestDelivery(this.#environment(), req);
    const results: RecipientResult[] = [];
    for (const r of req.recipients) {
      try {
        results.push(await delivery.recipient(r));
      } catch (e) {
        // A bug or an unexpected failure: never lose the recipient, try again later.
        results.push({
          index: r.index,
          status: "deferred",
          dsn: "4.3.0",
          reason: `local delivery failed: ${(e as Error).message}`,
          relay: "local",
        });
      }
    }
    return results;
  }

  /**
   * What delivery would do with `recipient` (sent by `sender`), without
   * writing anything: the same alias_maps lookups (traced), :include: reads,
   * loop checks, owner- senders and luser_relay, ending in mailbox paths or
   * the refusals a delivery would give. For `facteur route`.
   */
  async explain(
    recipient: string,
    sender: string,
  ): Promise<{ recipient: string; leaves: Leaf[] }> {
    const req: DeliveryRequest = {
      queueId: "",
      envelope: { sender, recipients: [{ address: recipient }], arrivalTime: 0 },
      recipients: [{ index: 0, address: recipient }],
      content: new Uint8Array(),
      nexthop: "",
    };
    const delivery = new RequestDelivery(this.#environment(), req, { dryRun: true });
    const { top, leaves } = await delivery.expand(req.recipients[0]);
    return { recipient: top, leaves };
  }

  #environment(): LocalEnvironment {
    const passwd = this.#deps.passwdFile ?? "/etc/passwd";
    return {
      settings: this.#settings,
      aliases: this.#aliases,
      rewriter: this.#deps.rewrite,
      systemAccount: (name) => systemAccount(passwd, name),
      luserRelay: (vars) => this.#luserRelay(vars),
      runningAsRoot: this.#deps.runningAsRoot ?? Deno.uid() === 0,
      date: (this.#deps.now ?? (() => new Date()))(),
    };
  }

  /**
   * luser_relay with its run-time names ($user, $extension, $domain, $local,
   * $recipient, $recipient_delimiter) and any parameter (postconf(5)).
   */
  #luserRelay(vars: Record<string, string>): string {
    const known = ["user", "extension", "domain", "local", "recipient", "recipient_delimiter"];
    return expand(this.#config.raw("luser_relay"), (name) => {
      if (known.includes(name)) return vars[name] ?? "";
      try {
        return this.#config.get(name);
      } catch {
        return undefined;
      }
    }).trim();
  }
}

/** config.path() normalizes the path; a trailing "/" (Maildir) must survive it. */
function withSlashKept(raw: string, resolved: string): string {
  return raw.endsWith("/") && !resolved.endsWith("/") ? resolved + "/" : resolved;
}
