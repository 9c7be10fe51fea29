/**
 * The virtual delivery agent (virtual(8)): virtual_mailbox_domains
 * recipients into $virtual_mailbox_base/<virtual_mailbox_maps result>; a
 * result ending in "/" is a Maildir, else an mbox file. Mailboxes belong to
 * the facteur process (virtual_uid_maps/virtual_gid_maps are not
 * implemented).
 */
import { isAbsolute, join, normalize } from "node:path";
import type { Config } from "../../config/mod.ts";
import { Rewriter } from "../../rewrite/mod.ts";
import type { OpenTable } from "../../rewrite/types.ts";
import {
  bounced,
  deferred,
  deliveredToAddresses,
  deliverToMailbox,
  deliveryKey,
  type Outcome,
} from "../local/mailbox.ts";
import { checkSizeLimits } from "../local/mod.ts";
import type { DeliveryRecipient, DeliveryRequest, RecipientResult, Transport } from "../types.ts";

export interface VirtualTransportDeps {
  openTable: OpenTable;
  /** Shared address rewriting (tables, canonical form); built from config and openTable if absent. */
  rewrite?: Rewriter;
  /** Clock for the mbox From_ line; default now. */
  now?: () => Date;
}

export class VirtualTransport implements Transport {
  readonly name = "virtual";
  readonly #config: Config;
  readonly #deps: VirtualTransportDeps;
  readonly #rewrite: Rewriter;
  readonly #sizeLimit: number;

  constructor(config: Config, deps: VirtualTransportDeps) {
    this.#config = config;
    this.#deps = deps;
    this.#rewrite = deps.rewrite ?? new Rewriter(config, { openTable: deps.openTable });
    this.#sizeLimit = checkSizeLimits(config, "virtual_mailbox_limit");
  }

  async deliver(req: DeliveryRequest): Promise<RecipientResult[]> {
    const loops = deliveredToAddresses(req.content);
    const date = (this.#deps.now ?? (() => new Date()))();
    const results: RecipientResult[] = [];
    for (const r of req.recipients) {
      let outcome: Outcome;
      try {
        outcome = await this.#recipient(req, r, loops, date);
      } catch (e) {
        outcome = deferred("4.3.0", `virtual delivery failed: ${(e as Error).message}`);
      }
      results.push({ index: r.index, relay: "virtual", ...outcome });
    }
    return results;
  }

  async #recipient(
    req: DeliveryRequest,
    r: DeliveryRecipient,
    loops: Set<string>,
    date: Date,
  ): Promise<Outcome> {
    // virtual(8) folds the whole address to lower case.
    const address = this.#rewrite.canonicalize(r.address).toLowerCase();
    if (loops.has(address)) return bounced("5.4.6", `mail forwarding loop for ${address}`);
    let mailbox: string | undefined;
    try {
      mailbox = await this.#rewrite.findVirtualMailbox(address);
    } catch (e) {
      return deferred("4.3.0", `virtual_mailbox_maps: lookup ${address}: ${(e as Error).message}`);
    }
    if (mailbox === undefined) return bounced("5.1.1", `unknown user: "${address}"`);
    const path = this.#mailboxPath(mailbox);
    if (typeof path !== "string") return path;
    return await deliverToMailbox(
      { path, sizeLimit: this.#sizeLimit, createParents: true },
      {
        content: req.content,
        sender: req.envelope.sender,
        originalRecipient: r.original ?? r.address,
        deliveredTo: address,
        // virtual(8) does no expansion: one delivery per envelope recipient.
        delivery: {
          queueId: req.queueId,
          key: deliveryKey(r.index),
          arrivalMs: req.envelope.arrivalTime,
          redelivery: req.redelivery,
        },
        date,
      },
      { maildir: `maildir ${path}: `, mbox: `mailbox ${path}: ` },
    );
  }

  /** $virtual_mailbox_base/result, staying inside the base; a trailing "/" is kept. */
  #mailboxPath(result: string): string | Outcome {
    const base = this.#config.path("virtual_mailbox_base");
    if (base === "" || !isAbsolute(base)) {
      return deferred("4.3.5", "mail system configuration error: virtual_mailbox_base is not set");
    }
    const relative = result.trim();
    const path = normalize(join(base, relative));
    const inside = path.startsWith(base.endsWith("/") ? base : base + "/");
    if (relative === "" || relative.split("/").includes("..") || !inside) {
      return deferred(
        "4.3.5",
        `mail system configuration error: bad virtual_mailbox_maps result "${result}"`,
      );
    }
    return relative.endsWith("/") && !path.endsWith("/") ? path + "/" : path;
  }
}
