/**
 * Postfix match lists over domain names (match_list(3)): mydestination,
 * virtual_alias_domains, virtual_mailbox_domains, relay_domains.
 *
 * Each entry is a name, "!name" (a match ends the search with "no"),
 * "type:table" (any value for the key is a match), or "/file/name" (more
 * entries read from that file). Lists are "string lists" (exact names:
 * mydestination, virtual_*_domains) or "domain lists" (relay_domains: also
 * ".example.com" for subdomains, and with parent_domain_matches_subdomains
 * "example.com" matches its subdomains too).
 */
import { ConfigError } from "../errors.ts";
import { domainKeys, searchTables } from "../maps/search.ts";
import { normalizeDomain } from "./address.ts";
import type { LookupTable, OpenTable } from "./types.ts";
import { traceLookup, tracing } from "./trace.ts";

interface Pattern {
  negate: boolean;
  /** "name": a domain or ".domain"; "table": a type:name spec. */
  kind: "name" | "table";
  value: string;
}

/** The entry of a list that decided a match: "example.com", ".example.com", "!x", "hash:/etc/..." */
export interface DomainMatch {
  matched: boolean;
  entry: string;
}

export interface DomainListOptions {
  /** Domain-list semantics (match_hostname) instead of exact string matching. */
  hostnames?: boolean;
  /** parent_domain_matches_subdomains lists this parameter. */
  parentMatches?: boolean;
  /** Test hook for "/file/name" entries. */
  readFile?: (path: string) => string;
}

/** MATCH_DICTIONARY(): "type:name", but not "[ipv6:...]". */
function isTableSpec(entry: string): boolean {
  return !entry.startsWith("[") && entry.includes(":");
}

function parsePatterns(
  param: string,
  entries: readonly string[],
  readFile: (path: string) => string,
  depth = 0,
): Pattern[] {
  const out: Pattern[] = [];
  for (const raw of entries) {
    const negate = raw.startsWith("!");
    const entry = negate ? raw.slice(1) : raw;
    if (entry === "") throw new ConfigError(`parameter "${param}": "!" without a pattern`);
    if (entry.startsWith("/")) {
      if (depth > 10) throw new ConfigError(`parameter "${param}": files include each other`);
      if (negate) throw new ConfigError(`parameter "${param}": "!" before a file name`);
      out.push(
        ...parsePatterns(param, readPatternFile(param, entry, readFile), readFile, depth + 1),
      );
    } else if (isTableSpec(entry)) {
      out.push({ negate, kind: "table", value: entry });
    } else {
      out.push({ negate, kind: "name", value: normalizeDomain(entry) });
    }
  }
  return out;
}

/** A pattern file: entries separated by white space or commas, "#" starts a comment line. */
function readPatternFile(param: string, path: string, readFile: (p: string) => string): string[] {
  let text: string;
  try {
    text = readFile(path);
  } catch (e) {
    throw new ConfigError(`parameter "${param}": cannot read ${path}: ${(e as Error).message}`);
  }
  return text.split("\n")
    .filter((line) => !line.trimStart().startsWith("#"))
    .flatMap((line) => line.split(/[\s,]+/))
    .filter((word) => word !== "");
}

export class DomainList {
  readonly #patterns: Pattern[];
  readonly #tables = new Map<string, LookupTable>();
  readonly #openTable: OpenTable;
  readonly #hostnames: boolean;
  readonly #parentMatches: boolean;

  constructor(
    readonly param: string,
    entries: readonly string[],
    openTable: OpenTable,
    opts: DomainListOptions = {},
  ) {
    this.#openTable = openTable;
    this.#hostnames = opts.hostnames ?? false;
    this.#parentMatches = opts.parentMatches ?? false;
    this.#patterns = parsePatterns(param, entries, opts.readFile ?? Deno.readTextFileSync);
  }

  /** Names listed literally (not negated, not in tables): for cheap overlap checks. */
  get literalNames(): string[] {
    return this.#patterns.filter((p) => p.kind === "name" && !p.negate).map((p) => p.value);
  }

  get empty(): boolean {
    return this.#patterns.length === 0;
  }

  /** First matching pattern decides; a table lookup failure rejects. */
  async matches(domain: string): Promise<boolean> {
    return (await this.match(domain))?.matched ?? false;
  }

  /** The pattern that decided (for the route explainer), or undefined when none matched. */
  async match(domain: string): Promise<DomainMatch | undefined> {
    const name = normalizeDomain(domain);
    for (const p of this.#patterns) {
      const hit = p.kind === "name"
        ? this.#matchName(name, p.value)
        : await this.#matchTable(name, p);
      if (hit) return { matched: !p.negate, entry: (p.negate ? "!" : "") + p.value };
    }
    return undefined;
  }

  #matchName(name: string, pattern: string): boolean {
    if (name === pattern) return true;
    if (!this.#hostnames) return false;
    // match_hostname(): ".example.com" matches below example.com; with parent
    // matching, "example.com" does too.
    if (pattern.startsWith(".")) return name.endsWith(pattern);
    return this.#parentMatches && name.endsWith("." + pattern);
  }

  async #matchTable(name: string, p: Pattern): Promise<boolean> {
    // match_hostname(): a domain list also looks up the parent domains
    // ("example.com" with parent matching, else ".example.com"), not in pattern tables.
    const keys = this.#hostnames
      ? domainKeys(name, this.#parentMatches)
      : [{ key: name, partial: false }];
    // The route explainer lists domain-list table lookups too.
    const onLookup = tracing()
      ? (t: LookupTable, key: string, value?: string) => traceLookup(this.param, t.spec, key, value)
      : undefined;
    return await searchTables([this.#table(p.value)], keys, onLookup) !== undefined;
  }

  #table(spec: string): LookupTable {
    let table = this.#tables.get(spec);
    if (!table) {
      table = this.#openTable(spec);
      this.#tables.set(spec, table);
    }
    return table;
  }
}
