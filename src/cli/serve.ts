/** `facteur serve`: run until SIGTERM/SIGINT, then stop cleanly. */
import { loadConfig } from "../config/mod.ts";
import { startFacteur } from "../master/mod.ts";
import { VERSION } from "../version.ts";
import { flushLog, logger } from "../log.ts";

export async function serveCommand(configFile: string): Promise<number> {
  const config = await loadConfig(configFile);
  const facteur = await startFacteur(config);
  logger("master")(
    `facteur ${VERSION} started (config ${config.file}, data ${config.path("data_directory")})`,
  );
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    Deno.addSignalListener("SIGTERM", stop);
    Deno.addSignalListener("SIGINT", stop);
  });
  await facteur.stop();
  flushLog();
  return 0;
}
