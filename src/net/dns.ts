/**
 * The client's host name as Postfix's smtpd finds it (smtpd_peername_lookup):
 * the reverse (PTR) names of the address, the first one whose forward
 * lookup gives the address back; otherwise undefined ("unknown").
 */
import { formatIp, parseClientAddress } from "../maps/ip.ts";

export type Resolve = (
  name: string,
  type: "PTR" | "A" | "AAAA",
  options: { signal: AbortSignal },
) => Promise<string[]>;

const denoResolve: Resolve = (name, type, options) => Deno.resolveDns(name, type, options);

/** RFC 1035 3.5 in-addr.arpa / RFC 3596 2.5 ip6.arpa name of an address. */
export function reverseName(address: string): string | undefined {
  const ip = parseClientAddress(address);
  if (!ip) return undefined;
  if (ip.family === 4) return [...ip.bytes].reverse().join(".") + ".in-addr.arpa";
  const nibbles = [...ip.bytes].flatMap((b) => [b >> 4, b & 15]).map((n) => n.toString(16));
  return nibbles.reverse().join(".") + ".ip6.arpa";
}

function sameAddress(text: string, formatted: string): boolean {
  const ip = parseClientAddress(text);
  return ip !== undefined && formatIp(ip) === formatted;
}

/** Verified host name of `address`, or undefined; never throws, gives up after `timeoutMs`. */
export async function clientHostname(
  address: string,
  { timeoutMs = 10_000, resolve = denoResolve }: { timeoutMs?: number; resolve?: Resolve } = {},
): Promise<string | undefined> {
  const ip = parseClientAddress(address);
  const ptr = reverseName(address);
  if (!ip || !ptr) return undefined;
  const signal = AbortSignal.timeout(timeoutMs);
  const want = formatIp(ip);
  try {
    for (const raw of await resolve(ptr, "PTR", { signal })) {
      const name = raw.replace(/\.$/, "").toLowerCase();
      if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(name)) continue;
      const forward = await resolve(name, ip.family === 4 ? "A" : "AAAA", { signal })
        .catch(() => [] as string[]);
      if (forward.some((a) => sameAddress(a, want))) return name;
    }
  } catch {
    // NXDOMAIN, no PTR, timeout, no resolver: Postfix says "unknown".
  }
  return undefined;
}
