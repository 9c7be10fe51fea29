/**
 * A private Postfix instance on loopback, for interop tests and benchmarks.
 *
 * Everything lives under one temporary directory: etc/ (main.cf, master.cf),
 * queue/, data/, mail/ (a virtual(8) mailbox base owned by `mailUid`) and
 * maillog (written by postlogd). It is started with `postfix -c DIR start`
 * and stopped with `postfix -c DIR stop` (then `abort`, then SIGKILL of the
 * master's process group), and the directory is removed. Postfix must be
 * started as root: it drops to its mail_owner itself.
 */
import { dirname, join } from "node:path";
import { findPeer } from "../peers.ts";

/** Where postfix, postconf, postqueue, smtp-source... are (Debian: /usr/sbin). */
export const POSTFIX_COMMAND_DIR = dirname(findPeer("postfix") ?? "/usr/sbin/postfix");
export const POSTFIX_INSTALL_HINT =
  "apt-get install postfix (as root; Debian's smtp-source and smtp-sink come with it)";

/** The uid/gid virtual(8) delivers as by default: nobody/nogroup on Debian. */
export const DEFAULT_MAIL_UID = 65534;
export const DEFAULT_MAIL_GID = 65534;

export interface PostfixDirs {
  /** The instance's root directory (temporary). */
  dir: string;
  /** config_directory: main.cf and master.cf. */
  configDir: string;
  queueDir: string;
  dataDir: string;
  /** virtual_mailbox_base, writable by mailUid/mailGid. */
  mailDir: string;
  /** maillog_file. */
  maillog: string;
}

export interface PostfixOptions {
  /** Port of the smtpd service on 127.0.0.1. Absent or 0: a free port is picked. */
  smtpdPort?: number;
  /** master.cf `-o name=value` options for the smtpd service. */
  smtpdOptions?: Record<string, string>;
  /** main.cf parameters added to, or replacing, the base ones. */
  mainCf?: Record<string, string> | ((dirs: PostfixDirs) => Record<string, string>);
  /** Lines appended verbatim to master.cf (more services, e.g. a second smtpd). */
  masterCf?: string[];
  /** Owner of mailDir, and virtual_uid_maps/virtual_gid_maps. */
  mailUid?: number;
  mailGid?: number;
  /** How long to wait for the smtpd port to greet (default 20 s). */
  startTimeoutMs?: number;
}

export interface PostfixInstance extends PostfixDirs {
  host: "127.0.0.1";
  /** The smtpd port on 127.0.0.1. */
  port: number;
  /** PID of master(8), which leads the process group of all the instance's daemons. */
  pid: number | null;
  /** Everything in the maillog so far. */
  log(): Promise<string>;
  /** Runs a Postfix command (postfix, postqueue, postconf, postsuper...) with `-c configDir`. */
  command(name: string, args: string[]): Promise<CommandResult>;
  /** Stops the instance and removes its directory. Safe to call twice. */
  stop(): Promise<void>;
}

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Why a Postfix instance cannot be started here, or null when it can. */
export function postfixUnavailable(): string | null {
  try {
    Deno.statSync(join(POSTFIX_COMMAND_DIR, "postfix"));
  } catch {
    return `Postfix not found at ${POSTFIX_COMMAND_DIR}/postfix: ${POSTFIX_INSTALL_HINT}`;
  }
  if (Deno.uid() !== 0) return "a private Postfix instance must be started as root";
  return null;
}

/** main.cf for a quiet, loopback-only instance that relays nowhere by DNS. */
export function baseMainCf(dirs: PostfixDirs, uid: number, gid: number): Record<string, string> {
  return {
    compatibility_level: "3.6",
    queue_directory: dirs.queueDir,
    data_directory: dirs.dataDir,
    mail_owner: "postfix",
    setgid_group: "postdrop",
    // postconf(5) maillog_file_prefixes: the log file must be under one of these.
    maillog_file: dirs.maillog,
    maillog_file_prefixes: dirs.dir,
    inet_interfaces: "127.0.0.1",
    inet_protocols: "ipv4",
    myhostname: "postfix.test",
    mydomain: "test",
    mydestination: "",
    mynetworks: "127.0.0.0/8",
    alias_maps: "",
    alias_database: "",
    local_recipient_maps: "",
    smtp_dns_support_level: "disabled",
    biff: "no",
    virtual_mailbox_base: dirs.mailDir,
    virtual_uid_maps: `static:${uid}`,
    virtual_gid_maps: `static:${gid}`,
  };
}

/** The daemons a Postfix instance needs (Debian's master.cf, chroot off). */
const BASE_SERVICES = [
  "pickup    unix  n       -       n       60      1       pickup",
  "cleanup   unix  n       -       n       -       0       cleanup",
  "qmgr      unix  n       -       n       300     1       qmgr",
  "rewrite   unix  -       -       n       -       -       trivial-rewrite",
  "bounce    unix  -       -       n       -       0       bounce",
  "defer     unix  -       -       n       -       0       bounce",
  "trace     unix  -       -       n       -       0       bounce",
  "verify    unix  -       -       n       -       1       verify",
  "flush     unix  n       -       n       1000?   0       flush",
  "proxymap  unix  -       -       n       -       -       proxymap",
  "proxywrite unix -       -       n       -       1       proxymap",
  "smtp      unix  -       -       n       -       -       smtp",
  "relay     unix  -       -       n       -       -       smtp",
  "showq     unix  n       -       n       -       -       showq",
  "error     unix  -       -       n       -       -       error",
  "retry     unix  -       -       n       -       -       error",
  "discard   unix  -       -       n       -       -       discard",
  "local     unix  -       n       n       -       -       local",
  "virtual   unix  -       n       n       -       -       virtual",
  "lmtp      unix  -       -       n       -       -       lmtp",
  "anvil     unix  -       -       n       -       1       anvil",
  "scache    unix  -       -       n       -       1       scache",
  // postlogd(8): writes maillog_file.
  "postlog   unix-dgram n  -       n       -       1       postlogd",
];

export function renderMainCf(params: Record<string, string>): string {
  return Object.entries(params).map(([k, v]) => `${k} = ${v}\n`).join("");
}

export function renderMasterCf(
  port: number,
  smtpdOptions: Record<string, string>,
  extra: string[],
): string {
  // master(5): continuation lines start with whitespace.
  const options = Object.entries(smtpdOptions).map(([k, v]) => `\n  -o ${k}=${v}`).join("");
  const smtpd = `127.0.0.1:${port} inet n - n - - smtpd${options}`;
  return [smtpd, ...BASE_SERVICES, ...extra].join("\n") + "\n";
}

/** A port on 127.0.0.1 nobody listens on right now. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

export async function startPostfix(opts: PostfixOptions = {}): Promise<PostfixInstance> {
  const unavailable = postfixUnavailable();
  if (unavailable) throw new Error(unavailable);
  const uid = opts.mailUid ?? DEFAULT_MAIL_UID;
  const gid = opts.mailGid ?? DEFAULT_MAIL_GID;
  const dir = await Deno.makeTempDir({ prefix: "facteur-postfix-" });
  const dirs: PostfixDirs = {
    dir,
    configDir: join(dir, "etc"),
    queueDir: join(dir, "queue"),
    dataDir: join(dir, "data"),
    mailDir: join(dir, "mail"),
    maillog: join(dir, "maillog"),
  };
  const port = opts.smtpdPort || freePort();
  const command = (name: string, args: string[]) => runCommand(name, dirs.configDir, args);
  let pid: number | null = null;
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await stopMaster(pid ?? readMasterPid(dirs), command);
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  try {
    // The postfix user must traverse the tree; makeTempDir gives 0700.
    await Deno.chmod(dir, 0o755);
    await Deno.mkdir(dirs.configDir);
    // post-install creates the queue subdirectories with their owners; the top must exist.
    await Deno.mkdir(dirs.queueDir);
    await Deno.mkdir(dirs.mailDir);
    await Deno.chown(dirs.mailDir, uid, gid);
    const extra = typeof opts.mainCf === "function" ? opts.mainCf(dirs) : opts.mainCf ?? {};
    await Deno.writeTextFile(
      join(dirs.configDir, "main.cf"),
      renderMainCf({ ...baseMainCf(dirs, uid, gid), ...extra }),
    );
    await Deno.writeTextFile(
      join(dirs.configDir, "master.cf"),
      renderMasterCf(port, opts.smtpdOptions ?? {}, opts.masterCf ?? []),
    );
    const started = await command("postfix", ["start"]);
    if (started.code !== 0) throw new Error(`postfix start exited ${started.code}`);
    pid = readMasterPid(dirs);
    await waitForGreeting(port, opts.startTimeoutMs ?? 20_000);
  } catch (e) {
    const log = await Deno.readTextFile(dirs.maillog).catch(() => "");
    await stop();
    const tail = log.trim().split("\n").slice(-15).join("\n");
    throw new Error(`Postfix instance did not start: ${(e as Error).message}\n${tail}`);
  }
  return {
    ...dirs,
    host: "127.0.0.1",
    port,
    pid,
    log: () => Deno.readTextFile(dirs.maillog).catch(() => ""),
    command,
    stop,
  };
}

async function runCommand(name: string, configDir: string, args: string[]): Promise<CommandResult> {
  const out = await new Deno.Command(join(POSTFIX_COMMAND_DIR, name), {
    args: ["-c", configDir, ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder();
  return { code: out.code, stdout: text.decode(out.stdout), stderr: text.decode(out.stderr) };
}

/** Waits until smtpd on 127.0.0.1:port sends its 220 greeting, then says QUIT. */
async function waitForGreeting(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  while (Date.now() < deadline) {
    try {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      try {
        const buf = new Uint8Array(512);
        const n = await conn.read(buf);
        last = new TextDecoder().decode(buf.subarray(0, n ?? 0));
        if (last.startsWith("220")) {
          await conn.write(new TextEncoder().encode("QUIT\r\n")).catch(() => {});
          return;
        }
      } finally {
        conn.close();
      }
    } catch (e) {
      last = (e as Error).message;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no 220 greeting on 127.0.0.1:${port} within ${timeoutMs} ms (${last.trim()})`);
}

function readMasterPid(dirs: PostfixDirs): number | null {
  try {
    const pid = Number(Deno.readTextFileSync(join(dirs.queueDir, "pid", "master.pid")).trim());
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

/** PIDs in a process group, by pgrep(1): Deno reads /proc only with --allow-all. */
export async function processGroup(pgid: number): Promise<number[]> {
  const out = await new Deno.Command("pgrep", { args: ["-g", String(pgid)], stdout: "piped" })
    .output();
  return new TextDecoder().decode(out.stdout).split("\n").filter(Boolean).map(Number);
}

async function waitUntil(test: () => Promise<boolean>, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!await test()) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}

/**
 * `postfix stop` signals the master and waits for it to release its lock; the
 * master then terminates its process group (all the daemons). Whatever is
 * still there after a few seconds (`abort` first) is killed with SIGKILL.
 */
async function stopMaster(
  pid: number | null,
  command: (name: string, args: string[]) => Promise<CommandResult>,
): Promise<void> {
  await command("postfix", ["stop"]).catch(() => {});
  if (pid === null) return;
  const gone = async () => (await processGroup(pid)).length === 0;
  if (await waitUntil(gone, 5000)) return;
  await command("postfix", ["abort"]).catch(() => {});
  if (await waitUntil(gone, 2000)) return;
  try {
    // master(8) leads its own process group: the daemons go with it.
    Deno.kill(-pid, "SIGKILL");
  } catch { /* already gone */ }
  await waitUntil(gone, 2000);
}
