/**
 * Outbound delivery end to end: the real server relays mail from mynetworks
 * through relayhost, and by MX records from dnsmasq, to Postfix's smtp-sink(1)
 * on loopback addresses; 5xx bounces, a dead host defers.
 */
import assert from "node:assert/strict";
import { connect } from "node:net";
import { join } from "node:path";
import { findPeer, requirePeer } from "../peers.ts";
import { freePort } from "../peers/postfix.ts";
import { startDnsmasq } from "../peers/dnsmasq.ts";
import { RawClient } from "../smtpd/helpers.ts";
import { eventually, mailbox, maildirMessages, startServer } from "./harness.ts";

const sinkPeer = requirePeer("smtp-sink", "postfix");
const dnsmasqPeer = requirePeer("dnsmasq", "dnsmasq-base");

interface Child {
  stop(): Promise<void>;
}

function spawn(binary: string, args: string[]): Child {
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

/** smtp-sink on host:port; with a dump directory, each transaction becomes one file there. */
async function startSink(host: string, port: number, args: string[], dump?: string) {
  const user = Deno.uid() === 0 ? ["-u", "nobody"] : [];
  const dumpArgs = dump ? ["-d", join(dump, "msg.")] : [];
  const sink = spawn("smtp-sink", [...user, ...dumpArgs, ...args, `${host}:${port}`, "10"]);
  await waitTcp(host, port);
  return sink;
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

/** One message from alice (local) to `rcpt` over SMTP; returns the queue id. */
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

Deno.test({
  name: "relayhost [127.0.0.1]:port: mail to a remote address reaches the smtp-sink",
  ...sinkPeer,
  fn: async () => {
    const port = freePort();
    const dir = await dumpDir();
    const sink = await startSink("127.0.0.1", port, [], dir);
    const server = await startServer({ toml: `relayhost = "[127.0.0.1]:${port}"` });
    try {
      const id = await send(server.port, "bob@remote.test", "via relayhost");
      await server.waitForLog(
        new RegExp(
          `${id}: to=<bob@remote\\.test>, relay=127\\.0\\.0\\.1\\[127\\.0\\.0\\.1\\]:${port}, .*status=sent`,
        ),
      );
      const got = await eventually(async () => {
        const files = await dumps(dir);
        return files.length === 1 ? files : undefined;
      });
      assert.match(got[0], /^X-Mail-Args: <alice@example\.test>/m);
      assert.match(got[0], /^X-Rcpt-Args: <bob@remote\.test>/m);
      assert.match(got[0], /^Subject: via relayhost$/m);
      assert.match(got[0], /^X-Helo-Args: mail\.example\.test$/m);
    } finally {
      await server.stop();
      await sink.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "MX routing through dnsmasq: sent to the MX host, 5xx bounced, dead host deferred",
  ignore: sinkPeer.ignore || dnsmasqPeer.ignore,
  fn: async () => {
    const sinkPort = freePort();
    const dnsPort = freePort();
    const dns = await startDnsmasq(dnsPort, [
      "--local=/test/",
      "--mx-host=remote.test,mx1.remote.test,10",
      "--host-record=mx1.remote.test,127.0.0.2",
      "--mx-host=refuses.test,mx.refuses.test,10",
      "--host-record=mx.refuses.test,127.0.0.4",
      "--mx-host=dead.test,mx.dead.test,10",
      "--host-record=mx.dead.test,127.0.0.3",
    ]);
    const dir = await dumpDir();
    const good = await startSink("127.0.0.2", sinkPort, [], dir);
    const refusing = await startSink("127.0.0.4", sinkPort, ["-f", "RCPT"]);
    const server = await startServer({
      toml: `dns_nameservers = ["127.0.0.1:${dnsPort}"]\n` +
        `smtp_tcp_port = "${sinkPort}"\ninet_protocols = "ipv4"\n`,
    });
    try {
      const sent = await send(server.port, "carol@remote.test", "by MX");
      await server.waitForLog(
        new RegExp(
          `${sent}: to=<carol@remote\\.test>, relay=mx1\\.remote\\.test\\[127\\.0\\.0\\.2\\]:${sinkPort}, .*status=sent`,
        ),
      );
      const got = await eventually(async () => {
        const files = await dumps(dir);
        return files.length === 1 ? files : undefined;
      });
      assert.match(got[0], /^X-Rcpt-Args: <carol@remote\.test>/m);
      assert.match(got[0], /^Subject: by MX$/m);

      const bounced = await send(server.port, "dave@refuses.test", "refused");
      await server.waitForLog(
        new RegExp(
          `${bounced}: to=<dave@refuses\\.test>, relay=mx\\.refuses\\.test\\[127\\.0\\.0\\.4\\]:${sinkPort}, .*dsn=5\\.\\d+\\.\\d+, status=bounced \\(host mx\\.refuses\\.test\\[127\\.0\\.0\\.4\\] said: 5`,
        ),
      );

      // The refusal comes back to alice as an RFC 3464 report with the remote reply.
      const [report] = await eventually(async () => {
        const got = await maildirMessages(mailbox(server, "alice"));
        return got.length === 1 ? got : undefined;
      });
      const dsn = new TextDecoder().decode(report.bytes).replaceAll("\r\n", "\n");
      assert.match(dsn, /^Content-Type: multipart\/report; report-type=delivery-status/m);
      assert.match(dsn, /^Final-Recipient: rfc822; dave@refuses\.test$/m);
      assert.match(dsn, /^Action: failed$/m);
      assert.match(dsn, /^Status: 5\.\d+\.\d+$/m);
      assert.match(dsn, /^Remote-MTA: dns; mx\.refuses\.test$/m);
      assert.match(dsn, /^Diagnostic-Code: smtp; 5\d\d /m);
      assert.match(dsn, /^Subject: refused$/m, "the original's headers are returned");

      const deferred = await send(server.port, "erin@dead.test", "nobody home");
      await server.waitForLog(
        new RegExp(
          `${deferred}: to=<erin@dead\\.test>, relay=mx\\.dead\\.test\\[127\\.0\\.0\\.3\\]:${sinkPort}, .*dsn=4\\.4\\.1, status=deferred \\(connect to mx\\.dead\\.test\\[127\\.0\\.0\\.3\\]:${sinkPort}: Connection refused\\)`,
        ),
      );
    } finally {
      await server.stop();
      await good.stop();
      await refusing.stop();
      await dns.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
