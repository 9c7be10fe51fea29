/**
 * Logging in Postfix's syslog shape, so existing log tools (pflogsumm, grep
 * habits) keep working: "Nov 23 15:40:00 host facteur/smtpd[1234]: text".
 */
export type Logger = (text: string) => void;

let pending: string[] = [];
const encoder = new TextEncoder();

/** Writes buffered lines to stderr in one write (one syscall per batch, not per line). */
export function flushLog(): void {
  if (pending.length === 0) return;
  const text = pending.join("\n") + "\n";
  pending = [];
  const bytes = encoder.encode(text);
  for (let off = 0; off < bytes.length;) off += Deno.stderr.writeSync(bytes.subarray(off));
}

/** Lines logged in one turn of the event loop go out together just after it. */
function bufferedStderr(line: string): void {
  if (pending.length === 0) setTimeout(flushLog, 0);
  pending.push(line);
}

let sink: (line: string) => void = bufferedStderr;
let host = "localhost";

/** Where log lines go (buffered stderr by default; journald adds its own timestamps). */
export function setLogSink(fn: (line: string) => void): void {
  sink = fn;
}

export function setLogHost(name: string): void {
  host = name.split(".")[0] || name;
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

function stamp(d: Date): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${MONTHS[d.getMonth()]} ${String(d.getDate()).padStart(2, " ")} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** A logger for one daemon ("smtpd", "cleanup", "qmgr", "local", ...). */
export function logger(daemon: string): Logger {
  return (text) => sink(`${stamp(new Date())} ${host} facteur/${daemon}[${Deno.pid}]: ${text}`);
}
