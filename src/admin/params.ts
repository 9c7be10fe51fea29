/**
 * Request parameters: the query string (only the names a route declares,
 * each at most once) and the queue filters shared by GET /v1/queue and the
 * bulk operations' {"filter": {...}}. Every bad value is a 400
 * invalid_parameter naming it.
 */
import { parseTime } from "../config/mod.ts";
import { type ListOptions, QUEUE_NAMES, type QueueName } from "../queue/mod.ts";
import { invalidParameter } from "./errors.ts";

/** Queue ids as the queue makes them (queue_id.ts): upper-case base 36. */
export const QUEUE_ID = /^[0-9A-Z]{1,64}$/;

export const LIMIT_DEFAULT = 100;
export const LIMIT_MAX = 1000;

/** The filters a selection may use, in the order the docs list them. */
export const FILTER_NAMES = [
  "queue",
  "sender",
  "recipient",
  "domain",
  "min_age",
  "max_age",
] as const;
export type FilterName = (typeof FILTER_NAMES)[number];

/** The query parameters of `url`, refusing names not in `allowed` and repeated names. */
export function queryParams(url: string, allowed: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const [name, value] of new URL(url).searchParams) {
    if (!allowed.includes(name)) {
      const takes = allowed.length ? `it takes ${allowed.join(", ")}` : "it takes none";
      throw invalidParameter(name, `unknown parameter for this endpoint; ${takes}`);
    }
    if (out.has(name)) throw invalidParameter(name, "given more than once");
    out.set(name, value);
  }
  return out;
}

/** "true" or "false" (absent = false). */
export function booleanParam(name: string, value: string | undefined): boolean {
  if (value === undefined || value === "false") return false;
  if (value === "true") return true;
  throw invalidParameter(name, `${JSON.stringify(value)} is not true or false`);
}

export function limitParam(value: string | undefined): number {
  if (value === undefined) return LIMIT_DEFAULT;
  const n = /^\d{1,7}$/.test(value) ? Number(value) : NaN;
  if (!(n >= 1 && n <= LIMIT_MAX)) {
    throw invalidParameter(
      "limit",
      `${JSON.stringify(value)} is not a whole number from 1 to ${LIMIT_MAX}`,
    );
  }
  return n;
}

export function queueParam(name: string, value: string): QueueName {
  if (!(QUEUE_NAMES as readonly string[]).includes(value)) {
    throw invalidParameter(
      name,
      `${JSON.stringify(value)} is not one of ${QUEUE_NAMES.join(", ")}`,
    );
  }
  return value as QueueName;
}

/** Printable text without controls, as addresses and domains are. */
function plainText(name: string, value: string, max: number): string {
  if (value.length > max || /[\u0000-\u001f\u007f\s]/.test(value)) {
    throw invalidParameter(
      name,
      `${JSON.stringify(value.slice(0, 80))} is not an address (spaces, controls or too long)`,
    );
  }
  return value;
}

/** A recipient domain: no "@", no spaces, not empty. */
export function domainParam(name: string, value: string): string {
  if (value === "" || value.includes("@")) {
    throw invalidParameter(name, `${JSON.stringify(value)} is not a domain such as example.com`);
  }
  return plainText(name, value, 255);
}

/** Postfix time syntax ("300s", "5m", "2d", bare seconds) in ms. */
function ageParam(name: string, value: string): number {
  const seconds = value.length <= 20 ? parseTime(value, "s") : undefined;
  if (seconds === undefined || !Number.isSafeInteger(seconds * 1000)) {
    throw invalidParameter(
      name,
      `${JSON.stringify(value)} is not a time such as 300s, 5m, 2h or 2d`,
    );
  }
  return seconds * 1000;
}

/**
 * ListOptions from filter values (strings), ages taken at `now`: min_age =
 * arrived at least that long ago, max_age = at most that long ago. `prefix`
 * names where they came from in messages ("filter." for a body).
 */
export function listFilter(
  values: ReadonlyMap<string, string>,
  now: number,
  prefix = "",
): ListOptions {
  const options: ListOptions = {};
  const get = (name: FilterName) => values.get(name);
  const queue = get("queue");
  if (queue !== undefined) options.queue = queueParam(prefix + "queue", queue);
  const sender = get("sender");
  if (sender !== undefined) options.sender = plainText(prefix + "sender", sender, 998);
  const recipient = get("recipient");
  if (recipient !== undefined) {
    if (recipient === "") throw invalidParameter(prefix + "recipient", "empty address");
    options.recipient = plainText(prefix + "recipient", recipient, 998);
  }
  const domain = get("domain");
  if (domain !== undefined) options.domain = domainParam(prefix + "domain", domain);
  const minAge = get("min_age");
  if (minAge !== undefined) options.arrivedBefore = now - ageParam(prefix + "min_age", minAge);
  const maxAge = get("max_age");
  if (maxAge !== undefined) options.arrivedAfter = now - ageParam(prefix + "max_age", maxAge);
  return options;
}

/** The opaque cursor of a page's last message: base64url of "arrivalTime.id". */
export function encodeCursor(last: { arrivalTime: number; id: string }): string {
  return btoa(`${last.arrivalTime}.${last.id}`).replace(/\+/g, "-").replace(/\//g, "_")
    .replace(/=+$/, "");
}

export function decodeCursor(value: string): { arrivalTime: number; id: string } {
  let text = "";
  try {
    if (/^[A-Za-z0-9_-]{1,200}$/.test(value)) {
      text = atob(value.replace(/-/g, "+").replace(/_/g, "/"));
    }
  } catch {
    // not base64: refused below
  }
  const m = /^(-?\d{1,16})\.([0-9A-Z]{1,64})$/.exec(text);
  if (!m || !Number.isSafeInteger(Number(m[1]))) {
    throw invalidParameter("cursor", "not a cursor this server gave (use next_cursor as is)");
  }
  return { arrivalTime: Number(m[1]), id: m[2] };
}
