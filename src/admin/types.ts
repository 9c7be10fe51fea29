/** What the admin API needs from the rest of facteur, given by the master when it starts the service. */
import type { Config } from "../config/mod.ts";
import type { Counters } from "../counters.ts";
import type { Logger } from "../log.ts";
import type { QueueStore } from "../queue/mod.ts";

export interface AdminDeps {
  queue: QueueStore;
  /** The running configuration (a new object after a reload). */
  config(): Config;
  /** postqueue -f / -s: make due (all, or with a recipient in `domain`) and wake qmgr; how many. */
  flush(domain?: string): Promise<number>;
  /** Wake qmgr: messages were released or requeued (due now), so it need not wait for its next run. */
  kick?(): void;
  /** Reload the config file; on problems the old configuration keeps running. */
  reload(): Promise<{ ok: true } | { ok: false; problems: string[] }>;
  /** Problems with the config file on disk ("file:line: ..."); [] = fine. */
  check(): Promise<string[]>;
  counters: Counters;
  ready(): boolean;
  /** ms epoch */
  startedAt: number;
  log?: Logger;
  /** ms epoch; Date.now by default (tests inject one). */
  clock?: () => number;
}

/** The Hono environment: Deno.serve's connection info arrives as the bindings. */
export interface AdminEnv {
  Bindings: { remoteAddr?: { hostname?: string } };
}
