/**
 * Postfix's smtp-sink(1) as the relay phase's next hop: it accepts and
 * discards mail. With -c it prints running counters ("sess=N quit=N mesg=N",
 * separated by CR) each time "." is received or a session ends; the last
 * mesg= value is the number of messages received so far. Stopped by its PID.
 */
import { join } from "node:path";
import { freePort, POSTFIX_COMMAND_DIR } from "../../tests/peers/postfix.ts";

export const SMTP_SINK = join(POSTFIX_COMMAND_DIR, "smtp-sink");

export interface Sink {
  port: number;
  pid: number;
  /** Messages received since it started. */
  received(): number;
  /** Polls until `count` messages were received; performance.now() then, or null after timeoutMs. */
  waitFor(count: number, timeoutMs: number, pollMs?: number): Promise<number | null>;
  stop(): Promise<void>;
}

/** The last "mesg=N" in smtp-sink -c output, or null when there is none yet. */
export function lastMessageCount(text: string): number | null {
  const all = [...text.matchAll(/mesg=(\d+)/g)];
  return all.length ? Number(all[all.length - 1][1]) : null;
}

export async function startSink(startTimeoutMs = 10_000): Promise<Sink> {
  const port = freePort();
  // smtp-sink refuses to run as root without -u; backlog 256 for the servers' parallel sessions.
  const user = Deno.uid() === 0 ? ["-u", "nobody"] : [];
  const child = new Deno.Command(SMTP_SINK, {
    args: [...user, "-c", `127.0.0.1:${port}`, "256"],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let count = 0;
  let tail = "";
  let exited = false;
  const status = child.status.finally(() => exited = true);
  const decoder = new TextDecoder();
  const reading = (async () => {
    for await (const chunk of child.stdout) {
      // Only the tail matters: keep enough to hold one counter line cut in two.
      tail = (tail + decoder.decode(chunk, { stream: true })).slice(-256);
      count = lastMessageCount(tail) ?? count;
    }
  })();
  const errors = new Response(child.stderr).text();

  let stopping: Promise<void> | null = null;
  const stop = () =>
    stopping ??= (async () => {
      if (!exited) {
        try {
          child.kill("SIGTERM");
        } catch { /* already gone */ }
      }
      await status;
      await reading.catch(() => {});
      await errors.catch(() => "");
    })();

  const waitFor = async (expected: number, timeoutMs: number, pollMs = 25) => {
    const deadline = performance.now() + timeoutMs;
    while (true) {
      if (count >= expected) return performance.now();
      if (exited || performance.now() > deadline) return null;
      await new Promise((r) => setTimeout(r, pollMs));
    }
  };

  // Ready once it accepts a connection.
  const deadline = performance.now() + startTimeoutMs;
  while (true) {
    try {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      conn.close();
      break;
    } catch {
      if (exited || performance.now() > deadline) {
        await stop();
        const why = (await errors.catch(() => "")).trim();
        throw new Error(`smtp-sink did not start on 127.0.0.1:${port}: ${why || "no output"}`);
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  }
  return { port, pid: child.pid, received: () => count, waitFor, stop };
}
