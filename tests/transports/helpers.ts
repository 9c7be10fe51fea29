/** Fixtures for the local and virtual transport tests: a temporary tree and request builders. */
import { join } from "node:path";
import type { Envelope } from "../../src/queue/types.ts";
import { Rewriter } from "../../src/rewrite/mod.ts";
import type { DeliveryRecipient, DeliveryRequest } from "../../src/transports/types.ts";
import { testConfig, testTables } from "../rewrite/helpers.ts";

export const enc = new TextEncoder();
export const dec = new TextDecoder();

/** The message as the queue stores it: CRLF line ends. */
export const MESSAGE = "Subject: test\r\n\r\nHello\r\nFrom the body\r\n";

export const FIXED_DATE = new Date(2026, 10, 23, 9, 5, 7);

export async function listDir(path: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const e of Deno.readDir(path)) names.push(e.name);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return names.sort();
}

/** The contents of every message file in a Maildir's new/. */
export async function maildirMessages(dir: string): Promise<string[]> {
  const names = await listDir(join(dir, "new"));
  return await Promise.all(names.map((n) => Deno.readTextFile(join(dir, "new", n))));
}

export function request(
  recipients: (string | Omit<DeliveryRecipient, "index">)[],
  opts: { content?: string; sender?: string } = {},
): DeliveryRequest {
  const rcpts = recipients.map((
    r,
    index,
  ) => (typeof r === "string" ? { index, address: r } : { index, ...r }));
  const envelope: Envelope = {
    sender: opts.sender ?? "sender@example.org",
    recipients: rcpts.map((r) => ({ address: r.address, original: r.original })),
    arrivalTime: Date.now(),
  };
  return {
    queueId: "0000TEST0001",
    envelope,
    recipients: rcpts,
    content: enc.encode(opts.content ?? MESSAGE),
    nexthop: "mail.example.com",
  };
}

/**
 * A temporary directory with home/, spool/ and a passwd file, and a config
 * rooted there; "@ROOT@" in a value stands for that directory.
 */
export async function setup(values: Record<string, string> = {}) {
  const root = await Deno.makeTempDir({ prefix: "facteur-local-" });
  const homeBase = join(root, "home");
  const spool = join(root, "spool");
  await Deno.mkdir(spool);
  const passwdFile = join(root, "passwd");
  await Deno.writeTextFile(passwdFile, "");
  const config = testConfig({
    local_home_base: homeBase,
    mail_spool_directory: spool,
    home_mailbox: "Maildir/",
    local_recipient_maps: "inline:{alice=1, bob=1, carol=1}",
    virtual_mailbox_base: join(root, "vmail"),
    ...Object.fromEntries(
      Object.entries(values).map(([k, v]) => [k, v.replaceAll("@ROOT@", root)]),
    ),
  });
  const tables = testTables();
  const rewriter = new Rewriter(config, { openTable: tables.open });
  return {
    root,
    homeBase,
    spool,
    passwdFile,
    config,
    tables,
    rewriter,
    maildir: (user: string) => join(homeBase, user, "Maildir"),
    cleanup: () => Deno.remove(root, { recursive: true }),
  };
}
