/**
 * facteur: a mail server in one process. Entry point: the command line.
 *
 *   facteur serve [-c FILE]     run the server
 *   facteur check [-c FILE]     check configuration, data directory, ports
 *   facteur config [-n|-d|-x] [NAME...]   show parameters, like postconf
 *   facteur version
 *
 * This module is also the queue worker's entry: the server starts its SQLite
 * thread from Deno.mainModule, which is this file run from source, the bundle
 * (dist/facteur.js) or the compiled binary's embedded entry alike.
 */
import { main } from "./src/cli/mod.ts";
import { isQueueWorker, runQueueWorker } from "./src/queue/worker_main.ts";

if (isQueueWorker()) runQueueWorker();
else if (import.meta.main) Deno.exit(await main(Deno.args));
