/**
 * Where `facteur queue` gets and changes the queue: the running server's
 * admin API when one is configured (and a token is at hand), else the queue
 * database directly (SQLite WAL lets a second process in; this works with
 * the server stopped, as postsuper does). Both speak the admin API's JSON
 * shapes, so the commands format one thing.
 */
import { type Config, loadConfig, parseTime } from "../config/mod.ts";
import { detail, summary } from "../admin/summary.ts";
import { openQueue } from "../queue/mod.ts";
import type { QueuedMessage, QueuedRecipient, QueueName, QueueStore } from "../queue/types.ts";
import { QUEUE_NAMES } from "../queue/types.ts";
import { AdminApiError, AdminClient, adminEndpoint, chooseToken, query } from "./admin_client.ts";
import { type Shape, shapeOf } from "./qshape.ts";
import { serverState } from "./server_control.ts";

export type Summary = ReturnType<typeof summary>;
export type Detail = ReturnType<typeof detail>;

/** postsuper's operations. */
export type QueueAction = "hold" | "release" | "delete" | "requeue";

/** The admin API's list filters (GET /v1/queue), as given on the command line. */
export interface QueueFilter {
  queue?: QueueName;
  /** Exact, case-insensitive; "" = the null sender. */
  sender?: string;
  recipient?: string;
  domain?: string;
  /** Postfix time syntax ("300s", "2d"). */
  minAge?: string;
  maxAge?: string;
}

/** What one action on one id did. */
export type ActionOutcome = { changed: true } | { changed: false; notFound: boolean; why?: string };

export interface QueueBackend {
  readonly kind: "api" | "direct";
  /** Oldest arrival first. */
  list(filter: QueueFilter): Promise<Summary[]>;
  show(id: string): Promise<Detail | undefined>;
  raw(id: string): Promise<Uint8Array | undefined>;
  act(action: QueueAction, id: string): Promise<ActionOutcome>;
  /** Many ids at once; messages that are gone or in the wrong state are skipped. How many changed. */
  actMany(action: QueueAction, ids: string[]): Promise<number>;
  /** Messages made due (postqueue -f, -s). */
  flush(domain?: string): Promise<number>;
  shape(queue?: QueueName): Promise<Shape>;
  close(): Promise<void>;
}

/** A bad filter value: the message names it. */
export class FilterError extends Error {}

export function checkFilter(filter: QueueFilter): void {
  if (filter.queue !== undefined && !QUEUE_NAMES.includes(filter.queue)) {
    throw new FilterError(`--queue: unknown queue "${filter.queue}" (${QUEUE_NAMES.join(", ")})`);
  }
  for (const [option, value] of [["--min-age", filter.minAge], ["--max-age", filter.maxAge]]) {
    if (value !== undefined && parseTime(value!, "s") === undefined) {
      throw new FilterError(`${option}: bad age "${value}": a time such as 300s, 5m, 1h or 2d`);
    }
  }
}

const stillToDeliver = (status: string) => status === "pending" || status === "deferred";

/** The list filters, over one message (the same rules as the API's). */
export function matchesFilter(m: QueuedMessage, f: QueueFilter, now: number): boolean {
  if (f.queue !== undefined && m.queue !== f.queue) return false;
  if (f.sender !== undefined && m.envelope.sender.toLowerCase() !== f.sender.toLowerCase()) {
    return false;
  }
  const recipients: QueuedRecipient[] = m.envelope.recipients;
  const pending = recipients.filter((r) => stillToDeliver(r.status));
  if (
    f.recipient !== undefined &&
    !pending.some((r) => r.address.toLowerCase() === f.recipient!.toLowerCase())
  ) return false;
  if (
    f.domain !== undefined &&
    !pending.some((r) =>
      r.address.slice(r.address.lastIndexOf("@") + 1).toLowerCase() ===
        f.domain!.toLowerCase().replace(/\.$/, "")
    )
  ) return false;
  const age = (now - m.envelope.arrivalTime) / 1000;
  if (f.minAge !== undefined && age < parseTime(f.minAge, "s")!) return false;
  if (f.maxAge !== undefined && age > parseTime(f.maxAge, "s")!) return false;
  return true;
}

/** The queue database itself. */
export class DirectBackend implements QueueBackend {
  readonly kind = "direct";
  constructor(
    readonly queue: QueueStore,
    readonly flushFn: (domain?: string) => Promise<number>,
    readonly clock: () => number = Date.now,
  ) {}

  async list(filter: QueueFilter): Promise<Summary[]> {
    const now = this.clock();
    const messages = await this.queue.list(filter.queue ? { queue: filter.queue } : undefined);
    return messages.filter((m) => matchesFilter(m, filter, now)).map(summary);
  }

  async show(id: string): Promise<Detail | undefined> {
    const m = await this.queue.get(id);
    return m ? detail(m) : undefined;
  }

  async raw(id: string): Promise<Uint8Array | undefined> {
    if (!await this.queue.get(id)) return undefined;
    return await this.queue.content(id);
  }

  async act(action: QueueAction, id: string): Promise<ActionOutcome> {
    const before = await this.queue.get(id);
    if (!before) return { changed: false, notFound: true };
    if (await runAction(this.queue, action, id)) return { changed: true };
    return { changed: false, notFound: false, why: refusal(action, before.queue, id) };
  }

  async actMany(action: QueueAction, ids: string[]): Promise<number> {
    let changed = 0;
    for (const id of ids) if (await runAction(this.queue, action, id)) changed++;
    return changed;
  }

  flush(domain?: string): Promise<number> {
    return this.flushFn(domain);
  }

  async shape(queue?: QueueName): Promise<Shape> {
    return shapeOf(await this.queue.list(queue ? { queue } : undefined), this.clock());
  }

  close(): Promise<void> {
    return this.queue.close();
  }
}

function runAction(q: QueueStore, action: QueueAction, id: string): Promise<boolean> {
  switch (action) {
    case "hold":
      return q.hold(id);
    case "release":
      return q.release(id);
    case "delete":
      return q.remove(id);
    case "requeue":
      return q.requeue(id);
  }
}

/** Why a message that exists was left alone (postsuper's complaints). */
export function refusal(action: QueueAction, queue: QueueName, id: string): string {
  switch (action) {
    case "hold":
      return `${id} is in the ${queue} queue`;
    case "release":
      return `${id} is not on hold`;
    case "delete":
      return `${id} could not be deleted`;
    case "requeue":
      return queue === "hold"
        ? `${id} is on hold (release it first)`
        : `${id} is in the ${queue} queue`;
  }
}

/** Which messages `ACTION ALL` applies to (postsuper: -h ALL skips held mail, -H ALL takes only held mail). */
export function appliesToAll(action: QueueAction, queue: QueueName): boolean {
  switch (action) {
    case "hold":
      return queue !== "hold" && queue !== "corrupt";
    case "release":
      return queue === "hold";
    case "delete":
      return true;
    case "requeue":
      return queue === "incoming" || queue === "deferred";
  }
}

const PAGE = 1000;

/** The running server's admin API (/tmp/admin_api.md). */
export class ApiBackend implements QueueBackend {
  readonly kind = "api";
  constructor(readonly client: AdminClient) {}

  async list(filter: QueueFilter): Promise<Summary[]> {
    const out: Summary[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.client.json<{ messages: Summary[]; next_cursor: string | null }>(
        "GET",
        "/v1/queue" + query({
          queue: filter.queue,
          sender: filter.sender,
          recipient: filter.recipient,
          domain: filter.domain,
          min_age: filter.minAge,
          max_age: filter.maxAge,
          limit: PAGE,
          cursor,
        }),
      );
      out.push(...page.messages);
      cursor = page.next_cursor ?? undefined;
    } while (cursor);
    return out;
  }

  async show(id: string): Promise<Detail | undefined> {
    return await this.#unlessNotFound(() =>
      this.client.json<Detail>("GET", `/v1/queue/${encodeURIComponent(id)}`)
    );
  }

  async raw(id: string): Promise<Uint8Array | undefined> {
    return await this.#unlessNotFound(() =>
      this.client.bytes(`/v1/queue/${encodeURIComponent(id)}/raw`)
    );
  }

  async act(action: QueueAction, id: string): Promise<ActionOutcome> {
    const path = `/v1/queue/${encodeURIComponent(id)}`;
    try {
      if (action === "delete") await this.client.json("DELETE", path);
      else await this.client.json("POST", `${path}/${action}`, {});
      return { changed: true };
    } catch (e) {
      if (e instanceof AdminApiError && e.status === 404) return { changed: false, notFound: true };
      if (e instanceof AdminApiError && e.status === 409) {
        return { changed: false, notFound: false, why: e.message };
      }
      throw e;
    }
  }

  async actMany(action: QueueAction, ids: string[]): Promise<number> {
    const r = await this.client.json<{ matched: number; changed: number }>(
      "POST",
      `/v1/queue/${action}`,
      { ids },
    );
    return r.changed;
  }

  async flush(domain?: string): Promise<number> {
    const r = await this.client.json<{ due: number }>(
      "POST",
      "/v1/queue/flush",
      domain === undefined ? {} : { domain },
    );
    return r.due;
  }

  shape(queue?: QueueName): Promise<Shape> {
    return this.client.json<Shape>("GET", "/v1/queue/shape" + query({ queue }));
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  async #unlessNotFound<T>(fn: () => Promise<T>): Promise<T | undefined> {
    try {
      return await fn();
    } catch (e) {
      if (e instanceof AdminApiError && e.status === 404 && e.code === "not_found") {
        return undefined;
      }
      throw e;
    }
  }
}

export interface BackendChoice {
  config: Config;
  backend: QueueBackend;
  /** Where the token came from, for a 401 message. */
  tokenSource?: string;
  /** The running server's pid, if any. */
  serverPid?: number;
}

export interface BackendOptions {
  token?: string;
  /** Use the database even when the API is available. */
  direct?: boolean;
  /** Called with a warning line (the API was configured but could not be used). */
  warn?: (line: string) => void;
  /** The direct backend's flush (it needs the configuration). */
  directFlush: (queue: QueueStore, config: Config, domain?: string) => Promise<number>;
}

/**
 * The API when an admin service is configured, the server runs and a token
 * is available; otherwise the database. A ConfigError rejects (main prints it).
 */
export async function openBackend(
  configFile: string,
  opts: BackendOptions,
): Promise<BackendChoice> {
  const config = await loadConfig(configFile);
  const state = serverState(config.path("data_directory"));
  const endpoint = adminEndpoint(config);
  if (!opts.direct && endpoint && state.pid !== undefined) {
    const token = chooseToken(config, opts.token);
    if (token.token) {
      const client = new AdminClient(endpoint.url, token.token);
      try {
        await client.ready(); // reachable? (no token needed)
        return {
          config,
          backend: new ApiBackend(client),
          tokenSource: token.source,
          serverPid: state.pid,
        };
      } catch (e) {
        opts.warn?.(`${(e as Error).message}; working on the queue database directly`);
      }
    } else if (token.problem) {
      opts.warn?.(`${token.problem}; working on the queue database directly`);
    }
  }
  const queue = openQueue(config.path("data_directory")); // throws: the caller names the directory
  return {
    config,
    backend: new DirectBackend(queue, (domain) => opts.directFlush(queue, config, domain)),
    serverPid: state.pid,
  };
}
