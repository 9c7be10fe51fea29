/**
 * Phase 1: throughput with Postfix's smtp-source(1). It exits once every
 * message has been acknowledged (250 after the end of data), so the wall time
 * until it exits gives the accepted rate. A run that outlives its timeout is
 * killed by PID and reported as a failure.
 */
import { join } from "node:path";
import { POSTFIX_COMMAND_DIR } from "../../tests/peers/postfix.ts";

export const SMTP_SOURCE = join(POSTFIX_COMMAND_DIR, "smtp-source");

export interface SmtpSourceOptions {
  host: string;
  port: number;
  sessions: number;
  messages: number;
  /** Body bytes per message (smtp-source -l: headers not included). */
  size: number;
  from: string;
  to: string;
  /** smtp-source -d: keep each session's connection for the next message. */
  reuseConnections: boolean;
  timeoutMs: number;
}

/** smtp-source's arguments, in the order the report prints them. */
export function smtpSourceArgs(o: SmtpSourceOptions): string[] {
  return [
    ...(o.reuseConnections ? ["-d"] : []),
    "-s",
    String(o.sessions),
    "-m",
    String(o.messages),
    "-l",
    String(o.size),
    "-f",
    o.from,
    "-t",
    o.to,
    `${o.host}:${o.port}`,
  ];
}

export interface SmtpSourceRun {
  /** From spawning smtp-source to its exit. */
  elapsedMs: number;
  /** performance.now() when it was spawned, to time deliveries from the same start. */
  startedAt: number;
}

/** Runs smtp-source to completion; `track` receives the child so a Ctrl-C can end it. */
export async function runSmtpSource(
  o: SmtpSourceOptions,
  track: (child: Deno.ChildProcess | null) => void = () => {},
): Promise<SmtpSourceRun> {
  const startedAt = performance.now();
  const child = new Deno.Command(SMTP_SOURCE, {
    args: smtpSourceArgs(o),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  track(child);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      child.kill("SIGKILL");
    } catch { /* exited meanwhile */ }
  }, o.timeoutMs);
  const out = await child.output();
  const elapsedMs = performance.now() - startedAt;
  clearTimeout(timer);
  track(null);
  if (timedOut) {
    throw new Error(`smtp-source killed after ${o.timeoutMs} ms (server too slow or stuck)`);
  }
  if (out.code !== 0) {
    const text = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
    throw new Error(
      `smtp-source exited ${out.code}: ${text.trim().split("\n").slice(-5).join(" | ")}`,
    );
  }
  return { elapsedMs, startedAt };
}
