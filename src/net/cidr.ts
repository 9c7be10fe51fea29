/**
 * Client address matching against a Postfix-style network list
 * (postconf(5) mynetworks syntax): "127.0.0.0/8", "[::1]/128", "192.0.2.7",
 * "[2001:db8::1]", and "!pattern" to exclude. Host names, /file/name and
 * type:table entries are not network patterns and never match here.
 */
import { isIPv4, isIPv6 } from "node:net";

/** "::ffff:192.0.2.1" (an IPv4 client on a dual-stack socket) → "192.0.2.1"; "" stays "". */
export function normalizeAddress(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return mapped ? mapped[1] : address;
}

/** The address as bytes: 4 for IPv4, 16 for IPv6; undefined if it is not an IP address. */
export function addressBytes(address: string): Uint8Array | undefined {
  const plain = normalizeAddress(address.replace(/^\[(.*)\]$/, "$1"));
  if (isIPv4(plain)) return Uint8Array.from(plain.split(".").map(Number));
  if (!isIPv6(plain)) return undefined;
  const withoutZone = plain.replace(/%.*$/, "");
  let groups: number[] = [];
  let tail = withoutZone;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(tail);
  let v4Bytes: number[] = [];
  if (v4) {
    v4Bytes = v4[1].split(".").map(Number);
    tail = tail.slice(0, -v4[1].length) + "0:0";
  }
  const [left, right] = tail.split("::");
  const parse = (s: string | undefined) => (s ? s.split(":").filter((g) => g !== "") : []);
  const l = parse(left).map((g) => parseInt(g, 16));
  const r = parse(right).map((g) => parseInt(g, 16));
  groups = right === undefined ? l : [...l, ...new Array(8 - l.length - r.length).fill(0), ...r];
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    out[i * 2] = g >> 8;
    out[i * 2 + 1] = g & 0xff;
  });
  if (v4) out.set(v4Bytes, 12);
  return out;
}

interface Network {
  bytes: Uint8Array;
  prefix: number;
}

/** "10.0.0.0/8", "[::1]/128", "192.0.2.1" → network; undefined when not an address pattern. */
export function parseNetwork(pattern: string): Network | undefined {
  const m = /^(\[[^\]]+\]|[^/]+)(?:\/(\d{1,3}))?$/.exec(pattern.trim());
  if (!m) return undefined;
  const bytes = addressBytes(m[1]);
  if (!bytes) return undefined;
  const max = bytes.length * 8;
  const prefix = m[2] === undefined ? max : Number(m[2]);
  if (prefix > max) return undefined;
  return { bytes, prefix };
}

function inNetwork(address: Uint8Array, net: Network): boolean {
  if (address.length !== net.bytes.length) return false;
  const whole = Math.floor(net.prefix / 8);
  for (let i = 0; i < whole; i++) if (address[i] !== net.bytes[i]) return false;
  const rest = net.prefix % 8;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return (address[whole] & mask) === (net.bytes[whole] & mask);
}

/**
 * Whether `address` is in the list. The first matching pattern decides;
 * a "!" pattern that matches excludes the address (postconf(5) "!pattern").
 */
export function matchNetworks(address: string, patterns: readonly string[]): boolean {
  const bytes = addressBytes(address);
  if (!bytes) return false;
  for (const raw of patterns) {
    const negated = raw.startsWith("!");
    const net = parseNetwork(negated ? raw.slice(1) : raw);
    if (net && inNetwork(bytes, net)) return !negated;
  }
  return false;
}
