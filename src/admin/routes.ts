/**
 * The shape of the route table: each route carries its handler and its
 * documentation, so the Hono app and the OpenAPI document are made from the
 * same list and cannot drift apart.
 */
import type { Context } from "hono";
import type { JsonSchema } from "./schemas.ts";
import type { AdminDeps, AdminEnv } from "./types.ts";

export type Method = "GET" | "POST" | "DELETE";

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
  /** OpenAPI path template; `{id}` is always a queue id ([0-9A-Z]+). */
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

/** The Hono path of a route: `{id}` becomes a parameter matching queue ids only. */
export function honoPath(path: string): string {
  return path.replace(/\{(\w+)\}/g, ":$1{[0-9A-Z]+}");
}

/** A matcher of concrete paths for a route's template (for 405 and the drift test). */
export function pathPattern(path: string): RegExp {
  const body = path.split(/\{\w+\}/).map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))
    .join("[0-9A-Z]+");
  return new RegExp(`^${body}$`);
}
