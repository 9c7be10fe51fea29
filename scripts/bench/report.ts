/** Benchmark results as a markdown table, as JSON, and as a BENCHMARKS.md entry. */
import type { Environment } from "./environment.ts";
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

export interface BenchResult {
  command: string;
  settings: Settings;
  environment: Environment;
  postfixVersion: string;
  facteur: ServerResult;
  postfix: ServerResult;
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
  return (["facteur", "postfix"] as const)
    .filter((k) => result[k].error)
    .map((k) => `${k === "facteur" ? "facteur" : "Postfix"} failed: ${result[k].error}`)
    .join("\n");
}

/** The section appended to BENCHMARKS.md by --write. */
export function benchmarksEntry(result: BenchResult): string {
  const env = result.environment;
  const s = result.settings;
  const gib = (env.memoryBytes / 2 ** 30).toFixed(1);
  const errors = errorsLine(result);
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
    `Throughput: \`${s.smtpSource}\` against each server, ${s.rounds} rounds alternating ` +
    `the order, medians. Latency: ${s.sessions} sessions × ${s.latencyMessages} messages of ` +
    `${s.size} bytes per server and round: end-of-data reply from writing the final "." to ` +
    `reading the 250; transaction from writing MAIL to that 250.`,
    "",
    markdownTable(result),
    "",
    roundsLine(result),
    ...(errors ? ["", errors] : []),
    "",
  ].join("\n");
}

export function toJson(result: BenchResult): string {
  return JSON.stringify(
    {
      ...result,
      summary: { facteur: summarize(result.facteur), postfix: summarize(result.postfix) },
    },
    (_k, v) => typeof v === "number" && !Number.isFinite(v) ? null : v,
    2,
  );
}
