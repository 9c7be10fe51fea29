/**
 * The Postfix peer helper: a private instance on loopback accepts a message
 * over SMTP, its virtual(8) delivers it into a Maildir under the instance
 * directory, and stop() leaves no process, no listener and no directory.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import nodemailer from "nodemailer";
import { requirePeer } from "../peers.ts";
import { postfixUnavailable, processGroup, startPostfix } from "./postfix.ts";

// A missing postfix binary: requirePeer fails on CI, skips elsewhere. Present but not root: the same.
const peer = requirePeer("postfix", "postfix");
const unavailable = peer.ignore ? null : postfixUnavailable();
const ignore = peer.ignore || (unavailable !== null && !Deno.env.get("CI"));
if (unavailable && ignore) console.log(`skipping the Postfix peer test: ${unavailable}`);

async function waitForFiles(dir: string, ms: number): Promise<string[]> {
  const deadline = Date.now() + ms;
  while (true) {
    let names: string[] = [];
    try {
      names = [...Deno.readDirSync(dir)].map((e) => e.name);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
    if (names.length > 0 || Date.now() > deadline) return names;
    await new Promise((r) => setTimeout(r, 50));
  }
}

Deno.test({
  name: "postfix peer: accepts a message, delivers it to a Maildir, stops cleanly",
  ignore,
  async fn() {
    if (unavailable) throw new Error(unavailable);
    const postfix = await startPostfix({
      mainCf: {
        virtual_mailbox_domains: "peer.test",
        virtual_mailbox_maps: "inline:{ alice@peer.test=alice/ }",
      },
    });
    try {
      const transport = nodemailer.createTransport({
        host: postfix.host,
        port: postfix.port,
        secure: false,
        ignoreTLS: true,
      });
      const info = await transport.sendMail({
        from: "sender@peer.test",
        to: "alice@peer.test",
        subject: "peer helper check",
        text: "hello from the facteur test suite\n",
      });
      transport.close();
      assert.match(info.response, /^250 /);
      assert.deepEqual(info.accepted, ["alice@peer.test"]);

      const newDir = join(postfix.mailDir, "alice", "new");
      const files = await waitForFiles(newDir, 15_000);
      assert.equal(files.length, 1, `no delivery; maillog:\n${await postfix.log()}`);
      const message = await Deno.readTextFile(join(newDir, files[0]));
      assert.match(message, /^Subject: peer helper check$/m);
      assert.match(message, /hello from the facteur test suite/);
      assert.match(await postfix.log(), /status=sent \(delivered to maildir\)/);
      assert.ok(postfix.pid, "no master.pid");
      // master, qmgr, pickup, smtpd, cleanup, virtual...: one process group.
      assert.ok((await processGroup(postfix.pid)).length > 3);
    } finally {
      await postfix.stop();
    }
    assert.deepEqual(await processGroup(postfix.pid!), []);
    await assert.rejects(Deno.stat(postfix.dir), Deno.errors.NotFound);
    await assert.rejects(Deno.connect({ hostname: "127.0.0.1", port: postfix.port }));
  },
});
