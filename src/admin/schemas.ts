/**
 * JSON Schemas of the admin API's bodies, for the OpenAPI document's
 * components; routes refer to them with ref().
 */
import { QUEUE_NAMES } from "../queue/mod.ts";
import { ERROR_STATUS } from "./errors.ts";
import { FILTER_NAMES, LIMIT_MAX } from "./params.ts";

export type JsonSchema = Record<string, unknown>;

export function ref(name: keyof typeof SCHEMAS): JsonSchema {
  return { $ref: `#/components/schemas/${name}` };
}

const str = { type: "string" };
const int = { type: "integer", minimum: 0 };
const nullable = (type: string) => ({ type: [type, "null"] });
const time = { type: "string", format: "date-time" };
const object = (properties: Record<string, unknown>, required = Object.keys(properties)) => ({
  type: "object",
  properties,
  required,
  additionalProperties: false,
});

const filterProperties = {
  queue: { type: "string", enum: QUEUE_NAMES, description: "only this queue" },
  sender: { type: "string", description: 'exact envelope sender, case-insensitive; "" = <>' },
  recipient: { type: "string", description: "exact recipient still to be delivered" },
  domain: { type: "string", description: "recipient domain still to be delivered" },
  min_age: { type: "string", description: "Postfix time: arrived at least this long ago" },
  max_age: { type: "string", description: "Postfix time: arrived at most this long ago" },
};
const bucketCounts = { type: "array", items: int, minItems: 10, maxItems: 10 };

export const SCHEMAS = {
  Error: object({
    error: object({
      code: { type: "string", enum: Object.keys(ERROR_STATUS) },
      message: str,
      problems: { type: "array", items: str },
    }, ["code", "message"]),
  }),
  Status: object({ status: { type: "string", enum: ["ok", "ready"] } }),
  Recipient: object({
    address: str,
    status: { type: "string", enum: ["pending", "sent", "deferred", "bounced"] },
    dsn: str,
    reason: str,
  }, ["address", "status"]),
  Summary: object({
    id: { type: "string", pattern: "^[0-9A-Z]+$" },
    queue: { type: "string", enum: QUEUE_NAMES },
    sender: str,
    arrival_time: time,
    size: int,
    attempts: int,
    next_attempt: { type: ["string", "null"], format: "date-time" },
    recipients: { type: "array", items: { $ref: "#/components/schemas/Recipient" } },
  }),
  Detail: {
    allOf: [{ $ref: "#/components/schemas/Summary" }, {
      type: "object",
      required: ["envelope"],
      properties: {
        envelope: object({
          ret: { type: ["string", "null"], enum: ["FULL", "HDRS", null] },
          envid: nullable("string"),
          body_type: { type: ["string", "null"], enum: ["7BIT", "8BITMIME", "BINARYMIME", null] },
          smtputf8: { type: "boolean" },
          recipients: {
            type: "array",
            items: object({
              address: str,
              original: nullable("string"),
              notify: { type: ["array", "null"], items: str },
              orcpt: nullable("string"),
              status: str,
              dsn: nullable("string"),
              reason: nullable("string"),
              relay: nullable("string"),
              attempts: int,
            }),
          },
        }),
      },
    }],
  },
  Listing: object({
    messages: { type: "array", items: { $ref: "#/components/schemas/Summary" } },
    next_cursor: nullable("string"),
  }),
  Shape: object({
    buckets: { type: "array", items: str },
    rows: {
      type: "array",
      items: object({ domain: str, total: int, counts: bucketCounts }),
    },
    total: object({ total: int, counts: bucketCounts }),
  }),
  Selection: {
    description: "exactly one of ids, all, filter (filter needs at least one criterion)",
    oneOf: [
      object({
        ids: { type: "array", items: { type: "string", pattern: "^[0-9A-Z]+$" } },
      }),
      object({ all: { const: true } }),
      object({
        filter: { ...object(filterProperties, []), minProperties: 1 },
      }),
    ],
  },
  Matched: object({ matched: int, changed: int }),
  Changed: object({ changed: { const: 1 } }),
  Deleted: object({ deleted: { const: 1 } }),
  Flush: object({ domain: str }, []),
  Due: object({ due: int }),
  Stats: object({
    uptime_seconds: { type: "number", minimum: 0 },
    counters: {
      type: "array",
      items: object({
        name: str,
        labels: { type: "object", additionalProperties: str },
        value: { type: "number" },
      }),
    },
    queue: object(Object.fromEntries(QUEUE_NAMES.map((q) => [q, int]))),
  }),
  Parameters: object({ parameters: { type: "object", additionalProperties: str } }),
  Check: object({ ok: { type: "boolean" }, problems: { type: "array", items: str } }),
  Reloaded: object({ reloaded: { const: true } }),
} satisfies Record<string, JsonSchema>;

/** Query parameter schemas shared by the listing and the docs. */
export const FILTER_QUERY = FILTER_NAMES.map((name) => ({
  name,
  schema: { type: "string", ...(name === "queue" ? { enum: QUEUE_NAMES } : {}) },
  description: filterProperties[name].description,
}));

export const LIMIT_QUERY = {
  name: "limit",
  schema: { type: "integer", minimum: 1, maximum: LIMIT_MAX, default: 100 },
  description: `messages per page, 1 to ${LIMIT_MAX}`,
};
