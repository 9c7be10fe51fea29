/**
 * LMTP delivery to a real Dovecot: a private instance (own base_dir, no TLS,
 * a passwd-file user, Maildir storage, an LMTP listener on a loopback port)
 * started by the test; facteur routes dove.test to it with
 * transport_maps = "lmtp:inet:127.0.0.1:PORT". A known user gets the message
 * in its Maildir; an unknown one is bounced on its own with Dovecot's 5.1.1.
 */
import assert from "node:assert/strict";
import { connect } from "node:net";
import { join } from "node:path";
import { findPeer, requirePeer } from "../peers.ts";
import { freePort } from "../peers/postfix.ts";
import { RawClient } from "../smtpd/helpers.ts";
import { eventually, maildirMessages, startServer } from "./harness.ts";

const dovecotPeer = requirePeer("dovecot", "dovecot-core dovecot-lmtpd");

interface Dovecot {
  port: number;
  maildir(user: string): string;
  log(): Promise<string>;
  stop(): Promise<void>;
}

/** The smallest configuration found to work as root: mail stored as nobody. */
function dovecotConf(dir: string, port: number): string {
  return `base_dir = ${dir}/run
state_dir = ${dir}/state
log_path = ${dir}/dovecot.log
protocols = lmtp
ssl = no
# Users are looked up by local part: alice@dove.test is alice.
auth_username_format = %Ln
passdb {
  driver = passwd-file
  args = ${dir}/users
}
userdb {
  driver = passwd-file
  args = ${dir}/users
}
mail_location = maildir:${dir}/mail/%u/Maildir
service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = ${port}
  }
}
`;
}

async function startDovecot(): Promise<Dovecot> {
  const dir = await Deno.makeTempDir({ prefix: "facteur-dovecot-" });
  await Deno.mkdir(join(dir, "mail"));
  await Deno.chmod(dir, 0o755);
  await Deno.chmod(join(dir, "mail"), 0o777); // mail is written as uid 65534
  // passwd-file: user:password:uid:gid:gecos:home:shell
  await Deno.writeTextFile(
    join(dir, "users"),
    `alice:{PLAIN}secret:65534:65534::${dir}/mail/alice::\n`,
  );
  const port = freePort();
  const conf = join(dir, "dovecot.conf");
  await Deno.writeTextFile(conf, dovecotConf(dir, port));
  const child = new Deno.Command(findPeer("dovecot")!, {
    args: ["-F", "-c", conf],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const log = () => Deno.readTextFile(join(dir, "dovecot.log")).catch(() => "");
  const stop = async () => {
    try {
      Deno.kill(child.pid, "SIGTERM");
    } catch {
      // already exited
    }
    await child.status;
    await stderr;
    await Deno.remove(dir, { recursive: true });
  };
  try {
    await eventually(() => canConnect(port), 10000);
  } catch {
    const why = `${await log()}\n${await Promise.race([stderr, Promise.resolve("")])}`;
    await stop();
    throw new Error(`dovecot did not start:\n${why}`);
  }
  return { port, maildir: (user) => join(dir, "mail", user, "Maildir"), log, stop };
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: "127.0.0.1", port });
    s.once("connect", () => (s.destroy(), resolve(true)));
    s.once("error", () => resolve(false));
  });
}

const BODY = "Line one, with trailing spaces   \r\n..a line that starts with a dot\r\n" +
  "caf\u00e9 is 8-bit\r\nlast line\r\n";

Deno.test({
  name: "lmtp:inet:127.0.0.1:PORT to Dovecot: delivered to its Maildir; unknown user bounced 5.1.1",
  ...dovecotPeer,
  fn: async () => {
    const dovecot = await startDovecot();
    const server = await startServer({
      toml: `transport_maps = "inline:{ dove.test=lmtp:inet:127.0.0.1:${dovecot.port} }"\n`,
    });
    try {
      const { client } = await RawClient.open(server.port);
      assert.match(await client.command("EHLO client.test"), /^250/);
      assert.match(await client.command("MAIL FROM:<bob@example.test> BODY=8BITMIME"), /^250/);
      assert.match(await client.command("RCPT TO:<alice@dove.test>"), /^250/);
      assert.match(await client.command("RCPT TO:<nosuchuser@dove.test>"), /^250/);
      assert.match(await client.command("DATA"), /^354/);
      // SMTP dot-stuffing: the ".." line arrives as "." (RFC 5321 4.5.2).
      const reply = await client.command(
        `Subject: to dovecot\r\n\r\n${BODY.replace(/^\./m, "..")}.`,
      );
      const id = reply.match(/^250 2\.0\.0 Ok: queued as (\S+)/)?.[1];
      assert.ok(id, reply);
      await client.command("QUIT");
      client.close();

      const relay = `relay=127\\.0\\.0\\.1\\[127\\.0\\.0\\.1\\]:${dovecot.port}`;
      await server.waitForLog(
        new RegExp(`${id}: to=<alice@dove\\.test>, ${relay}, .*status=sent`),
      );
      await server.waitForLog(
        new RegExp(
          `${id}: to=<nosuchuser@dove\\.test>, ${relay}, .*dsn=5\\.1\\.1, status=bounced \\(.*5\\.1\\.1`,
        ),
      );

      const stored = await eventually(async () => {
        const files = await maildirMessages(dovecot.maildir("alice"));
        return files.length === 1 ? files : undefined;
      });
      const text = new TextDecoder().decode(stored[0].bytes);
      assert.match(text, /^Subject: to dovecot$/m);
      // Dovecot stores Maildir files with LF line ends; the body is otherwise byte for byte.
      const bytes = stored[0].bytes;
      const end = bytes.findIndex((b, i) => b === 0x0a && bytes[i + 1] === 0x0a);
      const body = bytes.slice(end + 2);
      assert.deepEqual(body, new TextEncoder().encode(BODY.replaceAll("\r\n", "\n")));
      assert.match(await dovecot.log(), /lmtp\(alice\).*saved mail to INBOX/);
    } finally {
      await server.stop();
      await dovecot.stop();
    }
  },
});
