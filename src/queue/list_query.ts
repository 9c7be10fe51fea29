/**
 * SQL for the queue listing (mailq, the admin API) and qshape, built from
 * ListOptions: pure functions returning the statement text and its bound
 * values, so the filters run in SQLite and never load the whole queue.
 */
import { type ListOptions, QUEUE_NAMES, SHAPE_BUCKET_MINUTES } from "./types.ts";

export interface Query {
  sql: string;
  params: (string | number)[];
}

/** Recipients that still count: nothing final has happened to them. */
const UNDELIVERED = "r.status IN ('pending', 'deferred')";

/** `%@domain` for LIKE (ASCII case-insensitive in SQLite), with LIKE's wildcards escaped. */
export function domainPattern(domain: string): string {
  return "%@" + domain.replace(/[\\%_]/g, (c) => "\\" + c);
}

/** Checks the options a caller gave, so a bad value is a precise error and not odd SQL. */
export function validateListOptions(options: ListOptions): void {
  const { queue, limit, sender, recipient, domain, arrivedBefore, arrivedAfter, after } = options;
  if (queue !== undefined && !QUEUE_NAMES.includes(queue)) {
    throw new RangeError(`queue: list: no queue named ${JSON.stringify(queue)}`);
  }
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 0)) {
    throw new RangeError(`queue: list: bad limit ${limit}`);
  }
  for (const [name, value] of Object.entries({ sender, recipient, domain })) {
    if (value !== undefined && typeof value !== "string") {
      throw new TypeError(`queue: list: ${name} must be a string`);
    }
  }
  if (domain === "") throw new RangeError("queue: list: empty domain");
  for (const [name, value] of Object.entries({ arrivedBefore, arrivedAfter })) {
    if (value !== undefined && !Number.isFinite(value)) {
      throw new RangeError(`queue: list: bad ${name} ${value}`);
    }
  }
  if (
    after !== undefined &&
    (!Number.isFinite(after.arrivalTime) || typeof after.id !== "string")
  ) {
    throw new TypeError("queue: list: after needs a finite arrivalTime and a string id");
  }
}

/** WHERE conditions (on messages m) for every filter that is set. */
function conditions(options: ListOptions): Query {
  const where: string[] = [];
  const params: (string | number)[] = [];
  const add = (sql: string, ...values: (string | number)[]) => {
    where.push(sql);
    params.push(...values);
  };
  if (options.queue !== undefined) add("m.queue = ?", options.queue);
  if (options.sender !== undefined) add("m.sender = ? COLLATE NOCASE", options.sender);
  if (options.recipient !== undefined) {
    add(
      `EXISTS (SELECT 1 FROM recipients r WHERE r.message_id = m.id AND ${UNDELIVERED}
        AND r.address = ? COLLATE NOCASE)`,
      options.recipient,
    );
  }
  if (options.domain !== undefined) {
    add(
      `EXISTS (SELECT 1 FROM recipients r WHERE r.message_id = m.id AND ${UNDELIVERED}
        AND r.address LIKE ? ESCAPE '\\')`,
      domainPattern(options.domain),
    );
  }
  if (options.arrivedBefore !== undefined) add("m.arrival_time <= ?", options.arrivedBefore);
  if (options.arrivedAfter !== undefined) add("m.arrival_time >= ?", options.arrivedAfter);
  if (options.after !== undefined) {
    // Row values: strictly after the last row of the previous page (the index order).
    add("(m.arrival_time, m.id) > (?, ?)", options.after.arrivalTime, options.after.id);
  }
  return { sql: where.length ? `WHERE ${where.join(" AND ")}` : "", params };
}

/** The listing: `columns` of messages m matching `options`, oldest arrival first. */
export function listQuery(columns: string, options: ListOptions): Query {
  const { sql, params } = conditions(options);
  return {
    sql: `SELECT ${columns} FROM messages m ${sql} ORDER BY m.arrival_time, m.id LIMIT ?`,
    params: [...params, options.limit ?? -1], // SQLite: a negative LIMIT = no limit
  };
}

/** The bucket of an age in ms: a CASE over qshape's bounds (trusted constants). */
function bucketCase(ageColumn: string): string {
  const whens = SHAPE_BUCKET_MINUTES.map((minutes, i) =>
    `WHEN ${ageColumn} < ${minutes * 60_000} THEN ${i}`
  );
  return `CASE ${whens.join(" ")} ELSE ${SHAPE_BUCKET_MINUTES.length} END`;
}

/**
 * qshape: (domain, bucket, n) for recipients still to be delivered. The
 * domain is what follows the address's last "@" (rtrim strips every
 * character but "@" from the right), lower-cased.
 */
export function shapeQuery(queue: string | undefined, now: number): Query {
  const where = queue === undefined ? "" : "AND m.queue = ?";
  return {
    sql: `SELECT domain, ${bucketCase("age")} AS bucket, count(*) AS n FROM (
        SELECT lower(substr(r.address, length(rtrim(r.address, replace(r.address, '@', ''))) + 1))
          AS domain, ? - m.arrival_time AS age
        FROM messages m JOIN recipients r ON r.message_id = m.id
        WHERE ${UNDELIVERED} ${where}
      ) GROUP BY domain, bucket`,
    params: queue === undefined ? [now] : [now, queue],
  };
}
