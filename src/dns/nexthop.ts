/**
 * smtp(8) next-hop resolution: from a transport(5)/relayhost nexthop
 * ("example.com", "[mail.example.com]", "[192.0.2.1]:587") to the ordered
 * list of addresses to try, over a Resolver. Failures are MailErrors with
 * the dsn and text Postfix logs.
 */
import { ConfigError, type MailError, permFail, tempFail } from "../errors.ts";
import { parseIPv4, parseIPv6 } from "../maps/ip.ts";
import {
  type Lookup,
  type MxRecord,
  normalizeName,
  parsePortNumber,
  type Resolver,
} from "./resolver.ts";

export type Family = 4 | 6;

export interface Nexthop {
  /** Domain (MX lookup), host name or IP address, lower case, without brackets. */
  host: string;
  port: number;
  /** False for "[host]" and for IP addresses: A/AAAA or the literal only. */
  mxLookup: boolean;
}

export interface Destination {
  /** MX host name, the bracketed host, or the IP literal. */
  host: string;
  address: string;
  port: number;
  /** MX preference; 0 for a host without MX records. */
  preference: number;
}

export interface ResolveOptions {
  resolver: Resolver;
  /** Port when the nexthop has none (smtp_tcp_port). */
  defaultPort?: number;
  /** Address families used (inet_protocols). */
  families?: readonly Family[];
  /** Uniform in [0, 1): shuffles MX hosts of equal preference. */
  random?: () => number;
}

// postconf(5) known_tcp_ports default: names a port may be given by.
const KNOWN_TCP_PORTS: Readonly<Record<string, number>> = {
  lmtp: 24,
  smtp: 25,
  smtps: 465,
  submissions: 465,
  submission: 587,
};

/** A port number or a known_tcp_ports name, or undefined. */
export function parsePort(text: string): number | undefined {
  return KNOWN_TCP_PORTS[text.toLowerCase()] ?? parsePortNumber(text);
}

/** postconf(5) inet_protocols: "all", "ipv4", "ipv6" (a list) → address families. */
export function familiesFromInetProtocols(values: readonly string[]): Family[] {
  const families = new Set<Family>();
  const bad = (why: string) =>
    new ConfigError(`inet_protocols: ${why}`, { param: "inet_protocols" });
  for (const value of values.map((v) => v.toLowerCase())) {
    if (value === "all") [4, 6].forEach((f) => families.add(f as Family));
    else if (value === "ipv4") families.add(4);
    else if (value === "ipv6") families.add(6);
    else throw bad(`unknown protocol "${value}": expected ipv4, ipv6 or all`);
  }
  if (families.size === 0) throw bad("empty: expected ipv4, ipv6 or all");
  return [...families].sort();
}

/** postconf(5) smtp_tcp_port (or lmtp_tcp_port): a port number or a known_tcp_ports name. */
export function tcpPortParameter(
  config: { get(name: string): string },
  name = "smtp_tcp_port",
): number {
  const value = config.get(name);
  const port = parsePort(value);
  if (port === undefined) {
    throw new ConfigError(
      `${name}: bad port "${value}": expected 1-65535 or smtp, submission, ...`,
      {
        param: name,
      },
    );
  }
  return port;
}

// Postfix defers mail when its configuration is wrong: "4.3.5 mail system configuration error".
function configError(message: string): MailError {
  return tempFail(message, "4.3.5");
}

/**
 * transport(5) nexthop syntax: "domain", "domain:port", "[host]", "[host]:port",
 * "[ipv4]", "[ipv6]" or "[ipv6:ipv6]" with an optional ":port". A bare IP
 * address is taken as a literal (an address has no MX records).
 */
export function parseNexthop(text: string, defaultPort = 25): Nexthop {
  const bad = (why: string) => configError(`bad nexthop "${text}": ${why}`);
  const bracketed = /^\[([^\]]*)\](?::([^:]*))?$/.exec(text);
  let host: string;
  let portText: string | undefined;
  let mxLookup: boolean;
  if (bracketed) {
    host = bracketed[1].replace(/^ipv6:/i, "");
    portText = bracketed[2];
    mxLookup = false;
  } else if (text.includes("[") || text.includes("]")) {
    throw bad("unbalanced [ ]");
  } else if (parseIPv6(text)) {
    [host, mxLookup] = [text, false];
  } else {
    const parts = text.split(":");
    if (parts.length > 2) {
      throw bad('too many ":" (an IPv6 address with a port is written [address]:port)');
    }
    [host, portText] = parts;
    mxLookup = !parseIPv4(host);
  }
  host = normalizeName(host);
  if (!isIpLiteral(host) && !isHostName(host)) throw bad(`"${host}" is not a host name`);
  const port = portText === undefined ? defaultPort : parsePort(portText);
  if (port === undefined) throw bad(`bad port "${portText}"`);
  return { host, port, mxLookup: mxLookup && !isIpLiteral(host) };
}

/**
 * postconf(5) relayhost: "one or more destinations ... separated by comma or
 * whitespace" (Postfix 3.5; transport(5) nexthops and smtp_fallback_relay
 * alike), tried in order. A list of separators only stays one empty destination, so
 * parseNexthop reports it.
 */
export function splitNexthopList(text: string): string[] {
  const sites = text.split(/[\s,]+/).filter((site) => site !== "");
  return sites.length > 0 ? sites : [""];
}

function isIpLiteral(host: string): boolean {
  return parseIPv4(host) !== undefined || parseIPv6(host) !== undefined;
}

// RFC 1123 2.1 labels: letters, digits, hyphens (underscore tolerated, as resolvers do).
function isHostName(host: string): boolean {
  return /^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*$/
    .test(host) && host.length <= 253;
}

/** The addresses to try for `nexthop`, best first; throws MailError when there are none. */
export async function resolveNexthop(
  nexthop: string | Nexthop,
  options: ResolveOptions,
): Promise<Destination[]> {
  const { resolver, defaultPort = 25, families = [4, 6], random = Math.random } = options;
  const hop = typeof nexthop === "string" ? parseNexthop(nexthop, defaultPort) : nexthop;
  if (families.length === 0) throw configError("no address family enabled (inet_protocols)");
  if (isIpLiteral(hop.host)) return literalDestination(hop, families);
  if (!hop.mxLookup) return hostDestinations(hop, resolver, families);

  const mx = await resolver.mx(hop.host);
  if (mx.status === "tempfail") throw nameServiceError(hop.host, "MX", mx);
  // RFC 5321 5.1: no MX records: the domain itself is the host, preference 0. Postfix
  // (smtp_domain_addr) does the same for NXDOMAIN, so the A/AAAA lookup reports that.
  if (mx.status === "notfound") return await hostDestinations(hop, resolver, families);
  // RFC 7505 3: a single MX record whose target is "." : the domain accepts no mail.
  // Postfix smtp(8) logs dsn=5.1.0 (its smtpd rejects RCPT with 556 5.1.10).
  if (mx.records.length === 1 && mx.records[0].exchange === "") {
    throw permFail(`Domain ${hop.host} does not accept mail (nullMX)`, "5.1.0", 550);
  }
  return await mxDestinations(hop, orderMx(mx.records, random), resolver, families);
}

/**
 * RFC 5321 5.1: by preference, lowest first; hosts of equal preference in random order.
 * They are sorted by name first, so the order depends on `random` alone, not on the answer's.
 */
export function orderMx(
  records: readonly MxRecord[],
  random: () => number = Math.random,
): MxRecord[] {
  const byPreference = new Map<number, MxRecord[]>();
  for (const record of records) {
    if (record.exchange === "") continue; // a "." among other MX records names no host
    byPreference.set(record.preference, [...byPreference.get(record.preference) ?? [], record]);
  }
  return [...byPreference.keys()].sort((a, b) => a - b).flatMap((p) =>
    shuffle(byPreference.get(p)!.sort((x, y) => x.exchange < y.exchange ? -1 : 1), random)
  );
}

function shuffle<T>(items: T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

async function mxDestinations(
  hop: Nexthop,
  records: MxRecord[],
  resolver: Resolver,
  families: readonly Family[],
): Promise<Destination[]> {
  const destinations: Destination[] = [];
  let failure: MailError | undefined;
  for (const { exchange, preference } of records) {
    const addresses = await lookupAddresses(resolver, exchange, families);
    if (addresses.status === "ok") {
      destinations.push(
        ...addresses.records.map((address) => ({
          host: exchange,
          address,
          port: hop.port,
          preference,
        })),
      );
    } else if (!failure?.temporary) {
      // An MX host without address is skipped; if all are, the worst failure is reported.
      failure = nameServiceError(exchange, addresses.type, addresses);
    }
  }
  if (destinations.length === 0) {
    throw failure ??
      nameServiceError(hop.host, "MX", { status: "notfound", reason: "no usable MX host" });
  }
  return destinations;
}

async function hostDestinations(
  hop: Nexthop,
  resolver: Resolver,
  families: readonly Family[],
): Promise<Destination[]> {
  const addresses = await lookupAddresses(resolver, hop.host, families);
  if (addresses.status !== "ok") throw nameServiceError(hop.host, addresses.type, addresses);
  return addresses.records.map((address) => ({
    host: hop.host,
    address,
    port: hop.port,
    preference: 0,
  }));
}

function literalDestination(hop: Nexthop, families: readonly Family[]): Destination[] {
  const family: Family = parseIPv4(hop.host) ? 4 : 6;
  if (!families.includes(family)) {
    throw configError(`nexthop [${hop.host}]: IPv${family} is disabled by inet_protocols`);
  }
  return [{ host: hop.host, address: hop.host, port: hop.port, preference: 0 }];
}

type AddressLookup =
  | { status: "ok"; records: string[] }
  | { status: "notfound" | "tempfail"; reason: string; type: "A" | "AAAA" };

/** A then AAAA records of `name` for the enabled families; found if either family has any. */
async function lookupAddresses(
  resolver: Resolver,
  name: string,
  families: readonly Family[],
): Promise<AddressLookup> {
  const queries = families.map(async (family) => {
    const type = family === 4 ? "A" as const : "AAAA" as const;
    const result: Lookup<string> = family === 4
      ? await resolver.a(name)
      : await resolver.aaaa(name);
    return { type, result };
  });
  const answers = await Promise.all(queries);
  const records = answers.flatMap(({ result }) => result.status === "ok" ? result.records : []);
  if (records.length > 0) return { status: "ok", records };
  const failed = answers.find(({ result }) => result.status === "tempfail") ?? answers[0];
  const result = failed.result as Exclude<Lookup<string>, { status: "ok" }>;
  return { status: result.status, reason: result.reason, type: failed.type };
}

// Postfix smtp(8): "Host or domain name not found. Name service error for name=... type=...: ..."
// dsn=4.4.3 when the name service failed temporarily, 5.4.4 when the name does not exist.
function nameServiceError(
  name: string,
  type: string,
  failure: { status: "notfound" | "tempfail"; reason: string },
): MailError {
  const text = `Host or domain name not found. Name service error for name=${name} type=${type}: ` +
    failure.reason;
  return failure.status === "tempfail" ? tempFail(text, "4.4.3") : permFail(text, "5.4.4");
}
