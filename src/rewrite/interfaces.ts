/**
 * The addresses this host receives mail on, for resolve_local(): a recipient
 * domain "[192.0.2.1]" is local when the address is one of
 * inet_interfaces (postconf(5) mydestination: "the addresses of
 * inet_interfaces are always considered local").
 */
import { canonicalIp } from "./address.ts";

const LOOPBACK = ["127.0.0.1", "::1"];

/** The host's interface addresses; needs --allow-sys, falls back to loopback only. */
export function systemAddresses(): string[] {
  try {
    return Deno.networkInterfaces().map((i) => i.address);
  } catch {
    return LOOPBACK;
  }
}

/**
 * inet_interfaces → canonical addresses. "all" is every interface address,
 * "loopback-only" the loopback addresses. Host names are not resolved here
 * (the listener configuration is expected to use addresses).
 */
export function interfaceAddresses(
  inetInterfaces: readonly string[],
  system: () => string[] = systemAddresses,
): Set<string> {
  const out = new Set<string>();
  const add = (text: string) => {
    const ip = canonicalIp(text.replace(/^\[|\]$/g, ""));
    if (ip) out.add(ip);
  };
  for (const entry of inetInterfaces) {
    const lower = entry.toLowerCase();
    if (lower === "all") system().forEach(add);
    else if (lower === "loopback-only") LOOPBACK.forEach(add);
    else add(entry);
  }
  return out;
}
