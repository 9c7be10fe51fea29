/**
 * Pure rules the delivery loop applies to results: retry backoff, message
 * expiry, soft_bounce, the error transport, and Postfix's log line.
 */
import type { RecipientResult } from "../queue/types.ts";

/**
 * Time to the next attempt: minimal_backoff_time, doubled after each failed
 * attempt, at most maximal_backoff_time (qmgr(8) "exponential backoff").
 * Never below one second, so a deferred message cannot spin.
 */
export function backoffMs(attempts: number, minimalSec: number, maximalSec: number): number {
  const min = Math.max(1, minimalSec);
  const max = Math.max(min, maximalSec);
  return Math.min(max, min * 2 ** Math.min(attempts, 30)) * 1000;
}

/**
 * A recipient still deferred when the message is older than
 * maximal_queue_lifetime (bounce_queue_lifetime for bounces, sender <>)
 * is returned: RFC 3463 5.4.7 "delivery time expired". A lifetime of 0 means
 * one attempt only (postconf(5)).
 */
export function expire(
  result: RecipientResult,
  ageMs: number,
  lifetimeSec: number,
): RecipientResult {
  if (result.status !== "deferred" || ageMs < lifetimeSec * 1000) return result;
  return {
    ...result,
    status: "bounced",
    dsn: "5.4.7",
    reason: `delivery time expired after ${formatAge(ageMs)}; last error: ${result.reason}`,
  };
}

function formatAge(ms: number): string {
  const sec = Math.floor(ms / 1000);
  if (sec >= 86400) return `${Math.floor(sec / 86400)}d`;
  if (sec >= 3600) return `${Math.floor(sec / 3600)}h`;
  if (sec >= 60) return `${Math.floor(sec / 60)}m`;
  return `${sec}s`;
}

/** postconf(5) soft_bounce: a bounce becomes a deferral (5.x.x → 4.x.x), the mail stays queued. */
export function softBounce(result: RecipientResult): RecipientResult {
  if (result.status !== "bounced") return result;
  return { ...result, status: "deferred", dsn: "4" + result.dsn.slice(1) };
}

/**
 * error(8): the nexthop is the reason, optionally led by a DSN code
 * ("5.1.1 User unknown in virtual alias table"). 4.x.x defers, else it bounces.
 */
export function errorTransportResult(index: number, nexthop: string): RecipientResult {
  const m = /^([245])\.(\d{1,3})\.(\d{1,3})\s+(.*)$/s.exec(nexthop.trim());
  const dsn = m ? `${m[1] === "4" ? "4" : "5"}.${m[2]}.${m[3]}` : "5.0.0";
  const reason = m ? m[4] : nexthop.trim() || "delivery via the error transport";
  return {
    index,
    status: dsn.startsWith("4") ? "deferred" : "bounced",
    dsn,
    reason,
    relay: "none",
  };
}

/**
 * format_tv() with 2 significant digits and at most 2 decimals: "0.12",
 * "1.2", "15", "0"; trailing zeros dropped.
 */
export function formatDelay(ms: number): string {
  const sec = Math.max(0, ms) / 1000;
  if (sec >= 10) return String(Math.round(sec));
  const decimals = sec >= 1 ? 1 : 2;
  const rounded = Number(sec.toFixed(decimals));
  return rounded >= 10 ? String(Math.round(rounded)) : String(rounded);
}

export interface Timing {
  /** ms epoch stamps. */
  arrival: number;
  claimed: number;
  /** Hand-off to the delivery agent; undefined when none was involved. */
  handoff?: number;
  done: number;
}

/**
 * log_adhoc(): "ID: to=<rcpt>, orig_to=<orig>, relay=local, delay=0.12,
 * delays=a/b/c/d, dsn=2.0.0, status=sent (delivered to maildir)". delays are
 * time before the queue manager, in it, connection setup, transmission.
 */
export function logLine(
  queueId: string,
  recipient: { address: string; original?: string },
  result: RecipientResult,
  timing: Timing,
  status: string = result.status,
): string {
  const orig =
    recipient.original && recipient.original.toLowerCase() !== recipient.address.toLowerCase()
      ? `, orig_to=<${recipient.original}>`
      : "";
  const handoff = timing.handoff ?? timing.done;
  const delays = [
    timing.claimed - timing.arrival,
    handoff - timing.claimed,
    0,
    timing.done - handoff,
  ].map(formatDelay).join("/");
  return `${queueId}: to=<${recipient.address}>${orig}, relay=${result.relay ?? "none"}, ` +
    `delay=${formatDelay(timing.done - timing.arrival)}, delays=${delays}, ` +
    `dsn=${result.dsn}, status=${status} (${result.reason})`;
}
