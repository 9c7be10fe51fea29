// A real full disk under the queue: the data directory is a 4 MiB tmpfs.
// The client gets 452 4.3.1, the session and the server go on, nothing
// half-stored is delivered, and every acknowledged message is delivered.
import assert from "node:assert/strict";
import { join } from "node:path";
import { RawClient } from "../smtpd/helpers.ts";
import { eventually, maildirMessages, startServer } from "./harness.ts";

const isRoot = Deno.uid() === 0;
if (!isRoot) console.log("skipping the disk-full test: mounting a small tmpfs needs root");

async function sh(cmd: string, args: string[]) {
  const out = await new Deno.Command(cmd, { args, stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
}

Deno.test({
  name: "disk full under the queue: 452 4.3.1, the server keeps serving, nothing is lost",
  ignore: !isRoot,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "facteur-full-" });
    const queueDir = join(dir, "data");
    await Deno.mkdir(queueDir);
    await sh("mount", ["-t", "tmpfs", "-o", "size=4m", "tmpfs", queueDir]);
    const homes = join(dir, "homes");
    const server = await startServer({ dir, toml: `local_home_base = "${homes}"` });
    try {
      const { client } = await RawClient.open(server.port);
      await client.command("EHLO full.test");
      const body = ("y".repeat(998) + "\r\n").repeat(300); // 300 KB
      const acked: number[] = [];
      let refusal = "";
      for (let n = 0; n < 40 && !refusal; n++) {
        assert.match(await client.command("MAIL FROM:<f@full.test>"), /^250/);
        assert.match(await client.command("RCPT TO:<alice@example.test>"), /^250/);
        assert.match(await client.command("DATA"), /^354/);
        const reply = await client.command(`Subject: full ${n}\r\n\r\n${body}.`, 20000);
        if (reply.startsWith("250")) acked.push(n);
        else refusal = reply;
      }
      assert.match(refusal, /^452 4\.3\.1 /, "the disk filled up before 40 messages of 300 KB");
      // The session is still usable and another client is served.
      assert.match(await client.command("RSET"), /^250 2\.0\.0/);
      assert.match(await client.command("NOOP"), /^250 2\.0\.0/);
      const other = (await RawClient.open(server.port)).client;
      assert.match(await other.command("EHLO other.test"), /^250/);
      assert.match(await other.command("QUIT"), /^221/);
      other.close();
      await client.command("QUIT");
      client.close();

      const numbers = await eventually(async () => {
        const files = await maildirMessages(join(homes, "alice", "Maildir"));
        const n = files.map((f) =>
          Number(/\nSubject: full (\d+)\n/.exec(new TextDecoder().decode(f.bytes))?.[1])
        );
        return n.length >= acked.length ? n : undefined;
      }, 30000);
      assert.deepEqual(numbers.sort((a, b) => a - b), acked, "exactly the acknowledged messages");
    } finally {
      await server.stop();
      await sh("umount", [queueDir]);
      await Deno.remove(dir, { recursive: true });
    }
  },
});
