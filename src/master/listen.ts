/**
 * Where a service listens: master.cf's service field ("127.0.0.1:2525",
 * "[::1]:25", "2525", "smtp") combined with inet_interfaces and
 * inet_protocols (postconf(5)). Pure.
 */
import { ConfigError } from "../errors.ts";
import { type Config, isDeliveryService, type ServiceSpec } from "../config/mod.ts";

export interface Endpoint {
  host: string;
  port: number;
}

/** services(5) names master.cf users write instead of numbers. */
const WELL_KNOWN_PORTS: Record<string, number> = {
  smtp: 25,
  submission: 587,
  smtps: 465,
  pop3: 110,
};

/** The TCP endpoints of a service; a ConfigError for what cannot be listened on yet. */
export function serviceEndpoints(service: ServiceSpec, config: Config): Endpoint[] {
  // A delivery agent (smtp, lmtp, ...) is called by qmgr in this process: nothing to listen on.
  if (isDeliveryService(service)) return [];
  if (service.type !== "inet") {
    throw new ConfigError(
      `[services.${service.name}] type "${service.type}": facteur's ${service.command} listens on ` +
        `TCP only so far; use type = "inet"`,
      { file: config.file },
    );
  }
  // The admin API is for this host's operators: a bare port listens on loopback only.
  const interfaces = service.command === "admin"
    ? ["loopback-only"]
    : config.list("inet_interfaces");
  return listenEndpoints(service.listen, interfaces, config.list("inet_protocols"));
}

export function listenEndpoints(
  listen: string,
  interfaces: string[],
  protocols: string[],
): Endpoint[] {
  const bracketed = /^\[([^\]]+)\]:(\w+)$/.exec(listen);
  if (bracketed) return [{ host: bracketed[1], port: port(bracketed[2], listen) }];
  const hostPort = /^([^:]+):(\w+)$/.exec(listen);
  if (hostPort) return [{ host: hostPort[1], port: port(hostPort[2], listen) }];
  const p = port(listen, listen);
  return interfaceAddresses(interfaces, protocols).map((host) => ({ host, port: p }));
}

function port(text: string, listen: string): number {
  const n = /^\d+$/.test(text) ? Number(text) : WELL_KNOWN_PORTS[text];
  if (n === undefined || n > 65535) {
    throw new ConfigError(
      `cannot listen on "${listen}": expected host:port, [ipv6]:port, a port number or smtp/submission/smtps`,
    );
  }
  return n;
}

/** postconf(5) inet_interfaces: all, loopback-only, or addresses. */
function interfaceAddresses(interfaces: string[], protocols: string[]): string[] {
  const v4 = protocols.includes("all") || protocols.includes("ipv4");
  const v6 = protocols.includes("all") || protocols.includes("ipv6");
  const wanted = interfaces.length ? interfaces : ["all"];
  if (wanted.includes("all")) {
    // One dual-stack "::" socket accepts IPv4 too (as ::ffff:a.b.c.d).
    return v6 ? ["::"] : ["0.0.0.0"];
  }
  if (wanted.includes("loopback-only")) {
    return [...(v4 ? ["127.0.0.1"] : []), ...(v6 ? ["::1"] : [])];
  }
  return wanted.map((a) => a.replace(/^\[(.*)\]$/, "$1"));
}
