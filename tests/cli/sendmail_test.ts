/**
 * `facteur sendmail` end to end against a fake pickup server on a unix
 * socket: the exact SMTP transaction, the DATA bytes, and sysexits codes.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { passwdName, sendmailCommand, type SendmailIO } from "../../src/cli/sendmail.ts";
import { startFakeSmtp } from "./fake_smtp.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

interface Run {
  code: number;
  errors: string[];
  stdout: string;
}

async function withSetup(
  fn: (
    dir: string,
    run: (args: string[], stdin: string | Uint8Array) => Promise<Run>,
  ) => Promise<void>,
) {
  const dir = await Deno.makeTempDir({ prefix: "facteur-sendmail-" });
  const config = join(dir, "facteur.toml");
  await Deno.writeTextFile(
    config,
    'myhostname = "host.example.test"\nmyorigin = "example.test"\ndata_directory = "./data"\n',
  );
  const run = async (args: string[], stdin: string | Uint8Array): Promise<Run> => {
    const errors: string[] = [];
    const out: Uint8Array[] = [];
    const io: SendmailIO = {
      stdin: new Blob([(typeof stdin === "string" ? enc(stdin) : stdin) as Uint8Array<ArrayBuffer>])
        .stream(),
      stdout: new WritableStream({ write: (c) => void out.push(c) }),
      error: (line) => errors.push(line),
      connect: (path) => Deno.connect({ transport: "unix", path }),
      loginName: () => "cronuser",
    };
    const code = await sendmailCommand(["-C", config, ...args], io);
    return { code, errors, stdout: out.map(dec).join("") };
  };
  try {
    await fn(dir, run);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("sendmail -t -i: one SMTP transaction, Bcc removed, CRLF and dot-stuffed DATA", async () => {
  await withSetup(async (dir, run) => {
    const server = await startFakeSmtp(dir);
    try {
      const r = await run(
        ["-t", "-i", "-f", "alerts@example.test", "extra"],
        "To: Ann <ann@remote.test>\nBcc: boss@remote.test\nSubject: disk\n\nfull\n.\n..x\n",
      );
      assert.deepEqual(r.errors, []);
      assert.equal(r.code, 0);
      assert.deepEqual(server.commands, [
        "EHLO host.example.test",
        "MAIL FROM:<alerts@example.test>",
        "RCPT TO:<extra@example.test>",
        "RCPT TO:<ann@remote.test>",
        "RCPT TO:<boss@remote.test>",
        "DATA",
        "QUIT",
      ]);
      assert.equal(
        dec(server.data()),
        "To: Ann <ann@remote.test>\r\nSubject: disk\r\n\r\nfull\r\n..\r\n...x\r\n.\r\n",
      );
    } finally {
      await server.close();
    }
  });
});

Deno.test("sendmail: default sender is the login name @ myorigin; -F adds From:; 8-bit gets BODY=8BITMIME", async () => {
  await withSetup(async (dir, run) => {
    const server = await startFakeSmtp(dir);
    try {
      const body = new Uint8Array([...enc("Subject: caf"), 0xe9, ...enc("\n\nok\n")]);
      const r = await run(["-F", "Cron Daemon", "root"], body);
      assert.equal(r.code, 0, r.errors.join("\n"));
      assert.equal(server.commands[1], "MAIL FROM:<cronuser@example.test> BODY=8BITMIME");
      assert.equal(server.commands[2], "RCPT TO:<root@example.test>");
      assert.deepEqual(
        [...server.data()],
        [
          ...enc("Subject: caf"),
          0xe9,
          ...enc("\r\nFrom: Cron Daemon <cronuser@example.test>\r\n\r\nok\r\n.\r\n"),
        ],
      );
    } finally {
      await server.close();
    }
  });
});

Deno.test("sendmail: DSN options go with MAIL and RCPT only when the server offers DSN", async () => {
  await withSetup(async (dir, run) => {
    let server = await startFakeSmtp(dir);
    try {
      const r = await run(
        ["-N", "failure", "-R", "hdrs", "-V", "id+1", "-f", "<>", "a@x.test"],
        "x\n",
      );
      assert.equal(r.code, 0, r.errors.join("\n"));
      assert.equal(server.commands[1], "MAIL FROM:<> RET=HDRS ENVID=id+2B1");
      assert.equal(server.commands[2], "RCPT TO:<a@x.test> NOTIFY=FAILURE");
    } finally {
      await server.close();
    }
    server = await startFakeSmtp(dir, { extensions: ["PIPELINING"] });
    try {
      const r = await run(["-N", "failure", "-f", "me@x.test", "a@x.test"], "\xff\n");
      assert.equal(r.code, 0);
      assert.equal(server.commands[1], "MAIL FROM:<me@x.test>");
      assert.equal(server.commands[2], "RCPT TO:<a@x.test>");
    } finally {
      await server.close();
    }
  });
});

Deno.test("sendmail: a refused recipient aborts before DATA (RSET) with EX_NOUSER; 4xx is EX_TEMPFAIL", async () => {
  await withSetup(async (dir, run) => {
    let server = await startFakeSmtp(dir, {
      reply: (c) => (c.startsWith("RCPT TO:<bad@") ? "550 5.1.1 <bad@x.test>: unknown" : undefined),
    });
    try {
      const r = await run(["good@x.test", "bad@x.test"], "hi\n");
      assert.equal(r.code, 67);
      assert.match(
        r.errors[0],
        /^sendmail: <bad@x\.test>: 550 5\.1\.1 <bad@x\.test>: unknown \(after RCPT\)$/,
      );
      assert.deepEqual(server.commands.slice(-2), ["RSET", "QUIT"]);
      assert.ok(!server.commands.includes("DATA"));
    } finally {
      await server.close();
    }
    server = await startFakeSmtp(dir, {
      reply: (c) => (c === "." ? "452 4.3.1 Insufficient system storage" : undefined),
    });
    try {
      const r = await run(["a@x.test"], "hi\n");
      assert.equal(r.code, 75);
      assert.match(r.errors[0], /452 4\.3\.1 Insufficient system storage \(after MESSAGE\)/);
    } finally {
      await server.close();
    }
  });
});

Deno.test("sendmail: no server → EX_TEMPFAIL naming the socket; no recipients → EX_USAGE", async () => {
  await withSetup(async (dir, run) => {
    const r = await run(["a@x.test"], "hi\n");
    assert.equal(r.code, 75);
    assert.match(
      r.errors[0],
      new RegExp(
        `^sendmail: facteur is not running \\(no socket at ${
          join(dir, "data", "public", "pickup")
        }\\)`,
      ),
    );
    const server = await startFakeSmtp(dir);
    try {
      const none = await run([], "hi\n");
      assert.equal(none.code, 64);
      assert.match(none.errors[0], /no recipients specified/);
      const noneT = await run(["-t"], "Subject: x\n\nhi\n");
      assert.equal(noneT.code, 65);
      assert.match(noneT.errors[0], /no recipient addresses found/);
      const usage = await run(["-bz"], "");
      assert.equal(usage.code, 64);
      assert.match(usage.errors[0], /-bz: unsupported mode/);
    } finally {
      await server.close();
    }
  });
});

Deno.test("sendmail -bs relays the caller's SMTP dialogue to the server and back", async () => {
  await withSetup(async (dir, run) => {
    const server = await startFakeSmtp(dir);
    try {
      const r = await run(
        ["-bs"],
        "EHLO me\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<b@x.test>\r\nDATA\r\nhi\r\n.\r\nQUIT\r\n",
      );
      assert.equal(r.code, 0, r.errors.join("\n"));
      assert.deepEqual(server.commands, [
        "EHLO me",
        "MAIL FROM:<a@x.test>",
        "RCPT TO:<b@x.test>",
        "DATA",
        "QUIT",
      ]);
      assert.equal(dec(server.data()), "hi\r\n.\r\n");
      assert.match(r.stdout, /^220 fake\.test ESMTP\r\n250-fake\.test\r\n/);
      assert.match(r.stdout, /250 2\.0\.0 Ok: queued as FAKE123\r\n221 2\.0\.0 Bye\r\n$/);
    } finally {
      await server.close();
    }
  });
});

Deno.test("the login name comes from /etc/passwd by uid, first entry wins", () => {
  const passwd =
    "root:x:0:0:root:/root:/bin/bash\nweb:x:33:33::/var/www:/bin/sh\nalias:x:33:33::/:/bin/sh\n";
  assert.equal(passwdName(passwd, 33), "web");
  assert.equal(passwdName(passwd, 0), "root");
  assert.equal(passwdName(passwd, 1000), undefined);
});

Deno.test("input ends at a lone dot line without waiting for EOF (no -i); with -i only EOF ends it", async () => {
  const { readInput } = await import("../../src/cli/sendmail.ts");
  // a writer that sends "." and keeps the pipe open
  const open = () => {
    let ctl!: ReadableStreamDefaultController<Uint8Array>;
    const stream = new ReadableStream<Uint8Array>({ start: (c) => void (ctl = c) });
    return { stream, push: (s: string) => ctl.enqueue(enc(s)), end: () => ctl.close() };
  };
  const a = open();
  a.push("Subject: x\n\nline\n");
  a.push(".");
  a.push("\r\n");
  assert.equal(dec(await readInput(a.stream, true)), "Subject: x\n\nline\n.\r\n");
  const b = open();
  b.push("a\n.\nb\n");
  b.end();
  assert.equal(dec(await readInput(b.stream, false)), "a\n.\nb\n");
  const c = open();
  c.push(".\n");
  assert.equal(dec(await readInput(c.stream, true)), ".\n");
});
