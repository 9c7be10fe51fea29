/**
 * The admin API as a Hono app: a guard in front of every route (rate limit,
 * token, method overrides, declared body size), the route table, and one
 * error shape for everything that goes wrong.
 */
import { type Context, Hono, type Next } from "hono";
import type { Config } from "../config/mod.ts";
import { QueueNotFoundError } from "../queue/mod.ts";
import { bearerToken, TokenCache } from "./auth.ts";
import { checkDeclaredLength } from "./body.ts";
import { CONFIG_ROUTES } from "./config.ts";
import { AdminError, errorResponse } from "./errors.ts";
import { openApiDocument } from "./openapi.ts";
import { queryParams } from "./params.ts";
import { QUEUE_ROUTES } from "./queue.ts";
import { ROUTE_ROUTES } from "./route.ts";
import { FailureLimiter, type FailurePolicy } from "./rate_limit.ts";
import { honoPath, pathPattern, type Route } from "./routes.ts";
import { STATS_ROUTES } from "./stats.ts";
import { USERS_ROUTES } from "./users.ts";
import type { AdminDeps, AdminEnv } from "./types.ts";

const openApiRoute: Route = {
  method: "GET",
  path: "/v1/openapi.json",
  operationId: "openapi",
  summary: "this document",
  responses: { 200: { description: "the OpenAPI 3.1 document", schema: { type: "object" } } },
  handle: (c) => c.json(openApiDocument(ROUTES)),
};

/** Every route the app serves and the document describes. */
export const ROUTES: readonly Route[] = [
  ...STATS_ROUTES,
  openApiRoute,
  ...QUEUE_ROUTES,
  ...CONFIG_ROUTES,
  ...ROUTE_ROUTES,
  ...USERS_ROUTES,
];

/** Paths answered without a token, to GET only, compared with the path as sent (undecoded). */
const PUBLIC_PATHS: ReadonlySet<string> = new Set(
  ROUTES.filter((r) => r.public && r.method === "GET").map((r) => r.path),
);

/** Headers some frameworks take as the real method: refused so the method means what it says. */
const METHOD_OVERRIDES = ["x-http-method-override", "x-http-method", "x-method-override"];

const UNAUTHORIZED_HEADERS = { "www-authenticate": 'Bearer realm="facteur"' };

function failurePolicy(config: Config): FailurePolicy {
  return {
    limit: config.int("admin_auth_failure_limit"),
    windowMs: config.time("admin_auth_failure_window") * 1000,
  };
}

/** What an error means to the client; anything unexpected is a logged 500. */
function asAdminError(err: unknown, log: (text: string) => void): AdminError {
  if (err instanceof AdminError) return err;
  if (err instanceof QueueNotFoundError) {
    return new AdminError("not_found", `no message with queue id ${err.id}`);
  }
  const message = err instanceof Error ? err.message : String(err);
  log(`admin: error: ${message}`);
  return new AdminError("internal", `internal error: ${message}`);
}

/** 405 with Allow when another method serves the path, else 404. */
function unrouted(method: string, path: string): AdminError {
  const allowed: string[] = ROUTES.filter((r) => pathPattern(r.path).test(path)).map((r) =>
    r.method
  );
  if (allowed.length === 0) {
    return new AdminError("not_found", `no endpoint ${method} ${path.slice(0, 200)}`);
  }
  if (allowed.includes("GET")) allowed.push("HEAD");
  return new AdminError(
    "method_not_allowed",
    `${method} is not allowed on ${path}; use ${allowed.join(", ")}`,
    { headers: { allow: allowed.join(", ") } },
  );
}

export function adminApp(deps: AdminDeps): Hono<AdminEnv> {
  const clock = deps.clock ?? Date.now;
  const log = deps.log ?? (() => {});
  const tokens = new TokenCache(log);
  const limiter = new FailureLimiter();
  void tokens.current(deps.config()); // now, so a missing token is logged at start

  const guard = async (c: Context<AdminEnv>, next: Next) => {
    const pathname = new URL(c.req.url).pathname;
    if (c.req.method === "GET" && PUBLIC_PATHS.has(pathname)) return await next();
    const config = deps.config();
    const now = clock();
    const client = c.env?.remoteAddr?.hostname ?? "unknown";
    const policy = failurePolicy(config);
    const wait = limiter.blockedFor(client, now, policy);
    if (wait > 0) {
      const seconds = Math.ceil(wait / 1000);
      throw new AdminError(
        "too_many_failures",
        `too many failed authentications from ${client}; try again in ${seconds} s`,
        { headers: { "retry-after": String(seconds) } },
      );
    }
    const known = await tokens.current(config);
    if (!known.matches(bearerToken(c.req.header("authorization")))) {
      limiter.fail(client, now, policy);
      if (limiter.blockedFor(client, now, policy) > 0) {
        log(`admin: ${policy.limit} failed authentications from ${client}: refused for a while`);
      }
      throw new AdminError(
        "unauthorized",
        "a valid token is required: Authorization: Bearer <token>",
        { headers: UNAUTHORIZED_HEADERS },
      );
    }
    const override = METHOD_OVERRIDES.find((h) => c.req.header(h) !== undefined);
    if (override) {
      throw new AdminError("bad_request", `${override} is not supported: send the real method`);
    }
    checkDeclaredLength(c.req.raw.headers, config.int("admin_body_size_limit"));
    await next();
  };

  const app = new Hono<AdminEnv>();
  app.onError((err) => errorResponse(asAdminError(err, log)));
  app.notFound((c) => errorResponse(unrouted(c.req.method, c.req.path)));
  app.use("*", guard);
  for (const route of ROUTES) {
    const names = (route.query ?? []).map((q) => q.name);
    app.on(route.method, honoPath(route.path), (c) =>
      route.handle(c, {
        deps,
        now: clock(),
        query: queryParams(c.req.url, names),
        bodyLimit: deps.config().int("admin_body_size_limit"),
      }));
  }
  return app;
}
