/**
 * The route explainer (`facteur route`, GET /v1/route): what facteur does
 * with one recipient, phase by phase, in the order mail flows through
 * Postfix's daemons — smtpd's RCPT check, cleanup's rewriting (trivial-rewrite
 * canonical form, canonical maps, masquerading, BCC), virtual alias
 * expansion, trivial-rewrite's resolution of every resulting address
 * (class, transport_maps, relocated_maps) to transport:nexthop, and for
 * those the local transport takes, local(8)'s aliases and mailbox.
 *
 * Each phase runs inside its own RouteTrace, so every table lookup and
 * decision it made is listed under it. Nothing is delivered, queued or sent.
 */
import { AddressRewriting } from "../cleanup/address_rewriting.ts";
import type { Config } from "../config/mod.ts";
import { MailError } from "../errors.ts";
import { Rewriter } from "../rewrite/mod.ts";
import type { AddressClass, AliasNode, OpenTable } from "../rewrite/mod.ts";
import { RouteTrace, withTrace } from "../rewrite/trace.ts";
import { type DnsLookup, Policy } from "../smtpd/policy.ts";
import type { SmtpdContext } from "../smtpd/types.ts";
import { explainLocal, localAgentConfig, type LocalRoute } from "./local.ts";

export interface RouteQuery {
  address: string;
  /** MAIL FROM for the RCPT check and sender_bcc_maps; default "" (the null sender). */
  sender?: string;
  /** The SMTP client's IP address for the RCPT check; default 127.0.0.1. */
  client?: string;
  /** The HELO name for the RCPT check; default "localhost". */
  helo?: string;
}

export interface RouteDeps {
  openTable: OpenTable;
  /** DNS for reject_unknown_* restrictions (default: the system's). */
  dns?: DnsLookup;
  /** The passwd file local(8) finds system accounts in; default /etc/passwd. */
  passwdFile?: string;
}

export type Phase = "rcpt" | "rewrite" | "expansion" | "resolve" | "local";

export interface RouteLookup {
  phase: Phase;
  /** The parameter (or restriction) the table came from. */
  param: string;
  table: string;
  key: string;
  /** The table's value, or null when not found. */
  result: string | null;
}

export interface RouteStep {
  phase: Phase;
  stage: string;
  text: string;
}

export interface RouteRecipient {
  address: string;
  /** "recipient" for the address and its expansion, "bcc" for a blind copy. */
  via: "recipient" | "bcc";
  class: AddressClass | null;
  /** The parameter and list entry that put the domain in its class (null: default class). */
  classParam: string | null;
  classEntry: string | null;
  transport: string | null;
  nexthop: string | null;
  /** relocated_maps' new address, when the recipient moved. */
  relocated: string | null;
  /** A lookup failure: the message would be deferred. */
  error: string | null;
}

export interface RouteReport {
  input: { address: string; sender: string; client: string; helo: string; service: string | null };
  rcpt: { accepted: boolean; reply: string };
  rewrite: {
    /** After cleanup's rewriting (trivial-rewrite, canonical maps, masquerading). */
    recipient: string;
    /** The envelope sender after the same rewriting. */
    sender: string;
    /** Blind copy addresses added (always_bcc, sender_bcc_maps, recipient_bcc_maps). */
    bcc: string[];
    error: string | null;
  };
  expansion: { tree: AliasNode; addresses: string[]; error: string | null }[];
  recipients: RouteRecipient[];
  /** local(8)'s handling of each recipient whose transport is a local delivery agent. */
  local: LocalRoute[];
  steps: RouteStep[];
  lookups: RouteLookup[];
}

/** Runs one phase in its own trace and files what it recorded under that phase. */
async function phase<T>(report: RouteReport, name: Phase, work: () => Promise<T>): Promise<T> {
  const trace = new RouteTrace();
  try {
    return await withTrace(trace, work);
  } finally {
    for (const e of trace.events) {
      if (e.kind === "lookup") {
        const { param, table, key } = e;
        report.lookups.push({ phase: name, param, table, key, result: e.result ?? null });
      } else if (!report.steps.some((s) => s.phase === name && s.text === e.text)) {
        report.steps.push({ phase: name, stage: e.stage, text: e.text });
      }
    }
  }
}

/** The smtpd service whose settings (master.cf -o overrides) the RCPT check uses. */
export function smtpdView(config: Config): { config: Config; service: string | null } {
  const service = config.services.find((s) =>
    s.enabled && s.command === "smtpd" && s.type === "inet"
  );
  return service ? { config: config.forService(service), service: service.name } : {
    config,
    service: null,
  };
}

/** resolve()'s nexthop for a relocated recipient. */
const MOVED = /^5\.1\.6 User has moved to (.*)$/;

const message = (e: unknown) => e instanceof Error ? e.message : String(e);

export async function explainRoute(
  config: Config,
  query: RouteQuery,
  deps: RouteDeps,
): Promise<RouteReport> {
  const rewriter = new Rewriter(config, { openTable: deps.openTable });
  const view = smtpdView(config);
  const input = {
    address: query.address,
    sender: query.sender ?? "",
    client: query.client ?? "127.0.0.1",
    helo: query.helo ?? "localhost",
    service: view.service,
  };
  const report: RouteReport = {
    input,
    rcpt: { accepted: false, reply: "" },
    rewrite: { recipient: query.address, sender: input.sender, bcc: [], error: null },
    expansion: [],
    recipients: [],
    local: [],
    steps: [],
    lookups: [],
  };

  report.rcpt = await phase(report, "rcpt", () => rcptCheck(view.config, rewriter, input, deps));

  const rewriting = new AddressRewriting(config, {
    openTable: deps.openTable,
    search: rewriter.searchSettings,
  });
  await phase(report, "rewrite", async () => {
    try {
      report.rewrite.sender = await rewriting.envelopeSender(input.sender);
      report.rewrite.recipient = await rewriting.envelopeRecipient(input.address);
      const bcc = [
        await rewriting.alwaysBcc(),
        await rewriting.senderBcc(report.rewrite.sender),
        await rewriting.recipientBcc(report.rewrite.recipient),
      ];
      report.rewrite.bcc = bcc.filter((b): b is string => b !== undefined && b !== "");
    } catch (e) {
      report.rewrite.error = message(e);
    }
  });

  const starts: [string, RouteRecipient["via"]][] = [
    [report.rewrite.recipient, "recipient"],
    ...report.rewrite.bcc.map((b): [string, "bcc"] => [b, "bcc"]),
  ];
  for (const [start, via] of starts) {
    const expansion = await phase(report, "expansion", () => rewriter.explainExpansion(start));
    report.expansion.push({ ...expansion, error: expansion.error ?? null });
    for (const address of expansion.addresses) {
      if (report.recipients.some((r) => r.address.toLowerCase() === address.toLowerCase())) {
        continue; // cleanup keeps one copy per address
      }
      report.recipients.push(await phase(report, "resolve", () => resolve(rewriter, address, via)));
    }
  }
  for (const r of report.recipients) {
    const agentConfig = r.transport === null ? undefined : localAgentConfig(config, r.transport);
    if (!agentConfig || r.transport === null) continue;
    const transport = r.transport;
    report.local.push(
      await phase(
        report,
        "local",
        () =>
          explainLocal(agentConfig, transport, r.address, report.rewrite.sender, {
            openTable: deps.openTable,
            rewrite: rewriter,
            passwdFile: deps.passwdFile,
          }),
      ),
    );
  }
  return report;
}

/** smtpd_check_rcpt() with a session that said HELO and MAIL FROM as given. */
async function rcptCheck(
  config: Config,
  rewriter: Rewriter,
  input: RouteReport["input"],
  deps: RouteDeps,
): Promise<RouteReport["rcpt"]> {
  const policy = new Policy(config, {
    openTable: deps.openTable,
    rewrite: rewriter,
    dns: deps.dns,
  });
  const ctx: SmtpdContext = {
    client: { address: input.client, port: 0 },
    helo: input.helo,
    esmtp: true,
    sender: input.sender,
    recipient: input.address,
    recipients: [],
    tls: false,
  };
  const err = await policy.onRcpt(ctx);
  return err ? { accepted: false, reply: err.reply } : { accepted: true, reply: "250 2.1.5 Ok" };
}

/** trivial-rewrite resolve for one final address, with the reason for its class. */
async function resolve(
  rewriter: Rewriter,
  address: string,
  via: RouteRecipient["via"],
): Promise<RouteRecipient> {
  const out: RouteRecipient = {
    address,
    via,
    class: null,
    classParam: null,
    classEntry: null,
    transport: null,
    nexthop: null,
    relocated: null,
    error: null,
  };
  try {
    const domain = address.slice(address.lastIndexOf("@") + 1);
    const reason = await rewriter.classify(domain);
    out.class = reason.class;
    out.classParam = reason.param ?? null;
    out.classEntry = reason.entry ?? null;
    const route = await rewriter.resolve(address);
    out.transport = route.transport;
    out.nexthop = route.nexthop;
    const moved = MOVED.exec(route.transport === "error" ? route.nexthop : "");
    out.relocated = moved ? moved[1] : null;
  } catch (e) {
    out.error = e instanceof MailError ? e.reply : message(e);
  }
  return out;
}
