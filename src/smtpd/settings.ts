/**
 * The smtpd parameters, read once when the service starts so that a bad
 * value is a startup error (ConfigError) rather than a failure mid-session.
 */
import type { Config } from "../config/config.ts";
import { ConfigError } from "../errors.ts";
import { openMap } from "../maps/mod.ts";
import { compileNetworks, type NetworkMatcher, type OpenTable } from "../maps/networks.ts";

/** postconf(5) smtpd_forbid_bare_newline, with "yes" read as Postfix's alias for "normalize". */
export type BareNewlinePolicy = "reject" | "normalize" | "no";

export interface SmtpdSettings {
  myhostname: string;
  banner: string;
  /** Bytes; 0 = no limit. */
  messageSizeLimit: number;
  recipientLimit: number;
  recipientOvershootLimit: number;
  hardErrorLimit: number;
  softErrorLimit: number;
  errorSleepMs: number;
  junkCommandLimit: number;
  timeoutMs: number;
  perRecordDeadline: boolean;
  /** Longest command line and longest stored text line piece (postconf(5) line_length_limit). */
  lineLengthLimit: number;
  disableVrfy: boolean;
  smtputf8Enable: boolean;
  strictRfc821Envelopes: boolean;
  heloRequired: boolean;
  bareNewline: BareNewlinePolicy;
  /** postconf(5) smtpd_forbid_bare_newline_exclusions (default $mynetworks). */
  bareNewlineExclusions: NetworkMatcher;
  /** Lower-case EHLO keywords not to announce (postconf(5) smtpd_discard_ehlo_keywords). */
  discardEhloKeywords: Set<string>;
  clientConnectionLimit: number;
  /** postconf(5) smtpd_client_connection_limit_exceptions (default $mynetworks). */
  clientLimitExceptions: NetworkMatcher;
  /** master.cf maxproc for this service; 0 = no limit. */
  processLimit: number;
}

/**
 * `openTable` opens the "type:table" entries of the network lists (default:
 * openMap, relative paths from the config file's directory).
 */
export function readSettings(
  config: Config,
  processLimit?: number,
  openTable: OpenTable = (spec) => openMap(spec, { baseDir: config.baseDir }),
): SmtpdSettings {
  const bare = config.get("smtpd_forbid_bare_newline").toLowerCase();
  if (!["reject", "normalize", "yes", "no"].includes(bare)) {
    throw new ConfigError(
      `parameter "smtpd_forbid_bare_newline" has value "${bare}"; expected reject, normalize, yes or no`,
      { file: config.file, param: "smtpd_forbid_bare_newline" },
    );
  }
  return {
    myhostname: config.get("myhostname"),
    banner: config.get("smtpd_banner"),
    messageSizeLimit: config.int("message_size_limit"),
    recipientLimit: config.int("smtpd_recipient_limit"),
    recipientOvershootLimit: config.int("smtpd_recipient_overshoot_limit"),
    hardErrorLimit: config.int("smtpd_hard_error_limit"),
    softErrorLimit: config.int("smtpd_soft_error_limit"),
    errorSleepMs: config.time("smtpd_error_sleep_time") * 1000,
    junkCommandLimit: config.int("smtpd_junk_command_limit"),
    timeoutMs: config.time("smtpd_timeout") * 1000,
    perRecordDeadline: config.bool("smtpd_per_record_deadline"),
    // RFC 5321 4.5.3.1.4 allows 512 octets; extensions (SIZE, DSN, SMTPUTF8)
    // raise it, and Postfix reads commands up to line_length_limit.
    lineLengthLimit: Math.max(config.int("line_length_limit"), 512),
    disableVrfy: config.bool("disable_vrfy_command"),
    smtputf8Enable: config.bool("smtputf8_enable"),
    strictRfc821Envelopes: config.bool("strict_rfc821_envelopes"),
    heloRequired: config.bool("smtpd_helo_required"),
    bareNewline: bare === "yes" ? "normalize" : bare as BareNewlinePolicy,
    bareNewlineExclusions: networkList(config, "smtpd_forbid_bare_newline_exclusions", openTable),
    discardEhloKeywords: new Set(
      config.list("smtpd_discard_ehlo_keywords").map((k) => k.toLowerCase()),
    ),
    clientConnectionLimit: config.int("smtpd_client_connection_count_limit"),
    clientLimitExceptions: networkList(
      config,
      "smtpd_client_connection_limit_exceptions",
      openTable,
    ),
    processLimit: processLimit ?? config.int("default_process_limit"),
  };
}

/** A client list in mynetworks syntax; a bad entry is a ConfigError naming `param`. */
function networkList(config: Config, param: string, openTable: OpenTable): NetworkMatcher {
  return compileNetworks(config.list(param), {
    openTable,
    parentMatchesSubdomains: config.list("parent_domain_matches_subdomains").includes(param),
    param,
    file: config.file,
  });
}
