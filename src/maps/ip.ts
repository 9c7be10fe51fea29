/**
 * IP addresses as bytes: the one place facteur parses, normalises, compares
 * and prints them (cidr: tables, network lists, client addresses).
 *
 * Parsing has the strictness of inet_pton(3), which Postfix uses for
 * cidr_table(5) patterns and keys: IPv4 is exactly four decimal octets
 * without leading zeros; IPv6 is up to eight hex groups with at most one "::"
 * and an optional trailing dotted IPv4 part. No brackets, no zone index:
 * parseClientAddress() is the lenient form for client addresses.
 */

export interface IpAddress {
  family: 4 | 6;
  bytes: Uint8Array;
}

/** Strict dotted quad (inet_pton(3)): 4 bytes, or undefined. */
export function parseIPv4(text: string): Uint8Array | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  const bytes = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const part = parts[i];
    if (!/^\d{1,3}$/.test(part) || (part.length > 1 && part[0] === "0")) return undefined;
    const n = Number(part);
    if (n > 255) return undefined;
    bytes[i] = n;
  }
  return bytes;
}

function parseGroups(text: string, allowIPv4Tail: boolean): number[] | undefined {
  if (text === "") return [];
  const parts = text.split(":");
  const groups: number[] = [];
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i];
    if (allowIPv4Tail && i === parts.length - 1 && part.includes(".")) {
      const v4 = parseIPv4(part);
      if (!v4) return undefined;
      groups.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
    } else if (/^[0-9A-Fa-f]{1,4}$/.test(part)) {
      groups.push(parseInt(part, 16));
    } else {
      return undefined;
    }
  }
  return groups;
}

/** RFC 4291 2.2 text forms (inet_pton(3)): 16 bytes, or undefined. */
export function parseIPv6(text: string): Uint8Array | undefined {
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  let groups: number[];
  if (halves.length === 2) {
    const head = parseGroups(halves[0], false);
    const tail = parseGroups(halves[1], true);
    if (!head || !tail || head.length + tail.length > 7) return undefined;
    groups = [...head, ...new Array(8 - head.length - tail.length).fill(0), ...tail];
  } else {
    const all = parseGroups(text, true);
    if (!all || all.length !== 8) return undefined;
    groups = all;
  }
  const bytes = new Uint8Array(16);
  groups.forEach((g, i) => {
    bytes[2 * i] = g >> 8;
    bytes[2 * i + 1] = g & 0xff;
  });
  return bytes;
}

/** Either family, strictly (inet_pton(3)); see parseClientAddress for client address forms. */
export function parseIp(text: string): IpAddress | undefined {
  if (text.includes(":")) {
    const bytes = parseIPv6(text);
    return bytes && { family: 6, bytes };
  }
  const bytes = parseIPv4(text);
  return bytes && { family: 4, bytes };
}

const MAPPED_PREFIX = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff];

/** "::ffff:a.b.c.d" (an IPv4 client on a dual-stack socket) → a.b.c.d; anything else unchanged. */
export function unmapIPv4(ip: IpAddress): IpAddress {
  if (ip.family !== 6 || MAPPED_PREFIX.some((byte, i) => ip.bytes[i] !== byte)) return ip;
  return { family: 4, bytes: ip.bytes.slice(12) };
}

/** a.b.c.d → ::ffff:a.b.c.d (RFC 4291 2.5.5.2), so it can be compared with IPv6 networks. */
export function mapToIPv6(ip: IpAddress): IpAddress {
  if (ip.family === 6) return ip;
  const bytes = new Uint8Array(16);
  bytes.set(MAPPED_PREFIX);
  bytes.set(ip.bytes, 12);
  return { family: 6, bytes };
}

/**
 * A client address as Postfix sees it: brackets, an "IPv6:" tag and a zone
 * ("%eth0") removed, IPv4-mapped IPv6 (::ffff:a.b.c.d) turned into IPv4, as
 * smtpd_peer.c does.
 */
export function parseClientAddress(text: string): IpAddress | undefined {
  let t = text.trim();
  if (t.startsWith("[") && t.endsWith("]")) t = t.slice(1, -1);
  if (/^ipv6:/i.test(t)) t = t.slice(5);
  t = t.replace(/%[^%]*$/, "");
  const ip = parseIp(t);
  return ip && unmapIPv4(ip);
}

/**
 * The text form of a client address Postfix uses in logs and as an access(5)
 * key ("::ffff:192.0.2.1" → "192.0.2.1", "2001:DB8:0::1" → "2001:db8::1");
 * input that is not an address ("", "unknown") comes back unchanged.
 */
export function normalizeAddress(text: string): string {
  const ip = parseClientAddress(text);
  return ip ? formatIp(ip) : text;
}

/** Text form as inet_ntop(3) writes it (longest zero run as "::", IPv4-mapped/compatible dotted). */
export function formatIp(ip: IpAddress): string {
  const b = ip.bytes;
  if (ip.family === 4) return b.join(".");
  const words = Array.from({ length: 8 }, (_, i) => (b[2 * i] << 8) | b[2 * i + 1]);
  let best = { base: -1, len: 0 };
  for (let i = 0; i < 8;) {
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > best.len && j - i >= 2) best = { base: i, len: j - i };
    i = j === i ? i + 1 : j;
  }
  const dotted = `${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
  if (best.base === 0 && (best.len === 6 || (best.len === 5 && words[5] === 0xffff))) {
    return best.len === 6 ? `::${dotted}` : `::ffff:${dotted}`;
  }
  if (best.base < 0) return words.map((w) => w.toString(16)).join(":");
  const head = words.slice(0, best.base).map((w) => w.toString(16)).join(":");
  const tail = words.slice(best.base + best.len).map((w) => w.toString(16)).join(":");
  return `${head}::${tail}`;
}

/** The address with every bit after `prefix` cleared. */
export function maskAddress(bytes: Uint8Array, prefix: number): Uint8Array {
  return bytes.map((byte, i) => {
    const bits = Math.max(0, Math.min(8, prefix - 8 * i));
    return byte & ((0xff00 >> bits) & 0xff);
  });
}

/** True when the first `prefix` bits of both addresses (of one family) are equal. */
export function samePrefix(a: Uint8Array, b: Uint8Array, prefix: number): boolean {
  if (a.length !== b.length) return false;
  const whole = prefix >> 3;
  for (let i = 0; i < whole; i++) if (a[i] !== b[i]) return false;
  const bits = prefix & 7;
  if (bits === 0) return true;
  const mask = (0xff00 >> bits) & 0xff;
  return (a[whole] & mask) === (b[whole] & mask);
}
