/**
 * `--phases pop3`: facteur's pop3d against Dovecot's pop3 on the same
 * mailbox in the same run. One generated Maildir (scripts/bench/pop3_mailbox.ts)
 * is copied for each server and round into a user of its own, so that every
 * round starts without an index (cold: the first session builds it) and
 * neither server sees the other's. Per server and round: a cold session,
 * then a warm one, each USER/PASS + LIST + UIDL + RETR of every message +
 * QUIT (scripts/bench/pop3_client.ts); rounds alternate which server goes
 * first. Nothing is deleted: the Maildir is counted after each run.
 */
import { join } from "node:path";
import type { Cleanup } from "./cleanup.ts";
import { DOVECOT_MAIL_UID, startDovecotPop3 } from "./dovecot_pop3.ts";
import { startFacteurWithUsers } from "./facteur_users.ts";
import { retrieveAll } from "./pop3_client.ts";
import { copyMaildir, writeBenchMaildir } from "./pop3_mailbox.ts";
import { DOMAIN } from "./servers.ts";

export interface Pop3Settings {
  messages: number;
  rounds: number;
  timeoutMs: number;
  /** Extra `deno run` flags for facteur (--cpu-prof). */
  denoFlags: string[];
}

/** One server's session times, per round, in ms. */
export interface Pop3ServerResult {
  cold: number[];
  warm: number[];
  error?: string;
}

export interface Pop3Result {
  messages: number;
  /** Octets of the whole mailbox as POP3 sends it (CRLF), from LIST. */
  octets: number;
  /** Bytes of the Maildir files (LF). */
  fileBytes: number;
  dovecotVersion: string;
  facteur: Pop3ServerResult;
  dovecot: Pop3ServerResult;
}

interface Pop3Server {
  name: "facteur" | "Dovecot";
  port: number;
  result: Pop3ServerResult;
  /** Where round `r`'s copy goes, and its login. */
  maildir(round: number): string;
  login(round: number): { user: string; password: string };
  /** Uid to own the copy (Dovecot refuses root). */
  owner?: number;
  logTail(): Promise<string>;
}

const PASSWORD = "bench-pop3";
const userName = (round: number) => `pop${round + 1}`;

/** Messages in new/ and cur/: the run must not lose any. */
async function countMessages(maildir: string): Promise<number> {
  let n = 0;
  for (const sub of ["new", "cur"]) {
    for await (const _ of Deno.readDir(join(maildir, sub))) n++;
  }
  return n;
}

export async function pop3Phase(
  settings: Pop3Settings,
  cleanup: Cleanup,
  dir: string,
  progress: (line: string) => void,
): Promise<Pop3Result> {
  const result: Pop3Result = {
    messages: settings.messages,
    octets: NaN,
    fileBytes: NaN,
    dovecotVersion: "not run",
    facteur: { cold: [], warm: [] },
    dovecot: { cold: [], warm: [] },
  };
  const master = join(dir, "pop3-mailbox");
  progress(`pop3 phase: writing ${settings.messages} messages into a Maildir...`);
  const t0 = performance.now();
  result.fileBytes = await writeBenchMaildir(master, settings.messages);
  progress(
    `  ${(result.fileBytes / 2 ** 20).toFixed(1)} MiB in ${
      ((performance.now() - t0) / 1000).toFixed(1)
    } s`,
  );

  const rounds = [...Array(settings.rounds).keys()];
  const servers: Pop3Server[] = [];
  try {
    const users = Object.fromEntries(rounds.map((r) => [`${userName(r)}@${DOMAIN}`, PASSWORD]));
    progress("  starting facteur (users made with the CLI)...");
    const facteur = await startFacteurWithUsers(
      join(dir, "facteur-pop3"),
      DOMAIN,
      users,
      settings.denoFlags,
    );
    cleanup.add("stop facteur (pop3)", facteur.stop);
    progress(`  facteur pop3d on 127.0.0.1:${facteur.pop3Port} (PID ${facteur.pid})`);
    servers.push({
      name: "facteur",
      port: facteur.pop3Port,
      result: result.facteur,
      maildir: (r) => facteur.maildir(`${userName(r)}@${DOMAIN}`),
      login: (r) => ({ user: `${userName(r)}@${DOMAIN}`, password: PASSWORD }),
      logTail: () => facteur.logTail(),
    });
  } catch (e) {
    result.facteur.error = (e as Error).message.replace(/\n/g, " | ");
    progress(`  facteur did not start: ${result.facteur.error}`);
  }
  try {
    const users = Object.fromEntries(rounds.map((r) => [userName(r), PASSWORD]));
    // Dovecot's auth and mail processes (users dovecot, 65534) must get through the
    // benchmark's temporary directory (mode 0700) to its own.
    await Deno.chmod(dir, 0o711);
    const dovecot = await startDovecotPop3(join(dir, "dovecot-pop3"), users);
    cleanup.add("stop Dovecot", dovecot.stop);
    result.dovecotVersion = dovecot.version;
    progress(`  Dovecot ${dovecot.version} pop3 on 127.0.0.1:${dovecot.port} (PID ${dovecot.pid})`);
    servers.push({
      name: "Dovecot",
      port: dovecot.port,
      result: result.dovecot,
      maildir: (r) => dovecot.maildir(userName(r)),
      login: (r) => ({ user: userName(r), password: PASSWORD }),
      owner: DOVECOT_MAIL_UID,
      logTail: dovecot.logTail,
    });
  } catch (e) {
    result.dovecot.error = (e as Error).message.replace(/\n/g, " | ");
    progress(`  Dovecot did not start: ${result.dovecot.error}`);
  }

  progress(
    `pop3: ${settings.rounds} rounds, per server a cold and a warm session retrieving all ` +
      `${settings.messages} messages`,
  );
  for (const round of rounds) {
    const order = round % 2 ? [...servers].reverse() : servers;
    for (const server of order) {
      if (server.result.error) continue;
      cleanup.throwIfInterrupted();
      try {
        await pop3Run(server, round, master, settings, result, progress);
      } catch (e) {
        cleanup.throwIfInterrupted();
        server.result.error = (e as Error).message.replace(/\n/g, " | ");
        const log = (await server.logTail().catch(() => "")).trim().split("\n").slice(-10);
        progress(
          `  ${server.name} failed: ${server.result.error}\n  its log ends:\n${log.join("\n")}`,
        );
      }
    }
  }
  return result;
}

/** A fresh copy of the mailbox, then the cold and the warm session. */
async function pop3Run(
  server: Pop3Server,
  round: number,
  master: string,
  settings: Pop3Settings,
  result: Pop3Result,
  progress: (line: string) => void,
): Promise<void> {
  const maildir = server.maildir(round);
  await Deno.remove(maildir, { recursive: true }).catch(() => {});
  await copyMaildir(master, maildir, server.owner);
  const target = { port: server.port, ...server.login(round), timeoutMs: settings.timeoutMs };
  const times: number[] = [];
  for (const kind of ["cold", "warm"] as const) {
    const session = await retrieveAll(target);
    if (session.messages !== settings.messages) {
      throw new Error(`${kind} session: LIST showed ${session.messages} messages`);
    }
    // Both servers must send the same octets: the same files, with CRLF line ends.
    if (Number.isNaN(result.octets)) result.octets = session.octets;
    else if (session.octets !== result.octets) {
      throw new Error(`${kind} session: ${session.octets} octets, expected ${result.octets}`);
    }
    server.result[kind].push(session.elapsedMs);
    times.push(session.elapsedMs);
  }
  const left = await countMessages(maildir);
  if (left !== settings.messages) {
    throw new Error(`${left} messages left in the Maildir, not ${settings.messages}`);
  }
  const rate = (ms: number) => Math.round(settings.messages / (ms / 1000)).toLocaleString("en-US");
  progress(
    `  round ${round + 1}/${settings.rounds} ${server.name.padEnd(7)} cold ${
      (times[0] / 1000).toFixed(2)
    } s (${rate(times[0])} msgs/s), warm ${(times[1] / 1000).toFixed(2)} s (${
      rate(times[1])
    } msgs/s)`,
  );
}
