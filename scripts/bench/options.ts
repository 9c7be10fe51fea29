/** `deno task bench` options: parsing and validation, with a precise message for bad input. */
import { parseArgs } from "node:util";
import { resolve } from "node:path";

export const USAGE = `Usage: deno task bench [options]

  --phases LIST          comma-separated, of receive, relay, queue, pop3, store (default: all)
  --messages N           messages per smtp-source run (default 5000)
  --relay-messages N     messages per relay run, smtp-source → server → smtp-sink (default 3000)
  --queue-messages N     deferred messages in the big-queue measurement (default 100000)
  --pop3-messages N      messages in the POP3 mailbox, facteur vs Dovecot (default 10000)
  --store-messages N     messages per store run, SMTP → facteur:users Maildir (default 2000)
  --rounds R             rounds of each phase but queue, servers alternating (default 3)
  --sessions S           parallel SMTP sessions (default 10)
  --size BYTES           message body size (default 4096)
  --latency-messages M   messages per session in the latency phase (default 200)
  --warmup N             messages sent to each server before measuring (default 500)
  --timeout SECONDS      limit for one run: sending, delivering, a POP3 session (default 300)
  --reuse-connections    smtp-source -d: one connection per session, not per message
  --cpu-prof DIR         run facteur with --cpu-prof into DIR and print its hot spots
  --keep                 keep facteur's temporary directory (config, log, data) for inspection
  --json                 print the results as JSON instead of a table
  --write                append the results to BENCHMARKS.md
  -h, --help             this text`;

export type Phase = "receive" | "relay" | "queue" | "pop3" | "store";
export const PHASES: readonly Phase[] = ["receive", "relay", "queue", "pop3", "store"];

export interface Options {
  phases: Set<Phase>;
  relayMessages: number;
  queueMessages: number;
  pop3Messages: number;
  storeMessages: number;
  messages: number;
  rounds: number;
  sessions: number;
  size: number;
  latencyMessages: number;
  warmup: number;
  timeoutMs: number;
  reuseConnections: boolean;
  cpuProf: string | null;
  keep: boolean;
  json: boolean;
  write: boolean;
}

/** The options, or null for --help. Throws an Error naming the bad option. */
export function parseOptions(args: string[]): Options | null {
  const { values, positionals } = parseArgs({
    args,
    strict: true,
    allowPositionals: true,
    options: {
      phases: { type: "string", default: PHASES.join(",") },
      messages: { type: "string", default: "5000" },
      "relay-messages": { type: "string", default: "3000" },
      "queue-messages": { type: "string", default: "100000" },
      "pop3-messages": { type: "string", default: "10000" },
      "store-messages": { type: "string", default: "2000" },
      rounds: { type: "string", default: "3" },
      sessions: { type: "string", default: "10" },
      size: { type: "string", default: "4096" },
      "latency-messages": { type: "string", default: "200" },
      warmup: { type: "string", default: "500" },
      timeout: { type: "string", default: "300" },
      "reuse-connections": { type: "boolean", default: false },
      "cpu-prof": { type: "string" },
      keep: { type: "boolean", default: false },
      json: { type: "boolean", default: false },
      write: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) return null;
  if (positionals.length) throw new Error(`unexpected argument "${positionals[0]}"`);
  const int = (name: string, min: number) => {
    const text = values[name as keyof typeof values] as string;
    const n = Number(text);
    if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n < min) {
      throw new Error(`--${name} must be an integer >= ${min}, not "${text}"`);
    }
    return n;
  };
  return {
    phases: parsePhases(values.phases),
    relayMessages: int("relay-messages", 1),
    queueMessages: int("queue-messages", 1),
    pop3Messages: int("pop3-messages", 1),
    storeMessages: int("store-messages", 1),
    messages: int("messages", 1),
    rounds: int("rounds", 1),
    sessions: int("sessions", 1),
    size: int("size", 0),
    latencyMessages: int("latency-messages", 1),
    warmup: int("warmup", 0),
    timeoutMs: int("timeout", 1) * 1000,
    reuseConnections: values["reuse-connections"],
    cpuProf: values["cpu-prof"] ? resolve(values["cpu-prof"]) : null,
    keep: values.keep,
    json: values.json,
    write: values.write,
  };
}

function parsePhases(text: string): Set<Phase> {
  const names = text.split(",").map((p) => p.trim()).filter((p) => p !== "");
  for (const name of names) {
    if (!PHASES.includes(name as Phase)) {
      throw new Error(`--phases: unknown phase "${name}" (known: ${PHASES.join(", ")})`);
    }
  }
  if (!names.length) throw new Error(`--phases needs at least one of ${PHASES.join(", ")}`);
  return new Set(names as Phase[]);
}
