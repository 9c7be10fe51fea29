/** Health, readiness, statistics and Prometheus metrics. */
import { AdminError } from "./errors.ts";
import { METRICS_CONTENT_TYPE, prometheusText } from "./metrics.ts";
import type { Route } from "./routes.ts";
import { ref } from "./schemas.ts";
import type { AdminDeps } from "./types.ts";

function uptimeSeconds(deps: AdminDeps, now: number): number {
  return Math.max(0, Math.floor((now - deps.startedAt) / 1000));
}

export const STATS_ROUTES: Route[] = [
  {
    method: "GET",
    path: "/healthz",
    operationId: "health",
    summary: "liveness: the process answers (no token needed)",
    public: true,
    responses: { 200: { description: "alive", schema: ref("Status") } },
    handle: (c) => c.json({ status: "ok" }),
  },
  {
    method: "GET",
    path: "/readyz",
    operationId: "ready",
    summary: "readiness: started and not stopping (no token needed)",
    public: true,
    responses: {
      200: { description: "ready", schema: ref("Status") },
      503: { description: "starting or stopping", schema: ref("Error") },
    },
    handle: (c, { deps }) => {
      if (!deps.ready()) throw new AdminError("not_ready", "facteur is starting or stopping");
      return c.json({ status: "ready" });
    },
  },
  {
    method: "GET",
    path: "/metrics",
    operationId: "metrics",
    summary: "Prometheus metrics",
    responses: {
      200: { description: "text exposition format 0.0.4", contentType: "text/plain" },
    },
    handle: async (_c, { deps, now }) => {
      const text = prometheusText(
        deps.counters.snapshot(),
        await deps.queue.counts(),
        uptimeSeconds(deps, now),
      );
      return new Response(text, { headers: { "content-type": METRICS_CONTENT_TYPE } });
    },
  },
  {
    method: "GET",
    path: "/v1/stats",
    operationId: "stats",
    summary: "uptime, event counters and queue sizes",
    responses: { 200: { description: "statistics", schema: ref("Stats") } },
    handle: async (c, { deps, now }) =>
      c.json({
        uptime_seconds: uptimeSeconds(deps, now),
        counters: deps.counters.snapshot(),
        queue: await deps.queue.counts(),
      }),
  },
];
