/** The command line: commander parses, each command lives in its own file. */
import { Command, CommanderError } from "commander";
import { ConfigError } from "../errors.ts";
import { VERSION } from "../version.ts";
import { flushLog } from "../log.ts";
import { serveCommand } from "./serve.ts";
import { checkCommand } from "./check.ts";
import { configCommand } from "./config.ts";
import { queueActionCommand, queueFlushCommand, queueListCommand } from "./queue.ts";

/** Default configuration file, as Postfix's /etc/postfix/main.cf. */
export const DEFAULT_CONFIG = "/etc/facteur/facteur.toml";

export async function main(argv: string[]): Promise<number> {
  const program = new Command("facteur")
    .description("facteur: SMTP, queue and mailboxes in one process, configured like Postfix")
    .version(VERSION, "-V, --version", "print the version")
    .exitOverride()
    .showHelpAfterError("(run with --help for usage)");
  let status = 0;
  const run = (fn: () => Promise<number>) => async () => {
    status = await fn();
  };
  const configOption = ["-c, --config <file>", "configuration file", DEFAULT_CONFIG] as const;

  program.command("serve")
    .description("run the mail server in the foreground (for systemd or a terminal)")
    .option(...configOption)
    .action((opts) => run(() => serveCommand(opts.config))());

  program.command("check")
    .description("check the configuration, the data directory and the listen ports (postfix check)")
    .option(...configOption)
    .action((opts) => run(() => checkCommand(opts.config))());

  program.command("config")
    .description("print parameters like postconf: all in effect, -n set ones, -d defaults")
    .argument("[name...]", "only these parameters")
    .option(...configOption)
    .option("-n, --non-default", "only parameters set in the configuration file")
    .option("-d, --defaults", "default values instead of the configured ones")
    .option("-x, --expand", "expand $name references")
    .action((names: string[], opts) => run(() => configCommand(names, opts))());

  const queue = program.command("queue")
    .description("list and manage the mail queue (mailq, postqueue, postsuper)");
  queue.command("list")
    .description(
      "list queued mail like mailq: id (* active, ! held), size, arrival, sender, recipients with the reason of their delay",
    )
    .option(...configOption)
    .option("--json", "one JSON object per message per line, like postqueue -j")
    .action((opts) => run(() => queueListCommand(opts.config, opts))());
  queue.command("flush")
    .description("make deferred mail due now and wake the running server (postqueue -f, -s)")
    .option(...configOption)
    .option("--domain <domain>", "only mail for this domain, which must be in fast_flush_domains")
    .action((opts) => run(() => queueFlushCommand(opts.config, opts))());
  const actions = [
    ["hold", "put messages on hold: not delivered until released (postsuper -h)"],
    ["release", "release held messages, due now (postsuper -H)"],
    ["delete", "delete messages (postsuper -d)"],
    ["requeue", "make deferred messages due now (postsuper -r)"],
  ] as const;
  for (const [action, description] of actions) {
    queue.command(action)
      .description(description)
      .argument("<id...>", "queue ids, or ALL")
      .option(...configOption)
      .action((ids: string[], opts) => run(() => queueActionCommand(action, ids, opts.config))());
  }

  program.command("version")
    .description("print the version")
    .action(() => {
      console.log(`facteur ${VERSION}`);
    });

  try {
    await program.parseAsync(argv, { from: "user" });
    return status;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode;
    if (e instanceof ConfigError) {
      console.error(`facteur: ${e.message}`);
      return 1;
    }
    throw e;
  } finally {
    flushLog(); // buffered log lines go out before Deno.exit
  }
}
