/**
 * The OpenAPI 3.1 document of the admin API, made from the route table the
 * app serves (so the two cannot drift), plus the errors every route can give
 * (authentication, parameters, bodies).
 */
import { PATH_PARAMS, type Route } from "./routes.ts";
import { type JsonSchema, ref, SCHEMAS } from "./schemas.ts";
import { VERSION } from "../version.ts";

function errorResponse(description: string, headers?: Record<string, unknown>) {
  return {
    description,
    ...(headers ? { headers } : {}),
    content: { "application/json": { schema: ref("Error") } },
  };
}

function response(description: string, schema?: JsonSchema, contentType = "application/json") {
  return {
    description,
    content: { [contentType]: { schema: schema ?? { type: "string" } } },
  };
}

/** The errors a route can answer besides its own. */
function commonErrors(route: Route): Record<string, unknown> {
  const errors: Record<string, unknown> = {};
  const takesParams = (route.query?.length ?? 0) > 0 || route.path.includes("{");
  if (takesParams || route.body) {
    errors["400"] = errorResponse("bad_request, invalid_json or invalid_parameter (named)");
  }
  if (!route.public) {
    errors["401"] = errorResponse("no valid bearer token", {
      "WWW-Authenticate": { schema: { type: "string", const: 'Bearer realm="facteur"' } },
    });
    errors["413"] = errorResponse("request body larger than admin_body_size_limit");
    errors["429"] = errorResponse("too many failed authentications from this address", {
      "Retry-After": { schema: { type: "integer" }, description: "seconds" },
    });
  }
  if (route.body) errors["415"] = errorResponse("request body is not application/json");
  errors["500"] = errorResponse("internal error");
  return errors;
}

function operation(route: Route) {
  const pathParams = [...route.path.matchAll(/\{(\w+)\}/g)].map(([, name]) => ({
    name,
    in: "path",
    required: true,
    description: PATH_PARAMS[name].description,
    schema: { type: "string", pattern: `^${PATH_PARAMS[name].pattern}$` },
  }));
  const queryParams = (route.query ?? []).map((q) => ({
    name: q.name,
    in: "query",
    required: false,
    description: q.description,
    schema: q.schema,
  }));
  const parameters = [...pathParams, ...queryParams];
  const own = Object.fromEntries(
    Object.entries(route.responses).map(([status, doc]) => [
      status,
      response(doc.description, doc.schema, doc.contentType),
    ]),
  );
  return {
    operationId: route.operationId,
    summary: route.summary,
    ...(route.public ? { security: [] } : {}),
    ...(parameters.length ? { parameters } : {}),
    ...(route.body
      ? { requestBody: { required: true, content: { "application/json": { schema: route.body } } } }
      : {}),
    responses: { ...commonErrors(route), ...own },
  };
}

export function openApiDocument(routes: readonly Route[]) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    (paths[route.path] ??= {})[route.method.toLowerCase()] = operation(route);
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "facteur admin API",
      version: VERSION,
      description: "Queue, configuration, statistics and health of a facteur mail server. " +
        'Errors are {"error":{"code","message"}}.',
    },
    security: [{ bearer: [] }],
    components: {
      securitySchemes: { bearer: { type: "http", scheme: "bearer" } },
      schemas: SCHEMAS,
    },
    paths,
  };
}
