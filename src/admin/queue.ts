/** The queue routes: mailq, qshape, postcat -q, postsuper, postqueue -f/-s. */
import type { Context } from "hono";
import { QueueNotFoundError } from "../queue/mod.ts";
import { onlyKeys, readJsonObject } from "./body.ts";
import { AdminError, invalidParameter } from "./errors.ts";
import {
  decodeCursor,
  domainParam,
  encodeCursor,
  FILTER_NAMES,
  limitParam,
  listFilter,
  QUEUE_ID,
  queueParam,
} from "./params.ts";
import {
  applyOne,
  applyToIds,
  applyToSelection,
  type BulkResult,
  type Operation,
  OPERATIONS,
  queueShape,
} from "./queue_ops.ts";
import type { Route, RouteContext } from "./routes.ts";
import { FILTER_QUERY, LIMIT_QUERY, ref } from "./schemas.ts";
import { detail, summary } from "./summary.ts";
import type { AdminDeps, AdminEnv } from "./types.ts";

const id = (c: Context<AdminEnv>) => c.req.param("id") as string;

function notFound(queueId: string): AdminError {
  return new AdminError("not_found", `no message with queue id ${queueId}`);
}

async function listMessages(c: Context<AdminEnv>, { deps, now, query }: RouteContext) {
  const limit = limitParam(query.get("limit"));
  const cursor = query.get("cursor");
  const filter = listFilter(query, now);
  // One more than asked: whether it exists says if there is a next page.
  const found = await deps.queue.list({
    ...filter,
    after: cursor === undefined ? undefined : decodeCursor(cursor),
    limit: limit + 1,
  });
  const page = found.slice(0, limit);
  const last = page[page.length - 1];
  const more = found.length > limit;
  return c.json({
    messages: page.map(summary),
    next_cursor: more
      ? encodeCursor({ arrivalTime: last.envelope.arrivalTime, id: last.id })
      : null,
  });
}

/** The body of a bulk operation: exactly one of ids, all, filter. */
async function bulk(c: Context<AdminEnv>, ctx: RouteContext, op: Operation): Promise<BulkResult> {
  const body = await readJsonObject(c.req.raw, ctx.bodyLimit);
  onlyKeys(body, ["ids", "all", "filter"]);
  const given = ["ids", "all", "filter"].filter((k) => k in body);
  if (given.length !== 1) {
    throw new AdminError(
      "bad_request",
      `give exactly one of ids, all, filter (got ${given.length ? given.join(", ") : "none"})`,
    );
  }
  const queue = ctx.deps.queue;
  if ("ids" in body) {
    const ids = body.ids;
    if (!Array.isArray(ids)) throw invalidParameter("ids", "must be an array of queue ids");
    ids.forEach((v, i) => {
      if (typeof v !== "string" || !QUEUE_ID.test(v)) {
        throw invalidParameter(`ids[${i}]`, `${JSON.stringify(v)?.slice(0, 80)} is not a queue id`);
      }
    });
    return applyToIds(queue, op, ids as string[]);
  }
  if ("all" in body) {
    if (body.all !== true) throw invalidParameter("all", "must be true (postsuper ALL)");
    return applyToSelection(queue, op, {});
  }
  const filter = body.filter;
  if (typeof filter !== "object" || filter === null || Array.isArray(filter)) {
    throw invalidParameter("filter", "must be an object");
  }
  const entries = Object.entries(filter);
  onlyKeys(filter as Record<string, unknown>, FILTER_NAMES, "filter.");
  if (entries.length === 0) {
    throw invalidParameter(
      "filter",
      'give at least one criterion (for every message use {"all":true})',
    );
  }
  for (const [k, v] of entries) {
    if (typeof v !== "string") throw invalidParameter(`filter.${k}`, "must be a string");
  }
  const options = listFilter(new Map(entries as [string, string][]), ctx.now, "filter.");
  return applyToSelection(queue, op, options);
}

const listRoute: Route = {
  method: "GET",
  path: "/v1/queue",
  operationId: "listQueue",
  summary: "mailq: queued messages, oldest arrival first, a page at a time",
  query: [
    ...FILTER_QUERY,
    LIMIT_QUERY,
    { name: "cursor", schema: { type: "string" }, description: "next_cursor of the previous page" },
  ],
  responses: { 200: { description: "one page", schema: ref("Listing") } },
  handle: listMessages,
};

const shapeRoute: Route = {
  method: "GET",
  path: "/v1/queue/shape",
  operationId: "queueShape",
  summary: "qshape: recipients still to deliver per domain and age (every queue by default)",
  query: [FILTER_QUERY[0]],
  responses: { 200: { description: "the shape", schema: ref("Shape") } },
  handle: async (c, { deps, now, query }) => {
    const name = query.get("queue");
    const queue = name === undefined ? undefined : queueParam("queue", name);
    return c.json(await queueShape(deps.queue, queue, now));
  },
};

const flushRoute: Route = {
  method: "POST",
  path: "/v1/queue/flush",
  operationId: "flushQueue",
  summary: "postqueue -f (every deferred message) or -s domain: due now, and qmgr woken",
  body: ref("Flush"),
  responses: { 200: { description: "how many messages were made due", schema: ref("Due") } },
  handle: async (c, ctx) => {
    const body = await readJsonObject(c.req.raw, ctx.bodyLimit);
    onlyKeys(body, ["domain"]);
    let domain: string | undefined;
    if ("domain" in body) {
      if (typeof body.domain !== "string") throw invalidParameter("domain", "must be a string");
      domain = domainParam("domain", body.domain);
    }
    return c.json({ due: await ctx.deps.flush(domain) });
  },
};

const bulkRoutes: Route[] = OPERATIONS.map((op) => ({
  method: "POST",
  path: `/v1/queue/${op}`,
  operationId: `${op}Selection`,
  summary: `postsuper ${{ delete: "-d", hold: "-h", release: "-H", requeue: "-r" }[op]}: ` +
    "the listed ids, every message, or a filter",
  body: ref("Selection"),
  responses: {
    200: {
      description: "messages selected, and how many of them changed",
      schema: ref("Matched"),
    },
  },
  handle: async (c, ctx) => {
    const result = await bulk(c, ctx, op);
    if (result.changed > 0) wake(ctx.deps, op);
    return c.json(result);
  },
}));

const NOT_FOUND = { description: "no message with this id", schema: ref("Error") };

const messageRoutes: Route[] = [
  {
    method: "GET",
    path: "/v1/queue/{id}",
    operationId: "getMessage",
    summary: "one message: summary and envelope",
    responses: { 200: { description: "the message", schema: ref("Detail") }, 404: NOT_FOUND },
    handle: async (c, { deps }) => {
      const m = await deps.queue.get(id(c));
      if (!m) throw notFound(id(c));
      return c.json(detail(m));
    },
  },
  {
    method: "GET",
    path: "/v1/queue/{id}/raw",
    operationId: "getMessageRaw",
    summary: "postcat -q: the stored message bytes",
    responses: {
      200: { description: "the message as stored", contentType: "message/rfc822" },
      404: NOT_FOUND,
    },
    handle: async (c, { deps }) => {
      try {
        const bytes = await deps.queue.content(id(c));
        return new Response(bytes as Uint8Array<ArrayBuffer>, {
          headers: { "content-type": "message/rfc822" },
        });
      } catch (err) {
        if (err instanceof QueueNotFoundError) throw notFound(id(c));
        throw err;
      }
    },
  },
  {
    method: "DELETE",
    path: "/v1/queue/{id}",
    operationId: "deleteMessage",
    summary: "postsuper -d: delete one message",
    responses: { 200: { description: "deleted", schema: ref("Deleted") }, 404: NOT_FOUND },
    handle: async (c, { deps }) => {
      if (!(await deps.queue.remove(id(c)))) throw notFound(id(c));
      return c.json({ deleted: 1 });
    },
  },
  ...(["hold", "release", "requeue"] as const).map((op): Route => ({
    method: "POST",
    path: `/v1/queue/{id}/${op}`,
    operationId: `${op}Message`,
    summary: `postsuper ${{ hold: "-h", release: "-H", requeue: "-r" }[op]}: one message`,
    responses: {
      200: { description: "changed", schema: ref("Changed") },
      404: NOT_FOUND,
      409: { description: "the message is not in a queue this applies to", schema: ref("Error") },
    },
    handle: async (c, { deps }) => {
      await applyOne(deps.queue, op, id(c));
      wake(deps, op);
      return c.json({ changed: 1 });
    },
  })),
];

/** Released and requeued messages are due now: tell qmgr rather than wait for its next run. */
function wake(deps: AdminDeps, op: Operation): void {
  if (op === "release" || op === "requeue") deps.kick?.();
}

/** Fixed paths before the {id} ones (ids are upper case, so they never collide anyway). */
export const QUEUE_ROUTES: Route[] = [
  listRoute,
  shapeRoute,
  flushRoute,
  ...bulkRoutes,
  ...messageRoutes,
];
