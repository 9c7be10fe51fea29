/**
 * Client network lists in mynetworks syntax (postconf(5) mynetworks; Postfix
 * namadr_list + match_ops): IPv4/IPv6 addresses and CIDR blocks, "[v6]" and
 * "[v6]/len" forms, host and ".domain" names, "!pattern" exclusions,
 * "/file/name" pattern files and "type:table" lookups. Lists are compiled
 * once (addresses parsed to bytes) and matched left to right: the first
 * matching pattern decides, a "!" pattern deciding "no".
 *
 * Postfix's namadr_list is shared by many daemons, and by the dependency
 * rule any module may need one (smtpd's mynetworks and per-connection
 * exceptions today); it only needs lookup tables, so it lives with them.
 */
import { ConfigError } from "../errors.ts";
import {
  formatIp,
  type IpAddress,
  mapToIPv6,
  maskAddress,
  parseClientAddress,
  parseIPv4,
  parseIPv6,
  samePrefix,
} from "./ip.ts";
import type { LookupTable } from "./types.ts";

export type OpenTable = (spec: string) => LookupTable;

export interface NetworkOptions {
  /** Opens "type:table" patterns; without it such a pattern is a ConfigError. */
  openTable?: OpenTable;
  /** postconf(5) parent_domain_matches_subdomains lists this list's parameter. */
  parentMatchesSubdomains?: boolean;
  /** Reads "/file/name" patterns (default: Deno.readTextFileSync). */
  readFile?: (path: string) => string;
  /** The parameter being compiled, for error messages (default "mynetworks"). */
  param?: string;
  /** Config file, for error messages. */
  file?: string;
}

export interface NetworkMatcher {
  /**
   * Whether a client matches. `hostname` is the verified client name; Postfix
   * matches name patterns against "unknown" when there is none. Rejects when a
   * "type:table" lookup fails.
   */
  match(address: string, hostname?: string): Promise<boolean>;
}

/** A network block: the address with its host bits zero, and the prefix length. */
type Cidr = { kind: "cidr"; net: IpAddress; prefix: number };
type Pattern =
  & { negate: boolean }
  & (
    | Cidr
    | { kind: "name"; name: string; subdomainsOnly: boolean }
    | { kind: "table"; table: LookupTable }
  );

/** Compiles a mynetworks-style list; throws ConfigError naming the bad pattern. */
export function compileNetworks(patterns: string[], opts: NetworkOptions = {}): NetworkMatcher {
  const compiled: Pattern[] = [];
  for (const p of patterns) compilePattern(p, opts, compiled, 0);
  const parent = opts.parentMatchesSubdomains ?? false;
  return {
    async match(address: string, hostname?: string): Promise<boolean> {
      const ip = parseClientAddress(address);
      const key = ip ? formatIp(ip) : address;
      const name = (hostname || "unknown").toLowerCase();
      for (const p of compiled) {
        if (await matchOne(p, ip, key, name, parent)) return !p.negate;
      }
      return false;
    },
  };
}

/** One-shot convenience; hot paths should keep a compileNetworks() matcher. */
export function matchNetworks(
  ip: string,
  patterns: string[],
  openTable?: OpenTable,
  hostname?: string,
): Promise<boolean> {
  return compileNetworks(patterns, { openTable }).match(ip, hostname);
}

async function matchOne(
  p: Pattern,
  ip: IpAddress | undefined,
  key: string,
  name: string,
  parent: boolean,
): Promise<boolean> {
  switch (p.kind) {
    case "cidr": {
      if (!ip) return false;
      // An IPv4 client also matches IPv4-mapped IPv6 blocks ([::ffff:127.0.0.0]/104).
      const client = p.net.family === 6 ? mapToIPv6(ip) : ip;
      return samePrefix(client.bytes, p.net.bytes, p.prefix);
    }
    case "name":
      return matchName(name, p.name, p.subdomainsOnly, parent);
    case "table":
      return await matchTable(p.table, name, ip ? key : undefined, parent);
  }
}

// match_ops.c match_hostname: exact name, ".domain" for subdomains, and
// "domain" for subdomains too when the feature is in parent_domain_matches_subdomains.
function matchName(name: string, pattern: string, subdomainsOnly: boolean, parent: boolean) {
  if (subdomainsOnly) return name.length > pattern.length && name.endsWith(pattern);
  return name === pattern || (parent && name.endsWith("." + pattern));
}

// match_hostname/match_hostaddr with a table: the name and (for fixed-key
// tables) its parent domains, then the address; any value is a match.
async function matchTable(
  table: LookupTable,
  name: string,
  address: string | undefined,
  parent: boolean,
): Promise<boolean> {
  for (const key of table.pattern ? [name] : nameAndParents(name, parent)) {
    if ((await table.lookup(key)) !== undefined) return true;
  }
  return address !== undefined && (await table.lookup(address)) !== undefined;
}

function nameAndParents(name: string, parent: boolean): string[] {
  const keys = [name];
  for (let dot = name.indexOf(".", 1); dot > 0; dot = name.indexOf(".", dot + 1)) {
    keys.push(parent ? name.slice(dot + 1) : name.slice(dot));
  }
  return keys.filter((k) => k !== "" && k !== ".");
}

const MAX_FILE_NESTING = 10;

function compilePattern(raw: string, opts: NetworkOptions, out: Pattern[], depth: number) {
  let negate = false;
  let text = raw.trim();
  // match_list: each leading "!" flips the sense.
  while (text.startsWith("!")) {
    negate = !negate;
    text = text.slice(1);
  }
  const bad = (why: string) =>
    new ConfigError(`parameter "${opts.param ?? "mynetworks"}": ${why}`, {
      file: opts.file,
      param: opts.param ?? "mynetworks",
    });
  if (text === "") throw bad(`empty pattern in "${raw}"`);

  // postconf(5) mynetworks: "/file/name" is replaced by its contents.
  if (text.startsWith("/")) {
    if (depth >= MAX_FILE_NESTING) throw bad(`pattern files nest too deeply at "${text}"`);
    let content: string;
    try {
      content = (opts.readFile ?? Deno.readTextFileSync)(text);
    } catch (e) {
      throw bad(`cannot read pattern file "${text}": ${(e as Error).message}`);
    }
    for (const p of filePatterns(content)) {
      compilePattern(negate ? "!" + p : p, opts, out, depth + 1);
    }
    return;
  }

  const cidr = parseCidrPattern(text, bad);
  if (cidr) {
    out.push({ negate, ...cidr });
    return;
  }
  // Postfix: a ":" outside [] means "type:table".
  if (text.includes(":")) {
    if (!opts.openTable) throw bad(`"${text}": no lookup table support here`);
    let table: LookupTable;
    try {
      table = opts.openTable(text);
    } catch (e) {
      throw bad((e as Error).message); // the table's own error, now naming the parameter too
    }
    out.push({ negate, kind: "table", table });
    return;
  }
  if (/^[\d.]+$/.test(text)) throw bad(`"${text}" is not a valid IPv4 address`);
  const name = text.toLowerCase();
  if (!/^\.?[a-z0-9_-]+(\.[a-z0-9_-]+)*\.?$/.test(name) && !/[^\x00-\x7f]/.test(name)) {
    throw bad(`"${text}" is neither an address, a network/prefix, a host name nor a type:table`);
  }
  const subdomainsOnly = name.startsWith(".");
  out.push({ negate, kind: "name", name: name.replace(/\.$/, ""), subdomainsOnly });
}

/** Patterns in a "/file/name": separated by whitespace or commas; "#" starts a comment. */
function filePatterns(content: string): string[] {
  return content.split("\n")
    .map((line) => line.replace(/#.*/, ""))
    .flatMap((line) => line.split(/[\s,]+/))
    .filter((p) => p !== "");
}

/**
 * "1.2.3.4", "1.2.3.0/24", "[::1]", "[2001:db8::]/32" (and, leniently, the
 * same IPv6 forms without brackets). Undefined when `text` is not an address
 * form at all; a ConfigError for a malformed one.
 */
function parseCidrPattern(
  text: string,
  bad: (why: string) => ConfigError,
): Cidr | undefined {
  const m = /^\[([^\]]*)\](?:\/(.*))?$/.exec(text) ?? /^([^/]*)(?:\/(.*))?$/.exec(text)!;
  const [addrText, lenText] = [m[1], m[2]];
  const bracketed = text.startsWith("[");
  const v4 = parseIPv4(addrText);
  const v6 = v4 === undefined ? parseIPv6(addrText) : undefined;
  if (v4 === undefined && v6 === undefined) {
    if (bracketed) throw bad(`"${text}": "${addrText}" is not a valid IPv6 address`);
    // "1.2.3.4/33", "10.0.0/8": address-shaped but wrong.
    if (/^[\d.]+$/.test(addrText) && lenText !== undefined) {
      throw bad(`"${text}": "${addrText}" is not a valid IPv4 address`);
    }
    return undefined;
  }
  if (bracketed && v4 !== undefined) throw bad(`"${text}": IPv4 addresses take no []`);
  const net: IpAddress = v4 !== undefined ? { family: 4, bytes: v4 } : { family: 6, bytes: v6! };
  const bits = net.bytes.length * 8;
  let prefix = bits;
  if (lenText !== undefined) {
    if (!/^\d{1,3}$/.test(lenText) || Number(lenText) > bits) {
      throw bad(`"${text}": bad network prefix length "/${lenText}" (0..${bits})`);
    }
    prefix = Number(lenText);
  }
  const masked = maskAddress(net.bytes, prefix);
  if (masked.some((byte, i) => byte !== net.bytes[i])) {
    const shown = formatIp({ family: net.family, bytes: masked });
    throw hostBits(text, net.family === 4 ? shown : `[${shown}]`, prefix, bad);
  }
  return { kind: "cidr", net, prefix };
}

// cidr_match.c: 'non-null host address bits in "%s", perhaps you should use "%s/%d" instead'.
function hostBits(text: string, net: string, len: number, bad: (why: string) => ConfigError) {
  return bad(
    `non-null host address bits in "${text}", perhaps you should use "${net}/${len}" instead`,
  );
}
