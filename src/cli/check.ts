/**
 * `facteur check`, like `postfix check`: the configuration loads and every
 * table and restriction in it is valid, the data directory is writable, and
 * every listen address is free. Prints one line per check; exit 1 on any failure.
 */
import { join } from "node:path";
import { createServer } from "node:net";
import { loadConfig } from "../config/mod.ts";
import { buildDaemons } from "../master/mod.ts";
import { checkFlushDomains } from "../flush/mod.ts";
import { serviceEndpoints } from "../master/listen.ts";

export async function checkCommand(configFile: string): Promise<number> {
  let failures = 0;
  const report = (ok: boolean, what: string) => {
    if (!ok) failures++;
    console.log(`${ok ? "ok  " : "FAIL"}  ${what}`);
  };
  const config = await loadConfig(configFile); // a ConfigError here is printed by main
  report(true, `configuration ${config.file}`);
  const warn = (text: string) => console.log(`warn  ${text.replace(/^warning: /, "")}`);
  try {
    const daemons = buildDaemons(config, warn);
    checkFlushDomains(config, daemons.openTable, warn); // flush(8), built with the queue by serve
    report(true, "daemon settings (tables, restrictions, DNS, transports)");
  } catch (e) {
    report(
      false,
      `daemon settings (tables, restrictions, DNS, transports): ${(e as Error).message}`,
    );
  }
  const dataDir = config.path("data_directory");
  report(await writable(dataDir), `data directory ${dataDir} is writable`);
  for (const service of config.services.filter((s) => s.enabled)) {
    const endpoints = serviceEndpoints(service, config);
    for (const e of endpoints) {
      const problem = await portProblem(e.host, e.port);
      report(
        !problem,
        `service ${service.name} can listen on ${e.host}:${e.port}${problem ? `: ${problem}` : ""}`,
      );
    }
  }
  return failures ? 1 : 0;
}

async function writable(dir: string): Promise<boolean> {
  try {
    await Deno.mkdir(dir, { recursive: true });
    const probe = join(dir, `.facteur-check-${Deno.pid}`);
    await Deno.writeTextFile(probe, "ok");
    await Deno.remove(probe);
    return true;
  } catch {
    return false;
  }
}

function portProblem(host: string, port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once(
      "error",
      (e: NodeJS.ErrnoException) =>
        resolve(e.code === "EADDRINUSE" ? "address already in use" : e.message),
    );
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(undefined)));
  });
}
