/**
 * master.cf's delivery services: Postfix's default ones (local, virtual,
 * smtp, relay, lmtp, error, discard) and those declared as
 * `[services.NAME] type = "unix", command = "smtp"` (like master.cf
 * `mysmtp unix - - n - 10 smtp -o smtp_helo_name=...`): the agent runs with
 * the service's overrides, and its process_limit (maxproc) caps the
 * transport's concurrent deliveries.
 */
import { type Config, isDeliveryService, type ServiceSpec } from "../config/mod.ts";
import type { LookupTable } from "../maps/types.ts";
import type { Rewriter } from "../rewrite/mod.ts";
import type { Resolver } from "../dns/resolver.ts";
import { LocalTransport } from "../transports/local/mod.ts";
import { VirtualTransport } from "../transports/virtual/mod.ts";
import { LmtpTransport, SmtpTransport } from "../transports/smtp/transport.ts";
import { ErrorTransport } from "../transports/error/mod.ts";
import { DiscardTransport } from "../transports/discard/mod.ts";
import type { Transport } from "../transports/types.ts";
import { logger } from "../log.ts";

export interface AgentDeps {
  openTable: (spec: string, opts?: { aliases?: boolean }) => LookupTable;
  rewrite: Rewriter;
  resolver: Resolver;
}

export interface DeliveryServices {
  /** By transport name, as transport_maps and *_transport name them. */
  transports: Record<string, Transport>;
  /** master.cf maxproc of declared services that set process_limit (0: no limit). */
  processLimits: Record<string, number>;
}

/** One delivery agent, by master.cf command, known by service name `name`. */
export function deliveryAgent(
  command: string,
  name: string,
  config: Config,
  deps: AgentDeps,
): Transport {
  const agent = agentFor(command, name, config, deps);
  if (agent.name === name) return agent;
  return {
    name,
    deliver: (req) => agent.deliver(req),
    close: () => agent.close?.() ?? Promise.resolve(),
  };
}

function agentFor(
  command: string,
  name: string,
  config: Config,
  deps: AgentDeps,
): Transport {
  switch (command) {
    case "local":
      return new LocalTransport(config, { openTable: deps.openTable, rewrite: deps.rewrite });
    case "virtual":
      return new VirtualTransport(config, { openTable: deps.openTable });
    case "smtp":
      return new SmtpTransport(config, { resolver: deps.resolver, log: logger(name) }, name);
    case "lmtp":
      return new LmtpTransport(config, { resolver: deps.resolver, log: logger(name) });
    case "error":
      return new ErrorTransport();
    case "discard":
      return new DiscardTransport();
  }
  throw new Error(`"${command}" is not a delivery agent`); // load.ts allows only those above
}

/** The built-in transports, then the declared ones (a declared name replaces a built-in). */
export function deliveryServices(config: Config, deps: AgentDeps): DeliveryServices {
  const builtin: [string, string][] = [
    ["local", "local"],
    ["virtual", "virtual"],
    ["smtp", "smtp"],
    ["relay", "smtp"], // master.cf: relay is smtp(8) under another name
    ["lmtp", "lmtp"],
    ["error", "error"],
    ["discard", "discard"],
  ];
  const transports: Record<string, Transport> = {};
  for (const [name, command] of builtin) {
    transports[name] = deliveryAgent(command, name, config, deps);
  }
  const processLimits: Record<string, number> = {};
  for (const s of declared(config.services)) {
    transports[s.name] = deliveryAgent(s.command, s.name, config.forService(s), deps);
    if (s.processLimit !== undefined) processLimits[s.name] = s.processLimit;
  }
  return { transports, processLimits };
}

function declared(services: readonly ServiceSpec[]): ServiceSpec[] {
  return services.filter((s) => s.enabled && isDeliveryService(s));
}
