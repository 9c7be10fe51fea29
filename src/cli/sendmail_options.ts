/**
 * sendmail(1) command-line options, as Postfix's sendmail parses them: a
 * POSIX getopt (options end at the first recipient or at `--`; flags may be
 * grouped, `-ti`; an option's value may be attached, `-fuser@x`, or the next
 * argument, `-f user@x`). Options Sendmail knows but that mean nothing here
 * (-oem, -odi, -oQ..., -h, -L, -n, -m, -U, -G, -x, -c, -e, -p, -O) are
 * accepted and ignored, as Postfix does. Pure.
 */

/** What sendmail was asked to do (-bm, -bs, -bp, -bi/-I, -q). */
export type SendmailMode = "deliver" | "smtp" | "mailq" | "newaliases" | "flush";

export interface SendmailOptions {
  mode: SendmailMode;
  /** -t: recipients from To/Cc/Bcc (Resent-* when present), added to the arguments. */
  extractRecipients: boolean;
  /** Without -i/-oi, a line with a lone "." ends the message (sendmail(1) -i). */
  dotEndsInput: boolean;
  /** -f/-r; "" is the null sender. Absent: the user running the command. */
  sender?: string;
  /** -F: the full name for the From: header added when the message has none. */
  fullName?: string;
  /** -C: the configuration file (Postfix: its directory; a directory here means DIR/facteur.toml). */
  configFile?: string;
  /** -B, -o7, -o8: the body type announced with MAIL FROM (RFC 6152). */
  bodyType?: "7BIT" | "8BITMIME";
  /** -N: DSN NOTIFY (RFC 3461 4.1). */
  notify?: ("NEVER" | "SUCCESS" | "DELAY" | "FAILURE")[];
  /** -R: DSN RET (RFC 3461 4.3). */
  ret?: "FULL" | "HDRS";
  /** -V: DSN ENVID (RFC 3461 4.4). */
  envid?: string;
  verbose: number;
  recipients: string[];
}

export type ParseResult = { ok: true; options: SendmailOptions } | { ok: false; error: string };

/** Options that take a value (Postfix sendmail.c's getopt string); -q's is optional. */
const WITH_VALUE = new Set([
  "A",
  "B",
  "C",
  "F",
  "L",
  "N",
  "O",
  "R",
  "V",
  "X",
  "b",
  "e",
  "f",
  "h",
  "o",
  "p",
  "r",
]);
/** Flags accepted and ignored (Sendmail compatibility). */
const IGNORED_FLAGS = new Set(["G", "U", "c", "m", "n", "x"]);
/** Value options accepted and ignored: -A, -L label, -O option=value, -X logfile, -e mode, -h hops, -p protocol. */
const IGNORED_WITH_VALUE = new Set(["A", "L", "O", "X", "e", "h", "p"]);

/** "-f <user@x>" and "-f user@x" name the same sender; "<>" and "" are the null sender. */
export function senderValue(text: string): string {
  const trimmed = text.trim();
  return /^<.*>$/.test(trimmed) ? trimmed.slice(1, -1) : trimmed;
}

function parseNotify(value: string): SendmailOptions["notify"] | string {
  const words = value.split(",").map((w) => w.trim().toUpperCase());
  const known = ["NEVER", "SUCCESS", "DELAY", "FAILURE"];
  const bad = words.find((w) => !known.includes(w));
  if (bad !== undefined) {
    return `-N: bad DSN notification "${value}": expected never or success,delay,failure`;
  }
  if (words.includes("NEVER") && words.length > 1) {
    return `-N: "never" cannot be combined with others`;
  }
  return words as SendmailOptions["notify"];
}

/** -b MODE; Postfix's sendmail(1) lists the modes facteur does not offer as unsupported. */
function modeOf(value: string): SendmailMode | string {
  switch (value) {
    case "m":
      return "deliver";
    case "s":
      return "smtp";
    case "p":
      return "mailq";
    case "i":
      return "newaliases";
  }
  return `-b${value}: unsupported mode (facteur's sendmail knows -bm, -bs, -bp and -bi)`;
}

/** Applies one option; a string is the usage error. */
function apply(o: SendmailOptions, flag: string, value: string | undefined): string | undefined {
  if (IGNORED_FLAGS.has(flag) || IGNORED_WITH_VALUE.has(flag)) return;
  const v = value ?? "";
  switch (flag) {
    case "t":
      o.extractRecipients = true;
      return;
    case "i":
      o.dotEndsInput = false;
      return;
    case "v":
      o.verbose++;
      return;
    case "I":
      o.mode = "newaliases";
      return;
    case "f":
    case "r":
      o.sender = senderValue(v);
      return;
    case "F":
      o.fullName = v;
      return;
    case "C":
      o.configFile = v;
      return;
    case "B": {
      const type = v.toUpperCase();
      if (type !== "7BIT" && type !== "8BITMIME") {
        return `-B: bad body type "${v}": 7BIT or 8BITMIME`;
      }
      o.bodyType = type;
      return;
    }
    case "N": {
      const notify = parseNotify(v);
      if (typeof notify === "string") return notify;
      o.notify = notify;
      return;
    }
    case "R": {
      const ret = v.toUpperCase();
      if (ret !== "FULL" && ret !== "HDRS") return `-R: bad DSN return "${v}": full or hdrs`;
      o.ret = ret;
      return;
    }
    case "V":
      o.envid = v;
      return;
    case "b": {
      const mode = modeOf(v);
      if (!["deliver", "smtp", "mailq", "newaliases"].includes(mode)) return mode;
      o.mode = mode as SendmailMode;
      return;
    }
    case "o":
      // -oi is -i; -o7/-o8 set the body type; -oem, -odi, -oQ..., -om and the rest mean nothing here.
      if (v === "i") o.dotEndsInput = false;
      else if (v === "7") o.bodyType = "7BIT";
      else if (v === "8") o.bodyType = "8BITMIME";
      return;
    case "q":
      // -q alone: process the queue now (postqueue -f). -q1h, -qRsite, -qSsite: not offered.
      if (v !== "") return `-q${v}: unsupported (use -q alone, or facteur queue flush --domain)`;
      o.mode = "flush";
      return;
  }
  return `-${flag}: unknown option`;
}

export function parseSendmailArgs(args: string[]): ParseResult {
  const o: SendmailOptions = {
    mode: "deliver",
    extractRecipients: false,
    dotEndsInput: true,
    verbose: 0,
    recipients: [],
  };
  let i = 0;
  for (; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--") {
      i++;
      break;
    }
    if (!arg.startsWith("-") || arg === "-") break; // POSIX getopt: the first operand ends the options
    for (let j = 1; j < arg.length; j++) {
      const flag = arg[j];
      let value: string | undefined;
      if (flag === "q") {
        value = arg.slice(j + 1); // optional, attached only
        j = arg.length;
      } else if (WITH_VALUE.has(flag)) {
        if (j + 1 < arg.length) value = arg.slice(j + 1);
        else if (i + 1 < args.length) value = args[++i];
        else return { ok: false, error: `option -${flag} requires a value` };
        j = arg.length;
      }
      const error = apply(o, flag, value);
      if (error) return { ok: false, error };
    }
  }
  o.recipients = args.slice(i);
  return { ok: true, options: o };
}
