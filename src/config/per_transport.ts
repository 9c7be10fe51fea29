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

/**
 * The per-transport parameters qmgr reads: `<transport>_<suffix>` overrides
 * the main.cf parameter named here (postconf(5) "transport-specific override").
 */
export const PER_TRANSPORT_DEFAULTS: Readonly<Record<string, string>> = {
  destination_concurrency_limit: "default_destination_concurrency_limit",
  destination_recipient_limit: "default_destination_recipient_limit",
  initial_destination_concurrency: "initial_destination_concurrency",
  destination_concurrency_positive_feedback: "default_destination_concurrency_positive_feedback",
  destination_concurrency_negative_feedback: "default_destination_concurrency_negative_feedback",
  destination_concurrency_failed_cohort_limit:
    "default_destination_concurrency_failed_cohort_limit",
  destination_rate_delay: "default_destination_rate_delay",
  transport_rate_delay: "default_transport_rate_delay",
};

export const PER_TRANSPORT_SUFFIXES = Object.keys(PER_TRANSPORT_DEFAULTS);

/** The parameter `<transport>_<suffix>` when set or built in (local_...), else its default. */
export function perTransportName(
  transport: string,
  suffix: string,
  isKnown: (name: string) => boolean,
): string {
  const specific = `${transport}_${suffix}`;
  return isKnown(specific) ? specific : PER_TRANSPORT_DEFAULTS[suffix];
}

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
