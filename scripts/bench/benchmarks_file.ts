/** BENCHMARKS.md at the repository root: created with its explanation, then appended to. */
import { join } from "node:path";
import { REPO } from "./facteur.ts";

export const BENCHMARKS_HEADER = `# Benchmarks

Run with \`deno task bench\` (as root: it starts a private Postfix instance; needs Debian's
\`postfix\` package for Postfix itself and \`smtp-source\`). \`deno task bench --write\` appends a
section to this file; \`--json\` prints machine-readable results; \`--help\` lists the options.

What is measured, on the same machine in the same run, for facteur and for Postfix set up the
same way (one virtual mailbox domain delivered into a Maildir, loopback, both acknowledging
durably: Postfix fsyncs its queue file before the 250, facteur commits and syncs SQLite):

- **accepted msgs/s**: Postfix's \`smtp-source\` sends N messages over 10 parallel sessions; the
  rate is N over the time until smtp-source exits (every message acknowledged).
- **delivered msgs/s**: N over the time from the start of the run until all N messages are in
  the Maildir.
- **end-of-data reply latency**: a small client (scripts/bench/latency.ts) in 10 concurrent
  sessions (one connection each) times each message from writing the final "." to reading
  the 250; **transaction** is the same message from writing MAIL to that 250.

Rounds alternate which server goes first; rates are medians over the rounds, latencies are
percentiles over all samples. **facteur/Postfix**: above 1 means facteur is faster for the
rates; below 1 means facteur answers faster for the latencies. Absolute numbers depend on the
machine, its disk and whatever else runs on it (each entry gives the load average at the
start); the ratio is what to compare between entries.

`;

/** Appends `entry` (creating the file with its header first), formats it; returns its path. */
export async function appendBenchmarks(entry: string): Promise<string> {
  const path = join(REPO, "BENCHMARKS.md");
  const existing = await Deno.readTextFile(path).catch((e) => {
    if (e instanceof Deno.errors.NotFound) return BENCHMARKS_HEADER;
    throw e;
  });
  await Deno.writeTextFile(path, existing.trimEnd() + "\n\n" + entry);
  // The repository's `deno fmt --check` covers Markdown: leave the file in its format.
  const fmt = await new Deno.Command(Deno.execPath(), {
    args: ["fmt", "--quiet", path],
    cwd: REPO,
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!fmt.success) throw new Error(`deno fmt ${path}: ${new TextDecoder().decode(fmt.stderr)}`);
  return path;
}
