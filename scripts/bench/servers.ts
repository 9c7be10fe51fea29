/**
 * The two servers under test, set up the same way: one virtual mailbox domain
 * (virtual(8): bench.test, one user, a Maildir under virtual_mailbox_base),
 * loopback only, default durability (Postfix fsyncs its queue file before
 * the 250; facteur commits and syncs SQLite before the 250).
 */
import { join } from "node:path";
import { startPostfix } from "../../tests/peers/postfix.ts";
import { facteurCommand, startFacteur } from "./facteur.ts";

export const DOMAIN = "bench.test";
export const RECIPIENT = `user@${DOMAIN}`;
export const SENDER = `bench@${DOMAIN}`;

export type ServerName = "facteur" | "Postfix";

export interface BenchServer {
  name: ServerName;
  port: number;
  /** facteur's PID, or Postfix master(8)'s (the leader of its daemons' process group). */
  pid: number | null;
  /** The recipient's Maildir (deliveries land in its new/). */
  maildir: string;
  /** How it was started, for the report. */
  command: string;
  logTail(): Promise<string>;
  stop(): Promise<void>;
}

/** main.cf parameters both servers get, with the same values. */
export function sharedParameters(mailboxBase: string): Record<string, string> {
  return {
    myhostname: "bench.localdomain",
    mydestination: "",
    mynetworks: "127.0.0.0/8",
    alias_maps: "",
    alias_database: "",
    local_recipient_maps: "",
    virtual_mailbox_domains: DOMAIN,
    virtual_mailbox_base: mailboxBase,
    // virtual(5): a trailing slash means Maildir.
    virtual_mailbox_maps: `inline:{ ${RECIPIENT}=user/ }`,
  };
}

/** facteur's TOML: the shared parameters, its data directory, one SMTP service. */
export function facteurToml(dir: string): string {
  const params = {
    ...sharedParameters(join(dir, "mail")),
    data_directory: join(dir, "data"),
  };
  const lines = Object.entries(params).map(([k, v]) => `${k} = ${JSON.stringify(v)}`);
  return [...lines, "", "[services.smtp]", `listen = "127.0.0.1:0"`, ""].join("\n");
}

export async function startFacteurServer(dir: string, denoFlags: string[]): Promise<BenchServer> {
  await Deno.mkdir(join(dir, "mail"), { recursive: true });
  const configFile = join(dir, "facteur.toml");
  await Deno.writeTextFile(configFile, facteurToml(dir));
  const opts = { configFile, logFile: join(dir, "facteur.log"), denoFlags };
  const proc = await startFacteur(opts);
  return {
    name: "facteur",
    port: proc.port,
    pid: proc.pid,
    maildir: join(dir, "mail", "user"),
    command: facteurCommand(opts).join(" "),
    logTail: () => proc.logTail(),
    stop: proc.stop,
  };
}

export async function startPostfixServer(): Promise<BenchServer & { version: string }> {
  const postfix = await startPostfix({ mainCf: (dirs) => sharedParameters(dirs.mailDir) });
  const version = await postfix.command("postconf", ["-h", "mail_version"])
    .then((r) => r.stdout.trim())
    .catch(() => "unknown");
  return {
    name: "Postfix",
    port: postfix.port,
    pid: postfix.pid,
    maildir: join(postfix.mailDir, "user"),
    command: `postfix -c ${postfix.configDir} start`,
    version,
    logTail: async () => (await postfix.log()).slice(-8192),
    stop: postfix.stop,
  };
}
