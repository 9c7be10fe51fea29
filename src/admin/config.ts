/** The configuration routes: postconf -n/-d/-x, facteur check, reload. */
import { Config, PARAMETERS } from "../config/mod.ts";
import { AdminError } from "./errors.ts";
import { booleanParam } from "./params.ts";
import type { Route } from "./routes.ts";
import { ref } from "./schemas.ts";

/** postconf -n (set ones, raw), -d (every default) and -x (expanded). */
function parameters(config: Config, defaults: boolean, expanded: boolean): Record<string, string> {
  const source = defaults ? new Config() : config;
  const names = defaults ? Object.keys(PARAMETERS).sort() : config.setNames();
  return Object.fromEntries(names.map((n) => [n, expanded ? source.get(n) : source.raw(n)]));
}

export const CONFIG_ROUTES: Route[] = [
  {
    method: "GET",
    path: "/v1/config",
    operationId: "getConfig",
    summary: "postconf -n: the parameters set; -d with defaults=true; -x with expanded=true",
    query: [
      {
        name: "defaults",
        schema: { type: "boolean", default: false },
        description: "every parameter's default value (postconf -d)",
      },
      {
        name: "expanded",
        schema: { type: "boolean", default: false },
        description: "$name references expanded (postconf -x)",
      },
    ],
    responses: { 200: { description: "parameter values", schema: ref("Parameters") } },
    handle: (c, { deps, query }) => {
      const defaults = booleanParam("defaults", query.get("defaults"));
      const expanded = booleanParam("expanded", query.get("expanded"));
      return c.json({ parameters: parameters(deps.config(), defaults, expanded) });
    },
  },
  {
    method: "POST",
    path: "/v1/config/check",
    operationId: "checkConfig",
    summary: "facteur check: problems with the configuration file on disk",
    responses: { 200: { description: "ok, or the problems found", schema: ref("Check") } },
    handle: async (c, { deps }) => {
      const problems = await deps.check();
      return c.json({ ok: problems.length === 0, problems });
    },
  },
  {
    method: "POST",
    path: "/v1/reload",
    operationId: "reload",
    summary: "postfix reload: read the configuration again; on problems the old one keeps running",
    responses: {
      200: { description: "reloaded", schema: ref("Reloaded") },
      422: { description: "the new configuration has problems", schema: ref("Error") },
    },
    handle: async (c, { deps }) => {
      const result = await deps.reload();
      if (!result.ok) {
        throw new AdminError(
          "invalid_config",
          `the configuration has ${result.problems.length} problem(s); the old one keeps running`,
          { problems: result.problems },
        );
      }
      return c.json({ reloaded: true });
    },
  },
];
