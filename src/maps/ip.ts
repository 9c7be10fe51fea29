/**
 * IP addresses as bytes, with the strictness of inet_pton(3), which Postfix
 * uses for cidr_table(5) patterns and keys: IPv4 is exactly four decimal
 * octets without leading zeros; IPv6 is up to eight hex groups with at most one
 * "::" and an optional trailing dotted IPv4 part. No brackets, no zone index.
 */

export interface IpAddress {
  family: 4 | 6;
  bytes: Uint8Array;
}

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

export function parseIp(text: string): IpAddress | undefined {
  if (text.includes(":")) {
    const bytes = parseIPv6(text);
    return bytes && { family: 6, bytes };
  }
  const bytes = parseIPv4(text);
  return bytes && { family: 4, bytes };
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

/** True when the first `prefix` bits of both addresses are equal. */
export function samePrefix(a: Uint8Array, b: Uint8Array, prefix: number): boolean {
  const ma = maskAddress(a, prefix);
  const mb = maskAddress(b, prefix);
  return ma.every((byte, i) => byte === mb[i]);
}
