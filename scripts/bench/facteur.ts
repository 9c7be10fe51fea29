/**
 * facteur under test: `deno run -A mod.ts serve -c FILE` as a child process,
 * ready once it logs "smtp (smtpd) listening on 127.0.0.1:PORT", stopped by
 * its PID (SIGTERM, then SIGKILL if it does not exit).
 *
 * Its output goes to a log file, like Postfix's maillog: the benchmark process
 * then spends no CPU reading the server's log while it measures.
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const REPO = fileURLToPath(new URL("../../", import.meta.url));
const READY = /smtp \(smtpd\) listening on 127\.0\.0\.1:(\d+)/;

export interface FacteurOptions {
  configFile: string;
  /** stdout and stderr are appended here. */
  logFile: string;
  /** Extra `deno run` flags, e.g. ["--cpu-prof", "--cpu-prof-dir=DIR"]. */
  denoFlags?: string[];
  startTimeoutMs?: number;
}

export interface FacteurProcess {
  pid: number;
  port: number;
  /** The last `bytes` of its log. */
  logTail(bytes?: number): Promise<string>;
  stop(): Promise<void>;
}

export function facteurCommand(opts: FacteurOptions): string[] {
  return [
    Deno.execPath(),
    "run",
    "-A",
    ...(opts.denoFlags ?? []),
    join(REPO, "mod.ts"),
    "serve",
    "-c",
    opts.configFile,
  ];
}

export async function startFacteur(opts: FacteurOptions): Promise<FacteurProcess> {
  const [exe, ...args] = facteurCommand(opts);
  // sh only redirects; `exec` makes the child's PID deno's own.
  const child = new Deno.Command("/bin/sh", {
    args: ["-c", 'log="$1"; shift; exec "$@" >>"$log" 2>&1', "sh", opts.logFile, exe, ...args],
    cwd: REPO,
    stdin: "null",
    stdout: "null",
    stderr: "null",
    env: { NO_COLOR: "1", RUST_BACKTRACE: "0" },
  }).spawn();
  let exited = false;
  const status = child.status.finally(() => exited = true);
  const logTail = (bytes = 8192) => readTail(opts.logFile, bytes);

  let stopping: Promise<void> | null = null;
  const stop = () =>
    stopping ??= (async () => {
      if (exited) return;
      try {
        child.kill("SIGTERM");
      } catch { /* already gone */ }
      // A clean stop writes the CPU profile; a stuck one is killed.
      const timer = setTimeout(() => {
        try {
          child.kill("SIGKILL");
        } catch { /* already gone */ }
      }, 15_000);
      await status;
      clearTimeout(timer);
    })();

  const timeoutMs = opts.startTimeoutMs ?? 30_000;
  const deadline = performance.now() + timeoutMs;
  while (true) {
    const m = (await logTail(64 * 1024)).match(READY);
    if (m) return { pid: child.pid, port: Number(m[1]), logTail, stop };
    const problem = exited
      ? "facteur exited before listening"
      : performance.now() > deadline
      ? `not listening after ${timeoutMs} ms`
      : null;
    if (problem) {
      await stop();
      const last = (await logTail(4096)).trim().split("\n").slice(-6).join("\n");
      throw new Error(`${problem}; its log ends:\n${last}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function readTail(path: string, bytes: number): Promise<string> {
  try {
    using file = await Deno.open(path);
    const size = (await file.stat()).size;
    const start = Math.max(0, size - bytes);
    await file.seek(start, Deno.SeekMode.Start);
    const buf = new Uint8Array(size - start);
    let read = 0;
    while (read < buf.length) {
      const n = await file.read(buf.subarray(read));
      if (n === null) break;
      read += n;
    }
    return new TextDecoder().decode(buf.subarray(0, read));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return "";
    throw e;
  }
}
