/**
 * Client network lists in mynetworks syntax (postconf(5) mynetworks; Postfix
 * namadr_list + match_ops): IPv4/IPv6 addresses and CIDR blocks, "[v6]" and
 * "[v6]/len" forms, host and ".domain" names, "!pattern" exclusions,
 * "/file/name" pattern files and "type:table" lookups. Lists are compiled
 * once (addresses become integer masks) and matched left to right: the first
 * matching pattern decides, a "!" pattern deciding "no".
 *
 * Also the address helpers the access checks share: strict parsing, and the
 * text form of a client address Postfix uses as a lookup key.
 */
import { ConfigError } from "../errors.ts";
import type { LookupTable } from "../maps/types.ts";
import {
  formatIp as formatBytes,
  parseIPv4 as ipv4Bytes,
  parseIPv6 as ipv6Bytes,
} from "../maps/ip.ts";

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

type Cidr4 = { kind: "v4"; net: number; mask: number };
type Cidr6 = { kind: "v6"; net: bigint; mask: bigint };
type Pattern =
  & { negate: boolean }
  & (
    | Cidr4
    | Cidr6
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
      const ip = parseIp(address);
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
    case "v4":
      return ip?.family === 4 && ((ip.value & p.mask) >>> 0) === p.net;
    case "v6": {
      // An IPv4 client also matches IPv4-mapped IPv6 blocks ([::ffff:127.0.0.0]/104).
      const v6 = ip?.family === 6 ? ip.value : ip ? MAPPED_PREFIX | BigInt(ip.value) : undefined;
      return v6 !== undefined && (v6 & p.mask) === p.net;
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
    out.push({ negate, kind: "table", table: opts.openTable(text) });
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
): Cidr4 | Cidr6 | undefined {
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
  const bits = v4 !== undefined ? 32 : 128;
  let len = bits;
  if (lenText !== undefined) {
    if (!/^\d{1,3}$/.test(lenText) || Number(lenText) > bits) {
      throw bad(`"${text}": bad network prefix length "/${lenText}" (0..${bits})`);
    }
    len = Number(lenText);
  }
  if (v4 !== undefined) {
    const mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
    if (((v4 & mask) >>> 0) !== v4) throw hostBits(text, formatIPv4((v4 & mask) >>> 0), len, bad);
    return { kind: "v4", net: v4, mask };
  }
  const mask = len === 0 ? 0n : ((1n << BigInt(len)) - 1n) << BigInt(128 - len);
  if ((v6! & mask) !== v6) {
    throw hostBits(text, `[${formatIPv6(v6! & mask)}]`, len, bad);
  }
  return { kind: "v6", net: v6!, mask };
}

// cidr_match.c: 'non-null host address bits in "%s", perhaps you should use "%s/%d" instead'.
function hostBits(text: string, net: string, len: number, bad: (why: string) => ConfigError) {
  return bad(
    `non-null host address bits in "${text}", perhaps you should use "${net}/${len}" instead`,
  );
}

// --- Addresses -------------------------------------------------------------

export type IpAddress = { family: 4; value: number } | { family: 6; value: bigint };

const MAPPED_PREFIX = 0xffffn << 32n;

/** Strict dotted quad (inet_pton(3)) as a 32-bit number. */
export function parseIPv4(text: string): number | undefined {
  const b = ipv4Bytes(text);
  return b && ((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0;
}

/** RFC 4291 2.2 text forms (inet_pton(3)) as a 128-bit number; no brackets, no zone. */
export function parseIPv6(text: string): bigint | undefined {
  const b = ipv6Bytes(text);
  return b && b.reduce((acc, byte) => (acc << 8n) | BigInt(byte), 0n);
}

/**
 * A client address as Postfix sees it: brackets, an "IPv6:" tag and a zone
 * ("%eth0") removed, IPv4-mapped IPv6 (::ffff:a.b.c.d) turned into IPv4, as
 * smtpd_peer.c does.
 */
export function parseIp(text: string): IpAddress | undefined {
  let t = text.trim();
  if (t.startsWith("[") && t.endsWith("]")) t = t.slice(1, -1);
  if (/^ipv6:/i.test(t)) t = t.slice(5);
  t = t.replace(/%[^%]*$/, "");
  const v4 = parseIPv4(t);
  if (v4 !== undefined) return { family: 4, value: v4 };
  const v6 = parseIPv6(t);
  if (v6 === undefined) return undefined;
  if (v6 >> 32n === 0xffffn) return { family: 4, value: Number(v6 & 0xffffffffn) };
  return { family: 6, value: v6 };
}

/** The text form used as an access(5) key; unparsable input comes back unchanged. */
export function normalizeAddress(text: string): string {
  const ip = parseIp(text);
  return ip ? formatIp(ip) : text;
}

/** inet_ntop(3) form, as in Postfix's client address strings. */
export function formatIp(ip: IpAddress): string {
  return ip.family === 4 ? formatIPv4(ip.value) : formatIPv6(ip.value);
}

export function formatIPv4(value: number): string {
  return [24, 16, 8, 0].map((s) => (value >>> s) & 0xff).join(".");
}

export function formatIPv6(value: bigint): string {
  const bytes = Uint8Array.from(
    { length: 16 },
    (_, i) => Number((value >> BigInt(120 - 8 * i)) & 0xffn),
  );
  return formatBytes({ family: 6, bytes });
}
