/** Queued messages as the admin API shows them (snake_case JSON, ISO 8601 times). */
import type { QueuedMessage, QueuedRecipient } from "../queue/mod.ts";

export function isoTime(ms: number): string | null {
  return Number.isFinite(ms) && Math.abs(ms) <= 8.64e15 ? new Date(ms).toISOString() : null;
}

/** The stored recipients (the envelope type's intersection hides their QueuedRecipient side from map). */
function recipientsOf(m: QueuedMessage): QueuedRecipient[] {
  return m.envelope.recipients;
}

/** mailq's view: who, when, how big, and each recipient's status. */
export function summary(m: QueuedMessage) {
  return {
    id: m.id,
    queue: m.queue,
    sender: m.envelope.sender,
    arrival_time: isoTime(m.envelope.arrivalTime),
    size: m.size,
    attempts: m.attempts,
    // Held and corrupt messages are not scheduled (postsuper -h: no delivery until released).
    next_attempt: m.queue === "hold" || m.queue === "corrupt" ? null : isoTime(m.nextAttempt),
    recipients: recipientsOf(m).map((r) => ({
      address: r.address,
      status: r.status,
      ...(r.dsn === undefined ? {} : { dsn: r.dsn }),
      ...(r.reason === undefined ? {} : { reason: r.reason }),
    })),
  };
}

/** The summary plus the whole envelope (RFC 3461 parameters, per-recipient history). */
export function detail(m: QueuedMessage) {
  const e = m.envelope;
  return {
    ...summary(m),
    envelope: {
      ret: e.ret ?? null,
      envid: e.envid ?? null,
      body_type: e.bodyType ?? null,
      smtputf8: e.smtputf8 ?? false,
      recipients: recipientsOf(m).map((r) => ({
        address: r.address,
        original: r.original ?? null,
        notify: r.notify ?? null,
        orcpt: r.orcpt ?? null,
        status: r.status,
        dsn: r.dsn ?? null,
        reason: r.reason ?? null,
        relay: r.relay ?? null,
        attempts: r.attempts,
      })),
    },
  };
}
