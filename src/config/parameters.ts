/**
 * The main.cf parameters facteur implements: name, kind, Postfix default and
 * a one-line meaning. Names and defaults are postconf(5)'s, at
 * compatibility_level 3.6 (the defaults a fresh Postfix install uses).
 * Parameters facteur adds follow the same naming style.
 */

import { VERSION } from "../version.ts";

export type ParamKind =
  | "string" // free text, $name expanded
  | "list" // whitespace/comma separated; a TOML array is accepted too
  | "time" // number + unit s, m, h, d, w; a bare number uses the parameter's unit
  | "int" // integer >= 0
  | "bool" // yes/no (TOML true/false accepted)
  | "code" // SMTP reply code, 4xx or 5xx
  | "path"; // file-system path; relative paths are taken from the config file's directory

export interface ParamSpec {
  kind: ParamKind;
  /** Postfix's default, unexpanded, or computed from the host and other parameters. */
  default: string | ((get: (name: string) => string) => string);
  doc: string;
  /** Default unit for a bare number (postconf(5): "time units"). */
  unit?: "s" | "m" | "h" | "d" | "w";
  /** Names expanded at use time by a daemon, not at load time (e.g. $user in forward_path). */
  runtimeVars?: string[];
  /** The only values allowed, when the parameter is an enumeration. */
  choices?: string[];
  /** Further syntax: undefined when `value` is fine, else what was expected. */
  check?: (value: string) => string | undefined;
}

/** postconf(5) default_destination_concurrency_positive_feedback: "N" or "N/concurrency". */
export function checkFeedback(value: string): string | undefined {
  return parseFeedback(value) ? undefined : 'a number or "number/concurrency", such as "1"';
}

/** Concurrency feedback: `value`, divided by the window when `perConcurrency`. */
export interface Feedback {
  value: number;
  perConcurrency: boolean;
}

export function parseFeedback(text: string): Feedback | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(?:\/\s*(concurrency|\d+(?:\.\d+)?))?\s*$/.exec(text);
  if (!m) return undefined;
  const value = Number(m[1]);
  if (m[2] === undefined) return { value, perConcurrency: false };
  if (m[2] === "concurrency") return { value, perConcurrency: true };
  const divisor = Number(m[2]);
  return divisor > 0 ? { value: value / divisor, perConcurrency: false } : undefined;
}

function hostName(): string {
  try {
    const name = Deno.hostname();
    // postconf(5) myhostname: the fully-qualified domain name; Postfix appends .localdomain
    // to a bare name when it cannot find a domain.
    return name.includes(".") ? name : `${name}.localdomain`;
  } catch {
    return "localhost.localdomain";
  }
}

const p = (
  kind: ParamKind,
  def: ParamSpec["default"],
  doc: string,
  extra: Partial<ParamSpec> = {},
) => ({ kind, default: def, doc, ...extra }) satisfies ParamSpec;

export const PARAMETERS: Readonly<Record<string, ParamSpec>> = {
  // Identity. postconf(5) myhostname, mydomain, myorigin.
  myhostname: p("string", () => hostName(), "fully-qualified name of this mail host"),
  // postconf(5) mydomain: "$myhostname minus the first component", or localdomain.
  mydomain: p(
    "string",
    (get) => get("myhostname").split(".").slice(1).join(".") || "localdomain",
    "internet domain of this host",
  ),
  myorigin: p("string", "$myhostname", "domain appended to unqualified sender addresses"),
  mail_name: p("string", "facteur", "mail system name in the SMTP greeting and Received headers"),
  mail_version: p("string", VERSION, "version of facteur (read only)"),
  smtpd_banner: p("string", "$myhostname ESMTP $mail_name", "text after 220 in the greeting"),
  compatibility_level: p("string", "3.6", "Postfix compatibility level facteur's defaults follow"),

  // Destinations and networks.
  mydestination: p(
    "list",
    "$myhostname, localhost.$mydomain, localhost",
    "domains delivered by the local transport",
  ),
  mynetworks: p("list", "127.0.0.0/8 [::1]/128", "trusted client networks (CIDR)"),
  inet_interfaces: p("list", "all", "addresses services listen on: all, loopback-only, or list"),
  inet_protocols: p("list", "all", "ipv4, ipv6 or all"),
  relay_domains: p("list", "", "domains this host relays mail to"),
  relay_recipient_maps: p("list", "", "valid recipients in relay_domains (empty: all)"),
  parent_domain_matches_subdomains: p(
    "list",
    "debug_peer_list,fast_flush_domains,mynetworks,permit_mx_backup_networks," +
      "qmqpd_authorized_clients,relay_domains,smtpd_access_maps",
    "features where example.com also matches sub.example.com",
  ),
  recipient_delimiter: p("string", "", "separator(s) between user and extension (user+ext)"),

  // Local delivery. local(8), aliases(5).
  alias_maps: p("list", "hash:/etc/aliases", "alias tables for the local transport"),
  alias_database: p("list", "hash:/etc/aliases", "alias tables built by newaliases"),
  local_recipient_maps: p(
    "list",
    "proxy:unix:passwd.byname $alias_maps",
    "valid local recipients; empty accepts any local address",
  ),
  local_transport: p("string", "local:$myhostname", "transport for mydestination domains"),
  home_mailbox: p("string", "", "mailbox path relative to home; trailing / = Maildir"),
  local_home_base: p(
    "path",
    "$data_directory/home",
    "facteur: home directories of local users who are not system accounts",
  ),
  mail_spool_directory: p("path", "/var/mail", "mbox spool; trailing / = Maildir"),
  mailbox_size_limit: p("int", "51200000", "max size in bytes of a mailbox or Maildir message"),
  message_size_limit: p("int", "10240000", "max size in bytes of a message, envelope included"),
  allow_mail_to_commands: p("list", "alias, forward", "where |command deliveries are allowed"),
  allow_mail_to_files: p("list", "alias, forward", "where /file deliveries are allowed"),
  owner_request_special: p("bool", "yes", "treat owner-x and x-request specially"),
  unknown_local_recipient_reject_code: p("code", "550", "reply code for an unknown local user"),
  luser_relay: p("string", "", "destination for unknown local recipients", {
    runtimeVars: ["user", "extension", "domain", "local", "recipient", "recipient_delimiter"],
  }),

  // Virtual domains. virtual(5), virtual(8).
  virtual_alias_maps: p("list", "", "address rewriting to other addresses"),
  virtual_alias_domains: p("list", "$virtual_alias_maps", "domains that only hold aliases"),
  virtual_alias_recursion_limit: p("int", "1000", "max nesting of virtual alias expansion"),
  virtual_alias_expansion_limit: p("int", "1000", "max addresses one virtual alias expands to"),
  virtual_mailbox_domains: p("list", "$virtual_mailbox_maps", "domains with virtual mailboxes"),
  virtual_mailbox_base: p("path", "", "prefix for paths in virtual_mailbox_maps"),
  virtual_mailbox_maps: p("list", "", "recipient → mailbox path (trailing / = Maildir)"),
  virtual_mailbox_limit: p("int", "51200000", "max size in bytes of a virtual mailbox"),
  virtual_transport: p("string", "virtual", "transport for virtual_mailbox_domains"),
  unknown_virtual_mailbox_reject_code: p("code", "550", "reply code for an unknown virtual user"),
  unknown_virtual_alias_reject_code: p("code", "550", "reply code for an unknown virtual alias"),
  unknown_relay_recipient_reject_code: p("code", "550", "reply code for an unknown relay user"),

  // smtpd. smtpd(8).
  smtpd_recipient_restrictions: p("list", "", "restrictions applied at RCPT TO"),
  smtpd_relay_restrictions: p(
    "list",
    "permit_mynetworks, permit_sasl_authenticated, defer_unauth_destination",
    "relay control, applied at RCPT TO before smtpd_recipient_restrictions",
  ),
  smtpd_client_restrictions: p("list", "", "restrictions applied at connect"),
  smtpd_helo_restrictions: p("list", "", "restrictions applied at HELO/EHLO"),
  smtpd_sender_restrictions: p("list", "", "restrictions applied at MAIL FROM"),
  smtpd_data_restrictions: p("list", "", "restrictions applied at DATA"),
  smtpd_end_of_data_restrictions: p("list", "", "restrictions applied at end of data"),
  smtpd_delay_reject: p("bool", "yes", "apply client/helo/sender restrictions at RCPT TO"),
  smtpd_helo_required: p("bool", "no", "require HELO/EHLO before MAIL"),
  smtpd_peername_lookup: p("bool", "yes", "look up the client's host name (else: unknown)"),
  smtpd_reject_unlisted_recipient: p("bool", "yes", "reject unknown recipients at RCPT TO"),
  smtpd_null_access_lookup_key: p("string", "<>", "access(5) key for the null sender"),
  access_map_reject_code: p("code", "554", "reply code for an access(5) REJECT"),
  access_map_defer_code: p("code", "450", "reply code for an access(5) DEFER"),
  relay_domains_reject_code: p("code", "554", "reply code for reject_unauth_destination"),
  unverified_recipient_reject_code: p("code", "450", "reply code for an unverified recipient"),
  reject_code: p("code", "554", "reply code for the reject restriction"),
  defer_code: p("code", "450", "reply code for the defer restriction"),
  non_fqdn_reject_code: p("code", "504", "reply code for reject_non_fqdn_*"),
  invalid_hostname_reject_code: p("code", "501", "reply code for reject_invalid_helo_hostname"),
  unknown_address_reject_code: p("code", "450", "reply code for reject_unknown_*_domain"),
  unknown_hostname_reject_code: p("code", "450", "reply code for reject_unknown_helo_hostname"),
  unknown_address_tempfail_action: p(
    "string",
    "$reject_tempfail_action",
    "action when a sender/recipient domain lookup fails temporarily",
  ),
  unknown_helo_hostname_tempfail_action: p(
    "string",
    "$reject_tempfail_action",
    "action when a HELO hostname lookup fails temporarily",
  ),
  reject_tempfail_action: p(
    "string",
    "defer_if_permit",
    "action for a temporary restriction failure",
  ),
  smtpd_reject_unlisted_sender: p("bool", "no", "reject unknown local sender addresses"),
  disable_vrfy_command: p("bool", "no", "disable VRFY entirely"),
  smtpd_timeout: p("time", "300s", "idle time allowed per client command", { unit: "s" }),
  smtpd_recipient_limit: p("int", "1000", "max recipients per message"),
  smtpd_recipient_overshoot_limit: p("int", "1000", "recipients over the limit before hard error"),
  smtpd_hard_error_limit: p("int", "20", "errors before the session is closed"),
  smtpd_soft_error_limit: p("int", "10", "errors before replies are delayed"),
  smtpd_error_sleep_time: p("time", "1s", "delay after an error past the soft limit", {
    unit: "s",
  }),
  smtpd_junk_command_limit: p("int", "100", "NOOP/VRFY/RSET/ETRN without a delivery before close"),
  smtpd_client_connection_count_limit: p("int", "50", "concurrent sessions per client address"),
  smtpd_client_connection_limit_exceptions: p(
    "list",
    "$mynetworks",
    "clients exempt from the per-client connection limit",
  ),
  smtpd_forbid_bare_newline: p(
    "string",
    "reject",
    "bare LF in SMTP data: reject (550 5.5.2), normalize (accept as line end), or no",
    { choices: ["reject", "normalize", "yes", "no"] },
  ),
  smtpd_forbid_bare_newline_exclusions: p("list", "$mynetworks", "clients exempt from the above"),
  smtpd_discard_ehlo_keywords: p("list", "", "EHLO keywords not announced"),
  smtpd_per_record_deadline: p("bool", "no", "smtpd_timeout per read rather than per command"),
  smtputf8_enable: p("bool", "yes", "announce and accept SMTPUTF8 (RFC 6531)"),
  strict_rfc821_envelopes: p("bool", "no", "require <> around MAIL/RCPT addresses"),
  line_length_limit: p("int", "2048", "max SMTP command or header line length stored"),
  header_size_limit: p("int", "102400", "max bytes of one message header"),
  hopcount_limit: p("int", "50", "max Received headers before the message is refused"),
  default_process_limit: p("int", "100", "max sessions of one service (master.cf maxproc)"),
  soft_bounce: p("bool", "no", "turn permanent failures into temporary ones"),

  // Routing. transport(5), ADDRESS_CLASS_README.
  relay_transport: p("string", "relay", "transport for relay_domains"),
  default_transport: p("string", "smtp", "transport for all other domains"),
  // postconf(5) relayhost: the nexthop for non-local mail (relay and default classes):
  // "[host]", "[host]:port" (no MX lookup), "domain" or "domain:port" (MX lookup); "" = direct.
  relayhost: p("string", "", "next-hop destination for non-local mail (empty: MX lookup)"),
  // postconf(5) transport_maps, transport(5): per-address/domain transport:nexthop overrides.
  transport_maps: p("list", "", "tables mapping recipients to transport:nexthop"),

  // Address rewriting: trivial-rewrite(8) "rewrite" context and cleanup(8). ADDRESS_REWRITING_README.
  append_at_myorigin: p("bool", "yes", 'append "@$myorigin" to addresses without a domain'),
  append_dot_mydomain: p("bool", "no", 'append ".$mydomain" to domains without a dot'),
  swap_bangpath: p("bool", "yes", 'rewrite "site!user" to "user@site"'),
  allow_percent_hack: p("bool", "yes", 'rewrite "user%domain" to "user@domain"'),
  canonical_maps: p("list", "", "address mapping for envelope and header sender and recipient"),
  sender_canonical_maps: p("list", "", "address mapping for envelope and header senders"),
  recipient_canonical_maps: p("list", "", "address mapping for envelope and header recipients"),
  canonical_classes: p(
    "list",
    "envelope_sender, envelope_recipient, header_sender, header_recipient",
    "what canonical_maps rewrites",
  ),
  sender_canonical_classes: p(
    "list",
    "envelope_sender, header_sender",
    "what sender_canonical_maps rewrites",
  ),
  recipient_canonical_classes: p(
    "list",
    "envelope_recipient, header_recipient",
    "what recipient_canonical_maps rewrites",
  ),
  masquerade_domains: p("list", "", "domains whose subdomains are hidden (! excludes)"),
  masquerade_exceptions: p("list", "", "user names never masqueraded"),
  masquerade_classes: p(
    "list",
    "envelope_sender, header_sender, header_recipient",
    "what address masquerading rewrites",
  ),
  propagate_unmatched_extensions: p(
    "list",
    "canonical, virtual",
    "where an address extension the table did not match is carried over",
  ),
  local_header_rewrite_clients: p(
    "list",
    "permit_inet_interfaces",
    "clients whose message headers are rewritten as local mail's",
  ),
  remote_header_rewrite_domain: p(
    "string",
    "",
    "domain for incomplete header addresses from other clients (empty: no rewriting)",
  ),
  relocated_maps: p("list", "", "tables of users and domains that moved (550 5.1.6)"),
  always_bcc: p("string", "", "address that gets a blind copy of every message"),
  sender_bcc_maps: p("list", "", "blind copy addresses by sender"),
  recipient_bcc_maps: p("list", "", "blind copy addresses by recipient"),

  // Delivery concurrency, enforced by qmgr. postconf(5); <transport>_destination_* override the
  // default_destination_* ones for that master.cf transport name.
  default_destination_concurrency_limit: p(
    "int",
    "20",
    "max parallel deliveries to one destination (0: no limit)",
  ),
  default_destination_recipient_limit: p("int", "50", "max recipients per delivery (0: no limit)"),
  local_destination_concurrency_limit: p(
    "int",
    "2",
    "max parallel local deliveries to one recipient (one domain when the recipient limit > 1)",
  ),
  local_destination_recipient_limit: p("int", "1", "max recipients per local delivery"),
  // The qmgr(8) scheduler (SCHEDULER_README): a destination's concurrency window starts at
  // initial_destination_concurrency and moves with delivery feedback between 1 and its limit.
  initial_destination_concurrency: p(
    "int",
    "5",
    "parallel deliveries to a destination before feedback raises or lowers it",
  ),
  default_destination_concurrency_positive_feedback: p(
    "string",
    "1",
    'window increase per delivery without a connection or handshake failure ("N" or "N/concurrency")',
    { check: checkFeedback },
  ),
  default_destination_concurrency_negative_feedback: p(
    "string",
    "1",
    'window decrease per connection or handshake failure ("N" or "N/concurrency"; 0: none)',
    { check: checkFeedback },
  ),
  default_destination_concurrency_failed_cohort_limit: p(
    "int",
    "1",
    "failed pseudo-cohorts before a destination is declared dead (0: never)",
  ),
  default_destination_rate_delay: p(
    "time",
    "0s",
    "pause between deliveries to one destination (non-zero: one at a time)",
    { unit: "s" },
  ),
  default_transport_rate_delay: p(
    "time",
    "0s",
    "pause between deliveries over one transport (non-zero: one at a time)",
    { unit: "s" },
  ),
  defer_transports: p(
    "list",
    "",
    "transports that deliver only when the queue is flushed (postqueue -f, ETRN)",
  ),
  qmgr_message_active_limit: p("int", "20000", "max messages in the active queue"),

  // Queue and retries (the simple retry loop; the full scheduler comes with qmgr).
  queue_run_delay: p("time", "300s", "time between deferred-queue scans", { unit: "s" }),
  minimal_backoff_time: p("time", "300s", "minimum time before a retry", { unit: "s" }),
  maximal_backoff_time: p("time", "4000s", "maximum time between retries", { unit: "s" }),
  maximal_queue_lifetime: p("time", "5d", "time a message may stay deferred", { unit: "d" }),
  bounce_queue_lifetime: p("time", "5d", "same, for bounces", { unit: "d" }),

  // SMTP/LMTP client. smtp(8), lmtp(8).
  smtp_helo_name: p("string", "$myhostname", "hostname sent in EHLO/HELO"),
  smtp_connect_timeout: p("time", "30s", "time allowed to complete a TCP connection", {
    unit: "s",
  }),
  smtp_helo_timeout: p("time", "300s", "time allowed for the greeting and EHLO/HELO", {
    unit: "s",
  }),
  smtp_mail_timeout: p("time", "300s", "time allowed for the MAIL FROM reply", { unit: "s" }),
  smtp_rcpt_timeout: p("time", "300s", "time allowed for each RCPT TO reply", { unit: "s" }),
  smtp_data_init_timeout: p("time", "120s", "time allowed for the DATA reply", { unit: "s" }),
  smtp_data_xfer_timeout: p("time", "180s", "time allowed to send the message body", {
    unit: "s",
  }),
  smtp_data_done_timeout: p("time", "600s", "time allowed for the end-of-data reply", {
    unit: "s",
  }),
  smtp_quit_timeout: p("time", "300s", "time allowed for the QUIT reply", { unit: "s" }),
  smtp_tls_security_level: p("string", "", "outbound TLS: none, may (opportunistic), encrypt", {
    choices: ["", "none", "may", "encrypt"],
  }),
  lmtp_lhlo_name: p("string", "$myhostname", "hostname sent in LHLO"),
  lmtp_connect_timeout: p("time", "0s", "time allowed to complete a connection", { unit: "s" }),
  lmtp_lhlo_timeout: p("time", "300s", "time allowed for the greeting and LHLO", { unit: "s" }),
  lmtp_mail_timeout: p("time", "300s", "time allowed for the MAIL FROM reply", { unit: "s" }),
  lmtp_rcpt_timeout: p("time", "300s", "time allowed for each RCPT TO reply", { unit: "s" }),
  lmtp_data_init_timeout: p("time", "120s", "time allowed for the DATA reply", { unit: "s" }),
  lmtp_data_xfer_timeout: p("time", "180s", "time allowed to send the message body", {
    unit: "s",
  }),
  lmtp_data_done_timeout: p("time", "600s", "time allowed for the end-of-data replies", {
    unit: "s",
  }),
  lmtp_quit_timeout: p("time", "300s", "time allowed for the QUIT reply", { unit: "s" }),
  lmtp_tls_security_level: p("string", "", "LMTP TLS: none, may, encrypt", {
    choices: ["", "none", "may", "encrypt"],
  }),

  // DNS and outbound next-hop resolution. smtp(8).
  // postconf(5) smtp_tcp_port: the port for nexthops without ":port" (known_tcp_ports names or a number).
  smtp_tcp_port: p("string", "smtp", "default TCP port of the SMTP client (smtp = 25)"),
  // postconf(5) lmtp_tcp_port: the port for LMTP nexthops without ":port".
  lmtp_tcp_port: p("string", "24", "default TCP port of the LMTP client"),
  // postconf(5) smtp_mx_address_limit, smtp_mx_session_limit: per nexthop or fallback
  // destination, at most this many addresses tried and sessions (EHLO done) used; 0 = no limit.
  smtp_mx_address_limit: p("int", "5", "max MX/host addresses tried per destination (0: no limit)"),
  smtp_mx_session_limit: p(
    "int",
    "2",
    "max SMTP sessions per destination and delivery (0: no limit)",
  ),
  lmtp_mx_address_limit: p("int", "5", "LMTP version of smtp_mx_address_limit"),
  lmtp_mx_session_limit: p("int", "2", "LMTP version of smtp_mx_session_limit"),
  // postconf(5) smtp_fallback_relay: destinations tried, in order, after the nexthop's servers
  // could not be found or reached. fallback_relay is its Postfix 2.2 name (the default).
  fallback_relay: p("list", "", "Postfix 2.2 name of smtp_fallback_relay"),
  smtp_fallback_relay: p(
    "list",
    "$fallback_relay",
    "relay hosts for unreachable SMTP destinations",
  ),
  lmtp_fallback_relay: p("list", "", "relay hosts for unreachable LMTP destinations (host:port)"),
  // Postfix has no such parameters: it reads resolv.conf(5) (nameserver, options timeout).
  dns_nameservers: p(
    "list",
    "",
    "facteur: DNS servers (ip, ip:port, [ipv6]:port) asked instead of the system resolver",
  ),
  dns_query_timeout: p("time", "10s", "facteur: time allowed for one DNS query to one server", {
    unit: "s",
  }),

  // Delivery status notifications. postconf(5), bounce(8).
  bounce_size_limit: p("int", "50000", "max bytes of the original returned in a notice"),
  double_bounce_sender: p(
    "string",
    "double-bounce",
    "sender of postmaster notifications; mail to it is discarded",
  ),
  notify_classes: p("list", "resource, software", "problems reported to the postmaster"),
  bounce_notice_recipient: p("string", "postmaster", "gets notify_classes bounce copies"),
  "2bounce_notice_recipient": p(
    "string",
    "postmaster",
    "gets undeliverable bounces (double bounces)",
  ),
  delay_notice_recipient: p("string", "postmaster", "gets notify_classes delay copies"),
  delay_warning_time: p("time", "0h", "age of a message before a delay warning (0: none)", {
    unit: "h",
  }),

  // flush(8): which destinations ETRN and `facteur queue flush --domain` may flush.
  fast_flush_domains: p(
    "list",
    "$relay_domains",
    "destinations eligible for ETRN / flush --domain",
  ),

  // smtp(8) connection cache (scache(8) on demand): reuse a connection for the next delivery.
  smtp_connection_cache_on_demand: p(
    "bool",
    "yes",
    "park an open connection after a delivery for the next one to the same destination",
  ),
  smtp_connection_cache_time_limit: p("time", "2s", "time a parked connection may stay idle", {
    unit: "s",
  }),
  smtp_connection_reuse_time_limit: p(
    "time",
    "300s",
    "time since it opened after which a connection is no longer reused",
    { unit: "s" },
  ),
  smtp_connection_reuse_count_limit: p(
    "int",
    "0",
    "deliveries a connection may carry before it is closed (0: no limit)",
  ),

  // facteur's own state: the SQLite queue and index, and by default the mailboxes.
  data_directory: p("path", "/var/lib/facteur", "directory holding facteur's state"),

  // facteur's users store ($data_directory/users.sqlite; `facteur user ...`, facteur: tables).
  users_mailbox_path: p(
    "string",
    "%d/%n/",
    "mailbox of a new user under virtual_mailbox_base (%d domain, %n local part, %u address)",
  ),
  users_password_rehash: p(
    "bool",
    "yes",
    "store a user's password again as argon2id after a login with another scheme",
  ),

  // pop3d (a [services.NAME] with command = "pop3d"): facteur's own, in Postfix's naming style.
  pop3d_banner: p("string", "facteur ready.", "text after +OK in the POP3 greeting"),
  pop3d_timeout: p("time", "600s", "idle time before a POP3 session is closed (RFC 1939: >= 10m)", {
    unit: "s",
  }),
  pop3d_line_length_limit: p(
    "int",
    "512",
    "longest POP3 command line in octets (RFC 2449: >= 255)",
  ),
  pop3d_auth_failure_limit: p("int", "3", "failed logins in one POP3 session before it is closed"),
  pop3d_hard_error_limit: p("int", "20", "bad POP3 commands in one session before it is closed"),
  pop3d_user_session_limit: p("int", "10", "concurrent POP3 sessions per account (0: no limit)"),
  pop3d_client_connection_count_limit: p(
    "int",
    "10",
    "concurrent POP3 connections per client address (0: no limit)",
  ),
  pop3d_disable_plaintext_auth: p(
    "bool",
    "yes",
    "refuse clear-text passwords except over TLS or from loopback",
  ),

  // The admin HTTP API (a [services.NAME] with command = "admin"). facteur's own parameters.
  admin_tokens: p(
    "list",
    "",
    'bearer tokens the admin API accepts, as "sha256:HEX" hashes (facteur token new)',
  ),
  admin_token_file: p(
    "path",
    "",
    "file holding one admin token in clear (mode 0600); the CLI reads it too",
  ),
  admin_auth_failure_limit: p(
    "int",
    "10",
    "failed authentications per client address and window before 429",
  ),
  admin_auth_failure_window: p(
    "time",
    "60s",
    "window of admin_auth_failure_limit",
    { unit: "s" },
  ),
  admin_body_size_limit: p("int", "1048576", "largest admin API request body, in bytes"),
  // Graceful stop (SIGTERM): sessions get this long to finish before they are closed.
  master_stop_timeout: p(
    "time",
    "30s",
    "time given to open sessions and deliveries to finish at stop",
    { unit: "s" },
  ),
};

/** The unexpanded default of `name`; `get` gives expanded values of the others. */
export function defaultValue(name: string, get: (name: string) => string): string {
  const spec = PARAMETERS[name];
  if (!spec) throw new Error(`no such parameter: ${name}`);
  return typeof spec.default === "function" ? spec.default(get) : spec.default;
}
