import assert from "node:assert/strict";
import { makeTestCertificate } from "../peers/certificate.ts";
import { connect as tlsConnect } from "node:tls";
import { connect as netConnect, type Socket } from "node:net";
import { Connection, TimeoutError } from "../../src/net/connection.ts";
import { listen } from "../../src/net/listener.ts";
import { requirePeer } from "../peers.ts";

const dec = (b: Uint8Array) => new TextDecoder().decode(b);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Opens a plain client socket and resolves once connected. */
function client(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = netConnect({ host: "127.0.0.1", port }, () => resolve(s));
    s.once("error", reject);
  });
}

/** Everything the socket receives until it closes. */
function received(socket: Socket): Promise<string> {
  return new Promise((resolve) => {
    let text = "";
    socket.on("data", (d: Uint8Array) => (text += dec(d)));
    socket.on("close", () => resolve(text));
    socket.on("error", () => {});
  });
}

Deno.test("listen on port 0 reports the bound port; a Connection reads lines and writes replies", async () => {
  const seen: string[] = [];
  const listener = await listen({ host: "127.0.0.1", port: 0 }, async (socket) => {
    const conn = new Connection(socket);
    assert.equal(conn.remote.address, "127.0.0.1");
    assert.equal(conn.tls, false);
    for (let line = await conn.readLine(100); line; line = await conn.readLine(100)) {
      seen.push(`${dec(line.bytes)}|${line.ending}`);
      conn.write(`echo ${dec(line.bytes)}\r\n`);
      if (!conn.hasBufferedLine()) await conn.flush();
    }
    await conn.close();
  });
  assert.ok(listener.address.port > 0);
  const socket = await client(listener.address.port);
  const output = received(socket);
  socket.write("one\r\ntwo\n");
  await sleep(50);
  socket.end("three"); // half-close: the server socket ends too (allowHalfOpen is off)
  assert.equal(await output, "echo one\r\necho two\r\n");
  assert.deepEqual(seen, ["one|crlf", "two|lf", "three|none"]);
  await listener.close();
});

Deno.test("an idle read times out; trickling bytes keep it alive unless the deadline is per record", async () => {
  const results: string[] = [];
  const listener = await listen({ host: "127.0.0.1", port: 0 }, async (socket) => {
    const perRecord = results.length > 0;
    const conn = new Connection(socket, { timeoutMs: 250, perRecordDeadline: perRecord });
    try {
      const line = await conn.readLine(100);
      results.push(`line ${dec(line!.bytes)}`);
    } catch (e) {
      results.push(e instanceof TimeoutError ? "timeout" : `error ${e}`);
    }
    conn.destroy();
  });
  for (let round = 0; round < 2; round++) {
    const socket = await client(listener.address.port);
    const done = received(socket);
    for (const c of "abcdef") {
      socket.write(c);
      await sleep(100);
    }
    socket.write("\r\n");
    await done;
  }
  assert.deepEqual(results, ["line abcdef", "timeout"]);
  await listener.close();
});

Deno.test("each read gets the whole idle time again; a shortened timeout applies at once", async () => {
  const events: string[] = [];
  const listener = await listen({ host: "127.0.0.1", port: 0 }, async (socket) => {
    const conn = new Connection(socket, { timeoutMs: 1000 });
    // Lines 400 ms apart: each read has its own 1 s, though the first timer was set before.
    for (let i = 0; i < 3; i++) events.push(`line ${dec((await conn.readLine(100))!.bytes)}`);
    conn.setTimeout(100); // e.g. a stricter phase of the protocol
    const started = Date.now();
    try {
      await conn.readLine(100);
    } catch (e) {
      const waited = Date.now() - started;
      events.push(e instanceof TimeoutError ? "timeout" : `error ${e}`);
      assert.ok(waited >= 90 && waited < 900, `timed out after ${waited} ms, not 100 (or 1000)`);
    }
    conn.destroy();
  });
  const socket = await client(listener.address.port);
  const done = received(socket);
  for (const line of ["a", "b", "c"]) {
    await sleep(400);
    socket.write(line + "\r\n");
  }
  await done;
  assert.deepEqual(events, ["line a", "line b", "line c", "timeout"]);
  await listener.close();
});

Deno.test("per-client and process limits refuse extra connections through the refuse callback", async () => {
  const held: Connection[] = [];
  const refusals: string[] = [];
  const listener = await listen(
    { host: "127.0.0.1", port: 0 },
    async (socket) => {
      const conn = new Connection(socket);
      held.push(conn);
      await conn.readLine(10).catch(() => null); // until the client goes
      await conn.close();
    },
    {
      maxPerClient: 2,
      maxConnections: 3,
      refuse: (socket, reason, addr) => {
        refusals.push(`${reason} ${addr}`);
        socket.end(`421 ${reason}\r\n`);
      },
    },
  );
  const port = listener.address.port;
  const a = await client(port);
  const b = await client(port);
  const third = await client(port);
  assert.equal(await received(third), "421 client_limit\r\n");
  assert.deepEqual(refusals, ["client_limit 127.0.0.1"]);
  await sleep(50);
  assert.equal(listener.connections, 2);
  // Once one ends, the client may connect again.
  const aClosed = received(a);
  a.end();
  await aClosed;
  await sleep(50);
  const c = await client(port);
  await sleep(50);
  assert.equal(listener.connections, 2);
  for (const s of [b, c]) s.destroy();
  await sleep(50);
  assert.equal(listener.connections, 0);
  await listener.close();
});

Deno.test("the process limit counts all clients together", async () => {
  const listener = await listen(
    { host: "127.0.0.1", port: 0 },
    async (socket) => {
      const conn = new Connection(socket);
      await conn.readLine(10).catch(() => null);
      conn.destroy();
    },
    { maxConnections: 1, refuse: (socket, reason) => socket.end(`421 ${reason}\r\n`) },
  );
  const first = await client(listener.address.port);
  await sleep(30);
  const second = await client(listener.address.port);
  assert.equal(await received(second), "421 process_limit\r\n");
  first.destroy();
  await listener.close();
});

Deno.test("close() stops accepting and cuts sessions still open after the grace period", async () => {
  let sessions = 0;
  const listener = await listen({ host: "127.0.0.1", port: 0 }, async (socket) => {
    sessions++;
    const conn = new Connection(socket);
    await conn.readLine(10).catch(() => null);
    conn.destroy();
  });
  const idle = await client(listener.address.port);
  const idleClosed = received(idle);
  await sleep(30);
  const started = Date.now();
  await listener.close(200);
  await idleClosed;
  assert.ok(Date.now() - started >= 150, "waited for the grace period");
  await assert.rejects(client(listener.address.port));
  assert.equal(sessions, 1);
});

const openssl = requirePeer("openssl", "openssl");
const certificate = openssl.ignore ? undefined : await makeTestCertificate();

Deno.test({
  name: "upgradeToTls switches in place and drops plaintext pipelined before the handshake",
  ...openssl,
  fn: async () => {
    assert.ok(certificate, "openssl failed to make a certificate");
    const seen: string[] = [];
    let discarded = -1;
    const listener = await listen({ host: "127.0.0.1", port: 0 }, async (socket) => {
      const conn = new Connection(socket, { timeoutMs: 5000 });
      const first = await conn.readLine(100);
      seen.push(dec(first!.bytes));
      discarded = await conn.upgradeToTls("220 go ahead\r\n", certificate);
      seen.push(`tls=${conn.tls}`);
      const next = await conn.readLine(100);
      seen.push(dec(next!.bytes));
      conn.write("bye\r\n");
      await conn.close();
    });
    const raw = await client(listener.address.port);
    // The injected line rides in the same packet as STARTTLS (CVE-2011-0411).
    raw.write("STARTTLS\r\nINJECTED\r\n");
    await new Promise<void>((resolve) => raw.once("data", () => resolve()));
    const secure = tlsConnect({ socket: raw, rejectUnauthorized: false });
    await new Promise<void>((resolve, reject) => {
      secure.once("secureConnect", () => resolve());
      secure.once("error", reject);
    });
    const reply = received(secure);
    secure.write("HELLO over TLS\r\n");
    assert.equal(await reply, "bye\r\n");
    assert.deepEqual(seen, ["STARTTLS", "tls=true", "HELLO over TLS"]);
    assert.equal(discarded, "INJECTED\r\n".length);
    await listener.close();
  },
});
