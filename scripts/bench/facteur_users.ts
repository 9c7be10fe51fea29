/**
 * facteur with its own users store, for the pop3 and store phases:
 * virtual_mailbox_domains = "facteur:domains", virtual_mailbox_maps =
 * "facteur:users", an SMTP service and a pop3d service on loopback. The
 * domain and users are made with the CLI (`facteur domain add`, `facteur
 * user add --password-stdin`) before the server starts; each user's Maildir
 * is virtual_mailbox_base/<domain>/<local part>/ (the default %d/%n/).
 */
import { join } from "node:path";
import { sharedParameters } from "./servers.ts";
import { facteurCommand, type FacteurProcess, REPO, startFacteur } from "./facteur.ts";

const POP3_READY = /pop3 \(pop3d\) listening on 127\.0\.0\.1:(\d+)/;

export interface FacteurWithUsers extends FacteurProcess {
  pop3Port: number;
  /** How it was started, for the report. */
  command: string;
  /** The Maildir of `address` (one of the users it was started with). */
  maildir(address: string): string;
}

export function facteurUsersToml(dir: string, domain: string): string {
  const params: Record<string, string> = {
    ...sharedParameters(join(dir, "mail")),
    data_directory: join(dir, "data"),
    virtual_mailbox_domains: "facteur:domains",
    virtual_mailbox_maps: "facteur:users",
  };
  const lines = Object.entries(params).map(([k, v]) => `${k} = ${JSON.stringify(v)}`);
  return [
    `# The benchmark's users are in ${domain}, in facteur's users store.`,
    ...lines,
    "",
    "[services.smtp]",
    `listen = "127.0.0.1:0"`,
    "",
    "[services.pop3]",
    `command = "pop3d"`,
    `listen = "127.0.0.1:0"`,
    "",
  ].join("\n");
}

/** `facteur ARGS` (deno run -A mod.ts) with `stdin`; throws with its output when it fails. */
async function cli(args: string[], stdin = ""): Promise<void> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", join(REPO, "mod.ts"), ...args],
    cwd: REPO,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(stdin));
  await writer.close();
  const out = await child.output();
  if (!out.success) {
    const d = new TextDecoder();
    throw new Error(
      `facteur ${args.join(" ")}: ${(d.decode(out.stderr) + d.decode(out.stdout)).trim()}`,
    );
  }
}

/** Creates the domain and users (address → password), then starts the server. */
export async function startFacteurWithUsers(
  dir: string,
  domain: string,
  users: Record<string, string>,
  denoFlags: string[] = [],
): Promise<FacteurWithUsers> {
  await Deno.mkdir(join(dir, "mail"), { recursive: true });
  await Deno.mkdir(join(dir, "data"), { recursive: true });
  const configFile = join(dir, "facteur.toml");
  await Deno.writeTextFile(configFile, facteurUsersToml(dir, domain));
  await cli(["domain", "add", domain, "-c", configFile]);
  for (const [address, password] of Object.entries(users)) {
    await cli(["user", "add", address, "--password-stdin", "-c", configFile], `${password}\n`);
  }
  const opts = { configFile, logFile: join(dir, "facteur.log"), denoFlags };
  const proc = await startFacteur(opts);
  let pop3Port = 0;
  // The services listen one after the other: give pop3d a moment after smtpd.
  for (let i = 0; i < 100 && !pop3Port; i++) {
    pop3Port = Number((await proc.logTail(64 * 1024)).match(POP3_READY)?.[1] ?? 0);
    if (!pop3Port) await new Promise((r) => setTimeout(r, 50));
  }
  if (!pop3Port) {
    await proc.stop();
    throw new Error("facteur started without its pop3 service");
  }
  return {
    ...proc,
    pop3Port,
    command: facteurCommand(opts).join(" "),
    maildir: (address) => {
      const [local, at] = address.split("@");
      return join(dir, "mail", at, local);
    },
  };
}
