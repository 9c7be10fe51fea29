/**
 * The queue at scale (facteur only): does a scheduling pass, or the server's
 * memory, grow with the number of deferred messages? A data directory is
 * filled through the queue API in-process (enqueue, then recordAttempt
 * deferring every recipient until far in the future), many calls at once so
 * the group commit makes one transaction of each batch.
 *
 * Scheduling pass: the delivery loop's claim, QueueStore.claimDue(now, 100)
 * (100: DeliveryLoop's default maxActive) with nothing due, timed on the
 * calling thread. Memory: VmRSS of `facteur serve` on that directory, with
 * relayhost a dead port and long backoffs so nothing becomes due.
 */
import { join } from "node:path";
import { newQueueId, openQueue, type QueueStore } from "../../src/queue/mod.ts";
import { freePort } from "../../tests/peers/postfix.ts";
import { startFacteur } from "./facteur.ts";
import { median } from "./stats.ts";

/** Far enough that no pass during the benchmark finds anything due. */
const FAR_FUTURE_MS = 365 * 24 * 3600 * 1000;
const BATCH = 2000;
const CLAIM_LIMIT = 100;

export interface QueueScalePoint {
  deferred: number;
  /** Median ms of one claimDue(now, 100) with nothing due; NaN for an empty queue. */
  claimMs: number;
  /** facteur serve's VmRSS in KiB, a few seconds after it listens. */
  rssKiB: number;
  /** How long filling took, ms. */
  fillMs: number;
}

function message(i: number) {
  const content = new TextEncoder().encode(
    `From: bench@bench.test\r\nTo: user${i}@relay.test\r\nSubject: deferred ${i}\r\n\r\nbody\r\n`,
  );
  return {
    envelope: {
      sender: "bench@bench.test",
      recipients: [{ address: `user${i}@relay.test` }],
      arrivalTime: Date.now(),
    },
    content,
  };
}

/** Adds `count` deferred messages (one recipient each, next attempt far in the future). */
export async function fillDeferred(queue: QueueStore, count: number): Promise<void> {
  const next = Date.now() + FAR_FUTURE_MS;
  for (let start = 0; start < count; start += BATCH) {
    const ids: string[] = [];
    const adds: Promise<void>[] = [];
    for (let i = start; i < Math.min(count, start + BATCH); i++) {
      const id = newQueueId();
      const m = message(i);
      ids.push(id);
      adds.push(queue.enqueue(id, m.envelope, m.content));
    }
    await Promise.all(adds);
    const deferral = [{ index: 0, status: "deferred" as const, dsn: "4.4.1", reason: "bench" }];
    await Promise.all(ids.map((id) => queue.recordAttempt(id, deferral, next)));
  }
}

/** Median time of `runs` claimDue passes that find nothing due. */
export async function timeEmptyClaims(queue: QueueStore, runs: number): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const got = await queue.claimDue(Date.now(), CLAIM_LIMIT);
    times.push(performance.now() - t0);
    if (got.length) throw new Error(`claimDue found ${got.length} due messages; expected none`);
  }
  return median(times);
}

/** VmRSS of a process in KiB: /proc/PID/status, else ps. */
export async function rssKiB(pid: number): Promise<number> {
  try {
    const status = await Deno.readTextFile(`/proc/${pid}/status`);
    const m = status.match(/^VmRSS:\s+(\d+)\s+kB/m);
    if (m) return Number(m[1]);
  } catch { /* not readable here: ask ps */ }
  const out = await new Deno.Command("ps", { args: ["-o", "rss=", "-p", String(pid)] }).output();
  const n = Number(new TextDecoder().decode(out.stdout).trim());
  if (!out.success || !Number.isFinite(n)) throw new Error(`cannot read the RSS of PID ${pid}`);
  return n;
}

/** facteur's config for the measurement: relays to a dead port, retries only after a day. */
function queueToml(dir: string): string {
  const params: Record<string, string> = {
    myhostname: "bench.localdomain",
    mydestination: "",
    mynetworks: "127.0.0.0/8",
    alias_maps: "",
    local_recipient_maps: "",
    relayhost: `[127.0.0.1]:${freePort()}`,
    minimal_backoff_time: "1d",
    maximal_backoff_time: "1d",
    queue_run_delay: "1d",
    data_directory: join(dir, "data"),
  };
  const lines = Object.entries(params).map(([k, v]) => `${k} = ${JSON.stringify(v)}`);
  return [...lines, "", "[services.smtp]", `listen = "127.0.0.1:0"`, ""].join("\n");
}

/** Starts facteur on `dir`, waits `settleMs`, reads its RSS, stops it. */
async function serverRss(dir: string, settleMs: number): Promise<number> {
  const configFile = join(dir, "facteur.toml");
  await Deno.writeTextFile(configFile, queueToml(dir));
  const proc = await startFacteur({ configFile, logFile: join(dir, "facteur.log") });
  try {
    await new Promise((r) => setTimeout(r, settleMs));
    return await rssKiB(proc.pid);
  } finally {
    await proc.stop();
  }
}

/** Fills `dir`/data with `deferred` messages and measures a claim pass and the server's RSS. */
export async function measureQueueScale(
  dir: string,
  deferred: number,
  claimRuns = 20,
  settleMs = 3000,
): Promise<QueueScalePoint> {
  await Deno.mkdir(dir, { recursive: true });
  const queue = openQueue(join(dir, "data"));
  let fillMs = 0;
  let claimMs = NaN;
  try {
    const t0 = performance.now();
    await fillDeferred(queue, deferred);
    fillMs = performance.now() - t0;
    if (deferred > 0) claimMs = await timeEmptyClaims(queue, claimRuns);
    const counts = await queue.counts();
    if (counts.deferred !== deferred) {
      throw new Error(`queue holds ${counts.deferred} deferred messages, not ${deferred}`);
    }
  } finally {
    await queue.close();
  }
  return { deferred, claimMs, rssKiB: await serverRss(dir, settleMs), fillMs };
}
