/**
 * cleanup(8) address rewriting, in Postfix's order (cleanup_addr.c,
 * cleanup_message.c; ADDRESS_REWRITING_README):
 *
 * 1. rewrite to standard form (trivial-rewrite, local context for the
 *    envelope; local or remote context for headers);
 * 2. canonical mapping: sender_canonical_maps (senders) or
 *    recipient_canonical_maps (recipients), then canonical_maps, each only
 *    for the address classes its *_canonical_classes lists;
 * 3. masquerading (masquerade_domains) for the masquerade_classes;
 * 4. automatic BCC (always_bcc, sender_bcc_maps, recipient_bcc_maps).
 *
 * Virtual alias expansion comes after all this (cleanup_out_recipient), in
 * the rewrite module.
 */
import type { Config } from "../config/mod.ts";
import { ConfigError, MailError } from "../errors.ts";
import type { Logger } from "../log.ts";
import { compileNetworks, type NetworkMatcher } from "../maps/networks.ts";
import { findBcc } from "../rewrite/bcc.ts";
import { mapCanonical } from "../rewrite/canonical.ts";
import {
  canonicalizeAddress,
  localContext,
  remoteContext,
  type RewriteContext,
  type RewriteSwitches,
  rewriteSwitches,
} from "../rewrite/canonicalize.ts";
import { DomainList } from "../rewrite/domain_match.ts";
import { interfaceAddresses, systemAddresses } from "../rewrite/interfaces.ts";
import { canonicalIp } from "../rewrite/address.ts";
import {
  masqueradeAddress,
  type MasqueradeEntry,
  parseMasqueradeDomains,
} from "../rewrite/masquerade.ts";
import type { SearchSettings } from "../rewrite/address_find.ts";
import { TableList } from "../rewrite/table_list.ts";
import { traceStep, tracing } from "../rewrite/trace.ts";
import type { LookupTable, OpenTable } from "../rewrite/types.ts";
import type { HeaderRole } from "./header_rewrite.ts";

/** postconf(5) canonical_classes / masquerade_classes values. */
export type AddressClassName =
  | "envelope_sender"
  | "envelope_recipient"
  | "header_sender"
  | "header_recipient";
const CLASS_NAMES: readonly AddressClassName[] = [
  "envelope_sender",
  "envelope_recipient",
  "header_sender",
  "header_recipient",
];

/** postconf(5) propagate_unmatched_extensions values. */
const PROPAGATE_NAMES = ["canonical", "virtual", "alias", "forward", "include", "generic"];

/** Postfix MAIL_ADDR_MAIL_DAEMON. */
const MAILER_DAEMON = "MAILER-DAEMON";

export interface AddressRewritingDeps {
  openTable: OpenTable;
  /** recipient_delimiter and the "is this domain local" test (the rewrite module's). */
  search: SearchSettings;
  log?: Logger;
  /** Interface addresses for inet_interfaces = all; default: the host's. */
  systemAddresses?: () => string[];
}

/** Who sent the message, for local_header_rewrite_clients. */
export interface RewriteClient {
  address: string;
  hostname?: string;
  /** RFC 3848 protocol: "ESMTPA"/"ESMTPSA" mean SASL-authenticated. */
  protocol: string;
}

function classList(config: Config, param: string): Set<AddressClassName> {
  const out = new Set<AddressClassName>();
  for (const value of config.list(param)) {
    const name = value.toLowerCase() as AddressClassName;
    if (!CLASS_NAMES.includes(name)) {
      throw new ConfigError(
        `${param}: unknown address class "${value}" (expected ${CLASS_NAMES.join(", ")})`,
        { param },
      );
    }
    out.add(name);
  }
  return out;
}

function propagateList(config: Config): Set<string> {
  const param = "propagate_unmatched_extensions";
  const names = new Set(config.list(param).map((v) => v.toLowerCase()));
  for (const name of names) {
    if (!PROPAGATE_NAMES.includes(name)) {
      throw new ConfigError(
        `${param}: unknown value "${name}" (expected ${PROPAGATE_NAMES.join(", ")})`,
        { param },
      );
    }
  }
  return names;
}

/** One local_header_rewrite_clients entry (smtpd_check.c smtpd_check_rewrite). */
type ClientRule =
  | { kind: "inet_interfaces" }
  | { kind: "mynetworks" }
  | { kind: "sasl" }
  | { kind: "table"; spec: string };

function parseClientRules(entries: readonly string[]): ClientRule[] {
  const param = "local_header_rewrite_clients";
  const rules: ClientRule[] = [];
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i];
    const lower = entry.toLowerCase();
    if (lower === "permit_inet_interfaces") rules.push({ kind: "inet_interfaces" });
    else if (lower === "permit_mynetworks") rules.push({ kind: "mynetworks" });
    else if (lower === "permit_sasl_authenticated") rules.push({ kind: "sasl" });
    else if (lower === "check_address_map") {
      const spec = entries[++i];
      if (spec === undefined || !spec.includes(":")) {
        throw new ConfigError(`${param}: check_address_map needs a type:table`, { param });
      }
      rules.push({ kind: "table", spec });
    } else if (entry.includes(":")) {
      // A bare type:table means check_address_map type:table (static:all: every client).
      rules.push({ kind: "table", spec: entry });
    } else {
      throw new ConfigError(
        `${param}: "${entry}" is not supported (use permit_inet_interfaces, ` +
          "permit_mynetworks, permit_sasl_authenticated, check_address_map type:table or type:table)",
        { param },
      );
    }
  }
  return rules;
}

export class AddressRewriting {
  readonly #config: Config;
  readonly #deps: AddressRewritingDeps;
  readonly #log: Logger;
  readonly #switches: RewriteSwitches;
  readonly #local: RewriteContext;
  readonly #remote: RewriteContext | undefined;
  readonly #senderCanonical: TableList;
  readonly #recipientCanonical: TableList;
  readonly #canonical: TableList;
  readonly #senderClasses: Set<AddressClassName>;
  readonly #recipientClasses: Set<AddressClassName>;
  readonly #canonicalClasses: Set<AddressClassName>;
  readonly #masqueradeClasses: Set<AddressClassName>;
  readonly #masquerade: MasqueradeEntry[];
  readonly #masqueradeExceptions: DomainList;
  readonly #propagate: boolean;
  readonly #alwaysBcc: string;
  readonly #senderBcc: TableList;
  readonly #recipientBcc: TableList;
  readonly #clientRules: ClientRule[];
  #mynetworks?: NetworkMatcher;
  #interfaces?: Set<string>;
  readonly #clientTables = new Map<string, LookupTable>();

  /** Reads and checks every parameter now: a bad value is a ConfigError here. */
  constructor(config: Config, deps: AddressRewritingDeps) {
    this.#config = config;
    this.#deps = deps;
    this.#log = deps.log ?? (() => {});
    this.#switches = rewriteSwitches(config);
    this.#local = localContext(config);
    this.#remote = remoteContext(config);
    const tables = (param: string) => new TableList(param, config.list(param), deps.openTable);
    this.#senderCanonical = tables("sender_canonical_maps");
    this.#recipientCanonical = tables("recipient_canonical_maps");
    this.#canonical = tables("canonical_maps");
    this.#senderBcc = tables("sender_bcc_maps");
    this.#recipientBcc = tables("recipient_bcc_maps");
    this.#senderClasses = classList(config, "sender_canonical_classes");
    this.#recipientClasses = classList(config, "recipient_canonical_classes");
    this.#canonicalClasses = classList(config, "canonical_classes");
    this.#masqueradeClasses = classList(config, "masquerade_classes");
    this.#masquerade = parseMasqueradeDomains(config.list("masquerade_domains"));
    // masquerade_exceptions is a string list: names, !names, type:table, /file.
    this.#masqueradeExceptions = new DomainList(
      "masquerade_exceptions",
      config.list("masquerade_exceptions"),
      deps.openTable,
    );
    this.#propagate = propagateList(config).has("canonical");
    this.#alwaysBcc = config.get("always_bcc").trim();
    this.#clientRules = parseClientRules(config.list("local_header_rewrite_clients"));
  }

  /** Where to complete an address in the envelope: always the local context. */
  get localContext(): RewriteContext {
    return this.#local;
  }

  /** trivial-rewrite's rewrite in `ctx`, as a pure step. */
  complete(address: string, ctx: RewriteContext = this.#local): string {
    return canonicalizeAddress(address, ctx, this.#switches);
  }

  /**
   * MAIL FROM: rewrite (local context), MAILER-DAEMON@$myorigin becomes the
   * null sender (cleanup_addr.c), then canonical maps and masquerading for
   * envelope_sender. The null sender is never rewritten.
   */
  async envelopeSender(address: string): Promise<string> {
    if (address === "") return "";
    const completed = this.#completeTraced("sender", address, this.#local);
    const daemon = this.complete(MAILER_DAEMON);
    if (completed.toLowerCase() === daemon.toLowerCase()) {
      traceStep(
        "rewrite",
        `sender ${completed} → <> (the mailer daemon sends with the null sender)`,
      );
      return "";
    }
    return await this.#mapAndMasquerade("sender", "envelope_sender", completed);
  }

  /** RCPT TO: rewrite (local context), canonical maps and masquerading for envelope_recipient. */
  async envelopeRecipient(address: string): Promise<string> {
    const completed = this.#completeTraced("recipient", address, this.#local);
    return await this.#mapAndMasquerade("recipient", "envelope_recipient", completed);
  }

  /** One header address: rewrite in `ctx`, then maps and masquerading for header_<role>. */
  async headerAddress(role: HeaderRole, address: string, ctx: RewriteContext): Promise<string> {
    const completed = this.#completeTraced(`header ${role}`, address, ctx);
    return await this.#mapAndMasquerade(role, `header_${role}`, completed);
  }

  /** sender_bcc_maps for a (rewritten) envelope sender: the BCC recipient, rewritten. */
  async senderBcc(sender: string): Promise<string | undefined> {
    const bcc = await this.#lookup(() => findBcc(this.#senderBcc, sender, this.#deps.search));
    return bcc === undefined ? undefined : await this.envelopeRecipient(bcc);
  }

  /** recipient_bcc_maps for a (rewritten) envelope recipient. */
  async recipientBcc(recipient: string): Promise<string | undefined> {
    const bcc = await this.#lookup(() => findBcc(this.#recipientBcc, recipient, this.#deps.search));
    return bcc === undefined ? undefined : await this.envelopeRecipient(bcc);
  }

  /** always_bcc, rewritten as a recipient; undefined when unset. */
  async alwaysBcc(): Promise<string | undefined> {
    if (this.#alwaysBcc === "") return undefined;
    traceStep("bcc", `always_bcc: blind copy to ${this.#alwaysBcc}`);
    return await this.envelopeRecipient(this.#alwaysBcc);
  }

  /**
   * The header rewrite context for a client (smtpd_check_rewrite): local
   * when it matches local_header_rewrite_clients, else remote when
   * remote_header_rewrite_domain is set, else undefined (headers untouched).
   */
  async headerContext(client: RewriteClient): Promise<RewriteContext | undefined> {
    for (const rule of this.#clientRules) {
      if (await this.#clientMatches(rule, client)) return this.#local;
    }
    return this.#remote;
  }

  async #clientMatches(rule: ClientRule, client: RewriteClient): Promise<boolean> {
    const ip = canonicalIp(client.address.replace(/^\[|\]$/g, "").replace(/^ipv6:/i, ""));
    switch (rule.kind) {
      case "inet_interfaces":
        this.#interfaces ??= interfaceAddresses(
          this.#config.list("inet_interfaces"),
          this.#deps.systemAddresses ?? systemAddresses,
        );
        return ip !== undefined && this.#interfaces.has(ip);
      case "mynetworks": {
        const parents = this.#config.list("parent_domain_matches_subdomains");
        this.#mynetworks ??= compileNetworks(this.#config.list("mynetworks"), {
          openTable: this.#deps.openTable,
          parentMatchesSubdomains: parents.includes("mynetworks"),
          param: "mynetworks",
        });
        return await this.#lookup(() => this.#mynetworks!.match(client.address, client.hostname));
      }
      case "sasl":
        // RFC 3848: the "A" protocols are the authenticated ones.
        return /A$/i.test(client.protocol);
      case "table": {
        const key = ip ?? client.address;
        return await this.#lookup(() => this.#clientTable(rule.spec).lookup(key)) !== undefined;
      }
    }
  }

  #clientTable(spec: string): LookupTable {
    let table = this.#clientTables.get(spec);
    if (!table) {
      table = this.#deps.openTable(spec);
      this.#clientTables.set(spec, table);
    }
    return table;
  }

  #completeTraced(role: string, address: string, ctx: RewriteContext): string {
    const completed = this.complete(address, ctx);
    if (completed !== address && tracing()) {
      traceStep("rewrite", `${role} ${address} → ${completed} (${ctx.name} context)`);
    }
    return completed;
  }

  async #mapAndMasquerade(
    role: HeaderRole,
    cls: AddressClassName,
    address: string,
  ): Promise<string> {
    if (address === "") return "";
    const own = role === "sender" ? this.#senderCanonical : this.#recipientCanonical;
    const ownClasses = role === "sender" ? this.#senderClasses : this.#recipientClasses;
    let current = address;
    const canonical = {
      search: this.#deps.search,
      propagateExtension: this.#propagate,
      complete: (a: string) => this.complete(a),
      warn: this.#log,
      role: cls.replace("_", " "),
    };
    if (ownClasses.has(cls) && !own.empty) {
      current = await this.#lookup(() => mapCanonical(own, current, canonical));
    }
    if (this.#canonicalClasses.has(cls) && !this.#canonical.empty) {
      current = await this.#lookup(() => mapCanonical(this.#canonical, current, canonical));
    }
    if (this.#masqueradeClasses.has(cls) && this.#masquerade.length > 0) {
      const before = current;
      current = await this.#lookup(() =>
        masqueradeAddress(before, this.#masquerade, (u) => this.#masqueradeExceptions.matches(u))
      );
      if (current !== before) {
        traceStep("masquerade", `${cls.replace("_", " ")} ${before} → ${current}`);
      }
    }
    return current;
  }

  /**
   * A table that cannot answer (unreadable, or refused when first opened)
   * defers the message (cleanup: "message not accepted, try again later");
   * the log says why.
   */
  async #lookup<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (e) {
      if (e instanceof MailError) throw e;
      this.#log(`warning: address rewriting: table lookup failed: ${(e as Error).message}`);
      throw new MailError(451, "4.3.0", "Temporary lookup failure", { cause: e });
    }
  }
}

const cache = new WeakMap<Config, AddressRewriting>();

/** One AddressRewriting per configuration generation (the tables are opened once). */
export function addressRewritingFor(config: Config, deps: AddressRewritingDeps): AddressRewriting {
  let rewriting = cache.get(config);
  if (!rewriting) {
    rewriting = new AddressRewriting(config, deps);
    cache.set(config, rewriting);
  }
  return rewriting;
}
