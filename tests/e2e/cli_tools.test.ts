/**
 * The operator's tools as a user runs them: `facteur map query` against
 * Postfix's own `postmap -q` on the same tables, `facteur token new`,
 * `facteur status` / `stop` against a real server, and the binary started
 * under the names sendmail and mailq (a symlink, as /usr/sbin/sendmail).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { findPeer, requirePeer } from "../peers.ts";
import { startFakeSmtp } from "../cli/fake_smtp.ts";
import { RawClient } from "../smtpd/helpers.ts";
import { ROOT, startServer } from "./harness.ts";

const dec = (b: Uint8Array) => new TextDecoder().decode(b);

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** `facteur ARGS`, or the binary started as `argv0` (a symlink to deno running mod.ts). */
async function facteur(
  args: string[],
  opts: { stdin?: string; argv0?: string; cwd?: string; env?: Record<string, string> } = {},
): Promise<Result> {
  const child = new Deno.Command(opts.argv0 ?? Deno.execPath(), {
    args: ["run", "--allow-all", join(ROOT, "mod.ts"), ...args],
    cwd: opts.cwd ?? ROOT,
    stdin: opts.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", RUST_BACKTRACE: "0", ...opts.env },
  }).spawn();
  if (opts.stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(opts.stdin));
    await w.close();
  }
  const out = await child.output();
  return { code: out.code, stdout: dec(out.stdout), stderr: dec(out.stderr) };
}

async function postmap(dir: string, args: string[], stdin?: string): Promise<Result> {
  const child = new Deno.Command(findPeer("postmap")!, {
    args: ["-c", dir, ...args],
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(stdin));
    await w.close();
  }
  const out = await child.output();
  return { code: out.code, stdout: dec(out.stdout), stderr: dec(out.stderr) };
}

/** Postfix skips files changed within the last second ("cool down"): date them a minute back. */
function writeCold(path: string, text: string): void {
  Deno.writeTextFileSync(path, text);
  const past = new Date(Date.now() - 60_000);
  Deno.utimeSync(path, past, past);
}

Deno.test({
  name: "facteur map query prints what postmap -q prints, with the same exit code",
  ...requirePeer("postmap", "postfix postfix-pcre"),
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "facteur-mapq-" });
    try {
      writeCold(join(dir, "main.cf"), "compatibility_level = 3.6\nmyhostname = localhost.test\n");
      writeCold(
        join(dir, "access"),
        "# access\nexample.test  OK\nBad.Test REJECT go away\nuser@ 550 no\n",
      );
      writeCold(join(dir, "re"), "/^(.*)@old\\.test$/  $1@new.test\n/^postmaster@/i  root\n");
      writeCold(join(dir, "pcre"), "/^(\\w+)\\+\\w+@(.*)$/  $1@$2\n");
      writeCold(
        join(dir, "net"),
        "192.0.2.0/24  OK\n2001:db8::/32 REJECT v6\n198.51.100.7 DUNNO\n",
      );
      const cases: [string, string[]][] = [
        ["inline:{ a=1, B=2, { c = x y } }", ["a", "A", "b", "c", "zz"]],
        [`texthash:${dir}/access`, ["example.test", "bad.test", "BAD.TEST", "user@", "nope"]],
        [`regexp:${dir}/re`, ["joe@old.test", "POSTMASTER@x", "joe@new.test"]],
        [`pcre:${dir}/pcre`, ["joe+list@x.test", "joe@x.test"]],
        [`cidr:${dir}/net`, ["192.0.2.77", "2001:db8::1", "198.51.100.7", "203.0.113.1"]],
        ["static:{ fixed value }", ["anything"]],
      ];
      for (const [spec, keys] of cases) {
        for (const key of keys) {
          const expected = await postmap(dir, ["-q", key, spec]);
          assert.equal(expected.stderr, "", `postmap -q ${key} ${spec}`);
          const actual = await facteur(["map", "query", spec, key]);
          assert.deepEqual(
            { code: actual.code, stdout: actual.stdout },
            { code: expected.code, stdout: expected.stdout },
            `map query ${spec} ${key}`,
          );
        }
        // `-`: keys from stdin, "key<TAB>value" for each one found
        const input = keys.join("\n") + "\n";
        const expected = await postmap(dir, ["-q", "-", spec], input);
        const actual = await facteur(["map", "query", spec, "-"], { stdin: input });
        assert.deepEqual(
          { code: actual.code, stdout: actual.stdout },
          { code: expected.code, stdout: expected.stdout },
          `map query ${spec} - <<< ${JSON.stringify(input)}`,
        );
      }
      const bad = await facteur(["map", "query", "nosuch:x", "a"]);
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /lookup table type "nosuch" is not supported: no such type/);
      // facteur's form for several keys at once: one "key<TAB>value" line per key found
      const several = await facteur(["map", "query", "inline:{a=1, b=2}", "A", "zz", "b"]);
      assert.equal(several.stdout, "A\t1\nb\t2\n");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("facteur token new prints a token and the admin_tokens line with its SHA-256", async () => {
  const r = await facteur(["token", "new"]);
  assert.equal(r.code, 0, r.stderr);
  const m = /^([A-Za-z0-9_-]{43})\nadmin_tokens = \["sha256:([0-9a-f]{64})"\]\n$/.exec(r.stdout);
  assert.ok(m, r.stdout);
  const digest = new Uint8Array(
    await crypto.subtle.digest("SHA-256", new TextEncoder().encode(m[1])),
  );
  assert.equal(m[2], [...digest].map((b) => b.toString(16).padStart(2, "0")).join(""));
  const again = await facteur(["token", "new"]);
  assert.notEqual(again.stdout.split("\n")[0], m[1]);
});

Deno.test("facteur status and stop against a running server; stop waits and the pid file goes", async () => {
  const server = await startServer();
  try {
    const pidFile = join(server.dataDir, "facteur.pid");
    const pid = Number((await Deno.readTextFile(pidFile)).trim());
    let r = await facteur(["status", "-c", server.configFile]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `facteur is running (pid ${pid})\n`);
    r = await facteur(["status", "--json", "-c", server.configFile]);
    assert.deepEqual(JSON.parse(r.stdout), {
      running: true,
      pid,
      pid_file: pidFile,
      stale_pid_file: false,
      admin: null,
    });
    r = await facteur(["stop", "-c", server.configFile]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `facteur: stopped (pid ${pid})\n`);
    assert.throws(() => Deno.statSync(pidFile), Deno.errors.NotFound);
    const alive = await new Deno.Command("kill", { args: ["-0", String(pid)], stderr: "null" })
      .output();
    assert.equal(alive.code, 1, "the server process is gone");
    r = await facteur(["status", "-c", server.configFile]);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, "facteur is not running\n");
    r = await facteur(["stop", "-c", server.configFile]);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /^facteur: stop: facteur is not running \(no live pid in .*facteur\.pid\)\n$/,
    );
  } finally {
    await server.stop();
  }
});

Deno.test("a stale pid file (a pid that is not facteur) is reported, and stop does not signal it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "facteur-stale-" });
  const other = new Deno.Command("sleep", { args: ["30"] }).spawn();
  try {
    const config = join(dir, "facteur.toml");
    await Deno.writeTextFile(config, 'data_directory = "./data"\n');
    await Deno.mkdir(join(dir, "data"));
    await Deno.writeTextFile(join(dir, "data", "facteur.pid"), `${other.pid}\n`);
    const r = await facteur(["status", "-c", config]);
    assert.equal(r.code, 1);
    assert.equal(
      r.stdout,
      `facteur is not running (stale pid file ${join(dir, "data", "facteur.pid")})\n`,
    );
    assert.equal((await facteur(["stop", "-c", config])).code, 1);
  } finally {
    other.kill("SIGTERM");
    assert.equal((await other.status).signal, "SIGTERM", "only our SIGTERM ended it");
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("started as sendmail (a symlink), the binary submits stdin over the pickup socket; as mailq it lists", async () => {
  const dir = await Deno.makeTempDir({ prefix: "facteur-argv0-" });
  const smtp = await startFakeSmtp(dir);
  try {
    const config = join(dir, "facteur.toml");
    await Deno.writeTextFile(
      config,
      'myhostname = "host.example.test"\nmyorigin = "example.test"\ndata_directory = "./data"\n',
    );
    const sendmail = join(dir, "sendmail");
    const mailq = join(dir, "mailq");
    await Deno.symlink(Deno.execPath(), sendmail);
    await Deno.symlink(Deno.execPath(), mailq);
    const r = await facteur(["-t", "-oi", "-fcron@example.test", "-FCron Daemon"], {
      argv0: sendmail,
      stdin: "To: root\nBcc: admin@example.test\nSubject: job output\n\n.hidden file\n",
      env: { FACTEUR_CONFIG: config },
    });
    assert.equal(r.stderr, "");
    assert.equal(r.code, 0);
    assert.deepEqual(smtp.commands, [
      "EHLO host.example.test",
      "MAIL FROM:<cron@example.test>",
      "RCPT TO:<root@example.test>",
      "RCPT TO:<admin@example.test>",
      "DATA",
      "QUIT",
    ]);
    assert.equal(
      dec(smtp.data()),
      "To: root\r\nSubject: job output\r\nFrom: Cron Daemon <cron@example.test>\r\n\r\n..hidden file\r\n.\r\n",
    );
    const q = await facteur(["-c", config], { argv0: mailq });
    assert.equal(q.code, 0, q.stderr);
    assert.equal(q.stdout, "Mail queue is empty\n");
    // sendmail -bp is mailq too
    const bp = await facteur(["-bp", "-C", config], { argv0: sendmail });
    assert.equal(bp.stdout, "Mail queue is empty\n");
  } finally {
    await smtp.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("facteur sendmail with the server down fails with EX_TEMPFAIL (75) naming the socket", async () => {
  const dir = await Deno.makeTempDir({ prefix: "facteur-nosock-" });
  try {
    const config = join(dir, "facteur.toml");
    await Deno.writeTextFile(config, 'data_directory = "./data"\n');
    const r = await facteur(["sendmail", "-C", config, "root@example.test"], { stdin: "hi\n" });
    assert.equal(r.code, 75);
    assert.match(
      r.stderr,
      new RegExp(
        `^sendmail: facteur is not running \\(no socket at ${
          join(dir, "data", "public", "pickup")
        }\\)`,
      ),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("queue show, cat and shape work on the database with the server stopped", async () => {
  const server = await startServer({
    toml: 'relayhost = "[127.0.0.1]:9"\ndefault_destination_concurrency_limit = 1\n',
  });
  let id: string;
  try {
    const { client } = await RawClient.open(server.port);
    try {
      await client.command("EHLO client.test");
      await client.command("MAIL FROM:<alice@example.test>");
      await client.command("RCPT TO:<bob@remote.test>");
      await client.command("DATA");
      const reply = await client.command("Subject: kept\r\n\r\nbody line\r\n.");
      id = reply.match(/queued as (\S+)/)![1];
      await client.command("QUIT");
    } finally {
      client.close();
    }
    await server.waitForLog(new RegExp(`${id}: to=<bob@remote\\.test>.*status=deferred`));
  } finally {
    await server.stop();
  }
  const cfg = server.configFile;
  const show = await facteur(["queue", "show", id, "-c", cfg]);
  assert.equal(show.code, 0, show.stderr);
  assert.match(show.stdout, new RegExp(`^id: +${id} \\(deferred queue\\)$`, "m"));
  assert.match(
    show.stdout,
    /^ {2}deferred bob@remote\.test \(1 attempt\)\n +4\.\d\.\d .*\n +relay /m,
  );
  const json = JSON.parse((await facteur(["queue", "show", "--json", id, "-c", cfg])).stdout);
  assert.equal(json.envelope.recipients[0].status, "deferred");
  const cat = await facteur(["queue", "cat", id, "-c", cfg]);
  assert.equal(cat.code, 0, cat.stderr);
  assert.match(cat.stdout, /^Received: from client\.test /);
  assert.match(cat.stdout, /\r\nSubject: kept\r\n(?:[^\r\n]+\r\n)*\r\nbody line\r\n$/);
  const shape = await facteur(["queue", "shape", "-c", cfg]);
  assert.match(shape.stdout, /^ +T +5 10 20 40 80 160 320 640 1280 1280\+\n +TOTAL +1 +1 /);
  assert.match(shape.stdout, /\nremote\.test +1 +1 /);
  const missing = await facteur(["queue", "show", "NOSUCHID", "-c", cfg]);
  assert.equal(missing.code, 1);
  assert.equal(missing.stderr, "facteur: queue: no message with id NOSUCHID\n");
  const badAge = await facteur(["queue", "list", "--min-age", "soon", "-c", cfg]);
  assert.equal(badAge.code, 64);
  assert.match(badAge.stderr, /--min-age: bad age "soon"/);
  await Deno.remove(server.dir, { recursive: true });
});
