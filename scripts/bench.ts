/**
 * `deno task bench`: facteur against Postfix on this machine, in the same run.
 *
 * Both servers accept mail for one virtual mailbox domain and deliver it into
 * a Maildir (scripts/bench/servers.ts). Phase 1 drives each with Postfix's
 * smtp-source (10 sessions, 4 KiB messages) for accepted and delivered
 * msgs/s; phase 2 measures reply latency with a small client of our own.
 * Rounds alternate the order of the servers; medians are reported with the
 * ratio facteur/Postfix. Two more phases (--phases): relay throughput through
 * each server to Postfix's smtp-sink (scripts/bench/relay.ts), and facteur's
 * queue with 100,000 deferred messages (scripts/bench/queue_scale.ts), and
 * for issue 6: POP3 retrieval of a 10,000-message Maildir, facteur's pop3d
 * against Dovecot's pop3 (scripts/bench/pop3.ts), and the delivery rate
 * through facteur's store for a facteur:users user against Postfix's
 * virtual(8) (scripts/bench/store.ts).
 * BENCHMARKS.md explains how to read the results.
 */
import { join } from "node:path";
import { postfixUnavailable } from "../tests/peers/postfix.ts";
import { appendBenchmarks } from "./bench/benchmarks_file.ts";
import { Cleanup } from "./bench/cleanup.ts";
import { describeProfiles } from "./bench/cpu_profile.ts";
import { collectEnvironment, type Environment } from "./bench/environment.ts";
import { type Options, parseOptions, USAGE } from "./bench/options.ts";
import { forEachServer, latencyRun, smtpSourceOptions, throughputRun } from "./bench/phases.ts";
import { pop3Phase } from "./bench/pop3.ts";
import { measureQueueScale } from "./bench/queue_scale.ts";
import {
  RELAY_RECIPIENT,
  relayRun,
  type RelayServer,
  relaySourceOptions,
  startFacteurRelay,
  startPostfixRelay,
} from "./bench/relay.ts";
import {
  benchmarksEntry,
  type BenchResult,
  type QueueResult,
  type RelayResult,
  resultText,
  type ServerResult,
  toJson,
} from "./bench/report.ts";
import { SMTP_SINK, startSink } from "./bench/sink.ts";
import { type BenchServer, startFacteurServer, startPostfixServer } from "./bench/servers.ts";
import { SMTP_SOURCE, smtpSourceArgs } from "./bench/smtp_source.ts";
import { summarizeLatency } from "./bench/stats.ts";
import { storePhase } from "./bench/store.ts";

const progress = (line: string) => console.error(line);
const perSecond = (v: number) => `${Math.round(v).toLocaleString("en-US")} msgs/s`;
const ms = (v: number) => `${v.toFixed(2)} ms`;

function emptyResult(): ServerResult {
  const none = summarizeLatency([]);
  return { accepted: [], delivered: [], latency: none, transaction: none };
}

interface Started {
  servers: Map<BenchServer, ServerResult>;
  /** Stops both servers now (the relay phase runs without them). */
  stop(): Promise<void>;
  postfixVersion: string;
  facteur: ServerResult;
  postfix: ServerResult;
}

/** Postfix must start; facteur may fail, and is then reported as failed while Postfix is measured. */
async function startServers(opts: Options, cleanup: Cleanup, dir: string): Promise<Started> {
  progress("starting Postfix...");
  const postfix = await startPostfixServer();
  const stops = [cleanup.add("stop Postfix", postfix.stop)];
  progress(`  Postfix ${postfix.version} on 127.0.0.1:${postfix.port}`);

  progress("starting facteur...");
  const facteurResult = emptyResult();
  const servers = new Map<BenchServer, ServerResult>();
  try {
    const flags = opts.cpuProf ? ["--cpu-prof", `--cpu-prof-dir=${opts.cpuProf}`] : [];
    const facteur = await startFacteurServer(join(dir, "facteur"), flags);
    stops.push(cleanup.add("stop facteur", facteur.stop));
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
    stop: async () => {
      for (const stop of stops) await stop();
    },
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

/** The smtp-source command line for the report, PORT for the port (given as 0). */
function commandLine(args: string[]): string {
  return [SMTP_SOURCE.split("/").pop()!, ...args].join(" ").replace(/:0$/, ":PORT");
}

async function receivePhases(opts: Options, cleanup: Cleanup, dir: string) {
  const started = await startServers(opts, cleanup, dir);
  await throughputPhase(opts, cleanup, started);
  await latencyPhase(opts, cleanup, started);
  cleanup.throwIfInterrupted();
  await started.stop();
  return started;
}

/** smtp-source → each server → smtp-sink, rounds alternating the order. */
async function relayPhase(
  opts: Options,
  cleanup: Cleanup,
  dir: string,
): Promise<{ relay: RelayResult; postfixVersion: string }> {
  progress("relay phase: starting smtp-sink...");
  const sink = await startSink();
  cleanup.add("stop smtp-sink", sink.stop);
  progress(`  smtp-sink (PID ${sink.pid}) on 127.0.0.1:${sink.port}`);
  const relay: RelayResult = {
    messages: opts.relayMessages,
    smtpSource: commandLine(smtpSourceArgs(relaySourceOptions(opts, 0))),
    facteur: [],
    postfix: [],
  };
  const servers: RelayServer[] = [];
  let postfixVersion = "unknown";
  try {
    const postfix = await startPostfixRelay(sink.port);
    cleanup.add("stop Postfix (relay)", postfix.stop);
    postfixVersion = postfix.version;
    progress(`  Postfix ${postfix.version} on 127.0.0.1:${postfix.port}, relayhost the sink`);
    servers.push(postfix);
  } catch (e) {
    relay.postfixError = (e as Error).message.replace(/\n/g, " | ");
  }
  try {
    const facteur = await startFacteurRelay(join(dir, "facteur-relay"), sink.port);
    cleanup.add("stop facteur (relay)", facteur.stop);
    progress(`  facteur on 127.0.0.1:${facteur.port}, relayhost the sink`);
    servers.push(facteur);
  } catch (e) {
    relay.facteurError = (e as Error).message.replace(/\n/g, " | ");
  }
  progress(
    `relay: ${opts.rounds} rounds of ${opts.relayMessages} messages to ${RELAY_RECIPIENT}, ` +
      `${opts.sessions} smtp-source sessions`,
  );
  for (let round = 0; round < opts.rounds; round++) {
    const order = round % 2 ? [...servers].reverse() : servers;
    for (const server of order) {
      const errorKey = server.name === "facteur" ? "facteurError" : "postfixError";
      if (relay[errorKey]) continue;
      cleanup.throwIfInterrupted();
      try {
        const rate = await relayRun(server, sink, opts, cleanup);
        relay[server.name === "facteur" ? "facteur" : "postfix"].push(rate);
        progress(
          `  round ${round + 1}/${opts.rounds} ${server.name.padEnd(7)} relayed ${perSecond(rate)}`,
        );
      } catch (e) {
        cleanup.throwIfInterrupted();
        relay[errorKey] = (e as Error).message;
        const log = (await server.logTail().catch(() => "")).trim().split("\n").slice(-10);
        progress(`  ${server.name} failed: ${relay[errorKey]}\n  its log ends:\n${log.join("\n")}`);
        // Its queue would keep feeding the sink and skew the other server's count.
        await server.stop();
      }
    }
  }
  return { relay, postfixVersion };
}

/** facteur with an empty queue, 1,000 and opts.queueMessages deferred messages. */
async function queuePhase(opts: Options, dir: string): Promise<QueueResult> {
  const sizes = [...new Set([0, Math.min(1000, opts.queueMessages), opts.queueMessages])];
  const result: QueueResult = { points: [] };
  progress(`queue phase: facteur with ${sizes.join(", ")} deferred messages`);
  try {
    for (const size of sizes) {
      const point = await measureQueueScale(join(dir, `queue-${size}`), size);
      result.points.push(point);
      progress(
        `  ${size} deferred: filled in ${(point.fillMs / 1000).toFixed(1)} s, claim pass ` +
          `${Number.isNaN(point.claimMs) ? "–" : ms(point.claimMs)}, ` +
          `RSS ${(point.rssKiB / 1024).toFixed(1)} MiB`,
      );
      await Deno.remove(join(dir, `queue-${size}`), { recursive: true });
    }
  } catch (e) {
    result.error = (e as Error).message.replace(/\n/g, " | ");
    progress(`  failed: ${result.error}`);
  }
  return result;
}

async function benchmark(opts: Options, cleanup: Cleanup, env: Environment): Promise<BenchResult> {
  const dir = await Deno.makeTempDir({ prefix: "facteur-vs-postfix-" });
  cleanup.add(
    `remove ${dir}`,
    () => opts.keep ? progress(`kept ${dir}`) : Deno.remove(dir, { recursive: true }),
  );
  const phases = [...opts.phases];
  const receive = opts.phases.has("receive") ? await receivePhases(opts, cleanup, dir) : null;
  const relay = opts.phases.has("relay") ? await relayPhase(opts, cleanup, dir) : null;
  cleanup.throwIfInterrupted();
  const queue = opts.phases.has("queue") ? await queuePhase(opts, dir) : undefined;
  cleanup.throwIfInterrupted();
  const pop3 = opts.phases.has("pop3")
    ? await pop3Phase(
      {
        messages: opts.pop3Messages,
        rounds: opts.rounds,
        timeoutMs: opts.timeoutMs,
        denoFlags: opts.cpuProf ? ["--cpu-prof", `--cpu-prof-dir=${opts.cpuProf}`] : [],
      },
      cleanup,
      dir,
      progress,
    )
    : undefined;
  cleanup.throwIfInterrupted();
  const store = opts.phases.has("store")
    ? await storePhase(opts, cleanup, dir, progress)
    : undefined;
  cleanup.throwIfInterrupted();
  return {
    command: ["deno task bench", ...Deno.args].join(" "),
    phases,
    settings: {
      messages: opts.messages,
      rounds: opts.rounds,
      sessions: opts.sessions,
      size: opts.size,
      latencyMessages: opts.latencyMessages,
      reuseConnections: opts.reuseConnections,
      smtpSource: commandLine(smtpSourceArgs(smtpSourceOptions(opts, 0, opts.messages))),
    },
    environment: env,
    postfixVersion: receive?.postfixVersion ?? relay?.postfixVersion ?? store?.postfixVersion ??
      "not run",
    facteur: receive?.facteur ?? emptyResult(),
    postfix: receive?.postfix ?? emptyResult(),
    relay: relay?.relay,
    queue,
    pop3,
    store,
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
  const needsPostfix = opts.phases.has("receive") || opts.phases.has("relay") ||
    opts.phases.has("store");
  const tools = [SMTP_SOURCE, ...(opts.phases.has("relay") ? [SMTP_SINK] : [])];
  let unavailable = needsPostfix ? postfixUnavailable() : null;
  for (const tool of needsPostfix ? tools : []) {
    unavailable ??= await Deno.stat(tool).then(
      () => null,
      () => `${tool} not found: apt-get install postfix`,
    );
  }
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
  else console.log(`\n${resultText(result)}`);
  if (opts.write) progress(`appended to ${await appendBenchmarks(benchmarksEntry(result))}`);
  if (opts.cpuProf) progress(`\n${await describeProfiles(opts.cpuProf)}`);
  const failed = result.facteur.error || result.postfix.error || result.relay?.facteurError ||
    result.relay?.postfixError || result.queue?.error || result.pop3?.facteur.error ||
    result.pop3?.dovecot.error || result.store?.facteurError || result.store?.postfixError;
  return failed ? 1 : 0;
}

Deno.exit(await main());
