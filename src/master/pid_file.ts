/**
 * `<data_directory>/facteur.pid`: how `facteur queue flush` finds the running
 * server to wake its queue manager (Postfix's postqueue -f talks to qmgr's
 * fifo; one process here, so a signal does it: SIGUSR1).
 */
import { join } from "node:path";

export const PID_FILE = "facteur.pid";

export function pidFilePath(dataDirectory: string): string {
  return join(dataDirectory, PID_FILE);
}

/** Written at start; an old file (stale after a crash) is simply replaced. */
export function writePidFile(dataDirectory: string): void {
  Deno.writeTextFileSync(pidFilePath(dataDirectory), `${Deno.pid}\n`, { mode: 0o644 });
}

/** Removed at a clean stop, only if it is still ours (another server may have started since). */
export function removePidFile(dataDirectory: string): void {
  if (readPidFile(dataDirectory) !== Deno.pid) return;
  try {
    Deno.removeSync(pidFilePath(dataDirectory));
  } catch {
    // already gone
  }
}

/** The pid in the file, or undefined when there is none or it is not a number. */
export function readPidFile(dataDirectory: string): number | undefined {
  let text: string;
  try {
    text = Deno.readTextFileSync(pidFilePath(dataDirectory));
  } catch {
    return undefined;
  }
  const pid = Number(text.trim());
  return Number.isInteger(pid) && pid > 1 ? pid : undefined;
}

/**
 * Whether `pid` looks like a facteur server. A stale file may name a pid
 * reused by another program, which SIGUSR1 would kill: on Linux, its command
 * line must contain "serve". Elsewhere the pid is trusted.
 */
function isFacteurServer(pid: number): boolean {
  let cmdline: string;
  try {
    cmdline = Deno.readTextFileSync(`/proc/${pid}/cmdline`);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound && Deno.build.os === "linux") return false;
    return Deno.build.os !== "linux";
  }
  return cmdline.split("\0").includes("serve");
}

/**
 * Sends SIGUSR1 to the server named by the pid file. Returns its pid, or
 * undefined when no server runs (no file, a stale one, or not facteur).
 */
export function signalServer(dataDirectory: string): number | undefined {
  const pid = readPidFile(dataDirectory);
  if (pid === undefined || pid === Deno.pid || !isFacteurServer(pid)) return undefined;
  try {
    Deno.kill(pid, "SIGUSR1");
    return pid;
  } catch {
    return undefined; // gone meanwhile, or not ours to signal
  }
}
