/**
 * Counting deliveries: both servers deliver into `<maildir>/new/`, one file
 * per message (Maildir: written in tmp/, renamed into new/ when complete).
 */
import { join } from "node:path";

/** Number of complete messages in the Maildir's new/ (0 if it does not exist yet). */
export async function countNew(maildir: string): Promise<number> {
  let count = 0;
  try {
    for await (const _ of Deno.readDir(join(maildir, "new"))) count++;
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return count;
}

/**
 * Polls until new/ holds at least `expected` messages; returns performance.now()
 * at the poll that saw them, or null after `timeoutMs`.
 */
export async function waitForNew(
  maildir: string,
  expected: number,
  timeoutMs: number,
  pollMs = 25,
): Promise<number | null> {
  const deadline = performance.now() + timeoutMs;
  while (true) {
    if (await countNew(maildir) >= expected) return performance.now();
    if (performance.now() > deadline) return null;
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

/** Removes every delivered message, so the next run counts from zero. */
export async function emptyNew(maildir: string): Promise<void> {
  const dir = join(maildir, "new");
  const names: string[] = [];
  try {
    // Names first: removing entries while the directory is being read may skip some.
    for await (const e of Deno.readDir(dir)) names.push(e.name);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  for (const name of names) await Deno.remove(join(dir, name));
}
