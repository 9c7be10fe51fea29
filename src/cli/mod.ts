/** The command line: commander parses, each command lives in its own file. */
import { Command, CommanderError } from "commander";
import { ConfigError } from "../errors.ts";
import { VERSION } from "../version.ts";
import { flushLog } from "../log.ts";
import { serveCommand } from "./serve.ts";
import { checkCommand } from "./check.ts";
import { configCommand } from "./config.ts";
import { defaultConfigFile } from "./defaults.ts";
import { mapQueryCommand } from "./map_query.ts";
import {
  queueActionCommand,
  queueCatCommand,
  queueFlushCommand,
  queueListCommand,
  queueShapeCommand,
  queueShowCommand,
} from "./queue.ts";
import { routeCommand } from "./route.ts";
import { sendmailCommand } from "./sendmail.ts";
import { reloadCommand, statusCommand, stopCommand } from "./server_control.ts";
import { tokenNewCommand } from "./token.ts";
import { registerUsersCommands } from "./users.ts";

export { DEFAULT_CONFIG } from "./defaults.ts";

export async function main(argv: string[]): Promise<number> {
  // sendmail(1)'s options (-fuser, -oi, -F"Name", -bs) are not commander's: its own parser takes them.
  if (argv[0] === "sendmail") {
    try {
      return await sendmailCommand(argv.slice(1));
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      console.error(`sendmail: ${e.message}`);
      return 78; // EX_CONFIG
    } finally {
      flushLog();
    }
  }
  const program = new Command("facteur")
    .description("facteur: SMTP, queue and mailboxes in one process, configured like Postfix")
    .version(VERSION, "-V, --version", "print the version")
    .exitOverride()
    .showHelpAfterError("(run with --help for usage)");
  let status = 0;
  const run = (fn: () => Promise<number> | number) => async () => {
    status = await fn();
  };
  const configOption = [
    "-c, --config <file>",
    "configuration file ($FACTEUR_CONFIG, else /etc/facteur/facteur.toml)",
    defaultConfigFile(),
  ] as const;
  const tokenOption = [
    "--token <token>",
    "admin API token (default: $FACTEUR_ADMIN_TOKEN, else admin_token_file)",
  ] as const;
  const directOption = [
    "--direct",
    "work on the queue database even when the admin API is available",
  ] as const;
  const withFilters = (c: Command) =>
    c.option("--queue <name>", "only this queue: incoming, active, deferred, hold, corrupt")
      .option("--sender <address>", 'only mail from this sender ("<>" for the null sender)')
      .option("--recipient <address>", "only mail with this recipient still to deliver")
      .option("--domain <domain>", "only mail with a recipient in this domain still to deliver")
      .option("--min-age <time>", "only mail at least this old (300s, 5m, 2d)")
      .option("--max-age <time>", "only mail at most this old");

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

  program.command("status")
    .description("is the server running (pid file; /readyz of the admin API when configured)")
    .option(...configOption)
    .option("--json", "one JSON object")
    .action((opts) => run(() => statusCommand(opts.config, opts))());
  program.command("stop")
    .description("stop the server (SIGTERM) and wait until it has exited (postfix stop)")
    .option(...configOption)
    .option("--timeout <seconds>", "how long to wait (default: master_stop_timeout + 10)")
    .action((opts) => run(() => stopCommand(opts.config, opts))());
  program.command("reload")
    .description(
      "reload the configuration: POST /v1/reload when an admin API is configured, else SIGHUP",
    )
    .option(...configOption)
    .option(...tokenOption)
    .action((opts) => run(() => reloadCommand(opts.config, opts))());

  const queue = program.command("queue")
    .description("list and manage the mail queue (mailq, postqueue, postsuper, postcat, qshape)");
  withFilters(
    queue.command("list")
      .description(
        "list queued mail like mailq: id (* active, ! held), size, arrival, sender, recipients with the reason of their delay",
      ),
  )
    .option(...configOption)
    .option("--json", "one JSON object per message per line, like postqueue -j")
    .option(...tokenOption)
    .option(...directOption)
    .action((opts) => run(() => queueListCommand(opts.config, opts))());
  queue.command("show")
    .description("one message's envelope and each recipient's status, reason and relay")
    .argument("<id>", "queue id")
    .option(...configOption)
    .option("--json", "the admin API's JSON object")
    .option(...tokenOption)
    .option(...directOption)
    .action((id: string, opts) => run(() => queueShowCommand(id, opts.config, opts))());
  queue.command("cat")
    .description("print the message as stored (postcat -q)")
    .argument("<id>", "queue id")
    .option(...configOption)
    .option(...tokenOption)
    .option(...directOption)
    .action((id: string, opts) => run(() => queueCatCommand(id, opts.config, opts))());
  queue.command("shape")
    .description("recipients per domain and age bucket, like qshape")
    .option(...configOption)
    .option("--queue <name>", "only this queue (default: every queue)")
    .option("--json", "the admin API's JSON object")
    .option(...tokenOption)
    .option(...directOption)
    .action((opts) => run(() => queueShapeCommand(opts.config, opts))());
  queue.command("flush")
    .description("make deferred mail due now and wake the running server (postqueue -f, -s)")
    .option(...configOption)
    .option("--domain <domain>", "only mail for this domain, which must be in fast_flush_domains")
    .option(...tokenOption)
    .option(...directOption)
    .action((opts) => run(() => queueFlushCommand(opts.config, opts))());
  const actions = [
    ["hold", "put messages on hold: not delivered until released (postsuper -h)"],
    ["release", "release held messages, due now (postsuper -H)"],
    ["delete", "delete messages (postsuper -d)"],
    ["requeue", "make deferred messages due now (postsuper -r)"],
  ] as const;
  for (const [action, description] of actions) {
    withFilters(
      queue.command(action)
        .description(`${description}; the filters narrow ALL`)
        .argument("<id...>", "queue ids, or ALL"),
    )
      .option(...configOption)
      .option(...tokenOption)
      .option(...directOption)
      .action((ids: string[], opts) =>
        run(() => queueActionCommand(action, ids, opts.config, opts))()
      );
  }

  program.command("mailq")
    .description("list queued mail (facteur queue list; the binary named mailq does this)")
    .option(...configOption)
    .option("--json", "one JSON object per message per line, like postqueue -j")
    .option(...tokenOption)
    .option(...directOption)
    .action((opts) => run(() => queueListCommand(opts.config, opts))());

  program.command("sendmail")
    .description(
      "submit a message from stdin like sendmail(1): -t, -i/-oi, -f, -F, -bs, -bp, -C, recipients " +
        "(the binary named sendmail does this)",
    )
    .argument("[args...]", "sendmail(1) options and recipients")
    .allowUnknownOption()
    .helpOption(false);

  const map = program.command("map").description("lookup tables (postmap)");
  map.command("query")
    .description("look keys up in a table like postmap -q; - reads keys from stdin")
    .argument("<table>", "TYPE:NAME, e.g. hash:/etc/facteur/access or inline:{a=b}")
    .argument("<key...>", "keys to look up, or - for one key per line on stdin")
    .option(...configOption)
    .action((table: string, keys: string[], opts: { config: string }) =>
      run(() => mapQueryCommand(table, keys, Deno.stdin.readable, opts.config))()
    );

  program.command("route")
    .description(
      "explain what happens to a recipient: RCPT check, rewriting, virtual aliases, " +
        "class, transport:nexthop, and every table lookup",
    )
    .argument("<address>", "the recipient address")
    .option(...configOption)
    .option("--sender <address>", 'MAIL FROM for the RCPT check (default: "" the null sender)')
    .option("--client <ip>", "SMTP client address for the RCPT check (default: 127.0.0.1)")
    .option("--helo <name>", "HELO name for the RCPT check (default: localhost)")
    .option("--json", "the report as JSON (the admin API's GET /v1/route)")
    .action((address: string, opts) => run(() => routeCommand(address, opts))());

  registerUsersCommands(program, configOption, run);

  const token = program.command("token").description("admin API tokens");
  token.command("new")
    .description(
      "print a new random token and the admin_tokens line (its SHA-256) for the configuration",
    )
    .action(() => run(() => tokenNewCommand())());

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
