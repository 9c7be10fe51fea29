/**
 * Delivery services and their per-transport parameters. In Postfix any
 * master.cf transport name may prefix a qmgr parameter
 * (postconf(5): "transport_destination_concurrency_limit", ...), so the set of
 * valid names depends on the services declared. facteur accepts
 * `<transport>_<suffix>` for the built-in transports and for every
 * `[services.NAME]` whose command is a delivery agent, with the suffixes its
 * qmgr honours; the value is validated like the default_<suffix> parameter.
 */
import type { ServiceSpec } from "./config.ts";

/** master.cf commands that are delivery agents (run by qmgr, not listening). */
export const DELIVERY_COMMANDS = ["smtp", "lmtp", "local", "virtual", "error", "discard"] as const;

/** Postfix's default master.cf delivery services, which facteur always has. */
export const BUILTIN_TRANSPORTS = [
  "local",
  "virtual",
  "smtp",
  "relay",
  "lmtp",
  "error",
  "discard",
] as const;

/** The per-transport parameter suffixes qmgr reads (postconf(5) default_<suffix>). */
export const PER_TRANSPORT_SUFFIXES = [
  "destination_concurrency_limit",
  "destination_recipient_limit",
] as const;

export function isDeliveryService(service: Pick<ServiceSpec, "command">): boolean {
  return (DELIVERY_COMMANDS as readonly string[]).includes(service.command);
}

/** Built-in transports plus the enabled delivery services declared. */
export function transportNames(services: readonly ServiceSpec[]): Set<string> {
  return new Set([
    ...BUILTIN_TRANSPORTS,
    ...services.filter((s) => s.enabled && isDeliveryService(s)).map((s) => s.name),
  ]);
}

/** A per-transport name split as { transport, suffix }, whether or not that transport exists. */
export function splitPerTransport(name: string): { transport: string; suffix: string } | undefined {
  for (const suffix of PER_TRANSPORT_SUFFIXES) {
    if (name.endsWith(`_${suffix}`) && name.length > suffix.length + 1) {
      return { transport: name.slice(0, -suffix.length - 1), suffix };
    }
  }
  return undefined;
}
