/**
 * A master.cf-style delivery service declared in the configuration:
 * `[services.mysmtp] type = "unix", command = "smtp", smtp_helo_name = ...`
 * with `mysmtp_destination_concurrency_limit = 2`, routed to by
 * transport_maps. A slow SMTP receiver written here records the EHLO name
 * and how many connections were open at once.
 */
import assert from "node:assert/strict";
import { createServer, type Server, type Socket } from "node:net";
import { eventually, startServer } from "./harness.ts";
import { send } from "./sink.ts";

interface Receiver {
  port: number;
  heloNames: string[];
  maxConcurrent: () => number;
  delivered: () => number;
  close(): Promise<void>;
}

/** A minimal SMTP server on 127.0.0.1 that takes `dataDelayMs` to answer each DATA. */
async function startReceiver(dataDelayMs: number): Promise<Receiver> {
  let open = 0;
  let max = 0;
  let delivered = 0;
  const heloNames: string[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    open++;
    max = Math.max(max, open);
    socket.once("close", () => {
      open--;
      sockets.delete(socket);
    });
    socket.on("error", () => {});
    let buffer = "";
    let inData = false;
    const reply = (text: string) => socket.write(`${text}\r\n`);
    reply("220 receiver.test ESMTP");
    socket.on("data", (chunk) => {
      buffer += chunk.toString("latin1");
      while (true) {
        if (inData) {
          const end = buffer.indexOf("\r\n.\r\n");
          if (end < 0) return;
          buffer = buffer.slice(end + 5);
          inData = false;
          setTimeout(() => {
            delivered++;
            reply("250 2.0.0 stored");
          }, dataDelayMs);
          continue;
        }
        const eol = buffer.indexOf("\r\n");
        if (eol < 0) return;
        const line = buffer.slice(0, eol);
        buffer = buffer.slice(eol + 2);
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === "EHLO" || verb === "HELO") {
          heloNames.push(line.slice(5).trim());
          reply("250 receiver.test");
        } else if (verb === "DATA") {
          inData = true;
          // The message may start in the same chunk: "\r\n.\r\n" search covers an empty body too.
          buffer = "\r\n" + buffer;
          reply("354 go ahead");
        } else if (verb === "QUIT") {
          reply("221 bye");
          socket.end();
        } else {
          reply("250 ok");
        }
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  assert.ok(address && typeof address === "object");
  return {
    port: address.port,
    heloNames,
    maxConcurrent: () => max,
    delivered: () => delivered,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

Deno.test("[services.mysmtp] command smtp: own HELO name, at most mysmtp_destination_concurrency_limit connections", async () => {
  const receiver = await startReceiver(300);
  const server = await startServer({
    toml: `transport_maps = "inline:{ remote.test=mysmtp:[127.0.0.1]:${receiver.port}, ` +
      `nowhere.test=nosuch:[127.0.0.1]:${receiver.port} }"\n` +
      `mysmtp_destination_concurrency_limit = 2\n` +
      `[services.smtp]\nlisten = "127.0.0.1:0"\n` +
      `[services.mysmtp]\ntype = "unix"\ncommand = "smtp"\nsmtp_helo_name = "custom.helo.test"\n`,
  });
  try {
    const ids = await Promise.all(
      Array.from({ length: 8 }, (_, i) => send(server.port, `user${i}@remote.test`, `m${i}`)),
    );
    for (const id of ids) {
      await server.waitForLog(
        new RegExp(
          `${id}: to=<user\\d@remote\\.test>, relay=127\\.0\\.0\\.1\\[127\\.0\\.0\\.1\\]:${receiver.port}, .*status=sent`,
        ),
      );
    }
    await eventually(() => Promise.resolve(receiver.delivered() === 8));
    assert.ok(receiver.maxConcurrent() > 0);
    assert.ok(
      receiver.maxConcurrent() <= 2,
      `max concurrent connections ${receiver.maxConcurrent()}`,
    );
    assert.ok(receiver.heloNames.length > 0);
    assert.deepEqual(new Set(receiver.heloNames), new Set(["custom.helo.test"]));

    // A route to a transport nobody declared waits in the queue, and the log says which.
    const lost = await send(server.port, "zed@nowhere.test", "nowhere");
    await server.waitForLog(
      new RegExp(
        `${lost}: to=<zed@nowhere\\.test>, relay=none, .*status=deferred \\(.*"nosuch" transport`,
      ),
    );
  } finally {
    await server.stop();
    await receiver.close();
  }
});

Deno.test("[services.mysmtp] process_limit (master.cf maxproc) caps the transport's deliveries", async () => {
  const receiver = await startReceiver(200);
  const server = await startServer({
    toml: `transport_maps = "inline:{ remote.test=mysmtp:[127.0.0.1]:${receiver.port} }"\n` +
      `[services.smtp]\nlisten = "127.0.0.1:0"\n` +
      `[services.mysmtp]\ntype = "unix"\ncommand = "smtp"\nprocess_limit = 1\n`,
  });
  try {
    await Promise.all(
      Array.from({ length: 4 }, (_, i) => send(server.port, `user${i}@remote.test`, `m${i}`)),
    );
    await eventually(() => Promise.resolve(receiver.delivered() === 4));
    assert.equal(receiver.maxConcurrent(), 1);
    // Without smtp_helo_name in the service, smtp_helo_name is $myhostname.
    assert.deepEqual(new Set(receiver.heloNames), new Set(["mail.example.test"]));
  } finally {
    await server.stop();
    await receiver.close();
  }
});
