/**
 * Real POP3 clients against the real listener on 127.0.0.1 with the
 * in-memory backend: python3 poplib, curl, fetchmail, getmail6. Retrieved
 * content is compared byte for byte with the stored message, line ends
 * normalised the way each client writes them.
 */
import assert from "node:assert/strict";
import { requirePeer } from "../peers.ts";
import { FakeBackend, withServer } from "./helpers.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Bare LF, dot lines (stuffing), a lone "." line. */
const MSG_LF = "From: a@example.test\nTo: alice@example.test\nSubject: one\n" +
  "Message-ID: <one@example.test>\n\nHello\n.dot line\n..two dots\n.\nbye\n";
/** CRLF and 8-bit UTF-8. */
const MSG_CRLF = "From: b@example.test\r\nTo: alice@example.test\r\nSubject: two\r\n" +
  "Message-ID: <two@example.test>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nGrüße aus Köln\r\n";
/** Large (several flushes), dot lines throughout, no final newline. */
const MSG_BIG = "From: c@example.test\nTo: alice@example.test\nSubject: three\n" +
  "Message-ID: <three@example.test>\n\n" +
  Array.from({ length: 6000 }, (_, i) => `${i % 7 === 0 ? "." : ""}line ${i} ${"x".repeat(50)}`)
    .join("\n");
const MESSAGES = [MSG_LF, MSG_CRLF, MSG_BIG];
const PASSWORD = "s3cret pass";

/** The message as sent: CRLF everywhere, ending in CRLF. */
function crlf(text: string): string {
  const t = text.replace(/\r?\n/g, "\r\n");
  return t.endsWith("\r\n") ? t : `${t}\r\n`;
}

/** The message as Unix tools store it: LF everywhere, ending in LF. */
function lf(text: string): string {
  const t = text.replace(/\r\n/g, "\n");
  return t.endsWith("\n") ? t : `${t}\n`;
}

function backend(): FakeBackend {
  const b = new FakeBackend();
  b.addUser("alice", PASSWORD, MESSAGES);
  return b;
}

async function run(
  cmd: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: Uint8Array; stderr: string }> {
  const out = await new Deno.Command(cmd, { args, env, stdout: "piped", stderr: "piped" })
    .output();
  return { code: out.code, stdout: out.stdout, stderr: dec.decode(out.stderr) };
}

const POPLIB_SCRIPT = `
import base64, json, poplib, sys
port, user, password = int(sys.argv[1]), sys.argv[2], sys.argv[3]
p = poplib.POP3("127.0.0.1", port, timeout=10)
out = {"welcome": p.getwelcome().decode()}
p.user(user)
p.pass_(password)
out["stat"] = list(p.stat())
out["list"] = [l.decode() for l in p.list()[1]]
out["uidl"] = [l.decode() for l in p.uidl()[1]]
out["retr"] = []
for n in range(1, out["stat"][0] + 1):
    resp, lines, octets = p.retr(n)
    out["retr"].append(base64.b64encode(b"\\r\\n".join(lines) + b"\\r\\n").decode())
resp, lines, octets = p.top(1, 2)
out["top"] = base64.b64encode(b"\\r\\n".join(lines) + b"\\r\\n").decode()
out["dele"] = p.dele(2).decode()
out["quit"] = p.quit().decode()
print(json.dumps(out))
`;

Deno.test({
  name: "python3 poplib: list, uidl, retr (byte for byte), top, dele, quit",
  ...requirePeer("python3", "python3"),
  fn: async () => {
    const b = backend();
    const uidls = b.inboxes.get("alice")!.map((m) => m.uidl);
    await withServer(b, async ({ port }) => {
      const r = await run("python3", ["-c", POPLIB_SCRIPT, String(port), "alice", PASSWORD]);
      assert.equal(r.code, 0, r.stderr);
      const out = JSON.parse(dec.decode(r.stdout));
      const sizes = MESSAGES.map((m) => enc.encode(crlf(m)).length);
      assert.equal(out.welcome, "+OK facteur ready.");
      assert.deepEqual(out.stat, [3, sizes[0] + sizes[1] + sizes[2]]);
      assert.deepEqual(out.list, sizes.map((s, i) => `${i + 1} ${s}`));
      assert.deepEqual(out.uidl, uidls.map((u, i) => `${i + 1} ${u}`));
      const retrieved = out.retr.map((b64: string) => atob(b64));
      // poplib gives bytes; atob gives them as latin1 code points: compare bytes.
      retrieved.forEach((got: string, i: number) => {
        assert.deepEqual(
          Uint8Array.from(got, (c) => c.charCodeAt(0)),
          enc.encode(crlf(MESSAGES[i])),
        );
      });
      assert.equal(
        atob(out.top),
        "From: a@example.test\r\nTo: alice@example.test\r\nSubject: one\r\n" +
          "Message-ID: <one@example.test>\r\n\r\nHello\r\n.dot line\r\n",
      );
      assert.equal(out.dele, "+OK Message 2 deleted");
      assert.equal(out.quit, "+OK Logging out, 1 messages deleted.");
    });
    assert.deepEqual(b.commits, [{ account: "alice", deleted: [1] }]);
    assert.equal(b.inboxes.get("alice")!.length, 2);
  },
});

Deno.test({
  name: "curl pop3://: LIST and RETR (AUTH PLAIN), content byte for byte",
  ...requirePeer("curl", "curl"),
  fn: async () => {
    await withServer(backend(), async ({ port }) => {
      const base = ["-s", "-S", "--max-time", "10", "-u", `alice:${PASSWORD}`];
      const list = await run("curl", [...base, `pop3://127.0.0.1:${port}/`]);
      assert.equal(list.code, 0, list.stderr);
      const sizes = MESSAGES.map((m) => enc.encode(crlf(m)).length);
      assert.equal(dec.decode(list.stdout), sizes.map((s, i) => `${i + 1} ${s}\r\n`).join(""));
      for (const [i, message] of MESSAGES.entries()) {
        const retr = await run("curl", [...base, `pop3://127.0.0.1:${port}/${i + 1}`]);
        assert.equal(retr.code, 0, retr.stderr);
        assert.deepEqual(retr.stdout, enc.encode(crlf(message)));
      }
      // A message number that does not exist: curl reports the server's -ERR.
      const missing = await run("curl", [...base, `pop3://127.0.0.1:${port}/9`]);
      assert.notEqual(missing.code, 0);
    });
  },
});

/** The headers fetchmail adds in front of a message (Received: ... with continuation lines). */
function withoutFetchmailTrace(text: string): string {
  return text.replace(/^Received: from [^\n]*\n(?:[ \t][^\n]*\n)*/, "");
}

async function readOut(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(`${dir}/out`)) names.push(e.name);
  names.sort();
  return await Promise.all(names.map((n) => Deno.readTextFile(`${dir}/out/${n}`)));
}

Deno.test({
  name: "fetchmail: keep mode twice (UIDL tracking fetches nothing new), then delete mode",
  ...requirePeer("fetchmail", "fetchmail"),
  fn: async () => {
    const b = backend();
    const dir = await Deno.makeTempDir({ prefix: "pop3d-fetchmail-" });
    try {
      await Deno.mkdir(`${dir}/out`);
      await withServer(b, async ({ port }) => {
        const rcText = (keep: boolean) => fetchmailRc(dir, port, keep);
        const first = await fetchmailRun(dir, await rcText(true));
        assert.equal(first.code, 0, first.stderr);
        const got = await readOut(dir);
        assert.equal(got.length, 3);
        got.forEach((text, i) => assert.equal(withoutFetchmailTrace(text), lf(MESSAGES[i])));
        assert.equal(b.inboxes.get("alice")!.length, 3, "keep: nothing deleted");

        // Second run in keep mode: the UIDs are in the id file, nothing is new (exit 1 = PS_NOMAIL).
        const second = await fetchmailRun(dir, await rcText(true));
        assert.equal(second.code, 1, second.stderr);
        assert.equal((await readOut(dir)).length, 3);

        // A new message: only it is fetched.
        b.deliver("alice", "From: d@example.test\nSubject: four\n\nnew\n");
        const third = await fetchmailRun(dir, await rcText(true));
        assert.equal(third.code, 0, third.stderr);
        const after = await readOut(dir);
        assert.equal(after.length, 4);
        assert.ok(
          after.some((t) =>
            withoutFetchmailTrace(t) === "From: d@example.test\nSubject: four\n\nnew\n"
          ),
        );

        // Delete mode: everything is fetched and removed at QUIT.
        const deleting = await fetchmailRun(dir, await rcText(false));
        assert.equal(deleting.code, 0, deleting.stderr);
        assert.equal(b.inboxes.get("alice")!.length, 0);
        assert.equal((await readOut(dir)).length, 8);
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

/** Writes the fetchmail run control file (mode 0600, as fetchmail insists) and returns its path. */
async function fetchmailRc(dir: string, port: number, keep: boolean): Promise<string> {
  const rc = `${dir}/fetchmailrc`;
  await Deno.writeTextFile(
    rc,
    `set no syslog\n` +
      `poll 127.0.0.1 with proto POP3 port ${port} and options uidl no dns\n` +
      `  user "alice" there with password "${PASSWORD}" is "alice" here\n` +
      `  options ${keep ? "keep" : "nokeep fetchall"} no rewrite sslproto ""\n` +
      `  mda "/bin/sh -c 'cat > ${dir}/out/msg-$(date +%s%N)'"\n`,
  );
  await Deno.chmod(rc, 0o600);
  return rc;
}

function fetchmailRun(dir: string, rc: string) {
  return run("fetchmail", ["-f", rc, "-i", `${dir}/fetchids`, "--nodetach"], {
    HOME: dir,
    FETCHMAILHOME: dir,
  });
}

async function maildirFiles(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(`${dir}/Maildir/new`)) names.push(e.name);
  const texts = await Promise.all(names.map((n) => Deno.readTextFile(`${dir}/Maildir/new/${n}`)));
  return texts.sort((a, b) => messageOrder(a) - messageOrder(b));
}

/** Orders retrieved messages by their Message-ID (one, two, three). */
function messageOrder(text: string): number {
  return ["<one@", "<two@", "<three@"].findIndex((id) => text.includes(id));
}

Deno.test({
  name: "getmail6: SimplePOP3Retriever into a Maildir, then read_all = false fetches nothing new",
  ...requirePeer("getmail", "getmail6"),
  fn: async () => {
    const b = backend();
    const dir = await Deno.makeTempDir({ prefix: "pop3d-getmail-" });
    try {
      for (const sub of ["cur", "new", "tmp"]) {
        await Deno.mkdir(`${dir}/Maildir/${sub}`, { recursive: true });
        await Deno.chmod(`${dir}/Maildir/${sub}`, 0o777);
      }
      // getmail refuses to deliver to a Maildir as root: it becomes `user`, who must reach the Maildir.
      await Deno.chmod(dir, 0o755);
      await Deno.chmod(`${dir}/Maildir`, 0o777);
      const asUser = Deno.uid() === 0 ? "user = nobody\n" : "";
      await withServer(b, async ({ port }) => {
        await Deno.writeTextFile(
          `${dir}/getmailrc`,
          `[retriever]\ntype = SimplePOP3Retriever\nserver = 127.0.0.1\nport = ${port}\n` +
            `username = alice\npassword = ${PASSWORD}\n\n` +
            `[destination]\ntype = Maildir\npath = ${dir}/Maildir/\n${asUser}\n` +
            `[options]\nread_all = false\ndelete = false\ndelivered_to = false\nreceived = false\n` +
            `message_log_syslog = false\nverbose = 1\n`,
        );
        const args = ["--getmaildir", dir, "--rcfile", `${dir}/getmailrc`];
        const first = await run("getmail", args, { HOME: dir });
        assert.equal(first.code, 0, first.stderr);
        const got = await maildirFiles(dir);
        assert.equal(got.length, 3);
        // getmail puts a Return-Path (POP3 carries no envelope sender) in front.
        got.forEach((text, i) => assert.equal(text, `Return-Path: <unknown>\n${lf(MESSAGES[i])}`));

        const second = await run("getmail", args, { HOME: dir });
        assert.equal(second.code, 0, second.stderr);
        assert.match(dec.decode(second.stdout), /0 messages \(0 bytes\) retrieved, 3 skipped/);
        assert.equal((await maildirFiles(dir)).length, 3);
      });
      assert.equal(b.inboxes.get("alice")!.length, 3, "delete = false: nothing removed");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
