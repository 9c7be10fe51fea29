/**
 * Dovecot's pop3 for the POP3 benchmark: a private instance (own base_dir
 * and config, no TLS, plaintext allowed, a passwd-file with the benchmark's
 * users, Maildir storage) on a loopback port, run as root the way the tests
 * run it (tests/e2e/lmtp_dovecot.test.ts); mail is owned by uid 65534.
 * pop3_uidl_format = %f gives the Maildir base names, as facteur's UIDLs.
 * Stopped by its PID.
 */
import { join } from "node:path";
import { findPeer } from "../../tests/peers.ts";
import { freePort } from "../../tests/peers/postfix.ts";

export const DOVECOT_MAIL_UID = 65534;

export interface DovecotPop3 {
  pid: number;
  port: number;
  version: string;
  /** Where user `name`'s Maildir must be (cur/, new/, tmp/ directly inside). */
  maildir(name: string): string;
  logTail(): Promise<string>;
  stop(): Promise<void>;
}

export function dovecotPop3Conf(dir: string, port: number): string {
  return `base_dir = ${dir}/run
state_dir = ${dir}/state
log_path = ${dir}/dovecot.log
protocols = pop3
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
passdb {
  driver = passwd-file
  args = ${dir}/users
}
userdb {
  driver = passwd-file
  args = ${dir}/users
}
mail_location = maildir:${dir}/mail/%u
pop3_uidl_format = %f
service pop3-login {
  inet_listener pop3 {
    address = 127.0.0.1
    port = ${port}
  }
  inet_listener pop3s {
    port = 0
  }
}
`;
}

/** Starts Dovecot with `users` (name → password) in its passwd-file. */
export async function startDovecotPop3(
  dir: string,
  users: Record<string, string>,
): Promise<DovecotPop3> {
  const binary = findPeer("dovecot");
  if (!binary) throw new Error("dovecot not found: apt-get install dovecot-pop3d");
  await Deno.mkdir(join(dir, "mail"), { recursive: true });
  await Deno.chmod(dir, 0o755);
  await Deno.chmod(join(dir, "mail"), 0o777);
  // passwd-file: user:password:uid:gid:gecos:home:shell
  const entries = Object.entries(users).map(([name, password]) =>
    `${name}:{PLAIN}${password}:${DOVECOT_MAIL_UID}:${DOVECOT_MAIL_UID}::${dir}/mail/${name}::\n`
  );
  await Deno.writeTextFile(join(dir, "users"), entries.join(""));
  const port = freePort();
  const conf = join(dir, "dovecot.conf");
  await Deno.writeTextFile(conf, dovecotPop3Conf(dir, port));
  const version = await new Deno.Command(binary, { args: ["--version"], stdout: "piped" })
    .output().then((o) => new TextDecoder().decode(o.stdout).trim().split(" ")[0])
    .catch(() => "unknown");
  const child = new Deno.Command(binary, {
    args: ["-F", "-c", conf],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  let exited = false;
  const status = child.status.finally(() => exited = true);
  const logTail = async () =>
    (await Deno.readTextFile(join(dir, "dovecot.log")).catch(() => "")).slice(-8192);
  const stop = async () => {
    if (exited) return;
    try {
      Deno.kill(child.pid, "SIGTERM");
    } catch { /* already exited */ }
    const timer = setTimeout(() => {
      try {
        Deno.kill(child.pid, "SIGKILL");
      } catch { /* already exited */ }
    }, 10_000);
    await status;
    clearTimeout(timer);
  };
  const deadline = performance.now() + 10_000;
  while (!exited && performance.now() < deadline) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      return {
        pid: child.pid,
        port,
        version,
        maildir: (name) => join(dir, "mail", name),
        logTail,
        stop,
      };
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const log = await logTail();
  await stop();
  throw new Error(`dovecot did not start: ${log.trim().split("\n").slice(-5).join(" | ")}`);
}
