/**
 * The POP3 benchmark's mailbox: N plain-text messages of 2–20 KiB, the same
 * bytes on every run (a seeded generator), written straight into a Maildir's
 * new/ as a delivery agent leaves them (LF line ends, no S=/W= size in the
 * name, so each server has to find the sizes itself), then copied for each
 * server and round so that neither sees an index the other, or an earlier
 * round, built.
 */
import { join } from "node:path";

export const MIN_SIZE = 2 * 1024;
export const MAX_SIZE = 20 * 1024;

/** mulberry32: a small deterministic PRNG, values in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = (
  "the of and to in is that for it as was with be by on not he this are or his from at " +
  "which but have an they you were her she there been one all we their has would when if " +
  "so no will more can out up about what some time said into them only other new could " +
  "delivery mailbox message server queue report invoice meeting schedule attached review"
).split(" ");

/**
 * Message `i` of the mailbox: headers as a delivery leaves them, then a body of
 * ~70-column lines up to `size` bytes (LF line ends). Some lines start with a
 * dot, so that both servers dot-stuff.
 */
export function benchMessage(i: number, size: number, random: () => number): string {
  const date = new Date(Date.UTC(2026, 0, 1) + i * 60_000).toUTCString().replace("GMT", "+0000");
  const head = [
    "Return-Path: <sender@example.test>",
    "Delivered-To: user@bench.test",
    `Received: from client.example.test (client.example.test [127.0.0.1])\n\tby bench.localdomain with ESMTP id B${i}; ${date}`,
    "From: Sender <sender@example.test>",
    "To: User <user@bench.test>",
    `Subject: benchmark message ${i}`,
    `Date: ${date}`,
    `Message-ID: <bench.${i}@example.test>`,
    "MIME-Version: 1.0",
    "Content-Type: text/plain; charset=us-ascii",
    "",
    "",
  ].join("\n");
  const lines: string[] = [];
  let length = head.length;
  while (length < size) {
    let line = random() < 0.02 ? "." : "";
    while (line.length < 60 + random() * 15) {
      line += (line && line !== "." ? " " : "") + WORDS[Math.floor(random() * WORDS.length)];
    }
    lines.push(line);
    length += line.length + 1;
  }
  return head + lines.join("\n") + "\n";
}

/** Writes `count` messages into `<maildir>/new` (creating cur/, new/, tmp/); returns their total bytes. */
export async function writeBenchMaildir(maildir: string, count: number): Promise<number> {
  for (const sub of ["cur", "new", "tmp"]) {
    await Deno.mkdir(join(maildir, sub), { recursive: true });
  }
  const random = seededRandom(6);
  const encoder = new TextEncoder();
  let total = 0;
  for (let i = 0; i < count; i++) {
    const size = MIN_SIZE + Math.floor(random() * (MAX_SIZE - MIN_SIZE));
    const bytes = encoder.encode(benchMessage(i, size, random));
    // Maildir base names as qmail/Postfix write them: time.MmicrosPpid.host, unique per message.
    const name = `${1767225600 + i}.M${100000 + i}P4242.bench.localdomain`;
    await Deno.writeFile(join(maildir, "new", name), bytes);
    total += bytes.length;
  }
  return total;
}

/** `cp -a FROM TO`, then the copy's owner set (Dovecot will not run as root). */
export async function copyMaildir(from: string, to: string, owner?: number): Promise<void> {
  await run("cp", ["-a", from, to]);
  if (owner !== undefined) await run("chown", ["-R", `${owner}:${owner}`, to]);
}

async function run(cmd: string, args: string[]): Promise<void> {
  const out = await new Deno.Command(cmd, { args, stdout: "null", stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr).trim()}`);
  }
}
