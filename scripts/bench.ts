/**
 * `deno task bench`: facteur against Postfix on this machine, in the same run.
 *
 * Both servers accept mail for one virtual mailbox domain and deliver it into
 * a Maildir (scripts/bench/servers.ts). Phase 1 drives each with Postfix's
 * smtp-source (10 sessions, 4 KiB messages) for accepted and delivered
 * msgs/s; phase 2 measures reply latency with a small client of our own.
 * Rounds alternate the order of the servers; medians are reported with the
 * ratio facteur/Postfix. BENCHMARKS.md explains how to read the results.
 */
import { join } from "node:path";
import { postfixUnavailable } from "../tests/peers/postfix.ts";
import { appendBenchmarks } from "./bench/benchmarks_file.ts";
import { Cleanup } from "./bench/cleanup.ts";
import { describeProfiles } from "./bench/cpu_profile.ts";
import { collectEnvironment, type Environment } from "./bench/environment.ts";
import { type Options, parseOptions, USAGE } from "./bench/options.ts";
import { forEachServer, latencyRun, smtpSourceOptions, throughputRun } from "./bench/phases.ts";
import {
  benchmarksEntry,
  type BenchResult,
  errorsLine,
  markdownTable,
  roundsLine,
  type ServerResult,
  toJson,
} from "./bench/report.ts";
import { type BenchServer, startFacteurServer, startPostfixServer } from "./bench/servers.ts";
import { SMTP_SOURCE, smtpSourceArgs } from "./bench/smtp_source.ts";
import { summarizeLatency } from "./bench/stats.ts";

const progress = (line: string) => console.error(line);
const perSecond = (v: number) => `${Math.round(v).toLocaleString("en-US")} msgs/s`;
const ms = (v: number) => `${v.toFixed(2)} ms`;

function emptyResult(): ServerResult {
  const none = summarizeLatency([]);
  return { accepted: [], delivered: [], latency: none, transaction: none };
}

interface Started {
  servers: Map<BenchServer, ServerResult>;
  postfixVersion: string;
  facteur: ServerResult;
  postfix: ServerResult;
}

/** Postfix must start; facteur may fail, and is then reported as failed while Postfix is measured. */
async function startServers(opts: Options, cleanup: Cleanup, dir: string): Promise<Started> {
  progress("starting Postfix...");
  const postfix = await startPostfixServer();
  cleanup.add("stop Postfix", postfix.stop);
  progress(`  Postfix ${postfix.version} on 127.0.0.1:${postfix.port}`);

  progress("starting facteur...");
  const facteurResult = emptyResult();
  const servers = new Map<BenchServer, ServerResult>();
  try {
    const flags = opts.cpuProf ? ["--cpu-prof", `--cpu-prof-dir=${opts.cpuProf}`] : [];
    const facteur = await startFacteurServer(join(dir, "facteur"), flags);
    cleanup.add("stop facteur", facteur.stop);
    progress(`  facteur on 127.0.0.1:${facteur.port}: ${facteur.command}`);
    servers.set(facteur, facteurResult);
  } catch (e) {
    facteurResult.error = (e as Error).message.replace(/\n/g, " | ");
    progress(`  facteur did not start; measuring Postfix only.\n${(e as Error).message}`);
  }
  const postfixResult = emptyResult();
  servers.set(postfix, postfixResult);
  return {
    servers,
    postfixVersion: postfix.version,
    facteur: facteurResult,
    postfix: postfixResult,
  };
}

async function throughputPhase(opts: Options, cleanup: Cleanup, s: Started): Promise<void> {
  if (opts.warmup > 0) {
    progress(`warm-up: ${opts.warmup} messages to each server`);
    await forEachServer(cleanup, s.servers, 0, async (server) => {
      await throughputRun(server, opts, opts.warmup, cleanup);
    }, progress);
  }
  cleanup.throwIfInterrupted();
  progress(
    `phase 1, throughput: ${opts.rounds} rounds of ${opts.messages} messages, ` +
      `${opts.sessions} smtp-source sessions`,
  );
  for (let round = 0; round < opts.rounds; round++) {
    await forEachServer(cleanup, s.servers, round, async (server, r) => {
      const { accepted, delivered } = await throughputRun(server, opts, opts.messages, cleanup);
      r.accepted.push(accepted);
      r.delivered.push(delivered);
      const name = server.name.padEnd(7);
      progress(
        `  round ${round + 1}/${opts.rounds} ${name} accepted ${perSecond(accepted)}, ` +
          `delivered ${perSecond(delivered)}`,
      );
    }, progress);
  }
}

async function latencyPhase(opts: Options, cleanup: Cleanup, s: Started): Promise<void> {
  cleanup.throwIfInterrupted();
  progress(
    `phase 2, latency: ${opts.rounds} rounds of ${opts.sessions} sessions × ` +
      `${opts.latencyMessages} messages`,
  );
  const samples = new Map<BenchServer, { dot: number[]; tx: number[] }>();
  for (const server of s.servers.keys()) samples.set(server, { dot: [], tx: [] });
  for (let round = 0; round < opts.rounds; round++) {
    await forEachServer(cleanup, s.servers, round, async (server, r) => {
      const got = await latencyRun(server, opts);
      const all = samples.get(server)!;
      all.dot.push(...got.samplesMs);
      all.tx.push(...got.transactionsMs);
      r.latency = summarizeLatency(all.dot);
      r.transaction = summarizeLatency(all.tx);
      const dot = summarizeLatency(got.samplesMs);
      const tx = summarizeLatency(got.transactionsMs);
      progress(
        `  round ${round + 1}/${opts.rounds} ${server.name.padEnd(7)} end of data ` +
          `p50 ${ms(dot.p50)}, p99 ${ms(dot.p99)}, max ${ms(dot.max)}; transaction p50 ${
            ms(tx.p50)
          }`,
      );
    }, progress);
  }
}

async function benchmark(opts: Options, cleanup: Cleanup, env: Environment): Promise<BenchResult> {
  const dir = await Deno.makeTempDir({ prefix: "facteur-vs-postfix-" });
  cleanup.add(
    `remove ${dir}`,
    () => opts.keep ? progress(`kept ${dir}`) : Deno.remove(dir, { recursive: true }),
  );
  const started = await startServers(opts, cleanup, dir);
  await throughputPhase(opts, cleanup, started);
  await latencyPhase(opts, cleanup, started);
  cleanup.throwIfInterrupted();
  const smtpSource = [
    SMTP_SOURCE.split("/").pop()!,
    ...smtpSourceArgs(smtpSourceOptions(opts, 0, opts.messages)),
  ]
    .join(" ").replace(/:0$/, ":PORT");
  return {
    command: ["deno task bench", ...Deno.args].join(" "),
    settings: {
      messages: opts.messages,
      rounds: opts.rounds,
      sessions: opts.sessions,
      size: opts.size,
      latencyMessages: opts.latencyMessages,
      reuseConnections: opts.reuseConnections,
      smtpSource,
    },
    environment: env,
    postfixVersion: started.postfixVersion,
    facteur: started.facteur,
    postfix: started.postfix,
  };
}

async function main(): Promise<number> {
  let opts: Options | null;
  try {
    opts = parseOptions(Deno.args);
  } catch (e) {
    console.error(`bench: ${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (!opts) {
    console.log(USAGE);
    return 0;
  }
  const unavailable = postfixUnavailable() ??
    await Deno.stat(SMTP_SOURCE).then(
      () => null,
      () => `${SMTP_SOURCE} not found: apt-get install postfix`,
    );
  if (unavailable) {
    console.error(`bench: ${unavailable}`);
    return 1;
  }
  if (opts.cpuProf) await Deno.mkdir(opts.cpuProf, { recursive: true });

  const env = await collectEnvironment();
  const load = env.loadAverage[0];
  progress(
    `load average ${load.toFixed(2)} on ${env.cpus} CPUs` +
      (load > env.cpus / 2 ? ": other work on this machine will skew the results" : ""),
  );
  const cleanup = new Cleanup();
  cleanup.onSignals();
  let result: BenchResult;
  try {
    result = await benchmark(opts, cleanup, env);
  } catch (e) {
    await cleanup.run();
    // After a signal, its handler exits once the cleanup is done.
    if (cleanup.interrupted) await new Promise(() => {});
    console.error(`bench: ${(e as Error).message}`);
    return 1;
  }
  // Stops both servers (facteur writes its CPU profile as it exits) and removes the temporary files.
  await cleanup.run();

  if (opts.json) console.log(toJson(result));
  else {
    const errors = errorsLine(result);
    console.log(
      `\n${markdownTable(result)}\n\n${roundsLine(result)}${errors ? `\n\n${errors}` : ""}`,
    );
  }
  if (opts.write) progress(`appended to ${await appendBenchmarks(benchmarksEntry(result))}`);
  if (opts.cpuProf) progress(`\n${await describeProfiles(opts.cpuProf)}`);
  return result.facteur.error || result.postfix.error ? 1 : 0;
}

Deno.exit(await main());
