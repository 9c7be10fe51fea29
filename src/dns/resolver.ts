/**
 * A small DNS resolver interface with typed answers: records, "not found"
 * (permanent: NXDOMAIN or no data) or "temporary failure" (timeout, no
 * server reachable, SERVFAIL). Backed by Deno.resolveDns, optionally against
 * configured nameservers (facteur's dns_nameservers) with a per-query timeout.
 *
 * Deno.resolveDns throws Deno.errors.NotFound for NXDOMAIN and for no data
 * alike, and also for a REFUSED answer (checked against dnsmasq 2.90): those
 * three cannot be told apart here. A timeout (ours or the library's) and
 * every other error are temporary.
 */
import { ConfigError } from "../errors.ts";
import { parseClientAddress, parseIPv4, parseIPv6 } from "../maps/ip.ts";

export interface MxRecord {
  preference: number;
  /** Lower-case host name without the trailing dot; "" is the root ("."): RFC 7505 null MX. */
  exchange: string;
}

/** The outcome of one query. `reason` uses the resolver texts Postfix logs (h_errno style). */
export type Lookup<T> =
  | { status: "ok"; records: T[] }
  | { status: "notfound"; reason: string }
  | { status: "tempfail"; reason: string };

export interface Resolver {
  mx(name: string): Promise<Lookup<MxRecord>>;
  /** IPv4 addresses in dotted-quad form. */
  a(name: string): Promise<Lookup<string>>;
  /** IPv6 addresses in RFC 5952 text form (as Deno prints them). */
  aaaa(name: string): Promise<Lookup<string>>;
  /** One string per TXT record, its character-strings concatenated (RFC 7208 3.3). */
  txt(name: string): Promise<Lookup<string>>;
  /** Names (lower case, no trailing dot) of the PTR records of an IPv4 or IPv6 address. */
  ptr(address: string): Promise<Lookup<string>>;
}

export interface Nameserver {
  ipAddr: string;
  port: number;
}

/** Same shape as Deno.resolveDns for the record types used here; injectable for tests. */
export type ResolveDns = (
  name: string,
  type: "MX" | "A" | "AAAA" | "TXT" | "PTR",
  options: { nameServer?: Nameserver; signal: AbortSignal },
) => Promise<unknown[]>;

const denoResolveDns: ResolveDns = (name, type, options) =>
  Deno.resolveDns(name, type as "A", options) as Promise<unknown[]>;

// The texts of Postfix's dns_strerror() for HOST_NOT_FOUND and TRY_AGAIN.
export const NOT_FOUND_REASON = "Host not found";
export const TEMPFAIL_REASON = "Host not found, try again";

export interface ResolverOptions {
  /** Servers asked in order, the next one only after a temporary failure; empty: the system's. */
  nameservers?: Nameserver[];
  /** Time allowed for one query to one server. */
  timeoutMs?: number;
  resolveDns?: ResolveDns;
}

/** A Resolver over Deno.resolveDns (or `resolveDns`), asking `nameservers` in turn. */
export function createResolver(options: ResolverOptions = {}): Resolver {
  const { nameservers = [], timeoutMs = 10_000, resolveDns = denoResolveDns } = options;
  const servers: (Nameserver | undefined)[] = nameservers.length ? nameservers : [undefined];

  async function query<T>(
    name: string,
    type: "MX" | "A" | "AAAA" | "TXT" | "PTR",
    convert: (raw: unknown) => T,
  ): Promise<Lookup<T>> {
    let last: Lookup<T> = { status: "tempfail", reason: TEMPFAIL_REASON };
    for (const nameServer of servers) {
      try {
        const raw = await resolveDns(name, type, {
          ...(nameServer ? { nameServer } : {}),
          signal: AbortSignal.timeout(timeoutMs),
        });
        return { status: "ok", records: raw.map(convert) };
      } catch (error) {
        last = classifyDnsError(error);
        if (last.status === "notfound") return last;
      }
    }
    return last;
  }

  return {
    mx: (name) =>
      query(name, "MX", (raw) => {
        const { preference, exchange } = raw as { preference: number; exchange: string };
        return { preference, exchange: normalizeName(exchange) };
      }),
    a: (name) => query(name, "A", String),
    aaaa: (name) => query(name, "AAAA", String),
    txt: (name) => query(name, "TXT", (raw) => (raw as string[]).join("")),
    ptr: (address) => {
      const reverse = reverseName(address);
      if (!reverse) {
        return Promise.resolve({ status: "notfound", reason: `not an IP address: ${address}` });
      }
      return query(reverse, "PTR", (raw) => normalizeName(String(raw)));
    },
  };
}

/** NotFound (NXDOMAIN, no data, REFUSED: see above) is permanent; anything else is temporary. */
export function classifyDnsError(error: unknown): Lookup<never> {
  if (error instanceof Deno.errors.NotFound) {
    return { status: "notfound", reason: NOT_FOUND_REASON };
  }
  return { status: "tempfail", reason: TEMPFAIL_REASON };
}

/** "Mail.Example.TEST." → "mail.example.test"; "." → "" (the root). */
export function normalizeName(name: string): string {
  return name.replace(/\.$/, "").toLowerCase();
}

/** RFC 1035 3.5 in-addr.arpa / RFC 3596 2.5 ip6.arpa name of an address, or undefined. */
export function reverseName(address: string): string | undefined {
  const ip = parseClientAddress(address);
  if (!ip) return undefined;
  if (ip.family === 4) return [...ip.bytes].reverse().join(".") + ".in-addr.arpa";
  const nibbles = [...ip.bytes].flatMap((b) => [b >> 4, b & 15]).map((n) => n.toString(16));
  return nibbles.reverse().join(".") + ".ip6.arpa";
}

/**
 * facteur's dns_nameservers: each element "ip", "ip:port" or "[ipv6]:port"
 * (port 53 when absent). Throws ConfigError naming the bad element.
 */
export function parseNameservers(elements: string[]): Nameserver[] {
  return elements.map((element) => {
    const server = parseNameserver(element);
    if (!server) {
      throw new ConfigError(
        `dns_nameservers: bad server "${element}": expected ip, ip:port or [ipv6]:port`,
        { param: "dns_nameservers" },
      );
    }
    return server;
  });
}

function parseNameserver(text: string): Nameserver | undefined {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  if (bracketed) {
    const port = parsePortNumber(bracketed[2] ?? "53");
    return parseIPv6(bracketed[1]) && port ? { ipAddr: bracketed[1], port } : undefined;
  }
  if (parseIPv6(text)) return { ipAddr: text, port: 53 };
  const [host, portText = "53", ...rest] = text.split(":");
  const port = parsePortNumber(portText);
  return rest.length === 0 && parseIPv4(host) && port ? { ipAddr: host, port } : undefined;
}

/** A decimal TCP/UDP port 1..65535, or undefined. */
export function parsePortNumber(text: string): number | undefined {
  if (!/^\d{1,5}$/.test(text)) return undefined;
  const port = Number(text);
  return port >= 1 && port <= 65535 ? port : undefined;
}

/** The resolver facteur's configuration asks for: dns_nameservers and dns_query_timeout. */
export function resolverFromConfig(
  config: { list(name: string): string[]; time(name: string): number },
): Resolver {
  return createResolver({
    nameservers: parseNameservers(config.list("dns_nameservers")),
    timeoutMs: config.time("dns_query_timeout") * 1000,
  });
}
