/**
 * The route explainer's last stage: what local(8) does with a recipient
 * whose transport is a local delivery agent — alias_maps (recursive,
 * :include:, owner- senders, loops), luser_relay, and the mailbox it ends
 * in. The expansion is the local transport's own (LocalTransport.explain,
 * a dry run): nothing is delivered.
 */
import { type Config, isDeliveryService } from "../config/mod.ts";
import type { Rewriter } from "../rewrite/mod.ts";
import type { OpenTable } from "../rewrite/types.ts";
import { type Hop, type LeafTarget, LocalTransport } from "../transports/local/mod.ts";

/** One final delivery of the expansion, and the hops that led to it. */
export interface LocalDelivery {
  address: string;
  /** From the recipient (first) to this delivery's address (last). */
  trail: Hop[];
  /** "sent": it would be delivered; "bounced"/"deferred": what delivery would answer. */
  status: "sent" | "deferred" | "bounced";
  dsn: string;
  reason: string;
  /** The mailbox (path, Maildir or not, whose), or the |command or /file local(8) would use. */
  target: LeafTarget | null;
}

export interface LocalRoute {
  /** The address local(8) receives (localpart folded to lower case). */
  recipient: string;
  /** The transport (master.cf service) running local(8). */
  transport: string;
  /** The envelope sender local(8) receives (after cleanup's rewriting). */
  sender: string;
  deliveries: LocalDelivery[];
  /** The agent could not start (a configuration error): nothing would be delivered. */
  error: string | null;
}

/**
 * The configuration local(8) runs with for `transport`, or undefined when
 * that transport is not local(8): a declared [services.NAME] with
 * command = "local" (its -o overrides apply), or the built-in "local".
 */
export function localAgentConfig(config: Config, transport: string): Config | undefined {
  const declared = config.services.find((s) =>
    s.enabled && s.name === transport && isDeliveryService(s)
  );
  if (declared) return declared.command === "local" ? config.forService(declared) : undefined;
  return transport === "local" ? config : undefined;
}

export interface LocalExplainDeps {
  openTable: OpenTable;
  rewrite: Rewriter;
  /** The passwd file for system accounts; default /etc/passwd. */
  passwdFile?: string;
}

/** local(8)'s expansion of `recipient` sent by `sender`, as a dry run. */
export async function explainLocal(
  config: Config,
  transport: string,
  recipient: string,
  sender: string,
  deps: LocalExplainDeps,
): Promise<LocalRoute> {
  const out: LocalRoute = { recipient, transport, sender, deliveries: [], error: null };
  let agent: LocalTransport;
  try {
    agent = new LocalTransport(config, {
      openTable: deps.openTable,
      rewrite: deps.rewrite,
      passwdFile: deps.passwdFile,
    });
  } catch (e) {
    out.error = e instanceof Error ? e.message : String(e);
    return out;
  }
  const plan = await agent.explain(recipient, sender);
  out.recipient = plan.recipient;
  out.deliveries = plan.leaves.map((l) => ({
    address: l.address,
    trail: [...(l.trail ?? [])],
    status: l.outcome.status,
    dsn: l.outcome.dsn,
    reason: l.outcome.reason,
    target: l.target ?? null,
  }));
  return out;
}
