/**
 * facteur: a mail server in one process. Entry point: the command line.
 *
 *   facteur serve [-c FILE]     run the server
 *   facteur check [-c FILE]     check configuration, data directory, ports
 *   facteur config [-n|-d|-x] [NAME...]   show parameters, like postconf
 *   facteur version
 */
import { main } from "./src/cli/mod.ts";

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
