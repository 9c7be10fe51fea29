/**
 * The explainer's input, checked the same way for the CLI and the admin API:
 * every bad value is a RouteInputError naming the field.
 */
import type { Config } from "../config/mod.ts";
import { facteurKinds } from "../users/mod.ts";
import { openMap } from "../maps/mod.ts";
import type { LookupTable } from "../maps/types.ts";
import { canonicalIp } from "../rewrite/address.ts";
import type { OpenTable } from "../rewrite/mod.ts";
import type { RouteQuery } from "./explain.ts";

export class RouteInputError extends Error {
  constructor(readonly field: string, readonly reason: string) {
    super(`${field}: ${reason}`);
    this.name = "RouteInputError";
  }
}

/** RFC 5321 4.5.3.1.3: a path is at most 256 octets. */
const MAX_PATH = 256;

/** "<a@b>" or "a@b" → a@b; "" and "<>" → "" (only where allowed). */
function address(field: string, raw: string, allowNull: boolean): string {
  const text = raw.trim().replace(/^<(.*)>$/, "$1");
  if (text === "" && !allowNull) throw new RouteInputError(field, "an address is required");
  if (/[\s\x00-\x1f\x7f<>]/.test(text)) {
    throw new RouteInputError(field, `"${raw}" is not an address (spaces, controls or <>)`);
  }
  if (new TextEncoder().encode(text).length > MAX_PATH) {
    throw new RouteInputError(field, `longer than ${MAX_PATH} octets (RFC 5321 4.5.3.1.3)`);
  }
  return text;
}

export function parseRouteQuery(
  raw: { address?: string; sender?: string; client?: string; helo?: string },
): RouteQuery {
  const query: RouteQuery = { address: address("address", raw.address ?? "", false) };
  if (raw.sender !== undefined) query.sender = address("sender", raw.sender, true);
  if (raw.client !== undefined) {
    const ip = canonicalIp(raw.client.trim().replace(/^\[(?:ipv6:)?|\]$/gi, ""));
    if (ip === undefined) {
      throw new RouteInputError("client", `"${raw.client}" is not an IPv4 or IPv6 address`);
    }
    query.client = ip;
  }
  if (raw.helo !== undefined) {
    if (!/^[\x21-\x7e]{1,255}$/.test(raw.helo)) {
      throw new RouteInputError("helo", `"${raw.helo}" is not a HELO name`);
    }
    query.helo = raw.helo;
  }
  return query;
}

/** Opens each table once, relative paths from the configuration file's directory. */
export function tableOpener(config: Config): OpenTable {
  const tables = new Map<string, LookupTable>();
  const kinds = facteurKinds(config.path("data_directory"));
  return (spec, opts = {}) => {
    const key = `${opts.aliases ? "aliases " : ""}${spec}`;
    let table = tables.get(key);
    if (!table) {
      table = openMap(spec, { ...opts, baseDir: config.baseDir, kinds });
      tables.set(key, table);
    }
    return table;
  };
}
