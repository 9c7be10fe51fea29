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
import { DomainList } from "./domain_match.ts";
import { interfaceAddresses, systemAddresses } from "./interfaces.ts";
import { TableList } from "./table_list.ts";
import type { AddressClass, OpenTable, Resolution } from "./types.ts";
import { AliasExpansionError, expandAddress, mapResult } from "./virtual_alias.ts";

export type { AddressClass, LookupTable, OpenTable, Resolution } from "./types.ts";
export { TableList } from "./table_list.ts";
export {
  type Found,
  mailAddrFind,
  type SearchSettings,
  virtualMailboxFind,
} from "./address_find.ts";
export { sameAddress, splitAddress } from "./address.ts";

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
    const name = normalizeDomain(domain);
    if (await this.isLocalDomain(name)) return "local";
    if (await this.#domains.virtual_alias_domains.matches(name)) return "virtual_alias";
    if (await this.#domains.virtual_mailbox_domains.matches(name)) return "virtual_mailbox";
    if (await this.#domains.relay_domains.matches(name)) return "relay";
    return "default";
  }

  /** trivial-rewrite(8) resolve: class, transport and nexthop for a recipient. */
  async resolve(address: string): Promise<Resolution> {
    const recipient = this.canonicalize(address);
    if (recipient === "") throw new MailError(550, "5.1.3", "empty recipient address");
    const domain = splitAddress(recipient).domain!;
    const cls = await this.domainClass(domain);
    if (cls === "virtual_alias") {
      // resolve.c: a virtual alias domain address that survived cleanup's
      // expansion has no entry, and bounces through the error transport.
      const nexthop = "5.1.1 User unknown in virtual alias table";
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
    return { class: cls, ...routed, recipient };
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

  async #checkRecipient(address: string): Promise<MailError | undefined> {
    const recipient = this.canonicalize(address);
    if (recipient === "") return undefined; // the syntax check is smtpd's
    const { local, domain } = splitAddress(recipient);
    const cls = await this.domainClass(domain!);
    // RFC 5321 4.5.1: postmaster at every domain we receive for must work.
    const ours = cls === "local" || cls === "virtual_alias" || cls === "virtual_mailbox";
    if (ours && local.toLowerCase() === "postmaster") return undefined;
    // Any virtual alias entry makes the address valid, whatever its class.
    if (await this.#findVirtualAlias(recipient)) return undefined;
    switch (cls) {
      case "local":
        if (await this.isKnownLocalRecipient(recipient)) return undefined;
        break;
      case "virtual_alias":
        break;
      case "virtual_mailbox":
        if (await this.findVirtualMailbox(recipient)) return undefined;
        break;
      case "relay":
        if (this.#relayRecipients.empty) return undefined;
        if (await mailAddrFind(this.#relayRecipients, recipient, this.#search)) return undefined;
        break;
      case "default":
        return undefined;
    }
    const [codeParam, table] = UNKNOWN_TABLE[cls]!;
    const code = this.#config.int(codeParam);
    // smtpd_check_reject(): the DSN class follows the reply code (450 → 4.1.1).
    return new MailError(
      code,
      `${String(code)[0]}.1.1`,
      `<${address}>: Recipient address rejected: User unknown in ${table}`,
    );
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
    const limits = {
      recursion: this.#config.int("virtual_alias_recursion_limit"),
      expansion: this.#config.int("virtual_alias_expansion_limit"),
    };
    const out: EnvelopeRecipient[] = [];
    const seen = new Set<string>();
    for (const recipient of recipients) {
      const original = recipient.original ?? recipient.address;
      let addresses: string[];
      try {
        const start = this.canonicalize(recipient.address);
        addresses = this.#virtualAliases.empty
          ? [start]
          : await expandAddress(start, (a) => this.#lookupVirtualAlias(a), limits);
        addresses = await Promise.all(addresses.map((a) => this.#postmasterFallback(a)));
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

  async #lookupVirtualAlias(address: string): Promise<string[] | undefined> {
    const found = await this.#findVirtualAlias(address);
    if (!found) return undefined;
    const results = mapResult(found.value, address, found.extension, (a) => this.canonicalize(a));
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
    return sameAddress(fallback, address) ? address : fallback;
  }
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
