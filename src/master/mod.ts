/**
 * master(8): builds the daemons from one configuration and starts the
 * services. Everything runs in this process; each daemon is a module.
 */
import type { Config } from "../config/mod.ts";
import { ConfigError } from "../errors.ts";
import { logger, setLogHost } from "../log.ts";
import { openMap } from "../maps/mod.ts";
import type { LookupTable } from "../maps/types.ts";
import { openQueue } from "../queue/mod.ts";
import type { QueueStore } from "../queue/types.ts";
import { cleanup, type CleanupRequest } from "../cleanup/mod.ts";
import { Rewriter } from "../rewrite/mod.ts";
import { Policy } from "../smtpd/policy.ts";
import { readSettings, startSmtpServer } from "../smtpd/mod.ts";
import { DeliveryLoop } from "../qmgr/mod.ts";
import { FlushService } from "../flush/mod.ts";
import { deliveryServices } from "./transports.ts";
import { isDeliveryService } from "../config/mod.ts";
import type { Transport } from "../transports/types.ts";
import { type Endpoint, serviceEndpoints } from "./listen.ts";
import { clientHostname } from "../dns/client_name.ts";
import { type Resolver, resolverFromConfig } from "../dns/resolver.ts";

export interface RunningService {
  name: string;
  command: string;
  address: Endpoint;
}

export interface Facteur {
  services: RunningService[];
  queue: QueueStore;
  /**
   * postqueue -f (SIGUSR1 in `facteur serve`): the queue manager looks at the
   * queue now, dead destinations included, defer_transports too.
   */
  kick(): void;
  /** Stops accepting, lets sessions and deliveries finish, closes the queue. */
  stop(): Promise<void>;
}

/** The daemons, built but not listening: what `facteur check` validates. */
export interface Daemons {
  config: Config;
  openTable: (spec: string, opts?: { aliases?: boolean }) => LookupTable;
  rewrite: Rewriter;
  policyFor(config: Config): Policy;
  resolver: Resolver;
  /** The delivery agents by master.cf service name. */
  transports: Record<string, Transport>;
  /** Declared delivery services' process_limit (master.cf maxproc), by transport name. */
  processLimits: Record<string, number>;
}

/** Opens each table once; every daemon shares it. */
function tableCache(config: Config) {
  const tables = new Map<string, LookupTable>();
  return (spec: string, opts: { aliases?: boolean } = {}) => {
    const key = `${opts.aliases ? "aliases " : ""}${spec}`;
    let table = tables.get(key);
    if (!table) {
      table = openMap(spec, { ...opts, baseDir: config.baseDir });
      tables.set(key, table);
    }
    return table;
  };
}

/** Parameters whose values are lookup tables, opened at start-up so a syntax error stops it. */
const TABLE_PARAMETERS = [
  "alias_maps",
  "local_recipient_maps",
  "virtual_alias_maps",
  "virtual_mailbox_maps",
  "relay_recipient_maps",
  "transport_maps",
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
  const openTable = tableCache(config);
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
  return { config, openTable, rewrite, policyFor, resolver, transports, processLimits };
}

export async function startFacteur(config: Config): Promise<Facteur> {
  setLogHost(config.get("myhostname"));
  const log = logger("master");
  const daemons = buildDaemons(config);
  const resolver = daemons.resolver;
  const dataDir = config.path("data_directory");
  await Deno.mkdir(dataDir, { recursive: true });
  // SQLite in its own thread: its fsyncs must not stall the SMTP sessions on this one.
  const queue = await openQueue(dataDir, {
    thread: "worker",
    onWorkerDeath: (e) => log(`fatal: queue worker: ${e.message}; every queue operation now fails`),
  }).catch((e) => {
    throw new ConfigError(`cannot open the queue in ${dataDir}: ${e.message}`);
  });

  const transports = daemons.transports;
  const delivery = new DeliveryLoop({
    config,
    queue,
    rewrite: daemons.rewrite,
    transports,
    processLimits: daemons.processLimits,
    log: logger("qmgr"),
  });

  // flush(8) for ETRN: fast_flush_domains decides which domains may be flushed.
  const flush = new FlushService(config, {
    queue,
    kick: () => delivery.flush(),
    openTable: daemons.openTable,
    warn: logger("flush"),
  });

  const queueLog = logger("qmgr");
  const submit = async (req: CleanupRequest) => {
    const id = await cleanup(req, {
      config: cleanupSettings(config),
      queue,
      expandRecipients: (r) => daemons.rewrite.expandVirtualAliases(r),
    });
    // The line Postfix's qmgr logs when a message enters the queue.
    queueLog(
      `${id}: from=<${req.envelope.sender}>, size=${req.content.length}, ` +
        `nrcpt=${req.envelope.recipients.length} (queue active)`,
    );
    delivery.kick();
    return id;
  };

  const servers: { close(): Promise<void> }[] = [];
  const services: RunningService[] = [];
  try {
    for (const service of config.services.filter((s) => s.enabled)) {
      const view = config.forService(service);
      const endpoints = serviceEndpoints(service, config);
      for (const endpoint of endpoints) {
        const server = await startSmtpServer({
          config: view,
          policy: daemons.policyFor(view),
          submit,
          log: logger("smtpd"),
          processLimit: service.processLimit,
          openTable: daemons.openTable,
          clientHostname: view.bool("smtpd_peername_lookup")
            ? (address) => clientHostname(address, resolver)
            : undefined,
          etrn: (domain) => flush.etrn(domain),
        }, endpoint).catch((e) => {
          throw new ConfigError(
            `service "${service.name}" cannot listen on ${endpoint.host}:${endpoint.port}: ${e.message}`,
          );
        });
        servers.push(server);
        services.push({ name: service.name, command: service.command, address: server.address });
        log(`${service.name} (${service.command}) listening on ${fmt(server.address)}`);
      }
    }
  } catch (e) {
    await Promise.all(servers.map((s) => s.close()));
    await queue.close();
    throw e;
  }
  delivery.start();

  return {
    services,
    queue,
    kick: () => delivery.flush(),
    async stop() {
      await Promise.all(servers.map((s) => s.close()));
      await delivery.stop();
      // Parked SMTP connections say QUIT (postconf(5) smtp_connection_cache_on_demand).
      await Promise.all(Object.values(transports).map((t) => t.close?.()));
      await queue.close();
      log("stopped");
    },
  };
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
