/** Benchmark results as a markdown table, as JSON, and as a BENCHMARKS.md entry. */
import type { Environment } from "./environment.ts";
import type { Phase } from "./options.ts";
import type { Pop3Result } from "./pop3.ts";
import {
  pop3Descriptions,
  pop3Errors,
  pop3RoundsLine,
  pop3Table,
  storeRoundsLine,
  storeTable,
} from "./pop3_report.ts";
import type { StoreResult } from "./store.ts";
import type { QueueScalePoint } from "./queue_scale.ts";
import { type LatencySummary, median, ratio } from "./stats.ts";

export interface ServerResult {
  /** Accepted msgs/s per round (smtp-source's wall time). */
  accepted: number[];
  /** Delivered msgs/s per round (until all are in the Maildir); null: not all arrived in time. */
  delivered: (number | null)[];
  /** End-of-data reply: from writing the final "." to reading the 250. */
  latency: LatencySummary;
  /** Whole transaction: from writing MAIL to reading the end-of-data 250. */
  transaction: LatencySummary;
  /** Why the measurement failed, when it did. */
  error?: string;
}

export interface Settings {
  messages: number;
  rounds: number;
  sessions: number;
  size: number;
  latencyMessages: number;
  reuseConnections: boolean;
  /** The smtp-source command line, with PORT for the port. */
  smtpSource: string;
}

/** Relay phase: msgs/s per round, smtp-source → server → smtp-sink. */
export interface RelayResult {
  messages: number;
  /** The smtp-source command line, with PORT for the port. */
  smtpSource: string;
  facteur: number[];
  postfix: number[];
  facteurError?: string;
  postfixError?: string;
}

/** Big-queue phase (facteur only): one point per queue size, the smallest first. */
export interface QueueResult {
  points: QueueScalePoint[];
  error?: string;
}

export interface BenchResult {
  command: string;
  phases: Phase[];
  settings: Settings;
  environment: Environment;
  postfixVersion: string;
  /** Receive phase (empty when it did not run). */
  facteur: ServerResult;
  postfix: ServerResult;
  relay?: RelayResult;
  queue?: QueueResult;
  pop3?: Pop3Result;
  store?: StoreResult;
}

export interface Summary {
  accepted: number;
  delivered: number;
  p50: number;
  p99: number;
  max: number;
  transactionP50: number;
  transactionP99: number;
}

/** Medians over the rounds; a round whose delivery did not complete makes the delivered rate unknown. */
export function summarize(r: ServerResult): Summary {
  const delivered = r.delivered.length && r.delivered.every((d) => d !== null)
    ? median(r.delivered as number[])
    : NaN;
  return {
    accepted: median(r.accepted),
    delivered,
    p50: r.latency.p50,
    p99: r.latency.p99,
    max: r.latency.max,
    transactionP50: r.transaction.p50,
    transactionP99: r.transaction.p99,
  };
}

const fmt = (v: number, digits: number) =>
  Number.isFinite(v)
    ? v.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits })
    : "–";

export function markdownTable(result: BenchResult): string {
  const f = summarize(result.facteur);
  const p = summarize(result.postfix);
  const rows: [string, keyof Summary, number][] = [
    [`accepted msgs/s (median of ${result.settings.rounds})`, "accepted", 0],
    [`delivered msgs/s (median of ${result.settings.rounds})`, "delivered", 0],
    ["end-of-data reply p50 (ms)", "p50", 2],
    ["end-of-data reply p99 (ms)", "p99", 2],
    ["end-of-data reply max (ms)", "max", 2],
    ["transaction, MAIL to 250, p50 (ms)", "transactionP50", 2],
    ["transaction, MAIL to 250, p99 (ms)", "transactionP99", 2],
  ];
  const lines = [
    "| | facteur | Postfix | facteur/Postfix |",
    "|---|---:|---:|---:|",
    ...rows.map(([label, key, digits]) =>
      `| ${label} | ${fmt(f[key], digits)} | ${fmt(p[key], digits)} | ${
        fmt(ratio(f[key], p[key]), 2)
      } |`
    ),
  ];
  return lines.join("\n");
}

/** Per-round rates, so the spread is visible next to the medians. */
export function roundsLine(result: BenchResult): string {
  const list = (vs: (number | null)[]) =>
    vs.length ? vs.map((v) => v === null ? "–" : fmt(v, 0)).join(", ") : "–";
  return [
    `- accepted msgs/s per round: facteur ${list(result.facteur.accepted)}; Postfix ${
      list(result.postfix.accepted)
    }.`,
    `- delivered msgs/s per round: facteur ${list(result.facteur.delivered)}; Postfix ${
      list(result.postfix.delivered)
    }.`,
  ].join("\n");
}

export function errorsLine(result: BenchResult): string {
  const receive = (["facteur", "postfix"] as const)
    .filter((k) => result[k].error)
    .map((k) => `${k === "facteur" ? "facteur" : "Postfix"} failed: ${result[k].error}`);
  const relay = result.relay;
  const others = [
    relay?.facteurError && `relay: facteur failed: ${relay.facteurError}`,
    relay?.postfixError && `relay: Postfix failed: ${relay.postfixError}`,
    result.queue?.error && `queue: failed: ${result.queue.error}`,
    ...pop3Errors(result.pop3, result.store),
  ].filter((line): line is string => !!line);
  return [...receive, ...others].join("\n");
}

export function relayTable(relay: RelayResult): string {
  const f = median(relay.facteur);
  const p = median(relay.postfix);
  return [
    "| | facteur | Postfix | facteur/Postfix |",
    "|---|---:|---:|---:|",
    `| relayed msgs/s, until the sink has all ${relay.messages} (median of ${
      Math.max(relay.facteur.length, relay.postfix.length)
    }) | ${fmt(f, 0)} | ${fmt(p, 0)} | ${fmt(ratio(f, p), 2)} |`,
  ].join("\n");
}

export function relayRoundsLine(relay: RelayResult): string {
  const list = (vs: number[]) => vs.length ? vs.map((v) => fmt(v, 0)).join(", ") : "–";
  return `- relayed msgs/s per round: facteur ${list(relay.facteur)}; Postfix ${
    list(relay.postfix)
  }.`;
}

/** Columns: each queue size, then the largest over the smallest non-empty one. */
export function queueTable(queue: QueueResult): string {
  const points = queue.points;
  const filled = points.filter((p) => p.deferred > 0);
  const small = filled[0];
  const big = filled[filled.length - 1];
  const label = (n: number) => n === 0 ? "empty" : `${n.toLocaleString("en-US")} deferred`;
  const last = small && big && small !== big
    ? [`${big.deferred.toLocaleString("en-US")}/${small.deferred.toLocaleString("en-US")}`]
    : [];
  const row = (name: string, value: (p: QueueScalePoint) => number, digits: number) => {
    const cells = points.map((p) => fmt(value(p), digits));
    const r = last.length ? [fmt(ratio(value(big), value(small)), 2)] : [];
    return `| ${name} | ${[...cells, ...r].join(" | ")} |`;
  };
  return [
    `| | ${[...points.map((p) => label(p.deferred)), ...last].join(" | ")} |`,
    `|---|${[...points, ...last].map(() => "---:").join("|")}|`,
    row("scheduling pass: claimDue(now, 100), nothing due (ms, median)", (p) => p.claimMs, 3),
    row("facteur serve RSS after start (MiB)", (p) => p.rssKiB / 1024, 1),
    row("filling the queue through the API (s)", (p) => p.fillMs / 1000, 1),
  ].join("\n");
}

/** The text shown after the run: one table per phase that ran, then failures. */
export function resultText(result: BenchResult): string {
  const parts: string[] = [];
  if (result.phases.includes("receive")) {
    parts.push(markdownTable(result), roundsLine(result));
  }
  if (result.relay) parts.push(relayTable(result.relay), relayRoundsLine(result.relay));
  if (result.queue?.points.length) parts.push(queueTable(result.queue));
  if (result.pop3) parts.push(pop3Table(result.pop3), pop3RoundsLine(result.pop3));
  if (result.store) parts.push(storeTable(result.store), storeRoundsLine(result.store));
  const errors = errorsLine(result);
  if (errors) parts.push(errors);
  return parts.join("\n\n");
}

/** The section appended to BENCHMARKS.md by --write. */
export function benchmarksEntry(result: BenchResult): string {
  const env = result.environment;
  const gib = (env.memoryBytes / 2 ** 30).toFixed(1);
  return [
    `## ${env.date}`,
    "",
    `Command: \`${result.command}\``,
    "",
    `Machine: ${env.cpus} CPUs (${env.cpuModel}), ${gib} GiB RAM, Linux ${env.kernel}. ` +
    `Temporary directories on ${env.tempFilesystem}; load average at start ` +
    `${env.loadAverage.map((l) => l.toFixed(2)).join(", ")}. ` +
    `Deno ${env.deno}, Postfix ${result.postfixVersion}, facteur ${env.facteur} (git ${env.git}).`,
    "",
    ...phaseDescriptions(result).flatMap((d) => [d, ""]),
    resultText(result),
    "",
  ].join("\n");
}

function phaseDescriptions(result: BenchResult): string[] {
  const s = result.settings;
  const out: string[] = [];
  if (result.phases.includes("receive")) {
    out.push(
      `Throughput: \`${s.smtpSource}\` against each server, ${s.rounds} rounds alternating ` +
        `the order, medians. Latency: ${s.sessions} sessions × ${s.latencyMessages} messages of ` +
        `${s.size} bytes per server and round: end-of-data reply from writing the final "." to ` +
        `reading the 250; transaction from writing MAIL to that 250.`,
    );
  }
  if (result.relay) {
    out.push(
      `Relay: \`${result.relay.smtpSource}\` against each server, both relaying to ` +
        `\`relayhost = [127.0.0.1]:SINKPORT\` where Postfix's \`smtp-sink -c\` counts the ` +
        `messages; msgs/s from starting smtp-source until the sink has all ` +
        `${result.relay.messages}, ${s.rounds} rounds alternating the order, medians.`,
    );
  }
  if (result.queue) {
    out.push(
      "Big queue (facteur only): a data directory filled through the queue API with deferred " +
        "messages (next attempt a year away); the scheduling pass is the delivery loop's claim, " +
        "`claimDue(now, 100)` finding nothing due, timed in-process; RSS is `facteur serve`'s " +
        "VmRSS 3 s after it listens on that directory (relayhost a dead port, backoffs 1d).",
    );
  }
  out.push(...pop3Descriptions(result.pop3, result.store, s));
  return out;
}

export function toJson(result: BenchResult): string {
  return JSON.stringify(
    {
      ...result,
      summary: {
        facteur: summarize(result.facteur),
        postfix: summarize(result.postfix),
        relay: result.relay &&
          { facteur: median(result.relay.facteur), postfix: median(result.relay.postfix) },
      },
    },
    (_k, v) => typeof v === "number" && !Number.isFinite(v) ? null : v,
    2,
  );
}
