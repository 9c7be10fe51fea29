/** The route report for people: sections in mail-flow order, an alias tree, a table of lookups. */
import type { AliasNode } from "../rewrite/mod.ts";
import type { Phase, RouteReport } from "./explain.ts";
import type { LocalDelivery, LocalRoute } from "./local.ts";

const PHASE_TITLES: Record<Phase, string> = {
  rcpt: "RCPT TO check (smtpd)",
  rewrite: "Rewriting (cleanup: trivial-rewrite, canonical, masquerade, bcc)",
  expansion: "Virtual alias expansion (cleanup)",
  resolve: "Delivery (trivial-rewrite: class, transport_maps, relocated_maps)",
  local: "Local delivery (local(8))",
};

/** Long inline:{...} specs would push the keys off the screen; --json has them whole. */
const shorten = (spec: string) => spec.length > 48 ? spec.slice(0, 47) + "…" : spec;

const show = (address: string) => address === "" ? "<>" : address;

/** Columns padded to their widest cell; the last column is not padded. */
export function columns(rows: string[][]): string[] {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) =>
    r.map((cell, i) => i === r.length - 1 ? cell : cell.padEnd(widths[i])).join("  ").trimEnd()
  );
}

/** "a\n├─ b\n│  └─ c\n└─ d": each address under the one that expanded to it. */
export function aliasTree(node: AliasNode, prefix = "", last = true, root = true): string[] {
  const mark = node.children ? "" : "  (final)";
  const line = root
    ? node.address + mark
    : `${prefix}${last ? "└─ " : "├─ "}${node.address}${mark}`;
  const below = root ? "" : prefix + (last ? "   " : "│  ");
  const children = node.children ?? [];
  return [
    line,
    ...children.flatMap((c, i) => aliasTree(c, below, i === children.length - 1, false)),
  ];
}

function stepsOf(report: RouteReport, phase: Phase): string[] {
  return report.steps.filter((s) => s.phase === phase).map((s) => `  [${s.stage}] ${s.text}`);
}

export function formatRoute(report: RouteReport): string {
  const { input } = report;
  const out: string[] = [
    `Route of ${input.address}`,
    `  sender ${show(input.sender)}, client ${input.client}, helo ${input.helo}` +
    (input.service ? `, smtpd service ${input.service}` : ""),
    "",
    PHASE_TITLES.rcpt,
    `  ${report.rcpt.accepted ? "ACCEPTED" : "REJECTED"}: ${report.rcpt.reply}`,
    ...stepsOf(report, "rcpt"),
    "",
    PHASE_TITLES.rewrite,
    `  recipient ${input.address} → ${report.rewrite.recipient}`,
    `  sender ${show(input.sender)} → ${show(report.rewrite.sender)}`,
    ...(report.rewrite.bcc.length ? [`  blind copies: ${report.rewrite.bcc.join(", ")}`] : []),
    ...(report.rewrite.error ? [`  ERROR: ${report.rewrite.error}`] : []),
    ...stepsOf(report, "rewrite"),
    "",
    PHASE_TITLES.expansion,
  ];
  for (const e of report.expansion) {
    out.push(...aliasTree(e.tree).map((l) => `  ${l}`));
    if (e.error) out.push(`  ERROR: ${e.error} (the message would be refused: 451 4.6.0)`);
  }
  out.push("", PHASE_TITLES.resolve);
  const rows = [["ADDRESS", "CLASS", "WHY", "TRANSPORT:NEXTHOP"]];
  for (const r of report.recipients) {
    const why = r.classParam ? `${r.classParam} "${r.classEntry}"` : "no domain list";
    const route = r.error ? `ERROR ${r.error}` : `${r.transport}:${r.nexthop}`;
    const via = r.via === "bcc" ? " (bcc)" : "";
    rows.push([r.address + via, r.class ?? "-", why, route]);
  }
  out.push(...columns(rows).map((l) => `  ${l}`), ...stepsOf(report, "resolve"), "");
  out.push(PHASE_TITLES.local, ...localSection(report.local), ...stepsOf(report, "local"), "");
  out.push("Tables consulted");
  if (report.lookups.length === 0) {
    out.push("  (none)");
  } else {
    const lookups = [["PHASE", "PARAMETER", "TABLE", "KEY", "RESULT"]];
    for (const l of report.lookups) {
      lookups.push([l.phase, l.param, shorten(l.table), l.key, l.result ?? "(not found)"]);
    }
    out.push(...columns(lookups).map((l) => `  ${l}`));
  }
  return out.join("\n") + "\n";
}

/** "a → b (alias_maps a) → c (luser_relay)": how local(8) got from the recipient to a delivery. */
export function localTrail(d: LocalDelivery): string {
  return d.trail.map((hop, i) => {
    const prev = d.trail[i - 1];
    // Members of an :include: file: the file is the previous hop already.
    return i === 0 || hop.via === prev?.address ? hop.address : `${hop.address} (${hop.via})`;
  }).join(" → ");
}

/** What local(8) would do at the end of the trail, and what facteur does today. */
export function localOutcome(d: LocalDelivery, sender: string): string {
  const t = d.target;
  if (t?.kind === "mailbox" && d.status === "sent") {
    const whose = t.systemAccount
      ? `system account ${t.user}, home ${t.home}`
      : t.spool
      ? `user ${t.user}, mail_spool_directory`
      : `facteur user ${t.user}, no system account: home ${t.home} from local_home_base`;
    const returnPath = t.sender === sender ? "" : `, Return-Path <${t.sender}>`;
    return `${t.maildir ? "Maildir" : "mailbox file"} ${t.path} (${whose}${returnPath})`;
  }
  const verdict = `${d.status.toUpperCase()} ${d.dsn} ${d.reason}`;
  if (t?.kind === "command") {
    return `local(8) would pipe the message to the command "${t.command}"; facteur refuses: ${verdict}`;
  }
  if (t?.kind === "file") {
    return `local(8) would append the message to the file ${t.path}; facteur refuses: ${verdict}`;
  }
  return verdict;
}

function localSection(routes: LocalRoute[]): string[] {
  if (routes.length === 0) return ["  (no recipient goes to a local(8) transport)"];
  return routes.flatMap((r) => {
    const head = `  ${r.recipient} (transport ${r.transport})`;
    if (r.error) return [head, `    ERROR: ${r.error} (local(8) would not start)`];
    if (r.deliveries.length === 0) return [head, "    nothing to deliver (duplicates removed)"];
    return [
      head,
      ...r.deliveries.flatMap((d) => [
        `    ${localTrail(d)}`,
        `      ⇒ ${localOutcome(d, r.sender)}`,
      ]),
    ];
  });
}
