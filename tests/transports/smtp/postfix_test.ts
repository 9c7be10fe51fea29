/** The client against a real Postfix smtpd(8) on loopback (tests/peers/postfix.ts). */
import assert from "node:assert/strict";
import { join } from "node:path";
import { deliverSmtp, type SmtpSettings } from "../../../src/transports/smtp/client.ts";
import { requirePeer } from "../../peers.ts";
import { postfixUnavailable, startPostfix } from "../../peers/postfix.ts";

const peer = requirePeer("postfix", "postfix");
const unavailable = peer.ignore ? null : postfixUnavailable();
const ignore = peer.ignore || (unavailable !== null && !Deno.env.get("CI"));
if (unavailable && ignore) console.log(`skipping the Postfix client test: ${unavailable}`);

const settings: SmtpSettings = {
  heloName: "client.test",
  tlsSecurityLevel: "",
  timeouts: {
    connect: 5000,
    helo: 5000,
    mail: 5000,
    rcpt: 5000,
    dataInit: 5000,
    dataXfer: 5000,
    dataDone: 5000,
    quit: 5000,
  },
};

async function waitForFile(dir: string, ms: number): Promise<string | undefined> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    try {
      const first = [...Deno.readDirSync(dir)][0];
      if (first) return join(dir, first.name);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return undefined;
}

Deno.test({
  name: "postfix: one recipient accepted and delivered byte-exact, an unknown one bounced 5.1.1",
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
      const body = "Subject: from facteur\r\n\r\n.leading dot\r\ncaf\u00e9\r\n";
      const out = await deliverSmtp(
        { host: "localhost", address: postfix.host, port: postfix.port },
        {
          sender: "sender@peer.test",
          recipients: [{ index: 0, address: "alice@peer.test" }, {
            index: 1,
            address: "bob@peer.test",
          }],
          content: new TextEncoder().encode(body),
        },
        settings,
      );
      assert.ok(out.kind === "done");
      assert.equal(out.results[0].status, "sent");
      assert.match(out.results[0].reason, /^250 2\.0\.0 Ok: queued as \w+$/);
      assert.equal(out.results[1].status, "bounced");
      assert.equal(out.results[1].dsn, "5.1.1");
      assert.match(
        out.results[1].reason,
        /^host localhost\[127\.0\.0\.1\] said: 550 5\.1\.1 <bob@peer\.test>: Recipient address rejected: .* \(in reply to RCPT TO command\)$/,
      );
      const file = await waitForFile(join(postfix.mailDir, "alice", "new"), 10_000);
      assert.ok(file, "Postfix did not deliver the message");
      const stored = await Deno.readTextFile(file);
      // virtual(8) stores LF line ends; cleanup(8) adds missing headers. The dot
      // was un-stuffed and the 8-bit text kept.
      assert.match(stored, /^Subject: from facteur$/m);
      assert.ok(stored.endsWith("\n\n.leading dot\ncaf\u00e9\n"), stored);
    } finally {
      await postfix.stop();
    }
  },
});
