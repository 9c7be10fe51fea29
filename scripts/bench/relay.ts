/**
 * Relay throughput: smtp-source → server → smtp-sink. Both servers relay
 * everything to relayhost = [127.0.0.1]:SINKPORT (postconf(5) relayhost;
 * brackets: no MX lookup) and allow relaying for 127.0.0.0/8 (mynetworks,
 * permit_mynetworks in smtpd_relay_restrictions). The rate is N over the time
 * from starting smtp-source until the sink has received all N.
 */
import { join } from "node:path";
import { startPostfix } from "../../tests/peers/postfix.ts";
import type { Cleanup } from "./cleanup.ts";
import { facteurCommand, startFacteur } from "./facteur.ts";
import type { Options } from "./options.ts";
import { SENDER } from "./servers.ts";
import type { Sink } from "./sink.ts";
import { runSmtpSource, type SmtpSourceOptions } from "./smtp_source.ts";

/** Not a local or virtual domain of either server: relayed. */
export const RELAY_RECIPIENT = "user@relay.test";

export interface RelayServer {
  name: "facteur" | "Postfix";
  port: number;
  pid: number | null;
  command: string;
  logTail(): Promise<string>;
  stop(): Promise<void>;
}

/** main.cf parameters both servers get for the relay phase. */
export function relayParameters(sinkPort: number): Record<string, string> {
  return {
    myhostname: "bench.localdomain",
    mydestination: "",
    mynetworks: "127.0.0.0/8",
    alias_maps: "",
    alias_database: "",
    local_recipient_maps: "",
    relayhost: `[127.0.0.1]:${sinkPort}`,
  };
}

export async function startFacteurRelay(dir: string, sinkPort: number): Promise<RelayServer> {
  await Deno.mkdir(dir, { recursive: true });
  const params = { ...relayParameters(sinkPort), data_directory: join(dir, "data") };
  const toml = [
    ...Object.entries(params).map(([k, v]) => `${k} = ${JSON.stringify(v)}`),
    "",
    "[services.smtp]",
    `listen = "127.0.0.1:0"`,
    "",
  ].join("\n");
  const configFile = join(dir, "facteur.toml");
  await Deno.writeTextFile(configFile, toml);
  const opts = { configFile, logFile: join(dir, "facteur.log") };
  const proc = await startFacteur(opts);
  return {
    name: "facteur",
    port: proc.port,
    pid: proc.pid,
    command: facteurCommand(opts).join(" "),
    logTail: () => proc.logTail(),
    stop: proc.stop,
  };
}

export async function startPostfixRelay(
  sinkPort: number,
): Promise<RelayServer & { version: string }> {
  const postfix = await startPostfix({ mainCf: () => relayParameters(sinkPort) });
  const version = await postfix.command("postconf", ["-h", "mail_version"])
    .then((r) => r.stdout.trim())
    .catch(() => "unknown");
  return {
    name: "Postfix",
    port: postfix.port,
    pid: postfix.pid,
    command: `postfix -c ${postfix.configDir} start`,
    version,
    logTail: async () => (await postfix.log()).slice(-8192),
    stop: postfix.stop,
  };
}

export function relaySourceOptions(opts: Options, port: number): SmtpSourceOptions {
  return {
    host: "127.0.0.1",
    port,
    sessions: opts.sessions,
    messages: opts.relayMessages,
    size: opts.size,
    from: SENDER,
    to: RELAY_RECIPIENT,
    reuseConnections: opts.reuseConnections,
    timeoutMs: opts.timeoutMs,
  };
}

/** One round for one server: msgs/s from starting smtp-source until the sink has all N. */
export async function relayRun(
  server: RelayServer,
  sink: Sink,
  opts: Options,
  cleanup: Cleanup,
): Promise<number> {
  const before = sink.received();
  let child: Deno.ChildProcess | null = null;
  const release = cleanup.add("kill smtp-source", () => {
    try {
      child?.kill("SIGKILL");
    } catch { /* exited already */ }
  });
  const run = await runSmtpSource(relaySourceOptions(opts, server.port), (c) => child = c)
    .finally(release);
  const n = opts.relayMessages;
  const at = await sink.waitFor(before + n, opts.timeoutMs);
  if (at === null) {
    throw new Error(
      `the sink received ${sink.received() - before} of ${n} messages within ` +
        `${opts.timeoutMs / 1000} s`,
    );
  }
  return n / ((at - run.startedAt) / 1000);
}
