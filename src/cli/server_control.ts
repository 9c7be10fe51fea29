/**
 * `facteur status`, `facteur stop`, `facteur reload` (postfix status, stop,
 * reload). The server is found by its pid file in data_directory; when an
 * admin service is configured, /readyz and POST /v1/reload are used too.
 */
import { type Config, loadConfig } from "../config/mod.ts";
import { pidFilePath, readPidFile } from "../master/pid_file.ts";
import { AdminApiError, AdminClient, adminEndpoint, chooseToken } from "./admin_client.ts";

/** /proc/PID/stat's state field; undefined when there is no such process. */
function processState(pid: number): string | undefined {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0];
  } catch {
    return undefined;
  }
}

/** Alive and not a zombie (an exited child its parent has not reaped yet). */
export function processAlive(pid: number): boolean {
  if (Deno.build.os !== "linux") return true; // no /proc: trust the pid file
  const state = processState(pid);
  return state !== undefined && state !== "Z" && state !== "X";
}

/** A stale pid file may name a reused pid: on Linux the command line must be facteur's "serve". */
function looksLikeServer(pid: number): boolean {
  if (Deno.build.os !== "linux") return true;
  try {
    return Deno.readTextFileSync(`/proc/${pid}/cmdline`).split("\0").includes("serve");
  } catch {
    return false;
  }
}

export interface ServerState {
  /** The running server's pid, or undefined. */
  pid?: number;
  /** A pid file exists but names no running server. */
  stalePidFile?: boolean;
  pidFile: string;
}

export function serverState(dataDir: string): ServerState {
  const pidFile = pidFilePath(dataDir);
  const pid = readPidFile(dataDir);
  if (pid === undefined) {
    let exists = false;
    try {
      Deno.statSync(pidFile);
      exists = true;
    } catch {
      // no file: not running
    }
    return { pidFile, stalePidFile: exists || undefined };
  }
  if (pid !== Deno.pid && processAlive(pid) && looksLikeServer(pid)) return { pidFile, pid };
  return { pidFile, stalePidFile: true };
}

export interface StatusReport {
  running: boolean;
  pid: number | null;
  pid_file: string;
  stale_pid_file: boolean;
  admin: { url: string; ready: boolean | null; error?: string } | null;
}

/** The status line a human reads. */
export function statusText(r: StatusReport): string {
  let text = r.running
    ? `facteur is running (pid ${r.pid})`
    : `facteur is not running${r.stale_pid_file ? ` (stale pid file ${r.pid_file})` : ""}`;
  if (r.admin) {
    const state = r.admin.ready === true
      ? "ready"
      : r.admin.ready === false
      ? "not ready"
      : `unreachable: ${r.admin.error}`;
    text += `; admin API ${r.admin.url}: ${state}`;
  }
  return text;
}

export async function statusReport(config: Config): Promise<StatusReport> {
  const state = serverState(config.path("data_directory"));
  const endpoint = adminEndpoint(config);
  let admin: StatusReport["admin"] = null;
  if (endpoint) {
    try {
      admin = {
        url: endpoint.url,
        ready: await new AdminClient(endpoint.url, undefined, fetch, 5000).ready(),
      };
    } catch (e) {
      admin = { url: endpoint.url, ready: null, error: (e as AdminApiError).message };
    }
  }
  return {
    running: state.pid !== undefined,
    pid: state.pid ?? null,
    pid_file: state.pidFile,
    stale_pid_file: state.stalePidFile ?? false,
    admin,
  };
}

/** postfix status: exit 0 when running, 1 when not. */
export async function statusCommand(configFile: string, opts: { json?: boolean }): Promise<number> {
  const config = await loadConfig(configFile);
  const report = await statusReport(config);
  console.log(opts.json ? JSON.stringify(report) : statusText(report));
  return report.running ? 0 : 1;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * postfix stop: SIGTERM, then wait until the process is gone. The server
 * lets sessions finish for master_stop_timeout, so the default deadline is
 * that plus 10 seconds.
 */
export async function stopCommand(configFile: string, opts: { timeout?: string }): Promise<number> {
  const config = await loadConfig(configFile);
  const state = serverState(config.path("data_directory"));
  if (state.pid === undefined) {
    console.error(`facteur: stop: facteur is not running (no live pid in ${state.pidFile})`);
    return 1;
  }
  const seconds = opts.timeout !== undefined
    ? Number(opts.timeout)
    : config.time("master_stop_timeout") + 10;
  if (!Number.isFinite(seconds) || seconds <= 0) {
    console.error(`facteur: stop: bad --timeout "${opts.timeout}": a number of seconds`);
    return 64;
  }
  try {
    Deno.kill(state.pid, "SIGTERM");
  } catch (e) {
    console.error(`facteur: stop: cannot signal pid ${state.pid}: ${(e as Error).message}`);
    return 1;
  }
  const deadline = Date.now() + seconds * 1000;
  while (processAlive(state.pid)) {
    if (Date.now() > deadline) {
      console.error(
        `facteur: stop: pid ${state.pid} is still running ${seconds}s after SIGTERM; ` +
          `it may be finishing deliveries (kill -KILL ${state.pid} forces it)`,
      );
      return 1;
    }
    await sleep(50);
  }
  console.log(`facteur: stopped (pid ${state.pid})`);
  return 0;
}

/**
 * postfix reload: through the admin API when one is configured (the answer
 * says whether the new file was taken, and why not), else SIGHUP.
 */
export async function reloadCommand(configFile: string, opts: { token?: string }): Promise<number> {
  const config = await loadConfig(configFile);
  const state = serverState(config.path("data_directory"));
  if (state.pid === undefined) {
    console.error(`facteur: reload: facteur is not running (no live pid in ${state.pidFile})`);
    return 1;
  }
  const endpoint = adminEndpoint(config);
  const token = endpoint ? chooseToken(config, opts.token) : undefined;
  if (endpoint && token?.token) {
    try {
      await new AdminClient(endpoint.url, token.token).json("POST", "/v1/reload", {});
      console.log(`facteur: configuration reloaded (pid ${state.pid})`);
      return 0;
    } catch (e) {
      if (!(e instanceof AdminApiError)) throw e;
      if (e.code === "invalid_config") {
        console.error(`facteur: reload refused, the running configuration stays: ${e.message}`);
        for (const p of e.problems) console.error(`  ${p}`);
        return 1;
      }
      if (e.status !== 0) {
        console.error(`facteur: reload: ${e.describe(token.source)}`);
        return 1;
      }
      // unreachable API: the signal still works
    }
  }
  try {
    Deno.kill(state.pid, "SIGHUP");
  } catch (e) {
    console.error(`facteur: reload: cannot signal pid ${state.pid}: ${(e as Error).message}`);
    return 1;
  }
  console.log(
    `facteur: sent SIGHUP to pid ${state.pid}: the server reloads (its log says if it refused)`,
  );
  return 0;
}
