/**
 * The shape of the route table: each route carries its handler and its
 * documentation, so the Hono app and the OpenAPI document are made from the
 * same list and cannot drift apart.
 */
import type { Context } from "hono";
import type { JsonSchema } from "./schemas.ts";
import type { AdminDeps, AdminEnv } from "./types.ts";

export type Method = "GET" | "POST" | "PATCH" | "DELETE";

export interface QueryDoc {
  name: string;
  description: string;
  schema: JsonSchema;
}

export interface ResponseDoc {
  description: string;
  /** Absent for non-JSON bodies (then contentType says what). */
  schema?: JsonSchema;
  contentType?: string;
}

/** What a handler gets besides Hono's context. */
export interface RouteContext {
  deps: AdminDeps;
  /** ms epoch of this request (deps.clock). */
  now: number;
  /** The query parameters, already checked against the route's `query`. */
  query: Map<string, string>;
  /** admin_body_size_limit */
  bodyLimit: number;
}

export interface Route {
  method: Method;
  /** OpenAPI path template; each `{name}` is one of PATH_PARAMS. */
  path: string;
  operationId: string;
  summary: string;
  /** Answers without a token (health checks). */
  public?: boolean;
  query?: readonly QueryDoc[];
  /** JSON request body schema (the body is then required). */
  body?: JsonSchema;
  /** Success and route-specific error answers; auth and body errors are added by the document. */
  responses: Record<number, ResponseDoc>;
  handle(c: Context<AdminEnv>, ctx: RouteContext): Response | Promise<Response>;
}

/** Path parameters by name: what they match (a Hono regexp) and what they are. */
export const PATH_PARAMS: Record<string, { pattern: string; description: string }> = {
  id: { pattern: "[0-9A-Z]+", description: "queue id" },
  // Anything but "/": the handler checks the syntax and answers a precise 400.
  address: { pattern: "[^/]+", description: "user@domain (or @domain for an alias), %40 allowed" },
  name: { pattern: "[^/]+", description: "domain name" },
};

function paramPattern(name: string): string {
  const param = PATH_PARAMS[name];
  if (!param) throw new Error(`route path parameter {${name}} is not in PATH_PARAMS`);
  return param.pattern;
}

/** The Hono path of a route: each `{name}` becomes a parameter matching its PATH_PARAMS pattern. */
export function honoPath(path: string): string {
  return path.replace(/\{(\w+)\}/g, (_, name: string) => `:${name}{${paramPattern(name)}}`);
}

/** A matcher of concrete paths for a route's template (for 405 and the drift test). */
export function pathPattern(path: string): RegExp {
  const body = path.split(/(\{\w+\})/).map((part) => {
    const param = /^\{(\w+)\}$/.exec(part);
    return param ? paramPattern(param[1]) : part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  }).join("");
  return new RegExp(`^${body}$`);
}
