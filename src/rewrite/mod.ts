/**
 * trivial-rewrite(8) and the address parts of cleanup(8) and smtpd(8):
 * address classes (ADDRESS_CLASS_README), canonical form, resolution to
 * transport:nexthop, recipient validation at RCPT time, and virtual alias
 * expansion.
 */
import type { Config } from "../config/mod.ts";
import { ConfigError, MailError } from "../errors.ts";
import type { Logger } from "../log.ts";
import type { EnvelopeRecipient } from "../queue/types.ts";
import {
  addressLiteral,
  normalizeDomain,
  sameAddress,
  splitAddress,
  stripSourceRoute,
} from "./address.ts";
import { mailAddrFind, type SearchSettings, virtualMailboxFind } from "./address_find.ts";
import { transportKeys } from "../maps/search.ts";
import { DomainList, type DomainMatch } from "./domain_match.ts";
import { interfaceAddresses, systemAddresses } from "./interfaces.ts";
import { TableList } from "./table_list.ts";
import type { AddressClass, OpenTable, Resolution } from "./types.ts";
import { traceStep, tracing } from "./trace.ts";
import { AliasExpansionError, type AliasNode, expandAddress, mapResult } from "./virtual_alias.ts";

export type { AddressClass, LookupTable, OpenTable, Resolution } from "./types.ts";
export { TableList } from "./table_list.ts";
export {
  type Found,
  mailAddrFind,
  type SearchSettings,
  virtualMailboxFind,
} from "./address_find.ts";
export { sameAddress, splitAddress } from "./address.ts";
export type { AliasNode } from "./virtual_alias.ts";
export { type RouteTrace, type TraceEvent, withTrace } from "./trace.ts";

/** Why a domain is in its class: the parameter and the list entry that matched. */
export interface ClassReason {
  class: AddressClass;
  /** mydestination, inet_interfaces, virtual_alias_domains, ...; absent for default. */
  param?: string;
  /** The list entry that matched ("$myhostname" expanded, or a type:table). */
  entry?: string;
}

export interface RewriterDeps {
  openTable: OpenTable;
  /** Warnings and lookup failures, Postfix style. Default: discard. */
  log?: Logger;
  /** The host's interface addresses, for inet_interfaces = all. Default: Deno.networkInterfaces(). */
  systemAddresses?: () => string[];
  /** Test hook for "/file/name" entries in domain lists. */
  readFile?: (path: string) => string;
}

/** Which domain lists Postfix warns about when a domain is in both (resolve.c). */
const EXCLUSIVE_PAIRS: [DomainParam, DomainParam][] = [
  ["mydestination", "virtual_alias_domains"],
  ["mydestination", "virtual_mailbox_domains"],
  ["virtual_alias_domains", "virtual_mailbox_domains"],
  ["virtual_alias_domains", "relay_domains"],
  ["virtual_mailbox_domains", "relay_domains"],
];
type DomainParam =
  | "mydestination"
  | "virtual_alias_domains"
  | "virtual_mailbox_domains"
  | "relay_domains";

/** smtpd(8) reply text per class: "User unknown in <table>". */
const UNKNOWN_TABLE: Partial<Record<AddressClass, [codeParam: string, table: string]>> = {
  local: ["unknown_local_recipient_reject_code", "local recipient table"],
  virtual_alias: ["unknown_virtual_alias_reject_code", "virtual alias table"],
  virtual_mailbox: ["unknown_virtual_mailbox_reject_code", "virtual mailbox table"],
  relay: ["unknown_relay_recipient_reject_code", "relay recipient table"],
};

export class Rewriter {
  readonly #config: Config;
  readonly #log: Logger;
  readonly #domains: Record<DomainParam, DomainList>;
  readonly #systemAddresses: () => string[];
  #interfaces?: Set<string>;
  readonly #virtualAliases: TableList;
  readonly #virtualMailboxes: TableList;
  readonly #localRecipients: TableList;
  readonly #relayRecipients: TableList;
  readonly #transportMaps: TableList;
  readonly #relocated: TableList;
  /** Tables whose entry makes a recipient valid at RCPT (smtpd_check.c check_rcpt_maps). */
  readonly #rcptCanonical: TableList[];
  readonly #transportParentMatches: boolean;
  readonly #myorigin: string;
  readonly #search: SearchSettings;

  constructor(config: Config, deps: RewriterDeps) {
    this.#config = config;
    this.#log = deps.log ?? (() => {});
    this.#systemAddresses = deps.systemAddresses ?? systemAddresses;
    const open = deps.openTable;
    const parentStyle = new Set(config.list("parent_domain_matches_subdomains"));
    const domainList = (param: DomainParam, hostnames: boolean) =>
      new DomainList(param, config.list(param), open, {
        hostnames,
        parentMatches: parentStyle.has(param),
        readFile: deps.readFile,
      });
    // resolve_local() and resolve.c: mydestination and virtual_*_domains are
    // string lists; relay_domains is a domain list (subdomain patterns).
    this.#domains = {
      mydestination: domainList("mydestination", false),
      virtual_alias_domains: domainList("virtual_alias_domains", false),
      virtual_mailbox_domains: domainList("virtual_mailbox_domains", false),
      relay_domains: domainList("relay_domains", true),
    };
    checkExclusiveDomains(this.#domains);

    const aliasSpecs = new Set(config.list("alias_maps"));
    const tables = (param: string) => new TableList(param, config.list(param), open, aliasSpecs);
    this.#virtualAliases = tables("virtual_alias_maps");
    this.#virtualMailboxes = tables("virtual_mailbox_maps");
    this.#localRecipients = tables("local_recipient_maps");
    this.#relayRecipients = tables("relay_recipient_maps");
    this.#transportMaps = tables("transport_maps");
    this.#relocated = tables("relocated_maps");
    this.#rcptCanonical = [tables("recipient_canonical_maps"), tables("canonical_maps")];
    this.#transportParentMatches = parentStyle.has("transport_maps");

    this.#myorigin = normalizeDomain(config.get("myorigin"));
    this.#search = {
      delimiters: config.get("recipient_delimiter"),
      ownerRequestSpecial: config.bool("owner_request_special"),
      myorigin: this.#myorigin,
      isLocalDomain: (domain) => this.isLocalDomain(domain),
    };
  }

  /** The search settings (recipient_delimiter, ...) for callers with their own tables. */
  get searchSettings(): SearchSettings {
    return this.#search;
  }

  /**
   * Canonical form (trivial-rewrite "local" context): an unqualified "user"
   * becomes user@$myorigin (append_at_myorigin), the domain is lower-cased
   * without a trailing dot, a source route is dropped. "" stays "".
   */
  canonicalize(address: string): string {
    const plain = stripSourceRoute(address);
    if (plain === "") return "";
    const { local, domain } = splitAddress(plain);
    if (domain === undefined || domain === "") return `${local}@${this.#myorigin}`;
    return `${local}@${normalizeDomain(domain)}`;
  }

  /** resolve_local(): in mydestination, or an address literal of one of our interfaces. */
  async isLocalDomain(domain: string): Promise<boolean> {
    const name = normalizeDomain(domain);
    if (await this.#domains.mydestination.matches(name)) return true;
    return this.#isInterfaceLiteral(name);
  }

  #isInterfaceLiteral(name: string): boolean {
    const literal = addressLiteral(name);
    if (literal === undefined) return false;
    this.#interfaces ??= interfaceAddresses(
      this.#config.list("inet_interfaces"),
      this.#systemAddresses,
    );
    return this.#interfaces.has(literal);
  }

  /** ADDRESS_CLASS_README, in resolve.c's order: local, virtual alias, virtual mailbox, relay, default. */
  async domainClass(domain: string): Promise<AddressClass> {
    return (await this.classify(domain)).class;
  }

  /** domainClass() with the parameter and entry that decided it (the route explainer's "why"). */
  async classify(domain: string): Promise<ClassReason> {
    const name = normalizeDomain(domain);
    const reason = await this.#classify(name);
    if (tracing()) {
      const why = reason.param
        ? `${reason.param} matched "${reason.entry}"`
        : "no domain list matched";
      traceStep("class", `${name}: ${reason.class} (${why})`);
    }
    return reason;
  }

  async #classify(name: string): Promise<ClassReason> {
    const found = (m: DomainMatch | undefined) => m?.matched ? m : undefined;
    const local = found(await this.#domains.mydestination.match(name));
    if (local) return { class: "local", param: "mydestination", entry: local.entry };
    if (this.#isInterfaceLiteral(name)) {
      return { class: "local", param: "inet_interfaces", entry: name };
    }
    const order: [DomainParam, AddressClass][] = [
      ["virtual_alias_domains", "virtual_alias"],
      ["virtual_mailbox_domains", "virtual_mailbox"],
      ["relay_domains", "relay"],
    ];
    for (const [param, cls] of order) {
      const m = found(await this.#domains[param].match(name));
      if (m) return { class: cls, param, entry: m.entry };
    }
    return { class: "default" };
  }

  /** trivial-rewrite(8) resolve: class, transport and nexthop for a recipient. */
  async resolve(address: string): Promise<Resolution> {
    const recipient = this.canonicalize(address);
    if (recipient === "") throw new MailError(550, "5.1.3", "empty recipient address");
    const domain = splitAddress(recipient).domain!;
    const cls = await this.domainClass(domain);
    if (cls === "virtual_alias") {
      // resolve.c: a virtual alias domain address that survived cleanup's
      // expansion has no entry, and bounces through the error transport;
      // a relocated entry wins (checked last in resolve.c).
      const moved = await this.findRelocated(recipient);
      const nexthop = moved !== undefined
        ? `5.1.6 User has moved to ${moved}`
        : "5.1.1 User unknown in virtual alias table";
      traceStep(moved !== undefined ? "relocated" : "transport", `${recipient}: error:${nexthop}`);
      return { class: cls, transport: "error", nexthop, recipient };
    }
    const param = {
      local: "local_transport",
      virtual_mailbox: "virtual_transport",
      relay: "relay_transport",
      default: "default_transport",
    }[cls];
    // resolve.c: for relay and default mail, relayhost replaces the recipient
    // domain, and a nexthop in the class's transport setting replaces both.
    const relayhost = this.#config.get("relayhost").trim();
    const base = cls === "relay" || cls === "default" ? relayhost || domain : domain;
    const route = parseTransport(this.#config.get(param), base);
    const found = await this.#findTransport(recipient);
    const routed = found === undefined ? route : overrideRoute(route, found, domain);
    if (tracing()) {
      const how = found === undefined ? `${param} = ${this.#config.get(param)}` : "transport_maps";
      traceStep("transport", `${recipient}: ${routed.transport}:${routed.nexthop} (${how})`);
    }
    // resolve.c: relocated users bounce through the error transport,
    // whatever the class and transport_maps said.
    const moved = await this.findRelocated(recipient);
    if (moved !== undefined) {
      const nexthop = `5.1.6 User has moved to ${moved}`;
      traceStep("relocated", `${recipient}: ${nexthop} (relocated_maps)`);
      return { class: cls, transport: "error", nexthop, recipient };
    }
    return { class: cls, ...routed, recipient };
  }

  /**
   * relocated(5): the new location of a recipient, or undefined. Keys:
   * user@domain, user (local domains only), @domain; an extension is
   * stripped to match but not kept (resolve.c IGNORE_ADDR_EXTENSION).
   * A lookup failure is a 451 4.3.0.
   */
  async findRelocated(address: string): Promise<string | undefined> {
    if (this.#relocated.empty) return undefined;
    try {
      return (await mailAddrFind(this.#relocated, this.canonicalize(address), this.#search))?.value;
    } catch (e) {
      this.#log(`warning: relocated_maps lookup of ${address} failed: ${(e as Error).message}`);
      throw new MailError(451, "4.3.0", "relocated_maps lookup failure", { cause: e });
    }
  }

  /** transport(5) TABLE SEARCH ORDER over transport_maps; undefined when nothing matches. */
  async #findTransport(recipient: string): Promise<string | undefined> {
    if (this.#transportMaps.empty) return undefined;
    const keys = transportKeys(recipient, {
      recipientDelimiter: this.#search.delimiters,
      ownerRequestSpecial: this.#search.ownerRequestSpecial,
      parentMatches: this.#transportParentMatches,
    });
    try {
      return (await this.#transportMaps.search(keys))?.value;
    } catch (e) {
      this.#log(`warning: transport_maps lookup of ${recipient} failed: ${(e as Error).message}`);
      throw new MailError(451, "4.3.0", "transport_maps lookup failure", { cause: e });
    }
  }

  /** local_recipient_maps is empty: smtpd accepts every local address (postconf(5)). */
  get localRecipientMapsEmpty(): boolean {
    return this.#localRecipients.empty;
  }

  /**
   * Whether local_recipient_maps knows a local address (an empty value accepts
   * everything: postconf(5) local_recipient_maps). Rejects on lookup failure.
   */
  async isKnownLocalRecipient(address: string): Promise<boolean> {
    if (this.#localRecipients.empty) return true;
    return await mailAddrFind(this.#localRecipients, this.canonicalize(address), this.#search) !==
      undefined;
  }

  /**
   * reject_unlisted_recipient (smtpd_reject_unlisted_recipient, smtpd_check.c
   * check_rcpt_maps): undefined when the address may be accepted, else the
   * reply. The caller decides whether the check applies.
   */
  async checkRecipient(address: string): Promise<MailError | undefined> {
    try {
      return await this.#checkRecipient(address);
    } catch (e) {
      this.#log(`warning: ${address}: recipient lookup failed: ${(e as Error).message}`);
      return new MailError(451, "4.3.0", `<${address}>: Temporary lookup failure`);
    }
  }

  // smtpd_check.c check_rcpt_maps(), in its order.
  async #checkRecipient(address: string): Promise<MailError | undefined> {
    const recipient = this.canonicalize(address);
    if (recipient === "") return undefined; // the syntax check is smtpd's
    const { local, domain } = splitAddress(recipient);
    const reason = await this.classify(domain!);
    const cls = reason.class;
    // facteur keeps RFC 5321 4.5.1 for every domain it receives for (Postfix
    // only exempts postmaster in local domains); #postmasterFallback delivers it.
    const ours = cls === "local" || cls === "virtual_alias" || cls === "virtual_mailbox";
    if (ours && local.toLowerCase() === "postmaster") {
      traceStep("rcpt", `${recipient}: postmaster of a domain we receive for is always valid`);
      return undefined;
    }
    // A canonical or virtual alias entry makes the address valid, whatever its class.
    const mapped = await this.#findRcptMapping(recipient);
    if (mapped) {
      traceStep("rcpt", `${recipient}: valid: ${mapped} has an entry`);
      return undefined;
    }
    // Anything that resolves to the error transport is known to be
    // undeliverable: unknown virtual alias users, relocated users,
    // transport_maps "error:" entries.
    const route = await this.resolve(recipient);
    if (route.transport === "error") {
      const code = cls === "virtual_alias"
        ? this.#config.int("unknown_virtual_alias_reject_code")
        : 550;
      const { dsn, text } = splitErrorNexthop(route.nexthop, "5.1.1");
      return this.#unknown(code, dsn, `<${address}>: Recipient address rejected: ${text}`);
    }
    let known = true;
    switch (cls) {
      case "local":
        // Mail to MAILER-DAEMON and double-bounce is absorbed by qmgr, never unknown.
        if (/^(mailer-daemon|double-bounce)$/i.test(local)) return undefined;
        known = await this.isKnownLocalRecipient(recipient);
        break;
      case "virtual_mailbox":
        known = await this.findVirtualMailbox(recipient) !== undefined;
        break;
      case "relay":
        known = this.#relayRecipients.empty ||
          await mailAddrFind(this.#relayRecipients, recipient, this.#search) !== undefined;
        break;
    }
    if (known) return undefined;
    const [codeParam, table] = UNKNOWN_TABLE[cls]!;
    const code = this.#config.int(codeParam);
    // smtpd_check_reject(): the DSN class follows the reply code (450 → 4.1.1).
    return this.#unknown(
      code,
      `${String(code)[0]}.1.1`,
      `<${address}>: Recipient address rejected: User unknown in ${table}`,
    );
  }

  #unknown(code: number, dsn: string, text: string): MailError {
    traceStep("rcpt", `${code} ${dsn} ${text}`);
    return new MailError(code, dsn, text);
  }

  /** The table (recipient_canonical_maps, canonical_maps, virtual_alias_maps) with an entry. */
  async #findRcptMapping(recipient: string): Promise<string | undefined> {
    for (const tables of [...this.#rcptCanonical, this.#virtualAliases]) {
      if (tables.empty) continue;
      if (await mailAddrFind(tables, recipient, this.#search)) return tables.param;
    }
    return undefined;
  }

  /** virtual_mailbox_maps entry for an address (virtual(8) search order), or undefined. */
  async findVirtualMailbox(address: string): Promise<string | undefined> {
    if (this.#virtualMailboxes.empty) return undefined;
    return (await virtualMailboxFind(this.#virtualMailboxes, address, this.#search))?.value;
  }

  async #findVirtualAlias(address: string) {
    if (this.#virtualAliases.empty) return undefined;
    return await mailAddrFind(this.#virtualAliases, address, this.#search);
  }

  /**
   * cleanup(8) recipient processing: canonical form, then virtual_alias_maps
   * expansion (recursive; virtual(5)). Each result keeps `original` (the
   * address as received, for X-Original-To); duplicates of the same
   * (original, address) pair are dropped, as enable_original_recipient = yes
   * does. A postmaster address in a virtual domain that nothing handles goes
   * to postmaster@$myorigin, so RFC 5321 4.5.1 mail always arrives.
   * Limits, loops and lookup failures reject with 451 4.6.0 "Alias expansion
   * error" (cleanup_map1n: the message is not accepted, try again later).
   */
  async expandVirtualAliases(recipients: EnvelopeRecipient[]): Promise<EnvelopeRecipient[]> {
    const out: EnvelopeRecipient[] = [];
    const seen = new Set<string>();
    for (const recipient of recipients) {
      const original = recipient.original ?? recipient.address;
      let addresses: string[];
      try {
        const start = this.canonicalize(recipient.address);
        addresses = await this.#expandOne({ address: start });
      } catch (e) {
        const why = e instanceof AliasExpansionError ? e.message : `lookup failed: ${e}`;
        this.#log(`warning: ${recipient.address}: virtual alias expansion: ${why}`);
        throw new MailError(451, "4.6.0", "Alias expansion error", { cause: e });
      }
      for (const address of addresses) {
        const key = `${original.toLowerCase()}\n${address.toLowerCase()}`;
        if (seen.has(key)) continue;
        seen.add(key);
        out.push({ ...recipient, address, original });
      }
    }
    return out;
  }

  /**
   * One recipient's virtual alias expansion as a tree, for the route
   * explainer; `error` says why it was given up (cleanup would refuse the
   * message with 451 4.6.0), the tree then shows how far it got.
   */
  async explainExpansion(
    address: string,
  ): Promise<{ tree: AliasNode; addresses: string[]; error?: string }> {
    const tree: AliasNode = { address: this.canonicalize(address) };
    try {
      return { tree, addresses: await this.#expandOne(tree) };
    } catch (e) {
      const error = e instanceof AliasExpansionError
        ? e.message
        : `lookup failed: ${(e as Error).message}`;
      return { tree, addresses: [], error };
    }
  }

  /** virtual_alias_maps expansion of tree.address (canonical), then the postmaster fallback. */
  async #expandOne(tree: AliasNode): Promise<string[]> {
    const limits = {
      recursion: this.#config.int("virtual_alias_recursion_limit"),
      expansion: this.#config.int("virtual_alias_expansion_limit"),
    };
    const addresses = this.#virtualAliases.empty
      ? [tree.address]
      : await expandAddress(tree.address, (a) => this.#lookupVirtualAlias(a), limits, tree);
    return await Promise.all(addresses.map((a) => this.#postmasterFallback(a)));
  }

  async #lookupVirtualAlias(address: string): Promise<string[] | undefined> {
    const found = await this.#findVirtualAlias(address);
    if (!found) return undefined;
    const results = mapResult(found.value, address, found.extension, (a) => this.canonicalize(a));
    if (tracing()) {
      traceStep("virtual_alias", `${address} → ${results.join(", ")} (key "${found.key}")`);
    }
    if (results.length === 0) {
      throw new AliasExpansionError(
        `virtual_alias_maps: lookup of ${address} returns non-address result "${found.value}"`,
      );
    }
    return results;
  }

  async #postmasterFallback(address: string): Promise<string> {
    const { local, domain } = splitAddress(address);
    if (local.toLowerCase() !== "postmaster" || domain === undefined) return address;
    const cls = await this.domainClass(domain);
    const unhandled = cls === "virtual_alias" ||
      (cls === "virtual_mailbox" && await this.findVirtualMailbox(address) === undefined);
    if (!unhandled) return address;
    const fallback = this.canonicalize("postmaster");
    if (sameAddress(fallback, address)) return address;
    traceStep(
      "virtual_alias",
      `${address} has no mailbox or alias: postmaster fallback ${fallback}`,
    );
    return fallback;
  }
}

/**
 * An error transport nexthop "5.1.6 User has moved to x" → DSN and text
 * (dsn_split(): a leading X.Y.Z status, else the default).
 */
export function splitErrorNexthop(
  nexthop: string,
  fallback: string,
): { dsn: string; text: string } {
  const m = /^([245]\.\d{1,3}\.\d{1,3})(?:\s+|$)/.exec(nexthop);
  return m ? { dsn: m[1], text: nexthop.slice(m[0].length) } : { dsn: fallback, text: nexthop };
}

/** "local:$myhostname" → transport "local", nexthop; no nexthop means the recipient domain. */
export function parseTransport(
  spec: string,
  domain: string,
): { transport: string; nexthop: string } {
  const colon = spec.indexOf(":");
  if (colon < 0) return { transport: spec.trim(), nexthop: domain };
  const nexthop = spec.slice(colon + 1).trim();
  return { transport: spec.slice(0, colon).trim(), nexthop: nexthop || domain };
}

/**
 * transport(5) RESULT FORMAT, as trivial-rewrite's update_entry() applies it:
 * ":" changes nothing; ":nexthop" keeps the transport; "transport:" resets
 * the nexthop to the recipient domain ("Address is undeliverable" for error);
 * "transport:nexthop" replaces both.
 */
export function overrideRoute(
  route: { transport: string; nexthop: string },
  value: string,
  domain: string,
): { transport: string; nexthop: string } {
  const colon = value.indexOf(":");
  const transport = (colon < 0 ? value : value.slice(0, colon)).trim();
  const nexthop = colon < 0 ? "" : value.slice(colon + 1).trim();
  if (transport === "") return { transport: route.transport, nexthop: nexthop || route.nexthop };
  if (nexthop !== "") return { transport, nexthop };
  return { transport, nexthop: transport === "error" ? "Address is undeliverable" : domain };
}

/** A domain literally listed in two classes is a configuration error (resolve.c warns). */
function checkExclusiveDomains(lists: Record<DomainParam, DomainList>): void {
  for (const [a, b] of EXCLUSIVE_PAIRS) {
    const other = new Set(lists[b].literalNames);
    const both = lists[a].literalNames.find((name) => other.has(name));
    if (both) {
      throw new ConfigError(
        `domain "${both}" is listed in both ${a} and ${b}; ` +
          "a domain belongs to one address class only (ADDRESS_CLASS_README)",
        { param: b },
      );
    }
  }
}
