/**
 * `facteur queue`: the operator's queue commands, Postfix's mailq/postqueue
 * (-p, -j, -f, -s) and postsuper (-h, -H, -d, -r). They open the queue
 * database directly (SQLite WAL allows this second process; busy_timeout
 * waits for the server's write lock), so they work whether the server runs
 * or not. A running server is told to look at the queue with SIGUSR1.
 */
import { type Config, loadConfig } from "../config/mod.ts";
import { MailError } from "../errors.ts";
import { FlushService } from "../flush/mod.ts";
import { openMap } from "../maps/mod.ts";
import { signalServer } from "../master/pid_file.ts";
import { openQueue } from "../queue/mod.ts";
import type { QueuedMessage, QueueStore } from "../queue/types.ts";
import { formatMailq, formatMailqJson } from "./mailq.ts";

/** postsuper's operations. */
export type QueueAction = "hold" | "release" | "delete" | "requeue";

/** What each action applies to with ALL, its store call and postsuper's summary word. */
const ACTIONS: Record<QueueAction, {
  all: (m: QueuedMessage) => boolean;
  run: (q: QueueStore, id: string) => Promise<boolean>;
  done: string;
  /** Why a message that exists was left alone. */
  refused: (m: QueuedMessage) => string;
}> = {
  hold: {
    all: (m) => m.queue !== "hold" && m.queue !== "corrupt",
    run: (q, id) => q.hold(id),
    done: "Placed on hold",
    refused: (m) => `${m.id} is in the ${m.queue} queue`,
  },
  release: {
    all: (m) => m.queue === "hold",
    run: (q, id) => q.release(id),
    done: "Released from hold",
    refused: (m) => `${m.id} is not on hold`,
  },
  delete: {
    all: () => true,
    run: (q, id) => q.remove(id),
    done: "Deleted",
    refused: (m) => `${m.id} could not be deleted`,
  },
  requeue: {
    all: (m) => m.queue === "incoming" || m.queue === "deferred",
    run: (q, id) => q.requeue(id),
    done: "Requeued",
    refused: (m) =>
      m.queue === "hold"
        ? `${m.id} is on hold (release it first)`
        : `${m.id} is in the ${m.queue} queue`,
  },
};

function say(text: string): void {
  console.log(`facteur: queue: ${text}`);
}

function complain(text: string): void {
  console.error(`facteur: queue: ${text}`);
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

/** Loads the configuration, opens the queue, runs `fn`, closes; storage failures are exit 1. */
async function withQueue(
  configFile: string,
  fn: (queue: QueueStore, config: Config) => Promise<number>,
): Promise<number> {
  const config = await loadConfig(configFile); // ConfigError: printed by main
  let queue: QueueStore;
  try {
    queue = openQueue(config.path("data_directory"));
  } catch (e) {
    complain(`cannot open the queue in ${config.path("data_directory")}: ${(e as Error).message}`);
    return 1;
  }
  try {
    return await fn(queue, config);
  } catch (e) {
    complain(e instanceof MailError ? e.reply : (e as Error).message);
    return 1;
  } finally {
    await queue.close();
  }
}

/** mailq / postqueue -p; --json: postqueue -j. */
export function queueListCommand(configFile: string, opts: { json?: boolean }): Promise<number> {
  return withQueue(configFile, async (queue) => {
    const messages = (await queue.list()).filter((m) => m.queue !== "corrupt");
    const text = opts.json ? formatMailqJson(messages) : formatMailq(messages);
    await Deno.stdout.write(new TextEncoder().encode(text));
    return 0;
  });
}

/** postsuper -h/-H/-d/-r with queue ids or ALL. */
export function queueActionCommand(
  action: QueueAction,
  ids: string[],
  configFile: string,
): Promise<number> {
  return withQueue(configFile, async (queue, config) => {
    const spec = ACTIONS[action];
    let status = 0;
    let count = 0;
    const targets = ids.length === 1 && ids[0] === "ALL"
      ? (await queue.list()).filter(spec.all)
      : ids;
    for (const target of targets) {
      const id = typeof target === "string" ? target : target.id;
      const message = typeof target === "string" ? await queue.get(id) : target;
      if (!message) {
        complain(`no message with id ${id}`);
        status = 1;
      } else if (await spec.run(queue, id)) {
        count++;
      } else if (typeof target === "string") {
        complain(spec.refused(message)); // with ALL, one that changed meanwhile is just skipped
        status = 1;
      }
    }
    say(`${spec.done}: ${plural(count, "message")}`);
    // Released and requeued mail is due now: a running server need not wait for its next scan.
    if (count > 0 && (action === "release" || action === "requeue")) {
      signalServer(config.path("data_directory"));
    }
    return status;
  });
}

/** postqueue -f (every deferred message) or -s DOMAIN (fast_flush_domains only). */
export function queueFlushCommand(configFile: string, opts: { domain?: string }): Promise<number> {
  return withQueue(configFile, async (queue, config) => {
    let count: number;
    if (opts.domain !== undefined) {
      const domain = opts.domain.replace(/\.$/, "");
      if (!/^[A-Za-z0-9.-]+$/.test(domain) || domain.startsWith(".")) {
        complain(`flush: bad domain name: ${JSON.stringify(opts.domain)}`);
        return 1;
      }
      const flush = new FlushService(config, {
        queue,
        openTable: (spec, o) => openMap(spec, { ...o, baseDir: config.baseDir }),
      });
      if (!await flush.eligible(domain)) {
        complain(`flush: ${domain} is not eligible for flushing (fast_flush_domains)`);
        return 1;
      }
      count = await queue.requeueDomain(domain);
    } else {
      count = 0;
      for (const m of await queue.list()) {
        if ((m.queue === "deferred" || m.queue === "incoming") && await queue.requeue(m.id)) {
          count++;
        }
      }
    }
    const pid = signalServer(config.path("data_directory"));
    const due = `${plural(count, "message")} due now`;
    say(
      pid === undefined ? `${due}; no running server found` : `${due}; server (pid ${pid}) woken`,
    );
    return 0;
  });
}
