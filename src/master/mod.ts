/**
 * master(8): builds the daemons from one configuration and starts the
 * services. Everything runs in this process; each daemon is a module.
 */
import { type Config, loadConfig, type ServiceSpec } from "../config/mod.ts";
import { Counters } from "../counters.ts";
import { closeSharedUsersStores, facteurKinds } from "../users/mod.ts";
import { ConfigError } from "../errors.ts";
import { logger, setLogHost } from "../log.ts";
import { openMap } from "../maps/mod.ts";
import type { LookupTable } from "../maps/types.ts";
import { openQueue } from "../queue/mod.ts";
import type { QueueStore } from "../queue/types.ts";
import {
  type AddressRewriting,
  addressRewritingFor,
  cleanup,
  type CleanupRequest,
} from "../cleanup/mod.ts";
import { Rewriter } from "../rewrite/mod.ts";
import { Policy } from "../smtpd/policy.ts";
import { readSettings, type SmtpdDeps, startSmtpServer } from "../smtpd/mod.ts";
import { DeliveryLoop } from "../qmgr/mod.ts";
import { FlushService } from "../flush/mod.ts";
import { deliveryServices } from "./transports.ts";
import { isDeliveryService } from "../config/mod.ts";
import type { Transport } from "../transports/types.ts";
import { type Endpoint, serviceEndpoints } from "./listen.ts";
import { clientHostname } from "../dns/client_name.ts";
import { type Resolver, resolverFromConfig } from "../dns/resolver.ts";
import {
  PICKUP_POLICY,
  PICKUP_SOCKET_MODE,
  pickupSocketPath,
  preparePickupDirectory,
} from "./pickup.ts";
import { type ServicePlan, ServiceSet } from "./services.ts";
import { pop3Deps } from "./pop3.ts";
import { MaildropLocks } from "../pop3d/maildrop.ts";
import { startPop3Server } from "../pop3d/mod.ts";
import { LoginThrottle } from "../auth/throttle.ts";
import { type AdminDeps, ensureAdminTokenFile, startAdminService } from "./admin.ts";
import { applyToSelection } from "../admin/queue_ops.ts";

export interface RunningService {
  name: string;
  command: string;
  address: Endpoint;
}

export interface Facteur {
  readonly services: RunningService[];
  queue: QueueStore;
  counters: Counters;
  /**
   * Reads the configuration file again (SIGHUP, POST /v1/reload): when it is
   * valid, new sessions and deliveries use it and open sessions go on;
   * otherwise the running configuration stays and the problems are returned.
   */
  reload(): Promise<ReloadResult>;
  /**
   * postqueue -f (SIGUSR1 in `facteur serve`): the queue manager looks at the
   * queue now, dead destinations included, defer_transports too.
   */
  kick(): void;
  /** Stops accepting, lets sessions and deliveries finish (master_stop_timeout), closes the queue. */
  stop(): Promise<void>;
}

/** The daemons, built but not listening: what `facteur check` validates. */
export interface Daemons {
  config: Config;
  openTable: (spec: string, opts?: { aliases?: boolean }) => LookupTable;
  /** Closes every table opened through openTable (reload, stop). */
  closeTables(): void;
  rewrite: Rewriter;
  policyFor(config: Config): Policy;
  resolver: Resolver;
  /** The delivery agents by master.cf service name. */
  transports: Record<string, Transport>;
  /** Declared delivery services' process_limit (master.cf maxproc), by transport name. */
  processLimits: Record<string, number>;
  /** Canonical mapping, masquerading, BCC and header rewriting for cleanup. */
  addressRewriting: AddressRewriting;
}

/** Opens each table once; every daemon shares it. */
function tableCache(config: Config) {
  const tables = new Map<string, LookupTable>();
  // facteur:users, facteur:domains, facteur:aliases over $data_directory/users.sqlite.
  const kinds = facteurKinds(config.path("data_directory"));
  const open = (spec: string, opts: { aliases?: boolean } = {}) => {
    const key = `${opts.aliases ? "aliases " : ""}${spec}`;
    let table = tables.get(key);
    if (!table) {
      table = openMap(spec, { ...opts, baseDir: config.baseDir, kinds });
      tables.set(key, table);
    }
    return table;
  };
  /** Releases what tables hold (file watchers, the regexp lookup process). */
  const closeAll = () => {
    for (const table of tables.values()) table.close?.();
    tables.clear();
  };
  return { open, closeAll };
}

/** How long a replaced generation's tables stay open after a reload. */
const TABLE_CLOSE_DELAY_MS = 60_000;

/** Parameters whose values are lookup tables, opened at start-up so a syntax error stops it. */
const TABLE_PARAMETERS = [
  "alias_maps",
  "local_recipient_maps",
  "virtual_alias_maps",
  "virtual_mailbox_maps",
  "relay_recipient_maps",
  "transport_maps",
  "relocated_maps",
  "canonical_maps",
  "sender_canonical_maps",
  "recipient_canonical_maps",
  "sender_bcc_maps",
  "recipient_bcc_maps",
];

/**
 * Opens every configured table now: a syntax error is a ConfigError at
 * start-up (Postfix's daemons die on those too), not a deferral at delivery.
 * A missing file only warns: lookups fail temporarily until it exists, as
 * Postfix answers "451 4.3.0" for an unavailable table.
 */
function openAllTables(config: Config, openTable: Daemons["openTable"], warn: (t: string) => void) {
  const aliases = new Set(config.list("alias_maps"));
  const seen = new Set<string>();
  for (const param of TABLE_PARAMETERS) {
    for (const spec of config.list(param)) {
      if (seen.has(spec)) continue;
      seen.add(spec);
      try {
        openTable(spec, aliases.has(spec) ? { aliases: true } : {});
      } catch (e) {
        if (!(e instanceof ConfigError) || !/No such file or directory/.test(e.message)) throw e;
        warn(`warning: ${param}: ${e.message}`);
      }
    }
  }
}

/** Builds every daemon from the configuration; throws ConfigError on anything wrong. */
export function buildDaemons(
  config: Config,
  warn: (text: string) => void = logger("master"),
): Daemons {
  const { open: openTable, closeAll: closeTables } = tableCache(config);
  openAllTables(config, openTable, warn);
  const rewrite = new Rewriter(config, { openTable });
  const policyFor = (c: Config) => new Policy(c, { openTable, rewrite });
  for (const s of config.services.filter((s) => s.enabled && !isDeliveryService(s))) {
    const view = config.forService(s);
    policyFor(view);
    readSettings(view, s.processLimit, openTable); // smtpd's own parameters and client lists
  }
  const resolver = resolverFromConfig(config); // dns_nameservers, dns_query_timeout
  // master.cf's delivery services: the default ones and [services.NAME] command = "smtp", ...
  const { transports, processLimits } = deliveryServices(config, { openTable, rewrite, resolver });
  // cleanup(8)'s address rewriting: its classes and client lists are checked now.
  const addressRewriting = addressRewritingFor(config, {
    openTable,
    search: rewrite.searchSettings,
    log: logger("cleanup"),
  });
  return {
    config,
    openTable,
    closeTables,
    rewrite,
    policyFor,
    resolver,
    transports,
    processLimits,
    addressRewriting,
  };
}

/** How startFacteur reads the configuration again on reload (default: the same file). */
export interface StartOptions {
  loadConfig?: () => Promise<Config>;
  /** The module the queue worker runs (default Deno.mainModule: mod.ts). In-process tests set it. */
  queueWorkerEntry?: string;
}

export type ReloadResult = { ok: true } | { ok: false; problems: string[] };

/** What the daemons of one configuration generation share. */
interface Generation {
  config: Config;
  daemons: Daemons;
  flush: FlushService;
}

export async function startFacteur(config: Config, options: StartOptions = {}): Promise<Facteur> {
  setLogHost(config.get("myhostname"));
  const log = logger("master");
  const daemons = buildDaemons(config);
  const dataDir = config.path("data_directory");
  await Deno.mkdir(dataDir, { recursive: true });
  // SQLite in its own thread: its fsyncs must not stall the SMTP sessions on this one.
  // The delivery loop needs the queue; the queue tells it when its thread was replaced.
  const lost = { recover: () => {} };
  const queue = await openQueue(dataDir, {
    thread: "worker",
    workerEntry: options.queueWorkerEntry,
    // A crashed queue thread is replaced (at most 5 times in 10 minutes); then the queue answers 451.
    restartLimit: 5,
    onWorkerRestart: (e) => {
      log(`warning: queue worker: ${e.message}; a new one has opened the queue`);
      lost.recover();
    },
    onWorkerDeath: (e) => log(`fatal: queue worker: ${e.message}; every queue operation now fails`),
  }).catch((e) => {
    throw new ConfigError(`cannot open the queue in ${dataDir}: ${e.message}`);
  });
  const hasAdmin = config.services.some((s) => s.enabled && s.command === "admin");
  const created = await ensureAdminTokenFile(config.path("admin_token_file"), hasAdmin)
    .catch((e) => {
      throw new ConfigError(`admin_token_file: cannot create it: ${e.message}`);
    });
  if (created) log(`admin_token_file: created ${created} with a new admin token (mode 0600)`);
  const counters = new Counters();
  const startedAt = Date.now();
  let stopping = false;

  const delivery = new DeliveryLoop({
    config,
    queue,
    rewrite: daemons.rewrite,
    transports: daemons.transports,
    processLimits: daemons.processLimits,
    log: logger("qmgr"),
    counters,
  });

  lost.recover = () => void delivery.recoverLost();

  // flush(8) for ETRN: fast_flush_domains decides which domains may be flushed.
  const flushService = (c: Config, d: Daemons) =>
    new FlushService(c, {
      queue,
      kick: () => delivery.flush(),
      openTable: d.openTable,
      warn: logger("flush"),
    });
  let current: Generation = { config, daemons, flush: flushService(config, daemons) };

  const queueLog = logger("qmgr");
  const submit = async (req: CleanupRequest) => {
    const { config, daemons } = current;
    const id = await cleanup(req, {
      config: cleanupSettings(config),
      queue,
      // canonical, masquerading, BCC, header rewriting (ADDRESS_REWRITING_README)
      addressRewriting: daemons.addressRewriting,
      expandRecipients: (r) => daemons.rewrite.expandVirtualAliases(r),
    });
    counters.inc("messages_received_total");
    // The line Postfix's qmgr logs when a message enters the queue.
    queueLog(
      `${id}: from=<${req.envelope.sender}>, size=${req.content.length}, ` +
        `nrcpt=${req.envelope.recipients.length} (queue active)`,
    );
    delivery.kick();
    return id;
  };

  const smtpdDeps = (gen: Generation, service: ServiceSpec): SmtpdDeps => {
    const view = gen.config.forService(service);
    return {
      config: view,
      policy: gen.daemons.policyFor(view),
      submit,
      log: logger("smtpd"),
      processLimit: service.processLimit,
      openTable: gen.daemons.openTable,
      clientHostname: view.bool("smtpd_peername_lookup")
        ? (address) => clientHostname(address, gen.daemons.resolver)
        : undefined,
      etrn: (domain) => gen.flush.etrn(domain),
      counters,
    };
  };
  const pickupDeps = (gen: Generation): SmtpdDeps => ({
    config: gen.config,
    policy: PICKUP_POLICY,
    submit: (req) => submit({ ...req, local: true }),
    log: logger("pickup"),
    openTable: gen.daemons.openTable,
    clientHostname: () => Promise.resolve("localhost"),
  });

  /** The listeners a generation asks for: its [services] and the pickup socket. */
  const plans = (gen: Generation): ServicePlan[] => {
    const list: ServicePlan[] = [];
    for (const service of gen.config.services.filter((s) => s.enabled)) {
      for (const endpoint of serviceEndpoints(service, gen.config)) {
        const where = `${fmt(endpoint)}`;
        const started = (address: Endpoint) =>
          log(`${service.name} (${service.command}) listening on ${fmt(address)}`);
        const cannot = (e: Error) =>
          new ConfigError(`service "${service.name}" cannot listen on ${where}: ${e.message}`);
        if (service.command === "admin") {
          list.push(adminPlan(service, endpoint, { started, cannot }));
          continue;
        }
        if (service.command === "pop3d") {
          list.push(pop3Plan(service, endpoint, { started, cannot }));
          continue;
        }
        list.push({
          key: `smtpd ${service.name} ${where}`,
          name: service.name,
          command: service.command,
          start: async () => {
            const server = await startSmtpServer(smtpdDeps(gen, service), endpoint)
              .catch((e) => {
                throw cannot(e);
              });
            started(server.address);
            return {
              name: service.name,
              command: service.command,
              address: server.address,
              update: () => server.update(smtpdDeps(current, service)),
              close: (graceMs) => server.close(graceMs),
            };
          },
          update: (handle) => handle.update?.(),
        });
      }
    }
    const path = pickupSocketPath(dataDir);
    list.push({
      key: `pickup ${path}`,
      name: "pickup",
      command: "pickup",
      start: async () => {
        await preparePickupDirectory(dataDir);
        const server = await startSmtpServer(pickupDeps(gen), {
          path,
          mode: PICKUP_SOCKET_MODE,
        }).catch((e) => {
          throw new ConfigError(`pickup cannot listen on ${path}: ${e.message}`);
        });
        return {
          name: "pickup",
          command: "pickup",
          address: server.address,
          update: () => server.update(pickupDeps(current)),
          close: (graceMs) => server.close(graceMs),
        };
      },
      update: (handle) => handle.update?.(),
    });
    return list;
  };

  // pop3d: one lock table and one login throttle for every POP3 service (RFC 1939 [IN-USE]).
  const pop3Wiring = {
    locks: new MaildropLocks(),
    throttle: new LoginThrottle(),
    log: logger("pop3d"),
  };
  const pop3Plan = (
    service: ServiceSpec,
    endpoint: Endpoint,
    how: { started(a: Endpoint): void; cannot(e: Error): Error },
  ): ServicePlan => {
    const deps = () =>
      pop3Deps(current.config.forService(service), service.processLimit, pop3Wiring);
    return {
      key: `pop3d ${service.name} ${fmt(endpoint)}`,
      name: service.name,
      command: "pop3d",
      start: async () => {
        const server = await startPop3Server(deps(), endpoint).catch((e) => {
          throw how.cannot(e);
        });
        how.started(server.address);
        return {
          name: service.name,
          command: "pop3d",
          address: server.address,
          update: () => server.update(deps()),
          close: (graceMs) => server.close(graceMs),
        };
      },
      update: (handle) => handle.update?.(),
    };
  };

  /** The admin API (src/admin) over the current generation; its tokens are read per request. */
  const adminPlan = (
    service: ServiceSpec,
    endpoint: Endpoint,
    how: { started(a: Endpoint): void; cannot(e: Error): Error },
  ): ServicePlan => ({
    key: `admin ${service.name} ${fmt(endpoint)}`,
    name: service.name,
    command: "admin",
    start: async () => {
      const server = await startAdminService(adminDeps, endpoint).catch((e) => {
        throw how.cannot(e);
      });
      how.started(server.address);
      return {
        name: service.name,
        command: "admin",
        address: server.address,
        close: () => server.close(),
      };
    },
    update: () => {},
  });

  const adminDeps: AdminDeps = {
    queue,
    config: () => current.config,
    flush: async (domain?: string) => {
      // postqueue -f: every deferred and incoming message, a page at a time.
      const due = domain === undefined
        ? (await applyToSelection(queue, "requeue", {})).changed
        : await queue.requeueDomain(domain);
      delivery.flush();
      return due;
    },
    kick: () => delivery.kick(),
    reload: () => reload(),
    check: async () => {
      try {
        const config = await (options.loadConfig ?? (() => loadConfig(current.config.file!)))();
        buildDaemons(config, () => {});
        return [];
      } catch (e) {
        return [(e as Error).message];
      }
    },
    counters,
    ready: () => !stopping,
    startedAt,
    log: logger("admin"),
  };

  const services = new ServiceSet();
  const stopGraceMs = () => current.config.time("master_stop_timeout") * 1000;
  try {
    await services.apply(plans(current), 0);
  } catch (e) {
    await services.closeAll(0);
    await queue.close();
    throw e;
  }
  delivery.start();

  let reloading: Promise<ReloadResult> = Promise.resolve({ ok: true });
  const reloadOnce = async (): Promise<ReloadResult> => {
    let next: Generation;
    try {
      const config = await (options.loadConfig ?? (() => loadConfig(current.config.file!)))();
      const nextDir = config.path("data_directory");
      if (nextDir !== dataDir) {
        throw new ConfigError(
          `data_directory changed (${dataDir} → ${nextDir}): that needs a restart, not a reload`,
        );
      }
      const daemons = buildDaemons(config, logger("master"));
      next = { config, daemons, flush: flushService(config, daemons) };
      // Checked now so that nothing below can fail on a bad transport limit.
      DeliveryLoop.checkTransports(config, daemons.transports, daemons.processLimits);
      await services.apply(plans(next), stopGraceMs());
    } catch (e) {
      const problems = [(e as Error).message];
      log(`warning: reload refused, the running configuration stays: ${problems[0]}`);
      return { ok: false, problems };
    }
    const previous = current;
    current = next;
    for (const handle of services.handles) handle.update?.();
    delivery.reconfigure({
      config: next.config,
      rewrite: next.daemons.rewrite,
      transports: next.daemons.transports,
      processLimits: next.daemons.processLimits,
    });
    // Deliveries in flight finish with the old agents; their parked connections go now.
    void Promise.all(Object.values(previous.daemons.transports).map((t) => t.close?.()));
    // Sessions and deliveries of the old generation may still look things up: close its
    // tables once they are done with them.
    Deno.unrefTimer(setTimeout(() => previous.daemons.closeTables(), TABLE_CLOSE_DELAY_MS));
    log(`reload -- configuration ${next.config.file ?? "(inline)"}`);
    return { ok: true };
  };

  /** One reload at a time; a second request waits for the first. */
  const reload = (): Promise<ReloadResult> => {
    reloading = reloading.then(reloadOnce, reloadOnce);
    return reloading;
  };

  return {
    get services(): RunningService[] {
      return services.handles.map((h) => ({
        name: h.name,
        command: h.command,
        address: h.address,
      }));
    },
    queue,
    counters,
    kick: () => delivery.flush(),
    reload,
    async stop() {
      stopping = true;
      const graceMs = stopGraceMs();
      // Stop accepting; open sessions get master_stop_timeout to finish.
      await services.closeAll(graceMs);
      const finished = await within(delivery.stop(), graceMs);
      if (!finished) {
        log(
          "warning: deliveries still in progress after master_stop_timeout; " +
            "they are tried again at the next start",
        );
      }
      // Parked SMTP connections say QUIT (postconf(5) smtp_connection_cache_on_demand).
      await Promise.all(Object.values(current.daemons.transports).map((t) => t.close?.()));
      current.daemons.closeTables();
      closeSharedUsersStores();
      await queue.close();
      log("stopped");
    },
  };
}

/** Whether `work` settled within `ms`. */
async function within(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<false>((resolve) => timer = setTimeout(() => resolve(false), ms));
  try {
    return await Promise.race([work.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function fmt(e: Endpoint): string {
  return e.host.includes(":") ? `[${e.host}]:${e.port}` : `${e.host}:${e.port}`;
}

function cleanupSettings(config: Config) {
  return {
    myhostname: config.get("myhostname"),
    myorigin: config.get("myorigin"),
    mail_name: config.get("mail_name"),
    hopcount_limit: config.int("hopcount_limit"),
    header_size_limit: config.int("header_size_limit"),
  };
}
