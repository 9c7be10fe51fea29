/**
 * qshape(1): recipients still to be delivered, per recipient domain and per
 * message age bucket (QSHAPE_README), in the admin API's JSON form, and
 * the table qshape prints. Pure.
 */
import type { QueuedMessage } from "../queue/types.ts";

/** Upper bounds of the age buckets in minutes; the last bucket is everything older. */
const BOUNDS = [5, 10, 20, 40, 80, 160, 320, 640, 1280];

/** The admin API's bucket names (GET /v1/queue/shape). */
export const SHAPE_BUCKETS = [
  ...BOUNDS.map((b, i) => `${i === 0 ? 0 : BOUNDS[i - 1]}-${b}m`),
  `${BOUNDS[BOUNDS.length - 1]}m+`,
];

export interface ShapeCounts {
  total: number;
  counts: number[];
}

export interface Shape {
  buckets: string[];
  rows: (ShapeCounts & { domain: string })[];
  total: ShapeCounts;
}

/** The bucket of a message `ageMs` old (a clock skewed into the future counts as new). */
export function bucketIndex(ageMs: number): number {
  const minutes = ageMs / 60_000;
  const i = BOUNDS.findIndex((b) => minutes < b);
  return i < 0 ? BOUNDS.length : i;
}

/** Domains sorted by total, largest first, then by name. */
export function shapeOf(messages: QueuedMessage[], now: number): Shape {
  const rows = new Map<string, ShapeCounts & { domain: string }>();
  const total: ShapeCounts = { total: 0, counts: SHAPE_BUCKETS.map(() => 0) };
  for (const m of messages) {
    const bucket = bucketIndex(now - m.envelope.arrivalTime);
    for (const r of m.envelope.recipients) {
      if (r.status !== "pending" && r.status !== "deferred") continue;
      const domain = r.address.slice(r.address.lastIndexOf("@") + 1).toLowerCase();
      let row = rows.get(domain);
      if (!row) rows.set(domain, row = { domain, total: 0, counts: SHAPE_BUCKETS.map(() => 0) });
      row.total++;
      row.counts[bucket]++;
      total.total++;
      total.counts[bucket]++;
    }
  }
  const sorted = [...rows.values()].sort((a, b) =>
    b.total - a.total || (a.domain < b.domain ? -1 : a.domain > b.domain ? 1 : 0)
  );
  return { buckets: SHAPE_BUCKETS, rows: sorted, total };
}

/** qshape's column heads: "0-5m" → "5", "1280m+" → "1280+". */
export function bucketHead(name: string): string {
  const range = /^\d+-(\d+)m$/.exec(name);
  if (range) return range[1];
  const open = /^(\d+)m\+$/.exec(name);
  return open ? `${open[1]}+` : name;
}

/**
 * The table as qshape prints it: a head line (T, then each bucket's upper
 * bound), TOTAL, then one line per domain; columns right-aligned.
 */
export function formatShape(shape: Shape): string {
  const lines = [
    { label: "", cells: ["T", ...shape.buckets.map(bucketHead)] },
    { label: "TOTAL", cells: [shape.total.total, ...shape.total.counts].map(String) },
    ...shape.rows.map((r) => ({ label: r.domain, cells: [r.total, ...r.counts].map(String) })),
  ];
  const labelWidth = Math.max(...lines.map((l) => l.label.length));
  const widths = lines[0].cells.map((_, i) =>
    Math.max(2, ...lines.map((l) => (l.cells[i] ?? "").length))
  );
  return lines.map((l) =>
    [l.label.padStart(labelWidth), ...l.cells.map((c, i) => c.padStart(widths[i]))].join(" ")
  ).join("\n") + "\n";
}
