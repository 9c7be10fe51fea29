/**
 * The smtp(8), relay and lmtp(8) delivery agents: resolve the request's
 * nexthop to addresses, then try them in order with the client engine.
 *
 * smtp_connect.c: a session that fails before MAIL FROM (connect, greeting,
 * EHLO) moves on to the next address; so do recipients that got a temporary
 * reply, unless that was the last address (SMTP_MISC_FLAG_FINAL_SERVER).
 * A 5xx greeting also moves on (postconf(5) smtp_skip_5xx_greeting = yes).
 * What the last address tried said is what each recipient gets.
 *
 * A nexthop may be a list (postconf(5) relayhost, Postfix 3.5), and
 * smtp_fallback_relay adds destinations after it; each destination gets at
 * most smtp_mx_address_limit addresses and smtp_mx_session_limit sessions.
 */
import type { Config } from "../../config/mod.ts";
import { MailError } from "../../errors.ts";
import {
  type Destination,
  familiesFromInetProtocols,
  type Family,
  parseNexthop,
  resolveNexthop,
  splitNexthopList,
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
  /**
   * smtp(8)'s informational lines without a queue id: an address that could
   * not be used before the next one is tried ("connect to mx1[..]:25: Connection refused").
   */
  log?: (line: string) => void;
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

/** postconf(5) smtp_mx_address_limit, smtp_mx_session_limit (lmtp_* for LMTP); 0 = no limit. */
export interface SessionLimits {
  addresses: number;
  sessions: number;
}

function sessionLimits(config: Config, prefix: "smtp" | "lmtp"): SessionLimits {
  return {
    addresses: config.int(`${prefix}_mx_address_limit`),
    sessions: config.int(`${prefix}_mx_session_limit`),
  };
}

/** The destinations of one delivery request, in the order smtp_connect.c tries them. */
export interface DestinationPlan {
  /** The request's nexthop list. */
  nexthops: string[];
  /** postconf(5) smtp_fallback_relay (lmtp_fallback_relay), tried after the nexthops. */
  fallbacks: string[];
  /** The nexthop is relayhost: a destination that cannot be found is a configuration problem. */
  relayhost: boolean;
}

/**
 * smtp_connect.c tests the first destination against relayhost; the whole
 * nexthop is compared too, so a relayhost list counts as well.
 */
function isRelayhost(nexthop: string, relayhost: string): boolean {
  const value = relayhost.trim();
  return value !== "" && (nexthop.trim() === value || splitNexthopList(nexthop)[0] === value);
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
  readonly #limits: SessionLimits;
  readonly #fallbacks: string[];
  readonly #log?: (line: string) => void;
  readonly #relayhost: string;

  constructor(config: Config, deps: SmtpTransportDeps, name = "smtp") {
    this.name = name;
    this.#settings = smtpSettings((n) => config.get(n));
    this.#port = tcpPortParameter(config, "smtp_tcp_port");
    this.#families = familiesFromInetProtocols(config.list("inet_protocols"));
    this.#resolver = deps.resolver;
    this.#deliver = deps.deliver;
    this.#cache = deps.deliver ? undefined : connectionCache(config);
    this.#limits = sessionLimits(config, "smtp");
    this.#fallbacks = config.list("smtp_fallback_relay");
    this.#log = deps.log;
    this.#relayhost = config.get("relayhost");
  }

  /** Parked connections (tests). */
  get cachedConnections(): number {
    return this.#cache?.size ?? 0;
  }

  /** Server stop: QUIT every parked connection. */
  async close(): Promise<void> {
    await this.#cache?.close();
  }

  deliver(req: DeliveryRequest): Promise<RecipientResult[]> {
    const plan: DestinationPlan = {
      nexthops: splitNexthopList(req.nexthop),
      fallbacks: this.#fallbacks,
      relayhost: isRelayhost(req.nexthop, this.#relayhost),
    };
    return deliverToSites(
      plan,
      req,
      this.#limits,
      (site) => this.#targets(site),
      (t, m) => this.#attempt(req.nexthop, t, m),
      this.#log,
    );
  }

  async #targets(site: string): Promise<SmtpTarget[]> {
    const destinations = await resolveNexthop(site, {
      resolver: this.#resolver,
      defaultPort: this.#port,
      families: this.#families,
    });
    return destinations.map(toTarget);
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
  readonly #limits: SessionLimits;
  readonly #fallbacks: string[];
  readonly #log?: (line: string) => void;

  constructor(config: Config, deps: SmtpTransportDeps) {
    this.#settings = smtpSettings((n) => config.get(n), true);
    this.#port = tcpPortParameter(config, "lmtp_tcp_port");
    this.#families = familiesFromInetProtocols(config.list("inet_protocols"));
    this.#resolver = deps.resolver;
    this.#deliver = deps.deliver ?? deliverSmtp;
    this.#myhostname = config.get("myhostname");
    this.#limits = sessionLimits(config, "lmtp");
    this.#fallbacks = config.list("lmtp_fallback_relay");
    this.#log = deps.log;
  }

  deliver(req: DeliveryRequest): Promise<RecipientResult[]> {
    const attempt: Attempt = (t, m) => this.#deliver(t, m, this.#settings, { lmtp: true });
    // lmtp(8): a unix-domain socket, one destination: smtp_connect_local() has
    // no list, no fallback relay and no limits. Postfix logs relay=myhostname[path].
    if (req.nexthop.startsWith("unix:")) {
      const plan: DestinationPlan = { nexthops: [req.nexthop], fallbacks: [], relayhost: false };
      return deliverToSites(plan, req, NO_LIMITS, (site) => this.#socket(site), attempt);
    }
    const plan: DestinationPlan = {
      nexthops: splitNexthopList(req.nexthop.replace(/^inet:/, "")),
      fallbacks: this.#fallbacks,
      relayhost: false, // smtp_connect.c checks relayhost in SMTP mode only
    };
    return deliverToSites(plan, req, this.#limits, (site) => this.#inet(site), attempt, this.#log);
  }

  #socket(nexthop: string): Promise<SmtpTarget[]> {
    const path = nexthop.slice(5);
    if (path === "") {
      throw new MailError(451, "4.3.5", `bad nexthop "${nexthop}": no socket path`);
    }
    return Promise.resolve([{ host: this.#myhostname, path }]);
  }

  async #inet(site: string): Promise<SmtpTarget[]> {
    const hop = parseNexthop(site.replace(/^inet:/, ""), this.#port);
    const destinations = await resolveNexthop(
      { ...hop, mxLookup: false },
      { resolver: this.#resolver, defaultPort: this.#port, families: this.#families },
    );
    return destinations.map(toTarget);
  }
}

const NO_LIMITS: SessionLimits = { addresses: 0, sessions: 0 };

function toTarget(d: Destination): SmtpTarget {
  return { host: d.host, address: d.address, port: d.port };
}

type Attempt = (target: SmtpTarget, message: SmtpMessage) => Promise<SmtpOutcome>;
type Resolve = (site: string) => Promise<SmtpTarget[]>;

/**
 * smtp_connect.c smtp_connect_inet(): each destination of the plan in turn
 * (nexthops, then fallback relays) while recipients are undecided. A
 * destination that cannot be resolved is skipped, even after a hard
 * lookup error ("don't give up ... until we have tried the fallback relay
 * servers"). Recipients still undecided at the end get what the last
 * attempt (or lookup) said.
 */
export async function deliverToSites(
  plan: DestinationPlan,
  req: DeliveryRequest,
  limits: SessionLimits,
  resolve: Resolve,
  attempt: Attempt,
  log?: (line: string) => void,
): Promise<RecipientResult[]> {
  const message = smtpMessage(req);
  const sites = [...plan.nexthops, ...plan.fallbacks];
  const final: RecipientResult[] = [];
  let left = message.recipients;
  // smtp_connect.c's excuse when no address was tried at all.
  let undecided = siteFailed(
    failAll({
      kind: "failed",
      temporary: true,
      dsn: "4.3.0",
      reason: "server unavailable or unable to receive mail",
      relay: "none",
    }, left),
  );
  let lookupFailed = false;
  let lastSite = -1;
  for (const [i, site] of sites.entries()) {
    if (left.length === 0) break;
    lastSite = i;
    let targets: SmtpTarget[];
    try {
      targets = await resolve(site);
    } catch (e) {
      undecided = nexthopFailure(left, e);
      lookupFailed = true;
      continue;
    }
    lookupFailed = false;
    const tried = await trySite(
      limitAddresses(targets, limits.addresses),
      { ...message, recipients: left },
      attempt,
      limits.sessions,
      log,
    );
    final.push(...tried.final);
    if (tried.undecided) undecided = tried.undecided;
    const again = new Set(undecided.map((r) => r.index));
    left = left.filter((r) => again.has(r.index));
  }
  const fallback = lastSite >= plan.nexthops.length;
  if (lookupFailed && (fallback || plan.relayhost)) undecided = undecided.map(configProblem);
  return [...final, ...undecided];
}

/** postconf(5) smtp_mx_address_limit: at most `limit` addresses per destination; 0 = all. */
export function limitAddresses<T>(targets: readonly T[], limit: number): T[] {
  return limit > 0 ? targets.slice(0, limit) : [...targets];
}

/**
 * smtp_connect.c, after the last destination: a relayhost or fallback relay
 * that does not resolve is "a configuration problem": defer with 4.3.5,
 * keeping the diagnostic, instead of bouncing.
 */
function configProblem(r: RecipientResult): RecipientResult {
  return r.status === "bounced" ? { ...r, status: "deferred", dsn: "4.3.5", siteFailure: true } : r;
}

interface SiteOutcome {
  final: RecipientResult[];
  /** The recipients still undecided, as the last attempt left them; undefined when nothing was tried. */
  undecided?: RecipientResult[];
}

/**
 * Tries one destination's addresses in turn with the recipients still
 * undecided. Final answers (sent, bounced) stay; deferred recipients go on
 * to the next address. postconf(5) smtp_mx_session_limit: stop after that
 * many sessions; sessions that fail before EHLO (and TLS) is done do not count.
 */
async function trySite(
  targets: readonly SmtpTarget[],
  message: SmtpMessage,
  attempt: Attempt,
  sessionLimit: number,
  log?: (line: string) => void,
): Promise<SiteOutcome> {
  const final: RecipientResult[] = [];
  let left = message.recipients;
  let undecided: RecipientResult[] | undefined;
  let sessions = 0;
  for (const [i, target] of targets.entries()) {
    if (left.length === 0) break;
    const outcome = await attempt(target, { ...message, recipients: left });
    if (outcome.kind === "failed") {
      // smtp_connect.c: the failure is logged when another address is tried next;
      // the last one's is the recipients' status text.
      if (i < targets.length - 1) log?.(outcome.reason);
      undecided = failAll(outcome, left);
      if (outcome.temporary) undecided = siteFailed(undecided);
      continue;
    }
    undecided = outcome.results.filter((r) => r.status === "deferred");
    final.push(...outcome.results.filter((r) => r.status !== "deferred"));
    const again = new Set(undecided.map((r) => r.index));
    left = left.filter((r) => again.has(r.index));
    if (++sessions === sessionLimit) break;
  }
  return { final, undecided };
}

/**
 * Tries each target in turn (one destination, no session limit): the
 * recipients' results. See deliverToSites for the whole request.
 */
export async function tryTargets(
  targets: readonly SmtpTarget[],
  req: DeliveryRequest,
  attempt: Attempt,
): Promise<RecipientResult[]> {
  const plan: DestinationPlan = { nexthops: [req.nexthop], fallbacks: [], relayhost: false };
  return await deliverToSites(plan, req, NO_LIMITS, () => Promise.resolve([...targets]), attempt);
}

/** The destination as a whole failed (RecipientResult.siteFailure): qmgr's dead-site feedback. */
function siteFailed(results: RecipientResult[]): RecipientResult[] {
  return results.map((r) => r.status === "deferred" ? { ...r, siteFailure: true } : r);
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

/**
 * A DNS or nexthop syntax failure: every recipient deferred or bounced by
 * its code, relay=none. A temporary one is a site failure.
 */
function nexthopFailure(recipients: { index: number }[], e: unknown): RecipientResult[] {
  const error = e instanceof MailError
    ? e
    : new MailError(451, "4.3.0", `next-hop resolution failed: ${(e as Error).message}`);
  return recipients.map((r) => ({
    index: r.index,
    status: error.temporary ? "deferred" : "bounced",
    dsn: error.enhanced,
    reason: error.message,
    relay: "none",
    ...(error.temporary ? { siteFailure: true } : {}),
  }));
}
