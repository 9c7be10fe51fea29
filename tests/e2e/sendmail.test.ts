/**
 * `facteur sendmail` as cron jobs and scripts use it: a message piped in
 * from a real shell reaches the local mailbox through the running server's
 * pickup socket; -f/-F/-i behave as sendmail(1); `mailq` shows held mail
 * with "!"; with the server down, sendmail exits 75 so the caller retries.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { closedPort, deadRelayToml, facteur, shell, startAdminServer } from "./admin_helpers.ts";
import { eventually, mailbox, maildirMessages, ROOT } from "./harness.ts";

const dec = new TextDecoder();

/** The shell words that run facteur from the repository (quoted for sh). */
const FACTEUR = `'${Deno.execPath()}' run -A '${join(ROOT, "mod.ts")}'`;

/** The newest message in `user`'s Maildir/new whose text matches `pattern`. */
function delivered(dir: string, pattern: RegExp): Promise<string> {
  return eventually(async () => {
    const found = (await maildirMessages(dir)).map((m) => dec.decode(m.bytes))
      .filter((text) => pattern.test(text));
    return found.at(-1);
  });
}

Deno.test("sendmail from a shell pipe delivers; -f/-F/-i; mailq shows held mail; server down → 75", async (t) => {
  // The admin API on a fixed port, so that `facteur queue` finds it from the file.
  const { server } = await startAdminServer(deadRelayToml(), `127.0.0.1:${closedPort()}`);
  const config = server.configFile;
  const alice = mailbox(server, "alice");
  let stopped = false;
  try {
    await t.step("printf ... | facteur sendmail -t: delivered to alice's Maildir", async () => {
      const r = await shell(
        `printf 'To: alice@example.test\\nSubject: via sendmail\\n\\nhello\\n' | ` +
          `${FACTEUR} sendmail -t -C '${config}'`,
      );
      assert.equal(r.stderr, "");
      assert.equal(r.code, 0);
      const text = await delivered(alice, /^Subject: via sendmail$/m);
      assert.match(text, /^To: alice@example\.test$/m);
      assert.match(text, /\n\nhello\n$/, "the body, with LF line ends in the Maildir file");
      // Received over the local socket, not TCP: no client address.
      assert.match(text, /^Received: from .*\n\s+by mail\.example\.test \(facteur\)/m);
      assert.match(server.log(), /facteur\/pickup\[\d+\]: \w+: client=/);
    });

    await t.step("-f sets the envelope sender, -F the From: name", async () => {
      const r = await shell(
        `printf 'Subject: nightly backup\\n\\nall good\\n' | ` +
          `${FACTEUR} sendmail -f backup@example.test -F 'Backup Job' -C '${config}' alice`,
      );
      assert.equal(r.stderr, "");
      assert.equal(r.code, 0);
      const text = await delivered(alice, /^Subject: nightly backup$/m);
      assert.match(text, /^Return-Path: <backup@example\.test>$/m);
      assert.match(text, /^From: Backup Job <backup@example\.test>$/m);
      // A bare name is qualified with myorigin (default $myhostname), as Postfix's sendmail does.
      assert.match(text, /^Delivered-To: alice@mail\.example\.test$/m);
    });

    await t.step("a lone '.' line: kept with -i, ends the message without", async () => {
      const body = "Subject: cron with dots\\n\\nbefore\\n.\\nafter\\n";
      let r = await shell(`printf '${body}' | ${FACTEUR} sendmail -i -C '${config}' alice`);
      assert.equal(r.code, 0, r.stderr);
      let text = await delivered(alice, /^Subject: cron with dots$/m);
      assert.match(text, /\n\nbefore\n\.\nafter\n$/);

      r = await shell(
        `printf '${body.replace("dots", "no -i")}' | ${FACTEUR} sendmail -C '${config}' alice`,
      );
      assert.equal(r.code, 0, r.stderr);
      text = await delivered(alice, /^Subject: cron with no -i$/m);
      assert.match(text, /\n\nbefore\n$/, "sendmail(1): the dot ends the input");
    });

    await t.step("mailq lists a message put on hold with '!' after its id", async () => {
      // -v prints the server's answer, which names the queue id.
      const r = await shell(
        `printf 'Subject: far away\\n\\nhi\\n' | ` +
          `${FACTEUR} sendmail -v -f alice@example.test -C '${config}' bob@remote.test`,
      );
      assert.equal(r.code, 0, r.stderr);
      const id = r.stderr.match(/queued as ([0-9A-Z]+)/)?.[1];
      assert.ok(id, r.stderr);
      await server.waitForLog(new RegExp(`${id}: to=<bob@remote\\.test>, .*status=deferred`));

      let q = await facteur(["mailq", "-c", config]);
      assert.equal(q.code, 0, q.stderr);
      assert.match(q.stdout, new RegExp(`^${id}  +\\d+ .* alice@example\\.test$`, "m"));

      const hold = await facteur(["queue", "hold", id, "-c", config]);
      assert.equal(hold.code, 0, hold.stderr);
      assert.equal(hold.stdout, "facteur: queue: Placed on hold: 1 message\n");

      q = await facteur(["mailq", "-c", config]);
      assert.equal(q.code, 0, q.stderr);
      const lines = q.stdout.split("\n");
      assert.equal(lines[0], "-Queue ID- --Size-- ----Arrival Time---- -Sender/Recipient-------");
      // showq: id, "!" for held, size, arrival, sender; the reason; the recipient.
      assert.match(
        q.stdout,
        new RegExp(
          `^${id}!\\s+\\d+ \\w{3} \\w{3} [ \\d]\\d \\d\\d:\\d\\d:\\d\\d  alice@example\\.test\\n` +
            ` +\\(connect to 127\\.0\\.0\\.1\\[127\\.0\\.0\\.1\\]:\\d+: Connection refused\\)\\n` +
            ` {41}bob@remote\\.test\\n`,
          "m",
        ),
      );
      assert.match(q.stdout, /\n-- \d+ Kbytes in 1 Request\.\n$/);
      // sendmail -bp is mailq too.
      const bp = await shell(`${FACTEUR} sendmail -bp -C '${config}'`);
      assert.equal(bp.stdout, q.stdout);
    });

    await t.step("with the server stopped, sendmail exits 75 (EX_TEMPFAIL)", async () => {
      await server.stop();
      stopped = true;
      const r = await shell(
        `printf 'Subject: too late\\n\\nx\\n' | ${FACTEUR} sendmail -C '${config}' alice`,
      );
      assert.equal(r.code, 75);
      assert.match(
        r.stderr,
        new RegExp(
          `^sendmail: facteur is not running \\(no socket at ${
            join(server.dataDir, "public", "pickup").replace(/[.]/g, "\\.")
          }\\)`,
        ),
      );
      // Nothing half-done: the mailbox has only what was sent while it ran.
      const subjects = (await maildirMessages(alice)).map((m) =>
        dec.decode(m.bytes).match(/^Subject: (.*)$/m)?.[1]
      ).sort();
      assert.deepEqual(subjects, [
        "cron with dots",
        "cron with no -i",
        "nightly backup",
        "via sendmail",
      ]);
    });
  } finally {
    if (!stopped) await server.stop();
    await Deno.remove(server.dir, { recursive: true });
  }
});
