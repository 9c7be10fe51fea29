/**
 * `facteur serve`: run until SIGTERM/SIGINT, then stop cleanly. SIGHUP
 * reloads the configuration file (postfix reload); SIGUSR1 flushes the
 * queue (postqueue -f).
 */
import { loadConfig } from "../config/mod.ts";
import { startFacteur } from "../master/mod.ts";
import { removePidFile, writePidFile } from "../master/pid_file.ts";
import { VERSION } from "../version.ts";
import { flushLog, logger } from "../log.ts";

export async function serveCommand(configFile: string): Promise<number> {
  const config = await loadConfig(configFile);
  const facteur = await startFacteur(config);
  logger("master")(
    `facteur ${VERSION} started (config ${config.file}, data ${config.path("data_directory")})`,
  );
  const dataDir = config.path("data_directory");
  // `facteur queue flush` finds the server by its pid file and wakes the queue manager with SIGUSR1.
  const kick = () => facteur.kick();
  Deno.addSignalListener("SIGUSR1", kick);
  // The outcome is logged by the master; a refused reload keeps the running configuration.
  const reload = () => void facteur.reload();
  Deno.addSignalListener("SIGHUP", reload);
  writePidFile(dataDir);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    Deno.addSignalListener("SIGTERM", stop);
    Deno.addSignalListener("SIGINT", stop);
  });
  Deno.removeSignalListener("SIGUSR1", kick);
  Deno.removeSignalListener("SIGHUP", reload);
  await facteur.stop();
  removePidFile(dataDir);
  flushLog();
  return 0;
}
