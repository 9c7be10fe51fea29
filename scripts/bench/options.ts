/** `deno task bench` options: parsing and validation, with a precise message for bad input. */
import { parseArgs } from "node:util";
import { resolve } from "node:path";

export const USAGE = `Usage: deno task bench [options]

  --messages N           messages per smtp-source run (default 5000)
  --rounds R             throughput and latency rounds, servers alternating (default 3)
  --sessions S           parallel SMTP sessions (default 10)
  --size BYTES           message body size (default 4096)
  --latency-messages M   messages per session in the latency phase (default 200)
  --warmup N             messages sent to each server before measuring (default 500)
  --timeout SECONDS      limit for one run, sending or delivering (default 300)
  --reuse-connections    smtp-source -d: one connection per session, not per message
  --cpu-prof DIR         run facteur with --cpu-prof into DIR and print its hot spots
  --keep                 keep facteur's temporary directory (config, log, data) for inspection
  --json                 print the results as JSON instead of a table
  --write                append the results to BENCHMARKS.md
  -h, --help             this text`;

export interface Options {
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
      messages: { type: "string", default: "5000" },
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
