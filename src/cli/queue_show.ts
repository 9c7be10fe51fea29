/**
 * `facteur queue show ID`: one message's envelope and every recipient's
 * status, reason and relay (what postcat -e and mailq show, together).
 * Also the adapter from the API's summary back to what mailq formats. Pure.
 */
import type { QueuedMessage, QueuedRecipient, RecipientStatus } from "../queue/types.ts";
import type { Detail, Summary } from "./queue_backend.ts";

/** Control characters in remote replies would break the terminal. */
function printable(text: string): string {
  return text.replace(/[\x00-\x1f\x7f]/g, "?");
}

export function formatShow(d: Detail): string {
  const e = d.envelope;
  const rows: [string, string][] = [
    ["id", `${d.id} (${d.queue} queue)`],
    ["sender", d.sender === "" ? "<> (null sender)" : printable(d.sender)],
    ["arrival", d.arrival_time ?? "?"],
    ["size", `${d.size} bytes`],
    ["attempts", String(d.attempts)],
    ["next attempt", d.next_attempt ?? (d.queue === "hold" ? "none (on hold)" : "none")],
  ];
  if (e.body_type) rows.push(["body", e.body_type]);
  if (e.smtputf8) rows.push(["smtputf8", "yes"]);
  if (e.ret) rows.push(["dsn ret", e.ret]);
  if (e.envid) rows.push(["dsn envid", printable(e.envid)]);
  const width = Math.max(...rows.map(([k]) => k.length)) + 1;
  const lines = rows.map(([k, v]) => `${`${k}:`.padEnd(width)} ${v}`);
  lines.push(`recipients: ${e.recipients.length}`);
  for (const r of e.recipients) {
    const extras = [
      r.original && r.original !== r.address ? `original ${printable(r.original)}` : "",
      r.notify ? `notify ${r.notify.join(",")}` : "",
      r.attempts ? `${r.attempts} attempt${r.attempts === 1 ? "" : "s"}` : "",
    ].filter(Boolean);
    lines.push(
      `  ${r.status.padEnd(8)} ${printable(r.address)}${
        extras.length ? ` (${extras.join("; ")})` : ""
      }`,
    );
    if (r.dsn || r.reason) {
      lines.push(
        `           ${[r.dsn, r.reason].filter(Boolean).map((t) => printable(t!)).join(" ")}`,
      );
    }
    if (r.relay) lines.push(`           relay ${printable(r.relay)}`);
  }
  return lines.join("\n") + "\n";
}

const time = (iso: string | null) => (iso === null ? NaN : Date.parse(iso));

/** The API's summary as the QueuedMessage formatMailq takes (fields mailq does not show are left empty). */
export function fromSummary(s: Summary): QueuedMessage {
  const recipients: QueuedRecipient[] = s.recipients.map((r, index) => ({
    index,
    address: r.address,
    status: r.status as RecipientStatus,
    attempts: 0,
    ...(r.dsn === undefined ? {} : { dsn: r.dsn }),
    ...(r.reason === undefined ? {} : { reason: r.reason }),
  }));
  return {
    id: s.id,
    queue: s.queue,
    envelope: { sender: s.sender, arrivalTime: time(s.arrival_time), recipients },
    size: s.size,
    attempts: s.attempts,
    nextAttempt: time(s.next_attempt),
  };
}
