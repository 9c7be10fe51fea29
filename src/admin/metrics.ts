/**
 * Prometheus text exposition format 0.0.4: counters from the Counters
 * snapshot (facteur_<name>, "_total" added if missing), queue sizes and
 * uptime as gauges.
 */
import type { CounterSample } from "../counters.ts";
import { QUEUE_NAMES, type QueueName } from "../queue/mod.ts";

export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** Metric and label names: [a-zA-Z_:][a-zA-Z0-9_:]*. */
function metricName(name: string): string {
  return name.replace(/[^a-zA-Z0-9_:]/g, "_").replace(/^(?=[0-9])/, "_");
}

/** Label values escape backslash, double quote and newline. */
function labelValue(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function labelSet(labels: Readonly<Record<string, string>>): string {
  const keys = Object.keys(labels).sort();
  if (keys.length === 0) return "";
  const pairs = keys.map((k) => `${metricName(k)}="${labelValue(labels[k])}"`);
  return `{${pairs.join(",")}}`;
}

function counterName(name: string): string {
  const base = metricName(`facteur_${name}`);
  return base.endsWith("_total") ? base : `${base}_total`;
}

export function prometheusText(
  counters: readonly CounterSample[],
  queue: Record<QueueName, number>,
  uptimeSeconds: number,
): string {
  const lines = [
    "# HELP facteur_uptime_seconds Seconds since facteur started.",
    "# TYPE facteur_uptime_seconds gauge",
    `facteur_uptime_seconds ${uptimeSeconds}`,
    "# HELP facteur_queue_messages Messages in each queue.",
    "# TYPE facteur_queue_messages gauge",
    ...QUEUE_NAMES.map((q) => `facteur_queue_messages{queue="${q}"} ${queue[q] ?? 0}`),
  ];
  // The snapshot is sorted by name, so each name's samples are together.
  let previous = "";
  for (const sample of counters) {
    const name = counterName(sample.name);
    if (name !== previous) lines.push(`# TYPE ${name} counter`);
    previous = name;
    lines.push(`${name}${labelSet(sample.labels)} ${sample.value}`);
  }
  return lines.join("\n") + "\n";
}
