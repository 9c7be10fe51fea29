/** Fixtures for the store tests: temporary Maildir roots and sample messages. */
import { join } from "node:path";

export const enc = new TextEncoder();
export const dec = new TextDecoder();

export function message(subject: string, body = "Hello\r\n"): Uint8Array {
  return enc.encode(
    `From: a@example.test\r\nTo: b@example.test\r\nSubject: ${subject}\r\n\r\n${body}`,
  );
}

export async function tempRoot(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "facteur-store-" });
  return join(dir, "Maildir");
}

export async function names(dir: string): Promise<string[]> {
  const out: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) out.push(e.name);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return out.sort();
}

/** Drops a message into new/ as another delivery program would. */
export async function dropInNew(root: string, name: string, text: string, mtimeSec?: number) {
  await Deno.mkdir(join(root, "new"), { recursive: true });
  await Deno.writeTextFile(join(root, "tmp", name), text);
  if (mtimeSec !== undefined) await Deno.utime(join(root, "tmp", name), mtimeSec, mtimeSec);
  await Deno.rename(join(root, "tmp", name), join(root, "new", name));
}
