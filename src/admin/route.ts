/** GET /v1/route: the route explainer (facteur route --json) over the running configuration. */
import type { Config } from "../config/mod.ts";
import { explainRoute } from "../route/explain.ts";
import { parseRouteQuery, RouteInputError, tableOpener } from "../route/query.ts";
import type { OpenTable } from "../rewrite/mod.ts";
import { invalidParameter } from "./errors.ts";
import type { Route } from "./routes.ts";
import type { JsonSchema } from "./schemas.ts";

/** One table cache per configuration object: a reload gives a new one. */
const openers = new WeakMap<Config, OpenTable>();

function openerFor(config: Config): OpenTable {
  let open = openers.get(config);
  if (!open) openers.set(config, open = tableOpener(config));
  return open;
}

const str = { type: "string" };
const nullableStr = { type: ["string", "null"] };
const strings = { type: "array", items: str };
const phase = { type: "string", enum: ["rcpt", "rewrite", "expansion", "resolve", "local"] };
const obj = (properties: Record<string, unknown>) => ({
  type: "object",
  properties,
  required: Object.keys(properties),
  additionalProperties: false,
});
/** An address and, when it had a virtual alias entry, the addresses it expanded to (recursively). */
const aliasNode: JsonSchema = {
  type: "object",
  properties: {
    address: str,
    children: { type: "array", items: { type: "object", description: "the same shape" } },
  },
  required: ["address"],
  additionalProperties: false,
};

/** The RouteReport of src/route/explain.ts. */
export const ROUTE_SCHEMA: JsonSchema = obj({
  input: obj({ address: str, sender: str, client: str, helo: str, service: nullableStr }),
  rcpt: obj({ accepted: { type: "boolean" }, reply: str }),
  rewrite: obj({ recipient: str, sender: str, bcc: strings, error: nullableStr }),
  expansion: {
    type: "array",
    items: obj({ tree: aliasNode, addresses: strings, error: nullableStr }),
  },
  recipients: {
    type: "array",
    items: obj({
      address: str,
      via: { type: "string", enum: ["recipient", "bcc"] },
      class: {
        type: ["string", "null"],
        enum: ["local", "virtual_alias", "virtual_mailbox", "relay", "default", null],
      },
      classParam: nullableStr,
      classEntry: nullableStr,
      transport: nullableStr,
      nexthop: nullableStr,
      relocated: nullableStr,
      error: nullableStr,
    }),
  },
  // local(8)'s alias expansion and mailbox for each recipient it delivers (a dry run).
  local: {
    type: "array",
    items: obj({
      recipient: str,
      transport: str,
      sender: str,
      deliveries: { type: "array", items: { type: "object" } },
      error: nullableStr,
    }),
  },
  steps: { type: "array", items: obj({ phase, stage: str, text: str }) },
  lookups: {
    type: "array",
    items: obj({ phase, param: str, table: str, key: str, result: nullableStr }),
  },
});

export const ROUTE_ROUTES: Route[] = [
  {
    method: "GET",
    path: "/v1/route",
    operationId: "explainRoute",
    summary: "facteur route: what happens to a recipient (RCPT check, rewriting, virtual " +
      "aliases, class, transport:nexthop) and every table lookup made",
    query: [
      { name: "address", schema: str, description: "the recipient (required)" },
      { name: "sender", schema: str, description: 'MAIL FROM for the RCPT check; "" = <>' },
      { name: "client", schema: str, description: "SMTP client IP (default 127.0.0.1)" },
      { name: "helo", schema: str, description: "HELO name (default localhost)" },
    ],
    responses: { 200: { description: "the explanation", schema: ROUTE_SCHEMA } },
    handle: async (c, { deps, query }) => {
      let parsed;
      try {
        parsed = parseRouteQuery({
          address: query.get("address"),
          sender: query.get("sender"),
          client: query.get("client"),
          helo: query.get("helo"),
        });
      } catch (e) {
        if (e instanceof RouteInputError) throw invalidParameter(e.field, e.reason);
        throw e;
      }
      const config = deps.config();
      return c.json(await explainRoute(config, parsed, { openTable: openerFor(config) }));
    },
  },
];
