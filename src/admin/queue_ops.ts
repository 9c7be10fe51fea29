/**
 * postsuper(1) on the queue: delete, hold, release and requeue of one
 * message or a selection, and qshape(1). Which queue a message must be in
 * for each operation is stated once, here.
 */
import {
  type ListOptions,
  type QueuedMessage,
  type QueueName,
  type QueueStore,
  SHAPE_BUCKET_MINUTES,
  type ShapeRow,
} from "../queue/mod.ts";
import { AdminError } from "./errors.ts";

export type Operation = "delete" | "hold" | "release" | "requeue";
export const OPERATIONS: readonly Operation[] = ["delete", "hold", "release", "requeue"];

interface OperationRule {
  /** Why the message cannot take the operation now, or undefined when it can. */
  refuse(m: QueuedMessage): string | undefined;
  apply(queue: QueueStore, id: string): Promise<boolean>;
}

const RULES: Record<Operation, OperationRule> = {
  delete: { refuse: () => undefined, apply: (q, id) => q.remove(id) },
  // postsuper -h: a corrupt message stays aside; a held one is already held.
  hold: {
    refuse: (m) =>
      m.queue === "hold" || m.queue === "corrupt"
        ? `message ${m.id} is already in the ${m.queue} queue`
        : undefined,
    apply: (q, id) => q.hold(id),
  },
  // postsuper -H
  release: {
    refuse: (m) =>
      m.queue === "hold"
        ? undefined
        : `message ${m.id} is not held (it is in the ${m.queue} queue)`,
    apply: (q, id) => q.release(id),
  },
  // postsuper -r: only messages waiting for an attempt (QueueStore.requeue).
  requeue: {
    refuse: (m) =>
      m.queue === "incoming" || m.queue === "deferred"
        ? undefined
        : `message ${m.id} is in the ${m.queue} queue; only incoming and deferred messages can be requeued`,
    apply: (q, id) => q.requeue(id),
  },
};

function notFound(id: string): AdminError {
  return new AdminError("not_found", `no message with queue id ${id}`);
}

/** One message: 404 when unknown, 409 when in the wrong queue. */
export async function applyOne(queue: QueueStore, op: Operation, id: string): Promise<void> {
  const m = await queue.get(id);
  if (!m) throw notFound(id);
  const refused = RULES[op].refuse(m);
  if (refused) throw new AdminError("conflict", refused);
  // Gone or moved meanwhile (a delivery finished it): say so rather than claim a change.
  if (!(await RULES[op].apply(queue, id))) {
    throw (await queue.get(id))
      ? new AdminError("conflict", `message ${id} changed meanwhile`)
      : notFound(id);
  }
}

export interface BulkResult {
  matched: number;
  changed: number;
}

async function applyTo(queue: QueueStore, op: Operation, m: QueuedMessage): Promise<boolean> {
  return RULES[op].refuse(m) === undefined && await RULES[op].apply(queue, m.id);
}

/** The listed ids that exist (each once); those not in a fitting queue are matched but unchanged. */
export async function applyToIds(
  queue: QueueStore,
  op: Operation,
  ids: readonly string[],
): Promise<BulkResult> {
  const result = { matched: 0, changed: 0 };
  for (const id of new Set(ids)) {
    const m = await queue.get(id);
    if (!m) continue;
    result.matched++;
    if (await applyTo(queue, op, m)) result.changed++;
  }
  return result;
}

/** Every message in the listing `filter` (all of them for {}), a page at a time. */
export async function applyToSelection(
  queue: QueueStore,
  op: Operation,
  filter: ListOptions,
  pageSize = 500,
): Promise<BulkResult> {
  const result = { matched: 0, changed: 0 };
  for await (const page of pages(queue, filter, pageSize)) {
    for (const m of page) {
      result.matched++;
      if (await applyTo(queue, op, m)) result.changed++;
    }
  }
  return result;
}

/** The listing in pages, by keyset: changes made between pages neither skip nor repeat one. */
export async function* pages(
  queue: QueueStore,
  filter: ListOptions,
  pageSize: number,
): AsyncGenerator<QueuedMessage[]> {
  let after: ListOptions["after"];
  for (;;) {
    const page = await queue.list({ ...filter, after, limit: pageSize });
    if (page.length > 0) yield page;
    if (page.length < pageSize) return;
    const last = page[page.length - 1];
    after = { arrivalTime: last.envelope.arrivalTime, id: last.id };
  }
}

/** qshape's bucket names: "0-5m", "5-10m", ..., "1280m+". */
export const SHAPE_BUCKETS: readonly string[] = [
  ...SHAPE_BUCKET_MINUTES.map((m, i) => `${i === 0 ? 0 : SHAPE_BUCKET_MINUTES[i - 1]}-${m}m`),
  `${SHAPE_BUCKET_MINUTES[SHAPE_BUCKET_MINUTES.length - 1]}m+`,
];

function bucketOf(ageMs: number): number {
  const i = SHAPE_BUCKET_MINUTES.findIndex((minutes) => ageMs < minutes * 60_000);
  return i === -1 ? SHAPE_BUCKET_MINUTES.length : i;
}

/** For stores without shape(): the same counts from the listing, a page at a time. */
async function shapeByPages(
  queue: QueueStore,
  name: QueueName | undefined,
  now: number,
): Promise<ShapeRow[]> {
  const rows = new Map<string, number[]>();
  for await (const page of pages(queue, name ? { queue: name } : {}, 500)) {
    for (const m of page) {
      const bucket = bucketOf(now - m.envelope.arrivalTime);
      for (const r of m.envelope.recipients) {
        if (r.status !== "pending" && r.status !== "deferred") continue;
        const domain = r.address.slice(r.address.lastIndexOf("@") + 1).toLowerCase();
        let counts = rows.get(domain);
        if (!counts) rows.set(domain, counts = new Array(SHAPE_BUCKETS.length).fill(0));
        counts[bucket]++;
      }
    }
  }
  return [...rows].map(([domain, counts]) => ({ domain, counts }));
}

const sum = (counts: number[]) => counts.reduce((a, b) => a + b, 0);

/** qshape(1): rows by total (largest first, then by domain), and the column totals. */
export async function queueShape(queue: QueueStore, name: QueueName | undefined, now: number) {
  const raw = queue.shape ? await queue.shape(name, now) : await shapeByPages(queue, name, now);
  const rows = raw.map(({ domain, counts }) => ({ domain, total: sum(counts), counts }))
    .sort((a, b) => b.total - a.total || (a.domain < b.domain ? -1 : a.domain > b.domain ? 1 : 0));
  const counts = SHAPE_BUCKETS.map((_, i) => sum(rows.map((r) => r.counts[i])));
  return { buckets: SHAPE_BUCKETS, rows, total: { total: sum(counts), counts } };
}
