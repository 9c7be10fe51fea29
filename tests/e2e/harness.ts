/**
 * Runs the real server as a child process on loopback ephemeral ports with a
 * temporary data directory, the way a user runs it: `facteur serve -c FILE`.
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));

export interface ServerOptions {
  /** The whole configuration file, used as is instead of the base + `toml`. */
  configText?: string;
  /** TOML added to the base configuration; a top-level key set here replaces the base's. */
  toml?: string;
  /** Run this entry instead of mod.ts (the bundled single file). */
  entry?: string;
  /** Extra `deno run` flags (e.g. --no-npm for the bundle). */
  runFlags?: string[];
  /** Working directory for the child (default: the repository). */
  cwd?: string;
  /** Reuse this directory (restart after a crash). */
  dir?: string;
}

export interface RunningServer {
  dir: string;
  dataDir: string;
  configFile: string;
  port: number;
  /** Everything the server logged so far. */
  log(): string;
  /** Waits until the log matches, or fails after `ms`. */
  waitForLog(pattern: RegExp, ms?: number): Promise<RegExpMatchArray>;
  /** SIGTERM and wait. */
  stop(): Promise<void>;
  /** SIGKILL and wait: a crash. */
  kill(): Promise<void>;
}

export const BASE_TOML = `
myhostname = "mail.example.test"
mydomain = "example.test"
mydestination = ["$myhostname", "$mydomain", "localhost"]
mynetworks = ["127.0.0.0/8", "[::1]/128"]
data_directory = "./data"
local_recipient_maps = ["inline:{ alice=alice, bob=bob }", "$alias_maps"]
home_mailbox = "Maildir/"
alias_maps = "inline:{ postmaster=alice, abuse=alice, { team = alice, bob } }"
smtpd_recipient_restrictions = ["permit_mynetworks", "reject_unauth_destination"]
smtpd_forbid_bare_newline_exclusions = ""
queue_run_delay = "1s"
minimal_backoff_time = "1s"
maximal_backoff_time = "2s"
`;

export async function startServer(opts: ServerOptions = {}): Promise<RunningServer> {
  const dir = opts.dir ?? await Deno.makeTempDir({ prefix: "facteur-e2e-" });
  const configFile = join(dir, "facteur.toml");
  const hasServices = /\[services\./.test(opts.toml ?? "");
  await Deno.writeTextFile(
    configFile,
    opts.configText ?? mergeToml(BASE_TOML, opts.toml ?? "") +
        (hasServices ? "" : `\n[services.smtp]\nlisten = "127.0.0.1:0"\n`),
  );
  const entry = opts.entry ?? join(ROOT, "mod.ts");
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", ...(opts.runFlags ?? []), entry, "serve", "-c", configFile],
    cwd: opts.cwd ?? ROOT,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", RUST_BACKTRACE: "0" },
  }).spawn();
  let output = "";
  const waiters = new Set<() => void>();
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) {
      output += decoder.decode(chunk, { stream: true });
      for (const w of waiters) w();
    }
  };
  const pumps = Promise.all([pump(child.stdout), pump(child.stderr)]);
  let exited = false;
  const status = child.status.then((s) => {
    exited = true;
    for (const w of waiters) w();
    return s;
  });

  const waitForLog = (pattern: RegExp, ms = 15000) =>
    new Promise<RegExpMatchArray>((resolve, reject) => {
      const check = () => {
        const m = output.match(pattern);
        if (m) done(() => resolve(m));
        else if (exited) done(() => reject(new Error(`server exited; log:\n${output}`)));
      };
      const timer = setTimeout(
        () => done(() => reject(new Error(`timeout waiting for ${pattern}; log:\n${output}`))),
        ms,
      );
      const done = (f: () => void) => {
        clearTimeout(timer);
        waiters.delete(check);
        f();
      };
      waiters.add(check);
      check();
    });

  const end = async (signal: Deno.Signal) => {
    if (!exited) {
      try {
        child.kill(signal);
      } catch { /* already gone */ }
    }
    await status;
    await pumps;
  };

  const m = await waitForLog(/smtp \(smtpd\) listening on 127\.0\.0\.1:(\d+)/).catch(async (e) => {
    await end("SIGKILL");
    throw e;
  });
  return {
    dir,
    dataDir: join(dir, "data"),
    configFile,
    port: Number(m[1]),
    log: () => output,
    waitForLog,
    stop: () => end("SIGTERM"),
    kill: () => end("SIGKILL"),
  };
}

/** Base lines whose key the override sets are dropped (TOML forbids duplicate keys). */
function mergeToml(base: string, override: string): string {
  const top = override.split(/^\[/m)[0];
  const keys = new Set([...top.matchAll(/^([A-Za-z0-9_]+)\s*=/gm)].map((m) => m[1]));
  const kept = base.split("\n").filter((l) => !keys.has(l.split(/\s*=/)[0].trim()));
  return kept.join("\n") + "\n" + override;
}

/** Files in a Maildir's new/ folder, oldest first, with their bytes. */
export async function maildirMessages(
  maildir: string,
): Promise<{ name: string; bytes: Uint8Array }[]> {
  const out: { name: string; bytes: Uint8Array }[] = [];
  try {
    for await (const e of Deno.readDir(join(maildir, "new"))) {
      out.push({ name: e.name, bytes: await Deno.readFile(join(maildir, "new", e.name)) });
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return out.sort((a, b) => a.name.localeCompare(b.name, "en", { numeric: true }));
}

/** Polls until `fn` returns a truthy value or `ms` passes. */
export async function eventually<T>(
  fn: () => Promise<T | undefined | false>,
  ms = 15000,
): Promise<T> {
  const deadline = Date.now() + ms;
  while (true) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 50));
  }
}

export function mailbox(server: RunningServer, user: string): string {
  return join(server.dataDir, "home", user, "Maildir");
}
