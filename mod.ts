/**
 * facteur: a mail server in one process. Entry point: the command line.
 *
 *   facteur serve [-c FILE]     run the server
 *   facteur check [-c FILE]     check configuration, data directory, ports
 *   facteur config [-n|-d|-x] [NAME...]   show parameters, like postconf
 *   facteur queue ..., mailq, sendmail, map query, status, stop, reload, token new
 *   facteur version
 *
 * Started under the name sendmail, mailq or newaliases (a symlink to the
 * compiled binary, e.g. /usr/sbin/sendmail), it behaves as that command:
 * the name comes from argv[0] (node:process argv0; Deno.execPath() would
 * give the link's target).
 *
 * This module is also the queue worker's entry: the server starts its SQLite
 * thread from Deno.mainModule, which is this file run from source, the bundle
 * (dist/facteur.js) or the compiled binary's embedded entry alike.
 */
import process from "node:process";
import { main } from "./src/cli/mod.ts";
import { personalityArgs } from "./src/cli/argv0.ts";
import { isQueueWorker, runQueueWorker } from "./src/queue/worker_main.ts";

if (isQueueWorker()) runQueueWorker();
else if (import.meta.main) Deno.exit(await main(personalityArgs(process.argv0, Deno.args)));
