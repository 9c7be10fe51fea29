/** The client against Postfix's smtp-sink(1), which fails, defers or hangs up on chosen commands. */
import assert from "node:assert/strict";
import { connect } from "node:net";
import { join } from "node:path";
import {
  deliverSmtp,
  type SmtpMessage,
  type SmtpOutcome,
  type SmtpSettings,
  type SmtpTarget,
} from "../../../src/transports/smtp/client.ts";
import { findPeer, requirePeer } from "../../peers.ts";
import { freePort } from "../../peers/postfix.ts";

const sinkPeer = requirePeer("smtp-sink", "postfix");

/** Runs smtp-sink with `args` on `listen` ("127.0.0.1:port" or "unix:/path") for the duration of `fn`. */
async function withSink(args: string[], listen: string, fn: () => Promise<void>): Promise<void> {
  const user = Deno.uid() === 0 ? ["-u", "nobody"] : [];
  const child = new Deno.Command(findPeer("smtp-sink")!, {
    args: [...user, ...args, listen, "10"],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  try {
    await waitListening(listen);
    await fn();
  } finally {
    child.kill("SIGTERM");
    await child.status;
    await child.stderr.cancel();
  }
}

async function waitListening(listen: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = listen.startsWith("unix:")
        ? connect({ path: listen.slice(5) })
        : connect({ host: "127.0.0.1", port: Number(listen.split(":")[1]) });
      s.once("connect", () => (s.destroy(), resolve(true)));
      s.once("error", () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`smtp-sink did not start on ${listen}`);
}

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

const message: SmtpMessage = {
  sender: "s@example.test",
  recipients: [{ index: 0, address: "a@example.test" }, { index: 1, address: "b@example.test" }],
  content: new TextEncoder().encode("Subject: sink\r\n\r\n.dot\r\nbody\r\n"),
};

/** Runs one delivery against smtp-sink started with `args`. */
async function deliverTo(
  args: string[],
  lmtp = false,
): Promise<{ out: SmtpOutcome; server: string }> {
  if (lmtp) {
    const dir = await Deno.makeTempDir();
    await Deno.chmod(dir, 0o777); // smtp-sink drops to nobody
    const path = join(dir, "lmtp.sock");
    const target: SmtpTarget = { host: "localhost", path };
    let out: SmtpOutcome | undefined;
    await withSink(["-L", ...args], `unix:${path}`, async () => {
      out = await deliverSmtp(target, message, settings, { lmtp: true });
    });
    await Deno.remove(dir, { recursive: true });
    return { out: out!, server: `localhost[${path}]` };
  }
  const port = freePort();
  let out: SmtpOutcome | undefined;
  await withSink(args, `127.0.0.1:${port}`, async () => {
    out = await deliverSmtp({ host: "sink.test", address: "127.0.0.1", port }, message, settings);
  });
  return { out: out!, server: "sink.test[127.0.0.1]" };
}

Deno.test({
  name: "smtp-sink: pipelined delivery to two recipients, both sent",
  ...sinkPeer,
  fn: async () => {
    const { out } = await deliverTo([]);
    assert.ok(out.kind === "done");
    assert.deepEqual(out.results.map((r) => [r.index, r.status, r.dsn]), [[0, "sent", "2.0.0"], [
      1,
      "sent",
      "2.0.0",
    ]]);
    assert.match(out.results[0].reason, /^250 2\.0\.0 Ok/);
  },
});

Deno.test({
  name: "smtp-sink -r RCPT: every recipient deferred with the server's 4xx reply",
  ...sinkPeer,
  fn: async () => {
    const { out, server } = await deliverTo(["-r", "RCPT"]);
    assert.ok(out.kind === "done");
    for (const r of out.results) {
      assert.equal(r.status, "deferred");
      assert.equal(r.dsn, "4.3.0");
      assert.equal(
        r.reason,
        `host ${server} said: 450 4.3.0 Error: command failed (in reply to RCPT TO command)`,
      );
    }
  },
});

Deno.test({
  name: "smtp-sink -f MAIL: every recipient bounced in reply to MAIL FROM",
  ...sinkPeer,
  fn: async () => {
    const { out, server } = await deliverTo(["-f", "MAIL"]);
    assert.ok(out.kind === "done");
    for (const r of out.results) {
      assert.equal(r.status, "bounced");
      assert.equal(r.dsn, "5.3.0");
      assert.equal(
        r.reason,
        `host ${server} said: 500 5.3.0 Error: command failed (in reply to MAIL FROM command)`,
      );
    }
  },
});

Deno.test({
  name: "smtp-sink -f .: the end-of-data refusal applies to all recipients",
  ...sinkPeer,
  fn: async () => {
    const { out, server } = await deliverTo(["-f", "."]);
    assert.ok(out.kind === "done");
    for (const r of out.results) {
      assert.equal(r.status, "bounced");
      assert.equal(
        r.reason,
        `host ${server} said: 500 5.3.0 Error: command failed (in reply to end of DATA command)`,
      );
    }
  },
});

Deno.test({
  name: "smtp-sink -q DATA: hanging up is a lost connection, deferred 4.4.2",
  ...sinkPeer,
  fn: async () => {
    const { out, server } = await deliverTo(["-q", "DATA"]);
    assert.ok(out.kind === "done");
    for (const r of out.results) {
      assert.equal(r.status, "deferred");
      assert.equal(r.dsn, "4.4.2");
      assert.equal(r.reason, `lost connection with ${server} while sending DATA command`);
    }
  },
});

Deno.test({
  name: "smtp-sink -f EHLO: HELO fallback, then delivery",
  ...sinkPeer,
  fn: async () => {
    const { out } = await deliverTo(["-f", "EHLO"]);
    assert.ok(out.kind === "done");
    assert.deepEqual(out.results.map((r) => r.status), ["sent", "sent"]);
  },
});

Deno.test({
  name: "smtp-sink -q CONNECT: hang-up before the greeting fails the session",
  ...sinkPeer,
  fn: async () => {
    const { out, server } = await deliverTo(["-q", "CONNECT"]);
    assert.ok(out.kind === "failed");
    assert.equal(out.temporary, true);
    assert.equal(
      out.reason,
      `lost connection with ${server} while receiving the initial server greeting`,
    );
  },
});

Deno.test({
  name: "smtp-sink -L over a unix socket: LMTP, one reply per recipient",
  ...sinkPeer,
  fn: async () => {
    const { out } = await deliverTo([], true);
    assert.ok(out.kind === "done");
    assert.deepEqual(out.results.map((r) => r.status), ["sent", "sent"]);
    assert.match(out.relay, /^localhost\[\/.*lmtp\.sock\]$/);
  },
});
