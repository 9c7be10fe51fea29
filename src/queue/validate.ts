/**
 * Argument checks for the queue API, done before anything touches storage.
 * A failure is a bug in the caller, so it is a TypeError/RangeError naming
 * the field, not a MailError.
 */
import { isQueueId } from "./queue_id.ts";
import type { Envelope, RecipientResult } from "./types.ts";

const NOTIFY = new Set(["SUCCESS", "FAILURE", "DELAY", "NEVER"]);
const RESULT_STATUS = new Set(["sent", "deferred", "bounced"]);
/** RFC 3463 2: class "." subject "." detail */
const ENHANCED_CODE = /^[245]\.\d{1,3}\.\d{1,3}$/;

export function validateEnvelope(id: string, envelope: Envelope, content: Uint8Array): void {
  if (typeof id !== "string" || !isQueueId(id)) {
    throw new TypeError(`queue: invalid queue id ${JSON.stringify(id)}`);
  }
  if (!(content instanceof Uint8Array)) throw new TypeError("queue: content must be a Uint8Array");
  if (typeof envelope?.sender !== "string") throw new TypeError("queue: envelope.sender missing");
  if (!Number.isFinite(envelope.arrivalTime)) {
    throw new TypeError("queue: envelope.arrivalTime must be a number (ms epoch)");
  }
  if (!Array.isArray(envelope.recipients) || envelope.recipients.length === 0) {
    throw new TypeError("queue: envelope has no recipients");
  }
  envelope.recipients.forEach((r, i) => {
    if (typeof r?.address !== "string" || r.address === "") {
      throw new TypeError(`queue: recipient #${i} has no address`);
    }
    for (const n of r.notify ?? []) {
      if (!NOTIFY.has(n)) throw new TypeError(`queue: recipient #${i}: bad NOTIFY value ${n}`);
    }
  });
}

export function validateResults(results: RecipientResult[], nextAttempt: number): void {
  if (!Number.isFinite(nextAttempt)) throw new TypeError("queue: nextAttempt must be a number");
  if (!Array.isArray(results)) throw new TypeError("queue: results must be an array");
  const seen = new Set<number>();
  for (const r of results) {
    if (!Number.isInteger(r.index) || r.index < 0) {
      throw new RangeError(`queue: bad recipient index ${r.index}`);
    }
    if (seen.has(r.index)) throw new RangeError(`queue: recipient #${r.index} given twice`);
    seen.add(r.index);
    if (!RESULT_STATUS.has(r.status)) {
      throw new TypeError(`queue: recipient #${r.index}: bad status ${r.status}`);
    }
    if (!ENHANCED_CODE.test(r.dsn) || r.dsn[0] !== statusClass(r.status)) {
      throw new TypeError(
        `queue: recipient #${r.index}: status ${r.status} with DSN code ${r.dsn}`,
      );
    }
  }
}

function statusClass(status: RecipientResult["status"]): string {
  return status === "sent" ? "2" : status === "deferred" ? "4" : "5";
}
