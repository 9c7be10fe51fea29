/**
 * The smtp(8), relay and lmtp(8) delivery agents: resolve the request's
 * nexthop to addresses, then try them in order with the client engine.
 *
 * smtp_connect.c: a session that fails before MAIL FROM (connect, greeting,
 * EHLO) moves on to the next address; so do recipients that got a temporary
 * reply, unless that was the last address (SMTP_MISC_FLAG_FINAL_SERVER).
 * A 5xx greeting also moves on (postconf(5) smtp_skip_5xx_greeting = yes).
 * What the last address tried said is what each recipient gets.
 */
import type { Config } from "../../config/mod.ts";
import { MailError } from "../../errors.ts";
import {
  type Destination,
  familiesFromInetProtocols,
  type Family,
  parseNexthop,
  resolveNexthop,
  tcpPortParameter,
} from "../../dns/nexthop.ts";
import type { Resolver } from "../../dns/resolver.ts";
import type { DeliveryRequest, RecipientResult, Transport } from "../types.ts";
import {
  deliverSmtp,
  failAll,
  relayName,
  type SmtpMessage,
  type SmtpOutcome,
  SmtpSession,
  type SmtpSettings,
  type SmtpTarget,
} from "./client.ts";
import { ConnectionCache } from "./connection_cache.ts";
import { smtpSettings } from "./settings.ts";

export interface SmtpTransportDeps {
  resolver: Resolver;
  /** Test hook: one delivery over one connection (no connection cache). */
  deliver?: typeof deliverSmtp;
}

/** The connection cache from postconf(5) smtp_connection_*; undefined when off. */
function connectionCache(config: Config): ConnectionCache | undefined {
  if (!config.bool("smtp_connection_cache_on_demand")) return undefined;
  return new ConnectionCache({
    idleMs: config.time("smtp_connection_cache_time_limit") * 1000,
    reuseMs: config.time("smtp_connection_reuse_time_limit") * 1000,
    reuseCount: config.int("smtp_connection_reuse_count_limit"),
  });
}

/** A cached connection's identity: the request's nexthop and the address it went to. */
function cacheKey(nexthop: string, target: SmtpTarget): string {
  return `${nexthop} ${relayName(target)}`;
}

/** smtp(8); master.cf's "relay" service is the same program under another name. */
export class SmtpTransport implements Transport {
  readonly name: string;
  readonly #settings: SmtpSettings;
  readonly #port: number;
  readonly #families: Family[];
  readonly #resolver: Resolver;
  readonly #deliver: typeof deliverSmtp | undefined;
  readonly #cache: ConnectionCache | undefined;

  constructor(config: Config, deps: SmtpTransportDeps, name = "smtp") {
    this.name = name;
    this.#settings = smtpSettings((n) => config.get(n));
    this.#port = tcpPortParameter(config, "smtp_tcp_port");
    this.#families = familiesFromInetProtocols(config.list("inet_protocols"));
    this.#resolver = deps.resolver;
    this.#deliver = deps.deliver;
    this.#cache = deps.deliver ? undefined : connectionCache(config);
  }

  /** Parked connections (tests). */
  get cachedConnections(): number {
    return this.#cache?.size ?? 0;
  }

  /** Server stop: QUIT every parked connection. */
  async close(): Promise<void> {
    await this.#cache?.close();
  }

  async deliver(req: DeliveryRequest): Promise<RecipientResult[]> {
    let destinations: Destination[];
    try {
      destinations = await resolveNexthop(req.nexthop, {
        resolver: this.#resolver,
        defaultPort: this.#port,
        families: this.#families,
      });
    } catch (e) {
      return nexthopFailure(req, e);
    }
    const targets = destinations.map((d): SmtpTarget => ({
      host: d.host,
      address: d.address,
      port: d.port,
    }));
    return await tryTargets(targets, req, (t, m) => this.#attempt(req.nexthop, t, m));
  }

  #attempt(nexthop: string, target: SmtpTarget, message: SmtpMessage): Promise<SmtpOutcome> {
    if (this.#deliver) return this.#deliver(target, message, this.#settings);
    if (!this.#cache) return deliverSmtp(target, message, this.#settings);
    return this.#cached(this.#cache, cacheKey(nexthop, target), target, message);
  }

  /**
   * One delivery over a parked connection when there is one, else a new
   * one; the connection is parked again afterwards. A parked connection
   * lost before MAIL FROM (the server timed it out) delivered nothing: the
   * message goes over a new connection instead, and that is no failure.
   */
  async #cached(
    cache: ConnectionCache,
    key: string,
    target: SmtpTarget,
    message: SmtpMessage,
  ): Promise<SmtpOutcome> {
    const reused = cache.take(key);
    if (reused) {
      const results = await reused.session.send(message);
      if (!reused.session.lostBeforeMail) {
        await cache.park(key, { ...reused, uses: reused.uses + 1 });
        return { kind: "done", results, relay: reused.session.relay };
      }
      await reused.session.close();
    }
    const openedAt = Date.now();
    const session = await SmtpSession.open(target, this.#settings);
    if (!(session instanceof SmtpSession)) return session;
    const results = await session.send(message);
    await cache.park(key, { session, openedAt, uses: 1 });
    return { kind: "done", results, relay: session.relay };
  }
}

/**
 * lmtp(8). Nexthop forms: "unix:/path", "inet:host", "inet:host:port",
 * "host:port", "[host]:port". No MX lookup: LMTP names a host, not a
 * mail domain (smtp_connect.c looks up MX records in SMTP mode only).
 */
export class LmtpTransport implements Transport {
  readonly name = "lmtp";
  readonly #settings: SmtpSettings;
  readonly #port: number;
  readonly #families: Family[];
  readonly #resolver: Resolver;
  readonly #deliver: typeof deliverSmtp;
  readonly #myhostname: string;

  constructor(config: Config, deps: SmtpTransportDeps) {
    this.#settings = smtpSettings((n) => config.get(n), true);
    this.#port = tcpPortParameter(config, "lmtp_tcp_port");
    this.#families = familiesFromInetProtocols(config.list("inet_protocols"));
    this.#resolver = deps.resolver;
    this.#deliver = deps.deliver ?? deliverSmtp;
    this.#myhostname = config.get("myhostname");
  }

  async deliver(req: DeliveryRequest): Promise<RecipientResult[]> {
    let targets: SmtpTarget[];
    try {
      targets = await this.#targets(req.nexthop);
    } catch (e) {
      return nexthopFailure(req, e);
    }
    return await tryTargets(
      targets,
      req,
      (t, m) => this.#deliver(t, m, this.#settings, { lmtp: true }),
    );
  }

  async #targets(nexthop: string): Promise<SmtpTarget[]> {
    // lmtp(8): a unix-domain socket; Postfix logs relay=myhostname[path].
    if (nexthop.startsWith("unix:")) {
      const path = nexthop.slice(5);
      if (path === "") {
        throw new MailError(451, "4.3.5", `bad nexthop "${nexthop}": no socket path`);
      }
      return [{ host: this.#myhostname, path }];
    }
    const hop = parseNexthop(nexthop.replace(/^inet:/, ""), this.#port);
    const destinations = await resolveNexthop(
      { ...hop, mxLookup: false },
      { resolver: this.#resolver, defaultPort: this.#port, families: this.#families },
    );
    return destinations.map((d) => ({ host: d.host, address: d.address, port: d.port }));
  }
}

type Attempt = (target: SmtpTarget, message: SmtpMessage) => Promise<SmtpOutcome>;

/**
 * Tries each target in turn with the recipients still undecided. Final
 * answers (sent, bounced) stay; deferred recipients go on to the next
 * target; the last target's answers are final.
 */
export async function tryTargets(
  targets: readonly SmtpTarget[],
  req: DeliveryRequest,
  attempt: Attempt,
): Promise<RecipientResult[]> {
  const message = smtpMessage(req);
  const final: RecipientResult[] = [];
  let left = message.recipients;
  // resolveNexthop never returns an empty list; stay total anyway.
  let undecided = failAll(
    { kind: "failed", temporary: true, dsn: "4.4.3", reason: "no address to try", relay: "none" },
    left,
  );
  for (const target of targets) {
    if (left.length === 0) break;
    const outcome = await attempt(target, { ...message, recipients: left });
    if (outcome.kind === "failed") {
      undecided = failAll(outcome, left);
      continue;
    }
    undecided = outcome.results.filter((r) => r.status === "deferred");
    final.push(...outcome.results.filter((r) => r.status !== "deferred"));
    const again = new Set(undecided.map((r) => r.index));
    left = left.filter((r) => again.has(r.index));
  }
  return [...final, ...undecided];
}

/** The queued envelope as the client engine wants it (DSN parameters carried on). */
function smtpMessage(req: DeliveryRequest): SmtpMessage {
  const env = req.envelope;
  return {
    sender: env.sender,
    recipients: req.recipients.map((r) => {
      const queued = env.recipients.find((q) => (q as { index?: number }).index === r.index) ??
        env.recipients[r.index];
      return {
        index: r.index,
        address: r.address,
        orcpt: queued?.orcpt,
        notify: queued?.notify,
      };
    }),
    content: req.content,
    bodyType: env.bodyType,
    smtputf8: env.smtputf8,
    ret: env.ret,
    envid: env.envid,
  };
}

/** A DNS or nexthop syntax failure: every recipient deferred or bounced by its code, relay=none. */
function nexthopFailure(req: DeliveryRequest, e: unknown): RecipientResult[] {
  const error = e instanceof MailError
    ? e
    : new MailError(451, "4.3.0", `next-hop resolution failed: ${(e as Error).message}`);
  return req.recipients.map((r) => ({
    index: r.index,
    status: error.temporary ? "deferred" : "bounced",
    dsn: error.enhanced,
    reason: error.message,
    relay: "none",
  }));
}
