/**
 * Outbound destinations end to end: the real server, dnsmasq serving an MX
 * that points to a dead loopback address, and Postfix's smtp-sink(1) reached
 * through smtp_fallback_relay (postconf(5)); a relayhost list (Postfix 3.5)
 * is tried in order the same way.
 */
import assert from "node:assert/strict";
import { connect } from "node:net";
import { join } from "node:path";
import { findPeer, requirePeer } from "../peers.ts";
import { freePort } from "../peers/postfix.ts";
import { startDnsmasq } from "../peers/dnsmasq.ts";
import { RawClient } from "../smtpd/helpers.ts";
import { eventually, startServer } from "./harness.ts";

const sinkPeer = requirePeer("smtp-sink", "postfix");
const dnsmasqPeer = requirePeer("dnsmasq", "dnsmasq-base");

async function waitTcp(host: string, port: number): Promise<void> {
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

/** smtp-sink on 127.0.0.1:port writing each transaction to a file in `dump`; stopped by its PID. */
async function startSink(port: number, dump: string) {
  const user = Deno.uid() === 0 ? ["-u", "nobody"] : [];
  const child = new Deno.Command(findPeer("smtp-sink")!, {
    args: [...user, "-d", join(dump, "msg."), `127.0.0.1:${port}`, "10"],
    stdout: "null",
    stderr: "null",
  }).spawn();
  await waitTcp("127.0.0.1", port);
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

async function dumpDir(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "facteur-sink-" });
  await Deno.chmod(dir, 0o777); // smtp-sink runs as nobody under root
  return dir;
}

async function dumps(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) out.push(await Deno.readTextFile(join(dir, e.name)));
  return out;
}

/** One message from alice to `rcpt` over SMTP; returns the queue id. */
async function send(port: number, rcpt: string, subject: string): Promise<string> {
  const { client } = await RawClient.open(port);
  try {
    assert.match(await client.command("EHLO client.test"), /^250/);
    assert.match(await client.command("MAIL FROM:<alice@example.test>"), /^250/);
    assert.match(await client.command(`RCPT TO:<${rcpt}>`), /^250/);
    assert.match(await client.command("DATA"), /^354/);
    const reply = await client.command(
      `From: alice@example.test\r\nSubject: ${subject}\r\n\r\nhi\r\n.`,
    );
    const id = reply.match(/^250 2\.0\.0 Ok: queued as (\S+)/)?.[1];
    assert.ok(id, reply);
    await client.command("QUIT");
    return id;
  } finally {
    client.close();
  }
}

/** The one message the sink received. */
async function received(dir: string): Promise<string> {
  const files = await eventually(async () => {
    const files = await dumps(dir);
    return files.length === 1 ? files : undefined;
  });
  return files[0];
}

Deno.test({
  name: "smtp_fallback_relay: the MX host is dead, the message reaches the sink via the fallback",
  ignore: sinkPeer.ignore || dnsmasqPeer.ignore,
  fn: async () => {
    const sinkPort = freePort();
    const dnsPort = freePort();
    const dns = await startDnsmasq(dnsPort, [
      "--local=/test/",
      "--mx-host=remote.test,mx.remote.test,10",
      "--host-record=mx.remote.test,127.0.0.3", // nothing listens: connection refused
    ]);
    const dir = await dumpDir();
    const sink = await startSink(sinkPort, dir);
    const server = await startServer({
      toml: `dns_nameservers = ["127.0.0.1:${dnsPort}"]\n` +
        `smtp_tcp_port = "${sinkPort}"\ninet_protocols = "ipv4"\n` +
        `smtp_fallback_relay = "[127.0.0.1]:${sinkPort}"\n`,
    });
    try {
      const id = await send(server.port, "carol@remote.test", "via the fallback relay");
      await server.waitForLog(
        new RegExp(
          `${id}: to=<carol@remote\\.test>, relay=127\\.0\\.0\\.1\\[127\\.0\\.0\\.1\\]:${sinkPort}, .*status=sent`,
        ),
      );
      const got = await received(dir);
      assert.match(got, /^X-Mail-Args: <alice@example\.test>/m);
      assert.match(got, /^X-Rcpt-Args: <carol@remote\.test>/m);
      assert.match(got, /^Subject: via the fallback relay$/m);
    } finally {
      await server.stop();
      await sink.stop();
      await dns.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "relayhost list: a dead first relay, then the second one delivers",
  ...sinkPeer,
  fn: async () => {
    const sinkPort = freePort();
    const dir = await dumpDir();
    const sink = await startSink(sinkPort, dir);
    const server = await startServer({
      toml: `relayhost = "[127.0.0.3]:${sinkPort}, [127.0.0.1]:${sinkPort}"\n`,
    });
    try {
      const id = await send(server.port, "dave@remote.test", "second relay");
      await server.waitForLog(
        new RegExp(
          `${id}: to=<dave@remote\\.test>, relay=127\\.0\\.0\\.1\\[127\\.0\\.0\\.1\\]:${sinkPort}, .*status=sent`,
        ),
      );
      assert.match(await received(dir), /^Subject: second relay$/m);
    } finally {
      await server.stop();
      await sink.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
