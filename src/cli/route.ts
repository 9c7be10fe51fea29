/**
 * `facteur route ADDRESS [--sender S] [--client IP] [--helo NAME] [--json]`:
 * explains what facteur does with a recipient (src/route/explain.ts), from
 * the configuration file alone — no running server needed.
 */
import { loadConfig } from "../config/mod.ts";
import { explainRoute } from "../route/explain.ts";
import { formatRoute } from "../route/format.ts";
import { parseRouteQuery, RouteInputError, tableOpener } from "../route/query.ts";
import { EX_USAGE } from "./sysexits.ts";

export interface RouteOptions {
  config: string;
  sender?: string;
  client?: string;
  helo?: string;
  json?: boolean;
}

/** Exit 0 when explained (accepted or not); 64 for a bad argument; a ConfigError goes to main. */
export async function routeCommand(address: string, opts: RouteOptions): Promise<number> {
  let query;
  try {
    query = parseRouteQuery({ address, sender: opts.sender, client: opts.client, helo: opts.helo });
  } catch (e) {
    if (!(e instanceof RouteInputError)) throw e;
    console.error(`facteur route: ${e.message}`);
    return EX_USAGE;
  }
  const config = await loadConfig(opts.config);
  const report = await explainRoute(config, query, { openTable: tableOpener(config) });
  if (opts.json) console.log(JSON.stringify(report, null, 2));
  else console.log(formatRoute(report).trimEnd());
  return 0;
}
