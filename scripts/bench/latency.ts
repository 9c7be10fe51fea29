/**
 * Phase 2: end-of-data reply latency. `sessions` concurrent SMTP sessions each
 * send `messagesPerSession` messages of `size` bytes of body, one after the
 * other on the same connection, and record for each the milliseconds from
 * writing the final ".\r\n" to reading the 250 (the time the server spends
 * making the message durable, plus its queueing behind the other sessions),
 * and the whole transaction's time, MAIL to that 250.
 */
import { buildMessage, SmtpSession } from "./smtp_client.ts";

export interface LatencyOptions {
  host: string;
  port: number;
  sessions: number;
  messagesPerSession: number;
  size: number;
  from: string;
  to: string;
  /** Gives up (and fails) after this many milliseconds. */
  timeoutMs: number;
}

export interface LatencyResult {
  /** End-of-data reply time, one sample per accepted message, in milliseconds. */
  samplesMs: number[];
  /** MAIL to the end-of-data 250, per message, in milliseconds. */
  transactionsMs: number[];
  elapsedMs: number;
}

export async function measureLatency(opts: LatencyOptions): Promise<LatencyResult> {
  const samplesMs: number[] = [];
  const transactionsMs: number[] = [];
  const sessions: SmtpSession[] = [];
  let timedOut = false;
  // A stuck server must not hang the benchmark: closing the sockets ends every pending read.
  const timer = setTimeout(() => {
    timedOut = true;
    for (const s of sessions) s.close();
  }, opts.timeoutMs);
  const start = performance.now();
  const runSession = async (index: number) => {
    const session = await SmtpSession.open(opts.host, opts.port);
    sessions.push(session);
    for (let i = 0; i < opts.messagesPerSession; i++) {
      const content = buildMessage(
        opts.from,
        opts.to,
        opts.size,
        `lat-${index}-${i}-${Date.now()}`,
      );
      const times = await session.send(opts.from, opts.to, content);
      samplesMs.push(times.endOfDataMs);
      transactionsMs.push(times.transactionMs);
    }
    await session.quit();
  };
  const results = await Promise.allSettled(
    Array.from({ length: opts.sessions }, (_, i) => runSession(i)),
  );
  const elapsedMs = performance.now() - start;
  clearTimeout(timer);
  for (const s of sessions) s.close();
  if (timedOut) throw new Error(`latency run timed out after ${opts.timeoutMs} ms`);
  const failed = results.find((r) => r.status === "rejected");
  if (failed) throw failed.reason;
  return { samplesMs, transactionsMs, elapsedMs };
}
