/** The command line: commander parses, each command lives in its own file. */
import { Command, CommanderError } from "commander";
import { ConfigError } from "../errors.ts";
import { VERSION } from "../version.ts";
import { flushLog } from "../log.ts";
import { serveCommand } from "./serve.ts";
import { checkCommand } from "./check.ts";
import { configCommand } from "./config.ts";

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
