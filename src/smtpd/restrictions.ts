/**
 * SMTP access restrictions: compiling and evaluating smtpd_*_restrictions
 * lists (postconf(5) "SMTPD ACCESS CONTROL", SMTPD_ACCESS_README) and
 * access(5) table results. The behaviour follows Postfix's smtpd_check.c
 * generic_checks(): restrictions run left to right, the first OK or REJECT
 * decides, DUNNO goes on; replies and their texts are Postfix's, checked
 * against Postfix 3.7.
 *
 * Lists are compiled once (unknown names are ConfigErrors, tables are opened);
 * evaluation needs only the request facts and a small per-check state.
 */
import { domainToASCII } from "node:url";
import { ConfigError, MailError } from "../errors.ts";
import type { LookupTable } from "../maps/types.ts";
import { closest } from "../config/closest.ts";
import { splitList } from "../config/values.ts";
import {
  accessAddressKeys,
  domainKeys,
  ipKeys,
  type SearchKey,
  searchTables,
} from "../maps/search.ts";
import { parseIPv4, parseIPv6 } from "../maps/ip.ts";
import type { NetworkMatcher } from "../maps/networks.ts";
import { traceLookup, tracing } from "../rewrite/trace.ts";

// --- Injected collaborators ---------------------------------------------------

/** trivial-rewrite's answers (ADDRESS_CLASS_README), as smtpd needs them. */
export type DomainClass = "local" | "virtual_alias" | "virtual_mailbox" | "relay" | "default";
export interface RecipientRewriter {
  domainClass(domain: string): Promise<DomainClass>;
  /** Unknown user → MailError (550 5.1.1 "<a>: Recipient address rejected: User unknown ..."). */
  checkRecipient(address: string): Promise<MailError | undefined>;
}

/**
 * DNS lookup: A/AAAA addresses or MX exchange names. Throws an error named
 * "NotFound" (Deno.errors.NotFound) when the name or the records do not
 * exist; any other error counts as a temporary failure.
 */
export type DnsLookup = (name: string, type: "A" | "AAAA" | "MX") => Promise<string[]>;

const DNS_TIMEOUT_MS = 10_000;

/** The default DnsLookup, over Deno.resolveDns (needs --allow-net). */
export const denoDnsLookup: DnsLookup = async (name, type) => {
  const signal = AbortSignal.timeout(DNS_TIMEOUT_MS);
  if (type === "MX") return (await Deno.resolveDns(name, "MX", { signal })).map((r) => r.exchange);
  return await Deno.resolveDns(name, type, { signal });
};

export interface RestrictionDeps {
  openTable: (spec: string) => LookupTable;
  rewrite: RecipientRewriter;
  mynetworks: NetworkMatcher;
  dns?: DnsLookup;
  log?: (text: string) => void;
}

/** Numbers and names from main.cf the checks use (postconf(5) names in comments). */
export interface RestrictionSettings {
  accessMapRejectCode: number; // access_map_reject_code
  accessMapDeferCode: number; // access_map_defer_code
  relayDomainsRejectCode: number; // relay_domains_reject_code
  rejectCode: number; // reject_code
  deferCode: number; // defer_code
  nonFqdnRejectCode: number; // non_fqdn_reject_code
  invalidHostnameRejectCode: number; // invalid_hostname_reject_code
  unknownAddressRejectCode: number; // unknown_address_reject_code
  unknownHostnameRejectCode: number; // unknown_hostname_reject_code
  /** unknown_address_tempfail_action / unknown_helo_hostname_tempfail_action. */
  unknownAddressTempfail: TempfailAction;
  unknownHeloTempfail: TempfailAction;
  nullAccessKey: string; // smtpd_null_access_lookup_key
  /** parent_domain_matches_subdomains contains smtpd_access_maps. */
  accessParentMatches: boolean;
  recipientDelimiter: string; // recipient_delimiter
  ownerRequestSpecial: boolean; // owner_request_special
  myorigin: string; // myorigin (append_at_myorigin for bare "user")
  softBounce: boolean; // soft_bounce
}
export type TempfailAction = "defer_if_permit" | "defer";

// --- The facts a check looks at ---------------------------------------------

/** SMTP command being checked, as Postfix logs it. */
export type Where = "CONNECT" | "HELO" | "EHLO" | "MAIL" | "RCPT" | "DATA" | "END-OF-MESSAGE";

export interface CheckRequest {
  where: Where;
  /** Client address in lookup-key form (see normalizeAddress). */
  clientAddress: string;
  clientHostname?: string;
  helo?: string;
  /** MAIL FROM address; "" is the null sender, undefined before MAIL. */
  sender?: string;
  recipient?: string;
  saslUser?: string;
  esmtp: boolean;
}

/** A postponed decision (defer_if_permit / defer_if_reject): the first reason wins. */
export interface Deferral {
  code: number;
  dsn: string;
  text: string;
}

/** State of one stage check (Postfix SMTPD_STATE fields of the same names). */
export interface CheckState {
  deferIfPermit?: Deferral;
  deferIfReject?: Deferral;
  warnIfReject: number;
  recursion: number;
  recipientMapChecked: boolean;
  senderMapChecked: boolean;
}

export function newCheckState(deferIfPermit?: Deferral): CheckState {
  return {
    deferIfPermit,
    warnIfReject: 0,
    recursion: 0,
    recipientMapChecked: false,
    senderMapChecked: false,
  };
}

export type Outcome =
  | { kind: "dunno" }
  | { kind: "ok" }
  | { kind: "reject"; error: MailError };
const DUNNO: Outcome = { kind: "dunno" };
const OK: Outcome = { kind: "ok" };

// --- Stages and restriction names --------------------------------------------

export type Stage = "client" | "helo" | "sender" | "relay" | "recipient" | "data" | "end_of_data";
type AccessCheck =
  | "check_client_access"
  | "check_helo_access"
  | "check_sender_access"
  | "check_recipient_access";

/** Reply class (smtpd_check.h SMTPD_NAME_*) and the check a bare "type:table" implies. */
export const STAGES: Record<Stage, { replyClass: string; bareTable?: AccessCheck }> = {
  client: { replyClass: "Client host", bareTable: "check_client_access" },
  helo: { replyClass: "Helo command", bareTable: "check_helo_access" },
  sender: { replyClass: "Sender address", bareTable: "check_sender_access" },
  relay: { replyClass: "Recipient address", bareTable: "check_recipient_access" },
  recipient: { replyClass: "Recipient address", bareTable: "check_recipient_access" },
  data: { replyClass: "Data command" },
  end_of_data: { replyClass: "End-of-data" },
};

const ACCESS_CHECKS: readonly AccessCheck[] = [
  "check_client_access",
  "check_helo_access",
  "check_sender_access",
  "check_recipient_access",
];

const BUILTINS = [
  "permit",
  "reject",
  "defer",
  "defer_if_permit",
  "defer_if_reject",
  "permit_mynetworks",
  "permit_sasl_authenticated",
  "permit_auth_destination",
  "reject_unauth_destination",
  "defer_unauth_destination",
  "reject_unauth_pipelining",
  "reject_unknown_sender_domain",
  "reject_unknown_recipient_domain",
  "reject_unknown_helo_hostname",
  "reject_invalid_helo_hostname",
  "reject_non_fqdn_helo_hostname",
  "reject_non_fqdn_sender",
  "reject_non_fqdn_recipient",
  "reject_unlisted_sender",
  "reject_unlisted_recipient",
] as const;
type Builtin = typeof BUILTINS[number];

/** Older names Postfix still accepts for the same restriction. */
const ALIASES: Record<string, Builtin> = {
  reject_unknown_hostname: "reject_unknown_helo_hostname",
  reject_invalid_hostname: "reject_invalid_helo_hostname",
  reject_non_fqdn_hostname: "reject_non_fqdn_helo_hostname",
  check_recipient_maps: "reject_unlisted_recipient",
};

/** Postfix restrictions facteur knows but does not implement yet: refused at startup. */
const NOT_YET = new Set([
  "check_ccert_access",
  "check_sasl_access",
  "check_etrn_access",
  "check_policy_service",
  "check_reverse_client_hostname_access",
  ...["client", "reverse_client_hostname", "helo", "sender", "recipient"].flatMap((w) =>
    ["a", "mx", "ns"].map((t) => `check_${w}_${t}_access`)
  ),
  "permit_dnswl_client",
  "permit_rhswl_client",
  "reject_rbl_client",
  "reject_rbl",
  "reject_rhsbl_client",
  "reject_rhsbl_reverse_client",
  "reject_rhsbl_helo",
  "reject_rhsbl_sender",
  "reject_rhsbl_recipient",
  "reject_maps_rbl",
  "reject_unknown_client_hostname",
  "reject_unknown_client",
  "reject_unknown_reverse_client_hostname",
  "permit_inet_interfaces",
  "permit_mx_backup",
  "permit_tls_clientcerts",
  "permit_tls_all_clientcerts",
  "permit_naked_ip_address",
  "reject_plaintext_session",
  "reject_unverified_sender",
  "reject_unverified_recipient",
  "reject_multi_recipient_bounce",
  "reject_sender_login_mismatch",
  "reject_authenticated_sender_login_mismatch",
  "reject_known_sender_login_mismatch",
  "reject_unauthenticated_sender_login_mismatch",
  "check_relay_domains",
  "sleep",
]);

type Step =
  | { kind: "builtin"; name: Builtin }
  | { kind: "access"; check: AccessCheck; table: LookupTable }
  | { kind: "warn_if_reject" };

export interface RestrictionList {
  readonly param: string;
  readonly stage: Stage;
  readonly steps: readonly Step[];
}

/**
 * smtpd_check_init: the relay restrictions must end in a "no" somewhere, or
 * the server is an open relay.
 */
const RELAY_REQUIRED: readonly Builtin[] = [
  "reject_unauth_destination",
  "defer_unauth_destination",
  "reject",
  "defer",
  "defer_if_permit",
];

/** smtpd_check.c has_required(): a required restriction before any "permit". */
export function hasRelayProtection(list: RestrictionList): boolean {
  for (let i = 0; i < list.steps.length; i++) {
    const step = list.steps[i];
    if (step.kind === "warn_if_reject") {
      i++; // the next restriction only warns
      continue;
    }
    if (step.kind !== "builtin") continue;
    if (step.name === "permit") return false;
    if (RELAY_REQUIRED.includes(step.name)) return true;
  }
  return false;
}

/** Postfix's fatal error text when neither relay list has protection. */
export function relayProtectionMessage(): string {
  const names = RELAY_REQUIRED.slice(0, -1).join(", ") + " or " + RELAY_REQUIRED.at(-1);
  return "in parameter smtpd_relay_restrictions or smtpd_recipient_restrictions, " +
    `specify at least one working instance of: ${names}`;
}

// --- Reply helpers -----------------------------------------------------------

/** Thrown to end a whole stage check at once (Postfix longjmp(smtpd_check_buf)). */
class Abort {
  constructor(readonly outcome: Outcome) {}
}

// RFC 3463 2.: class.subject.detail, 1-3 digits each (dsn_util.c dsn_valid).
const DSN = /^[245]\.\d{1,3}\.\d{1,3}(?=\s|$)/;

/** dsn_split(): an enhanced status code at the start of `text`, or `def`. */
export function splitDsn(def: string, text: string): [string, string] {
  const t = text.replace(/^\s+/, "");
  const m = DSN.exec(t);
  return m ? [m[0], t.slice(m[0].length).replace(/^\s+/, "")] : [def, t];
}

const SENDER_CLASS = "Sender address";
const RECIPIENT_CLASS = "Recipient address";
// smtpd_dsn_fix.c: address-status codes per what is rejected; SND_DSN is 4.1.7.
const DSN_MAP: Record<string, [string, string]> = {
  "1": ["4.1.7", "4.1.1"],
  "2": ["4.1.8", "4.1.2"],
  "3": ["4.1.7", "4.1.3"],
  "4": ["4.1.7", "4.1.4"],
  "5": ["4.1.0", "4.1.5"],
  "6": ["4.1.7", "4.1.6"],
  "7": ["4.1.7", "4.1.3"],
  "8": ["4.1.8", "4.1.2"],
};

/** smtpd_dsn_fix(): X.1.Y codes follow what is rejected (sender, recipient, other). */
export function fixDsn(dsn: string, replyClass: string): string {
  if (!/^\d\.1\./.test(dsn)) return dsn;
  const [snd, rcpt] = DSN_MAP[dsn.slice(4)] ?? ["4.1.0", "4.1.0"];
  if (replyClass === SENDER_CLASS) return snd;
  if (replyClass === RECIPIENT_CLASS) return rcpt;
  return "4.0.0";
}

// --- Host name syntax (util/valid_hostname.c) --------------------------------

/** valid_hostname(): letters, digits, "_" and inner "-", labels of 1-63, not all-numeric. */
export function validHostname(name: string): boolean {
  if (name === "" || name.length > 255) return false;
  let label = 0;
  let nonNumeric = false;
  for (let i = 0; i < name.length; i++) {
    const ch = name[i];
    const next = name[i + 1];
    if (/[A-Za-z0-9_]/.test(ch)) {
      if (++label > 63) return false;
      if (!/\d/.test(ch)) nonNumeric = true;
    } else if (ch === ".") {
      if (label === 0 || next === undefined) return false;
      label = 0;
    } else if (ch === "-") {
      nonNumeric = true;
      if (++label === 1 || next === undefined || next === ".") return false;
    } else {
      return false;
    }
  }
  return nonNumeric;
}

/** valid_hostaddr(): a bare IPv4 or IPv6 address. */
function validHostaddr(text: string): boolean {
  return parseIPv4(text) !== undefined || parseIPv6(text) !== undefined;
}

/** valid_mailhost_addr(): the inside of an address literal, "1.2.3.4" or "IPv6:...". */
function validMailhostAddr(text: string): boolean {
  return /^ipv6:/i.test(text)
    ? parseIPv6(text.slice(5)) !== undefined
    : parseIPv4(text) !== undefined;
}

/** Postfix dup_if_truncate(): one trailing dot goes, "a.." stays. */
function dropTrailingDot(name: string): string {
  return name.length > 1 && name.endsWith(".") && !name.endsWith("..") ? name.slice(0, -1) : name;
}

/** valid_utf8_hostname(): ASCII rules, non-ASCII names checked in A-label form. */
function validUtf8Hostname(name: string): boolean {
  if (/^[\x00-\x7f]*$/.test(name)) return validHostname(name);
  const ascii = domainToASCII(name);
  return ascii !== "" && validHostname(ascii);
}

// --- Addresses -----------------------------------------------------------------

function splitAddress(address: string): { local: string; domain: string } | undefined {
  const at = address.lastIndexOf("@");
  return at < 0 ? undefined : { local: address.slice(0, at), domain: address.slice(at + 1) };
}

/** What resolve does to a domain before classifying it: one trailing dot off, lower case. */
function cleanDomain(domain: string): string {
  return dropTrailingDot(domain).toLowerCase();
}

// --- Compilation ---------------------------------------------------------------

/** Postfix splits restriction lists on commas and white space, keeping {...} whole. */
export function splitRestrictions(value: string | string[]): string[] {
  return Array.isArray(value) ? value.flatMap((v) => splitList(v)) : splitList(value);
}

function nameOf(token: string): string {
  return token.toLowerCase();
}

/**
 * Compiles one restriction list. `tables` false is for lists found in access
 * table values, where Postfix refuses tables. Throws ConfigError naming the
 * parameter and the restriction.
 */
export function compileRestrictions(
  param: string,
  tokens: string[],
  stage: Stage,
  openTable: ((spec: string) => LookupTable) | undefined,
  file?: string,
): RestrictionList {
  const bad = (why: string) => new ConfigError(`parameter "${param}": ${why}`, { file, param });
  const steps: Step[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i];
    const name = nameOf(token);
    let check: AccessCheck | undefined;
    let spec: string | undefined;
    if (token.includes(":") || token.startsWith("{")) {
      // smtpd_check.c generic_checks(): a bare table is the stage's check_*_access.
      check = STAGES[stage].bareTable;
      if (!check) {
        throw bad(
          `specify one of (${ACCESS_CHECKS.join(", ")}) before ${
            STAGES[stage].replyClass
          } restriction "${token}"`,
        );
      }
      spec = token;
    } else if ((ACCESS_CHECKS as readonly string[]).includes(name)) {
      check = name as AccessCheck;
      spec = tokens[++i];
      if (spec === undefined || !spec.includes(":")) {
        throw bad(`restriction ${name}: bad argument "${spec ?? ""}": need maptype:mapname`);
      }
    }
    if (check && spec !== undefined) {
      if (!openTable) throw bad(`restriction ${check}: lookup tables are not allowed here`);
      steps.push({ kind: "access", check, table: openTableFor(openTable, spec, bad) });
      continue;
    }
    if (name === "warn_if_reject") {
      steps.push({ kind: "warn_if_reject" });
      continue;
    }
    const builtin = ALIASES[name] ?? (BUILTINS as readonly string[]).find((b) => b === name);
    if (builtin) {
      steps.push({ kind: "builtin", name: builtin as Builtin });
      continue;
    }
    if (NOT_YET.has(name)) throw bad(`restriction "${token}" is not supported by facteur yet`);
    const near = closest(name, [...BUILTINS, ...ACCESS_CHECKS, "warn_if_reject"]);
    throw bad(`unknown restriction "${token}"${near ? `; did you mean "${near}"?` : ""}`);
  }
  return { param, stage, steps };
}

function openTableFor(
  openTable: (spec: string) => LookupTable,
  spec: string,
  bad: (why: string) => ConfigError,
): LookupTable {
  try {
    return openTable(spec);
  } catch (e) {
    if (e instanceof ConfigError) throw bad(e.message);
    throw bad(`cannot open table "${spec}": ${(e as Error).message}`);
  }
}

// --- Evaluation ----------------------------------------------------------------

/** What one list evaluation replies as: Postfix's reply_name, reply_class, def_acl. */
interface Scope {
  replyName: string;
  replyClass: string;
  stage: Stage;
}

interface Eval {
  req: CheckRequest;
  state: CheckState;
}

const MAX_RECURSION = 100;
const FINAL_CLASSES: readonly DomainClass[] = ["local", "virtual_alias", "virtual_mailbox"];
// access(5) actions that need the cleanup/queue side facteur does not have yet.
const UNSUPPORTED_ACTIONS = new Set([
  "FILTER",
  "HOLD",
  "DISCARD",
  "REDIRECT",
  "BCC",
  "PREPEND",
  "HANGUP",
  "DELAY",
]);

export class RestrictionEngine {
  readonly #s: RestrictionSettings;
  readonly #deps: RestrictionDeps;
  readonly #log: (text: string) => void;
  readonly #dns: DnsLookup;

  constructor(settings: RestrictionSettings, deps: RestrictionDeps) {
    this.#s = settings;
    this.#deps = deps;
    this.#log = deps.log ?? ((t) => console.error(t));
    this.#dns = deps.dns ?? denoDnsLookup;
  }

  compile(param: string, value: string | string[], stage: Stage, file?: string): RestrictionList {
    return compileRestrictions(param, splitRestrictions(value), stage, this.#deps.openTable, file);
  }

  /**
   * Evaluates `list` for one stage; the caller handles defer_if_permit at the
   * end (see finishDeferIfPermit). Never throws for bad input or failed lookups:
   * those become Postfix's 451 replies.
   */
  async run(
    list: RestrictionList,
    req: CheckRequest,
    state: CheckState,
    replyName: string,
  ): Promise<Outcome> {
    if (list.steps.length === 0) return DUNNO;
    const scope = { replyName, replyClass: STAGES[list.stage].replyClass, stage: list.stage };
    try {
      return await this.#generic(list.steps, { req, state }, scope);
    } catch (e) {
      if (e instanceof Abort) return e.outcome;
      throw e;
    }
  }

  /** "Force permission into deferral" (smtpd_check_rcpt/data/eod). */
  finishDeferIfPermit(outcome: Outcome, req: CheckRequest, state: CheckState): Outcome {
    const d = state.deferIfPermit;
    if (outcome.kind === "reject" || !d) return outcome;
    return this.#reject({ req, state }, d.code, d.dsn, d.text, "policy");
  }

  /** The implicit reject_unlisted_recipient / reject_unlisted_sender. */
  async unlisted(
    address: string,
    replyClass: string,
    req: CheckRequest,
    state: CheckState,
  ): Promise<Outcome> {
    try {
      return await this.#rcptMaps({ req, state }, address, replyClass);
    } catch (e) {
      if (e instanceof Abort) return e.outcome;
      throw e;
    }
  }

  // generic_checks()
  async #generic(steps: readonly Step[], ev: Eval, scope: Scope): Promise<Outcome> {
    const { state } = ev;
    const saved = state.recursion++;
    try {
      for (const step of steps) {
        if (step.kind === "warn_if_reject") {
          if (state.warnIfReject === 0) state.warnIfReject = state.recursion;
          continue;
        }
        const outcome = step.kind === "access"
          ? await this.#access(step, ev, scope)
          : await this.#builtin(step.name, ev, scope);
        if (state.warnIfReject >= state.recursion) state.warnIfReject = 0;
        if (outcome.kind !== "dunno") return outcome;
        if (state.deferIfPermit && state.deferIfReject) break;
      }
      return DUNNO;
    } finally {
      state.recursion = saved;
      if (state.warnIfReject >= state.recursion) state.warnIfReject = 0;
    }
  }

  async #builtin(name: Builtin, ev: Eval, scope: Scope): Promise<Outcome> {
    const { req } = ev;
    const s = this.#s;
    const { replyName, replyClass } = scope;
    const rejected = (what: string) => `<${replyName}>: ${replyClass} rejected: ${what}`;
    switch (name) {
      case "permit":
        return OK;
      case "reject":
        return this.#reject(ev, s.rejectCode, "5.7.1", rejected("Access denied"));
      case "defer":
        return this.#reject(ev, s.deferCode, "4.3.2", rejected("Try again later"));
      case "defer_if_permit":
        return this.#deferIfPermit(
          ev,
          "defer_if_permit",
          450,
          "4.7.0",
          rejected("defer_if_permit requested"),
        );
      case "defer_if_reject":
        return this.#deferIf(ev, "reject", 450, "4.7.0", rejected("defer_if_reject requested"));
      case "reject_unauth_pipelining":
        // The session enforces PIPELINING itself (RFC 2920); nothing to add here yet.
        return DUNNO;
      case "permit_mynetworks":
        return (await this.#lookup(
            ev,
            replyName,
            () => this.#deps.mynetworks.match(req.clientAddress, req.clientHostname),
          ))
          ? OK
          : DUNNO;
      case "permit_sasl_authenticated":
        return req.saslUser ? OK : DUNNO;
      case "permit_auth_destination":
        if (req.recipient === undefined) return DUNNO;
        return (await this.#authorizedDestination(ev, req.recipient)) ? OK : DUNNO;
      case "reject_unauth_destination":
      case "defer_unauth_destination": {
        if (req.recipient === undefined) return DUNNO;
        if (await this.#authorizedDestination(ev, req.recipient)) return DUNNO;
        const defer = name === "defer_unauth_destination";
        // smtpd_check.c: defer_unauth_destination replies relay_domains_reject_code - 100.
        const code = defer ? s.relayDomainsRejectCode - 100 : s.relayDomainsRejectCode;
        return this.#reject(
          ev,
          code,
          defer ? "4.7.1" : "5.7.1",
          `<${req.recipient}>: Relay access denied`,
        );
      }
      case "reject_invalid_helo_hostname":
        if (req.helo === undefined) return DUNNO;
        if (req.helo.startsWith("[")) return this.#invalidHostaddr(ev, req.helo);
        if (validHostname(dropTrailingDot(req.helo)) || validHostaddr(dropTrailingDot(req.helo))) {
          return DUNNO;
        }
        return this.#reject(
          ev,
          s.invalidHostnameRejectCode,
          "5.5.2",
          `<${req.helo}>: Helo command rejected: Invalid name`,
        );
      case "reject_non_fqdn_helo_hostname": {
        if (req.helo === undefined) return DUNNO;
        if (req.helo.startsWith("[")) return this.#invalidHostaddr(ev, req.helo);
        const name = dropTrailingDot(req.helo);
        if (validUtf8Hostname(name) && name.includes(".")) return DUNNO;
        return this.#reject(
          ev,
          s.nonFqdnRejectCode,
          "5.5.2",
          `<${req.helo}>: Helo command rejected: need fully-qualified hostname`,
        );
      }
      case "reject_unknown_helo_hostname":
        if (req.helo === undefined) return DUNNO;
        if (req.helo.startsWith("[")) return this.#invalidHostaddr(ev, req.helo);
        return this.#unknownHelo(ev, req.helo);
      case "reject_non_fqdn_sender":
        return req.sender ? this.#nonFqdnAddress(ev, req.sender, SENDER_CLASS) : DUNNO;
      case "reject_non_fqdn_recipient":
        return req.recipient !== undefined
          ? this.#nonFqdnAddress(ev, req.recipient, RECIPIENT_CLASS)
          : DUNNO;
      case "reject_unknown_sender_domain":
        return req.sender ? this.#unknownAddress(ev, req.sender, SENDER_CLASS) : DUNNO;
      case "reject_unknown_recipient_domain":
        return req.recipient !== undefined
          ? this.#unknownAddress(ev, req.recipient, RECIPIENT_CLASS)
          : DUNNO;
      case "reject_unlisted_sender":
        if (!req.sender || ev.state.senderMapChecked) return DUNNO;
        if (ev.state.warnIfReject === 0) ev.state.senderMapChecked = true;
        return this.#rcptMaps(ev, req.sender, SENDER_CLASS);
      case "reject_unlisted_recipient":
        if (!req.recipient || ev.state.recipientMapChecked) return DUNNO;
        if (ev.state.warnIfReject === 0) ev.state.recipientMapChecked = true;
        return this.#rcptMaps(ev, req.recipient, RECIPIENT_CLASS);
    }
  }

  // --- access(5) tables --------------------------------------------------------

  async #access(step: { check: AccessCheck; table: LookupTable }, ev: Eval, scope: Scope) {
    const { req } = ev;
    const s = this.#s;
    const find = (name: string, keys: SearchKey[], replyClass: string, outer: Scope) =>
      this.#tableFind(step.table, keys, ev, { ...outer, replyName: name, replyClass }, step.check);
    switch (step.check) {
      case "check_client_access": {
        // access(5) "HOST NAME/ADDRESS PATTERNS" (check_namadr_access): the host
        // name and its parents, then the address and its networks.
        const host = (req.clientHostname || "unknown").toLowerCase();
        const namaddr = clientNamaddr(req);
        const byName = await find(
          namaddr,
          domainKeys(host, s.accessParentMatches),
          "Client host",
          scope,
        );
        if (byName !== undefined) return byName;
        return (await find(namaddr, ipKeys(req.clientAddress), "Client host", scope)) ?? DUNNO;
      }
      case "check_helo_access":
        if (req.helo === undefined) return DUNNO;
        return (await find(
          req.helo,
          domainKeys(req.helo, s.accessParentMatches),
          "Helo command",
          scope,
        )) ??
          DUNNO;
      case "check_sender_access":
        if (req.sender === undefined) return DUNNO;
        if (req.sender === "") {
          // The null sender is looked up as smtpd_null_access_lookup_key.
          return (await find(
            "",
            [{ key: s.nullAccessKey, partial: false }],
            SENDER_CLASS,
            scope,
          )) ??
            DUNNO;
        }
        return (await find(req.sender, this.#mailKeys(req.sender), SENDER_CLASS, scope)) ?? DUNNO;
      case "check_recipient_access": {
        if (req.recipient === undefined) return DUNNO;
        const outcome = await find(
          req.recipient,
          this.#mailKeys(req.recipient),
          RECIPIENT_CLASS,
          scope,
        );
        // check_mail_access(): OK never passes a source-routed recipient (allow_untrusted_routing=no).
        if (outcome?.kind === "ok" && isRouted(req.recipient)) return DUNNO;
        return outcome ?? DUNNO;
      }
    }
  }

  // access(5) "EMAIL ADDRESS PATTERNS" / "EMAIL ADDRESS EXTENSION":
  // user+foo@domain, user@domain, domain (and parents), user+foo@, user@.
  #mailKeys(address: string): SearchKey[] {
    return accessAddressKeys(this.#canonical(address).address, {
      parentMatches: this.#s.accessParentMatches,
      recipientDelimiter: this.#s.recipientDelimiter,
      ownerRequestSpecial: this.#s.ownerRequestSpecial,
    });
  }

  /** Looks `keys` up in order; undefined when nothing matched (Postfix "not found"). */
  async #tableFind(
    table: LookupTable,
    keys: SearchKey[],
    ev: Eval,
    scope: Scope,
    check: AccessCheck,
  ): Promise<Outcome | undefined> {
    let value: string | undefined;
    // The route explainer (facteur route) lists every access key tried.
    const onLookup = tracing()
      ? (t: LookupTable, key: string, v?: string) => traceLookup(check, t.spec, key, v)
      : undefined;
    try {
      value = (await searchTables([table], keys, onLookup))?.value;
    } catch (e) {
      this.#log(`warning: ${table.spec}: table lookup failed: ${(e as Error).message}`);
      // smtpd_check.c check_access(): a failed lookup reads as this table result.
      value = "451 4.3.5 Server configuration error";
    }
    if (value === undefined) return undefined;
    return await this.#tableResult(value, table.spec, ev, scope);
  }

  // check_table_result(): what an access(5) value means.
  async #tableResult(value: string, table: string, ev: Eval, scope: Scope): Promise<Outcome> {
    const s = this.#s;
    const cmdLen = value.search(/[ \t]|$/);
    const cmd = value.slice(0, cmdLen);
    const text = value.slice(cmdLen).replace(/^\s+/, "");
    const word = cmd.toUpperCase();
    const rejected = (what: string) =>
      `<${scope.replyName}>: ${scope.replyClass} rejected: ${what}`;
    switch (word) {
      case "DUNNO":
        return DUNNO;
      case "REJECT":
      case "DEFER": {
        const reject = word === "REJECT";
        const [dsn, why] = splitDsn(reject ? "5.7.1" : "4.7.1", text);
        const code = reject ? s.accessMapRejectCode : s.accessMapDeferCode;
        return this.#reject(
          ev,
          code,
          fixDsn(dsn, scope.replyClass),
          rejected(why || "Access denied"),
        );
      }
      case "DEFER_IF_PERMIT":
      case "DEFER_IF_REJECT": {
        const [dsn, why] = splitDsn("4.7.1", text);
        const reply = rejected(why || "Service unavailable");
        const fixed = fixDsn(dsn, scope.replyClass);
        return word === "DEFER_IF_PERMIT"
          ? this.#deferIfPermit(ev, "defer_if_permit", s.accessMapDeferCode, fixed, reply)
          : this.#deferIf(ev, "reject", s.accessMapDeferCode, fixed, reply);
      }
      case "INFO":
      case "WARN":
        this.#logWhatsup(ev.req, word.toLowerCase(), text);
        return DUNNO;
    }
    if (UNSUPPORTED_ACTIONS.has(word)) {
      // Ignoring these would deliver mail the table says to hold, filter or
      // discard; a temporary error keeps it with the client until configured.
      this.#log(`warning: access table ${table}: action ${word} is not supported by facteur yet`);
      this.#serverError(ev);
    }
    // access(5): "An all-numerical result is treated as OK."
    if (/^\d*$/.test(value)) return OK;
    if (cmd.length === 3 && text !== "" && /^[45]\d\d$/.test(cmd)) {
      const [dsn, why] = splitDsn(`${cmd[0]}.7.1`, text);
      return this.#reject(
        ev,
        Number(cmd),
        fixDsn(dsn, scope.replyClass),
        rejected(why || "Access denied"),
      );
    }
    if (word === "OK" || word === "RELAY") return OK;
    if (value.includes(":")) {
      this.#log(`warning: access table ${table} has entry with lookup table: ${value}`);
      this.#log("warning: do not specify lookup tables inside SMTPD access maps");
      this.#serverError(ev);
    }
    if (ev.state.recursion > MAX_RECURSION) {
      this.#log(`warning: access table ${table} entry ${value} causes unreasonable recursion`);
      this.#serverError(ev);
    }
    // access(5) "restriction...": the value is itself a restriction list.
    let list: RestrictionList;
    try {
      list = compileRestrictions(
        `access table ${table}`,
        splitRestrictions(value),
        scope.stage,
        undefined,
      );
    } catch (e) {
      this.#log(`warning: ${(e as Error).message}`);
      this.#serverError(ev);
    }
    if (list.steps.length === 0) return OK;
    return await this.#generic(list.steps, ev, scope);
  }

  // --- Relay control -----------------------------------------------------------

  /** permit_auth_destination(): the recipient domain is ours or one we relay to. */
  async #authorizedDestination(ev: Eval, recipient: string): Promise<boolean> {
    const { domain } = this.#canonical(recipient);
    // allow_untrusted_routing=no: user%host@ours, host!user@ours are not ours.
    if (isRouted(recipient)) return false;
    const cls = await this.#lookup(
      ev,
      recipient,
      () => this.#deps.rewrite.domainClass(domain),
    );
    return cls !== "default";
  }

  /**
   * The form Postfix looks addresses up in (trivial-rewrite "local" context):
   * a bare "user" is user@$myorigin (append_at_myorigin), the domain loses a
   * trailing dot and is lower-cased.
   */
  #canonical(address: string): { local: string; domain: string; address: string } {
    const parts = splitAddress(address);
    const local = parts?.local ?? address;
    const domain = parts ? cleanDomain(parts.domain) : this.#s.myorigin;
    return { local, domain, address: `${local}@${domain}` };
  }

  // --- Recipient tables ----------------------------------------------------------

  // check_rcpt_maps(): unknown users in our domains. postmaster and
  // MAILER-DAEMON of local domains are always known (RFC 5321 4.5.1).
  async #rcptMaps(ev: Eval, address: string, replyClass: string): Promise<Outcome> {
    const { local, domain } = this.#canonical(address);
    if (/^(postmaster|mailer-daemon)$/i.test(local)) {
      const cls = await this.#lookup(
        ev,
        address,
        () => this.#deps.rewrite.domainClass(domain),
      );
      if (cls === "local") return DUNNO;
    }
    const err = await this.#lookup(ev, address, () => this.#deps.rewrite.checkRecipient(address));
    if (!err) return DUNNO;
    if (replyClass !== SENDER_CLASS) {
      return this.#reject(ev, err.code, fixDsn(err.enhanced, replyClass), err.message, "bounce");
    }
    // The same check for a sender says so, and "unknown user" is X.1.0 there.
    const text = err.message.replace(
      `: ${RECIPIENT_CLASS} rejected:`,
      `: ${SENDER_CLASS} rejected:`,
    );
    const dsn = /^\d\.1\.1$/.test(err.enhanced)
      ? err.enhanced.replace(/1$/, "0")
      : fixDsn(err.enhanced, replyClass);
    return this.#reject(ev, err.code, dsn, text, "bounce");
  }

  // --- Syntax and DNS checks -------------------------------------------------------

  // reject_invalid_hostaddr(): "[...]" must hold a valid address literal.
  #invalidHostaddr(ev: Eval, helo: string): Outcome {
    const inner = helo.length > 2 && helo.endsWith("]") ? helo.slice(1, -1) : helo;
    if (validMailhostAddr(inner)) return DUNNO;
    return this.#reject(
      ev,
      this.#s.invalidHostnameRejectCode,
      "5.5.2",
      `<${helo}>: Helo command rejected: invalid ip address`,
    );
  }

  // reject_non_fqdn_address()
  #nonFqdnAddress(ev: Eval, address: string, replyClass: string): Outcome {
    const domain = splitAddress(address)?.domain ?? "";
    if (domain.startsWith("[") && domain.endsWith("]")) return DUNNO;
    const name = dropTrailingDot(domain);
    if (name !== "" && validUtf8Hostname(name) && name.includes(".")) return DUNNO;
    return this.#reject(
      ev,
      this.#s.nonFqdnRejectCode,
      "4.5.2",
      `<${address}>: ${replyClass} rejected: need fully-qualified address`,
    );
  }

  // reject_unknown_address() + reject_unknown_mailhost()
  async #unknownAddress(ev: Eval, address: string, replyClass: string): Promise<Outcome> {
    const { domain } = this.#canonical(address);
    if (domain.startsWith("[") && domain.endsWith("]")) return DUNNO;
    const cls = await this.#lookup(ev, address, () => this.#deps.rewrite.domainClass(domain));
    if (FINAL_CLASSES.includes(cls)) return DUNNO;
    const sender = replyClass === SENDER_CLASS;
    const result = await this.#resolve(domain, ["MX", "A", "AAAA"]);
    const rejected = (what: string) => `<${address}>: ${replyClass} rejected: ${what}`;
    switch (result) {
      case "found":
        return DUNNO;
      case "nullmx": // RFC 7505 3.
        return this.#reject(
          ev,
          sender ? 550 : 556,
          sender ? "4.7.27" : "4.1.10",
          rejected(`Domain ${domain} does not accept mail (nullMX)`),
        );
      case "notfound":
        return this.#reject(
          ev,
          this.#s.unknownAddressRejectCode,
          sender ? "4.1.8" : "4.1.2",
          rejected("Domain not found"),
        );
      case "retry":
        return this.#deferIfPermit(
          ev,
          this.#s.unknownAddressTempfail,
          450,
          sender ? "4.1.8" : "4.1.2",
          rejected("Domain not found"),
        );
    }
  }

  // reject_unknown_hostname(): the HELO name needs an A, AAAA or MX record.
  async #unknownHelo(ev: Eval, helo: string): Promise<Outcome> {
    const result = await this.#resolve(helo, ["A", "AAAA", "MX"]);
    if (result === "found" || result === "nullmx") return DUNNO;
    const text = `<${helo}>: Helo command rejected: Host not found`;
    if (result === "notfound") {
      return this.#reject(ev, this.#s.unknownHostnameRejectCode, "4.7.1", text);
    }
    return this.#deferIfPermit(ev, this.#s.unknownHeloTempfail, 450, "4.7.1", text);
  }

  async #resolve(
    name: string,
    types: ("A" | "AAAA" | "MX")[],
  ): Promise<"found" | "nullmx" | "notfound" | "retry"> {
    const ascii = /^[\x00-\x7f]*$/.test(name) ? name : domainToASCII(name);
    if (ascii === "") return "notfound";
    let retry = false;
    for (const type of types) {
      try {
        const records = await this.#dns(ascii, type);
        if (records.length === 0) continue;
        // RFC 7505: a single MX of "." means "no mail here".
        if (type === "MX" && records.length === 1 && /^\.?$/.test(records[0])) return "nullmx";
        return "found";
      } catch (e) {
        if ((e as Error)?.name !== "NotFound") retry = true;
      }
    }
    return retry ? "retry" : "notfound";
  }

  // --- Replies -----------------------------------------------------------------

  /** Runs a table/rewrite/DNS-backed lookup; failures end the check like Postfix. */
  async #lookup<T>(ev: Eval, replyName: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      if (e instanceof Abort) throw e;
      this.#log(`warning: lookup for ${replyName} failed: ${(e as Error).message}`);
      if (e instanceof ConfigError) this.#serverError(ev);
      // reject_dict_retry()
      throw new Abort(
        this.#reject(ev, 451, "4.3.0", `<${replyName}>: Temporary lookup failure`, "data"),
      );
    }
  }

  // reject_server_error()
  #serverError(ev: Eval): never {
    throw new Abort(this.#reject(ev, 451, "4.3.5", "Server configuration error", "software"));
  }

  // DEFER_IF_PERMIT*(): postpone unless warning only or the action is "defer".
  #deferIfPermit(
    ev: Eval,
    action: TempfailAction,
    code: number,
    dsn: string,
    text: string,
  ): Outcome {
    if (ev.state.warnIfReject === 0 && action === "defer_if_permit") {
      return this.#deferIf(ev, "permit", code, dsn, text);
    }
    return this.#reject(ev, code, dsn, text);
  }

  // defer_if(): remember the first reason.
  #deferIf(ev: Eval, which: "permit" | "reject", code: number, dsn: string, text: string): Outcome {
    const key = which === "permit" ? "deferIfPermit" : "deferIfReject";
    ev.state[key] ??= { code, dsn, text };
    return DUNNO;
  }

  // smtpd_check_reject()
  #reject(
    ev: Eval,
    code: number,
    dsn: string,
    text: string,
    errorClass: "policy" | "bounce" | "software" | "data" = "policy",
  ): Outcome {
    const { state, req } = ev;
    // Configuration and lookup errors cannot be turned into warnings.
    const warn = state.warnIfReject > 0 && (errorClass === "policy" || errorClass === "bounce");
    let line = `${code} ${dsn} ${text}`;
    if (code < 400 || code > 599 || !DSN.test(dsn)) {
      this.#log(`warning: SMTP reply code or DSN configuration error: ${line}`);
      line = "450 4.7.1 Service unavailable";
    }
    // RFC 5321 4.5.3.1.5: reply lines are at most 512 octets with CRLF.
    line = line.slice(0, 510).replace(/[\x00-\x1f\x7f]/g, " ");
    const deferral = state.deferIfReject;
    if (!warn && deferral && line[0] === "5") {
      state.warnIfReject = 0;
      state.deferIfReject = undefined;
      return this.#reject(ev, deferral.code, deferral.dsn, deferral.text, "policy");
    }
    if (this.#s.softBounce && line[0] === "5") line = "4" + line.slice(1);
    // The enhanced code's class follows the reply code (RFC 3463 3.).
    line = line.slice(0, 4) + line[0] + line.slice(5);
    // The session logs the reject it sends ("NOQUEUE: reject: ..."); only
    // warnings are logged here.
    if (warn) {
      this.#logWhatsup(req, "reject_warning", line);
      return DUNNO;
    }
    const space = line.indexOf(" ", 4);
    return {
      kind: "reject",
      error: new MailError(Number(line.slice(0, 3)), line.slice(4, space), line.slice(space + 1)),
    };
  }

  // log_whatsup(): "NOQUEUE: reject: RCPT from host[addr]: 554 ...; from=<> to=<> proto=ESMTP helo=<>"
  #logWhatsup(req: CheckRequest, whatsup: string, text: string) {
    let line = `NOQUEUE: ${whatsup}: ${req.where} from ${clientNamaddr(req)}: ${text};`;
    if (req.sender !== undefined) line += ` from=<${req.sender}>`;
    if (req.recipient !== undefined) line += ` to=<${req.recipient}>`;
    line += ` proto=${req.esmtp ? "ESMTP" : "SMTP"}`;
    if (req.helo !== undefined) line += ` helo=<${req.helo}>`;
    this.#log(line);
  }
}

/** "name[address]" as Postfix writes a client; "unknown" when there is no verified name. */
export function clientNamaddr(req: Pick<CheckRequest, "clientAddress" | "clientHostname">): string {
  return `${req.clientHostname || "unknown"}[${req.clientAddress}]`;
}

/** A recipient with routing in its local part (user%host@, host!user@, "a@b"@). */
function isRouted(address: string): boolean {
  const parts = splitAddress(address);
  return parts !== undefined && /[@%!]/.test(parts.local);
}
