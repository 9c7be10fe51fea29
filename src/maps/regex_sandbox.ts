/**
 * Bounded regexp:/pcre: lookups. JavaScript cannot interrupt a running
 * RegExp: a pattern like /(a+)+$/ against "aaaa...b" backtracks for ages.
 * Postfix has no limit either; facteur bounds every lookup:
 *
 * - a lookup whose worst case is small (regex_cost.ts: no nested quantifier,
 *   no back reference, and few enough steps for this key length) runs here,
 *   in microseconds;
 * - every other one goes to a sandbox: a child process (`deno eval`, the
 *   evaluator of rule_eval.ts) that gets the rules once per table and one
 *   key per request, with a deadline. When the deadline passes the child is
 *   killed (SIGKILL) and started again on the next lookup, and the lookup
 *   fails with a temporary error (451 4.3.0 for the caller, like any table
 *   failure).
 *
 * Why a process and not a Worker: Deno's Worker.terminate() (and
 * node:worker_threads) does not stop a thread that is inside a RegExp or a
 * busy loop (checked with Deno 2.9.6: the thread kept a CPU busy after
 * terminate()), so a few hostile keys would pin every core. A killed
 * process takes its CPU with it. Cost: one child of about 40 MB, started
 * when the first lookup needs it (about 40 ms; needs --allow-run), and
 * about 170-250 µs per sandboxed lookup, against about 1.5 µs in process
 * (tests/maps/regex_bound.test.ts prints both). Sandboxed lookups are served
 * one at a time.
 * A load-time check alone would not do: the same pattern is harmless on a
 * short key and not on a long one, and the check cannot prove every pattern
 * safe, so it only chooses the fast path.
 */

import { tempFail } from "../errors.ts";
import { evaluatorSource, type RuleData } from "./rule_eval.ts";

const CHILD_MAIN = `
const tables = new Map();
const encoder = new TextEncoder();
const decoder = new TextDecoder();
let pending = "";
for await (const chunk of Deno.stdin.readable) {
  pending += decoder.decode(chunk, { stream: true });
  let nl;
  while ((nl = pending.indexOf("\\n")) >= 0) {
    const request = JSON.parse(pending.slice(0, nl));
    pending = pending.slice(nl + 1);
    let reply;
    if (request.rules) {
      tables.set(request.table, request.rules);
      reply = { seq: request.seq };
    } else {
      try {
        reply = { seq: request.seq, found: evaluateRules(tables.get(request.table), request.key) };
      } catch (err) {
        reply = { seq: request.seq, error: String(err) };
      }
    }
    Deno.stdout.writeSync(encoder.encode(JSON.stringify(reply) + "\\n"));
  }
}
`;

type Found = { value: string; line: number } | undefined;

interface Child {
  process: Deno.ChildProcess;
  writer: WritableStreamDefaultWriter<Uint8Array>;
  reader: ReadableStreamDefaultReader<string>;
  buffered: string;
  /** Tables whose rules this child has. */
  loaded: Set<number>;
}

/** One sandbox per process; requests are served one at a time. */
class RegexSandbox {
  #child?: Child;
  #queue: Promise<unknown> = Promise.resolve();
  #seq = 0;
  #tables = new Map<number, RuleData[]>();
  #nextTable = 1;
  /** Children started so far (tests check that a timeout replaces the child). */
  started = 0;

  register(rules: RuleData[]): number {
    const id = this.#nextTable++;
    this.#tables.set(id, rules);
    return id;
  }

  unregister(id: number): void {
    this.#tables.delete(id);
    if (this.#tables.size === 0) this.stop();
  }

  /** Evaluate in the child; rejects with a temporary MailError after `timeoutMs`. */
  evaluate(table: number, key: string, timeoutMs: number): Promise<Found> {
    const run = this.#queue.then(() => this.#evaluateNow(table, key, timeoutMs));
    this.#queue = run.catch(() => {});
    return run;
  }

  async #evaluateNow(table: number, key: string, timeoutMs: number): Promise<Found> {
    let child: Child;
    try {
      child = this.#child ?? this.#start();
    } catch (err) {
      // e.g. NotCapable without --allow-run: a table failure, not a crash.
      throw tempFail(`regexp sandbox cannot start: ${(err as Error).message}`);
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.stop();
        reject(
          tempFail(`regexp table lookup of a ${key.length}-character key exceeded ${timeoutMs} ms`),
        );
      }, timeoutMs);
    });
    try {
      const exchange = async () => {
        if (!child.loaded.has(table)) {
          await this.#request(child, { table, rules: this.#tables.get(table) });
          child.loaded.add(table);
        }
        return await this.#request(child, { table, key });
      };
      const reply = await Promise.race([exchange(), deadline]);
      if (reply.error) throw tempFail(`regexp table lookup failed: ${reply.error}`);
      return reply.found as Found;
    } finally {
      clearTimeout(timer);
    }
  }

  async #request(child: Child, body: Record<string, unknown>): Promise<Record<string, unknown>> {
    const seq = ++this.#seq;
    await child.writer.write(new TextEncoder().encode(JSON.stringify({ seq, ...body }) + "\n"));
    for (;;) {
      const nl = child.buffered.indexOf("\n");
      if (nl >= 0) {
        const reply = JSON.parse(child.buffered.slice(0, nl));
        child.buffered = child.buffered.slice(nl + 1);
        if (reply.seq === seq) return reply;
        continue;
      }
      const { value, done } = await child.reader.read();
      if (done) throw tempFail("regexp sandbox process ended");
      child.buffered += value;
    }
  }

  #start(): Child {
    const code = `${evaluatorSource()}\n${CHILD_MAIN}`;
    const process = new Deno.Command(Deno.execPath(), {
      args: ["eval", code],
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
      env: { NO_COLOR: "1" },
    }).spawn();
    process.unref();
    const child: Child = {
      process,
      writer: process.stdin.getWriter(),
      reader: process.stdout.pipeThrough(new TextDecoderStream()).getReader(),
      buffered: "",
      loaded: new Set(),
    };
    this.#child = child;
    this.started++;
    return child;
  }

  /** Kill the child (a later lookup starts a new one). */
  stop(): void {
    const child = this.#child;
    if (!child) return;
    this.#child = undefined;
    try {
      child.process.kill("SIGKILL");
    } catch {
      // already gone
    }
    child.reader.cancel().catch(() => {});
    child.writer.abort().catch(() => {});
    child.process.status.catch(() => {});
  }
}

export const regexSandbox = new RegexSandbox();
