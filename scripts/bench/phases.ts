/**
 * One measurement of one server: a throughput run (smtp-source) or a latency
 * run (our client). Each waits until every accepted message is in the
 * Maildir and empties it, so the next run, of either server, starts idle.
 */
import type { Cleanup } from "./cleanup.ts";
import { type LatencyResult, measureLatency } from "./latency.ts";
import { emptyNew, waitForNew } from "./maildir.ts";
import type { Options } from "./options.ts";
import type { ServerResult } from "./report.ts";
import { type BenchServer, RECIPIENT, SENDER } from "./servers.ts";
import { runSmtpSource, type SmtpSourceOptions } from "./smtp_source.ts";

const rate = (n: number, ms: number) => n / (ms / 1000);

export function smtpSourceOptions(
  opts: Options,
  port: number,
  messages: number,
): SmtpSourceOptions {
  return {
    host: "127.0.0.1",
    port,
    sessions: opts.sessions,
    messages,
    size: opts.size,
    from: SENDER,
    to: RECIPIENT,
    reuseConnections: opts.reuseConnections,
    timeoutMs: opts.timeoutMs,
  };
}

async function drain(server: BenchServer, expected: number, timeoutMs: number): Promise<number> {
  const at = await waitForNew(server.maildir, expected, timeoutMs);
  if (at === null) {
    throw new Error(`not all ${expected} messages delivered within ${timeoutMs / 1000} s`);
  }
  await emptyNew(server.maildir);
  return at;
}

/** Accepted msgs/s (until smtp-source exits) and delivered msgs/s (until all are in the Maildir). */
export async function throughputRun(
  server: BenchServer,
  opts: Options,
  messages: number,
  cleanup: Cleanup,
): Promise<{ accepted: number; delivered: number }> {
  let child: Deno.ChildProcess | null = null;
  const release = cleanup.add("kill smtp-source", () => {
    try {
      child?.kill("SIGKILL");
    } catch { /* exited already */ }
  });
  const run = await runSmtpSource(smtpSourceOptions(opts, server.port, messages), (c) => child = c)
    .finally(release);
  // Delivery cannot finish before acceptance does, so polling the Maildir starts only now.
  const deliveredAt = await drain(server, messages, opts.timeoutMs);
  return {
    accepted: rate(messages, run.elapsedMs),
    delivered: rate(messages, deliveredAt - run.startedAt),
  };
}

export async function latencyRun(server: BenchServer, opts: Options): Promise<LatencyResult> {
  const result = await measureLatency({
    host: "127.0.0.1",
    port: server.port,
    sessions: opts.sessions,
    messagesPerSession: opts.latencyMessages,
    size: opts.size,
    from: SENDER,
    to: RECIPIENT,
    timeoutMs: opts.timeoutMs,
  });
  await drain(server, result.samplesMs.length, opts.timeoutMs);
  return result;
}

/**
 * Runs `step` for each server still measured, the order alternating with the
 * round (fairness on a shared machine). A failure retires that server: its
 * error is kept in its result and the end of its log is shown.
 */
export async function forEachServer(
  cleanup: Cleanup,
  servers: Map<BenchServer, ServerResult>,
  round: number,
  step: (s: BenchServer, r: ServerResult) => Promise<void>,
  progress: (line: string) => void,
): Promise<void> {
  const order = [...servers.keys()];
  if (round % 2) order.reverse();
  for (const server of order) {
    const result = servers.get(server)!;
    if (result.error || cleanup.interrupted) continue;
    try {
      await step(server, result);
    } catch (e) {
      if (cleanup.interrupted) return;
      result.error = (e as Error).message;
      const log = (await server.logTail().catch(() => "")).trim().split("\n").slice(-10);
      progress(`  ${server.name} failed: ${result.error}\n  its log ends:\n${log.join("\n")}`);
    }
  }
}
