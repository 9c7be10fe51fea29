/**
 * Event counters for the admin API's stats and Prometheus metrics: each
 * daemon counts what it did (smtpd: connections, messages received,
 * rejections by reason; qmgr: delivered, deferred, bounced), and the admin
 * service reads a snapshot. Counts live in memory since the process started,
 * as Prometheus counters do. Label sets are bounded by the callers (reply
 * codes and fixed reason names, never addresses).
 */

/** A counter name and its label values, e.g. ("smtpd_rejects", { reason: "relay" }). */
export type Labels = Readonly<Record<string, string>>;

export interface CounterSample {
  name: string;
  labels: Labels;
  value: number;
}

export class Counters {
  readonly #values = new Map<string, CounterSample>();

  /** Adds `by` (default 1) to the counter `name` with these labels. */
  inc(name: string, labels: Labels = {}, by = 1): void {
    const key = counterKey(name, labels);
    const sample = this.#values.get(key);
    if (sample) sample.value += by;
    else this.#values.set(key, { name, labels: { ...labels }, value: by });
  }

  /** The value of one counter (0 when never counted). */
  get(name: string, labels: Labels = {}): number {
    return this.#values.get(counterKey(name, labels))?.value ?? 0;
  }

  /** The sum over every label set of `name`. */
  total(name: string): number {
    let sum = 0;
    for (const s of this.#values.values()) if (s.name === name) sum += s.value;
    return sum;
  }

  /** Every counter, sorted by name then labels: a stable order for output. */
  snapshot(): CounterSample[] {
    return [...this.#values.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, s]) => ({ name: s.name, labels: { ...s.labels }, value: s.value }));
  }
}

function counterKey(name: string, labels: Labels): string {
  const parts = Object.keys(labels).sort().map((k) => `${k}=${labels[k]}`);
  return parts.length === 0 ? name : `${name}{${parts.join(",")}}`;
}
