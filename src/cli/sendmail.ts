/**
 * `facteur sendmail` (and the binary invoked as `sendmail`): the sendmail(1)
 * interface cron, PHP's mail() and scripts use. The message is read from
 * stdin and handed to the running server over its local submission socket,
 * $data_directory/public/pickup (Postfix's public/pickup), in one SMTP
 * transaction: no TCP port needs to be open. Exit codes are sysexits(3).
 *
 * Unlike Postfix, nothing is written to a maildrop directory when the server
 * is down: the command fails with EX_TEMPFAIL, and the caller retries.
 */
import { join } from "node:path";
import { type Config, loadConfig } from "../config/mod.ts";
import { ConfigError } from "../errors.ts";
import { defaultConfigFile } from "./defaults.ts";
import { parseSendmailArgs, type SendmailOptions } from "./sendmail_options.ts";
import { dotStuff, headerAddresses, prepareMessage } from "./sendmail_message.ts";
import { type Reply, submit, SubmitError } from "./smtp_submit.ts";
import { queueFlushCommand, queueListCommand } from "./queue.ts";
import * as ex from "./sysexits.ts";

/** Where the server accepts local submissions (the lead's pickup service listens there). */
export function pickupSocketPath(config: Config): string {
  return join(config.path("data_directory"), "public", "pickup");
}

export interface SendmailIO {
  stdin: ReadableStream<Uint8Array>;
  stdout: WritableStream<Uint8Array>;
  error(line: string): void;
  connect(path: string): Promise<Deno.UnixConn>;
  /** The login name of the real uid (Postfix: getpwuid(getuid())). */
  loginName(): string | undefined;
}

/** /etc/passwd's name for `uid`; the first entry wins, as getpwuid(). */
export function passwdName(passwd: string, uid: number): string | undefined {
  for (const line of passwd.split("\n")) {
    const fields = line.split(":");
    if (fields.length >= 7 && fields[2] === String(uid) && fields[0] !== "") return fields[0];
  }
  return undefined;
}

function systemLoginName(): string | undefined {
  try {
    const uid = Deno.uid();
    if (uid !== null) {
      const name = passwdName(Deno.readTextFileSync("/etc/passwd"), uid);
      if (name) return name;
    }
  } catch {
    // no /etc/passwd or no permission: the environment is the last resort
  }
  return Deno.env.get("LOGNAME") || Deno.env.get("USER") || undefined;
}

/** The process's own streams, taken only when a command uses them. */
const systemIO: SendmailIO = {
  get stdin() {
    return Deno.stdin.readable;
  },
  get stdout() {
    return Deno.stdout.writable;
  },
  error: (line) => console.error(line),
  connect: (path) => Deno.connect({ transport: "unix", path }),
  loginName: systemLoginName,
};

/** -C names Postfix's configuration directory; here a directory means DIR/facteur.toml. */
function configFileOf(option: string | undefined): string {
  if (option === undefined) return defaultConfigFile();
  try {
    if (Deno.statSync(option).isDirectory) return join(option, "facteur.toml");
  } catch {
    // loadConfig names the missing file
  }
  return option;
}

/** postconf(5) myorigin is appended to a bare user name (append_at_myorigin). */
export function qualify(address: string, myorigin: string): string {
  return address === "" || address.includes("@") ? address : `${address}@${myorigin}`;
}

/** The envelope recipients: the arguments (each may list several, "a, b") plus, with -t, the headers'. */
export function envelopeRecipients(
  args: string[],
  fromHeaders: string[],
  myorigin: string,
): string[] {
  const all = [...args.flatMap(headerAddresses), ...fromHeaders].map((a) => qualify(a, myorigin));
  return all.filter((a, i) => all.findIndex((b) => b.toLowerCase() === a.toLowerCase()) === i);
}

/** A refusal → sysexits(3): 4xx and a lost connection are temporary; 5xx depends on the stage. */
export function exitCodeFor(error: SubmitError): number {
  const code = error.reply.code;
  if (code === 0 || (code >= 400 && code < 500)) return ex.EX_TEMPFAIL;
  if (error.stage === "rcpt") return ex.EX_NOUSER;
  if (error.stage === "greeting" || error.stage === "ehlo") return ex.EX_UNAVAILABLE;
  return ex.EX_DATAERR;
}

export async function sendmailCommand(args: string[], io: SendmailIO = systemIO): Promise<number> {
  const parsed = parseSendmailArgs(args);
  if (!parsed.ok) {
    io.error(`sendmail: ${parsed.error}`);
    io.error(
      "usage: sendmail [-t] [-i] [-f sender] [-F name] [-C config] [-bm|-bs|-bp] [--] recipient...",
    );
    return ex.EX_USAGE;
  }
  const opts = parsed.options;
  const configFile = configFileOf(opts.configFile);
  if (opts.mode === "mailq") return queueListCommand(configFile, {});
  if (opts.mode === "flush") return queueFlushCommand(configFile, {});
  if (opts.mode === "newaliases") return ex.EX_OK; // facteur reads alias files as they are: nothing to build
  let config: Config;
  try {
    config = await loadConfig(configFile);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    io.error(`sendmail: ${e.message}`);
    return ex.EX_CONFIG;
  }
  const socket = pickupSocketPath(config);
  if (opts.mode === "deliver") return await deliver(socket, opts, config, io);
  const conn = await connectPickup(socket, io);
  if (typeof conn === "number") return conn;
  try {
    return await relaySmtp(conn, io);
  } finally {
    try {
      conn.close();
    } catch {
      // already closed by a finished pipe
    }
  }
}

/**
 * The whole input; without -i it ends at a lone "." line too, so a caller
 * that writes "." and waits with stdin still open is not kept waiting.
 */
export async function readInput(
  stream: ReadableStream<Uint8Array>,
  dotEndsInput: boolean,
): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  let tail = "\n"; // the input starts at a line start
  const reader = stream.getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.length;
      if (!dotEndsInput) continue;
      // A lone dot line: LF "." (CR) LF, possibly across chunk boundaries.
      const text = tail + new TextDecoder("latin1").decode(value);
      if (/\n\.\r?\n/.test(text)) {
        await reader.cancel().catch(() => {});
        break;
      }
      tail = text.slice(-3);
    }
  } finally {
    reader.releaseLock();
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

async function connectPickup(path: string, io: SendmailIO): Promise<Deno.UnixConn | number> {
  try {
    return await io.connect(path);
  } catch (e) {
    if (e instanceof Deno.errors.PermissionDenied || e instanceof Deno.errors.NotCapable) {
      io.error(`sendmail: permission denied on ${path}: ${(e as Error).message}`);
      return ex.EX_NOPERM;
    }
    io.error(`sendmail: facteur is not running (no socket at ${path}): ${(e as Error).message}`);
    return ex.EX_TEMPFAIL;
  }
}

async function deliver(
  socket: string,
  opts: SendmailOptions,
  config: Config,
  io: SendmailIO,
): Promise<number> {
  const myorigin = config.get("myorigin");
  let sender = opts.sender;
  if (sender === undefined) {
    const login = io.loginName();
    if (!login) {
      io.error("sendmail: no login name found for this user id; give the sender with -f");
      return ex.EX_USAGE;
    }
    sender = login;
  }
  sender = qualify(sender, myorigin);
  // The whole message first: a slow writer (a long cron job) must not hold an idle SMTP session open.
  const input = await readInput(io.stdin, opts.dotEndsInput);
  const message = prepareMessage(input, {
    dotEndsInput: opts.dotEndsInput,
    extractRecipients: opts.extractRecipients,
    fullName: opts.fullName,
    sender,
  });
  const recipients = envelopeRecipients(opts.recipients, message.headerRecipients, myorigin);
  if (recipients.length === 0) {
    io.error(
      opts.extractRecipients
        ? "sendmail: no recipient addresses found in the arguments or the message headers"
        : "sendmail: no recipients specified (give them as arguments, or use -t)",
    );
    return opts.extractRecipients ? ex.EX_DATAERR : ex.EX_USAGE;
  }
  const conn = await connectPickup(socket, io);
  if (typeof conn === "number") return conn;
  let reply: Reply;
  try {
    reply = await submit(conn, {
      heloName: config.get("myhostname"),
      sender,
      recipients,
      data: dotStuff(message.content),
      eightBit: message.eightBit,
      bodyType: opts.bodyType,
      notify: opts.notify,
      ret: opts.ret,
      envid: opts.envid,
    });
  } catch (e) {
    if (e instanceof SubmitError) {
      io.error(`sendmail: ${e.message}`);
      return exitCodeFor(e);
    }
    io.error(`sendmail: lost the connection to facteur: ${(e as Error).message}`);
    return ex.EX_TEMPFAIL;
  } finally {
    conn.close();
  }
  if (opts.verbose) io.error(`sendmail: ${reply.lines.join(" ")}`);
  return ex.EX_OK;
}

/**
 * -bs: the caller speaks SMTP on stdin/stdout. The server answers it
 * directly: bytes are relayed both ways until the server closes.
 */
async function relaySmtp(conn: Deno.UnixConn, io: SendmailIO): Promise<number> {
  const stop = new AbortController();
  // Closing conn.writable would close the whole connection: only the write half is shut at EOF.
  const upstream = io.stdin.pipeTo(conn.writable, { signal: stop.signal, preventClose: true })
    .then(() => conn.closeWrite())
    .catch(() => {});
  try {
    await conn.readable.pipeTo(io.stdout, { preventClose: true });
  } catch (e) {
    io.error(`sendmail: -bs: ${(e as Error).message}`);
    return ex.EX_TEMPFAIL;
  } finally {
    stop.abort(); // not awaited: a terminal's pending stdin read may not end until its next line
    void upstream;
  }
  return ex.EX_OK;
}
