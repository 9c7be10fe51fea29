/**
 * The route explainer's record (`facteur route`, GET /v1/route): while a
 * trace is active in the current async context, every table lookup made
 * through a TableList and every rewriting step reports itself here. Nothing
 * is recorded (and almost nothing spent) when no trace is active, so the
 * daemons call these hooks unconditionally.
 */
import { AsyncLocalStorage } from "node:async_hooks";

export type TraceEvent =
  /** One key looked up in one table: `result` undefined when not found. */
  | { kind: "lookup"; param: string; table: string; key: string; result?: string }
  /** A decision or rewrite, in words: "virtual alias expansion: a@x → b@y". */
  | { kind: "step"; stage: string; text: string };

export class RouteTrace {
  readonly events: TraceEvent[] = [];
}

const active = new AsyncLocalStorage<RouteTrace>();

/** Runs `work` with `trace` recording everything it looks up and decides. */
export function withTrace<T>(trace: RouteTrace, work: () => Promise<T>): Promise<T> {
  return active.run(trace, work);
}

/** Whether a trace is recording (to skip building step texts otherwise). */
export function tracing(): boolean {
  return active.getStore() !== undefined;
}

export function traceLookup(param: string, table: string, key: string, result?: string): void {
  active.getStore()?.events.push({ kind: "lookup", param, table, key, result });
}

export function traceStep(stage: string, text: string): void {
  active.getStore()?.events.push({ kind: "step", stage, text });
}
