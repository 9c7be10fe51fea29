/**
 * The mail queue listing of Postfix's mailq / postqueue -p (showq(8)), and
 * its JSON form (postqueue -j: one object per line). Pure: the caller reads
 * the queue and prints.
 */
import type { QueuedMessage, QueuedRecipient } from "../queue/types.ts";

const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** asctime(3) without the year, in local time, as showq prints it ("%20.20s"): "Mon Nov  2 17:23:32 ". */
export function arrivalText(ms: number): string {
  const d = new Date(ms);
  const two = (n: number) => String(n).padStart(2, "0");
  const time = `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
  return `${DAYS[d.getDay()]} ${MONTHS[d.getMonth()]} ${
    String(d.getDate()).padStart(2, " ")
  } ${time} `;
}

/** showq: '*' active (being delivered), '!' on hold, ' ' otherwise. */
function statusMark(message: QueuedMessage): string {
  if (message.queue === "active") return "*";
  if (message.queue === "hold") return "!";
  return " ";
}

/** Recipients still to be delivered; sent and bounced ones are done (Postfix marks them so). */
function pendingRecipients(message: QueuedMessage): QueuedRecipient[] {
  const recipients: QueuedRecipient[] = message.envelope.recipients;
  return recipients.filter((r) => r.status === "pending" || r.status === "deferred");
}

/** Control characters would break the table (showq's printable()). */
function printable(text: string): string {
  // deno-lint-ignore no-control-regex
  return text.replace(/[\x00-\x1f\x7f]/g, "?");
}

/** showq's STRING_FORMAT "%-10s %8s %-20s %s". */
function row(id: string, size: string, time: string, who: string): string {
  return `${id.padEnd(10)} ${size.padStart(8)} ${time.padEnd(20)} ${who}`;
}

/** One message's lines: heading, then each recipient after its reason when that changes. */
function messageLines(message: QueuedMessage): string[] {
  const sender = message.envelope.sender === "" ? "MAILER-DAEMON" : message.envelope.sender;
  // showq's DATA_FORMAT "%-10s%c%8ld %20.20s %s".
  const lines = [
    `${message.id.padEnd(10)}${statusMark(message)}${String(message.size).padStart(8)} ` +
    `${arrivalText(message.envelope.arrivalTime)} ${printable(sender)}`,
  ];
  let lastReason: string | undefined;
  for (const r of pendingRecipients(message)) {
    if (r.reason && r.reason !== lastReason) {
      const reason = printable(r.reason);
      // showq right-aligns a short reason to column 78 ("%*s(%s)", padding 76 - length).
      lines.push(`${" ".repeat(Math.max(0, 76 - reason.length))}(${reason})`);
      lastReason = r.reason;
    }
    lines.push(row("", "", "", printable(r.address)));
  }
  return lines;
}

/** The whole listing, every line ending in "\n". */
export function formatMailq(messages: QueuedMessage[]): string {
  if (messages.length === 0) return "Mail queue is empty\n";
  const header = row("-Queue ID-", "--Size--", "----Arrival Time----", "-Sender/Recipient-------");
  const blocks = messages.map((m) => messageLines(m).join("\n") + "\n");
  const bytes = messages.reduce((sum, m) => sum + m.size, 0);
  const n = messages.length;
  return `${header}\n${blocks.join("\n")}\n-- ${Math.floor(bytes / 1024)} Kbytes in ${n} Request${
    n === 1 ? "" : "s"
  }.\n`;
}

/** postqueue -j's fields, one JSON object per message per line. */
export function formatMailqJson(messages: QueuedMessage[]): string {
  return messages.map((m) =>
    JSON.stringify({
      queue_name: m.queue,
      queue_id: m.id,
      arrival_time: Math.floor(m.envelope.arrivalTime / 1000),
      message_size: m.size,
      sender: m.envelope.sender,
      recipients: pendingRecipients(m).map((r) =>
        r.reason === undefined
          ? { address: r.address }
          : { address: r.address, delay_reason: r.reason }
      ),
    }) + "\n"
  ).join("");
}
