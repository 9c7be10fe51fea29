/**
 * local(8) for one delivery request: for each recipient, Delivered-To loop
 * check, aliases (recursive, :include:, owner- senders), then the user's
 * mailbox or luser_relay. One recipient may end in many final deliveries
 * ("leaves"); their outcomes make the recipient's result.
 */
import { join } from "node:path";
import { type AliasTarget, parseAliasTargets } from "../../maps/aliases.ts";
import { aliasKeys, splitExtension } from "../../maps/search.ts";
import { splitAddress } from "../../rewrite/address.ts";
import type { Rewriter } from "../../rewrite/mod.ts";
import type { TableList } from "../../rewrite/table_list.ts";
import type { DeliveryRecipient, DeliveryRequest, RecipientResult } from "../types.ts";
import { readIncludeFile } from "./include.ts";
import {
  bounced,
  deferred,
  deliveredToAddresses,
  deliverToMailbox,
  deliveryKey,
  type Outcome,
  sent,
} from "./mailbox.ts";
import { facteurUser, isSafeUserName, type LocalUser, ownershipProblem } from "./users.ts";

/** local(8) settings, read once from the configuration. */
export interface LocalSettings {
  delimiters: string;
  ownerRequestSpecial: boolean;
  /** home_mailbox: relative to the home; trailing "/" = Maildir; "" = the spool. */
  homeMailbox: string;
  /** mail_spool_directory; trailing "/" = one Maildir per user. */
  spoolDirectory: string;
  /** local_home_base: homes of users that are not system accounts. */
  homeBase: string;
  /** mailbox_size_limit; 0 = none. */
  sizeLimit: number;
}

export interface LocalEnvironment {
  settings: LocalSettings;
  aliases: TableList;
  rewriter: Rewriter;
  systemAccount(name: string): Promise<LocalUser | undefined>;
  /** luser_relay with $user, $domain, ... expanded; "" when not set. */
  luserRelay(vars: Record<string, string>): string;
  /** chown deliveries for system accounts (only root can). */
  runningAsRoot: boolean;
  date: Date;
}

/** local(8) gives up alias/include nesting beyond this depth (alias database loop). */
const MAX_LEVEL = 100;

/** The state of one branch of a recipient's expansion. */
interface Branch {
  /** The envelope recipient's index (QueuedRecipient.index): part of each delivery's key. */
  index: number;
  /** Envelope sender for deliveries of this branch (an owner- alias replaces it). */
  sender: string;
  /** Delivered-To: the top-level recipient (frozen_delivered_to = yes). */
  delivered: string;
  /** X-Original-To. */
  original: string;
  level: number;
  /** "alias:name" and "include:/path" being expanded above this branch: loop detection. */
  chain: readonly string[];
  /** Alias being expanded: when it lists itself ("joe: joe, ann") that means joe's mailbox. */
  selfAlias?: string;
  /** Owner of the :include: file the addresses came from. */
  includeOwner?: number;
  /** luser_relay already used: an unknown relay target bounces instead of looping. */
  luserRelayed?: boolean;
  /** How this branch was reached from the recipient, for the route explainer. */
  trail: readonly Hop[];
}

/** One step of an expansion: an address (or :include: file) and what led to it. */
export interface Hop {
  address: string;
  /** "recipient", "alias_maps NAME", ":include:PATH", "luser_relay". */
  via: string;
}

/** A final delivery of one recipient's expansion. */
export interface Leaf {
  address: string;
  outcome: Outcome;
  /** The hops from the recipient to this leaf (the leaf's own address last). */
  trail?: readonly Hop[];
  /** What local(8) does here: the user's mailbox, a command, a file, or nothing. */
  target?: LeafTarget;
}

export type LeafTarget =
  | {
    kind: "mailbox";
    user: string;
    home: string;
    path: string;
    maildir: boolean;
    spool: boolean;
    systemAccount: boolean;
    /** Return-Path: the envelope sender, or owner-ALIAS (aliases(5)). */
    sender: string;
  }
  | { kind: "command"; command: string }
  | { kind: "file"; path: string };

export interface DeliveryOptions {
  /** Expand and look up as for delivery, but write nothing: mailbox leaves say where mail would go. */
  dryRun?: boolean;
}

export class RequestDelivery {
  readonly #env: LocalEnvironment;
  readonly #req: DeliveryRequest;
  readonly #loopAddresses: Set<string>;
  /** Duplicate elimination across the whole request, like local(8)'s dup_filter. */
  readonly #seen = new Set<string>();

  readonly #dryRun: boolean;

  constructor(env: LocalEnvironment, req: DeliveryRequest, options: DeliveryOptions = {}) {
    this.#env = env;
    this.#req = req;
    this.#dryRun = options.dryRun ?? false;
    this.#loopAddresses = deliveredToAddresses(req.content);
  }

  async recipient(r: DeliveryRecipient): Promise<RecipientResult> {
    const { top, leaves } = await this.expand(r);
    return { index: r.index, relay: "local", ...combine(top, leaves) };
  }

  /** The recipient's final deliveries (made, or only planned in a dry run). */
  async expand(r: DeliveryRecipient): Promise<{ top: string; leaves: Leaf[] }> {
    const top = this.#fold(r.address);
    const leaves: Leaf[] = [];
    const branch: Branch = {
      index: r.index,
      sender: this.#req.envelope.sender,
      delivered: top,
      original: r.original ?? r.address,
      level: 0,
      chain: [],
      trail: [],
    };
    await this.#address(branch, r.address, leaves, "recipient");
    return { top, leaves };
  }

  /** local(8) folds the localpart to lower case; the domain is canonical already. */
  #fold(address: string): string {
    const { local, domain } = splitAddress(this.#env.rewriter.canonicalize(address));
    return `${local.toLowerCase()}@${domain}`;
  }

  async #address(branch: Branch, address: string, leaves: Leaf[], via: string): Promise<void> {
    const folded = this.#fold(address);
    branch = { ...branch, trail: [...branch.trail, { address: folded, via }] };
    const leaf = (outcome: Outcome) =>
      leaves.push({ address: folded, outcome, trail: branch.trail });
    // local(8) / delivered_hdr(3): this address already received the message.
    if (this.#loopAddresses.has(folded)) {
      return void leaf(bounced("5.4.6", `mail forwarding loop for ${folded}`));
    }
    if (branch.level > 0) {
      // Alias results are delivered here only when local (local/resolve.c).
      let cls;
      try {
        cls = (await this.#env.rewriter.resolve(folded)).class;
      } catch (e) {
        return void leaf(deferred("4.3.0", `address resolution failed: ${(e as Error).message}`));
      }
      if (cls !== "local") {
        return void leaf(deferred(
          "4.3.0",
          "relaying alias results needs the smtp transport (later issue)",
        ));
      }
    }
    const { local, domain } = splitAddress(folded);
    const { settings } = this.#env;
    const extensionOptions = {
      recipientDelimiter: settings.delimiters,
      ownerRequestSpecial: settings.ownerRequestSpecial,
    };
    const { user, extension } = splitExtension(local, extensionOptions);
    if (branch.selfAlias !== local) {
      let alias: { name: string; value: string } | undefined;
      try {
        const hit = await this.#env.aliases.search(aliasKeys(local, extensionOptions));
        alias = hit && { name: hit.key.key, value: hit.value };
      } catch (e) {
        return void leaf(deferred("4.3.0", `alias database unavailable: ${(e as Error).message}`));
      }
      if (alias) return await this.#expandAlias(branch, alias.name, alias.value, folded, leaves);
    }
    await this.#mailbox(branch, folded, { user, extension, local, domain: domain! }, leaves);
  }

  async #expandAlias(branch: Branch, name: string, value: string, folded: string, leaves: Leaf[]) {
    const key = `alias:${name}`;
    if (branch.chain.includes(key) || branch.level >= MAX_LEVEL) {
      leaves.push({
        address: folded,
        outcome: bounced("5.4.6", `alias database loop for ${name}`),
        trail: branch.trail,
      });
      return;
    }
    if (this.#seen.has(key)) return; // already expanded for this message
    this.#seen.add(key);
    let sender = branch.sender;
    if (this.#env.settings.ownerRequestSpecial && !name.startsWith("owner-")) {
      // aliases(5): mail for an alias with an owner-alias is sent as from that owner.
      try {
        if (await this.#env.aliases.find(`owner-${name}`) !== undefined) {
          sender = this.#env.rewriter.canonicalize(`owner-${name}`);
        }
      } catch (e) {
        leaves.push({
          address: folded,
          outcome: deferred("4.3.0", `alias database unavailable: ${(e as Error).message}`),
          trail: branch.trail,
        });
        return;
      }
    }
    const next: Branch = {
      ...branch,
      sender,
      level: branch.level + 1,
      chain: [...branch.chain, key],
      selfAlias: name,
      includeOwner: undefined,
    };
    await this.#targets(next, parseAliasTargets(value), leaves, `alias_maps ${name}`);
  }

  async #targets(branch: Branch, targets: AliasTarget[], leaves: Leaf[], via: string) {
    for (const target of targets) {
      switch (target.kind) {
        case "address":
          await this.#address(branch, target.value, leaves, via);
          break;
        case "include":
          await this.#include(branch, target.value, leaves, via);
          break;
        case "command":
          leaves.push({
            address: `|${target.value}`,
            outcome: bounced(
              "5.7.1",
              `delivery to commands is not supported yet: "|${target.value}"`,
            ),
            trail: [...branch.trail, { address: `|${target.value}`, via }],
            target: { kind: "command", command: target.value },
          });
          break;
        case "file":
          leaves.push({
            address: target.value,
            outcome: bounced("5.7.1", `delivery to files is not supported yet: "${target.value}"`),
            trail: [...branch.trail, { address: target.value, via }],
            target: { kind: "file", path: target.value },
          });
          break;
      }
    }
  }

  async #include(branch: Branch, path: string, leaves: Leaf[], via: string): Promise<void> {
    const key = `include:${path}`;
    branch = { ...branch, trail: [...branch.trail, { address: `:include:${path}`, via }] };
    const leaf = (outcome: Outcome) =>
      leaves.push({ address: `:include:${path}`, outcome, trail: branch.trail });
    if (branch.chain.includes(key) || branch.level >= MAX_LEVEL) {
      return void leaf(bounced("5.4.6", `include file loop for ${path}`));
    }
    if (this.#seen.has(key)) return;
    this.#seen.add(key);
    const file = await readIncludeFile(path, branch.includeOwner);
    if ("status" in file) return void leaf(file);
    const next: Branch = {
      ...branch,
      level: branch.level + 1,
      chain: [...branch.chain, key],
      selfAlias: undefined,
      includeOwner: file.owner,
    };
    await this.#targets(next, file.targets, leaves, `:include:${path}`);
  }

  async #mailbox(
    branch: Branch,
    folded: string,
    parts: { user: string; extension?: string; local: string; domain: string },
    leaves: Leaf[],
  ): Promise<void> {
    const { user } = parts;
    const leaf = (outcome: Outcome, target?: LeafTarget) =>
      leaves.push({ address: folded, outcome, trail: branch.trail, target });
    // local/mailbox.c: don't come here more than once, whether or not the user exists.
    const key = `mailbox:${user}`;
    if (this.#seen.has(key)) return;
    this.#seen.add(key);

    const found = await this.#user(user, folded);
    if ("status" in found) return void leaf(found);
    if (!found.user) return await this.#luserRelay(branch, folded, parts, leaves);

    const { settings, runningAsRoot } = this.#env;
    const { path, spool } = mailboxPath(settings, found.user);
    const owner = runningAsRoot ? found.user.account : undefined;
    if (owner) {
      const problem = await ownershipProblem(
        path,
        owner,
        spool ? settings.spoolDirectory : undefined,
      )
        .catch((e) => (e as Error).message);
      if (problem) {
        return void leaf(
          deferred("4.2.0", `cannot update mailbox ${path} for user ${user}. ${problem}`),
        );
      }
    }
    if (this.#dryRun) {
      const maildir = path.endsWith("/");
      return void leaf(sent(`would be delivered to ${maildir ? "maildir" : "mailbox"} ${path}`), {
        kind: "mailbox",
        user,
        home: found.user.home,
        path,
        maildir,
        spool,
        systemAccount: found.user.account !== undefined,
        sender: branch.sender,
      });
    }
    // A mailbox reached by expansion is tagged with its user: members may share a Maildir.
    const member = folded === branch.delivered ? undefined : found.user.name;
    leaf(
      await deliverToMailbox(
        { path, sizeLimit: settings.sizeLimit, owner, createParents: !spool },
        {
          content: this.#req.content,
          sender: branch.sender,
          originalRecipient: branch.original,
          deliveredTo: branch.delivered,
          delivery: {
            queueId: this.#req.queueId,
            key: deliveryKey(branch.index, member),
            arrivalMs: this.#req.envelope.arrivalTime,
            redelivery: this.#req.redelivery,
          },
          date: this.#env.date,
        },
        {
          maildir: "maildir delivery failed: ",
          mbox: `cannot update mailbox ${path} for user ${user}. `,
        },
      ),
    );
  }

  /**
   * The user behind a localpart: a system account, or a facteur user listed
   * in local_recipient_maps (postmaster always exists: RFC 5321 4.5.1).
   * `user: undefined` when unknown.
   */
  async #user(name: string, folded: string): Promise<{ user?: LocalUser } | Outcome> {
    if (!isSafeUserName(name)) return {};
    try {
      const account = await this.#env.systemAccount(name);
      if (account) return { user: account };
    } catch (e) {
      return deferred("4.0.0", `user lookup error: ${(e as Error).message}`);
    }
    const { rewriter, settings } = this.#env;
    if (name === "postmaster") return { user: facteurUser(settings.homeBase, name) };
    if (rewriter.localRecipientMapsEmpty) return {};
    try {
      if (await rewriter.isKnownLocalRecipient(folded)) {
        return { user: facteurUser(settings.homeBase, name) };
      }
    } catch (e) {
      return deferred("4.3.0", `table lookup failure: ${(e as Error).message}`);
    }
    return {};
  }

  /** postconf(5) luser_relay: unknown local users go there; else "unknown user". */
  async #luserRelay(
    branch: Branch,
    folded: string,
    parts: { user: string; extension?: string; local: string; domain: string },
    leaves: Leaf[],
  ): Promise<void> {
    const unknown = bounced("5.1.1", `unknown user: "${parts.user}"`);
    const leaf = (outcome: Outcome) =>
      leaves.push({ address: folded, outcome, trail: branch.trail });
    if (branch.luserRelayed) return void leaf(unknown);
    let target: string;
    try {
      target = this.#env.luserRelay({
        user: parts.user,
        extension: parts.extension ? parts.extension.slice(1) : "",
        domain: parts.domain,
        local: parts.local,
        recipient: folded,
        recipient_delimiter: parts.extension ? parts.extension[0] : "",
      });
    } catch (e) {
      return void leaf(deferred("4.3.5", `luser_relay: ${(e as Error).message}`));
    }
    if (target === "") return void leaf(unknown);
    const next: Branch = {
      ...branch,
      level: branch.level + 1,
      luserRelayed: true,
      selfAlias: undefined,
    };
    await this.#address(next, target, leaves, "luser_relay");
  }
}

/** Where a user's mail goes: ~/$home_mailbox, or the spool file / spool Maildir. */
export function mailboxPath(s: LocalSettings, user: LocalUser): { path: string; spool: boolean } {
  if (s.homeMailbox !== "") {
    const path = join(user.home, s.homeMailbox);
    return {
      path: s.homeMailbox.endsWith("/") && !path.endsWith("/") ? path + "/" : path,
      spool: false,
    };
  }
  const path = join(s.spoolDirectory, user.name);
  return { path: s.spoolDirectory.endsWith("/") ? path + "/" : path, spool: true };
}

/**
 * A recipient's result from its leaves: any deferral defers it (it will be
 * tried again as a whole), else any bounce bounces it, else it was sent.
 * Reasons about an expanded address name it, as Postfix's "(expanded from)".
 */
export function combine(top: string, leaves: Leaf[]): Omit<RecipientResult, "index"> {
  const describe = (l: Leaf) =>
    l.address === top
      ? l.outcome.reason
      : `<${l.address}> (expanded from <${top}>): ${l.outcome.reason}`;
  const failed = leaves.find((l) => l.outcome.status === "deferred") ??
    leaves.find((l) => l.outcome.status === "bounced");
  if (failed) {
    return { status: failed.outcome.status, dsn: failed.outcome.dsn, reason: describe(failed) };
  }
  if (leaves.length === 0) return { ...sent("delivered (duplicate destinations removed)") };
  const reasons = [...new Set(leaves.map((l) => l.outcome.reason))];
  return { status: "sent", dsn: "2.0.0", reason: reasons.join("; ") };
}
