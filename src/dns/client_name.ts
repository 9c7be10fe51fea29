/**
 * The client's host name as Postfix's smtpd finds it (smtpd_peername_lookup):
 * the reverse (PTR) names of the address, the first one whose forward
 * lookup gives the address back; otherwise undefined ("unknown").
 */
import { formatIp, parseClientAddress } from "../maps/ip.ts";
import type { Resolver } from "./resolver.ts";

// valid_hostname(3): letters, digits, hyphens, dots; no empty labels.
const HOSTNAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/;

/** Verified host name of `address`, or undefined; never throws. */
export async function clientHostname(
  address: string,
  resolver: Resolver,
): Promise<string | undefined> {
  const ip = parseClientAddress(address);
  if (!ip) return undefined;
  const want = formatIp(ip);
  try {
    const names = await resolver.ptr(want);
    if (names.status !== "ok") return undefined; // NXDOMAIN, no PTR, timeout: "unknown"
    for (const name of names.records) {
      if (!HOSTNAME.test(name)) continue;
      const forward = await (ip.family === 4 ? resolver.a(name) : resolver.aaaa(name));
      if (forward.status === "ok" && forward.records.some((a) => sameAddress(a, want))) return name;
    }
  } catch {
    // A resolver that throws is as good as no answer.
  }
  return undefined;
}

function sameAddress(text: string, formatted: string): boolean {
  const ip = parseClientAddress(text);
  return ip !== undefined && formatIp(ip) === formatted;
}
