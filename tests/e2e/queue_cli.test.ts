/**
 * The operator's queue commands against the real server: mail for a dead
 * relayhost is deferred and listed with its reason; hold, release and
 * delete change the listing; ETRN and `facteur queue flush` deliver it once
 * the relayhost (Postfix's smtp-sink) listens.
 */
import assert from "node:assert/strict";
import { connect } from "node:net";
import { join } from "node:path";
import { findPeer, requirePeer } from "../peers.ts";
import { freePort } from "../peers/postfix.ts";
import { RawClient } from "../smtpd/helpers.ts";
import { ROOT, startServer } from "./harness.ts";

const sinkPeer = requirePeer("smtp-sink", "postfix");

/** `facteur queue ARGS -c config`, as an operator runs it. */
async function queueCli(configFile: string, ...args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", join(ROOT, "mod.ts"), "queue", ...args, "-c", configFile],
    env: { NO_COLOR: "1" },
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

async function send(port: number, rcpt: string): Promise<string> {
  const { client } = await RawClient.open(port);
  try {
    await client.command("EHLO client.test");
    await client.command("MAIL FROM:<alice@example.test>");
    assert.match(await client.command(`RCPT TO:<${rcpt}>`), /^250/);
    await client.command("DATA");
    const reply = await client.command(`Subject: to ${rcpt}\r\n\r\nhi\r\n.`);
    const id = reply.match(/queued as (\S+)/)?.[1];
    assert.ok(id, reply);
    await client.command("QUIT");
    return id;
  } finally {
    client.close();
  }
}

async function startSink(port: number) {
  const user = Deno.uid() === 0 ? ["-u", "nobody"] : [];
  const child = new Deno.Command(findPeer("smtp-sink")!, {
    args: [...user, `127.0.0.1:${port}`, "10"],
    stdout: "null",
    stderr: "null",
  }).spawn();
  for (let i = 0; i < 100; i++) {
    const up = await new Promise<boolean>((resolve) => {
      const s = connect({ host: "127.0.0.1", port });
      s.once("connect", () => (s.destroy(), resolve(true)));
      s.once("error", () => resolve(false));
    });
    if (up) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    stop: async () => {
      try {
        Deno.kill(child.pid, "SIGTERM");
      } catch { /* exited */ }
      await child.status;
    },
  };
}

Deno.test({
  name: "queue list/hold/release/delete, ETRN and flush deliver deferred mail once the relay is up",
  ...sinkPeer,
  fn: async () => {
    const port = freePort();
    // A long backoff: deferred mail is delivered again only when flushed.
    const server = await startServer({
      toml: `relayhost = "[127.0.0.1]:${port}"\nminimal_backoff_time = "1000s"\n` +
        `maximal_backoff_time = "4000s"\nqueue_run_delay = "1000s"\n` +
        `fast_flush_domains = ["remote.test"]\n`,
    });
    let sink: { stop(): Promise<void> } | undefined;
    try {
      const a = await send(server.port, "bob@remote.test");
      const b = await send(server.port, "carol@other.test");
      const c = await send(server.port, "dave@third.test");
      for (const id of [a, b, c]) {
        await server.waitForLog(new RegExp(`${id}: to=<[^>]+>, .*status=deferred`));
      }
      assert.equal(
        Deno.readTextFileSync(join(server.dataDir, "facteur.pid")).trim(),
        String(server.log().match(/facteur\/master\[(\d+)\]/)?.[1] ?? ""),
        "the pid file names the server",
      );

      let list = await queueCli(server.configFile, "list");
      assert.equal(list.code, 0, list.stderr);
      const lines = list.stdout.split("\n");
      assert.equal(lines[0], "-Queue ID- --Size-- ----Arrival Time---- -Sender/Recipient-------");
      assert.match(
        list.stdout,
        new RegExp(
          `^${a} +\\d+ \\w{3} \\w{3} [ \\d]\\d \\d\\d:\\d\\d:\\d\\d  alice@example\\.test$`,
          "m",
        ),
      );
      assert.match(
        list.stdout,
        new RegExp(
          `\\(connect to 127\\.0\\.0\\.1\\[127\\.0\\.0\\.1\\]:${port}: Connection refused\\)\\n {41}bob@remote\\.test\\n`,
        ),
      );
      assert.match(list.stdout, /-- \d+ Kbytes in 3 Requests\.\n$/);

      const json = await queueCli(server.configFile, "list", "--json");
      const entries = json.stdout.trim().split("\n").map((l) => JSON.parse(l));
      assert.deepEqual(entries.map((e) => e.queue_id).sort(), [a, b, c].sort());
      assert.match(
        entries.find((e) => e.queue_id === c).recipients[0].delay_reason,
        /Connection refused/,
      );

      // postsuper -h / -H / -d
      let r = await queueCli(server.configFile, "hold", c);
      assert.equal(r.stdout, "facteur: queue: Placed on hold: 1 message\n");
      list = await queueCli(server.configFile, "list");
      assert.match(list.stdout, new RegExp(`^${c}! `, "m"));
      r = await queueCli(server.configFile, "release", c);
      assert.equal(r.stdout, "facteur: queue: Released from hold: 1 message\n");
      list = await queueCli(server.configFile, "list");
      assert.match(list.stdout, new RegExp(`^${c}  `, "m"));
      r = await queueCli(server.configFile, "delete", c);
      assert.equal(r.stdout, "facteur: queue: Deleted: 1 message\n");
      list = await queueCli(server.configFile, "list");
      assert.ok(!list.stdout.includes(c));
      assert.match(list.stdout, /in 2 Requests\./);
      r = await queueCli(server.configFile, "delete", "NOSUCHID99");
      assert.equal(r.code, 1);
      assert.equal(r.stderr, "facteur: queue: no message with id NOSUCHID99\n");

      sink = await startSink(port);

      // ETRN: only fast_flush_domains, and only that domain's mail.
      const { client } = await RawClient.open(server.port);
      try {
        assert.match(await client.command("EHLO client.test"), /^250-ETRN$/m);
        assert.equal(
          await client.command("ETRN other.test"),
          "459 <other.test>: service unavailable",
        );
        assert.equal(await client.command("ETRN remote.test"), "250 Queuing started");
        await client.command("QUIT");
      } finally {
        client.close();
      }
      await server.waitForLog(new RegExp(`${a}: to=<bob@remote\\.test>, .*status=sent`));
      list = await queueCli(server.configFile, "list");
      assert.ok(list.stdout.includes(b) && !list.stdout.includes(a), list.stdout);

      // flush --domain outside fast_flush_domains is refused; a plain flush takes everything.
      r = await queueCli(server.configFile, "flush", "--domain", "other.test");
      assert.equal(r.code, 1);
      assert.match(r.stderr, /other\.test is not eligible for flushing \(fast_flush_domains\)/);
      r = await queueCli(server.configFile, "flush");
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^facteur: queue: 1 message due now; server \(pid \d+\) woken\n$/);
      await server.waitForLog(new RegExp(`${b}: to=<carol@other\\.test>, .*status=sent`));
      list = await queueCli(server.configFile, "list");
      assert.equal(list.stdout, "Mail queue is empty\n");
    } finally {
      await server.stop();
      await sink?.stop();
    }

    // Stopped: the pid file is gone and flush says so.
    assert.throws(() => Deno.statSync(join(server.dataDir, "facteur.pid")), Deno.errors.NotFound);
    const r = await queueCli(server.configFile, "flush");
    assert.equal(r.code, 0);
    assert.equal(r.stdout, "facteur: queue: 0 messages due now; no running server found\n");
    await Deno.remove(server.dir, { recursive: true });
  },
});
