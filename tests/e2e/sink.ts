/**
 * Receiving end of outbound end-to-end tests: Postfix's smtp-sink(1) on a
 * loopback address, each transaction dumped to a file, and an SMTP client
 * that submits mail from alice (local) to the real server.
 */
import assert from "node:assert/strict";
import { connect } from "node:net";
import { join } from "node:path";
import { findPeer } from "../peers.ts";
import { RawClient } from "../smtpd/helpers.ts";

export interface Child {
  stop(): Promise<void>;
}

/** Starts a peer program found by findPeer; stop() ends it by its PID. */
export function spawnPeer(binary: string, args: string[]): Child {
  const child = new Deno.Command(findPeer(binary)!, { args, stdout: "null", stderr: "null" })
    .spawn();
  return {
    stop: async () => {
      try {
        Deno.kill(child.pid, "SIGTERM");
      } catch {
        // already exited
      }
      await child.status;
    },
  };
}

/** Resolves once something accepts TCP connections on host:port (5 s at most). */
export async function waitTcp(host: string, port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect({ host, port });
      s.once("connect", () => (s.destroy(), resolve(true)));
      s.once("error", () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nothing listens on ${host}:${port}`);
}

/**
 * smtp-sink on host:port with extra `args` (e.g. ["-r", "RCPT"]); with a dump
 * directory, each transaction becomes one file there.
 */
export async function startSink(
  host: string,
  port: number,
  args: string[] = [],
  dump?: string,
): Promise<Child> {
  const user = Deno.uid() === 0 ? ["-u", "nobody"] : [];
  const dumpArgs = dump ? ["-d", join(dump, "msg.")] : [];
  const sink = spawnPeer("smtp-sink", [...user, ...dumpArgs, ...args, `${host}:${port}`, "10"]);
  await waitTcp(host, port);
  return sink;
}

/** A fresh directory smtp-sink can write its dumps into. */
export async function dumpDir(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "facteur-sink-" });
  await Deno.chmod(dir, 0o777); // smtp-sink runs as nobody under root
  return dir;
}

/** The transactions a sink dumped so far, one text each. */
export async function dumps(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) out.push(await Deno.readTextFile(join(dir, e.name)));
  return out;
}

export interface Outgoing {
  rcpt: string;
  subject: string;
}

/** Messages from alice (local), one recipient each, in one SMTP session; returns the queue ids. */
export async function sendEach(port: number, messages: Outgoing[]): Promise<string[]> {
  const { client } = await RawClient.open(port);
  try {
    assert.match(await client.command("EHLO client.test"), /^250/);
    const ids: string[] = [];
    for (const { rcpt, subject } of messages) {
      assert.match(await client.command("MAIL FROM:<alice@example.test>"), /^250/);
      assert.match(await client.command(`RCPT TO:<${rcpt}>`), /^250/);
      assert.match(await client.command("DATA"), /^354/);
      const reply = await client.command(
        `From: alice@example.test\r\nTo: ${rcpt}\r\nSubject: ${subject}\r\n\r\nhi\r\n.`,
      );
      const id = reply.match(/^250 2\.0\.0 Ok: queued as (\S+)/)?.[1];
      assert.ok(id, reply);
      ids.push(id);
    }
    await client.command("QUIT");
    return ids;
  } finally {
    client.close();
  }
}

/** One message from alice (local) to `rcpt` over SMTP; returns the queue id. */
export async function send(port: number, rcpt: string, subject: string): Promise<string> {
  return (await sendEach(port, [{ rcpt, subject }]))[0];
}
