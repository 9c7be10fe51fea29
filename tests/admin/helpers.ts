/** Fixtures for the admin API tests: the app over a real SQLite queue in a temporary directory. */
import assert from "node:assert/strict";
import { adminApp, type AdminDeps, hashToken } from "../../src/admin/mod.ts";
import { Config } from "../../src/config/mod.ts";
import { Counters } from "../../src/counters.ts";
import { type Envelope, newQueueId, openQueue, type QueueStore } from "../../src/queue/mod.ts";

export const TOKEN = "s3cret-Token_1";
export const AUTH = { authorization: `Bearer ${TOKEN}` };
export const JSON_TYPE = { "content-type": "application/json" };
/** 2027-01-15T08:00:00Z: the tests' "now". */
export const T0 = Date.UTC(2027, 0, 15, 8, 0, 0);
export const MINUTE = 60_000;

export interface Harness {
  app: ReturnType<typeof adminApp>;
  deps: AdminDeps;
  queue: QueueStore;
  clock: { now: number };
  log: string[];
  flushes: (string | undefined)[];
  setConfig(values: Record<string, string>): void;
  /** Enqueues a message that arrived `ageMs` before T0; returns its id. */
  enqueue(
    recipients: string[],
    options?: { sender?: string; ageMs?: number; content?: string; envelope?: Partial<Envelope> },
  ): Promise<string>;
  /** app.request with the token, from 127.0.0.1 unless `from` says otherwise. */
  call(path: string, init?: RequestInit, from?: string): Promise<Response>;
  /** The same without any token. */
  anonymous(path: string, init?: RequestInit, from?: string): Promise<Response>;
  close(): Promise<void>;
}

export async function harness(
  values: Record<string, string> = {},
  overrides: Partial<AdminDeps> = {},
): Promise<Harness> {
  const dir = await Deno.makeTempDir({ prefix: "facteur-admin-" });
  const queue = openQueue(dir);
  let config = new Config({ admin_tokens: hashToken(TOKEN), ...values });
  const clock = { now: T0 };
  const log: string[] = [];
  const flushes: (string | undefined)[] = [];
  const deps: AdminDeps = {
    queue,
    config: () => config,
    flush: (domain) => {
      flushes.push(domain);
      return Promise.resolve(domain ? 1 : 2);
    },
    reload: () => Promise.resolve({ ok: true }),
    check: () => Promise.resolve([]),
    counters: new Counters(),
    ready: () => true,
    startedAt: T0 - 90_500,
    log: (line) => log.push(line),
    clock: () => clock.now,
    ...overrides,
  };
  const app = adminApp(deps);
  const env = (from: string) => ({ remoteAddr: { hostname: from } });
  return {
    app,
    deps,
    queue,
    clock,
    log,
    flushes,
    setConfig: (v) => config = new Config({ admin_tokens: hashToken(TOKEN), ...v }),
    enqueue: async (recipients, options = {}) => {
      const id = newQueueId();
      await queue.enqueue(
        id,
        {
          sender: options.sender ?? "alice@example.org",
          recipients: recipients.map((address) => ({ address })),
          arrivalTime: T0 - (options.ageMs ?? 0),
          ...options.envelope,
        },
        new TextEncoder().encode(options.content ?? "Subject: test\r\n\r\nhello\r\n"),
      );
      return id;
    },
    call: async (path, init = {}, from = "127.0.0.1") =>
      await app.request(path, { ...init, headers: { ...AUTH, ...init.headers } }, env(from)),
    anonymous: async (path, init = {}, from = "127.0.0.1") =>
      await app.request(path, init, env(from)),
    close: async () => {
      await queue.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** Runs `fn` with a fresh harness, closed afterwards. */
export async function withHarness(
  fn: (h: Harness) => Promise<void>,
  values: Record<string, string> = {},
  overrides: Partial<AdminDeps> = {},
): Promise<void> {
  const h = await harness(values, overrides);
  try {
    await fn(h);
  } finally {
    await h.close();
  }
}

/** Asserts an error answer: status, code, and (part of) the message. */
export async function assertError(
  response: Response,
  status: number,
  code: string,
  messagePart?: string | RegExp,
): Promise<void> {
  const body = await response.json();
  assert.equal(response.status, status, JSON.stringify(body));
  assert.equal(response.headers.get("content-type"), "application/json");
  assert.equal(body.error.code, code);
  assert.equal(typeof body.error.message, "string");
  if (typeof messagePart === "string") {
    assert.ok(body.error.message.includes(messagePart), body.error.message);
  } else if (messagePart) assert.match(body.error.message, messagePart);
}

export async function okJson(response: Response, status = 200): Promise<unknown> {
  const body = await response.json();
  assert.equal(response.status, status, JSON.stringify(body));
  return body;
}

export function post(body: unknown, headers: Record<string, string> = JSON_TYPE): RequestInit {
  return { method: "POST", headers, body: typeof body === "string" ? body : JSON.stringify(body) };
}

/** Records a deferral of recipient 0 of `id` (claims every due message, puts the others back). */
export async function defer(h: Harness, id: string, reason = "connect to mx: Connection refused") {
  const claimed = await h.queue.claimDue(Number.MAX_SAFE_INTEGER, 10_000);
  assert.ok(claimed.some((m) => m.id === id));
  await h.queue.recordAttempt(
    id,
    [{ index: 0, status: "deferred", dsn: "4.4.1", reason }],
    T0 + 10 * MINUTE,
  );
  await h.queue.recoverActive();
}
