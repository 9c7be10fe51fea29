/**
 * `facteur user|domain|alias ...`: they work on $data_directory/users.sqlite
 * directly, as postmap works on its files; the running server re-queries the
 * database at each lookup, so changes take effect at once. Human tables by
 * default, --json for scripts (the admin API's shapes).
 */
import type { Command } from "commander";
import { loadConfig } from "../config/mod.ts";
import { ConfigError } from "../errors.ts";
import { accountJson, aliasJson, domainJson } from "../users/json.ts";
import { formatQuota, openUsersStore, UsersError, type UsersStore } from "../users/mod.ts";
import { usersStoreOptions } from "../users/options.ts";
import { EX_DATAERR, EX_NOUSER } from "./sysexits.ts";

/** sysexits(3) EX_NOINPUT: an input file did not exist or was not readable. */
const EX_NOINPUT = 66;

export interface UsersCliOptions {
  config: string;
  json?: boolean;
}

/** Where the password comes from: --password-stdin, else a terminal prompt (no echo, twice). */
export interface PasswordSource {
  passwordStdin?: boolean;
}

/** Exit statuses: sysexits(3) for bad data and unknown users, 1 for conflicts. */
function exitStatus(e: UsersError): number {
  return e.kind === "invalid" ? EX_DATAERR : e.kind === "not_found" ? EX_NOUSER : 1;
}

/** Opens the store of the configured data_directory, runs `fn`, closes; UsersError → message + status. */
async function withStore(
  opts: { config: string },
  fn: (store: UsersStore) => Promise<number>,
): Promise<number> {
  const config = await loadConfig(opts.config);
  const dir = config.path("data_directory");
  try {
    if (!(await Deno.stat(dir)).isDirectory) throw new Error("not a directory");
  } catch (e) {
    throw new ConfigError(
      `data_directory ${dir}: ${(e as Error).message} (create it, or start facteur once)`,
    );
  }
  const store = openUsersStore(dir, usersStoreOptions(config));
  try {
    return await fn(store);
  } catch (e) {
    if (!(e instanceof UsersError)) throw e;
    console.error(`facteur: ${e.message}`);
    return exitStatus(e);
  } finally {
    store.close();
  }
}

// ---- passwords ----

/** The first line of stdin, without its line ending. */
async function passwordFromStdin(): Promise<string> {
  const text = new TextDecoder().decode(await new Response(Deno.stdin.readable).arrayBuffer());
  return text.split("\n")[0].replace(/\r$/, "");
}

/** Reads a line from the terminal without echo (raw mode: Enter ends, Backspace edits, ^C/^D abort). */
async function readHidden(prompt: string): Promise<string> {
  const encoder = new TextEncoder();
  await Deno.stderr.write(encoder.encode(prompt));
  Deno.stdin.setRaw(true);
  const bytes: number[] = [];
  const buffer = new Uint8Array(64);
  try {
    for (;;) {
      const n = await Deno.stdin.read(buffer);
      if (n === null) break;
      for (const byte of buffer.subarray(0, n)) {
        if (byte === 0x0d || byte === 0x0a) return new TextDecoder().decode(new Uint8Array(bytes));
        if (byte === 0x03 || (byte === 0x04 && bytes.length === 0)) {
          throw new UsersError("invalid", "password entry cancelled");
        }
        if (byte === 0x7f || byte === 0x08) {
          // Drop a whole UTF-8 character: continuation bytes are 10xxxxxx.
          while (bytes.length > 0 && (bytes.pop()! & 0xc0) === 0x80) { /* keep popping */ }
        } else bytes.push(byte);
      }
    }
    return new TextDecoder().decode(new Uint8Array(bytes));
  } finally {
    Deno.stdin.setRaw(false);
    await Deno.stderr.write(encoder.encode("\n"));
  }
}

async function readPassword(source: PasswordSource): Promise<string> {
  if (source.passwordStdin) return await passwordFromStdin();
  if (!Deno.stdin.isTerminal()) {
    throw new UsersError(
      "invalid",
      "no password: give --password-stdin, or run on a terminal to be asked",
    );
  }
  const first = await readHidden("Password: ");
  const again = await readHidden("Retype password: ");
  if (first !== again) throw new UsersError("invalid", "the passwords do not match");
  return first;
}

// ---- output ----

/** Columns padded to their widest cell (by code points), two spaces apart. */
export function table(header: string[], rows: string[][]): string {
  const width = (s: string) => [...s].length;
  const widths = header.map((h, i) => Math.max(width(h), ...rows.map((r) => width(r[i]))));
  return [header, ...rows].map((cells) =>
    cells.map((c, i) => i === cells.length - 1 ? c : c + " ".repeat(widths[i] - width(c)))
      .join("  ").trimEnd()
  ).join("\n");
}

const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const printJson = (value: unknown) => console.log(JSON.stringify(value, null, 2));

// ---- user ----

export async function userAddCommand(
  address: string,
  opts: UsersCliOptions & PasswordSource & { quota?: string; maildir?: string },
): Promise<number> {
  return await withStore(opts, async (store) => {
    // Refuse a bad address, an unknown domain or an existing user before asking for a password.
    await store.checkNewUser(address, { quota: opts.quota, maildir: opts.maildir });
    const password = await readPassword(opts);
    const account = await store.add(address, {
      password,
      quota: opts.quota,
      maildir: opts.maildir,
    });
    if (opts.json) printJson(accountJson(account));
    else console.log(`facteur: added user ${account.address} (mailbox ${account.maildir})`);
    return 0;
  });
}

export async function userPasswdCommand(
  address: string,
  opts: UsersCliOptions & PasswordSource,
): Promise<number> {
  return await withStore(opts, async (store) => {
    const account = await store.get(address);
    if (!account) throw new UsersError("not_found", `no such user ${address.toLowerCase()}`);
    await store.passwd(account.address, await readPassword(opts));
    console.log(`facteur: password of ${account.address} changed`);
    return 0;
  });
}

export async function userDelCommand(address: string, opts: UsersCliOptions): Promise<number> {
  return await withStore(opts, async (store) => {
    const account = await store.get(address);
    await store.del(address);
    console.log(
      `facteur: deleted user ${account?.address} (its mailbox ${account?.maildir} stays on disk)`,
    );
    return 0;
  });
}

export async function userShowCommand(address: string, opts: UsersCliOptions): Promise<number> {
  return await withStore(opts, async (store) => {
    const account = await store.get(address);
    if (!account) throw new UsersError("not_found", `no such user ${address.toLowerCase()}`);
    if (opts.json) {
      printJson(accountJson(account));
      return 0;
    }
    const j = accountJson(account);
    console.log(
      table(["", ""], [
        ["address:", j.address],
        ["domain:", j.domain],
        ["quota:", account.quota ? `${formatQuota(j.quota)} (${j.quota} bytes)` : "none"],
        ["enabled:", j.enabled ? "yes" : "no"],
        ["mailbox:", j.maildir],
        ["password:", j.password_scheme ? `{${j.password_scheme}}` : "none (cannot log in)"],
        ["created:", j.created],
        ["updated:", j.updated],
      ]).split("\n").slice(1).join("\n"),
    );
    return 0;
  });
}

export async function userListCommand(
  opts: UsersCliOptions & { domain?: string },
): Promise<number> {
  return await withStore(opts, async (store) => {
    if (opts.domain !== undefined && !(await store.getDomain(opts.domain))) {
      throw new UsersError("not_found", `no such domain ${opts.domain.toLowerCase()}`);
    }
    const { users } = await store.list({ domain: opts.domain });
    if (opts.json) {
      printJson({ users: users.map(accountJson) });
      return 0;
    }
    if (users.length === 0) {
      console.log("facteur: no users");
      return 0;
    }
    console.log(table(
      ["ADDRESS", "QUOTA", "STATUS", "CREATED", "MAILBOX"],
      users.map((u) => [
        u.address,
        formatQuota(u.quota),
        u.enabled ? "enabled" : "disabled",
        day(u.created),
        u.maildir,
      ]),
    ));
    return 0;
  });
}

/** enable, disable, quota: one change, one line of answer. */
export async function userChangeCommand(
  address: string,
  change: { enabled?: boolean; quota?: string },
  opts: UsersCliOptions,
): Promise<number> {
  return await withStore(opts, async (store) => {
    const a = await store.update(address, change);
    const what = change.quota !== undefined
      ? `quota ${formatQuota(a.quota)}`
      : a.enabled
      ? "enabled"
      : "disabled";
    console.log(`facteur: ${a.address}: ${what}`);
    return 0;
  });
}

export async function userImportDovecotCommand(
  file: string,
  opts: UsersCliOptions & { domain?: string; createDomains?: boolean },
): Promise<number> {
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (e) {
    console.error(`facteur: cannot read ${file}: ${(e as Error).message}`);
    return EX_NOINPUT;
  }
  return await withStore(opts, async (store) => {
    const r = await store.importDovecotPasswdFile(text, opts.domain, {
      createDomains: opts.createDomains,
    });
    if (opts.json) printJson(r);
    else {
      for (const e of r.errors) console.error(`${file}:${e.line}: ${e.message}`);
      console.log(
        `facteur: imported ${r.imported} user(s), skipped ${r.skipped} existing, ${r.errors.length} error(s)`,
      );
    }
    return r.errors.length > 0 ? EX_DATAERR : 0;
  });
}

// ---- domain ----

export async function domainAddCommand(
  name: string,
  opts: UsersCliOptions & { note?: string },
): Promise<number> {
  return await withStore(opts, async (store) => {
    const d = await store.addDomain(name, opts.note);
    if (opts.json) printJson(domainJson(d));
    else console.log(`facteur: added domain ${d.name}`);
    return 0;
  });
}

export async function domainDelCommand(
  name: string,
  opts: UsersCliOptions & { force?: boolean },
): Promise<number> {
  return await withStore(opts, async (store) => {
    try {
      const { usersDeleted } = await store.delDomain(name, { force: opts.force });
      const extra = usersDeleted ? ` and its ${usersDeleted} user(s)` : "";
      console.log(`facteur: deleted domain ${name.toLowerCase()}${extra}`);
      return 0;
    } catch (e) {
      if (e instanceof UsersError && e.kind === "conflict") {
        throw new UsersError("conflict", e.message.replace("or force it", "or use --force"));
      }
      throw e;
    }
  });
}

export async function domainListCommand(opts: UsersCliOptions): Promise<number> {
  return await withStore(opts, async (store) => {
    const domains = await store.listDomains();
    if (opts.json) printJson({ domains: domains.map(domainJson) });
    else if (domains.length === 0) console.log("facteur: no domains");
    else {
      console.log(table(
        ["DOMAIN", "USERS", "CREATED", "NOTE"],
        domains.map((d) => [d.name, String(d.users), day(d.created), d.note]),
      ));
    }
    return 0;
  });
}

// ---- alias ----

export async function aliasAddCommand(
  address: string,
  targets: string[],
  opts: UsersCliOptions & { replace?: boolean },
): Promise<number> {
  return await withStore(opts, async (store) => {
    try {
      const a = await store.addAlias(address, targets, { replace: opts.replace });
      if (opts.json) printJson(aliasJson(a));
      else console.log(`facteur: alias ${a.address} → ${a.targets.join(", ")}`);
      return 0;
    } catch (e) {
      if (e instanceof UsersError && e.kind === "conflict") {
        throw new UsersError("conflict", `${e.message}; use --replace to change it`);
      }
      throw e;
    }
  });
}

export async function aliasDelCommand(address: string, opts: UsersCliOptions): Promise<number> {
  return await withStore(opts, async (store) => {
    await store.delAlias(address);
    console.log(`facteur: deleted alias ${address.toLowerCase()}`);
    return 0;
  });
}

export async function aliasListCommand(
  opts: UsersCliOptions & { domain?: string },
): Promise<number> {
  return await withStore(opts, async (store) => {
    const aliases = await store.listAliases({ domain: opts.domain });
    if (opts.json) printJson({ aliases: aliases.map(aliasJson) });
    else if (aliases.length === 0) console.log("facteur: no aliases");
    else {
      console.log(table(
        ["ALIAS", "TARGETS"],
        aliases.map((a) => [a.address, a.targets.join(", ")]),
      ));
    }
    return 0;
  });
}

// ---- commander wiring ----

type Run = (fn: () => Promise<number> | number) => () => Promise<void>;

/** Adds `user`, `domain` and `alias` to the program (called from cli/mod.ts). */
export function registerUsersCommands(
  program: Command,
  configOption: readonly [string, string, string],
  run: Run,
): void {
  const withConfig = (c: Command) => c.option(...configOption);
  const json = ["--json", "JSON for scripts (the admin API's shapes)"] as const;
  const stdin = [
    "--password-stdin",
    "read the password from the first line of stdin (else: asked twice on the terminal)",
  ] as const;

  const user = program.command("user")
    .description(
      "mailbox users in $data_directory/users.sqlite (virtual_mailbox_maps = facteur:users)",
    );
  withConfig(user.command("add"))
    .description("add a user; its domain must exist (facteur domain add)")
    .argument("<address>", "user@domain")
    .option(...stdin)
    .option("--quota <size>", "mailbox quota: 500M, 1G, bytes; 0 = none", "0")
    .option("--maildir <path>", "mailbox path relative to virtual_mailbox_base (default %d/%n/)")
    .option(...json)
    .action((address: string, opts) => run(() => userAddCommand(address, opts))());
  withConfig(user.command("passwd"))
    .description("set a user's password")
    .argument("<address>", "user@domain")
    .option(...stdin)
    .action((address: string, opts) => run(() => userPasswdCommand(address, opts))());
  withConfig(user.command("del"))
    .description("delete a user (the mailbox stays on disk)")
    .argument("<address>", "user@domain")
    .action((address: string, opts) => run(() => userDelCommand(address, opts))());
  withConfig(user.command("list"))
    .description("list users")
    .option("--domain <domain>", "only this domain's users")
    .option(...json)
    .action((opts) => run(() => userListCommand(opts))());
  withConfig(user.command("show"))
    .description("one user's quota, status, mailbox and password scheme (never the password)")
    .argument("<address>", "user@domain")
    .option(...json)
    .action((address: string, opts) => run(() => userShowCommand(address, opts))());
  withConfig(user.command("quota"))
    .description("set a user's quota")
    .argument("<address>", "user@domain")
    .argument("<size>", "500M, 1G, bytes; 0 = none")
    .action((address: string, size: string, opts) =>
      run(() => userChangeCommand(address, { quota: size }, opts))()
    );
  for (const [name, enabled] of [["enable", true], ["disable", false]] as const) {
    withConfig(user.command(name))
      .description(
        enabled
          ? "let a user log in and receive mail again"
          : "stop a user's logins and mail (User unknown) without deleting it",
      )
      .argument("<address>", "user@domain")
      .action((address: string, opts) =>
        run(() => userChangeCommand(address, { enabled }, opts))()
      );
  }
  withConfig(user.command("import-dovecot"))
    .description("import a Dovecot passwd-file; hashes are kept, so passwords keep working")
    .argument("<file>", "passwd-file (user:{SCHEME}hash:uid:gid::home::extra)")
    .option("--domain <domain>", "domain of entries without @domain")
    .option("--create-domains", "add missing domains instead of refusing their users")
    .option(...json)
    .action((file: string, opts) => run(() => userImportDovecotCommand(file, opts))());

  const domain = program.command("domain")
    .description("mail domains (virtual_mailbox_domains = facteur:domains)");
  withConfig(domain.command("add"))
    .description("add a domain")
    .argument("<name>", "example.com")
    .option("--note <text>", "a note for administrators")
    .option(...json)
    .action((name: string, opts) => run(() => domainAddCommand(name, opts))());
  withConfig(domain.command("del"))
    .description("delete a domain; refused while it has users unless --force")
    .argument("<name>", "example.com")
    .option("--force", "delete its users too")
    .action((name: string, opts) => run(() => domainDelCommand(name, opts))());
  withConfig(domain.command("list"))
    .description("list domains with their number of users")
    .option(...json)
    .action((opts) => run(() => domainListCommand(opts))());

  const alias = program.command("alias")
    .description("virtual aliases (virtual_alias_maps = facteur:aliases)");
  withConfig(alias.command("add"))
    .description("add an alias: user@domain or @domain (catch-all) → targets")
    .argument("<address>", "user@domain or @domain")
    .argument("<target...>", "addresses to deliver to")
    .option("--replace", "replace the targets of an existing alias")
    .option(...json)
    .action((address: string, targets: string[], opts) =>
      run(() => aliasAddCommand(address, targets, opts))()
    );
  withConfig(alias.command("del"))
    .description("delete an alias")
    .argument("<address>", "user@domain or @domain")
    .action((address: string, opts) => run(() => aliasDelCommand(address, opts))());
  withConfig(alias.command("list"))
    .description("list aliases")
    .option("--domain <domain>", "only this domain's aliases")
    .option(...json)
    .action((opts) => run(() => aliasListCommand(opts))());
}
