/**
 * `--phases store`: delivery rate into a Maildir through facteur's store, for
 * a user of facteur's own users store (virtual_mailbox_maps = "facteur:users",
 * scripts/bench/facteur_users.ts), against Postfix's virtual(8) delivering
 * into a Maildir as in the receive phase. Both are driven the receive phase's
 * way (scripts/bench/phases.ts): smtp-source to the one virtual recipient,
 * msgs/s from starting it until every message is in the Maildir's new/,
 * rounds alternating which server goes first.
 */
import { join } from "node:path";
import type { Cleanup } from "./cleanup.ts";
import { startFacteurWithUsers } from "./facteur_users.ts";
import type { Options } from "./options.ts";
import { forEachServer, throughputRun } from "./phases.ts";
import type { ServerResult } from "./report.ts";
import { type BenchServer, DOMAIN, RECIPIENT, startPostfixServer } from "./servers.ts";
import { summarizeLatency } from "./stats.ts";

export interface StoreResult {
  messages: number;
  postfixVersion: string;
  /** Delivered msgs/s per round. */
  facteur: number[];
  postfix: number[];
  facteurError?: string;
  postfixError?: string;
}

function empty(): ServerResult {
  const none = summarizeLatency([]);
  return { accepted: [], delivered: [], latency: none, transaction: none };
}

async function startFacteurStore(dir: string, denoFlags: string[]): Promise<BenchServer> {
  const f = await startFacteurWithUsers(dir, DOMAIN, { [RECIPIENT]: "bench-store" }, denoFlags);
  return {
    name: "facteur",
    port: f.port,
    pid: f.pid,
    maildir: f.maildir(RECIPIENT),
    command: f.command,
    logTail: () => f.logTail(),
    stop: f.stop,
  };
}

export async function storePhase(
  opts: Options,
  cleanup: Cleanup,
  dir: string,
  progress: (line: string) => void,
): Promise<StoreResult> {
  const result: StoreResult = {
    messages: opts.storeMessages,
    postfixVersion: "unknown",
    facteur: [],
    postfix: [],
  };
  const servers = new Map<BenchServer, ServerResult>();
  const facteurResult = empty();
  const postfixResult = empty();
  progress("store phase: starting facteur (facteur:users, user made with the CLI)...");
  try {
    const flags = opts.cpuProf ? ["--cpu-prof", `--cpu-prof-dir=${opts.cpuProf}`] : [];
    const facteur = await startFacteurStore(join(dir, "facteur-store"), flags);
    cleanup.add("stop facteur (store)", facteur.stop);
    progress(`  facteur on 127.0.0.1:${facteur.port}, ${RECIPIENT} → ${facteur.maildir}`);
    servers.set(facteur, facteurResult);
  } catch (e) {
    facteurResult.error = (e as Error).message.replace(/\n/g, " | ");
    progress(`  facteur did not start: ${facteurResult.error}`);
  }
  try {
    const postfix = await startPostfixServer();
    cleanup.add("stop Postfix (store)", postfix.stop);
    result.postfixVersion = postfix.version;
    progress(`  Postfix ${postfix.version} on 127.0.0.1:${postfix.port}, virtual(8) to a Maildir`);
    servers.set(postfix, postfixResult);
  } catch (e) {
    postfixResult.error = (e as Error).message.replace(/\n/g, " | ");
    progress(`  Postfix did not start: ${postfixResult.error}`);
  }

  if (opts.warmup > 0) {
    progress(`  warm-up: ${opts.warmup} messages to each server`);
    await forEachServer(cleanup, servers, 0, async (server) => {
      await throughputRun(server, opts, opts.warmup, cleanup);
    }, progress);
  }
  progress(
    `store: ${opts.rounds} rounds of ${opts.storeMessages} messages, ` +
      `${opts.sessions} smtp-source sessions`,
  );
  for (let round = 0; round < opts.rounds; round++) {
    cleanup.throwIfInterrupted();
    await forEachServer(cleanup, servers, round, async (server, r) => {
      const { accepted, delivered } = await throughputRun(
        server,
        opts,
        opts.storeMessages,
        cleanup,
      );
      r.accepted.push(accepted);
      r.delivered.push(delivered);
      progress(
        `  round ${round + 1}/${opts.rounds} ${server.name.padEnd(7)} delivered ${
          Math.round(delivered).toLocaleString("en-US")
        } msgs/s`,
      );
    }, progress);
  }
  result.facteur = facteurResult.delivered.filter((d): d is number => d !== null);
  result.postfix = postfixResult.delivered.filter((d): d is number => d !== null);
  if (facteurResult.error) result.facteurError = facteurResult.error;
  if (postfixResult.error) result.postfixError = postfixResult.error;
  for (const server of servers.keys()) await server.stop();
  return result;
}
