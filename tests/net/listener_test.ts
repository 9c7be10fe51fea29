/**
 * The per-client limit with an asynchronous exemption check: the client at
 * its limit waits for the answer, the others do not, and the counts stay
 * right whatever the answer. Loopback only (127.0.0.1 and 127.0.0.2).
 */
import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { listen, type ListenOptions } from "../../src/net/listener.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A promise resolved from outside: a table lookup that takes as long as the test wants. */
function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

interface Client {
  socket: Socket;
  /** The first line the server sent ("" if it closed without one). */
  first: Promise<string>;
}

function open(port: number, localAddress = "127.0.0.1"): Client {
  const socket = connect({ host: "127.0.0.1", port, localAddress });
  socket.on("error", () => {});
  const first = new Promise<string>((resolve) => {
    let text = "";
    socket.on("data", (chunk) => {
      text += chunk.toString();
      if (text.includes("\n")) resolve(text.split("\r\n")[0]);
    });
    socket.once("close", () => resolve(text));
  });
  return { socket, first };
}

/** Every session greets and lives until its client leaves; a refusal says why. */
async function server(options: ListenOptions) {
  return await listen({ host: "127.0.0.1", port: 0 }, (socket) => {
    socket.write("hello\r\n");
    return new Promise<void>((resolve) => socket.once("close", () => resolve()));
  }, { refuse: (socket, reason) => socket.end(`refused ${reason}\r\n`), ...options });
}

/** Waits until `check` holds (the server sees closes a little after the client). */
async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 100 && !check(); i++) await sleep(10);
  assert.ok(check());
}

Deno.test("a slow exemption lookup holds only its own connection", async () => {
  const asked: string[] = [];
  let answer = deferred<boolean>();
  const srv = await server({
    maxPerClient: 1,
    exemptFromClientLimit: (client) => {
      asked.push(client);
      return answer.promise;
    },
  });
  const { port } = srv.address;
  try {
    // Under the limit nothing is asked.
    const a = open(port);
    assert.equal(await a.first, "hello");
    assert.deepEqual(asked, []);

    // At the limit the connection waits for the answer...
    const b = open(port);
    await until(() => asked.length === 1);
    assert.deepEqual(asked, ["127.0.0.1"]);
    // ...while another client is served at once, and the waiting one holds a slot.
    const other = open(port, "127.0.0.2");
    assert.equal(await other.first, "hello");
    assert.equal(srv.connections, 3);

    // Exempt: admitted, and counted like any other session of the client.
    answer.resolve(true);
    assert.equal(await b.first, "hello");
    answer = deferred<boolean>();
    const c = open(port);
    await until(() => asked.length === 2);
    answer.resolve(false);
    assert.equal(await c.first, "refused client_limit");
    await until(() => srv.connections === 3);

    // Once the client's sessions end, it is under its limit again: no lookup.
    a.socket.destroy();
    b.socket.destroy();
    await until(() => srv.connections === 1);
    const d = open(port);
    assert.equal(await d.first, "hello");
    assert.equal(asked.length, 2);
    for (const s of [other, d]) s.socket.destroy();
    await until(() => srv.connections === 0);
  } finally {
    await srv.close(100);
  }
});

Deno.test("not exempt: the limit is counted again when the answer comes", async () => {
  const answer = deferred<boolean>();
  const srv = await server({ maxPerClient: 1, exemptFromClientLimit: () => answer.promise });
  const { port } = srv.address;
  try {
    const a = open(port);
    assert.equal(await a.first, "hello");
    const b = open(port);
    await sleep(50);
    // The first session ends while the second waits: it is now under the limit.
    a.socket.destroy();
    await until(() => srv.connections === 1);
    answer.resolve(false);
    assert.equal(await b.first, "hello");
    b.socket.destroy();
    await until(() => srv.connections === 0);
  } finally {
    await srv.close(100);
  }
});

Deno.test("a failed lookup exempts nobody and is reported; a client that leaves is not counted", async () => {
  const errors: string[] = [];
  let answer = deferred<boolean>();
  const srv = await server({
    maxPerClient: 1,
    exemptFromClientLimit: () => answer.promise,
    onError: (e) => errors.push(e.message),
  });
  const { port } = srv.address;
  try {
    const a = open(port);
    assert.equal(await a.first, "hello");
    const b = open(port);
    await sleep(50);
    answer.reject(new Error("table cidr:/x: lookup failed"));
    assert.equal(await b.first, "refused client_limit");
    assert.deepEqual(errors, ["table cidr:/x: lookup failed"]);

    // A client that hangs up while its lookup runs leaves no count behind.
    answer = deferred<boolean>();
    const c = open(port);
    await sleep(50);
    c.socket.destroy();
    await sleep(50);
    answer.resolve(true);
    await until(() => srv.connections === 1);
    a.socket.destroy();
    await until(() => srv.connections === 0);
    const d = open(port);
    assert.equal(await d.first, "hello");
    d.socket.destroy();
  } finally {
    await srv.close(100);
  }
});

Deno.test("a synchronous exemption still works, and the process limit comes first", async () => {
  const srv = await server({
    maxConnections: 2,
    maxPerClient: 1,
    exemptFromClientLimit: (client) => client === "127.0.0.1",
  });
  const { port } = srv.address;
  try {
    const a = open(port);
    const b = open(port);
    assert.equal(await a.first, "hello");
    assert.equal(await b.first, "hello");
    const c = open(port, "127.0.0.2");
    assert.equal(await c.first, "refused process_limit");
    for (const s of [a, b]) s.socket.destroy();
  } finally {
    await srv.close(100);
  }
});
