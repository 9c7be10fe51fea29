/**
 * `facteur queue`: the operator's queue commands, Postfix's mailq/postqueue
 * (-p, -j, -f, -s), postsuper (-h, -H, -d, -r), postcat -q and qshape.
 * They go through the running server's admin API when one is configured,
 * else open the queue database directly (queue_backend.ts), so they work
 * whether the server runs or not. A running server is told to look at the
 * queue with SIGUSR1 after a direct release/requeue/flush.
 */
import type { Config } from "../config/mod.ts";
import { MailError } from "../errors.ts";
import { FlushService } from "../flush/mod.ts";
import { openMap } from "../maps/mod.ts";
import { signalServer } from "../master/pid_file.ts";
import type { QueueName, QueueStore } from "../queue/types.ts";
import { AdminApiError } from "./admin_client.ts";
import { formatMailq, formatMailqJson } from "./mailq.ts";
import { Progress } from "./progress.ts";
import { formatShape } from "./qshape.ts";
import {
  appliesToAll,
  type BackendChoice,
  checkFilter,
  FilterError,
  openBackend,
  type QueueAction,
  type QueueBackend,
  type QueueFilter,
} from "./queue_backend.ts";
import { formatShow, fromSummary } from "./queue_show.ts";

export type { QueueAction } from "./queue_backend.ts";

/** Options every queue command takes. */
export interface QueueCommandOptions {
  json?: boolean;
  /** Admin API token (else $FACTEUR_ADMIN_TOKEN, else admin_token_file). */
  token?: string;
  /** Work on the database even when the admin API is available. */
  direct?: boolean;
}

/** What each action's summary line says (postsuper's words). */
const DONE: Record<QueueAction, string> = {
  hold: "Placed on hold",
  release: "Released from hold",
  delete: "Deleted",
  requeue: "Requeued",
};

/** How many ids one bulk request or progress step carries. */
const BATCH = 500;

function say(text: string): void {
  console.log(`facteur: queue: ${text}`);
}

function complain(text: string): void {
  console.error(`facteur: queue: ${text}`);
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

async function write(bytes: Uint8Array | string): Promise<void> {
  const data = typeof bytes === "string" ? new TextEncoder().encode(bytes) : bytes;
  let at = 0;
  while (at < data.length) at += await Deno.stdout.write(data.subarray(at));
}

/** postqueue -f / -s over the database: fast_flush_domains decides -s, as flush(8). */
async function directFlush(queue: QueueStore, config: Config, domain?: string): Promise<number> {
  if (domain === undefined) {
    let count = 0;
    for (const m of await queue.list()) {
      if ((m.queue === "deferred" || m.queue === "incoming") && await queue.requeue(m.id)) count++;
    }
    return count;
  }
  const flush = new FlushService(config, {
    queue,
    openTable: (spec, o) => openMap(spec, { ...o, baseDir: config.baseDir }),
  });
  if (!await flush.eligible(domain)) {
    throw new FilterError(`flush: ${domain} is not eligible for flushing (fast_flush_domains)`);
  }
  return await queue.requeueDomain(domain);
}

/**
 * Opens the backend, runs `fn`, closes. Bad filters, API errors and storage
 * failures are printed and give exit 1; a ConfigError goes to main.
 */
async function withBackend(
  configFile: string,
  opts: QueueCommandOptions,
  fn: (choice: BackendChoice) => Promise<number>,
): Promise<number> {
  let choice: BackendChoice;
  try {
    choice = await openBackend(configFile, {
      token: opts.token,
      direct: opts.direct,
      warn: (line) => complain(`warning: ${line}`),
      directFlush,
    });
  } catch (e) {
    if (e instanceof AdminApiError || e instanceof FilterError) {
      complain(e.message);
      return 1;
    }
    if ((e as Error).name === "ConfigError") throw e;
    complain(`cannot open the queue: ${(e as Error).message}`);
    return 1;
  }
  try {
    return await fn(choice);
  } catch (e) {
    if (e instanceof AdminApiError) complain(e.describe(choice.tokenSource));
    else if (e instanceof MailError) complain(e.reply);
    else complain((e as Error).message);
    return 1;
  } finally {
    await choice.backend.close();
  }
}

/** Filter options → QueueFilter, checked; a FilterError names the bad one. */
export function filterOf(opts: Record<string, string | undefined>): QueueFilter {
  const filter: QueueFilter = {
    queue: opts.queue as QueueName | undefined,
    sender: opts.sender === "<>" ? "" : opts.sender,
    recipient: opts.recipient,
    domain: opts.domain,
    minAge: opts.minAge,
    maxAge: opts.maxAge,
  };
  checkFilter(filter);
  return filter;
}

function checked<T>(fn: () => T): T | number {
  try {
    return fn();
  } catch (e) {
    if (!(e instanceof FilterError)) throw e;
    complain(e.message);
    return 64;
  }
}

/** mailq / postqueue -p; --json: postqueue -j. Corrupt mail only when asked for (--queue corrupt). */
export function queueListCommand(
  configFile: string,
  opts: QueueCommandOptions & Record<string, string | boolean | undefined>,
): Promise<number> {
  const filter = checked(() => filterOf(opts as Record<string, string | undefined>));
  if (typeof filter === "number") return Promise.resolve(filter);
  return withBackend(configFile, opts, async ({ backend }) => {
    const summaries = (await backend.list(filter))
      .filter((s) => filter.queue !== undefined || s.queue !== "corrupt");
    const messages = summaries.map(fromSummary);
    await write(opts.json ? formatMailqJson(messages) : formatMailq(messages));
    return 0;
  });
}

/** One message: envelope and recipients; --json: the API's object. */
export function queueShowCommand(
  id: string,
  configFile: string,
  opts: QueueCommandOptions,
): Promise<number> {
  return withBackend(configFile, opts, async ({ backend }) => {
    const d = await backend.show(id);
    if (!d) {
      complain(`no message with id ${id}`);
      return 1;
    }
    await write(opts.json ? JSON.stringify(d) + "\n" : formatShow(d));
    return 0;
  });
}

/** postcat -q: the message as stored, headers and body. */
export function queueCatCommand(
  id: string,
  configFile: string,
  opts: QueueCommandOptions,
): Promise<number> {
  return withBackend(configFile, opts, async ({ backend }) => {
    const bytes = await backend.raw(id);
    if (!bytes) {
      complain(`no message with id ${id}`);
      return 1;
    }
    await write(bytes);
    return 0;
  });
}

/** ALL: every message the action applies to (within the filter), in batches, with progress. */
async function actOnAll(
  backend: QueueBackend,
  action: QueueAction,
  filter: QueueFilter,
): Promise<number> {
  const ids = (await backend.list(filter)).filter((s) => appliesToAll(action, s.queue))
    .map((s) => s.id);
  const progress = new Progress(`facteur: queue: ${action}`, ids.length);
  let changed = 0;
  for (let i = 0; i < ids.length; i += BATCH) {
    changed += await backend.actMany(action, ids.slice(i, i + BATCH));
    progress.update(Math.min(i + BATCH, ids.length));
  }
  progress.finish(ids.length);
  return changed;
}

/** postsuper -h/-H/-d/-r with queue ids, or ALL (narrowed by the list filters). */
export function queueActionCommand(
  action: QueueAction,
  ids: string[],
  configFile: string,
  opts: QueueCommandOptions & Record<string, string | boolean | undefined> = {},
): Promise<number> {
  const filter = checked(() => filterOf(opts as Record<string, string | undefined>));
  if (typeof filter === "number") return Promise.resolve(filter);
  return withBackend(configFile, opts, async ({ backend, config }) => {
    let status = 0;
    let count = 0;
    if (ids.length === 1 && ids[0] === "ALL") {
      count = await actOnAll(backend, action, filter);
    } else {
      const progress = new Progress(`facteur: queue: ${action}`, ids.length);
      for (const [i, id] of ids.entries()) {
        const outcome = await backend.act(action, id);
        if (outcome.changed) count++;
        else {
          complain(
            outcome.notFound ? `no message with id ${id}` : outcome.why ?? `${id}: not changed`,
          );
          status = 1;
        }
        progress.update(i + 1);
      }
      progress.finish(ids.length);
    }
    say(`${DONE[action]}: ${plural(count, "message")}`);
    // Released and requeued mail is due now: a running server need not wait for its next scan.
    if (backend.kind === "direct" && count > 0 && (action === "release" || action === "requeue")) {
      signalServer(config.path("data_directory"));
    }
    return status;
  });
}

/** postqueue -f (every deferred message) or -s DOMAIN (fast_flush_domains only). */
export function queueFlushCommand(
  configFile: string,
  opts: QueueCommandOptions & { domain?: string },
): Promise<number> {
  let domain: string | undefined;
  if (opts.domain !== undefined) {
    domain = opts.domain.replace(/\.$/, "");
    if (!/^[A-Za-z0-9.-]+$/.test(domain) || domain.startsWith(".")) {
      complain(`flush: bad domain name: ${JSON.stringify(opts.domain)}`);
      return Promise.resolve(1);
    }
  }
  return withBackend(configFile, opts, async ({ backend, config, serverPid }) => {
    let count: number;
    try {
      count = await backend.flush(domain);
    } catch (e) {
      if (!(e instanceof FilterError)) throw e;
      complain(e.message);
      return 1;
    }
    const pid = backend.kind === "direct" ? signalServer(config.path("data_directory")) : serverPid;
    const due = `${plural(count, "message")} due now`;
    say(
      pid === undefined ? `${due}; no running server found` : `${due}; server (pid ${pid}) woken`,
    );
    return 0;
  });
}

/** qshape: recipients per domain and age; --queue narrows (default: every queue). */
export function queueShapeCommand(
  configFile: string,
  opts: QueueCommandOptions & { queue?: string },
): Promise<number> {
  const filter = checked(() => filterOf({ queue: opts.queue }));
  if (typeof filter === "number") return Promise.resolve(filter);
  return withBackend(configFile, opts, async ({ backend }) => {
    const shape = await backend.shape(filter.queue);
    await write(opts.json ? JSON.stringify(shape) + "\n" : formatShape(shape));
    return 0;
  });
}
