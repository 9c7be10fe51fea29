/**
 * The SMTP server's access policy: which client, HELO name, sender and
 * recipient it accepts, and when (postconf(5) smtpd_*_restrictions,
 * smtpd_delay_reject, smtpd_reject_unlisted_recipient; SMTPD_ACCESS_README).
 * The stage drivers follow Postfix's smtpd_check_client/helo/mail/rcpt/
 * data/eod; the restriction lists themselves run in restrictions.ts.
 *
 * The session calls one hook per SMTP stage, after storing what the client
 * sent in the context (ctx.helo before onHelo, ctx.sender before onMail,
 * ctx.recipient before onRcpt); a MailError is the reply to send instead of
 * the positive one. 421 and 521 replies mean "then disconnect" (access(5)).
 * The session logs the rejections it sends; warn_if_reject, INFO and WARN
 * lines and table warnings are logged here, Postfix style.
 */
import { ConfigError, type MailError } from "../errors.ts";
import { type Config, PARAMETERS } from "../config/mod.ts";
import { logger } from "../log.ts";
import { normalizeAddress } from "../maps/ip.ts";
import { compileNetworks, type NetworkMatcher, type OpenTable } from "../maps/networks.ts";
import {
  type CheckRequest,
  clientNamaddr,
  type Deferral,
  type DnsLookup,
  hasRelayProtection,
  newCheckState,
  type Outcome,
  type RecipientRewriter,
  relayProtectionMessage,
  RestrictionEngine,
  type RestrictionList,
  type RestrictionSettings,
  type Stage,
  type TempfailAction,
  type Where,
} from "./restrictions.ts";
import type { SmtpdContext, SmtpdPolicy } from "./types.ts";

export { compileNetworks, matchNetworks, type NetworkMatcher } from "../maps/networks.ts";
export type { DnsLookup, DomainClass, RecipientRewriter } from "./restrictions.ts";
export type { SmtpdContext, SmtpdPolicy } from "./types.ts";

export interface PolicyDeps {
  openTable: OpenTable;
  rewrite: RecipientRewriter;
  /** DNS for reject_unknown_*_domain / reject_unknown_helo_hostname (default Deno.resolveDns). */
  dns?: DnsLookup;
  /** Log sink (default: the smtpd logger). */
  log?: (text: string) => void;
}

const LIST_PARAMS: Record<Stage, string> = {
  client: "smtpd_client_restrictions",
  helo: "smtpd_helo_restrictions",
  sender: "smtpd_sender_restrictions",
  relay: "smtpd_relay_restrictions",
  recipient: "smtpd_recipient_restrictions",
  data: "smtpd_data_restrictions",
  end_of_data: "smtpd_end_of_data_restrictions",
};

/** Postfix keeps the defer_if_permit flag of earlier stages per session. */
interface SessionDeferrals {
  client?: Deferral;
  helo?: Deferral;
  sender?: Deferral;
}

export class Policy implements SmtpdPolicy {
  /** The compiled mynetworks list (permit_mynetworks), for the session's own uses. */
  readonly mynetworks: NetworkMatcher;
  readonly #engine: RestrictionEngine;
  readonly #lists: Record<Stage, RestrictionList>;
  readonly #delayReject: boolean;
  readonly #rejectUnlistedRecipient: boolean;
  readonly #rejectUnlistedSender: boolean;
  readonly #sessions = new WeakMap<SmtpdContext, SessionDeferrals>();

  /** Validates everything up front: a bad list or table is a ConfigError at startup. */
  constructor(config: Config, deps: PolicyDeps) {
    const read = new Reader(config);
    const parents = config.list("parent_domain_matches_subdomains");
    this.mynetworks = compileNetworks(config.list("mynetworks"), {
      openTable: deps.openTable,
      parentMatchesSubdomains: parents.includes("mynetworks"),
      param: "mynetworks",
      file: config.file,
    });
    this.#engine = new RestrictionEngine(read.settings(parents), {
      openTable: deps.openTable,
      rewrite: deps.rewrite,
      mynetworks: this.mynetworks,
      dns: deps.dns,
      log: deps.log ?? logger("smtpd"),
    });
    const lists = {} as Record<Stage, RestrictionList>;
    for (const [stage, param] of Object.entries(LIST_PARAMS) as [Stage, string][]) {
      lists[stage] = this.#engine.compile(param, config.get(param), stage, config.file);
    }
    this.#lists = lists;
    // smtpd_check_init(): refuse to run as an open relay.
    if (!hasRelayProtection(lists.relay) && !hasRelayProtection(lists.recipient)) {
      throw new ConfigError(relayProtectionMessage(), {
        file: config.file,
        param: "smtpd_relay_restrictions",
      });
    }
    this.#delayReject = config.bool("smtpd_delay_reject");
    this.#rejectUnlistedRecipient = config.bool("smtpd_reject_unlisted_recipient");
    this.#rejectUnlistedSender = read.bool("smtpd_reject_unlisted_sender", false);
  }

  // With smtpd_delay_reject=yes (the default) client, HELO and sender
  // restrictions wait for RCPT TO, as in Postfix.

  async onConnect(ctx: SmtpdContext): Promise<MailError | undefined> {
    if (this.#delayReject) return undefined;
    return await this.#client(this.#request(ctx, "CONNECT"), this.#flags(ctx));
  }

  async onHelo(ctx: SmtpdContext): Promise<MailError | undefined> {
    if (this.#delayReject) return undefined;
    return await this.#helo(this.#request(ctx, ctx.esmtp ? "EHLO" : "HELO"), this.#flags(ctx));
  }

  async onMail(ctx: SmtpdContext): Promise<MailError | undefined> {
    if (this.#delayReject) return undefined;
    return await this.#mail(this.#request(ctx, "MAIL"), this.#flags(ctx));
  }

  // smtpd_check_rcpt()
  async onRcpt(ctx: SmtpdContext): Promise<MailError | undefined> {
    const recipient = ctx.recipient;
    if (recipient === undefined) return undefined;
    // RFC 5321 4.5.1: "postmaster" without a domain is always accepted.
    if (recipient.toLowerCase() === "postmaster") return undefined;
    const req = this.#request(ctx, "RCPT");
    const flags = this.#flags(ctx);
    if (this.#delayReject) {
      const early = (await this.#client(req, flags)) ?? (await this.#helo(req, flags)) ??
        (await this.#mail(req, flags));
      if (early) return early;
    }
    const state = newCheckState(flags.sender);
    let outcome: Outcome = { kind: "dunno" };
    // smtpd_relay_before_recipient_restrictions=yes: relay control first; both must pass.
    for (const list of [this.#lists.relay, this.#lists.recipient]) {
      outcome = await this.#engine.run(list, req, state, recipient);
      if (outcome.kind === "reject") break;
    }
    outcome = this.#engine.finishDeferIfPermit(outcome, req, state);
    if (
      this.#rejectUnlistedRecipient && outcome.kind !== "reject" && !state.recipientMapChecked
    ) {
      outcome = await this.#engine.unlisted(recipient, "Recipient address", req, state);
    }
    return rejection(outcome);
  }

  // smtpd_check_data()
  async onData(ctx: SmtpdContext): Promise<MailError | undefined> {
    return await this.#afterRecipients(ctx, "DATA", this.#lists.data);
  }

  // smtpd_check_eod()
  async onEndOfData(ctx: SmtpdContext): Promise<MailError | undefined> {
    return await this.#afterRecipients(ctx, "END-OF-MESSAGE", this.#lists.end_of_data);
  }

  async #afterRecipients(ctx: SmtpdContext, where: Where, list: RestrictionList) {
    const req = this.#request(ctx, where);
    // smtpd_check_data(): no recipient is named when there are several; the
    // check is for all of them.
    req.recipient = ctx.recipients.length === 1 ? ctx.recipients[0] : undefined;
    const state = newCheckState();
    const outcome = await this.#engine.run(list, req, state, where);
    return rejection(this.#engine.finishDeferIfPermit(outcome, req, state));
  }

  // smtpd_check_client()
  async #client(req: CheckRequest, flags: SessionDeferrals) {
    const state = newCheckState();
    const outcome = await this.#engine.run(this.#lists.client, req, state, clientNamaddr(req));
    flags.client = state.deferIfPermit;
    return rejection(outcome);
  }

  // smtpd_check_helo()
  async #helo(req: CheckRequest, flags: SessionDeferrals) {
    if (req.helo === undefined) return undefined;
    const state = newCheckState(flags.client);
    const outcome = await this.#engine.run(this.#lists.helo, req, state, req.helo);
    flags.helo = state.deferIfPermit;
    return rejection(outcome);
  }

  // smtpd_check_mail()
  async #mail(req: CheckRequest, flags: SessionDeferrals) {
    if (req.sender === undefined) return undefined;
    const state = newCheckState(flags.helo ?? flags.client);
    let outcome = await this.#engine.run(this.#lists.sender, req, state, req.sender);
    flags.sender = state.deferIfPermit;
    if (
      this.#rejectUnlistedSender && outcome.kind !== "reject" && !state.senderMapChecked &&
      req.sender !== ""
    ) {
      outcome = await this.#engine.unlisted(req.sender, "Sender address", req, state);
    }
    return rejection(outcome);
  }

  #request(ctx: SmtpdContext, where: Where): CheckRequest {
    return {
      where,
      clientAddress: normalizeAddress(ctx.client.address),
      clientHostname: ctx.client.hostname,
      helo: ctx.helo,
      sender: ctx.sender,
      recipient: ctx.recipient,
      saslUser: ctx.saslUser,
      esmtp: ctx.esmtp,
    };
  }

  #flags(ctx: SmtpdContext): SessionDeferrals {
    let flags = this.#sessions.get(ctx);
    if (!flags) this.#sessions.set(ctx, flags = {});
    return flags;
  }
}

function rejection(outcome: Outcome): MailError | undefined {
  return outcome.kind === "reject" ? outcome.error : undefined;
}

/**
 * Reads the settings, with Postfix's defaults for parameters facteur's
 * parameter table does not list (yet): those cannot be set, so the default
 * is the only possible value.
 */
class Reader {
  constructor(readonly config: Config) {}

  settings(parents: string[]): RestrictionSettings {
    const c = this.config;
    return {
      accessMapRejectCode: this.code("access_map_reject_code", 554),
      accessMapDeferCode: this.code("access_map_defer_code", 450),
      relayDomainsRejectCode: this.code("relay_domains_reject_code", 554),
      rejectCode: this.code("reject_code", 554),
      deferCode: this.code("defer_code", 450),
      nonFqdnRejectCode: this.code("non_fqdn_reject_code", 504),
      invalidHostnameRejectCode: this.code("invalid_hostname_reject_code", 501),
      unknownAddressRejectCode: this.code("unknown_address_reject_code", 450),
      unknownHostnameRejectCode: this.code("unknown_hostname_reject_code", 450),
      unknownAddressTempfail: this.tempfail("unknown_address_tempfail_action"),
      unknownHeloTempfail: this.tempfail("unknown_helo_hostname_tempfail_action"),
      nullAccessKey: c.get("smtpd_null_access_lookup_key"),
      accessParentMatches: parents.includes("smtpd_access_maps"),
      recipientDelimiter: c.get("recipient_delimiter"),
      ownerRequestSpecial: c.bool("owner_request_special"),
      myorigin: c.get("myorigin"),
      softBounce: c.bool("soft_bounce"),
    };
  }

  bool(name: string, fallback: boolean): boolean {
    return name in PARAMETERS ? this.config.bool(name) : fallback;
  }

  code(name: string, fallback: number): number {
    if (!(name in PARAMETERS)) return fallback;
    const value = this.config.get(name).trim();
    if (!/^[45]\d\d$/.test(value)) throw this.#bad(name, value, "an SMTP reply code 4xx or 5xx");
    return Number(value);
  }

  // postconf(5) unknown_address_tempfail_action: default $reject_tempfail_action = defer_if_permit.
  tempfail(name: string): TempfailAction {
    if (!(name in PARAMETERS)) return "defer_if_permit";
    const value = this.config.get(name).trim();
    if (value !== "defer_if_permit" && value !== "defer") {
      throw this.#bad(name, value, '"defer_if_permit" or "defer"');
    }
    return value;
  }

  #bad(name: string, value: string, expected: string) {
    return new ConfigError(`parameter "${name}" = "${value}" is invalid: expected ${expected}`, {
      file: this.config.file,
      param: name,
    });
  }
}
