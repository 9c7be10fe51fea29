/**
 * POP3 end to end: a user made with `facteur user add` gets mail over SMTP
 * and retrieves it from the real server with clients nobody here wrote
 * (python3 poplib, curl, fetchmail), byte for byte; deletions happen at
 * QUIT only; a second session gets [IN-USE]; a wrong password [AUTH].
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { requirePeer } from "../peers.ts";
import { startServer } from "./harness.ts";
import { facteur, send } from "./users_helpers.ts";

const python = requirePeer("python3", "python3");
const curl = requirePeer("curl", "curl");
const fetchmail = requirePeer("fetchmail", "fetchmail");
const getmail = requirePeer("getmail", "getmail6");

const TOML = `
virtual_mailbox_domains = "facteur:domains"
virtual_mailbox_maps = "facteur:users"
virtual_mailbox_base = "./vmail"

[services.smtp]
listen = "127.0.0.1:0"

[services.pop3]
command = "pop3d"
listen = "127.0.0.1:0"
`;

async function run(cmd: string, args: string[], stdin = "") {
  const child = new Deno.Command(cmd, { args, stdin: "piped", stdout: "piped", stderr: "piped" })
    .spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(stdin));
  await writer.close();
  const out = await child.output();
  const d = new TextDecoder();
  return { code: out.code, stdout: d.decode(out.stdout), stderr: d.decode(out.stderr) };
}

/** carol's messages (new/ and cur/) as POP3 must send them (CRLF), sorted by content. */
async function carolFiles(dir: string): Promise<string[]> {
  const maildir = join(dir, "vmail", "virt.test", "carol");
  const paths = ["new", "cur"].flatMap((sub) =>
    [...Deno.readDirSync(join(maildir, sub))].map((e) => join(maildir, sub, e.name))
  );
  const texts = await Promise.all(paths.map((p) => Deno.readTextFile(p)));
  return texts.map((t) => t.replace(/\r?\n/g, "\r\n")).sort();
}

Deno.test({
  name: "POP3: poplib, curl, fetchmail and getmail6 retrieve what SMTP delivered, byte for byte",
  ignore: python.ignore || curl.ignore || fetchmail.ignore || getmail.ignore,
  fn: async () => {
    const server = await startServer({ toml: TOML });
    const cleanups: (() => Promise<void>)[] = [];
    try {
      const [, pop3Port] = await server.waitForLog(
        /pop3 \(pop3d\) listening on 127\.0\.0\.1:(\d+)/,
      );
      const c = ["-c", server.configFile];
      assert.equal((await facteur(["domain", "add", "virt.test", ...c])).code, 0);
      const added = await facteur(
        ["user", "add", "carol@virt.test", "--password-stdin", ...c],
        "s3cret\n",
      );
      assert.equal(added.code, 0, added.stderr);
      for (const subject of ["one", "two"]) {
        const r = await send(server.port, ["carol@virt.test"], subject);
        assert.match(r.data ?? "", /^250 /);
      }
      await server.waitForLog(
        /to=<carol@virt\.test>.*status=sent[\s\S]*to=<carol@virt\.test>.*status=sent/,
      );

      // python3 poplib: STAT, UIDL, RETR, DELE, QUIT.
      const script = `
import poplib, sys, json
p = poplib.POP3("127.0.0.1", ${pop3Port}, timeout=10)
p.user("carol@virt.test"); p.pass_("s3cret")
count, size = p.stat()
uidl = [l.decode().split()[1] for l in p.uidl()[1]]
msgs = [b"\\r\\n".join(p.retr(i)[1]).decode() + "\\r\\n" for i in (1, 2)]
# A second session while this one holds the maildrop.
q = poplib.POP3("127.0.0.1", ${pop3Port}, timeout=10)
q.user("carol@virt.test")
try:
    q.pass_("s3cret"); inuse = "none"
except poplib.error_proto as e:
    inuse = e.args[0].decode()
q.quit()
p.dele(1)
p.quit()
print(json.dumps({"count": count, "size": size, "uidl": uidl, "msgs": msgs, "inuse": inuse}))
`;
      const before = await carolFiles(server.dir);
      const py = await run("python3", ["-c", script]);
      assert.equal(py.code, 0, py.stderr);
      const got = JSON.parse(py.stdout);
      assert.equal(got.count, 2);
      assert.equal(got.size, before.reduce((n, m) => n + new TextEncoder().encode(m).length, 0));
      // poplib undoes the dot-stuffing; the messages are the Maildir files with CRLF line ends.
      assert.deepEqual([...got.msgs].sort(), before);
      assert.match(got.msgs[0], /^Subject: one\r$/m);
      assert.match(got.inuse, /^-ERR \[IN-USE\]/);
      // UIDLs are the Maildir base names.
      const cur = [...Deno.readDirSync(join(server.dir, "vmail", "virt.test", "carol", "cur"))];
      assert.equal(cur.length, 1, "DELE took effect at QUIT");
      assert.ok(got.uidl.some((u: string) => cur[0].name.startsWith(u)));

      // A wrong password: [AUTH], and the maildrop is untouched.
      const bad = await run("python3", [
        "-c",
        `import poplib\np = poplib.POP3("127.0.0.1", ${pop3Port})\np.user("carol@virt.test")\ntry:\n  p.pass_("nope")\nexcept poplib.error_proto as e:\n  print(e.args[0].decode())`,
      ]);
      assert.match(bad.stdout, /^-ERR \[AUTH\]/);

      // curl pop3://: LIST, then RETR of the message left.
      const url = `pop3://127.0.0.1:${pop3Port}`;
      const list = await run("curl", ["-sS", "-u", "carol@virt.test:s3cret", `${url}/`]);
      assert.equal(list.code, 0, list.stderr);
      assert.match(list.stdout, /^1 \d+\r?\n$/);
      const retr = await run("curl", ["-sS", "-u", "carol@virt.test:s3cret", `${url}/1`]);
      assert.equal(retr.stdout, (await carolFiles(server.dir))[0]);

      // fetchmail: keep mode delivers to an mda that writes a file; the message is the same.
      const out = join(server.dir, "fetched.eml");
      const rc = join(server.dir, "fetchmailrc");
      await Deno.writeTextFile(
        rc,
        `poll 127.0.0.1 service ${pop3Port} protocol pop3 auth password\n` +
          `  user "carol@virt.test" password "s3cret" keep sslproto "" mda "cat > ${out}"\n`,
      );
      await Deno.chmod(rc, 0o600);
      const fm = await run("fetchmail", ["-f", rc, "--nosyslog", "-s"], "");
      assert.equal(fm.code, 0, fm.stdout + fm.stderr);
      const fetched = await Deno.readTextFile(out);
      assert.match(fetched, /^Subject: two$/m);
      assert.equal((await carolFiles(server.dir)).length, 1, "keep: still on the server");

      // getmail6 into a Maildir, twice: the second run skips what it has (UIDL), nothing deleted.
      // Its own directory: as root getmail delivers as nobody, who cannot enter the server's.
      const gm = await Deno.makeTempDir({ prefix: "facteur-getmail-" });
      cleanups.push(() => Deno.remove(gm, { recursive: true }));
      for (const sub of ["cur", "new", "tmp"]) {
        await Deno.mkdir(join(gm, "Maildir", sub), { recursive: true });
        await Deno.chmod(join(gm, "Maildir", sub), 0o777);
      }
      // As root getmail delivers as `user`, who must reach the Maildir.
      await Deno.chmod(gm, 0o755);
      await Deno.chmod(join(gm, "Maildir"), 0o777);
      await Deno.writeTextFile(
        join(gm, "getmailrc"),
        `[retriever]\ntype = SimplePOP3Retriever\nserver = 127.0.0.1\nport = ${pop3Port}\n` +
          `username = carol@virt.test\npassword = s3cret\n\n` +
          `[destination]\ntype = Maildir\npath = ${gm}/Maildir/\n` +
          (Deno.uid() === 0 ? "user = nobody\n" : "") +
          `\n[options]\nread_all = false\ndelete = false\ndelivered_to = false\n` +
          `received = false\nmessage_log_syslog = false\nverbose = 1\n`,
      );
      const gmArgs = ["--getmaildir", gm, "--rcfile", join(gm, "getmailrc")];
      const first = await run("getmail", gmArgs);
      assert.equal(first.code, 0, first.stdout + first.stderr);
      const gotten = [...Deno.readDirSync(join(gm, "Maildir", "new"))];
      assert.equal(gotten.length, 1);
      const text = await Deno.readTextFile(join(gm, "Maildir", "new", gotten[0].name));
      // getmail puts a Return-Path in front (POP3 carries no envelope sender).
      assert.equal(
        text.replace(/^Return-Path: <unknown>\n/, "").replace(/\n/g, "\r\n"),
        (await carolFiles(server.dir))[0],
      );
      const second = await run("getmail", gmArgs);
      assert.match(second.stdout, /0 messages \(0 bytes\) retrieved, 1 skipped/);
    } finally {
      await server.stop();
      for (const cleanup of cleanups) await cleanup();
    }
  },
});
