/** The POP3 state machine over a real loopback connection, with the in-memory backend. */
import assert from "node:assert/strict";
import { LoginThrottle } from "../../src/auth/throttle.ts";
import { MailError } from "../../src/errors.ts";
import { eventually, FakeBackend, RawClient, sleep, withServer } from "./helpers.ts";

const MSG1 = "From: a@example.test\nSubject: one\n\nHello\n.dot line\nbye\n";
const MSG2 = "From: b@example.test\r\nSubject: two\r\n\r\nsecond\r\n";
const MSG3 = "Subject: three\n\nno final newline";

function backend(): FakeBackend {
  const b = new FakeBackend();
  b.addUser("alice", "secret pw", [MSG1, MSG2, MSG3]);
  b.addUser("bob", "bobpw", []);
  return b;
}

const plain = (s: string) => btoa(s);

Deno.test("greeting and CAPA before login announce USER and SASL PLAIN, not after", async () => {
  await withServer(backend(), async ({ port }) => {
    const { client, greeting } = await RawClient.open(port);
    assert.equal(greeting, "+OK facteur ready.");
    const before = await client.multi("CAPA");
    assert.equal(before.status, "+OK Capability list follows");
    assert.equal(
      before.body,
      "CAPA\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\nPIPELINING\r\nUSER\r\n" +
        "SASL PLAIN\r\nIMPLEMENTATION facteur\r\n.\r\n",
    );
    await client.command("USER alice");
    assert.equal(await client.command("PASS secret pw"), "+OK Logged in: 3 messages (143 octets)");
    const after = await client.multi("capa");
    assert.doesNotMatch(after.body, /USER|SASL/);
    assert.match(after.body, /^CAPA\r\nTOP\r\n/);
    client.close();
  });
});

Deno.test("TRANSACTION: STAT, LIST, UIDL, RETR, TOP, DELE, RSET, NOOP, QUIT with UPDATE", async () => {
  const b = backend();
  const uidls = b.inboxes.get("alice")!.map((m) => m.uidl);
  await withServer(b, async ({ port, logs }) => {
    const c = await RawClient.login(port, "alice", "secret pw");
    assert.equal(await c.command("STAT"), "+OK 3 143");
    assert.deepEqual(await c.multi("LIST"), {
      status: "+OK 3 messages (143 octets)",
      body: "1 61\r\n2 46\r\n3 36\r\n.\r\n",
    });
    assert.equal(await c.command("LIST 2"), "+OK 2 46");
    assert.deepEqual(await c.multi("UIDL"), {
      status: "+OK Unique-ID listing follows",
      body: `1 ${uidls[0]}\r\n2 ${uidls[1]}\r\n3 ${uidls[2]}\r\n.\r\n`,
    });
    assert.equal(await c.command("UIDL 3"), `+OK 3 ${uidls[2]}`);
    assert.deepEqual(await c.multi("RETR 1"), {
      status: "+OK 61 octets",
      body: "From: a@example.test\r\nSubject: one\r\n\r\nHello\r\n..dot line\r\nbye\r\n.\r\n",
    });
    assert.deepEqual(await c.multi("RETR 3"), {
      status: "+OK 36 octets",
      body: "Subject: three\r\n\r\nno final newline\r\n.\r\n",
    });
    assert.deepEqual(await c.multi("TOP 1 1"), {
      status: "+OK Top of message follows",
      body: "From: a@example.test\r\nSubject: one\r\n\r\nHello\r\n.\r\n",
    });
    // A huge line count: the whole message.
    assert.deepEqual(await c.multi("TOP 3 999999999999"), {
      status: "+OK Top of message follows",
      body: "Subject: three\r\n\r\nno final newline\r\n.\r\n",
    });
    assert.equal(await c.command("DELE 2"), "+OK Message 2 deleted");
    assert.equal(await c.command("DELE 2"), "-ERR Message 2 is already deleted");
    assert.equal(await c.command("RETR 2"), "-ERR Message 2 is already deleted");
    assert.equal(await c.command("LIST 2"), "-ERR Message 2 is already deleted");
    assert.equal(await c.command("STAT"), "+OK 2 97");
    assert.deepEqual((await c.multi("LIST")).body, "1 61\r\n3 36\r\n.\r\n");
    assert.deepEqual((await c.multi("UIDL")).body, `1 ${uidls[0]}\r\n3 ${uidls[2]}\r\n.\r\n`);
    assert.equal(await c.command("RSET"), "+OK Maildrop has 3 messages (143 octets)");
    assert.equal(await c.command("NOOP"), "+OK");
    assert.equal(await c.command("DELE 1"), "+OK Message 1 deleted");
    assert.equal(await c.command("DELE 3"), "+OK Message 3 deleted");
    assert.equal(await c.command("QUIT"), "+OK Logging out, 2 messages deleted.");
    assert.equal(await c.rest(), "");
    await eventually(() => b.releases === 1);
    assert.deepEqual(b.commits, [{ account: "alice", deleted: [0, 2] }]);
    assert.deepEqual(b.inboxes.get("alice")!.map((m) => m.uidl), [uidls[1]]);
    await eventually(() => logs.some((l) => l.startsWith("Disconnected")));
    assert.ok(
      logs.includes("Login: user=<alice>, method=PLAIN, rip=127.0.0.1, lip=127.0.0.1, secured"),
    );
    assert.ok(
      logs.includes(
        "Disconnected: Logged out top=2/81, retr=2/98, del=2/3, size=143: " +
          "user=<alice>, rip=127.0.0.1, lip=127.0.0.1",
      ),
      logs.join("\n"),
    );
  });
});

Deno.test("every wrong sequence or argument gets a precise -ERR", async () => {
  await withServer(backend(), async ({ port }) => {
    const { client: c } = await RawClient.open(port);
    assert.equal(
      await c.command("STAT"),
      "-ERR STAT is not valid before login: use USER/PASS or AUTH first",
    );
    assert.equal(
      await c.command("RETR 1"),
      "-ERR RETR is not valid before login: use USER/PASS or AUTH first",
    );
    assert.equal(
      await c.command("NOOP"),
      "-ERR NOOP is not valid before login: use USER/PASS or AUTH first",
    );
    assert.equal(await c.command("PASS x"), "-ERR PASS: send USER first");
    assert.equal(await c.command("USER"), "-ERR USER: missing user name");
    assert.equal(await c.command("USER alice"), "+OK Send PASS");
    assert.equal(await c.command("CAPA x"), "-ERR CAPA takes no argument");
    // RFC 1939 7: PASS only right after USER.
    assert.equal(await c.command("PASS secret pw"), "-ERR PASS: send USER first");
    assert.equal(await c.command("USER alice"), "+OK Send PASS");
    assert.equal(await c.command("PASS"), "-ERR PASS: missing password");
    assert.equal(
      await c.command("APOP alice 0123456789abcdef"),
      "-ERR APOP is not offered: use USER/PASS or AUTH",
    );
    assert.equal(await c.command("XYZZY"), "-ERR Unknown command: XYZZY");
    assert.equal(await c.command(""), "-ERR Empty command");
    assert.equal(await c.command("USER alice"), "+OK Send PASS");
    assert.match(await c.command("PASS secret pw"), /^\+OK Logged in/);
    assert.equal(await c.command("USER alice"), "-ERR USER is not valid after login");
    assert.equal(await c.command("AUTH PLAIN"), "-ERR AUTH is not valid after login");
    assert.equal(await c.command("STAT 1"), "-ERR STAT takes no argument");
    assert.equal(await c.command("NOOP x"), "-ERR NOOP takes no argument");
    assert.equal(await c.command("RSET x"), "-ERR RSET takes no argument");
    assert.equal(await c.command("LIST 1 2"), "-ERR LIST: too many arguments");
    assert.equal(await c.command("LIST one"), "-ERR Invalid message number: one");
    assert.equal(
      await c.command("LIST 0"),
      "-ERR There is no message 0: messages are numbered 1 to 3",
    );
    assert.equal(
      await c.command("LIST 4"),
      "-ERR There is no message 4: messages are numbered 1 to 3",
    );
    assert.equal(await c.command("UIDL -1"), "-ERR Invalid message number: -1");
    assert.equal(await c.command("UIDL 1 2"), "-ERR UIDL: too many arguments");
    assert.equal(await c.command("RETR"), "-ERR RETR: missing message number");
    assert.equal(await c.command("RETR 1 2"), "-ERR RETR: too many arguments");
    assert.equal(await c.command("RETR 99999999999"), "-ERR Invalid message number: 99999999999");
    assert.equal(await c.command("DELE"), "-ERR DELE: missing message number");
    assert.equal(
      await c.command("DELE 9"),
      "-ERR There is no message 9: messages are numbered 1 to 3",
    );
    assert.equal(
      await c.command("TOP 1"),
      "-ERR TOP: expected a message number and a number of lines",
    );
    assert.equal(await c.command("TOP 1 -2"), "-ERR Invalid number of lines: -2");
    assert.equal(await c.command("TOP 1 2 3"), "-ERR TOP: too many arguments");
    assert.equal(
      await c.command("TOP 5 0"),
      "-ERR There is no message 5: messages are numbered 1 to 3",
    );
    assert.equal(await c.command("QUIT now"), "-ERR QUIT takes no argument");
    assert.equal(await c.command("quit"), "+OK Logging out.");
    c.close();
  }, { errorLimit: 100 });
});

Deno.test("the empty maildrop: STAT 0 0, an empty LIST, numbers refused", async () => {
  await withServer(backend(), async ({ port }) => {
    const c = await RawClient.login(port, "bob", "bobpw");
    assert.equal(await c.command("STAT"), "+OK 0 0");
    assert.deepEqual(await c.multi("LIST"), { status: "+OK 0 messages (0 octets)", body: ".\r\n" });
    assert.equal(await c.command("RETR 1"), "-ERR There is no message 1: the maildrop is empty");
    c.close();
  });
});

Deno.test("pipelining: commands sent in one packet are answered in order", async () => {
  await withServer(backend(), async ({ port }) => {
    const { client: c } = await RawClient.open(port);
    await c.send(
      "CAPA\r\nUSER alice\r\nPASS secret pw\r\nSTAT\r\nLIST 9\r\nRETR 2\r\nDELE 2\r\nUIDL 2\r\nRSET\r\nQUIT\r\n",
    );
    const all = await c.rest();
    const expected = [
      "+OK Capability list follows",
      "CAPA\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\nPIPELINING\r\nUSER\r\nSASL PLAIN\r\nIMPLEMENTATION facteur\r\n.",
      "+OK Send PASS",
      "+OK Logged in: 3 messages (143 octets)",
      "+OK 3 143",
      "-ERR There is no message 9: messages are numbered 1 to 3",
      "+OK 46 octets\r\nFrom: b@example.test\r\nSubject: two\r\n\r\nsecond\r\n.",
      "+OK Message 2 deleted",
      "-ERR Message 2 is already deleted",
      "+OK Maildrop has 3 messages (143 octets)",
      "+OK Logging out.",
    ].join("\r\n") + "\r\n";
    assert.equal(all, expected);
  });
});

Deno.test("AUTH PLAIN: initial response, continuation, '*' cancels, bad base64, other mechanisms", async () => {
  const b = backend();
  await withServer(b, async ({ port, logs }) => {
    const { client: c } = await RawClient.open(port);
    assert.deepEqual(await c.multi("AUTH"), { status: "+OK", body: "PLAIN\r\n.\r\n" });
    assert.equal(await c.command("AUTH LOGIN"), "-ERR Unsupported authentication mechanism: LOGIN");
    assert.equal(await c.command("AUTH PLAIN a b"), "-ERR AUTH: too many arguments");
    assert.equal(await c.command("AUTH PLAIN !!!!"), "-ERR Invalid base64 data in SASL response");
    assert.equal(await c.command("AUTH PLAIN"), "+ ");
    assert.equal(await c.command("*"), "-ERR Authentication cancelled");
    assert.equal(await c.command("AUTH PLAIN"), "+ ");
    assert.equal(await c.command("%%%%"), "-ERR Invalid base64 data in SASL response");
    assert.equal(
      await c.command(`AUTH PLAIN ${plain("bob\0alice\0secret pw")}`),
      "-ERR [AUTH] Logging in as another user (authorization identity) is not allowed",
    );
    assert.equal(
      await c.command(`AUTH PLAIN ${plain("\0alice\0wrong")}`),
      "-ERR [AUTH] Authentication failed.",
    );
    assert.equal(
      await c.command("AUTH PLAIN ="),
      "-ERR Invalid SASL PLAIN response: expected authzid NUL authcid NUL password",
    );
    assert.equal(await c.command("AUTH plain"), "+ ");
    assert.equal(
      await c.command(plain("alice\0alice\0secret pw")),
      "+OK Logged in: 3 messages (143 octets)",
    );
    assert.equal(await c.command("QUIT"), "+OK Logging out.");
    await c.rest();
    await eventually(() => logs.some((l) => l.startsWith("Disconnected")));
    assert.ok(
      logs.includes(
        "warning: authentication failed: user=<alice>, method=PLAIN, rip=127.0.0.1, lip=127.0.0.1",
      ),
    );
  });
});

Deno.test("plaintext refused when the setting says so (Dovecot's text); CAPA hides USER and SASL", async () => {
  await withServer(backend(), async ({ port }) => {
    const { client: c } = await RawClient.open(port);
    const refused = "-ERR [AUTH] Plaintext authentication disallowed on non-secure connections";
    assert.equal(await c.command("USER alice"), refused);
    assert.equal(await c.command("PASS secret pw"), "-ERR PASS: send USER first");
    assert.equal(await c.command(`AUTH PLAIN ${plain("\0alice\0secret pw")}`), refused);
    assert.deepEqual(await c.multi("AUTH"), { status: "+OK", body: ".\r\n" });
    assert.doesNotMatch((await c.multi("CAPA")).body, /USER|SASL/);
    c.close();
  }, { plaintextAllowed: () => false });
});

Deno.test("failed logins: [AUTH] each time, disconnect at the limit, logged like Dovecot", async () => {
  await withServer(backend(), async ({ port, logs }) => {
    const { client: c } = await RawClient.open(port);
    await c.command("USER alice");
    assert.equal(await c.command("PASS nope"), "-ERR [AUTH] Authentication failed.");
    await c.command("USER mallory");
    assert.equal(await c.command("PASS x"), "-ERR [AUTH] Authentication failed.");
    await c.command("USER alice");
    assert.equal(
      await c.command("PASS nope2"),
      "-ERR [AUTH] Authentication failed. Too many failures: closing connection",
    );
    assert.equal(await c.rest(), "");
    await eventually(() => logs.some((l) => l.startsWith("Disconnected")));
    const line = logs.find((l) => l.startsWith("Disconnected"))!;
    assert.match(
      line,
      /^Disconnected: Too many authentication failures \(auth failed, 3 attempts in \d+ secs\): user=<alice>, method=PLAIN, rip=127\.0\.0\.1, lip=127\.0\.0\.1$/,
    );
  });
});

Deno.test("failed logins are slowed by the shared throttle before the password is checked", async () => {
  const throttle = new LoginThrottle({
    policy: { pair: { free: 0, baseMs: 400, capMs: 400 } },
  });
  await withServer(
    backend(),
    async ({ port }) => {
      const { client: c } = await RawClient.open(port);
      await c.command("USER alice");
      let t = Date.now();
      await c.command("PASS nope");
      assert.ok(Date.now() - t < 300, "the first failure is answered at once");
      await c.command("USER alice");
      t = Date.now();
      assert.equal(await c.command("PASS secret pw"), "+OK Logged in: 3 messages (143 octets)");
      assert.ok(Date.now() - t >= 380, "the attempt after a failure waits delayFor()");
      c.close();
    },
    {},
    throttle,
  );
});

Deno.test("a second session on the same maildrop gets [IN-USE]; it works once the first quits", async () => {
  const b = backend();
  await withServer(b, async ({ port }) => {
    const first = await RawClient.login(port, "alice", "secret pw");
    const { client: second } = await RawClient.open(port);
    await second.command("USER alice");
    assert.equal(
      await second.command("PASS secret pw"),
      "-ERR [IN-USE] Mailbox is locked by another POP3 session",
    );
    assert.equal(await first.command("QUIT"), "+OK Logging out.");
    await first.rest();
    await eventually(() => b.releases === 1);
    await second.command("USER alice");
    assert.match(await second.command("PASS secret pw"), /^\+OK Logged in/);
    second.close();
  });
});

Deno.test("a connection dropped before QUIT deletes nothing and releases the lock once", async () => {
  const b = backend();
  await withServer(b, async ({ port, logs }) => {
    const c = await RawClient.login(port, "alice", "secret pw");
    assert.equal(await c.command("DELE 1"), "+OK Message 1 deleted");
    assert.equal(await c.command("DELE 2"), "+OK Message 2 deleted");
    c.close();
    await eventually(() => b.releases === 1);
    assert.deepEqual(b.commits, []);
    assert.equal(b.inboxes.get("alice")!.length, 3);
    await eventually(() => logs.some((l) => l.startsWith("Disconnected")));
    assert.ok(
      logs.some((l) =>
        l.startsWith("Disconnected: Connection closed top=0/0, retr=0/0, del=0/3, size=143")
      ),
      logs.join("\n"),
    );
  });
});

Deno.test("messages delivered during a session are shown only in the next one", async () => {
  const b = backend();
  await withServer(b, async ({ port }) => {
    const c = await RawClient.login(port, "alice", "secret pw");
    b.deliver("alice", "Subject: late\n\nlate\n");
    assert.equal(await c.command("STAT"), "+OK 3 143");
    assert.equal(
      await c.command("LIST 4"),
      "-ERR There is no message 4: messages are numbered 1 to 3",
    );
    await c.command("QUIT");
    await c.rest();
    await eventually(() => b.releases === 1);
    const again = await RawClient.login(port, "alice", "secret pw");
    assert.equal(await again.command("STAT"), "+OK 4 166");
    again.close();
  });
});

Deno.test("huge lines, bad bytes and AUTH lines over the limit get -ERR and the session goes on", async () => {
  await withServer(backend(), async ({ port }) => {
    const { client: c } = await RawClient.open(port);
    assert.equal(
      await c.command(`USER ${"a".repeat(100_000)}`),
      "-ERR Command line too long (over 512 octets)",
    );
    assert.equal(await c.command("USER a\0b"), "-ERR Invalid characters in command");
    await c.send(new Uint8Array([0x55, 0x53, 0x45, 0x52, 0x20, 0xc3, 0x28, 0x0d, 0x0a]));
    assert.equal(await c.line(), "-ERR Invalid UTF-8 in command");
    assert.equal(await c.command("AUTH PLAIN"), "+ ");
    assert.equal(await c.command("A".repeat(5000)), "-ERR SASL response too long");
    assert.equal(
      await c.command(`LIST ${"9".repeat(400)}`),
      "-ERR LIST is not valid before login: use USER/PASS or AUTH first",
    );
    const c2 = await RawClient.login(port, "alice", "secret pw");
    assert.equal(
      await c2.command(`LIST ${"9".repeat(400)}`),
      `-ERR Invalid message number: ${"9".repeat(40)}...`,
    );
    c2.close();
    c.close();
  });
});

Deno.test("too many bad commands end the session", async () => {
  await withServer(backend(), async ({ port, logs }) => {
    const { client: c } = await RawClient.open(port);
    assert.equal(await c.command("FOO"), "-ERR Unknown command: FOO");
    assert.equal(await c.command("BAR"), "-ERR Unknown command: BAR");
    assert.equal(
      await c.command("BAZ"),
      "-ERR Unknown command: BAZ. Too many bad commands: closing connection",
    );
    assert.equal(await c.rest(), "");
    await eventually(() => logs.some((l) => l.startsWith("Disconnected")));
    assert.match(
      logs.find((l) => l.startsWith("Disconnected"))!,
      /^Disconnected: Too many bad commands \(no auth attempts/,
    );
  }, { errorLimit: 3 });
});

Deno.test("idle timeout: closed without a response and without UPDATE (RFC 1939 3)", async () => {
  const b = backend();
  await withServer(b, async ({ port, logs }) => {
    const c = await RawClient.login(port, "alice", "secret pw");
    assert.equal(await c.command("DELE 1"), "+OK Message 1 deleted");
    assert.equal(await c.rest(3000), "");
    await eventually(() => b.releases === 1);
    assert.deepEqual(b.commits, []);
    await eventually(() => logs.some((l) => l.startsWith("Disconnected")));
    assert.ok(logs.some((l) => l.startsWith("Disconnected: Inactivity top=0/0")), logs.join("\n"));
  }, { timeoutMs: 300 });
});

Deno.test("limits: sessions per user and connections per client", async () => {
  await withServer(backend(), async ({ port }) => {
    const a = await RawClient.login(port, "alice", "secret pw");
    const { client: b } = await RawClient.open(port);
    await b.command("USER alice");
    assert.equal(
      await b.command("PASS secret pw"),
      "-ERR [IN-USE] Too many sessions for this user (limit 1)",
    );
    const { client: c, greeting } = await RawClient.open(port);
    assert.equal(greeting, "-ERR [SYS/TEMP] Too many connections from 127.0.0.1");
    a.close();
    b.close();
    c.close();
  }, { userSessionLimit: 1, clientConnectionLimit: 2 });
});

Deno.test("the process limit refuses with [SYS/TEMP]; update() applies to new connections", async () => {
  await withServer(backend(), async ({ port, server, backend: b }) => {
    const { client: a } = await RawClient.open(port);
    const { client: refused, greeting } = await RawClient.open(port);
    assert.equal(greeting, "-ERR [SYS/TEMP] All server ports are busy, try again later");
    assert.equal(await refused.rest(), "");
    server.update({ backend: b, settings: { processLimit: 0, greeting: "reloaded." } });
    const { client: c, greeting: again } = await RawClient.open(port);
    assert.equal(again, "+OK reloaded.");
    a.close();
    c.close();
  }, { processLimit: 1 });
});

Deno.test("store failures: [SYS/TEMP] or [SYS/PERM], the session stays usable", async () => {
  const b = backend();
  await withServer(b, async ({ port }) => {
    b.authFailure = new MailError(451, "4.3.0", "users database locked");
    const { client: c } = await RawClient.open(port);
    await c.command("USER alice");
    assert.equal(
      await c.command("PASS secret pw"),
      "-ERR [SYS/TEMP] Temporary authentication failure, try again later",
    );
    b.authFailure = undefined;
    await c.command("USER alice");
    assert.match(await c.command("PASS secret pw"), /^\+OK/);
    b.readFailure = new MailError(550, "5.2.0", "message file vanished");
    assert.equal(await c.command("RETR 1"), "-ERR [SYS/PERM] Cannot read message 1");
    b.readFailure = new Error("EIO");
    assert.equal(await c.command("TOP 1 0"), "-ERR [SYS/TEMP] Cannot read message 1");
    b.readFailure = undefined;
    assert.equal(await c.command("LIST 1"), "+OK 1 61");
    c.close();
  });
});

Deno.test("close() ends open sessions without UPDATE and releases their maildrops", async () => {
  const b = backend();
  await withServer(b, async ({ port, server }) => {
    const c = await RawClient.login(port, "alice", "secret pw");
    await c.command("DELE 1");
    await server.close(100);
    await c.rest();
    assert.equal(b.releases, 1);
    assert.deepEqual(b.commits, []);
    await sleep(10);
  });
});

Deno.test("a failure inside the server answers [SYS/TEMP], closes, and still releases the maildrop", async () => {
  const b = backend();
  let released = 0;
  b.open = () =>
    Promise.resolve({
      messages: null as unknown as [],
      read: () => Promise.resolve(new Uint8Array()),
      commit: () => Promise.resolve(),
      release: () => void released++,
    });
  await withServer(b, async ({ port, logs }) => {
    const { client: c } = await RawClient.open(port);
    await c.command("USER alice");
    assert.equal(
      await c.command("PASS secret pw"),
      "-ERR [SYS/TEMP] Internal error, closing connection",
    );
    assert.equal(await c.rest(), "");
    await eventually(() => logs.some((l) => l.startsWith("Disconnected")));
    assert.equal(released, 1);
    assert.ok(logs.some((l) => l.startsWith("error: session with rip=127.0.0.1")));
  });
});

Deno.test("AUTH PLAIN and its response pipelined in one packet", async () => {
  await withServer(backend(), async ({ port }) => {
    const { client: c } = await RawClient.open(port);
    await c.send(`AUTH PLAIN\r\n${plain("\0alice\0secret pw")}\r\nSTAT\r\nQUIT\r\n`);
    assert.equal(
      await c.rest(),
      "+ \r\n+OK Logged in: 3 messages (143 octets)\r\n+OK 3 143\r\n+OK Logging out.\r\n",
    );
  });
});
