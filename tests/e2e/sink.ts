/**
 * Receiving end of outbound end-to-end tests: Postfix's smtp-sink(1) on a
 * loopback address, each transaction dumped to a file, an SMTP client that
 * submits mail from alice (local) to the real server, and a Scenario that
 * starts dnsmasq, sinks and servers for one test and stops them after it.
 */
import assert from "node:assert/strict";
import { connect } from "node:net";
import { join } from "node:path";
import { findPeer } from "../peers.ts";
import { freePort } from "../peers/postfix.ts";
import { type Dnsmasq, startDnsmasq } from "../peers/dnsmasq.ts";
import { RawClient } from "../smtpd/helpers.ts";
import { eventually, type RunningServer, type ServerOptions, startServer } from "./harness.ts";

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

/** Waits until the sink's dump directory holds `count` transactions; returns them. */
export function dumped(dir: string, count: number): Promise<string[]> {
  return eventually(async () => {
    const files = await dumps(dir);
    return files.length === count ? files : undefined;
  });
}

/** What a message may carry besides its recipient and subject. */
export interface Extras {
  /** The text after the header (default "hi"). */
  body?: string;
  /** ESMTP parameters after MAIL FROM (e.g. "RET=HDRS", RFC 3461). */
  mailParams?: string;
  /** ESMTP parameters after RCPT TO (e.g. "NOTIFY=SUCCESS", RFC 3461). */
  rcptParams?: string;
}

export interface Outgoing extends Extras {
  rcpt: string;
  subject: string;
}

/** `command` followed by its ESMTP parameters, if any. */
function withParams(command: string, params = ""): string {
  return `${command} ${params}`.trimEnd();
}

/** Messages from alice (local), one recipient each, in one SMTP session; returns the queue ids. */
export async function sendEach(port: number, messages: Outgoing[]): Promise<string[]> {
  const { client } = await RawClient.open(port);
  try {
    assert.match(await client.command("EHLO client.test"), /^250/);
    const ids: string[] = [];
    for (const { rcpt, subject, body = "hi", mailParams, rcptParams } of messages) {
      const mail = withParams("MAIL FROM:<alice@example.test>", mailParams);
      assert.match(await client.command(mail), /^250/);
      assert.match(await client.command(withParams(`RCPT TO:<${rcpt}>`, rcptParams)), /^250/);
      assert.match(await client.command("DATA"), /^354/);
      const reply = await client.command(
        `From: alice@example.test\r\nTo: ${rcpt}\r\nSubject: ${subject}\r\n\r\n${body}\r\n.`,
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
export async function send(
  port: number,
  rcpt: string,
  subject: string,
  extras: Extras = {},
): Promise<string> {
  return (await sendEach(port, [{ rcpt, subject, ...extras }]))[0];
}

/** The server configuration for MX routing: our dnsmasq, the sinks' port, IPv4 only. */
function dnsToml(dnsPort: number, sinkPort: number): string {
  return `dns_nameservers = ["127.0.0.1:${dnsPort}"]\n` +
    `smtp_tcp_port = "${sinkPort}"\ninet_protocols = "ipv4"\n`;
}

/**
 * One outbound test's world: a dnsmasq port, the port every sink listens on,
 * and everything the test starts, stopped in reverse order whatever happened.
 */
export class Scenario {
  readonly sinkPort = freePort();
  readonly dnsPort = freePort();
  /** The server configuration for MX routing through this scenario's dnsmasq. */
  readonly toml = dnsToml(this.dnsPort, this.sinkPort);
  readonly #stops: (() => Promise<unknown>)[] = [];

  add<T extends Child | Dnsmasq | RunningServer>(thing: T): T {
    this.#stops.push(() => thing.stop());
    return thing;
  }

  /** Removed at the end (a server's directory, a table). */
  remove(path: string): void {
    this.#stops.push(() => Deno.remove(path, { recursive: true }));
  }

  /** A sink dump directory, removed at the end. */
  async dir(): Promise<string> {
    const dir = await dumpDir();
    this.remove(dir);
    return dir;
  }

  /** dnsmasq serving only `records` under .test (once it answers for `readyName`, if given). */
  async dns(records: string[], readyName?: string): Promise<void> {
    this.add(await startDnsmasq(this.dnsPort, ["--local=/test/", ...records], readyName));
  }

  /** smtp-sink on host:sinkPort dumping into a fresh directory; returns the directory. */
  async sink(host: string): Promise<string> {
    const dir = await this.dir();
    this.add(await startSink(host, this.sinkPort, [], dir));
    return dir;
  }

  /** The server, by default configured for MX routing; stopped and its directory removed. */
  async server(opts: ServerOptions = { toml: this.toml }): Promise<RunningServer> {
    const server = await startServer(opts);
    this.remove(server.dir);
    return this.add(server);
  }

  async stopAll(): Promise<void> {
    for (const stop of this.#stops.reverse()) await stop().catch(() => {});
  }
}

/** A test body given a fresh Scenario, stopped afterwards. */
export function inScenario(body: (s: Scenario) => Promise<void>): () => Promise<void> {
  return async () => {
    const scenario = new Scenario();
    try {
      await body(scenario);
    } finally {
      await scenario.stopAll();
    }
  };
}
